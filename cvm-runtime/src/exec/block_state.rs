//! The state one block builds: main-trie reads and writes over the parent root, and the manuscripts it touched.

use std::collections::BTreeMap;
use std::sync::Arc;

use parity_scale_codec::Encode;

use super::changes::{ChangeCollector, DatasetChanges};
use crate::overlay::{APPENDED_PREFIX, Changes, ManuscriptOverlay};
use crate::state::{
    self, H256, MainRead, ManuscriptMeta, NodeStore, OverlayDb, STATE_PREFIX, StateChanges,
    StateError, StateRoot, TrieView, account_key, append_key, build_append_tree, decoded,
    manuscript_key,
};
use crate::value_cache::ValueCache;

/// The state being built by one block: main-trie changes and the manuscripts touched so far.
pub(super) struct BlockState {
    store: Arc<dyn NodeStore>,
    values: Arc<ValueCache>,
    main: TrieView,
    main_changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Manuscripts whose state this block touched; `None` while one is out running.
    manuscripts: BTreeMap<String, Option<(ManuscriptMeta, ManuscriptOverlay)>>,
}

impl BlockState {
    /// Nothing changed yet over the main trie at `parent`.
    pub(super) fn new(
        store: Arc<dyn NodeStore>,
        parent: StateRoot,
        values: Arc<ValueCache>,
    ) -> Self {
        Self {
            main: TrieView::new(store.clone(), parent),
            store,
            values,
            main_changes: BTreeMap::new(),
            manuscripts: BTreeMap::new(),
        }
    }

    /// The main-trie value at `key`, as this block has left it so far.
    pub(super) fn main_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.main_changes.get(key) {
            Some(value) => Ok(value.clone()),
            None => self.main.get(key),
        }
    }

    /// Sets a main-trie value for the rest of the block.
    pub(super) fn main_set(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.main_changes.insert(key, Some(value));
    }

    /// The next nonce `account` must use.
    pub(super) fn nonce(&self, account: &[u8; 32]) -> Result<u64, StateError> {
        Ok(decoded::<u64>(self, &account_key(account))?.unwrap_or(0))
    }

    /// Records the next nonce `account` must use.
    pub(super) fn set_nonce(&mut self, account: &[u8; 32], nonce: u64) {
        self.main_set(account_key(account), nonce.encode());
    }

    /// The manuscripts subscribed to `source`, in deploy order.
    pub(super) fn subscribers(&self, source: &str) -> Result<Vec<String>, StateError> {
        state::subscribers(self, source)
    }

    /// Takes a manuscript's metadata and state overlay out to run it; give them back with
    /// [`put_manuscript`](Self::put_manuscript).
    pub(super) fn take_manuscript(
        &mut self,
        name: &str,
    ) -> Result<(ManuscriptMeta, ManuscriptOverlay), StateError> {
        if let Some(entry) = self.manuscripts.get_mut(name).and_then(Option::take) {
            return Ok(entry);
        }
        let key = manuscript_key(name);
        let meta: ManuscriptMeta = decoded(self, &key)?.ok_or_else(|| StateError::Corrupt {
            key: String::from_utf8_lossy(&key).into_owned(),
            reason: "subscribed manuscript has no metadata".into(),
        })?;
        let view = TrieView::new(self.store.clone(), H256::from(meta.child_root));
        let trie = self.values.trie_id(name);
        Ok((
            meta,
            ManuscriptOverlay::new(view, Some((self.values.clone(), trie))),
        ))
    }

    /// Gives back a manuscript taken with [`take_manuscript`](Self::take_manuscript), with its new writes.
    pub(super) fn put_manuscript(&mut self, meta: ManuscriptMeta, overlay: ManuscriptOverlay) {
        self.manuscripts
            .insert(meta.name.clone(), Some((meta, overlay)));
    }

    /// Folds each manuscript's changes into its child trie, then the main trie; returns root, new nodes and the
    /// dataset records that changed (by manuscript, then dataset). `height` is the block's: each append-only
    /// dataset that got records becomes one tree, its [`AppendBlock`](state::AppendBlock) at
    /// [`append_key`]`(dataset, height)`.
    pub(super) fn finish(
        mut self,
        height: u64,
    ) -> Result<(StateRoot, StateChanges, Vec<DatasetChanges>), StateError> {
        let store = self.store.clone();
        let mut db = OverlayDb::new(&*store);
        let mut dataset_changes = Vec::new();
        for (meta, overlay) in std::mem::take(&mut self.manuscripts)
            .into_values()
            .flatten()
        {
            let changes = overlay.into_changes();
            if changes.is_empty() {
                continue;
            }
            let mut meta = meta;
            let parent = H256::from(meta.child_root);
            let (appends, mut manuscript_changes) =
                commit_appends(&mut db, &meta.name, &changes, height);
            let delta = appends
                .iter()
                .map(|(k, v)| (k.as_slice(), Some(v.as_slice())))
                .chain(
                    changes
                        .iter()
                        .filter(|(k, _)| !k.starts_with(APPENDED_PREFIX))
                        .map(|(k, v)| (k.as_slice(), v.as_deref())),
                );
            let mut collector = ChangeCollector::new(&meta.name);
            let child_root =
                db.apply_reporting(parent, delta, |key, value| collector.note(key, value))?;
            manuscript_changes.extend(collector.finish());
            manuscript_changes.sort_by(|a, b| a.dataset.cmp(&b.dataset));
            dataset_changes.extend(manuscript_changes);
            // The next block reads this root: link it to its parent, so that state this block did not write is
            // served from entries filed under older roots, and file the state it wrote under it (not dataset
            // records, which manuscripts never read back).
            self.values.link(
                child_root,
                parent,
                STATE_PREFIX,
                changes.keys().map(|k| k.as_slice()),
            );
            let trie = self.values.trie_id(&meta.name);
            for (key, value) in changes {
                if key.starts_with(STATE_PREFIX) {
                    self.values.insert(trie, child_root, key.into_vec(), value);
                }
            }
            meta.child_root = child_root.to_fixed_bytes();
            self.main_set(manuscript_key(&meta.name), meta.encode());
        }
        let delta = self
            .main_changes
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref()));
        let root = db.apply(self.main.root(), delta)?;
        Ok((root, db.into_changes(), dataset_changes))
    }
}

