//! Record proofs: a dataset record (or its absence) proven against a state root with two compact trie proofs,
//! one in the main trie for the manuscript's metadata (which holds its child root), one in the child trie. A
//! record of an append-only dataset is proven with the block that appended it: the child-trie proof is of that
//! block's [`AppendBlock`] entry, and a third compact proof shows the record in the block's tree.

use parity_scale_codec::{Decode, Encode};
use sp_core::H256;

use super::layout::{AppendBlock, ManuscriptMeta, append_key, manuscript_key, record_key};
use super::store::NodeStore;
use super::trie::{Layout, StateRoot, StoreReader, read_value};

/// A self-contained proof that `value` is (or, when `None`, is not) the record `key` of `dataset` of
/// `manuscript` in the state with a given root.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct RecordProof {
    /// The manuscript's name.
    pub manuscript: String,
    /// The dataset.
    pub dataset: String,
    /// The record's key.
    pub key: Vec<u8>,
    /// The record's value, or `None` when the proof is of its absence.
    pub value: Option<Vec<u8>>,
    /// The SCALE-encoded [`ManuscriptMeta`], or `None` when the manuscript does not exist.
    pub manuscript_meta: Option<Vec<u8>>,
    /// Compact proof of the manuscript's entry in the main trie.
    pub main_proof: Vec<Vec<u8>>,
    /// Compact proof of the record in the manuscript's child trie (for an append-only dataset: of the
    /// appending block's entry).
    pub child_proof: Vec<Vec<u8>>,
    /// For a record of an append-only dataset: the block that appended it and the record in that block's tree;
    /// `None` for a keyed dataset.
    pub appended: Option<AppendedProof>,
}

/// The part of a [`RecordProof`] particular to an append-only dataset.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct AppendedProof {
    /// Height of the block that appended the record (or, for a proof of absence, the block looked in).
    pub height: u64,
    /// The SCALE-encoded [`AppendBlock`] at [`append_key`]`(dataset, height)` in the child trie, or `None` when the
    /// dataset got no record in that block.
    pub block: Option<Vec<u8>>,
    /// Compact proof of the record (or its absence) in the block's tree; empty when `block` is `None`.
    pub tree_proof: Vec<Vec<u8>>,
}

/// Why a record proof cannot be built or does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// The state at the root cannot be read to build it.
    #[error("cannot build a proof: {0}")]
    Generate(String),
    /// The main-trie proof does not match the root.
    #[error("the manuscript entry does not match the state root: {0}")]
    MainProof(String),
    /// The child-trie proof does not match the manuscript's child root.
    #[error("the record does not match the manuscript's child root: {0}")]
    ChildProof(String),
    /// The manuscript metadata does not decode.
    #[error("manuscript metadata in the proof is not valid SCALE: {0}")]
    BadMeta(String),
    /// A proven value does not decode as what its key holds.
    #[error("a value in the proof is not valid SCALE: {0}")]
    BadValue(String),
    /// An absent manuscript cannot have a record.
    #[error("the proof says the manuscript is absent but also carries a record")]
    RecordWithoutManuscript,
    /// The metadata in the proof is another manuscript's.
    #[error("the proof carries the metadata of manuscript {found:?}, not of {claimed:?}")]
    OtherManuscript {
        /// The manuscript the proof names.
        claimed: String,
        /// The manuscript its metadata names.
        found: String,
    },
    /// The proof is of the other kind of dataset than the manuscript declares: a keyed record proof for an
    /// append-only dataset, or the reverse.
    #[error(
        "dataset {dataset:?} is {declared} but the proof is of a{} record",
        if *declared == "append-only" { " keyed" } else { "n appended" }
    )]
    Kind {
        /// The dataset.
        dataset: String,
        /// What the manuscript declares it: "append-only" or "keyed".
        declared: &'static str,
    },
    /// An append-only record is looked up by the block that appended it.
    #[error(
        "dataset {dataset:?} is append-only: its records are proven with the block that appended them; give that \
         block's height (a page or the block's changes list it)"
    )]
    NeedsHeight {
        /// The dataset.
        dataset: String,
    },
    /// The manuscript does not declare the dataset, so no record of it can exist (record keys join the dataset
    /// and the key with `/`: only a declared dataset, which holds no `/`, makes the split unambiguous).
    #[error(
        "manuscript {manuscript:?} declares no dataset {dataset:?} (its datasets: {declared:?})"
    )]
    UndeclaredDataset {
        /// The manuscript.
        manuscript: String,
        /// The dataset the proof names.
        dataset: String,
        /// The datasets the manuscript declares.
        declared: Vec<String>,
    },
}

