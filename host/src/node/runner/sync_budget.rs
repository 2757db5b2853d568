//! What answering peers' block requests may cost: one request in progress per peer, a byte rate per peer (a token
//! bucket that a response may overdraw by at most one message), and a few storage reads at once in all. A request
//! past these is refused at once with a "busy" answer, at no storage cost.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;

/// Bytes of blocks a peer is served per second on average.
pub(crate) const SERVE_BYTES_PER_SEC: u64 = 16 * 1024 * 1024;

/// Storage reads for sync answers in progress at once, all peers together.
pub(crate) const MAX_CONCURRENT_READS: usize = 4;

/// Peers whose budget is tracked at most; a peer at rest with a full bucket is dropped first.
const MAX_TRACKED_PEERS: usize = 1024;

/// Why a sync request is refused unread.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Busy {
    #[error("busy: your previous sync request is still being answered; wait for its answer")]
    Outstanding,
    #[error("busy: you were served your share of sync bytes; retry in {retry_ms} ms")]
    Rate { retry_ms: u64 },
    #[error("busy: this node is answering {0} sync requests; retry shortly or ask another peer")]
    Reads(usize),
}

#[derive(Debug)]
struct PeerBudget {
    /// Bytes the peer may still be sent; negative after a response overdrew it.
    tokens: i64,
    refilled_at: Instant,
    reading: bool,
}

/// The serving budget of every peer, and the reads in progress.
#[derive(Debug)]
pub(crate) struct ServeBudget {
    bytes_per_sec: u64,
    burst: i64,
    max_reads: usize,
    peers: HashMap<PeerId, PeerBudget>,
    reading: usize,
}

impl Default for ServeBudget {
    fn default() -> Self {
        Self::new(
            SERVE_BYTES_PER_SEC,
            SERVE_BYTES_PER_SEC,
            MAX_CONCURRENT_READS,
        )
    }
}

impl ServeBudget {
    /// `bytes_per_sec` per peer, at most `burst` saved up, `max_reads` reads at once.
    pub(crate) fn new(bytes_per_sec: u64, burst: u64, max_reads: usize) -> Self {
        Self {
            bytes_per_sec,
            burst: burst as i64,
            max_reads,
            peers: HashMap::new(),
            reading: 0,
        }
    }

    /// Starts answering `peer`'s request, or says why not. On success the caller reads, answers, and calls
    /// [`Self::done`].
    pub(crate) fn start(&mut self, peer: PeerId, now: Instant) -> Result<(), Busy> {
        if self.reading >= self.max_reads {
            return Err(Busy::Reads(self.reading));
        }
        if !self.peers.contains_key(&peer) && self.peers.len() >= MAX_TRACKED_PEERS {
            self.drop_rested(now);
            if self.peers.len() >= MAX_TRACKED_PEERS {
                return Err(Busy::Reads(self.reading));
            }
        }
        let (bytes_per_sec, burst) = (self.bytes_per_sec, self.burst);
        let budget = self.peers.entry(peer).or_insert(PeerBudget {
            tokens: burst,
            refilled_at: now,
            reading: false,
        });
        if budget.reading {
            return Err(Busy::Outstanding);
        }
        refill(budget, bytes_per_sec, burst, now);
        if budget.tokens <= 0 {
            let missing = (1 - budget.tokens) as u64;
            return Err(Busy::Rate {
                retry_ms: (missing * 1000).div_ceil(bytes_per_sec.max(1)),
            });
        }
        budget.reading = true;
        self.reading += 1;
        Ok(())
    }

    /// The answer to `peer`'s request went out with `bytes` of blocks.
    pub(crate) fn done(&mut self, peer: PeerId, bytes: usize) {
        if let Some(budget) = self.peers.get_mut(&peer)
            && budget.reading
        {
            budget.reading = false;
            budget.tokens = budget.tokens.saturating_sub(bytes as i64);
            self.reading -= 1;
        }
    }

    /// Forgets peers at rest whose bucket is full again (they are as if new).
    fn drop_rested(&mut self, now: Instant) {
        let (bytes_per_sec, burst) = (self.bytes_per_sec, self.burst);
        self.peers.retain(|_, b| {
            refill(b, bytes_per_sec, burst, now);
            b.reading || b.tokens < burst
        });
    }

    /// Reads in progress.
    #[cfg(test)]
    pub(crate) fn reading(&self) -> usize {
        self.reading
    }
}

fn refill(budget: &mut PeerBudget, bytes_per_sec: u64, burst: i64, now: Instant) {
    let elapsed = now.saturating_duration_since(budget.refilled_at);
    let earned = (elapsed.as_micros() as u64)
        .saturating_mul(bytes_per_sec)
        .saturating_div(Duration::from_secs(1).as_micros() as u64);
    budget.tokens = budget.tokens.saturating_add(earned as i64).min(burst);
    budget.refilled_at = now;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_sending_many_sync_requests_gets_one_read_at_a_time_and_its_byte_rate() {
        let mut budget = ServeBudget::new(1_000_000, 2_000_000, 4);
        let greedy = PeerId::random();
        let t0 = Instant::now();
        let answered: Vec<_> = (0..1_000).map(|_| budget.start(greedy, t0)).collect();
        assert_eq!(answered.iter().filter(|r| r.is_ok()).count(), 1);
        assert!(answered[1..].iter().all(|r| *r == Err(Busy::Outstanding)));
        assert_eq!(
            budget.reading(),
            1,
            "one storage read, the rest refused unread"
        );
        // Two big answers spend the burst and overdraw it; then only the rate refills it.
        budget.done(greedy, 1_500_000);
        budget.start(greedy, t0).unwrap();
        budget.done(greedy, 1_500_000);
        let refused = budget.start(greedy, t0);
        assert_eq!(refused, Err(Busy::Rate { retry_ms: 1_001 }));
        assert!(refused.unwrap_err().to_string().contains("retry in"));
        assert!(
            budget
                .start(greedy, t0 + Duration::from_millis(900))
                .is_err()
        );
        assert!(
            budget
                .start(greedy, t0 + Duration::from_millis(1_100))
                .is_ok()
        );
        // Over 100 simulated seconds of back-to-back requests, it is served about the rate and never more.
        let mut budget = ServeBudget::new(1_000_000, 2_000_000, 4);
        let mut served = 0u64;
        for ms in 0..100_000u64 {
            let now = t0 + Duration::from_millis(ms);
            if budget.start(greedy, now).is_ok() {
                budget.done(greedy, 500_000);
                served += 500_000;
            }
        }
        assert!(served <= 2_000_000 + 100 * 1_000_000 + 500_000, "{served}");
        assert!(served >= 100 * 1_000_000, "{served}");
    }

    #[test]
    fn sync_reads_in_progress_are_bounded_across_peers() {
        let mut budget = ServeBudget::new(1_000_000, 1_000_000, 3);
        let t0 = Instant::now();
        let peers: Vec<_> = (0..10).map(|_| PeerId::random()).collect();
        let started = peers
            .iter()
            .filter(|p| budget.start(**p, t0).is_ok())
            .count();
        assert_eq!(started, 3);
        assert_eq!(budget.start(peers[9], t0), Err(Busy::Reads(3)));
        budget.done(peers[0], 10);
        assert!(
            budget.start(peers[9], t0).is_ok(),
            "a finished read frees its slot"
        );
        // A `done` for a request that was never started frees nothing.
        budget.done(peers[5], 10);
        assert_eq!(budget.reading(), 3);
    }
}
