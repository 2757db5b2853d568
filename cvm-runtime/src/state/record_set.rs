//! Proofs of several records of one dataset at once (a block's changes): one compact main-trie proof of the
//! manuscript's metadata and one compact child-trie proof covering every key, so shared trie nodes travel once.
//! For an append-only dataset, a block's changes are all the records it appended: the child-trie proof is of the
//! block's [`AppendBlock`] entry and a range proof over the block's whole tree shows that the entries are exactly
//! its records, none left out.

use parity_scale_codec::{Decode, Encode};
use sp_core::H256;

use super::layout::{AppendBlock, ManuscriptMeta, append_key, manuscript_key, record_key};
use super::proof::{ProofError, checked_meta, kind_part, prove_append_entry};
use super::range_proof::{RangeProof, RangeQuery, prove_range, verify_range};
use super::store::NodeStore;
use super::trie::{Layout, StateRoot, StoreReader, read_value};

/// A self-contained proof that each key of `entries` holds its value (or, when `None`, is absent) in `dataset`
/// of `manuscript` in the state with a given root.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct RecordSetProof {
    /// The manuscript's name.
    pub manuscript: String,
    /// The dataset.
    pub dataset: String,
    /// Each record key with its value at the root (`None`: absent), in strictly increasing key order.
    pub entries: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// The SCALE-encoded [`ManuscriptMeta`], or `None` when the manuscript does not exist.
    pub manuscript_meta: Option<Vec<u8>>,
    /// Compact proof of the manuscript's entry in the main trie.
    pub main_proof: Vec<Vec<u8>>,
    /// One compact proof of every entry in the manuscript's child trie (for an append-only dataset: of the
    /// block's entry).
    pub child_proof: Vec<Vec<u8>>,
    /// For an append-only dataset: the block whose appended records the entries are, with the proof that they
    /// are all of them; `None` for a keyed dataset.
    pub appended: Option<AppendedSetProof>,
}

/// The part of a [`RecordSetProof`] particular to an append-only dataset.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct AppendedSetProof {
    /// The block's height.
    pub height: u64,
    /// The SCALE-encoded [`AppendBlock`] at [`append_key`]`(dataset, height)`, or `None` when the block appended
    /// nothing to the dataset.
    pub block: Option<Vec<u8>>,
    /// Range proof of the block's whole tree (empty when `block` is `None`).
    pub tree: RangeProof,
}

fn tree_range(block: &AppendBlock) -> RangeQuery {
    RangeQuery {
        prefix: Vec::new(),
        start: Vec::new(),
        limit: block.count.max(1),
    }
}

/// Proves, at `root`, every record the block at `height` appended to the append-only `dataset`.
pub fn prove_block_appends(
    store: &dyn NodeStore,
    root: StateRoot,
    manuscript: &str,
    dataset: &str,
    height: u64,
) -> Result<RecordSetProof, ProofError> {
    let generate = |e: &dyn std::fmt::Display| ProofError::Generate(e.to_string());
    let entry = prove_append_entry(store, root, manuscript, dataset, height)?;
    let mut proof = RecordSetProof {
        manuscript: manuscript.into(),
        dataset: dataset.into(),
        entries: Vec::new(),
        manuscript_meta: entry.manuscript_meta,
        main_proof: entry.main_proof,
        child_proof: entry.child_proof,
        appended: Some(AppendedSetProof {
            height,
            block: None,
            tree: RangeProof::default(),
        }),
    };
    let Some((block_bytes, block)) = entry.block else {
        return Ok(proof);
    };
    let (_, page, tree) = prove_range(
        store,
        H256::from(block.root),
        &tree_range(&block),
        usize::MAX,
    )
    .map_err(|e| generate(&e))?;
    proof.entries = page
        .records
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    proof.appended = Some(AppendedSetProof {
        height,
        block: Some(block_bytes),
        tree,
    });
    Ok(proof)
}

