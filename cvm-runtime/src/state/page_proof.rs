//! Dataset pages: a key range of one dataset proven complete against a state root, with a compact main-trie proof
//! of the manuscript's metadata (which holds its child root) and a [`RangeProof`] of the dataset's keys in the
//! child trie.
//!
//! # Append-only datasets
//!
//! A page of an append-only dataset lists records in (height, key) order; each record's page key is the height of
//! the block that appended it (8 bytes, big-endian) followed by its own key, and `prefix` and `start` are of these
//! page keys (a prefix of up to 8 bytes selects heights; a longer one, one height and a key prefix). The proof is a
//! [`RangeProof`] over the dataset's block entries (`a/<dataset>/<height>`) from the start's height, one entry per
//! block the page reads, and one [`RangeProof`] per such block over its tree. Both sides walk the same way: a block
//! is read until the page is full or the block ends, then the next block. The verifier holds the prover to where
//! the page stops (a block before the last one must end within the page), so a page is fixed by its query.

use parity_scale_codec::{Decode, Encode};
use sp_core::H256;

use super::layout::{
    AppendBlock, ManuscriptMeta, append_key_height, append_prefix, dataset_prefix, manuscript_key,
};
use super::proof::ProofError;
use super::range_proof::{
    RangeError, RangePage, RangeProof, RangeQuery, prove_range, verify_range,
};
use super::store::NodeStore;
use super::trie::{Layout, StateRoot, StoreReader, read_value};

/// A page of a dataset: its keys starting with `prefix`, from `start` (inclusive) on, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PageQuery {
    /// The manuscript.
    pub manuscript: String,
    /// Its dataset.
    pub dataset: String,
    /// Only record keys starting with these bytes.
    pub prefix: Vec<u8>,
    /// The first record key the page may hold.
    pub start: Vec<u8>,
    /// The most records.
    pub limit: u32,
}

impl PageQuery {
    /// The same query with another limit.
    pub fn with_limit(&self, limit: u32) -> PageQuery {
        PageQuery {
            limit,
            ..self.clone()
        }
    }

    /// The query of the page after one whose last record key was `last`.
    pub fn after(&self, last: &[u8]) -> PageQuery {
        let mut start = last.to_vec();
        start.push(0);
        PageQuery {
            start,
            ..self.clone()
        }
    }

    fn child_range(&self) -> RangeQuery {
        let base = dataset_prefix(&self.dataset);
        RangeQuery {
            prefix: [&base[..], &self.prefix].concat(),
            start: [&base[..], &self.start].concat(),
            limit: self.limit,
        }
    }
}

/// Proof of a dataset page against a state root.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PageProof {
    /// The SCALE-encoded [`ManuscriptMeta`].
    pub manuscript_meta: Vec<u8>,
    /// Compact proof of the manuscript's entry in the main trie.
    pub main_proof: Vec<Vec<u8>>,
    /// The range of the dataset's keys in the manuscript's child trie (for an append-only dataset: of its block
    /// entries).
    pub range: RangeProof,
    /// For an append-only dataset: one range proof per block entry the page reads, over that block's tree, in
    /// height order; empty for a keyed dataset.
    pub trees: Vec<RangeProof>,
}

/// Why a page cannot be proven or its proof does not verify.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PageError {
    /// The state at the root cannot be read.
    #[error("cannot build the page proof: {0}")]
    Read(String),
    /// No manuscript of that name at the root.
    #[error("no manuscript named {0:?} in this state")]
    NoManuscript(String),
    /// The main-trie proof does not match the root.
    #[error("the manuscript entry does not match the state root: {0}")]
    MainProof(String),
    /// The manuscript metadata does not decode.
    #[error("manuscript metadata in the proof is not valid SCALE: {0}")]
    BadMeta(String),
    /// The metadata in the proof is another manuscript's.
    #[error("the proof carries the metadata of manuscript {found:?}, not of {claimed:?}")]
    OtherManuscript {
        /// The manuscript the query names.
        claimed: String,
        /// The manuscript its metadata names.
        found: String,
    },
    /// The manuscript does not declare the dataset (record keys join the dataset and the key with `/`: only a
    /// declared dataset, which holds no `/`, makes the range one dataset's).
    #[error(
        "manuscript {manuscript:?} declares no dataset {dataset:?} (its datasets: {declared:?})"
    )]
    UndeclaredDataset {
        /// The manuscript.
        manuscript: String,
        /// The dataset the query names.
        dataset: String,
        /// The datasets the manuscript declares.
        declared: Vec<String>,
    },
    /// The child-trie range proof fails.
    #[error(transparent)]
    Range(#[from] RangeError),
    /// An append-only page's proof does not hold together: a block entry that is not one, or a page that stops
    /// where the walk does not.
    #[error("the append-only page proof is inconsistent: {0}")]
    Appended(String),
}

