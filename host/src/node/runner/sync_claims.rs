//! What peers claim about their height, trusted only while they deliver.
//!
//! A `Status` answer is a number a peer chooses. A claim above our height gives the peer [`CLAIM_DEADLINE`] to
//! serve verified blocks toward it; one that does not loses its claim and is neither asked nor believed for
//! [`BENCH_TIME`]. The node counts as syncing only while a peer that delivered verified blocks within the deadline
//! is still ahead, so no claim alone keeps it (and embedders waiting for it to be ready) syncing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libp2p::PeerId;
use parking_lot::Mutex;

use super::sync_budget::ServeBudget;

/// How long a peer that claims to be ahead has to deliver verified blocks toward its claim (and, having
/// delivered, to deliver again).
pub(crate) const CLAIM_DEADLINE: Duration = Duration::from_secs(20);

/// How long a peer that did not back its claim is neither asked nor believed.
pub(crate) const BENCH_TIME: Duration = Duration::from_secs(120);

/// Claims kept at most (peers this node asked; a connection each).
const MAX_CLAIMS: usize = 1024;

#[derive(Debug, Clone, Copy, Default)]
struct Claim {
    height: u64,
    /// Since when the peer owes verified blocks toward a claim above our height.
    owed_since: Option<Instant>,
    /// When it last delivered verified blocks.
    delivered_at: Option<Instant>,
    /// Not asked nor believed until then.
    benched_until: Option<Instant>,
}

impl Claim {
    fn benched(&self, now: Instant) -> bool {
        self.benched_until.is_some_and(|until| now < until)
    }
}

/// Block sync: peers' claims and the one request out (the side that asks), and the serving budget (the side that
/// answers).
#[derive(Default)]
pub(crate) struct SyncProgress {
    claims: HashMap<PeerId, Claim>,
    /// One sync request at a time.
    pub(crate) in_flight: bool,
    /// Bytes and reads this node spends answering peers' sync requests.
    pub(crate) serving: Arc<Mutex<ServeBudget>>,
}

impl SyncProgress {
    /// `peer` says it has committed `height`. Returns whether the claim counts (the peer is not benched).
    pub(crate) fn claim(
        &mut self,
        peer: PeerId,
        height: u64,
        committed: u64,
        now: Instant,
    ) -> bool {
        if !self.claims.contains_key(&peer) && self.claims.len() >= MAX_CLAIMS {
            return false;
        }
        let claim = self.claims.entry(peer).or_default();
        if claim.benched(now) {
            return false;
        }
        claim.benched_until = None;
        claim.height = height;
        if height > committed + 1 {
            // A repeated claim does not push the deadline back.
            claim.owed_since.get_or_insert(now);
        }
        true
    }

    /// `peer` served blocks that verified and committed.
    pub(crate) fn delivered(&mut self, peer: PeerId, now: Instant) {
        let claim = self.claims.entry(peer).or_default();
        claim.delivered_at = Some(now);
        claim.benched_until = None;
        claim.owed_since = Some(now);
    }

    /// Claims we reached stop being owed; a peer that owes blocks past the deadline loses its claim.
    pub(crate) fn expire(&mut self, committed: u64, now: Instant) {
        self.claims.retain(|_, claim| {
            if claim.height <= committed + 1 {
                claim.owed_since = None;
            } else if claim
                .owed_since
                .is_some_and(|since| now.duration_since(since) > CLAIM_DEADLINE)
            {
                *claim = Claim {
                    benched_until: Some(now + BENCH_TIME),
                    ..Claim::default()
                };
            }
            claim.benched(now) || claim.height > 0
        });
    }

    /// `peer` answered with what no honest peer sends (source data that is not the committed block): its claim
    /// goes, and it is neither asked nor believed for [`BENCH_TIME`].
    pub(crate) fn bench(&mut self, peer: PeerId, now: Instant) {
        if !self.claims.contains_key(&peer) && self.claims.len() >= MAX_CLAIMS {
            return;
        }
        self.claims.insert(
            peer,
            Claim {
                benched_until: Some(now + BENCH_TIME),
                ..Claim::default()
            },
        );
    }

    /// The peer left: its claim goes, a bench stays until it ends.
    pub(crate) fn forget(&mut self, peer: &PeerId, now: Instant) {
        if self.claims.get(peer).is_some_and(|c| !c.benched(now)) {
            self.claims.remove(peer);
        }
    }

