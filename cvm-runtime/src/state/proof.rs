//! Record proofs: a dataset record (or its absence) proven against a state root with two compact trie proofs,
//! one in the main trie for the manuscript's metadata (which holds its child root), one in the child trie.

use parity_scale_codec::{Decode, Encode};
use sp_core::H256;

use super::layout::{ManuscriptMeta, manuscript_key, record_key};
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
    /// Compact proof of the record in the manuscript's child trie.
    pub child_proof: Vec<Vec<u8>>,
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
        });
    };
    let meta = ManuscriptMeta::decode(&mut &meta_bytes[..])
        .map_err(|e| ProofError::BadMeta(e.to_string()))?;
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
    })
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
    let meta = ManuscriptMeta::decode(&mut &meta_bytes[..])
        .map_err(|e| ProofError::BadMeta(e.to_string()))?;
    if meta.name != proof.manuscript {
        return Err(ProofError::OtherManuscript {
            claimed: proof.manuscript.clone(),
            found: meta.name,
        });
    }
    if proof.dataset.contains('/') || !meta.datasets.contains(&proof.dataset) {
        return Err(ProofError::UndeclaredDataset {
            manuscript: meta.name,
            dataset: proof.dataset.clone(),
            declared: meta.datasets,
        });
    }
    let child_key = record_key(&proof.dataset, &proof.key);
    sp_trie::verify_trie_proof::<Layout, _, _, _>(
        &H256::from(meta.child_root),
        &proof.child_proof,
        &[(child_key, proof.value.clone())],
    )
    .map_err(|e| ProofError::ChildProof(format!("{e:?}")))?;
    Ok(proof.value.clone())
}
