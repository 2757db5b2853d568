//! Crash tests on real processes: validators SIGKILLed at random moments under ingest load, restarted, and the
//! network checked for forks, lost blocks and double signs. `cargo test` runs a few kills; `scripts/soak` runs
//! the long version (`CVM_SOAK_KILLS=100`).

use cvm_tests::chaos::{SoakConfig, crash_soak};

#[test]
fn validators_killed_at_random_keep_one_chain_and_never_double_sign() {
    let kills = std::env::var("CVM_SOAK_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let seed = cvm_tests::checks::seed_from_env("CVM_SOAK_SEED");
    eprintln!("crash soak: {kills} kills, seed {seed} (CVM_SOAK_SEED={seed} repeats the choices)");
    let report = crash_soak(&SoakConfig { kills, seed });
    eprintln!("{}", report.summary());
    assert!(report.is_clean(), "{report:#?}");
    assert!(
        report.heights > kills as u64,
        "the chain advanced: {report:#?}"
    );
    assert!(
        report.txs_committed > 1,
        "the load was committed: {report:#?}"
    );
    assert!(
        report.messages_scanned > 100,
        "votes were recorded: {report:#?}"
    );
}
