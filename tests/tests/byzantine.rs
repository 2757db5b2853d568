//! One Byzantine validator of four, on the real stack (`cvm-test-node`, with the faults of `cvm_tests::faults`):
//! the three honest ones keep finalizing one chain, memory stays bounded, and an equivocator is jailed by the
//! evidence a block commits.

use std::time::Duration;

use cvm_tests::chaos::{Load, deploy_erc20};
use cvm_tests::checks::{compare_chains, find_double_signs};
use cvm_tests::localnet::LocalNet;

const WAIT: Duration = Duration::from_secs(120);
const HONEST: [usize; 3] = [0, 1, 2];
const BYZANTINE: usize = 3;
/// A full node started only when a test asks: it syncs from scratch.
const LATE: usize = 4;
/// Heights the honest validators must finalize with the Byzantine one active: two full proposer rotations.
const HEIGHTS: u64 = 8;

struct Outcome {
    net: LocalNet,
    from: u64,
    to: u64,
    /// Whether the late full node ran and must hold the same chain.
    late: bool,
}

/// Starts four validators with node 3 Byzantine in `mode`, runs an ingest load through the honest ones and
/// waits until they have finalized [`HEIGHTS`] more heights; then checks they hold one chain.
fn run(mode: &str) -> Outcome {
    let mut net = LocalNet::new(4, 1);
    net.set_test_option(BYZANTINE, &format!("byzantine = {mode:?}"));
    for i in 0..4 {
        net.start(i);
    }
    for i in HONEST {
        net.wait_height(i, 1, WAIT);
    }
    deploy_erc20(&net.nodes[0].client(), &net.chain_id);
    let load = Load::start(
        HONEST
            .iter()
            .map(|&i| net.nodes[i].rpc_url.clone())
            .collect(),
        net.chain_id.clone(),
        Duration::from_millis(200),
    );
    let from = net.status(0).expect("status").height;
    for i in HONEST {
        net.wait_height(i, from + HEIGHTS, WAIT);
    }
    load.stop();
    let to = HONEST
        .iter()
        .map(|&i| net.status(i).expect("status").height)
        .min()
        .unwrap();
    Outcome {
        net,
        from,
        to,
        late: false,
    }
}