    /// Whether `peer` may be asked.
    pub(crate) fn askable(&self, peer: &PeerId, now: Instant) -> bool {
        !self.claims.get(peer).is_some_and(|c| c.benched(now))
    }

    /// The height `peer` claims (0 when benched or unknown).
    pub(crate) fn claimed(&self, peer: &PeerId) -> u64 {
        self.claims.get(peer).map_or(0, |c| c.height)
    }

    /// The highest standing claim.
    pub(crate) fn best_peer_height(&self) -> u64 {
        self.claims.values().map(|c| c.height).max().unwrap_or(0)
    }

    /// Catching up by sync: a peer that delivered verified blocks within [`CLAIM_DEADLINE`] is more than a height
    /// ahead of `committed`.
    pub(crate) fn syncing(&self, committed: u64, now: Instant) -> bool {
        self.claims.values().any(|c| {
            c.height > committed + 1
                && c.delivered_at
                    .is_some_and(|at| now.duration_since(at) <= CLAIM_DEADLINE)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_claiming_height_u64_max_does_not_keep_the_node_syncing() {
        let mut sync = SyncProgress::default();
        let liar = PeerId::random();
        let t0 = Instant::now();
        assert!(sync.claim(liar, u64::MAX, 10, t0), "believed at first");
        assert_eq!(sync.best_peer_height(), u64::MAX);
        assert!(!sync.syncing(10, t0), "a claim alone is not sync progress");
        // Repeating the claim does not extend the deadline.
        let later = t0 + CLAIM_DEADLINE / 2;
        sync.claim(liar, u64::MAX, 10, later);
        sync.expire(10, later);
        assert!(sync.askable(&liar, later));
        let past = t0 + CLAIM_DEADLINE + Duration::from_secs(1);
        sync.claim(liar, u64::MAX, 10, past);
        sync.expire(10, past);
        assert_eq!(sync.best_peer_height(), 0, "the claim is gone");
        assert!(!sync.askable(&liar, past), "not asked again for a while");
        assert!(!sync.claim(liar, u64::MAX, 10, past), "nor believed");
        // Reconnecting does not lift the bench; its end does.
        sync.forget(&liar, past);
        assert!(!sync.askable(&liar, past));
        let free = past + BENCH_TIME + Duration::from_secs(1);
        sync.expire(10, free);
        assert!(sync.askable(&liar, free));
    }

    #[test]
    fn a_peer_that_sent_bad_source_data_is_benched_at_once() {
        let mut sync = SyncProgress::default();
        let forger = PeerId::random();
        let t0 = Instant::now();
        assert!(sync.claim(forger, 500, 10, t0));
        sync.delivered(forger, t0);
        assert!(sync.syncing(10, t0));
        sync.bench(forger, t0);
        assert!(!sync.askable(&forger, t0), "not asked");
        assert_eq!(sync.best_peer_height(), 0, "its claim is gone");
        assert!(!sync.syncing(10, t0));
        assert!(!sync.claim(forger, 500, 10, t0), "nor believed");
        let free = t0 + BENCH_TIME + Duration::from_secs(1);
        sync.expire(10, free);
        assert!(sync.askable(&forger, free), "until the bench ends");
    }

    #[test]
    fn a_peer_that_delivers_keeps_the_node_syncing_until_it_stops() {
        let mut sync = SyncProgress::default();
        let (honest, liar) = (PeerId::random(), PeerId::random());
        let t0 = Instant::now();
        sync.claim(honest, 500, 10, t0);
        sync.claim(liar, u64::MAX, 10, t0);
        sync.delivered(honest, t0);
        assert!(sync.syncing(74, t0));
        // The honest peer delivers up to its height; the liar never does.
        let t1 = t0 + CLAIM_DEADLINE;
        sync.delivered(honest, t1);
        let t2 = t1 + Duration::from_secs(1);
        sync.expire(499, t2);
        assert_eq!(sync.best_peer_height(), 500, "the liar lost its claim");
        assert!(
            !sync.syncing(499, t2),
            "caught up with the only peer that delivered"
        );
        // A peer that delivered once but then stalls stops counting after the deadline.
        sync.claim(honest, 900, 499, t2);
        assert!(sync.syncing(499, t2));
        let t3 = t2 + CLAIM_DEADLINE + Duration::from_secs(1);
        assert!(!sync.syncing(499, t3));
        sync.expire(499, t3);
        assert!(!sync.askable(&honest, t3));
    }
}
