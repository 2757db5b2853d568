//! When a height's round 0 begins, with genesis `idle_block_interval_ms` above 0 (the engine then holds round 0:
//! `cvm_consensus::Config::hold_round_zero`).
//!
//! Round 0 begins at once when this node has work for a block ([`Runner::has_work`]), else at the idle deadline:
//! the last block's header time plus the interval. The engine also begins it when a proposal or vote of the height
//! arrives from a validator: someone else began. Every validator holds alike, so a proposer waiting for work does
//! not leave the others' propose timers running out (a non-proposer that began alone sends nothing until its
//! propose timer ends, and its nil prevote then begins everyone). The deadline counts from the block's time, which
//! every node shares, so idle validators begin within their clocks' skew of each other rather than each a commit
//! latency apart. Rounds after 0 and catch-up are never held.

use std::time::Duration;

use cvm_consensus::{Height, Input};

use super::events::LoopEvent;
use super::state::Runner;
use crate::chain::BlockHeader;
use crate::node::status::now_ms;

/// When a held round 0 begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RoundZero {
    /// Now.
    Now,
    /// After this long, unless work or a validator's message comes first.
    After(Duration),
}

/// The rule: at once with work, else when `interval_ms` have passed since the last block's time
/// (`last_block_ms`, the genesis time before block 1), by this node's clock `now_ms`.
pub(crate) fn round_zero(
    has_work: bool,
    last_block_ms: u64,
    interval_ms: u64,
    now_ms: u64,
) -> RoundZero {
    let deadline = last_block_ms.saturating_add(interval_ms);
    if has_work || now_ms >= deadline {
        RoundZero::Now
    } else {
        RoundZero::After(Duration::from_millis(deadline - now_ms))
    }
}

impl Runner {
    /// Whether this node has something for a block: a transaction its mempool holds ready (the account's next
    /// nonce), source blocks fetched and verified past the head of a source a manuscript reads, or equivocation
    /// evidence to commit. The one place that says what work is.
    pub(super) fn has_work(&self) -> bool {
        self.shared.mempool.lock().has_ready()
            || self.shared.app.has_source_work()
            || !self.shared.evidence.lock().is_empty()
    }

    /// The input that begins a held round 0, if it is due now; otherwise the idle deadline's timer is armed (once
    /// per height).
    pub(super) fn round_zero_begin(&mut self) -> Option<Input<BlockHeader>> {
        let driver = &self.consensus.driver;
        if !driver.awaiting_begin() || self.consensus.halted.is_some() {
            return None;
        }
        let height = driver.height();
        let last_block_ms = self.shared.status.read().latest_block_time_ms;
        let interval_ms = self.shared.app.params().idle_block_interval_ms;
        match round_zero(self.has_work(), last_block_ms, interval_ms, now_ms()) {
            RoundZero::Now => Some(Input::BeginRoundZero { height }),
            RoundZero::After(wait) => {
                self.arm_idle_timer(height, wait);
                None
            }
        }
    }

    /// Begins a held round 0 if it is due (work arrived, or the idle timer fired).
    pub(crate) fn begin_round_zero_if_due(&mut self) {
        if let Some(begin) = self.round_zero_begin() {
            self.feed(begin);
        }
    }

    /// The idle timer of `height` fired: begin, or (the wall clock moved) wait again.
    pub(super) fn on_idle_deadline(&mut self, height: u64) {
        if self.commits.idle_timer == Some(height) {
            self.commits.idle_timer = None;
        }
        self.begin_round_zero_if_due();
    }

    fn arm_idle_timer(&mut self, height: Height, wait: Duration) {
        if self.commits.idle_timer == Some(height.0) {
            return;
        }
        self.commits.idle_timer = Some(height.0);
        let tx = self.shared.events_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let _ = tx.send(LoopEvent::IdleDeadline { height: height.0 });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_begins_at_once_and_an_idle_height_waits_for_the_deadline() {
        let ms = Duration::from_millis;
        // Work: at once, however recent the last block.
        assert_eq!(round_zero(true, 1_000, 10_000, 1_000), RoundZero::Now);
        // No work: the rest of the interval since the last block's time.
        assert_eq!(
            round_zero(false, 1_000, 10_000, 4_000),
            RoundZero::After(ms(7_000))
        );
        assert_eq!(
            round_zero(false, 1_000, 10_000, 10_999),
            RoundZero::After(ms(1))
        );
        assert_eq!(round_zero(false, 1_000, 10_000, 11_000), RoundZero::Now);
        // A last block long ago (a restart, a genesis in the past): at once.
        assert_eq!(round_zero(false, 1_000, 10_000, 900_000), RoundZero::Now);
        // A block time ahead of this node's clock (within the drift genesis allows): the whole interval from it.
        assert_eq!(
            round_zero(false, 5_000, 10_000, 4_000),
            RoundZero::After(ms(11_000))
        );
        // No overflow at the far end.
        assert_eq!(
            round_zero(false, u64::MAX - 5, 10_000, u64::MAX - 10),
            RoundZero::After(ms(10))
        );
    }
}
