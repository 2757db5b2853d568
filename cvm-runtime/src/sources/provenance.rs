//! Provenance of a manuscript's records: which registered sources the manuscript reads and how far each had been
//! ingested at a state root, proven with one compact sp-trie proof of its `manuscript/<name>` entry (whose
//! metadata holds the binding), and each bound source's `sourcedef/<name>` and `sourcehead/<name>` entries
//! (absent ones proven absent). The sources proven are the ones the proven metadata names, never the ones the
//! prover chose, so a node can neither add, drop nor rename a source.

use parity_scale_codec::{Decode, Encode};

use super::state::{source_def_key, source_head_key};
use super::types::{SourceDef, SourceHead};
use crate::state::{
    Layout, ManuscriptMeta, NodeStore, StateRoot, StoreReader, manuscript_key, read_value,
};

/// A manuscript's binding and its sources' definitions and heads at one state root, with their proof.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ProvenanceProof {
    /// The manuscript's name.
    pub manuscript: String,
    /// Its SCALE-encoded [`ManuscriptMeta`] (`None`: not deployed at this root).
    pub manuscript_meta: Option<Vec<u8>>,
    /// One entry per distinct source the metadata binds, in binding order.
    pub sources: Vec<SourceEntries>,
    /// Compact proof of all those entries in the main trie.
    pub proof: Vec<Vec<u8>>,
}

/// One bound source's proven state entries.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SourceEntries {
    /// The registered source's name.
    pub source: String,
    /// Its SCALE-encoded [`SourceDef`] (`None`: not registered).
    pub def: Option<Vec<u8>>,
    /// Its SCALE-encoded [`SourceHead`] (`None`: nothing ingested yet).
    pub head: Option<Vec<u8>>,
}

/// What a verified [`ProvenanceProof`] establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The manuscript.
    pub manuscript: String,
    /// Whether the manuscript is deployed at the root (an undeployed one reads nothing).
    pub deployed: bool,
    /// Each of its manifest's source slots and what it is bound to, in manifest order.
    pub bindings: Vec<BoundSource>,
}

/// One manifest slot, the registered source bound to it and that source's head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundSource {
    /// The manifest's name for the slot.
    pub slot: String,
    /// The registered source bound to it.
    pub source: String,
    /// The source's definition (`None`: not registered, which no deploy allows).
    pub def: Option<SourceDef>,
    /// How far it had been ingested (`None`: nothing yet).
    pub head: Option<SourceHead>,
}

/// Why a provenance proof cannot be built or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvenanceError {
    /// The state at the root cannot be read to build it.
    #[error("cannot build a provenance proof: {0}")]
    Generate(String),
    /// The entries do not match the root.
    #[error(
        "the manuscript's source binding, its sources' definitions and heads do not match the state root (one \
         was changed, or the proof is of another state): {0}"
    )]
    Proof(String),
    /// A proven value does not decode as what its key holds.
    #[error("a value in the provenance proof is not valid SCALE: {0}")]
    BadValue(String),
    /// The metadata in the proof is another manuscript's.
    #[error(
        "the provenance proof carries the metadata of manuscript {found:?}, not of {claimed:?}"
    )]
    OtherManuscript {
        /// The manuscript the proof names.
        claimed: String,
        /// The manuscript its metadata names.
        found: String,
    },
    /// The proof's sources are not the ones the manuscript is bound to.
    #[error(
        "manuscript {manuscript:?} reads the sources {bound:?}, but the proof carries {carried:?}"
    )]
    OtherSources {
        /// The manuscript.
        manuscript: String,
        /// The distinct sources its metadata binds, in order.
        bound: Vec<String>,
        /// The sources the proof carries.
        carried: Vec<String>,
    },
}

/// The distinct sources `meta` binds, in binding order (a deploy binds each once; duplicates would be one key).
fn bound_sources(meta: &ManuscriptMeta) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(meta.sources.len());
    for source in &meta.sources {
        if !out.contains(source) {
            out.push(source.clone());
        }
    }
    out
}

fn decode_meta(bytes: &[u8]) -> Result<ManuscriptMeta, ProvenanceError> {
    ManuscriptMeta::decode(&mut &bytes[..])
        .map_err(|e| ProvenanceError::BadValue(format!("manuscript metadata: {e}")))
}

