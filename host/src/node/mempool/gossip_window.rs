//! Paces the gossip of transactions this node's clients submit.
//!
//! Gossipsub queues a copy of every published message per peer until that peer's connection takes it, with no
//! limit in bytes. A client submitting faster than the chain commits (a bulk ingest) used to fill those queues
//! with tens of megabytes of transactions that the chain could not take for seconds, on the one validator the
//! client talks to, and put consensus messages behind them. So a client's transaction is published only while
//! the client transactions already published and not yet committed stay within a byte window of a few blocks:
//! enough that every proposer has full blocks to take, few enough that the queues stay small. The rest wait in
//! the mempool, in arrival order, and go out as commits free the window; one committed before its turn (this
//! node proposed it) is never gossiped at all.
//!
//! A published transaction counts against the window until it leaves the pool or for [`GossipWindow::ttl`],
//! whichever is first: gossipsub abandons a message that waited that long in a peer's queue, so after it the
//! copies are gone either way, and a transaction no peer took (none connected yet) cannot hold the window shut.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::admission::TxHash;

/// Client transactions published and not yet committed, and those waiting for room among them.
#[derive(Debug)]
pub struct GossipWindow {
    window_bytes: usize,
    ttl: Duration,
    /// Admitted, not yet published: arrival order (may hold hashes already forgotten) and sizes.
    waiting_order: VecDeque<TxHash>,
    waiting: HashMap<TxHash, usize>,
    /// Published and still counted: publication order (may hold hashes already forgotten) and sizes.
    published_order: VecDeque<(Instant, TxHash)>,
    published: HashMap<TxHash, usize>,
    published_bytes: usize,
}

impl GossipWindow {
    /// How long a published transaction counts at most: gossipsub's default `publish_queue_duration`, after
    /// which a message not yet sent to a peer is dropped from its queue.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(5);

    /// A window of `window_bytes`, each published transaction counting for at most `ttl`.
    pub fn new(window_bytes: usize, ttl: Duration) -> Self {
        Self {
            window_bytes,
            ttl,
            waiting_order: VecDeque::new(),
            waiting: HashMap::new(),
            published_order: VecDeque::new(),
            published: HashMap::new(),
            published_bytes: 0,
        }
    }

    /// A client's transaction of `size` encoded bytes, just admitted to the pool.
    pub fn push(&mut self, hash: TxHash, size: usize) {
        if self.waiting.insert(hash, size).is_none() {
            self.waiting_order.push_back(hash);
        }
    }

    /// The transaction left the pool (committed, or stale): it no longer waits or counts.
    pub fn forget(&mut self, hash: &TxHash) {
        self.waiting.remove(hash);
        if let Some(size) = self.published.remove(hash) {
            self.published_bytes -= size;
        }
        // Bounded bookkeeping when transactions leave faster than they age out.
        if self.waiting_order.len() > 2 * self.waiting.len() + 64 {
            let waiting = &self.waiting;
            self.waiting_order.retain(|h| waiting.contains_key(h));
        }
        if self.published_order.len() > 2 * self.published.len() + 64 {
            let published = &self.published;
            self.published_order
                .retain(|(_, h)| published.contains_key(h));
        }
    }

