//! Provenance of source heads: how far each source had been ingested at a state root, proven with one compact
//! sp-trie proof of their `sourcehead/<name>` entries (absent entries proven absent).

use parity_scale_codec::{Decode, Encode};

use super::state::source_head_key;
use super::types::SourceHead;
use crate::state::{Layout, NodeStore, ProofError, StateRoot, StoreReader, read_value};

/// The heads of some sources at one state root, with their proof.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SourceHeadsProof {
    /// Each source's name and its SCALE-encoded [`SourceHead`] (`None`: nothing ingested yet), in the order asked.
    pub heads: Vec<(String, Option<Vec<u8>>)>,
    /// Compact proof of those entries in the main trie.
    pub proof: Vec<Vec<u8>>,
}

/// Proves the heads of `names` at `root`.
pub fn prove_source_heads(
    store: &dyn NodeStore,
    root: StateRoot,
    names: &[String],
) -> Result<SourceHeadsProof, ProofError> {
    let keys: Vec<Vec<u8>> = names.iter().map(|n| source_head_key(n)).collect();
    let db = StoreReader::new(store);
    let proof = sp_trie::generate_trie_proof::<Layout, _, _, _>(&db, root, &keys)
        .map_err(|e| ProofError::Generate(e.to_string()))?;
    let heads = names
        .iter()
        .zip(&keys)
        .map(|(name, key)| {
            read_value(store, root, key)
                .map(|value| (name.clone(), value))
                .map_err(|e| ProofError::Generate(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    Ok(SourceHeadsProof { heads, proof })
}

/// Checks `proof` against `root`; on success, each source's head (`None`: nothing ingested yet).
pub fn verify_source_heads(
    root: &StateRoot,
    proof: &SourceHeadsProof,
) -> Result<Vec<(String, Option<SourceHead>)>, ProofError> {
    let items: Vec<(Vec<u8>, Option<Vec<u8>>)> = proof
        .heads
        .iter()
        .map(|(name, value)| (source_head_key(name), value.clone()))
        .collect();
    sp_trie::verify_trie_proof::<Layout, _, _, _>(root, &proof.proof, &items)
        .map_err(|e| ProofError::MainProof(format!("{e:?}")))?;
    proof
        .heads
        .iter()
        .map(|(name, value)| {
            let head = value
                .as_ref()
                .map(|bytes| SourceHead::decode(&mut &bytes[..]))
                .transpose()
                .map_err(|e| ProofError::BadValue(format!("head of source {name}: {e}")))?;
            Ok((name.clone(), head))
        })
        .collect()
}
