//! Section `consensus-sim`: heights decided per second of wall clock by the consensus simulation (every
//! validator's state machine, WAL and message handling in one process, network delays simulated), for n = 4 and
//! n = 100 validators, with every node verifying every signature (what a real network pays) and without
//! verification (the engine alone). The ratio shows what signature checks cost at each size; the n = 100 figure
//! shows how the engine scales, which a 4-node localnet cannot. Also ed25519 vote verification one by one vs
//! in batches (what `Input::Votes` and certificate checks use).

use std::time::{Duration, Instant};

use std::hint::black_box;

use cvm_consensus::{
    ChainId, Ed25519Signer, Ed25519Verifier, Height, Round, SignatureVerifier, Signer,
    TimeoutConfig, VerifyItem, Vote, VoteKind,
};
use cvm_consensus_sim::{self as sim, Behaviour, NetworkModel, SimConfig, Verification};

use crate::{Bench, Opts, Row};

const SECTION: &str = "consensus-sim";

/// All validators correct, synchronous network (GST = 0), 1–20 ms simulated delays.
fn config(n: usize, heights: u64, verification: Verification) -> SimConfig {
    SimConfig {
        name: format!("perf-n{n}"),
        seed: 7,
        behaviours: vec![Behaviour::Correct; n],
        heights,
        network: NetworkModel {
            gst_ms: 0,
            pre_gst_max_delay_ms: 1,
            post_gst_max_delay_ms: 20,
            loss: 0.0,
            partition: None,
        },
        timeouts: TimeoutConfig {
            propose: Duration::from_millis(500),
            propose_delta: Duration::from_millis(100),
            prevote: Duration::from_millis(200),
            prevote_delta: Duration::from_millis(100),
            precommit: Duration::from_millis(200),
            precommit_delta: Duration::from_millis(100),
            block_interval: None,
        },
        verification,
        crash_restart: false,
        per_height_bound_ms: 10_000,
        max_events: u64::MAX,
        adversity: Default::default(),
    }
}

/// Best of `runs` wall-clock heights/s; each run decides `heights` heights from genesis.
fn heights_per_sec(n: usize, heights: u64, verification: Verification, runs: usize) -> f64 {
    let cfg = config(n, heights, verification);
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            let report = sim::run(&cfg).expect("the benchmark simulation decides");
            assert_eq!(report.decided.len() as u64, heights);
            heights as f64 / start.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

pub fn run(bench: &mut Bench, opts: &Opts) {
    // (n, heights per run, runs): a run of n = 100 with verification takes seconds.
    let cases: [(usize, u64, usize); 2] = if opts.quick {
        [(4, 10, 1), (100, 1, 1)]
    } else {
        [(4, 50, 3), (100, 3, 2)]
    };
    for (n, heights, runs) in cases {
        // Alternate the two variants run by run, so load changes hit both.
        let (mut with, mut without) = (0.0f64, 0.0f64);
        for _ in 0..runs {
            with = with.max(heights_per_sec(n, heights, Verification::PerNode, 1));
            without = without.max(heights_per_sec(n, heights, Verification::Disabled, 1));
        }
        bench.row(Row::new(
            SECTION,
            format!("n = {n}, no signature verification ({heights} heights, best of {runs})"),
            without,
            "heights/s",
        ));
        bench.row(
            Row::new(
                SECTION,
                format!("n = {n}, every node verifies every signature"),
                with,
                "heights/s",
            )
            .baseline("no verification", without),
        );
    }
    vote_verification(bench, opts);
}

/// Votes/s verified one by one and in batches of 64 and of all votes.
fn vote_verification(bench: &mut Bench, opts: &Opts) {
    let votes = if opts.quick { 256 } else { 1024 };
    let chain = ChainId::new("perf");
    let signers: Vec<Ed25519Signer> = (0..100u8)
        .map(|i| Ed25519Signer::from_seed([i; 32]))
        .collect();
    let keys: Vec<_> = signers.iter().map(|s| s.verifying_key()).collect();
    let signed: Vec<_> = (0..votes)
        .map(|i| {
            let signer = &signers[i % signers.len()];
            let vote = Vote::new(
                VoteKind::Precommit,
                Height(i as u64),
                Round(0),
                None,
                signer.validator_id(),
            )
            .sign(&chain, signer);
            let bytes = vote.vote.sign_bytes(&chain);
            (vote, bytes, i % signers.len())
        })
        .collect();
    let items: Vec<VerifyItem<'_>> = signed
        .iter()
        .map(|(vote, bytes, signer)| VerifyItem {
            key: &keys[*signer],
            message: bytes,
            signature: &vote.signature,
        })
        .collect();
    let verifier = Ed25519Verifier;
    let n = votes as u64;
    let mut single = || {
        assert!(black_box(items.iter().all(|i| verifier.verify(
            i.key,
            i.message,
            i.signature
        ))));
    };
    let mut batch_64 = || {
        assert!(black_box(
            items.chunks(64).all(|c| verifier.verify_batch(c))
        ))
    };
    let mut batch_all = || assert!(black_box(verifier.verify_batch(&items)));
    let ns =
        opts.measure_side_by_side(&mut [(n, &mut single), (n, &mut batch_64), (n, &mut batch_all)]);
    let single = 1e9 / ns[0];
    bench.row(Row::new(
        SECTION,
        "ed25519 vote verification, one by one",
        single,
        "votes/s",
    ));
    bench.row(
        Row::new(
            SECTION,
            "ed25519 vote verification, batches of 64",
            1e9 / ns[1],
            "votes/s",
        )
        .baseline("one by one", single),
    );
    bench.row(
        Row::new(
            SECTION,
            format!("ed25519 vote verification, one batch of {votes}"),
            1e9 / ns[2],
            "votes/s",
        )
        .baseline("one by one", single),
    );
}
