//! The outcome of a run: a [`SimReport`] or a [`SimFailure`].

use std::fmt;

use cvm_consensus::ValueId;

/// What a successful run measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimReport {
    /// The run's seed.
    pub seed: u64,
    /// Heights decided by every correct node.
    pub heights: u64,
    /// Highest round any correct node decided in.
    pub max_round: u32,
    /// Events processed.
    pub events: u64,
    /// Simulated time when the last height was decided.
    pub sim_time_ms: u64,
    /// Hash over every processed event with its time: equal seeds give equal hashes.
    pub trace_hash: [u8; 32],
    /// Equivocation evidence reported by correct nodes.
    pub evidence: usize,
    /// Decisions taken from a peer's certificate (block sync) rather than by voting.
    pub synced_decisions: u64,
    /// Longest run of heights a correct node decided by sync alone.
    pub max_sync_streak: u64,
    /// Validation requests a node repeated for a value (a `false` asked again later).
    pub revalidations: u64,
    /// Validator-set change sets that took effect within the run's heights.
    pub set_changes: u64,
    /// Validators those change sets added.
    pub joins: u64,
    /// Validators they removed.
    pub leaves: u64,
    /// Members whose power they changed.
    pub power_changes: u64,
    /// Decided value ids per height, as seen by the first correct node.
    pub decided: Vec<ValueId>,
}

/// A violated invariant, a missed liveness deadline or an engine error, with how to replay it.
#[derive(Clone, Debug)]
pub struct SimFailure {
    /// Name of the configuration.
    pub config: String,
    /// Seed of the failing run.
    pub seed: u64,
    /// Simulated time of the failure.
    pub time_ms: u64,
    /// What went wrong.
    pub reason: String,
    /// The command that replays the run.
    pub reproduce: String,
}

impl fmt::Display for SimFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "simulation {} seed {} failed at t={}ms: {}\n  reproduce: {}",
            self.config, self.seed, self.time_ms, self.reason, self.reproduce
        )
    }
}
