//! Seeded simulations whose application changes the validator set: at random heights it
//! decides a change set (a standby validator joins, a correct one leaves, a power changes;
//! powers unequal from genesis) that applies two heights later, every node computing the
//! next sets with `update_with_change_set(..).next_height()`. Byzantine validators are
//! members of every set, below a third of its power. Agreement, validity, no double-signing
//! by correct nodes and liveness after GST must hold as without changes.
//!
//! - `SIM_SET_SEEDS=N`: seeds per configuration (default 40).

use std::time::Instant;

use cvm_consensus_sim::{self as sim, SimConfig};

fn seeds() -> u64 {
    std::env::var("SIM_SET_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40)
}

#[test]
fn byzantine_seeds_with_validator_set_changes() {
    let start = Instant::now();
    let (mut runs, mut heights, mut change_sets) = (0u64, 0u64, 0u64);
    let (mut joins, mut leaves, mut powers) = (0u64, 0u64, 0u64);
    let mut failures = Vec::new();
    for (k, name) in SimConfig::set_change_names().into_iter().enumerate() {
        for s in 0..seeds() {
            let seed = (k as u64) << 32 | s;
            let cfg = SimConfig::named(name, seed).expect("known config");
            assert!(cfg.adversity.set_changes.is_some());
            match sim::run(&cfg) {
                Ok(r) => {
                    assert_eq!(r.decided.len() as u64, cfg.heights);
                    runs += 1;
                    heights += r.heights;
                    change_sets += r.set_changes;
                    joins += r.joins;
                    leaves += r.leaves;
                    powers += r.power_changes;
                }
                Err(f) => failures.push(f.to_string()),
            }
        }
    }
    eprintln!(
        "set changes: {runs} runs, {heights} heights, {change_sets} change sets applied ({joins} joins, {leaves} leaves, {powers} power changes) in {:.1?}",
        start.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} failing seeds:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // About one height in three decides a change set.
    assert!(
        change_sets * 5 > heights,
        "{change_sets} change sets over {heights} heights"
    );
}

#[test]
fn set_change_runs_are_deterministic() {
    let name = SimConfig::set_change_names()[0];
    let a = sim::run(&SimConfig::named(name, 7).unwrap()).unwrap();
    let b = sim::run(&SimConfig::named(name, 7).unwrap()).unwrap();
    assert_eq!(a, b);
    assert!(a.set_changes > 0, "{a:?}");
}

/// A run whose Byzantine validators would hold a third of a set's power is refused before it
/// starts: the checks assume they hold less.
#[test]
fn byzantine_third_of_the_power_is_refused() {
    let name = SimConfig::set_change_names()[0];
    let mut cfg = SimConfig::named(name, 3).unwrap();
    let n = cfg.behaviours.len();
    // Standby node 0 aside, members 1..n-1 are correct with power 1; the Byzantine one (last)
    // holds as much as all of them together.
    let mut powers = vec![1; n];
    powers[n - 1] = (n - 2) as u64;
    cfg.adversity.powers = Some(powers);
    let failure = sim::run(&cfg).unwrap_err();
    assert!(failure.reason.contains("Byzantine power"), "{failure}");
}
