//! The pool itself: admitted transactions with their per-account nonce queues and arrival order, and admission
//! of checked transactions into it (duplicates, nonces, room). Block building and pruning are in `reap.rs`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use cvm_runtime::{SignedTransaction, VerifiedTxs};
use parity_scale_codec::Encode;
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::admission::{AdmitError, CheckedTx, TxCheck, TxHash};
use super::gaps::{
    GAPPED_SHARE_DIVISOR, GAPPED_TTL, Gaps, MAX_GAPPED_PER_SENDER, RELAY_NONCE_WINDOW,
};
use super::gossip_window::GossipWindow;
use crate::chain::config::DEFAULT_GOSSIP_WINDOW_BYTES;

/// Where a transaction comes from: a client (strict nonce) or a peer (nonce within a window, see `gaps.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Submitted to this node's API: must carry the account's next nonce.
    Client,
    /// Gossiped by a peer: may run ahead of the next nonce by up to [`RELAY_NONCE_WINDOW`].
    Relayed,
}

pub(super) struct Entry {
    pub(super) tx: SignedTransaction,
    pub(super) size: usize,
}

/// The pool: admitted transactions by hash, per-account nonce queues and arrival order.
pub struct Mempool {
    pub(super) check: TxCheck,
    max_txs: usize,
    max_bytes: usize,
    pub(super) entries: HashMap<TxHash, Entry>,
    /// Per account: nonce -> hash, gapless from the committed nonce.
    pub(super) accounts: HashMap<[u8; 32], BTreeMap<u64, TxHash>>,
    /// Arrival order (may hold hashes already removed; skipped when reaped).
    pub(super) arrival: VecDeque<TxHash>,
    bytes: usize,
    /// Relayed transactions waiting behind a nonce gap (counted in `entries` and `bytes` too).
    pub(super) gapped: Gaps,
    /// Paces the gossip of client transactions (see [`GossipWindow`]).
    gossip: GossipWindow,
    /// Notified whenever a transaction becomes ready, so a height waiting for work begins at once.
    ready_signal: Option<Arc<Notify>>,
}

impl Mempool {
    /// An empty pool for `chain_id`, holding at most `max_txs` transactions, `max_bytes` in all, each at most `max_tx_bytes`.
    pub fn new(chain_id: String, max_txs: usize, max_bytes: usize, max_tx_bytes: usize) -> Self {
        Self {
            check: TxCheck::new(chain_id, max_tx_bytes, Arc::new(VerifiedTxs::new())),
            max_txs,
            max_bytes,
            entries: HashMap::new(),
            accounts: HashMap::new(),
            arrival: VecDeque::new(),
            bytes: 0,
            gapped: Gaps::default(),
            gossip: GossipWindow::new(DEFAULT_GOSSIP_WINDOW_BYTES, GossipWindow::DEFAULT_TTL),
            ready_signal: None,
        }
    }

    /// Notifies `signal` whenever a transaction becomes ready (its account's next nonce, or the one that filled
    /// its gap): the event loop begins a height that waits for work.
    pub fn with_ready_signal(mut self, signal: Arc<Notify>) -> Self {
        self.ready_signal = Some(signal);
        self
    }

    /// Whether a transaction a block can take now is held (one not waiting behind a nonce gap).
    pub fn has_ready(&self) -> bool {
        self.entries.len() > self.gapped.len()
    }

    /// Client transactions published and not yet committed stay within `bytes` (see [`GossipWindow`]).
    pub fn with_gossip_window(mut self, bytes: usize) -> Self {
        self.gossip = GossipWindow::new(bytes, GossipWindow::DEFAULT_TTL);
        self
    }

    /// Refuses transactions that `rules` refuses (checked after the signature).
    pub fn with_payload_rules(mut self, rules: super::admission::PayloadRule) -> Self {
        self.check.rules = Some(rules);
        self
    }

