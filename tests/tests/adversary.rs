//! The adversary peer against a running 4-validator network (see `cvm_tests::adversary`): `cargo test` runs a
//! short attack; `scripts/adversary SECONDS` runs a long one (`CVM_ADVERSARY_SECS`).

use std::time::Duration;

use cvm_tests::adversary::{AdversaryConfig, adversary_run};

/// Resident-set budget of one validator under attack. A debug-profile validator under the honest load and the
/// attacks holds ~90–110 MiB; the attacks may not add buffers that grow with what the adversary sends.
const RSS_BUDGET_KIB: u64 = 512 * 1024;

#[test]
fn a_peer_without_a_validator_key_cannot_halt_stall_or_bloat_the_chain() {
    let secs = std::env::var("CVM_ADVERSARY_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed = cvm_tests::checks::seed_from_env("CVM_ADVERSARY_SEED");
    eprintln!(
        "adversary: {secs} s of attacks, seed {seed} (CVM_ADVERSARY_SEED={seed} repeats them)"
    );
    let report = adversary_run(&AdversaryConfig {
        attack: Duration::from_secs(secs),
        seed,
    });
    eprintln!("{}", report.summary());
    eprintln!("sent by attack: {:?}", report.sent);
    assert!(
        report.chain.forks.is_empty() && report.chain.lost_blocks.is_empty(),
        "{report:#?}"
    );
    assert!(report.double_signs.is_empty(), "{report:#?}");
    assert!(
        report.ratio() >= 0.5,
        "under attack the chain kept {:.0} % of its quiet rate: {report:#?}",
        report.ratio() * 100.0
    );
    assert!(
        report.max_rss_kib < RSS_BUDGET_KIB,
        "a validator's resident set reached {} MiB: {report:#?}",
        report.max_rss_kib / 1024
    );
    assert!(
        report.relayed_invalid.is_empty(),
        "honest nodes relayed the adversary's invalid messages beyond one hop: {report:#?}"
    );
    for attack in cvm_tests::adversary::attacks::Attack::ALL {
        assert!(
            report.sent.get(attack.name()).copied().unwrap_or(0) > 0,
            "attack {} was never sent: {report:#?}",
            attack.name()
        );
    }
}