/// [`proof::checked_meta`](super::proof::checked_meta), with its refusals as a page's.
fn checked_meta(query: &PageQuery, meta_bytes: &[u8]) -> Result<ManuscriptMeta, PageError> {
    super::proof::checked_meta(&query.manuscript, &query.dataset, meta_bytes).map_err(|e| match e {
        ProofError::OtherManuscript { claimed, found } => {
            PageError::OtherManuscript { claimed, found }
        }
        ProofError::UndeclaredDataset {
            manuscript,
            dataset,
            declared,
        } => PageError::UndeclaredDataset {
            manuscript,
            dataset,
            declared,
        },
        other => PageError::BadMeta(other.to_string()),
    })
}

/// Record keys of the dataset from child-trie keys.
fn strip(query: &PageQuery, mut page: RangePage) -> RangePage {
    let base = dataset_prefix(&query.dataset).len();
    for (key, _) in &mut page.records {
        key.drain(..base);
    }
    page
}

/// Proves the page `query` at `root`. Returns the limit served (below `query.limit` when the records passed
/// `max_bytes` first: the verifier must be given it), the page (record keys without the dataset prefix) and its
/// proof.
pub fn prove_page(
    store: &dyn NodeStore,
    root: StateRoot,
    query: &PageQuery,
    max_bytes: usize,
) -> Result<(u32, RangePage, PageProof), PageError> {
    let main_key = manuscript_key(&query.manuscript);
    let meta_bytes = read_value(store, root, &main_key)
        .map_err(|e| PageError::Read(e.to_string()))?
        .ok_or_else(|| PageError::NoManuscript(query.manuscript.clone()))?;
    let meta = checked_meta(query, &meta_bytes)?;
    let db = StoreReader::new(store);
    let main_proof = sp_trie::generate_trie_proof::<Layout, _, _, _>(&db, root, [&main_key])
        .map_err(|e| PageError::Read(e.to_string()))?;
    if meta.is_append_only(&query.dataset) {
        let (served, page, range, trees) =
            prove_appended_page(store, H256::from(meta.child_root), query, max_bytes)?;
        return Ok((
            served,
            page,
            PageProof {
                manuscript_meta: meta_bytes,
                main_proof,
                range,
                trees,
            },
        ));
    }
    let (served, page, range) = prove_range(
        store,
        H256::from(meta.child_root),
        &query.child_range(),
        max_bytes,
    )?;
    Ok((
        served,
        strip(query, page),
        PageProof {
            manuscript_meta: meta_bytes,
            main_proof,
            range,
            trees: Vec::new(),
        },
    ))
}

/// Checks a page proof against `root` for `query` (with the limit served) and returns the proven page: every
/// record of the range and nothing else, keys without the dataset prefix.
pub fn verify_page(
    root: &StateRoot,
    query: &PageQuery,
    proof: &PageProof,
) -> Result<RangePage, PageError> {
    sp_trie::verify_trie_proof::<Layout, _, _, _>(
        root,
        &proof.main_proof,
        &[(
            manuscript_key(&query.manuscript),
            Some(proof.manuscript_meta.clone()),
        )],
    )
    .map_err(|e| PageError::MainProof(format!("{e:?}")))?;
    let meta = checked_meta(query, &proof.manuscript_meta)?;
    if meta.is_append_only(&query.dataset) {
        return verify_appended_page(&H256::from(meta.child_root), query, proof);
    }
    if !proof.trees.is_empty() {
        return Err(PageError::Appended(format!(
            "dataset {:?} is keyed, yet the proof carries block trees",
            query.dataset
        )));
    }
    let page = verify_range(
        &H256::from(meta.child_root),
        &proof.range,
        &query.child_range(),
    )?;
    Ok(strip(query, page))
}

/// How an append-only page's query reads the dataset: which block entries, and within a block which keys.
struct AppendedWalk<'q> {
    query: &'q PageQuery,
}

impl AppendedWalk<'_> {
    /// The range of block entries from the start's height (limited to the prefix's heights).
    fn blocks(&self, limit: u32) -> RangeQuery {
        let base = append_prefix(&self.query.dataset);
        let head = |key: &[u8]| key[..key.len().min(8)].to_vec();
        RangeQuery {
            prefix: [&base[..], &head(&self.query.prefix)].concat(),
            start: [&base[..], &head(&self.query.start)].concat(),
            limit: limit.max(1),
        }
    }

    /// The keys to read in the tree of the block at `height` (big-endian bytes), at most `limit`.
    fn tree(&self, height: &[u8; 8], limit: u32) -> RangeQuery {
        let tail = |key: &[u8]| key.get(8..).unwrap_or_default().to_vec();
        let start = if self.query.start.len() > 8 && self.query.start[..8] == height[..] {
            tail(&self.query.start)
        } else {
            Vec::new()
        };
        RangeQuery {
            prefix: tail(&self.query.prefix),
            start,
            limit,
        }
    }
}

