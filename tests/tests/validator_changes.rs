//! Validator-set changes on a live network, through the `cvm validators` commands: a fifth validator joins and
//! proposes, one leaves and the chain goes on without it, a key is rotated and the old key's votes no longer
//! count; then a restarted node, a node synced from scratch and `cvm replay` agree with the others at every height.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cvm_consensus::{
    ChainId, CommitCertificate, Ed25519Signer, Height, Round, Signer as _, ValidatorSet, ValueId,
    Vote, VoteKind,
};
use cvm_host::chain::ValidatorKey;
use cvm_host::hex_text::to_hex;
use cvm_host::record_bundle::RecordBundle;
use cvm_tests::chaos::dev_key;
use cvm_tests::datasets::deploy_erc20_and_ingest;
use cvm_tests::localnet::LocalNet;

const WAIT: Duration = Duration::from_secs(90);
/// Nodes 0–3 are the genesis validators, node 4 joins, node 5 is a full node started at the end.
const JOINER: usize = 4;
const LATE: usize = 5;

fn validator_key_path(net: &LocalNet, i: usize) -> PathBuf {
    net.nodes[i].home.join("config/validator_key.json")
}

fn public_key(path: &Path) -> String {
    to_hex(ValidatorKey::load(path).expect("key file").public_key())
}

fn wait_nodes(net: &LocalNet, nodes: &[usize], height: u64) {
    for &i in nodes {
        net.wait_height(i, height, WAIT);
    }
}