/// Proves which sources `manuscript` reads at `root` and their definitions and heads.
pub fn prove_provenance(
    store: &dyn NodeStore,
    root: StateRoot,
    manuscript: &str,
) -> Result<ProvenanceProof, ProvenanceError> {
    let read = |key: &[u8]| {
        read_value(store, root, key).map_err(|e| ProvenanceError::Generate(e.to_string()))
    };
    let meta_key = manuscript_key(manuscript);
    let manuscript_meta = read(&meta_key)?;
    let names = match &manuscript_meta {
        Some(bytes) => bound_sources(&decode_meta(bytes)?),
        None => Vec::new(),
    };
    let mut keys = vec![meta_key];
    let mut sources = Vec::with_capacity(names.len());
    for source in names {
        let (def_key, head_key) = (source_def_key(&source), source_head_key(&source));
        sources.push(SourceEntries {
            def: read(&def_key)?,
            head: read(&head_key)?,
            source,
        });
        keys.extend([def_key, head_key]);
    }
    let db = StoreReader::new(store);
    let proof = sp_trie::generate_trie_proof::<Layout, _, _, _>(&db, root, &keys)
        .map_err(|e| ProvenanceError::Generate(e.to_string()))?;
    Ok(ProvenanceProof {
        manuscript: manuscript.into(),
        manuscript_meta,
        sources,
        proof,
    })
}

/// Checks `proof` against `root`: the manuscript's metadata, and for exactly the sources it binds, their
/// definitions and heads. Pure: needs nothing but the root.
pub fn verify_provenance(
    root: &StateRoot,
    proof: &ProvenanceProof,
) -> Result<Provenance, ProvenanceError> {
    let meta = proof
        .manuscript_meta
        .as_deref()
        .map(decode_meta)
        .transpose()?;
    if let Some(meta) = &meta
        && meta.name != proof.manuscript
    {
        return Err(ProvenanceError::OtherManuscript {
            claimed: proof.manuscript.clone(),
            found: meta.name.clone(),
        });
    }
    let bound = meta.as_ref().map(bound_sources).unwrap_or_default();
    let carried: Vec<String> = proof.sources.iter().map(|s| s.source.clone()).collect();
    if carried != bound {
        return Err(ProvenanceError::OtherSources {
            manuscript: proof.manuscript.clone(),
            bound,
            carried,
        });
    }
    let mut items = vec![(
        manuscript_key(&proof.manuscript),
        proof.manuscript_meta.clone(),
    )];
    for s in &proof.sources {
        items.push((source_def_key(&s.source), s.def.clone()));
        items.push((source_head_key(&s.source), s.head.clone()));
    }
    sp_trie::verify_trie_proof::<Layout, _, _, _>(root, &proof.proof, &items)
        .map_err(|e| ProvenanceError::Proof(format!("{e:?}")))?;

    let Some(meta) = meta else {
        return Ok(Provenance {
            manuscript: proof.manuscript.clone(),
            deployed: false,
            bindings: Vec::new(),
        });
    };
    let mut proven = Vec::with_capacity(proof.sources.len());
    for s in &proof.sources {
        let def = s
            .def
            .as_deref()
            .map(|mut bytes| SourceDef::decode(&mut bytes))
            .transpose()
            .map_err(|e| ProvenanceError::BadValue(format!("definition of {}: {e}", s.source)))?;
        let head = s
            .head
            .as_deref()
            .map(|mut bytes| SourceHead::decode(&mut bytes))
            .transpose()
            .map_err(|e| ProvenanceError::BadValue(format!("head of {}: {e}", s.source)))?;
        proven.push((s.source.as_str(), def, head));
    }
    // `carried == bound` above, so every bound source is found.
    let bindings = meta
        .sources
        .iter()
        .enumerate()
        .filter_map(|(i, source)| {
            let (_, def, head) = proven.iter().find(|(name, ..)| name == source)?;
            Some(BoundSource {
                slot: meta.slots.get(i).cloned().unwrap_or_default(),
                source: source.clone(),
                def: def.clone(),
                head: *head,
            })
        })
        .collect();
    Ok(Provenance {
        manuscript: proof.manuscript.clone(),
        deployed: true,
        bindings,
    })
}
