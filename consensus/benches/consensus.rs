//! Consensus benchmarks (custom harness: prints a table).
//!
//! 1. Heights decided per second in the simulation, n = 4 and n = 100, with every node
//!    verifying every signature versus no verification; the overhead ratio is computed from
//!    the two measurements of this run.
//! 2. Vote verification throughput: one-by-one ed25519 checks versus `verify_batch`; the
//!    speedup is computed from measurements of this run.
//!
//! `BENCH_SCALE=<k>` multiplies the work (default 1).

use std::hint::black_box;
use std::time::{Duration, Instant};

use cvm_consensus::sim::{self, Behaviour, NetworkModel, SimConfig, Verification};
use cvm_consensus::*;

fn scale() -> u64 {
    std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn sim_config(n: usize, heights: u64, verification: Verification) -> SimConfig {
    SimConfig {
        name: format!("bench-n{n}"),
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
    }
}

/// Best of `runs` wall-clock heights/second.
fn heights_per_sec(n: usize, heights: u64, verification: Verification, runs: usize) -> f64 {
    let cfg = sim_config(n, heights, verification);
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            let report = sim::run(&cfg).expect("benchmark simulation must decide");
            assert_eq!(report.decided.len() as u64, heights);
            heights as f64 / t.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

/// Best of `runs` throughput in items per second of `f`, which processes `items` items.
fn throughput(items: usize, runs: usize, mut f: impl FnMut() -> bool) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            assert!(black_box(f()));
            items as f64 / t.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let k = scale();
    println!("cvm-consensus benchmarks (BENCH_SCALE={k})");
    println!();
    println!("Simulation: heights decided per second (wall clock, best of runs, happy network)");
    println!(
        "{:>5} {:>8} {:>22} {:>18} {:>16}",
        "n", "heights", "verify (per node) h/s", "no verify h/s", "verify overhead"
    );
    for (n, heights, runs) in [(4usize, 50 * k, 3usize), (100, 3 * k, 2)] {
        let with = heights_per_sec(n, heights, Verification::PerNode, runs);
        let without = heights_per_sec(n, heights, Verification::Disabled, runs);
        println!(
            "{n:>5} {heights:>8} {with:>22.2} {without:>18.2} {:>15.2}x",
            without / with
        );
    }

    println!();
    println!("Vote verification throughput (ed25519, votes/s, best of 5)");
    let votes = 1024 * k as usize;
    let chain = ChainId::new("bench");
    let signers: Vec<Ed25519Signer> = (0..100u8)
        .map(|i| Ed25519Signer::from_seed([i; 32]))
        .collect();
    let signed: Vec<(SignedVote, Vec<u8>, usize)> = (0..votes)
        .map(|i| {
            let s = &signers[i % signers.len()];
            let v = Vote::new(
                VoteKind::Precommit,
                Height(i as u64),
                Round(0),
                None,
                s.validator_id(),
            )
            .sign(&chain, s);
            let bytes = v.vote.sign_bytes(&chain);
            (v, bytes, i % signers.len())
        })
        .collect();
    let keys: Vec<_> = signers.iter().map(|s| s.verifying_key()).collect();
    let items: Vec<VerifyItem<'_>> = signed
        .iter()
        .map(|(v, b, i)| VerifyItem {
            key: &keys[*i],
            message: b,
            signature: &v.signature,
        })
        .collect();
    let verifier = Ed25519Verifier;
    let single = throughput(votes, 5, || {
        items
            .iter()
            .all(|i| verifier.verify(i.key, i.message, i.signature))
    });
    println!("{:>28} {:>14.0}", "single", single);
    for chunk in [16usize, 64, 256, votes] {
        let batch = throughput(votes, 5, || {
            items.chunks(chunk).all(|c| verifier.verify_batch(c))
        });
        println!(
            "{:>28} {:>14.0}   speedup vs single: {:.2}x",
            format!("batch (chunks of {chunk})"),
            batch,
            batch / single
        );
    }
}