/// Proposes `changes` (`--set K=P` / `--remove K` arguments), has `approvers` (key files) approve, submits it;
/// returns the height from which the new set signs.
fn change_set(
    net: &LocalNet,
    dir: &Path,
    name: &str,
    changes: &[String],
    approvers: &[PathBuf],
) -> u64 {
    let url = net.nodes[0].rpc_url.clone();
    let file = dir.join(format!("{name}.json"));
    let file = file.to_str().unwrap();
    let mut args = vec!["validators", "propose", "--out", file, "--node", &url];
    args.extend(changes.iter().map(String::as_str));
    let (ok, out) = net.cvm(&args);
    assert!(ok, "propose: {out}");
    for key in approvers {
        let (ok, out) = net.cvm(&[
            "validators",
            "approve",
            file,
            "--key",
            key.to_str().unwrap(),
        ]);
        assert!(ok, "approve: {out}");
    }
    let account = dir.join("account.json");
    dev_key().save(&account).expect("save the account key");
    let (ok, out) = net.cvm(&[
        "validators",
        "submit",
        file,
        "--key",
        account.to_str().unwrap(),
        "--node",
        &url,
    ]);
    assert!(ok, "submit: {out}");
    out.split("signs from height ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|h| h.parse().ok())
        .unwrap_or_else(|| panic!("no effective height in: {out}"))
}

/// The public keys (hex) that signed the certificate of `height`.
fn signers(net: &LocalNet, height: u64) -> BTreeSet<String> {
    let client = net.nodes[0].client();
    let set = client
        .validators(Some(height))
        .expect("the set of the height");
    let commit = client.commit(Some(height)).expect("commit");
    commit
        .signatures
        .iter()
        .map(|s| {
            set.validators[s.validator_index as usize]
                .public_key
                .clone()
        })
        .collect()
}

fn members(net: &LocalNet, height: u64) -> BTreeSet<String> {
    net.nodes[0]
        .client()
        .validators(Some(height))
        .expect("the set")
        .validators
        .into_iter()
        .map(|v| v.public_key)
        .collect()
}

#[test]
fn validators_join_leave_and_rotate_keys_while_the_chain_goes_on() {
    let mut net = LocalNet::new(4, 2);
    let dir = tempfile::tempdir().expect("tempdir");
    // Node 4 runs as a validator with a key of its own, outside the genesis set until the update adds it.
    let joiner_key = validator_key_path(&net, JOINER);
    ValidatorKey::generate()
        .save(&joiner_key)
        .expect("joiner key");
    let config = net.nodes[JOINER].home.join("config/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("validator = false", "validator = true"),
    )
    .unwrap();
    for i in 0..=JOINER {
        net.start(i);
    }
    wait_nodes(&net, &[0, 1, 2, 3, JOINER], 2);
    // Records to prove later, across the set changes.
    let ingested = deploy_erc20_and_ingest(&net.nodes[0].client(), &net.chain_id, 200, WAIT);
    wait_nodes(&net, &[0, 1, 2, 3, JOINER], ingested);
    let keys: Vec<PathBuf> = (0..=JOINER).map(|i| validator_key_path(&net, i)).collect();
    let public: Vec<String> = keys.iter().map(|k| public_key(k)).collect();
    let genesis_members = members(&net, 1);
    assert_eq!(genesis_members.len(), 4);
    assert!(!genesis_members.contains(&public[JOINER]));

    // Join: three of four genesis validators and the joiner approve.
    let joined = change_set(
        &net,
        dir.path(),
        "join",
        &[format!("--set={}=1", public[JOINER])],
        &[
            keys[0].clone(),
            keys[1].clone(),
            keys[2].clone(),
            joiner_key.clone(),
        ],
    );
    wait_nodes(&net, &[0, 1, 2, 3, JOINER], joined + 8);
    assert_eq!(
        members(&net, joined - 1),
        genesis_members,
        "the set changes two heights after its block"
    );
    assert!(members(&net, joined).contains(&public[JOINER]));
    let proposers: BTreeSet<String> = net.proposers(joined..=joined + 8).into_iter().collect();
    assert!(
        proposers.contains(&public[JOINER]),
        "the joiner proposed none of {proposers:?}"
    );
    assert!(
        (joined..=joined + 8).any(|h| signers(&net, h).contains(&public[JOINER])),
        "the joiner signed no certificate"
    );

    // Leave: validator 3 is removed, then stopped; the other four go on.
    let left = change_set(
        &net,
        dir.path(),
        "leave",
        &[format!("--remove={}", public[3])],
        &[
            keys[0].clone(),
            keys[1].clone(),
            keys[2].clone(),
            keys[JOINER].clone(),
        ],
    );
    wait_nodes(&net, &[0, 1, 2, JOINER], left);
    net.stop(3);
    let after_leave = net.status(0).unwrap().height + 5;
    wait_nodes(&net, &[0, 1, 2, JOINER], after_leave);
    assert!(!members(&net, left).contains(&public[3]));

    // Rotation: validator 1 moves to a new key; until it restarts with it, its old key's votes do not count.
    let rotated_key = dir.path().join("rotated.json");
    ValidatorKey::generate().save(&rotated_key).unwrap();
    let rotated = public_key(&rotated_key);
    let rotation = change_set(
        &net,
        dir.path(),
        "rotate",
        &[
            format!("--remove={}", public[1]),
            format!("--set={rotated}=1"),
        ],
        &[
            keys[0].clone(),
            keys[1].clone(),
            keys[2].clone(),
            keys[JOINER].clone(),
            rotated_key.clone(),
        ],
    );
    // Validators 0, 2 and the joiner hold 3 of 4 (genesis powers are 1): the chain goes on while node 1 still signs
    // with the old key.
    wait_nodes(&net, &[0, 2, JOINER], rotation + 4);
    for h in rotation..=rotation + 4 {
        let signed = signers(&net, h);
        assert!(
            !signed.contains(&public[1]),
            "height {h}: the old key still counts"
        );
    }
    net.stop(1);
    std::fs::copy(&rotated_key, &keys[1]).unwrap();
    net.start(1);
    let back = net.status(0).unwrap().height + 6;
    wait_nodes(&net, &[0, 1, 2, JOINER], back);
    assert!(
        (back - 6..=back).any(|h| signers(&net, h).contains(&rotated)),
        "the rotated key signed nothing after its node restarted"
    );

    light_client_checks(&net, dir.path(), &keys[..4]);

    // A restarted node and a node synced from scratch agree with the others at every height.
    net.stop(0);
    net.start(0);
    net.start(LATE);
    let end = net.status(2).unwrap().height + 3;
    wait_nodes(&net, &[0, 1, 2, JOINER, LATE], end);
    net.assert_same_chain(&[0, 1, 2, JOINER, LATE], end);

    // `cvm replay` re-executes across the changes, header set hashes included.
    net.stop(LATE);
    let home = net.nodes[LATE].home.clone();
    let (ok, out) = net.cvm(&["replay", "--home", home.to_str().unwrap()]);
    assert!(ok && out.contains("OK: "), "replay: {out}");
    assert!(!out.contains("MISMATCH"), "{out}");
}

/// After three set changes: a record bundle verifies from the genesis with the header chain it carries, and with a
/// node instead; the same header certified by the genesis validators (one removed, one rotated away) is refused.
fn light_client_checks(net: &LocalNet, dir: &Path, genesis_keys: &[PathBuf]) {
    let client = net.nodes[0].client();
    let page = client
        .records_page(
            "erc20-transfers",
            "balances",
            &cvm_host::api_client::PageRequest {
                limit: Some(1),
                ..Default::default()
            },
        )
        .expect("a page of balances");
    let key = to_hex(&page.records[0].key);
    let url = net.nodes[0].rpc_url.clone();
    let genesis = net.genesis_path();
    let genesis = genesis.to_str().unwrap();
    let bundle_path = dir.join("bundle.json");
    let bundle = bundle_path.to_str().unwrap();
    let (ok, out) = net.cvm(&[
        "query",
        "record",
        "erc20-transfers",
        "balances",
        &key,
        "--out",
        bundle,
        "--header-chain",
        "--node",
        &url,
    ]);
    assert!(ok, "query record: {out}");
    let saved: RecordBundle =
        serde_json::from_str(&std::fs::read_to_string(&bundle_path).unwrap()).unwrap();
    assert!(
        !saved.header_chain.is_empty(),
        "the set changed: the bundle carries headers"
    );
    let (ok, out) = net.cvm(&["verify", "--genesis", genesis, "--bundle", bundle]);
    assert!(
        ok && out.starts_with("VALID"),
        "offline with the carried chain: {out}"
    );
    let mut bare = saved.clone();
    bare.header_chain.clear();
    let bare_path = dir.join("bare.json");
    std::fs::write(&bare_path, serde_json::to_string(&bare).unwrap()).unwrap();
    let bare_file = bare_path.to_str().unwrap();
    let (ok, out) = net.cvm(&["verify", "--genesis", genesis, "--bundle", bare_file]);
    assert!(
        !ok && out.contains("INVALID") && out.contains("--node"),
        "no chain, no node: {out}"
    );
    let (ok, out) = net.cvm(&[
        "verify",
        "--genesis",
        genesis,
        "--bundle",
        bare_file,
        "--node",
        &url,
    ]);
    assert!(ok && out.starts_with("VALID"), "with the node: {out}");

    // The genesis validators sign the bundle's header: their keys are not its height's set.
    let signers: Vec<Ed25519Signer> = genesis_keys
        .iter()
        .map(|k| Ed25519Signer::from_seed(ValidatorKey::load(k).unwrap().0.to_bytes()))
        .collect();
    let old_set = ValidatorSet::new(signers.iter().map(|s| (s.validator_id(), 10))).unwrap();
    let value = ValueId(saved.header.hash());
    let votes: Vec<_> = signers
        .iter()
        .map(|s| {
            Vote::new(
                VoteKind::Precommit,
                Height(saved.height),
                Round(0),
                Some(value),
                s.validator_id(),
            )
            .sign(&ChainId::new(net.chain_id.clone()), s)
        })
        .collect();
    let mut forged = saved;
    forged.certificate = CommitCertificate::from_precommits(
        Height(forged.height),
        Round(0),
        value,
        &old_set,
        &votes,
    );
    let forged_path = dir.join("forged.json");
    std::fs::write(&forged_path, serde_json::to_string(&forged).unwrap()).unwrap();
    let (ok, out) = net.cvm(&[
        "verify",
        "--genesis",
        genesis,
        "--bundle",
        forged_path.to_str().unwrap(),
    ]);
    assert!(
        !ok && out.contains("INVALID") && out.contains("certificate"),
        "old set's certificate: {out}"
    );
}
