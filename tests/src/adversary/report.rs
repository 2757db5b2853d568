//! What an adversary run does and saw, and its one summary line.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::checks::{ChainReport, DoubleSign};

/// What a run does.
#[derive(Clone, Debug)]
pub struct AdversaryConfig {
    /// Total time under attack.
    pub attack: Duration,
    pub seed: u64,
}

/// What a run saw.
#[derive(Debug)]
pub struct AdversaryReport {
    pub seed: u64,
    pub attack: Duration,
    /// Committed height every node reached in the end.
    pub heights: u64,
    pub quiet_heights_per_s: f64,
    pub attack_heights_per_s: f64,
    /// The longest any validator went without committing during an attack window.
    pub worst_attack_gap: Duration,
    pub chain: ChainReport,
    pub double_signs: Vec<DoubleSign>,
    /// The highest resident set of any validator at any sample.
    pub max_rss_kib: u64,
    /// Messages, requests and connections sent, by attack.
    pub sent: BTreeMap<&'static str, u64>,
    /// Invalid payloads of the adversary's that the observer received (relayed beyond one hop).
    pub relayed_invalid: BTreeMap<&'static str, u64>,
    /// What the first few of those were.
    pub relayed_invalid_samples: Vec<String>,
    /// Valid payloads of the adversary's that the observer received (allowed; counted).
    pub relayed_valid: u64,
    /// Slow HTTP connections the node closed.
    pub slowloris_cut: u64,
    /// Client transactions the honest load had committed.
    pub txs_committed: u64,
    pub elapsed: Duration,
}

impl AdversaryReport {
    /// The one summary line `scripts/adversary` prints.
    pub fn summary(&self) -> String {
        format!(
            "adversary: seed={} attack={:.0}s heights={} quiet_hps={:.2} attack_hps={:.2} ratio={:.2} worst_gap={:.1}s forks={} lost_blocks={} double_signs={} max_rss_mib={} attacks_sent={} relayed_invalid={} slowloris_cut={} txs_committed={} elapsed={:.0}s",
            self.seed,
            self.attack.as_secs_f64(),
            self.heights,
            self.quiet_heights_per_s,
            self.attack_heights_per_s,
            self.ratio(),
            self.worst_attack_gap.as_secs_f64(),
            self.chain.forks.len(),
            self.chain.lost_blocks.len(),
            self.double_signs.len(),
            self.max_rss_kib / 1024,
            self.sent.values().sum::<u64>(),
            self.relayed_invalid.values().sum::<u64>(),
            self.slowloris_cut,
            self.txs_committed,
            self.elapsed.as_secs_f64(),
        )
    }

    /// Heights per second under attack over the quiet rate.
    pub fn ratio(&self) -> f64 {
        if self.quiet_heights_per_s > 0.0 {
            self.attack_heights_per_s / self.quiet_heights_per_s
        } else {
            0.0
        }
    }
}