/// Builds the proof of `keys` (any order, duplicates dropped) of a dataset at `root`.
pub fn prove_record_set(
    store: &dyn NodeStore,
    root: StateRoot,
    manuscript: &str,
    dataset: &str,
    keys: &[Vec<u8>],
) -> Result<RecordSetProof, ProofError> {
    let generate = |e: &dyn std::fmt::Display| ProofError::Generate(e.to_string());
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    let db = StoreReader::new(store);
    let main_key = manuscript_key(manuscript);
    let main_proof = sp_trie::generate_trie_proof::<Layout, _, _, _>(&db, root, [&main_key])
        .map_err(|e| generate(&e))?;
    let meta_bytes = read_value(store, root, &main_key).map_err(|e| generate(&e))?;
    let Some(meta_bytes) = meta_bytes else {
        return Ok(RecordSetProof {
            manuscript: manuscript.into(),
            dataset: dataset.into(),
            entries: keys.into_iter().map(|k| (k, None)).collect(),
            manuscript_meta: None,
            main_proof,
            child_proof: Vec::new(),
            appended: None,
        });
    };
    let meta = ManuscriptMeta::decode(&mut &meta_bytes[..])
        .map_err(|e| ProofError::BadMeta(e.to_string()))?;
    if meta.is_append_only(dataset) {
        return Err(ProofError::NeedsHeight {
            dataset: dataset.into(),
        });
    }
    let child_root = H256::from(meta.child_root);
    let child_keys: Vec<Vec<u8>> = keys.iter().map(|k| record_key(dataset, k)).collect();
    let child_proof = sp_trie::generate_trie_proof::<Layout, _, _, _>(&db, child_root, &child_keys)
        .map_err(|e| generate(&e))?;
    let mut entries = Vec::with_capacity(keys.len());
    for (key, child_key) in keys.into_iter().zip(&child_keys) {
        let value = read_value(store, child_root, child_key).map_err(|e| generate(&e))?;
        entries.push((key, value));
    }
    Ok(RecordSetProof {
        manuscript: manuscript.into(),
        dataset: dataset.into(),
        entries,
        manuscript_meta: Some(meta_bytes),
        main_proof,
        child_proof,
        appended: None,
    })
}

/// Checks a record-set proof against a state root: every entry's value (or absence) is what the state holds. A
/// proof for a dataset the manuscript does not declare, or whose keys are not strictly increasing, does not verify.
pub fn verify_record_set(root: &StateRoot, proof: &RecordSetProof) -> Result<(), ProofError> {
    let main_key = manuscript_key(&proof.manuscript);
    sp_trie::verify_trie_proof::<Layout, _, _, _>(
        root,
        &proof.main_proof,
        &[(main_key, proof.manuscript_meta.clone())],
    )
    .map_err(|e| ProofError::MainProof(format!("{e:?}")))?;
    if let Some(pair) = proof.entries.windows(2).find(|w| w[0].0 >= w[1].0) {
        return Err(ProofError::ChildProof(format!(
            "keys out of order or repeated at 0x{}",
            hex::encode(&pair[1].0)
        )));
    }
    let Some(meta_bytes) = &proof.manuscript_meta else {
        if proof.entries.iter().any(|(_, v)| v.is_some()) {
            return Err(ProofError::RecordWithoutManuscript);
        }
        return Ok(());
    };
    let meta = checked_meta(&proof.manuscript, &proof.dataset, meta_bytes)?;
    let appended = kind_part(&meta, &proof.dataset, proof.appended.as_ref())?;
    if let Some(appended) = appended {
        return verify_appended_set(&H256::from(meta.child_root), proof, appended);
    }
    if proof.entries.is_empty() {
        return Ok(());
    }
    let items: Vec<(Vec<u8>, Option<Vec<u8>>)> = proof
        .entries
        .iter()
        .map(|(k, v)| (record_key(&proof.dataset, k), v.clone()))
        .collect();
    sp_trie::verify_trie_proof::<Layout, _, _, _>(
        &H256::from(meta.child_root),
        &proof.child_proof,
        &items,
    )
    .map_err(|e| ProofError::ChildProof(format!("{e:?}")))
}

/// The append-only half of [`verify_record_set`]: the block's entry in the child trie, then its whole tree
/// against the entries.
fn verify_appended_set(
    child_root: &H256,
    proof: &RecordSetProof,
    appended: &AppendedSetProof,
) -> Result<(), ProofError> {
    sp_trie::verify_trie_proof::<Layout, _, _, _>(
        child_root,
        &proof.child_proof,
        &[(
            append_key(&proof.dataset, appended.height),
            appended.block.clone(),
        )],
    )
    .map_err(|e| ProofError::ChildProof(format!("{e:?}")))?;
    let Some(block_bytes) = &appended.block else {
        if !proof.entries.is_empty() {
            return Err(ProofError::ChildProof(format!(
                "the dataset got no record at height {}, yet the proof lists some",
                appended.height
            )));
        }
        return Ok(());
    };
    let block = AppendBlock::decode(&mut &block_bytes[..])
        .map_err(|e| ProofError::BadValue(e.to_string()))?;
    let page = verify_range(&H256::from(block.root), &appended.tree, &tree_range(&block)).map_err(
        |e| ProofError::ChildProof(format!("in the tree of block {}: {e}", appended.height)),
    )?;
    let same = page.records.len() == proof.entries.len()
        && page
            .records
            .iter()
            .zip(&proof.entries)
            .all(|((k, v), (key, value))| k == key && value.as_ref() == Some(v));
    if page.more || !same {
        return Err(ProofError::ChildProof(format!(
            "the entries are not the {} records block {} appended (one changed, left out, added or out of order)",
            block.count, appended.height
        )));
    }
    Ok(())
}
