//! A manuscript's view of its child trie during a block: the committed trie at the block's start, the writes of
//! earlier transactions in this block, the writes of the running transaction's earlier records, and the writes
//! of the running invocation (dropped if it fails).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::state::{StateError, TrieView};
use crate::value_cache::{TrieId, ValueCache};

/// A child-trie key as the overlay holds it: inline up to 56 bytes (every key of the example manuscripts), so
/// a layer's B-tree compares keys within its own nodes instead of following a pointer per comparison (the
/// layers' lookups and inserts were ~8 % of a loaded validator's CPU with heap-allocated keys), and building a
/// key allocates nothing.
pub(crate) type OverlayKey = SmallVec<[u8; 56]>;

/// The key made of `parts`, in order.
pub(crate) fn overlay_key(parts: &[&[u8]]) -> OverlayKey {
    let mut out = OverlayKey::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

pub(crate) type Changes = BTreeMap<OverlayKey, Option<Vec<u8>>>;

/// Overlay-only keys `p/<dataset>/<key>`: records appended to an append-only dataset in this block. They never
/// reach the child trie as such: at the end of the block each dataset's become one tree, whose root the trie
/// keeps under `a/<dataset>/<height>`. A manuscript cannot read or iterate them (its keys are all under `s/`).
pub(crate) const APPENDED_PREFIX: &[u8] = b"p/";

/// Moves `from`'s writes into `into`, `from` winning on equal keys. An empty `into` takes `from` whole; one not
/// much larger than `from` is rebuilt from the two sorted sequences at once (`append`, linear), rather than by
/// one search and insert per key (a transaction's writes going into the block's layer).
fn merge(into: &mut Changes, mut from: Changes) {
    if into.is_empty() {
        *into = from;
    } else if from.len().saturating_mul(4) >= into.len() {
        into.append(&mut from);
    } else {
        into.extend(from);
    }
}

pub(crate) struct ManuscriptOverlay {
    committed: TrieView,
    /// Values of committed tries already read, shared across blocks, and this trie's id in it (absent outside a
    /// block executor).
    values: Option<(Arc<ValueCache>, TrieId)>,
    block: Changes,
    /// While a transaction runs: what its finished invocations wrote. A layer of its own (rather than an undo
    /// log over `block`) so that keeping a record's writes moves its keys once, and dropping a transaction that
    /// failed as a whole (the block's fuel ran out) is dropping the layer.
    tx: Option<Changes>,
    pending: Changes,
}

impl ManuscriptOverlay {
    pub fn new(committed: TrieView, values: Option<(Arc<ValueCache>, TrieId)>) -> Self {
        Self {
            committed,
            values,
            block: Changes::new(),
            tx: None,
            pending: Changes::new(),
        }
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        if let Some(v) = self.pending.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.tx.as_ref().and_then(|tx| tx.get(key)) {
            return Ok(v.clone());
        }
        if let Some(v) = self.block.get(key) {
            return Ok(v.clone());
        }
        let Some((values, trie)) = &self.values else {
            return self.committed.get(key);
        };
        let root = self.committed.root();
        if let Some(v) = values.get(*trie, root, key) {
            return Ok(v);
        }
        let v = self.committed.get(key)?;
        values.insert(*trie, root, key.to_vec(), v.clone());
        Ok(v)
    }

    /// Whether this block's kept writes or the running invocation's hold `key` (the committed trie is not
    /// read: for appended records, which exist only in the block, that would be a wasted lookup).
    pub fn written_in_block(&self, key: &[u8]) -> bool {
        self.pending.contains_key(key)
            || self.tx.as_ref().is_some_and(|tx| tx.contains_key(key))
            || self.block.contains_key(key)
    }

    pub fn set(&mut self, key: OverlayKey, value: Vec<u8>) {
        self.pending.insert(key, Some(value));
    }

    pub fn remove(&mut self, key: OverlayKey) {
        self.pending.insert(key, None);
    }

    /// Keeps the running invocation's writes.
    pub fn commit_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        merge(self.tx.as_mut().unwrap_or(&mut self.block), pending);
    }

    /// Starts a transaction: its writes stay apart until [`end_tx`](Self::end_tx).
    pub fn begin_tx(&mut self) {
        self.tx = Some(Changes::new());
    }

    /// Ends the transaction: keeps its writes, or drops them.
    pub fn end_tx(&mut self, keep: bool) {
        self.pending.clear();
        if let Some(tx) = self.tx.take()
            && keep
        {
            merge(&mut self.block, tx);
        }
    }

    /// Drops the running invocation's writes.
    pub fn discard_pending(&mut self) {
        self.pending.clear();
    }

    /// The block's changes to the child trie, for computing its new root.
    pub fn into_changes(mut self) -> Changes {
        self.end_tx(false);
        self.block
    }

    /// The smallest live key with `prefix` that is `> after` (or `>= prefix` when `after` is `None`),
    /// merging the layers. Each deleted key on the way is one more step (a seek in every layer); the walk
    /// stops unfinished after `max_skips` of them, so its work never exceeds what the caller can pay for.
    pub fn next_key(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        max_skips: u64,
    ) -> Result<KeyWalk, StateError> {
        let mut from: Vec<u8> = after.map_or_else(|| prefix.to_vec(), <[u8]>::to_vec);
        let mut exclusive = after.is_some();
        let mut skipped = 0u64;
        loop {
            #[cfg(test)]
            walk_steps::count();
            let lower = if exclusive {
                Bound::Excluded(&from[..])
            } else {
                Bound::Included(&from[..])
            };
            let in_layer = |layer: &Changes| {
                layer
                    .range::<[u8], _>((lower, Bound::Unbounded))
                    .next()
                    .map(|(k, _)| k.to_vec())
                    .filter(|k| k.starts_with(prefix))
            };
            let candidates = [
                in_layer(&self.pending),
                self.tx.as_ref().and_then(in_layer),
                in_layer(&self.block),
                self.committed.next_key(prefix, &from, exclusive)?,
            ];
            let Some(candidate) = candidates.into_iter().flatten().min() else {
                return Ok(KeyWalk::Done {
                    next: None,
                    skipped,
                });
            };
            if self.get(&candidate)?.is_some() {
                return Ok(KeyWalk::Done {
                    next: Some(candidate),
                    skipped,
                });
            }
            skipped += 1;
            if skipped > max_skips {
                return Ok(KeyWalk::Unpaid { skipped });
            }
            from = candidate;
            exclusive = true;
        }
    }
}

