//! Timeout durations: a base per step plus a delta per round, so that after GST some
//! round's timeouts exceed the message delay and the round can decide.

use std::time::Duration;

use parity_scale_codec::{Decode, Encode};

use crate::state_machine::TimeoutKind;
use crate::types::{Height, Round};

/// A timer the host must run and report back as `Input::TimeoutElapsed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct Timeout {
    /// Height the timer was set at.
    pub height: Height,
    /// Round the timer was set in.
    pub round: Round,
    /// Which timer.
    pub kind: TimeoutKind,
}

/// How long each timer runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeoutConfig {
    /// Wait for the proposal in round 0.
    pub propose: Duration,
    /// Added to `propose` per round.
    pub propose_delta: Duration,
    /// Wait for a prevote polka after 2f+1 prevotes of any kind, in round 0.
    pub prevote: Duration,
    /// Added to `prevote` per round.
    pub prevote_delta: Duration,
    /// Wait for a decision after 2f+1 precommits of any kind, in round 0.
    pub precommit: Duration,
    /// Added to `precommit` per round.
    pub precommit_delta: Duration,
    /// Wait this long after starting a height before round 0 (CometBFT's
    /// `timeout_commit`); `None` starts round 0 at once.
    pub block_interval: Option<Duration>,
}

impl Default for TimeoutConfig {
    /// CometBFT's defaults, without a block interval.
    fn default() -> Self {
        TimeoutConfig {
            propose: Duration::from_millis(3000),
            propose_delta: Duration::from_millis(500),
            prevote: Duration::from_millis(1000),
            prevote_delta: Duration::from_millis(500),
            precommit: Duration::from_millis(1000),
            precommit_delta: Duration::from_millis(500),
            block_interval: None,
        }
    }
}

impl TimeoutConfig {
    /// `base + delta * round` for the step timers; the block interval for `NewHeight`.
    pub fn duration(&self, kind: TimeoutKind, round: Round) -> Duration {
        let (base, delta) = match kind {
            TimeoutKind::Propose => (self.propose, self.propose_delta),
            TimeoutKind::Prevote => (self.prevote, self.prevote_delta),
            TimeoutKind::Precommit => (self.precommit, self.precommit_delta),
            TimeoutKind::NewHeight => return self.block_interval.unwrap_or_default(),
        };
        base.saturating_add(delta.saturating_mul(round.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_per_round() {
        let c = TimeoutConfig::default();
        assert_eq!(
            c.duration(TimeoutKind::Propose, Round(0)),
            Duration::from_millis(3000)
        );
        assert_eq!(
            c.duration(TimeoutKind::Prevote, Round(4)),
            Duration::from_millis(3000)
        );
        assert_eq!(
            c.duration(TimeoutKind::Precommit, Round(u32::MAX)),
            Duration::from_millis(1000).saturating_add(Duration::from_millis(500) * u32::MAX)
        );
        assert_eq!(c.duration(TimeoutKind::NewHeight, Round(0)), Duration::ZERO);
    }
}