    /// The waiting transactions to publish now, in arrival order, counted as published at `now`. One is
    /// always released when nothing counts, so a transaction larger than the window still goes out.
    pub fn release(&mut self, now: Instant) -> Vec<TxHash> {
        self.expire(now);
        let mut out = Vec::new();
        while let Some(&hash) = self.waiting_order.front() {
            let Some(&size) = self.waiting.get(&hash) else {
                self.waiting_order.pop_front();
                continue;
            };
            if self.published_bytes > 0 && self.published_bytes + size > self.window_bytes {
                break;
            }
            self.waiting_order.pop_front();
            self.waiting.remove(&hash);
            self.published.insert(hash, size);
            self.published_bytes += size;
            self.published_order.push_back((now, hash));
            out.push(hash);
        }
        out
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(at, hash)) = self.published_order.front() {
            if now.saturating_duration_since(at) < self.ttl {
                break;
            }
            self.published_order.pop_front();
            if let Some(size) = self.published.remove(&hash) {
                self.published_bytes -= size;
            }
        }
    }

    /// Transactions waiting for room.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Bytes published and still counted against the window.
    pub fn published_bytes(&self) -> usize {
        self.published_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(i: u8) -> TxHash {
        [i; 32]
    }

    const TTL: Duration = Duration::from_secs(5);

    #[test]
    fn publishes_within_the_window_in_arrival_order_and_the_rest_as_commits_free_it() {
        let t0 = Instant::now();
        let mut w = GossipWindow::new(250, TTL);
        for i in 1..=4 {
            w.push(h(i), 100);
        }
        assert_eq!(w.release(t0), vec![h(1), h(2)]);
        assert_eq!((w.waiting(), w.published_bytes()), (2, 200));
        // Nothing freed, nothing more.
        assert!(w.release(t0).is_empty());
        // The first commits: one more fits.
        w.forget(&h(1));
        assert_eq!(w.release(t0), vec![h(3)]);
        w.forget(&h(2));
        w.forget(&h(3));
        assert_eq!(w.release(t0), vec![h(4)]);
        assert_eq!((w.waiting(), w.published_bytes()), (0, 100));
    }

    #[test]
    fn a_transaction_committed_while_waiting_is_never_published() {
        let t0 = Instant::now();
        let mut w = GossipWindow::new(100, TTL);
        w.push(h(1), 100);
        w.push(h(2), 100);
        w.push(h(3), 100);
        assert_eq!(w.release(t0), vec![h(1)]);
        // This node proposed 2 itself and it committed with 1.
        w.forget(&h(1));
        w.forget(&h(2));
        assert_eq!(w.release(t0), vec![h(3)]);
        assert_eq!(w.waiting(), 0);
    }

    #[test]
    fn one_transaction_larger_than_the_window_still_goes_out_alone() {
        let t0 = Instant::now();
        let mut w = GossipWindow::new(100, TTL);
        w.push(h(1), 500);
        w.push(h(2), 10);
        assert_eq!(w.release(t0), vec![h(1)]);
        assert!(w.release(t0).is_empty(), "the window is over full");
        w.forget(&h(1));
        assert_eq!(w.release(t0), vec![h(2)]);
    }

    #[test]
    fn a_published_transaction_stops_counting_after_the_ttl() {
        let t0 = Instant::now();
        let mut w = GossipWindow::new(100, TTL);
        w.push(h(1), 100);
        w.push(h(2), 100);
        assert_eq!(w.release(t0), vec![h(1)]);
        assert!(w.release(t0 + TTL - Duration::from_millis(1)).is_empty());
        assert_eq!(w.release(t0 + TTL), vec![h(2)]);
        assert_eq!(w.published_bytes(), 100);
        // Forgetting an expired transaction later changes nothing.
        w.forget(&h(1));
        assert_eq!(w.published_bytes(), 100);
    }

    #[test]
    fn pushing_the_same_transaction_twice_queues_it_once() {
        let t0 = Instant::now();
        let mut w = GossipWindow::new(1000, TTL);
        w.push(h(1), 100);
        w.push(h(1), 100);
        assert_eq!(w.release(t0), vec![h(1)]);
        assert_eq!(w.published_bytes(), 100);
    }

    #[test]
    fn bookkeeping_stays_bounded_when_transactions_leave_unpublished() {
        let t0 = Instant::now();
        let mut w = GossipWindow::new(0, TTL);
        w.push(h(0), 1);
        assert_eq!(w.release(t0), vec![h(0)]);
        for round in 0..50u8 {
            for i in 1..=200u8 {
                let mut hash = h(i);
                hash[0] = round;
                w.push(hash, 1);
                w.forget(&hash);
            }
        }
        assert_eq!(w.waiting(), 0);
        assert!(w.waiting_order.len() <= 64 + 1, "{}", w.waiting_order.len());
    }
}