/// `f`'s first `Some` within [`WAIT`], asked every 200 ms.
fn poll<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = std::time::Instant::now();
    while start.elapsed() < WAIT {
        if let Some(found) = f() {
            return Some(found);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

fn byzantine_key(net: &LocalNet) -> String {
    let genesis = cvm_host::chain::Genesis::load(&net.genesis_path()).unwrap();
    let key = cvm_host::chain::ValidatorKey::load(
        &net.nodes[BYZANTINE].home.join("config/validator_key.json"),
    )
    .unwrap();
    assert!(
        genesis
            .validator_ids()
            .unwrap()
            .iter()
            .any(|(id, _)| id.0 == key.public_key())
    );
    format!("0x{}", hex::encode(key.public_key()))
}

/// Stops everyone and asserts the honest nodes stored one chain with no holes; returns the proposers of the
/// blocks from `from` to `to`.
fn assert_one_chain(out: &mut Outcome) -> Vec<String> {
    let proposers = out.net.proposers(out.from + 1..=out.to);
    for i in 0..out.net.nodes.len() {
        out.net.stop(i);
    }
    let homes: Vec<&std::path::Path> = HONEST
        .iter()
        .chain(out.late.then_some(&LATE))
        .map(|&i| out.net.nodes[i].home.as_path())
        .collect();
    let report = compare_chains(&homes);
    assert!(report.forks.is_empty(), "{report:?}");
    assert!(report.lost_blocks.is_empty(), "{report:?}");
    assert!(report.common_height >= out.to, "{report:?}");
    proposers
}

#[test]
fn an_equivocating_validator_is_jailed_by_its_committed_evidence_and_the_chain_goes_on() {
    let mut out = run("equivocate");
    let byz = byzantine_key(&out.net);
    let client = out.net.nodes[0].client();
    let jailing = poll(|| {
        let list = client.evidence().ok()?;
        list.committed.into_iter().find(|e| e.jailed == Some(true))
    })
    .expect("evidence committed and its offender jailed");
    let list = client.evidence().expect("evidence");
    assert!(
        list.committed
            .iter()
            .chain(&list.pending)
            .all(|e| e.validator == byz),
        "evidence names only the equivocator {byz}: {list:?}"
    );
    // Out of the set two heights after the block that committed the evidence, and only it.
    let at = jailing.committed_at.expect("committed");
    eprintln!(
        "equivocation at height {} committed at {at}; network at {}",
        jailing.height,
        out.net.status(0).map_or(0, |s| s.height)
    );
    let members = |h: u64| -> Vec<String> {
        client
            .validators(Some(h))
            .expect("validators")
            .validators
            .into_iter()
            .map(|v| v.public_key)
            .collect()
    };
    assert!(members(at + 1).contains(&byz), "{:?}", members(at + 1));
    assert_eq!(members(at + 2).len(), 3);
    assert!(!members(at + 2).contains(&byz), "{:?}", members(at + 2));

    // The chain goes on with the three honest validators alone.
    for i in HONEST {
        out.net.wait_height(i, at + 6, WAIT);
    }
    // Restarted, a node serves the committed evidence from its storage.
    out.net.stop(0);
    out.net.start(0);
    let restarted = out.net.nodes[0].client();
    let after = poll(|| restarted.evidence().ok()).expect("the restarted node answers");
    assert!(after.committed.contains(&jailing), "{after:?}");
    // A node synced from scratch applies the jailing too, and holds the same chain.
    out.net.start(LATE);
    out.net.wait_height(LATE, at + 6, WAIT);
    out.late = true;
    out.to = out.to.max(at + 6);
    assert_one_chain(&mut out);
    // `cvm replay` re-executes the jailing to the same roots.
    let home = out.net.nodes[0].home.clone();
    let (ok, text) = out.net.cvm(&["replay", "--home", home.to_str().unwrap()]);
    assert!(
        ok && text.contains("OK: ") && !text.contains("MISMATCH"),
        "replay: {text}"
    );
    // The offline scan of every message seen finds the equivocator, and only it.
    let messages: Vec<_> = out
        .net
        .nodes
        .iter()
        .flat_map(|n| n.recorded_messages())
        .collect();
    let double_signs = find_double_signs(&out.net.genesis_path(), &messages);
    assert!(!double_signs.is_empty());
    assert!(
        double_signs
            .iter()
            .all(|d| format!("0x{}", d.validator) == byz),
        "{double_signs:?}"
    );
    // Jailed within a few heights, it may never have proposed; it prevoted at each of them.
    assert!(double_signs.iter().any(|d| d.what == "prevote"));
}

#[test]
fn wrong_state_root_proposals_are_never_finalized() {
    let mut out = run("bad-state-root");
    let byz = byzantine_key(&out.net);
    let proposers = assert_one_chain(&mut out);
    assert!(
        proposers.iter().all(|p| *p != byz),
        "a block proposed with a wrong state root was finalized: {proposers:?}"
    );
    let log = std::fs::read_to_string(out.net.nodes[0].log_path()).unwrap();
    assert!(
        log.contains("state root"),
        "honest node logs why it refused"
    );
}

#[test]
fn far_future_vote_flood_is_dropped_and_memory_stays_bounded() {
    let mut net = LocalNet::new(4, 0);
    net.set_test_option(BYZANTINE, "byzantine = \"future-flood\"");
    net.start_all();
    for i in HONEST {
        net.wait_height(i, 2, WAIT);
    }
    let rss_before: Vec<u64> = HONEST
        .iter()
        .map(|&i| net.nodes[i].rss_kib().unwrap())
        .collect();
    let from = net.status(0).unwrap().height;
    // ~400 flood votes per second for the whole wait.
    for i in HONEST {
        net.wait_height(i, from + 2 * HEIGHTS, WAIT);
    }
    std::thread::sleep(Duration::from_secs(5));
    let rss_after: Vec<u64> = HONEST
        .iter()
        .map(|&i| net.nodes[i].rss_kib().unwrap())
        .collect();
    eprintln!("honest RSS KiB before {rss_before:?} after {rss_after:?}");
    let flood = net.nodes[0]
        .recorded_messages()
        .iter()
        .filter(|m| {
            matches!(m, cvm_host::node::wire::ConsensusMessage::Vote(v) if v.vote.height.0 > from + 4 * HEIGHTS)
        })
        .count();
    assert!(
        flood > 1000,
        "the flood reached node0: {flood} far-future votes"
    );
    for (before, after) in rss_before.iter().zip(&rss_after) {
        assert!(
            *after < before + 100 * 1024,
            "memory grew by more than 100 MiB under the flood: {before} -> {after} KiB"
        );
    }
    let mut out = Outcome {
        to: net.status(0).unwrap().height,
        net,
        from,
        late: false,
    };
    assert_one_chain(&mut out);
}

#[test]
fn silent_validator_does_not_stop_the_others() {
    let mut out = run("silent");
    let byz = byzantine_key(&out.net);
    let proposers = assert_one_chain(&mut out);
    assert!(proposers.iter().all(|p| *p != byz), "{proposers:?}");
    let from_byz = out.net.nodes[0]
        .recorded_messages()
        .iter()
        .filter(|m| match m {
            cvm_host::node::wire::ConsensusMessage::Vote(v) => {
                format!("0x{}", hex::encode(v.vote.validator.0)) == byz
            }
            _ => false,
        })
        .count();
    assert_eq!(from_byz, 0, "a silent validator sent votes");
}