/// The height and commitment of a verified block entry of `dataset`.
fn block_entry(
    dataset: &str,
    key: &[u8],
    value: &[u8],
) -> Result<([u8; 8], AppendBlock), PageError> {
    let height = append_key_height(dataset, key).ok_or_else(|| {
        PageError::Appended(format!(
            "child key 0x{} is not a block entry",
            hex::encode(key)
        ))
    })?;
    let block = AppendBlock::decode(&mut &value[..])
        .map_err(|e| PageError::Appended(format!("block entry {height}: {e}")))?;
    Ok((height.to_be_bytes(), block))
}

/// Page keys: the block's height, then the record key.
fn page_records(
    height: &[u8; 8],
    records: Vec<(Vec<u8>, Vec<u8>)>,
) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    records
        .into_iter()
        .map(move |(key, value)| ([&height[..], &key[..]].concat(), value))
}

type AppendedPage = (u32, RangePage, RangeProof, Vec<RangeProof>);

fn prove_appended_page(
    store: &dyn NodeStore,
    child_root: H256,
    query: &PageQuery,
    max_bytes: usize,
) -> Result<AppendedPage, PageError> {
    if query.limit == 0 {
        return Err(RangeError::ZeroLimit.into());
    }
    let walk = AppendedWalk { query };
    let all_blocks = walk.blocks(u32::MAX);
    let mut page = RangePage::default();
    let mut trees = Vec::new();
    let mut bytes = 0usize;
    let mut from = all_blocks.start.clone();
    let mut exclusive = false;
    let read = |e: super::error::StateError| PageError::Read(e.to_string());
    while let Some(key) =
        super::trie::next_key(store, child_root, &all_blocks.prefix, &from, exclusive)
            .map_err(read)?
    {
        let value = read_value(store, child_root, &key)
            .map_err(read)?
            .ok_or_else(|| PageError::Read("a block entry vanished while reading".into()))?;
        let (height, block) = block_entry(&query.dataset, &key, &value)?;
        let remaining = query.limit - page.records.len() as u32;
        let (_, tree_page, tree) = prove_range(
            store,
            H256::from(block.root),
            &walk.tree(&height, remaining),
            max_bytes.saturating_sub(bytes),
        )?;
        bytes += tree_page
            .records
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>();
        let more = tree_page.more;
        page.records
            .extend(page_records(&height, tree_page.records));
        trees.push(tree);
        if more {
            page.more = true;
            break;
        }
        if page.records.len() as u32 >= query.limit {
            break;
        }
        from = key;
        exclusive = true;
    }
    let (_, blocks, range) = prove_range(
        store,
        child_root,
        &walk.blocks(trees.len() as u32),
        usize::MAX,
    )?;
    page.more |= blocks.more;
    // The loop stops short of the limit only when a block's walk passed `max_bytes`: the verifier must be given
    // that shorter limit to walk the same nodes.
    let served = if page.more && (page.records.len() as u32) < query.limit {
        page.records.len() as u32
    } else {
        query.limit
    };
    Ok((served, page, range, trees))
}

fn verify_appended_page(
    child_root: &H256,
    query: &PageQuery,
    proof: &PageProof,
) -> Result<RangePage, PageError> {
    if query.limit == 0 {
        return Err(RangeError::ZeroLimit.into());
    }
    let walk = AppendedWalk { query };
    let blocks = verify_range(
        child_root,
        &proof.range,
        &walk.blocks(proof.trees.len() as u32),
    )?;
    if blocks.records.len() != proof.trees.len() {
        return Err(PageError::Appended(format!(
            "the proof carries {} block trees for {} block entries",
            proof.trees.len(),
            blocks.records.len()
        )));
    }
    let mut page = RangePage::default();
    let last = proof.trees.len().saturating_sub(1);
    for (i, ((key, value), tree)) in blocks.records.iter().zip(&proof.trees).enumerate() {
        let (height, block) = block_entry(&query.dataset, key, value)?;
        let remaining = query.limit - page.records.len() as u32;
        let tree_page = verify_range(
            &H256::from(block.root),
            tree,
            &walk.tree(&height, remaining),
        )?;
        let more = tree_page.more;
        page.records
            .extend(page_records(&height, tree_page.records));
        let full = page.records.len() as u32 >= query.limit;
        if i < last && (more || full) {
            return Err(PageError::Appended(format!(
                "the page goes on past block {} where it is full",
                u64::from_be_bytes(height)
            )));
        }
        if i == last && !(more || full || !blocks.more) {
            return Err(PageError::Appended(format!(
                "the page stops after block {} with room left and more blocks following",
                u64::from_be_bytes(height)
            )));
        }
        page.more |= more;
    }
    page.more |= blocks.more;
    Ok(page)
}