/// How a [`ManuscriptOverlay::next_key`] walk ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KeyWalk {
    /// It found the next live key (or that there is none), after skipping `skipped` deleted keys.
    Done {
        /// The key found.
        next: Option<Vec<u8>>,
        /// Deleted keys skipped on the way.
        skipped: u64,
    },
    /// It stopped at the deleted key `skipped`, one more than it was allowed to skip.
    Unpaid {
        /// Deleted keys met, the last one not skipped.
        skipped: u64,
    },
}

/// Steps taken by [`ManuscriptOverlay::next_key`] on this thread, so tests can bound a walk's work.
#[cfg(test)]
pub(crate) mod walk_steps {
    use std::cell::Cell;

    thread_local! {
        static STEPS: Cell<u64> = const { Cell::new(0) };
    }

    pub(crate) fn count() {
        STEPS.with(|s| s.set(s.get() + 1));
    }

    /// Steps so far on this thread.
    pub(crate) fn taken() -> u64 {
        STEPS.with(Cell::get)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;
    use crate::state::{MemoryNodeStore, NodeStore, OverlayDb, empty_root};

    type Model = BTreeMap<Vec<u8>, Vec<u8>>;

    fn committed(entries: &Model) -> TrieView {
        let store = Arc::new(MemoryNodeStore::new());
        let mut db = OverlayDb::new(&*store);
        let root = db
            .apply(
                empty_root(),
                entries
                    .iter()
                    .map(|(k, v)| (k.as_slice(), Some(v.as_slice()))),
            )
            .unwrap();
        store.commit(&db.into_changes()).unwrap();
        TrieView::new(store, root)
    }

    fn key() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(0u8..4, 0..4)
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(Vec<u8>, Vec<u8>),
        Remove(Vec<u8>),
        Commit,
        Discard,
        BeginTx,
        EndTx(bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (key(), proptest::collection::vec(any::<u8>(), 1..3)).prop_map(|(k, v)| Op::Set(k, v)),
            key().prop_map(Op::Remove),
            Just(Op::Commit),
            Just(Op::Discard),
            Just(Op::BeginTx),
            any::<bool>().prop_map(Op::EndTx),
        ]
    }

    proptest! {
        /// The layered view (committed trie, block writes, transaction writes, pending writes) reads and iterates
        /// exactly like one map with the same operations applied, a dropped transaction restoring the map as it
        /// was when the transaction began.
        #[test]
        fn layered_view_matches_a_plain_map(
            initial in proptest::collection::btree_map(key(), proptest::collection::vec(any::<u8>(), 1..3), 0..12),
            ops in proptest::collection::vec(op(), 0..40),
            prefix in key(),
        ) {
            let mut overlay = ManuscriptOverlay::new(committed(&initial), None);
            let mut kept = initial.clone();
            let mut pending = kept.clone();
            let mut tx_start: Option<Model> = None;
            for op in ops {
                match op {
                    Op::Set(k, v) => { overlay.set(k.as_slice().into(), v.clone()); pending.insert(k, v); }
                    Op::Remove(k) => { overlay.remove(k.as_slice().into()); pending.remove(&k); }
                    Op::Commit => { overlay.commit_pending(); kept = pending.clone(); }
                    Op::Discard => { overlay.discard_pending(); pending = kept.clone(); }
                    Op::BeginTx => {
                        if tx_start.is_none() {
                            overlay.begin_tx();
                            tx_start = Some(kept.clone());
                        }
                    }
                    Op::EndTx(keep) => {
                        overlay.end_tx(keep);
                        if let Some(start) = tx_start.take() && !keep {
                            kept = start;
                        }
                        pending = kept.clone();
                    }
                }
            }
            for (k, v) in &pending {
                let got = overlay.get(k).unwrap();
                prop_assert_eq!(got.as_ref(), Some(v));
            }
            // Walk the prefix with next_key and compare with the model's ordered keys.
            let expected: Vec<Vec<u8>> = pending.keys().filter(|k| k.starts_with(&prefix)).cloned().collect();
            let mut walked = Vec::new();
            let mut after: Option<Vec<u8>> = None;
            while let KeyWalk::Done { next: Some(next), .. } =
                overlay.next_key(&prefix, after.as_deref(), u64::MAX).unwrap()
            {
                walked.push(next.clone());
                after = Some(next);
            }
            prop_assert_eq!(walked, expected);
        }
    }
}
