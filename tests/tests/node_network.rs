//! The node as real processes: four validators on loopback (libp2p sockets, RocksDB homes), the erc20 example
//! deployed and fed by transaction, records fetched with proofs and checked offline, stop/restart, a fresh full
//! node syncing, restart from disk, `cvm replay`, and bad transactions refused with a clear error.

use std::time::{Duration, Instant};

use cvm_host::chain::ValidatorKey;
use cvm_runtime::TxPayload;
use cvm_tests::chaos::{dev_key, sign};
use cvm_tests::datasets::deploy_erc20_and_ingest;
use cvm_tests::localnet::LocalNet;

const WAIT: Duration = Duration::from_secs(90);

/// Every node holds the same block hash and state root at every height up to `upto`.
#[test]
fn four_validators_finalize_prove_restart_and_replay() {
    let mut net = LocalNet::new(4, 0);
    net.start_all();
    net.wait_all(2, WAIT);
    let client = net.nodes[0].client();

    // Done-when 5: bad transactions get a clear error; the node keeps going.
    let key = dev_key();
    let garbage = client.submit_raw_hex("deadbeef").unwrap_err().to_string();
    assert!(
        garbage.contains("SCALE") || garbage.contains("decode"),
        "{garbage}"
    );
    let mut bad_sig = sign(
        &net.chain_id,
        &key,
        0,
        TxPayload::Ingest {
            source: "s".into(),
            records: Default::default(),
        },
    );
    bad_sig.signature[3] ^= 1;
    let e = client.submit_tx(&bad_sig).unwrap_err().to_string();
    assert!(e.contains("signature"), "{e}");
    let wrong_nonce = sign(
        &net.chain_id,
        &key,
        7,
        TxPayload::Ingest {
            source: "s".into(),
            records: Default::default(),
        },
    );
    let e = client.submit_tx(&wrong_nonce).unwrap_err().to_string();
    assert!(e.contains("nonce"), "{e}");
    // Only a registered signed source's publishers ingest: others hear why at submit.
    let stranger = ValidatorKey(ed25519_dalek::SigningKey::from_bytes(&[77; 32]));
    let unpublished = sign(
        &net.chain_id,
        &stranger,
        0,
        TxPayload::Ingest {
            source: "ethereum.logs".into(),
            records: Default::default(),
        },
    );
    let e = client.submit_tx(&unpublished).unwrap_err().to_string();
    assert!(
        e.contains("is not a publisher of source ethereum.logs"),
        "{e}"
    );
    let unregistered = sign(
        &net.chain_id,
        &key,
        0,
        TxPayload::Ingest {
            source: "nowhere".into(),
            records: Default::default(),
        },
    );
    let e = client.submit_tx(&unregistered).unwrap_err().to_string();
    assert!(e.contains("source nowhere is not registered"), "{e}");

    // Done-when 1: deploy + ingest by transaction; same chain everywhere; a record with proof verifies.
    let last = deploy_erc20_and_ingest(&client, &net.chain_id, 300, WAIT);
    net.wait_all(last, WAIT);
    net.assert_same_chain(&[0, 1, 2, 3], last);
    // The signed source's head counts its three ingests.
    let sources = client.sources().unwrap();
    let logs = sources
        .iter()
        .find(|s| s.definition.name() == "ethereum.logs")
        .expect("ethereum.logs is registered");
    assert_eq!(logs.head.as_ref().map(|h| h.number), Some(3), "{sources:?}");

    // The first log's token in the keyed `supply` dataset (`transfers` is append-only: tests/tests/append_only.rs).
    let text = std::fs::read_to_string(manuscript_fixtures::erc20_logs_path()).unwrap();
    let first_log: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let key_bytes = hex::decode(
        first_log["address"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
    )
    .unwrap();
    let bundle = net.nodes[2]
        .client()
        .record("erc20-transfers", "supply", &key_bytes, Some(last))
        .expect("record");
    assert!(
        bundle.value.is_some(),
        "the first log's token has a supply record"
    );
    let bundle_path = net.dir.path().join("bundle.json");
    std::fs::write(&bundle_path, serde_json::to_string_pretty(&bundle).unwrap()).unwrap();
    let genesis = net.genesis_path();
    let (ok, out) = net.cvm(&[
        "verify",
        "--genesis",
        genesis.to_str().unwrap(),
        "--bundle",
        bundle_path.to_str().unwrap(),
    ]);
    assert!(ok && out.contains("VALID"), "{out}");
    let mut tampered = bundle.clone();
    tampered.value.as_mut().unwrap()[0] ^= 1;
    std::fs::write(
        &bundle_path,
        serde_json::to_string_pretty(&tampered).unwrap(),
    )
    .unwrap();
    let (ok, out) = net.cvm(&[
        "verify",
        "--genesis",
        genesis.to_str().unwrap(),
        "--bundle",
        bundle_path.to_str().unwrap(),
    ]);
    assert!(!ok && out.contains("INVALID"), "{out}");

    // Done-when 4: restart from RocksDB resumes at the last height (no replay from genesis); replay confirms.
    let before = net.status(1).unwrap().height;
    net.stop(1);
    net.start(1);
    let start = Instant::now();
    let resumed = loop {
        if let Some(s) = net.status(1) {
            break s;
        }
        assert!(
            start.elapsed() < WAIT,
            "node1 API did not come back:\n{}",
            net.log_tail(1, 30)
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        resumed.height >= before,
        "restarted at {} below {before}",
        resumed.height
    );
    let log = std::fs::read_to_string(net.nodes[1].log_path()).unwrap();
    assert!(
        !log.contains("replaying blocks from genesis"),
        "restart must not replay from genesis"
    );
    net.wait_height(1, before + 2, WAIT);
    net.stop(3);
    let home = net.nodes[3].home.clone();
    let (ok, out) = net.cvm(&["replay", "--home", home.to_str().unwrap()]);
    assert!(ok && out.contains("OK"), "{out}");
}

#[test]
fn stopped_validator_catches_up_and_fresh_full_node_syncs() {
    let mut net = LocalNet::new(4, 1);
    for i in 0..4 {
        net.start(i);
    }
    net.wait_height(0, 3, WAIT);

    // Done-when 2: three of four keep finalizing; the fourth catches up after a restart.
    net.stop(3);
    let h = net.status(0).unwrap().height;
    for i in 0..3 {
        net.wait_height(i, h + 5, WAIT);
    }
    net.start(3);
    let target = net.status(0).unwrap().height;
    net.wait_height(3, target + 2, WAIT);

    // Done-when 3: a fresh non-validator syncs the whole chain to the same root.
    net.start(4);
    let target = net.status(0).unwrap().height;
    let synced = net.wait_height(4, target, WAIT);
    let reference = net.nodes[0]
        .client()
        .block(Some(synced.height))
        .expect("block");
    let mine = net.nodes[4]
        .client()
        .block(Some(synced.height))
        .expect("block");
    assert_eq!(mine.hash, reference.hash);
    assert_eq!(mine.header.state_root, reference.header.state_root);
    net.assert_same_chain(&[0, 3, 4], target);
}