    /// Records admitted signatures in `verified` (the block executor's set), so execution does not check them
    /// again.
    pub fn with_verified_txs(mut self, verified: Arc<VerifiedTxs>) -> Self {
        self.check.verified = verified;
        self
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no transaction is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Encoded bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the transaction `hash` is held.
    pub fn contains(&self, hash: &TxHash) -> bool {
        self.entries.contains_key(hash)
    }

    /// The nonce the account's next transaction must carry, given its committed nonce: the first one neither
    /// committed nor pending.
    pub fn next_nonce(&self, account: &[u8; 32], committed: u64) -> u64 {
        let mut next = committed;
        if let Some(pending) = self.accounts.get(account) {
            for nonce in pending.range(committed..).map(|(n, _)| *n) {
                if nonce != next {
                    break;
                }
                next += 1;
            }
        }
        next
    }

    /// Checks and admits raw transaction bytes from a client. `committed_nonce` is the account's nonce in the
    /// latest state.
    pub fn admit(
        &mut self,
        bytes: &[u8],
        committed_nonce: impl FnOnce(&[u8; 32]) -> u64,
    ) -> Result<TxHash, AdmitError> {
        self.admit_from(Origin::Client, bytes, committed_nonce)
    }

    /// [`admit`](Self::admit) for a transaction of the given origin.
    pub fn admit_from(
        &mut self,
        origin: Origin,
        bytes: &[u8],
        committed_nonce: impl FnOnce(&[u8; 32]) -> u64,
    ) -> Result<TxHash, AdmitError> {
        let checked = self.check.check(bytes)?;
        self.admit_checked(origin, checked, committed_nonce)
    }

    /// [`admit_from`](Self::admit_from) for a pool shared behind a lock: a full pool refuses at once, and the
    /// pool-independent checks run with the lock released.
    pub fn admit_shared(
        pool: &Mutex<Mempool>,
        origin: Origin,
        bytes: &[u8],
        committed_nonce: impl FnOnce(&[u8; 32]) -> u64,
    ) -> Result<TxHash, AdmitError> {
        let check = {
            let pool = pool.lock();
            pool.has_room_for(bytes.len())?;
            pool.check.clone()
        };
        let checked = check.check(bytes)?;
        pool.lock().admit_checked(origin, checked, committed_nonce)
    }

    /// Refuses at once when `size` more bytes would not fit even after evicting every gapped transaction, so a
    /// client retrying against a full pool costs no decoding or signature check.
    pub fn has_room_for(&self, size: usize) -> Result<(), AdmitError> {
        let ready_txs = self.entries.len() - self.gapped.len();
        let ready_bytes = self.bytes - self.gapped.bytes();
        if ready_txs >= self.max_txs || ready_bytes + size > self.max_bytes {
            return Err(self.full());
        }
        Ok(())
    }

    fn full(&self) -> AdmitError {
        AdmitError::Full {
            txs: self.entries.len(),
            bytes: self.bytes,
        }
    }

    /// Whether `size` more bytes fit as they are, without evicting anything.
    fn fits(&self, size: usize) -> bool {
        self.entries.len() < self.max_txs && self.bytes + size <= self.max_bytes
    }

    /// Evicts gapped transactions, oldest first, until `size` more bytes of a ready transaction fit.
    fn make_room(&mut self, size: usize) -> Result<(), AdmitError> {
        while !self.fits(size) {
            let Some(oldest) = self.gapped.oldest() else {
                return Err(self.full());
            };
            self.remove(&oldest);
        }
        Ok(())
    }

    /// Room for a gapped transaction of `size` bytes from an account with `waiting` gapped already: within the
    /// sender's cap, the gapped share and the pool (a gapped transaction never evicts anything).
    fn gapped_room(&self, waiting: usize, size: usize) -> Result<(), AdmitError> {
        if waiting >= MAX_GAPPED_PER_SENDER {
            return Err(AdmitError::SenderGapFull {
                waiting,
                max: MAX_GAPPED_PER_SENDER,
            });
        }
        let max_txs = (self.max_txs / GAPPED_SHARE_DIVISOR).max(1);
        let max_bytes = self.max_bytes / GAPPED_SHARE_DIVISOR;
        if self.gapped.len() >= max_txs || self.gapped.bytes() + size > max_bytes {
            return Err(AdmitError::GapShareFull {
                txs: self.gapped.len(),
                bytes: self.gapped.bytes(),
            });
        }
        if !self.fits(size) {
            return Err(self.full());
        }
        Ok(())
    }

    /// Drops the gapped transactions that waited [`GAPPED_TTL`] by `now`.
    pub(crate) fn expire_gapped(&mut self, now: Instant) {
        let Some(cutoff) = now.checked_sub(GAPPED_TTL) else {
            return;
        };
        while let Some(hash) = self.gapped.oldest_before(cutoff) {
            self.remove(&hash);
        }
    }

    /// Transactions waiting behind a nonce gap.
    pub fn gapped_len(&self) -> usize {
        self.gapped.len()
    }

    /// `account`'s pending transactions from `from` on are ready (no gap before them): they stop counting as
    /// gapped.
    pub(super) fn mark_ready(&mut self, account: &[u8; 32], from: u64, until: u64) {
        let Some(pending) = self.accounts.get(account) else {
            return;
        };
        let ready: Vec<TxHash> = pending
            .range(from..until)
            .map(|(_, h)| *h)
            .filter(|h| self.gapped.contains(h))
            .collect();
        for hash in ready {
            self.gapped.remove(&hash);
        }
    }

    /// Admits a transaction that passed [`TxCheck::check`]: not a duplicate, the right nonce, room left.
    pub fn admit_checked(
        &mut self,
        origin: Origin,
        checked: CheckedTx,
        committed_nonce: impl FnOnce(&[u8; 32]) -> u64,
    ) -> Result<TxHash, AdmitError> {
        let CheckedTx { tx, hash, size } = checked;
        let now = Instant::now();
        self.expire_gapped(now);
        if self.entries.contains_key(&hash) {
            return Err(AdmitError::Duplicate(format!("0x{}", hex::encode(hash))));
        }
        let signer = tx.tx.signer;
        let expected = self.next_nonce(&signer, committed_nonce(&signer));
        let nonce = tx.tx.nonce;
        let acceptable = match origin {
            Origin::Client => nonce == expected,
            Origin::Relayed => {
                nonce >= expected
                    && nonce < expected.saturating_add(RELAY_NONCE_WINDOW)
                    && !self
                        .accounts
                        .get(&signer)
                        .is_some_and(|m| m.contains_key(&nonce))
            }
        };
        if !acceptable {
            return Err(AdmitError::WrongNonce {
                expected,
                found: nonce,
            });
        }
        let gapped = nonce > expected;
        if gapped {
            // Every pending nonce from `expected` on waits behind the gap at `expected`.
            let waiting = self
                .accounts
                .get(&signer)
                .map_or(0, |m| m.range(expected..).count());
            self.gapped_room(waiting, size)?;
        } else {
            self.make_room(size)?;
        }
        self.accounts.entry(signer).or_default().insert(nonce, hash);
        self.arrival.push_back(hash);
        self.bytes += size;
        self.entries.insert(hash, Entry { tx, size });
        if gapped {
            self.gapped.insert(hash, size, now);
        } else {
            // This nonce filled the gap: the run behind it is ready.
            let next = self.next_nonce(&signer, nonce);
            self.mark_ready(&signer, nonce + 1, next);
            if let Some(signal) = &self.ready_signal {
                signal.notify_one();
            }
        }
        if origin == Origin::Client {
            self.gossip.push(hash, size);
        }
        Ok(hash)
    }

    /// The client transactions to gossip now (see [`GossipWindow::release`]), in arrival order.
    pub fn gossip_due(&mut self, now: std::time::Instant) -> Vec<TxHash> {
        self.gossip.release(now)
    }

    /// Client transactions admitted and waiting for room in the gossip window.
    pub fn gossip_waiting(&self) -> usize {
        self.gossip.waiting()
    }

    /// A pooled transaction's canonical encoding (what its hash, the transaction's id, is taken over).
    pub fn encoded(&self, hash: &TxHash) -> Option<Vec<u8>> {
        self.entries.get(hash).map(|e| e.tx.encode())
    }

    pub(super) fn remove(&mut self, hash: &TxHash) {
        if let Some(entry) = self.entries.remove(hash) {
            self.bytes -= entry.size;
            self.gapped.remove(hash);
            self.gossip.forget(hash);
            let account = entry.tx.tx.signer;
            if let Some(m) = self.accounts.get_mut(&account) {
                m.remove(&entry.tx.tx.nonce);
                if m.is_empty() {
                    self.accounts.remove(&account);
                }
            }
        }
    }
}