/// Builds the proof of a record at `root`.
pub fn prove_record(
    store: &dyn NodeStore,
    root: StateRoot,
    manuscript: &str,
    dataset: &str,
    key: &[u8],
) -> Result<RecordProof, ProofError> {
    let db = StoreReader::new(store);
    let main_key = manuscript_key(manuscript);
    let main_proof = sp_trie::generate_trie_proof::<Layout, _, _, _>(&db, root, [&main_key])
        .map_err(|e| ProofError::Generate(e.to_string()))?;
    let meta_bytes =
        read_value(store, root, &main_key).map_err(|e| ProofError::Generate(e.to_string()))?;
    let Some(meta_bytes) = meta_bytes else {
        return Ok(RecordProof {
            manuscript: manuscript.into(),
            dataset: dataset.into(),
            key: key.to_vec(),
            value: None,
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
    let child_key = record_key(dataset, key);
    let child_proof =
        sp_trie::generate_trie_proof::<Layout, _, _, _>(&db, child_root, [&child_key])
            .map_err(|e| ProofError::Generate(e.to_string()))?;
    let value = read_value(store, child_root, &child_key)
        .map_err(|e| ProofError::Generate(e.to_string()))?;
    Ok(RecordProof {
        manuscript: manuscript.into(),
        dataset: dataset.into(),
        key: key.to_vec(),
        value,
        manuscript_meta: Some(meta_bytes),
        main_proof,
        child_proof,
        appended: None,
    })
}

/// What both appended-record proofs start from: the manuscript's metadata in the main trie and the entry of the
/// block at `height` in its child trie (`None` parts: proven absent).
pub(super) struct AppendEntryProof {
    pub(super) main_proof: Vec<Vec<u8>>,
    pub(super) manuscript_meta: Option<Vec<u8>>,
    pub(super) child_proof: Vec<Vec<u8>>,
    /// The entry's SCALE bytes and what they decode to.
    pub(super) block: Option<(Vec<u8>, AppendBlock)>,
}

/// Proves, at `root`, the append entry of the block at `height` for the append-only `dataset`; refuses a keyed
/// dataset with [`ProofError::Kind`].
pub(super) fn prove_append_entry(
    store: &dyn NodeStore,
    root: StateRoot,
    manuscript: &str,
    dataset: &str,
    height: u64,
) -> Result<AppendEntryProof, ProofError> {
    let generate = |e: &dyn std::fmt::Display| ProofError::Generate(e.to_string());
    let db = StoreReader::new(store);
    let main_key = manuscript_key(manuscript);
    let mut entry = AppendEntryProof {
        main_proof: sp_trie::generate_trie_proof::<Layout, _, _, _>(&db, root, [&main_key])
            .map_err(|e| generate(&e))?,
        manuscript_meta: None,
        child_proof: Vec::new(),
        block: None,
    };
    let Some(meta_bytes) = read_value(store, root, &main_key).map_err(|e| generate(&e))? else {
        return Ok(entry);
    };
    let meta = ManuscriptMeta::decode(&mut &meta_bytes[..])
        .map_err(|e| ProofError::BadMeta(e.to_string()))?;
    entry.manuscript_meta = Some(meta_bytes);
    if !meta.is_append_only(dataset) {
        return Err(ProofError::Kind {
            dataset: dataset.into(),
            declared: "keyed",
        });
    }
    let child_root = H256::from(meta.child_root);
    let entry_key = append_key(dataset, height);
    entry.child_proof =
        sp_trie::generate_trie_proof::<Layout, _, _, _>(&db, child_root, [&entry_key])
            .map_err(|e| generate(&e))?;
    if let Some(block_bytes) =
        read_value(store, child_root, &entry_key).map_err(|e| generate(&e))?
    {
        let block = AppendBlock::decode(&mut &block_bytes[..])
            .map_err(|e| ProofError::BadValue(e.to_string()))?;
        entry.block = Some((block_bytes, block));
    }
    Ok(entry)
}

/// Builds the proof, at `root`, of the record `key` that the block at `height` appended to the append-only
/// `dataset` (or of its absence from that block).
pub fn prove_appended_record(
    store: &dyn NodeStore,
    root: StateRoot,
    manuscript: &str,
    dataset: &str,
    height: u64,
    key: &[u8],
) -> Result<RecordProof, ProofError> {
    let generate = |e: &dyn std::fmt::Display| ProofError::Generate(e.to_string());
    let entry = prove_append_entry(store, root, manuscript, dataset, height)?;
    let mut proof = RecordProof {
        manuscript: manuscript.into(),
        dataset: dataset.into(),
        key: key.to_vec(),
        value: None,
        manuscript_meta: entry.manuscript_meta,
        main_proof: entry.main_proof,
        child_proof: entry.child_proof,
        appended: Some(AppendedProof {
            height,
            block: None,
            tree_proof: Vec::new(),
        }),
    };
    let Some((block_bytes, block)) = entry.block else {
        return Ok(proof);
    };
    let tree_root = H256::from(block.root);
    let db = StoreReader::new(store);
    let tree_proof = sp_trie::generate_trie_proof::<Layout, _, _, _>(&db, tree_root, [&key])
        .map_err(|e| generate(&e))?;
    proof.value = read_value(store, tree_root, key).map_err(|e| generate(&e))?;
    proof.appended = Some(AppendedProof {
        height,
        block: Some(block_bytes),
        tree_proof,
    });
    Ok(proof)
}

/// The manuscript metadata a proof carries, checked: it decodes, it is `manuscript`'s, and it declares `dataset`
/// (which holds no `/`: only then does the child key `d/<dataset>/<key>` name one dataset and key).
pub(super) fn checked_meta(
    manuscript: &str,
    dataset: &str,
    meta_bytes: &[u8],
) -> Result<ManuscriptMeta, ProofError> {
    let meta = ManuscriptMeta::decode(&mut &meta_bytes[..])
        .map_err(|e| ProofError::BadMeta(e.to_string()))?;
    if meta.name != manuscript {
        return Err(ProofError::OtherManuscript {
            claimed: manuscript.into(),
            found: meta.name,
        });
    }
    if dataset.contains('/') || !meta.datasets.iter().any(|d| d == dataset) {
        return Err(ProofError::UndeclaredDataset {
            manuscript: meta.name,
            dataset: dataset.into(),
            declared: meta.datasets,
        });
    }
    Ok(meta)
}

/// A proof's append-only part (`appended`), when the metadata declares `dataset` append-only; a proof of the
/// other kind is [`ProofError::Kind`].
pub(super) fn kind_part<'a, T>(
    meta: &ManuscriptMeta,
    dataset: &str,
    appended: Option<&'a T>,
) -> Result<Option<&'a T>, ProofError> {
    match (meta.is_append_only(dataset), appended) {
        (false, None) => Ok(None),
        (true, Some(part)) => Ok(Some(part)),
        (append_only, _) => Err(ProofError::Kind {
            dataset: dataset.into(),
            declared: if append_only { "append-only" } else { "keyed" },
        }),
    }
}

/// Checks a proof against a state root. On success returns the proven value (`None`: proven absent). A proof for
/// a dataset the manuscript does not declare does not verify: its key could be another dataset's record.
pub fn verify_record(root: &StateRoot, proof: &RecordProof) -> Result<Option<Vec<u8>>, ProofError> {
    let main_key = manuscript_key(&proof.manuscript);
    sp_trie::verify_trie_proof::<Layout, _, _, _>(
        root,
        &proof.main_proof,
        &[(main_key, proof.manuscript_meta.clone())],
    )
    .map_err(|e| ProofError::MainProof(format!("{e:?}")))?;
    let Some(meta_bytes) = &proof.manuscript_meta else {
        if proof.value.is_some() {
            return Err(ProofError::RecordWithoutManuscript);
        }
        return Ok(None);
    };
    let meta = checked_meta(&proof.manuscript, &proof.dataset, meta_bytes)?;
    let child_root = H256::from(meta.child_root);
    let appended = kind_part(&meta, &proof.dataset, proof.appended.as_ref())?;
    let Some(appended) = appended else {
        let child_key = record_key(&proof.dataset, &proof.key);
        sp_trie::verify_trie_proof::<Layout, _, _, _>(
            &child_root,
            &proof.child_proof,
            &[(child_key, proof.value.clone())],
        )
        .map_err(|e| ProofError::ChildProof(format!("{e:?}")))?;
        return Ok(proof.value.clone());
    };
    sp_trie::verify_trie_proof::<Layout, _, _, _>(
        &child_root,
        &proof.child_proof,
        &[(
            append_key(&proof.dataset, appended.height),
            appended.block.clone(),
        )],
    )
    .map_err(|e| ProofError::ChildProof(format!("{e:?}")))?;
    let Some(block_bytes) = &appended.block else {
        if proof.value.is_some() {
            return Err(ProofError::ChildProof(format!(
                "the dataset got no record at height {}, yet the proof carries one",
                appended.height
            )));
        }
        return Ok(None);
    };
    let block = AppendBlock::decode(&mut &block_bytes[..])
        .map_err(|e| ProofError::BadValue(e.to_string()))?;
    sp_trie::verify_trie_proof::<Layout, _, _, _>(
        &H256::from(block.root),
        &appended.tree_proof,
        &[(proof.key.clone(), proof.value.clone())],
    )
    .map_err(|e| {
        ProofError::ChildProof(format!("in the tree of block {}: {e:?}", appended.height))
    })?;
    Ok(proof.value.clone())
}
