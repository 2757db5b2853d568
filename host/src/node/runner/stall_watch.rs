//! Notices a height whose consensus state (height, round, step) has not moved for a while.
//!
//! Timers alone do not guarantee progress: a node waiting for 2f+1 votes of any kind has no timer running, so if
//! the votes it needs were lost (a peer restarting, a dropped connection) nobody would send them again. The paper
//! assumes gossip eventually delivers every message; re-broadcasting what we signed on a stall is how this node
//! provides that. If that does not help either, the gossip links themselves are suspect (connected peers whose
//! messages stopped arriving both ways), so the node reconnects to its peers.

use std::time::{Duration, Instant};

use cvm_consensus::Step;

/// The consensus state whose progress is watched: height, round, step.
pub type ConsensusState = (u64, u32, Step);

/// Tracks how long the consensus state has stood still.
pub struct StallWatch {
    state: ConsensusState,
    since: Instant,
    wait: Duration,
    /// Re-broadcasts since the state last moved.
    attempts: u32,
}

/// What a stall calls for.
#[derive(Debug, PartialEq, Eq)]
pub enum StallAction {
    /// Progress, or not stalled for long enough yet.
    None,
    /// Re-broadcast what this node signed at this height.
    Rebroadcast,
    /// Re-broadcast after reconnecting to every peer.
    Reconnect,
}

impl StallWatch {
    /// First re-broadcast after this long without progress, then doubling up to [`Self::MAX_WAIT`].
    const FIRST_WAIT: Duration = Duration::from_secs(1);
    const MAX_WAIT: Duration = Duration::from_secs(8);
    /// Re-broadcasts tried before reconnecting.
    const REBROADCASTS_BEFORE_RECONNECT: u32 = 2;

    /// A watch that starts counting now.
    pub fn new() -> Self {
        Self {
            state: (0, 0, Step::Propose),
            since: Instant::now(),
            wait: Self::FIRST_WAIT,
            attempts: 0,
        }
    }

    /// What to do now, given the current consensus state.
    pub fn check(&mut self, state: ConsensusState, now: Instant) -> StallAction {
        if state != self.state {
            self.state = state;
            self.since = now;
            self.wait = Self::FIRST_WAIT;
            self.attempts = 0;
            return StallAction::None;
        }
        if now.duration_since(self.since) < self.wait {
            return StallAction::None;
        }
        self.since = now;
        self.wait = (self.wait * 2).min(Self::MAX_WAIT);
        self.attempts += 1;
        if self.attempts > Self::REBROADCASTS_BEFORE_RECONNECT {
            StallAction::Reconnect
        } else {
            StallAction::Rebroadcast
        }
    }
}

impl Default for StallWatch {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stall_watch_rebroadcasts_then_reconnects_and_backs_off() {
        use StallAction::*;
        let mut watch = StallWatch::new();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let a = (5, 0, Step::Prevote);
        assert_eq!(watch.check(a, at(0)), None, "a new state is progress");
        assert_eq!(watch.check(a, at(900)), None);
        assert_eq!(
            watch.check(a, at(1000)),
            Rebroadcast,
            "stalled for the first wait"
        );
        assert_eq!(watch.check(a, at(2500)), None, "the wait doubled to 2 s");
        assert_eq!(watch.check(a, at(3000)), Rebroadcast);
        assert_eq!(watch.check(a, at(6900)), None);
        assert_eq!(
            watch.check(a, at(7000)),
            Reconnect,
            "then 4 s, and re-broadcasts did not help"
        );
        for i in 0..5 {
            assert_eq!(
                watch.check(a, at(7000 + 8000 * (i + 1))),
                Reconnect,
                "capped at 8 s"
            );
        }
        let b = (5, 0, Step::Precommit);
        assert_eq!(watch.check(b, at(60_000)), None, "a step change resets");
        assert_eq!(
            watch.check(b, at(61_000)),
            Rebroadcast,
            "back to the first wait, and to re-broadcasting"
        );
    }
}
