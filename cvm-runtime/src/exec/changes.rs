//! Which dataset records a block changed: what change feeds serve and prove against the block's state root.

use parity_scale_codec::{Decode, Encode};

use crate::state::RECORD_PREFIX;

/// The records of one dataset of one manuscript that a block changed: each key's value after the block differs
/// from its value before it (a key written with the value it already held is not a change).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct DatasetChanges {
    /// The manuscript.
    pub manuscript: String,
    /// The dataset.
    pub dataset: String,
    /// Keys that hold a new value after the block (created or overwritten), in key order.
    pub written: Vec<Vec<u8>>,
    /// Keys that held a value before the block and none after it, in key order.
    pub removed: Vec<Vec<u8>>,
}

/// Collects one manuscript's changed child-trie keys, in key order, into per-dataset lists.
pub(super) struct ChangeCollector<'a> {
    manuscript: &'a str,
    out: Vec<DatasetChanges>,
}

impl<'a> ChangeCollector<'a> {
    pub(super) fn new(manuscript: &'a str) -> Self {
        Self {
            manuscript,
            out: Vec::new(),
        }
    }

    /// Notes a changed child-trie key: kept when it is a record (`d/<dataset>/<key>`), ignored when state.
    /// Keys arrive in order, so each dataset's keys are contiguous and sorted.
    pub(super) fn note(&mut self, child_key: &[u8], value: Option<&[u8]>) {
        let Some(rest) = child_key.strip_prefix(RECORD_PREFIX) else {
            return;
        };
        // Dataset names hold no `/`: the first one ends the name.
        let Some(slash) = rest.iter().position(|b| *b == b'/') else {
            return;
        };
        let (dataset, key) = (&rest[..slash], &rest[slash + 1..]);
        let Ok(dataset) = std::str::from_utf8(dataset) else {
            return;
        };
        if self.out.last().is_none_or(|last| last.dataset != dataset) {
            self.out.push(DatasetChanges {
                manuscript: self.manuscript.to_owned(),
                dataset: dataset.to_owned(),
                written: Vec::new(),
                removed: Vec::new(),
            });
        }
        let Some(current) = self.out.last_mut() else {
            return;
        };
        match value {
            Some(_) => current.written.push(key.to_vec()),
            None => current.removed.push(key.to_vec()),
        }
    }

    /// The manuscript's changes, one entry per dataset with changes, by dataset name (key order puts `a/` after
    /// `a-b/`).
    pub(super) fn finish(mut self) -> Vec<DatasetChanges> {
        self.out.sort_by(|a, b| a.dataset.cmp(&b.dataset));
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{MemoryNodeStore, NodeStore, OverlayDb, empty_root};

    /// Removals count only for keys that were present, rewrites only when the value differs, state keys never;
    /// datasets come out by name even where key order differs.
    #[test]
    fn collects_written_and_removed_records_of_a_trie_delta() {
        let store = MemoryNodeStore::new();
        let mut db = OverlayDb::new(&store);
        let before: [(&[u8], Option<&[u8]>); 4] = [
            (b"d/x/a", Some(b"1")),
            (b"d/x/b", Some(b"2")),
            (b"d/x/z", Some(b"3")),
            (b"s/k", Some(b"4")),
        ];
        let parent = db.apply(empty_root(), before).unwrap();
        store.commit(&db.into_changes()).unwrap();
        let mut db = OverlayDb::new(&store);
        let delta: [(&[u8], Option<&[u8]>); 7] = [
            (b"d/a-b/q", Some(b"5")),
            (b"d/x/a", None),
            (b"d/x/b", Some(b"2")),
            (b"d/x/c", Some(b"6")),
            (b"d/x/gone", None),
            (b"d/x/z", Some(b"7")),
            (b"s/k", Some(b"8")),
        ];
        let mut collector = ChangeCollector::new("m");
        db.apply_reporting(parent, delta, |k, v| collector.note(k, v))
            .unwrap();
        let changes = collector.finish();
        let names: Vec<&str> = changes.iter().map(|c| c.dataset.as_str()).collect();
        assert_eq!(names, ["a-b", "x"]);
        assert_eq!(changes[0].written, [b"q".to_vec()]);
        assert!(changes[0].removed.is_empty());
        assert_eq!(changes[1].written, [b"c".to_vec(), b"z".to_vec()]);
        assert_eq!(changes[1].removed, [b"a".to_vec()]);
        assert!(changes.iter().all(|c| c.manuscript == "m"));
    }
}
