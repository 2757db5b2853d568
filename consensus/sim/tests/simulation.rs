//! Seeded Byzantine simulations over 15 configurations (n = 4, f = 1 and n = 7, f = 2).
//!
//! - `SIM_SEEDS=N`: total seeds, split evenly over the configurations (default 1,500).
//! - `SIM_SEED_START=S`: first seed index per configuration (default 0), to explore new ones.
//! - `SIM_CONFIG=name SIM_SEED=s ... reproduce_seed`: replays one seed (printed on failure).

use std::time::Instant;

use cvm_consensus_sim::{self as sim, SimConfig};

/// Total seeds by default: 15 configurations x 100.
const DEFAULT_SEEDS: u64 = 1_500;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

fn seeds_per_config() -> u64 {
    let total = env_u64("SIM_SEEDS").unwrap_or(DEFAULT_SEEDS);
    total.div_ceil(SimConfig::names().len() as u64)
}

/// Seeds of different configurations never overlap, so every run is a distinct schedule.
fn sweep(prefix: &str) {
    let names: Vec<&str> = SimConfig::names()
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect();
    assert!(!names.is_empty());
    let per = seeds_per_config();
    let first = env_u64("SIM_SEED_START").unwrap_or(0);
    let start = Instant::now();
    let mut failures = Vec::new();
    let mut total_rounds = 0u64;
    let mut synced = 0u64;
    let mut evidence = 0usize;
    let mut max_sync_streak = 0u64;
    let mut revalidations = std::collections::BTreeMap::<&str, u64>::new();
    for (k, name) in names.iter().enumerate() {
        for s in first..first + per {
            let seed = (k as u64) << 32 | s;
            let cfg = SimConfig::named(name, seed).expect("known config");
            match sim::run(&cfg) {
                Ok(r) => {
                    assert_eq!(r.decided.len() as u64, cfg.heights);
                    total_rounds += r.max_round as u64;
                    synced += r.synced_decisions;
                    evidence += r.evidence;
                    max_sync_streak = max_sync_streak.max(r.max_sync_streak);
                    *revalidations.entry(name).or_default() += r.revalidations;
                }
                Err(f) => failures.push(f.to_string()),
            }
        }
    }
    eprintln!(
        "simulation {prefix}*: {} configs x {per} seeds in {:.1?} (sum of max rounds {total_rounds}, sync decisions {synced}, longest sync-only streak {max_sync_streak}, evidence reports {evidence}, re-validations {revalidations:?})",
        names.len(),
        start.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} failing seeds:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn n4_f1_byzantine_seeds() {
    sweep("n4-");
}

#[test]
fn n7_f2_byzantine_seeds() {
    sweep("n7-");
}

/// Replays one seed: `SIM_CONFIG=<name> SIM_SEED=<seed>`. Without them, seed 0 of every
/// configuration.
#[test]
fn reproduce_seed() {
    // RUST_LOG=debug shows the engine's decisions for the replayed seed.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let seed: u64 = std::env::var("SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let names = match std::env::var("SIM_CONFIG") {
        Ok(n) => vec![n],
        Err(_) => SimConfig::names().iter().map(|s| s.to_string()).collect(),
    };
    for name in names {
        let cfg = SimConfig::named(&name, seed).unwrap_or_else(|| panic!("unknown config {name}"));
        match sim::run(&cfg) {
            Ok(r) => eprintln!("{name} seed {seed}: ok {r:?}"),
            Err(f) => panic!("{f}"),
        }
    }
}

#[test]
fn same_seed_same_trace() {
    for name in [
        "n4-equivocating-proposer",
        "n7-amnesia-double-voter",
        "n4-crash-double-voter",
    ] {
        let a = sim::run(&SimConfig::named(name, 42).unwrap()).unwrap();
        let b = sim::run(&SimConfig::named(name, 42).unwrap()).unwrap();
        assert_eq!(a, b, "{name}");
        let c = sim::run(&SimConfig::named(name, 43).unwrap()).unwrap();
        assert_ne!(
            a.trace_hash, c.trace_hash,
            "{name}: different seeds, same trace"
        );
    }
}

/// A host whose clock lags refuses fresh values; the engine asks it again in a later round
/// and every height is still decided by voting (sync alone is bounded by the run).
#[test]
fn drifting_verdicts_are_asked_again_and_the_chain_decides() {
    let mut revalidations = 0;
    for seed in 0..10 {
        let cfg = SimConfig::named("n4-clock-drift", seed).expect("known config");
        let report = sim::run(&cfg).unwrap_or_else(|f| panic!("{f}"));
        assert!(report.max_sync_streak <= sim::MAX_SYNC_STREAK);
        revalidations += report.revalidations;
    }
    assert!(revalidations > 0, "no verdict was ever asked again");
}
