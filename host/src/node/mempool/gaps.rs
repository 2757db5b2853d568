//! Transactions waiting behind a nonce gap: relayed ahead of their account's next nonce, not includable until the
//! missing nonces arrive. Nothing vouches that they ever will (a stranger can sign with fresh keys and skip a nonce
//! for free), so they get a bounded share of the pool, a small count per sender, and go first: when they age out,
//! and whenever a ready transaction needs their room.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::admission::TxHash;

/// How far past an account's next nonce a relayed transaction may be and still wait in the pool. Gossip reorders
/// a sender's transactions by a few messages (several mesh paths, a reconnect), not by hundreds.
pub const RELAY_NONCE_WINDOW: u64 = 64;

/// Transactions one sender may have waiting behind a gap.
pub const MAX_GAPPED_PER_SENDER: usize = 16;

/// How long a transaction may wait behind a gap: an honest gap fills within a few gossip rounds.
pub const GAPPED_TTL: Duration = Duration::from_secs(60);

/// The gapped transactions' share of the pool, as a divisor of its count and byte limits.
pub const GAPPED_SHARE_DIVISOR: usize = 4;

/// The gapped transactions in the pool, oldest first.
#[derive(Debug, Default)]
pub(super) struct Gaps {
    /// Hash -> (admitted at, encoded size).
    held: HashMap<TxHash, (Instant, usize)>,
    /// Admission order (may hold hashes already removed; skipped when popped).
    order: VecDeque<(Instant, TxHash)>,
    bytes: usize,
}

impl Gaps {
    pub(super) fn insert(&mut self, hash: TxHash, size: usize, now: Instant) {
        if self.held.insert(hash, (now, size)).is_none() {
            self.order.push_back((now, hash));
            self.bytes += size;
        }
    }

    /// The transaction left the pool or became ready (its gap filled).
    pub(super) fn remove(&mut self, hash: &TxHash) {
        if let Some((_, size)) = self.held.remove(hash) {
            self.bytes -= size;
        }
        if self.order.len() > 2 * self.held.len() + 64 {
            let held = &self.held;
            self.order.retain(|(_, h)| held.contains_key(h));
        }
    }

    pub(super) fn contains(&self, hash: &TxHash) -> bool {
        self.held.contains_key(hash)
    }

    pub(super) fn len(&self) -> usize {
        self.held.len()
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The oldest gapped transaction, if any (it stays until removed).
    pub(super) fn oldest(&mut self) -> Option<TxHash> {
        while let Some(&(at, hash)) = self.order.front() {
            if self.held.get(&hash).is_some_and(|(since, _)| *since == at) {
                return Some(hash);
            }
            self.order.pop_front();
        }
        None
    }

    /// The oldest gapped transaction if it was admitted before `cutoff`.
    pub(super) fn oldest_before(&mut self, cutoff: Instant) -> Option<TxHash> {
        let hash = self.oldest()?;
        (self.held[&hash].0 < cutoff).then_some(hash)
    }
}