/// A child-trie key and the value to write there.
type ChildEntry = (Vec<u8>, Vec<u8>);

/// Builds one tree per append-only dataset from a manuscript's appended records (`p/<dataset>/<key>` in
/// `changes`, sorted, so each dataset's are contiguous and in key order) into `db`. Returns the child-trie
/// entries to write (`a/<dataset>/<height>` -> encoded [`AppendBlock`](state::AppendBlock)), in key order, and
/// each dataset's appended keys as its changes.
fn commit_appends(
    db: &mut OverlayDb<'_>,
    manuscript: &str,
    changes: &Changes,
    height: u64,
) -> (Vec<ChildEntry>, Vec<DatasetChanges>) {
    let mut entries = Vec::new();
    let mut appended = Vec::new();
    let mut records = changes
        .range::<[u8], _>((
            std::ops::Bound::Included(APPENDED_PREFIX),
            std::ops::Bound::Unbounded,
        ))
        .map_while(|(k, v)| {
            let rest = k.strip_prefix(APPENDED_PREFIX)?;
            let slash = rest.iter().position(|b| *b == b'/')?;
            // Appends are never removals: a `None` here cannot be written by any host function.
            Some((
                &rest[..slash],
                &rest[slash + 1..],
                v.as_deref().unwrap_or_default(),
            ))
        })
        .peekable();
    while let Some((dataset, _, _)) = records.peek().copied() {
        let mut keys = Vec::new();
        let block = build_append_tree(
            db,
            std::iter::from_fn(|| records.next_if(|(d, _, _)| *d == dataset)).map(
                |(_, key, value)| {
                    keys.push(key.to_vec());
                    (key, value)
                },
            ),
        );
        let dataset = String::from_utf8_lossy(dataset).into_owned();
        entries.push((append_key(&dataset, height), block.encode()));
        appended.push(DatasetChanges {
            manuscript: manuscript.to_owned(),
            dataset,
            written: keys,
            removed: Vec::new(),
        });
    }
    (entries, appended)
}

/// Source reads see the block's writes so far (a source registered earlier in the block, a head moved).
impl MainRead for BlockState {
    fn main_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.main_get(key)
    }
}
