//! The record bundle: one record with its trie proof, the proof of which sources its manuscript reads and how far
//! each had been ingested, the block header whose state root both proofs are against and the commit certificate
//! that finalized that header; what `cvm query record` saves and `cvm verify` checks. Its JSON form carries the
//! proofs, header and certificate as SCALE hex.

use cvm_consensus::CommitCertificate;
use cvm_runtime::sources::{ProvenanceProof, SourceDef, SourceHead, SourceKind};
use cvm_runtime::state::{ManuscriptMeta, RecordProof};
use parity_scale_codec::{Decode, DecodeAll, Encode};
use serde::{Deserialize, Serialize};

use crate::chain::source_json::HeadJson;
use crate::chain::{BlockHeader, LightBlock};
use crate::hex_text::{from_hex, to_hex};

/// Everything a reader needs to check one record against the chain's genesis, and nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "RecordBundleJson", try_from = "RecordBundleJson")]
pub struct RecordBundle {
    /// The chain that committed the record.
    pub chain_id: String,
    /// Height whose state the proof is against.
    pub height: u64,
    /// The manuscript that wrote the dataset.
    pub manuscript: String,
    /// The dataset within it.
    pub dataset: String,
    /// The record's key.
    pub key: Vec<u8>,
    /// `None`: the record is proven absent.
    pub value: Option<Vec<u8>>,
    /// The key as JSON by the manuscript's declared dataset types (a hex string when untyped). For people:
    /// verification never reads it.
    pub key_json: Option<serde_json::Value>,
    /// The value as JSON, as `key_json`; `None` when the record is absent.
    pub value_json: Option<serde_json::Value>,
    /// Trie proof from the header's state root to the record (or its absence).
    pub proof: RecordProof,
    /// Trie proof from the same root to the manuscript's source binding and those sources' heads; `None` in a
    /// bundle saved before bundles carried it.
    pub provenance: Option<ProvenanceProof>,
    /// The header at `height`, carrying the state root.
    pub header: BlockHeader,
    /// Precommits of the validators that finalized the header.
    pub certificate: CommitCertificate,
    /// The headers (with certificates and sets) a light client needs between its trusted root and `height` when
    /// the validator set changed since: empty unless asked for when the bundle was saved
    /// (`cvm query record --header-chain`).
    pub header_chain: Vec<LightBlock>,
}

/// The wire form: readable fields plus SCALE hex of the proofs, header and certificate. Only the SCALE parts and
/// the claimed fields are trusted input to verification; `state_root`, `block_hash`, the `*_utf8` and `*_json` fields and
/// `provenance.sources` are for people.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RecordBundleJson {
    chain_id: String,
    height: u64,
    manuscript: String,
    dataset: String,
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_utf8: Option<String>,
    value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value_utf8: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_json: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value_json: Option<serde_json::Value>,
    #[serde(default)]
    state_root: Option<String>,
    #[serde(default)]
    block_hash: Option<String>,
    proof: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provenance: Option<ProvenanceJson>,
    header: String,
    certificate: String,
    /// SCALE hex of each light block of the header chain, in height order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    header_chain: Vec<String>,
}

/// The provenance part: SCALE hex of the [`ProvenanceProof`] (trusted input) and, for people, what it claims per
/// source slot.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ProvenanceJson {
    #[serde(default)]
    sources: Vec<ProvenanceSourceJson>,
    proof: String,
}

/// One slot of the manuscript as the provenance proof claims it (unverified: for people).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ProvenanceSourceJson {
    #[serde(default)]
    slot: String,
    source: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    head: Option<HeadJson>,
}

impl ProvenanceJson {
    fn new(proof: &ProvenanceProof) -> Self {
        let slots = proof
            .manuscript_meta
            .as_deref()
            .and_then(|mut bytes| ManuscriptMeta::decode(&mut bytes).ok())
            .map(|meta| meta.sources.into_iter().zip(meta.slots).collect::<Vec<_>>())
            .unwrap_or_default();
        let sources = proof
            .sources
            .iter()
            .map(|entries| {
                let def = entries
                    .def
                    .as_deref()
                    .and_then(|mut bytes| SourceDef::decode(&mut bytes).ok());
                let head = entries
                    .head
                    .as_deref()
                    .and_then(|mut bytes| SourceHead::decode(&mut bytes).ok());
                ProvenanceSourceJson {
                    slot: slots
                        .iter()
                        .find(|(source, _)| *source == entries.source)
                        .map(|(_, slot)| slot.clone())
                        .unwrap_or_default(),
                    source: entries.source.clone(),
                    kind: def.map(|d| match d.kind {
                        SourceKind::Ethereum(_) => "ethereum".into(),
                        SourceKind::Signed(_) => "signed".into(),
                    }),
                    head: head.as_ref().map(HeadJson::from),
                }
            })
            .collect();
        Self {
            sources,
            proof: to_hex(proof.encode()),
        }
    }
}

impl From<RecordBundle> for RecordBundleJson {
    fn from(b: RecordBundle) -> Self {
        let utf8 = |bytes: &[u8]| std::str::from_utf8(bytes).ok().map(str::to_string);
        RecordBundleJson {
            chain_id: b.chain_id,
            height: b.height,
            manuscript: b.manuscript,
            dataset: b.dataset,
            key_utf8: utf8(&b.key),
            key: to_hex(&b.key),
            value_utf8: b.value.as_deref().and_then(utf8),
            value: b.value.as_ref().map(to_hex),
            key_json: b.key_json,
            value_json: b.value_json,
            state_root: Some(to_hex(b.header.state_root)),
            block_hash: Some(to_hex(b.header.hash())),
            proof: to_hex(b.proof.encode()),
            provenance: b.provenance.as_ref().map(ProvenanceJson::new),
            header: to_hex(b.header.encode()),
            certificate: to_hex(b.certificate.encode()),
            header_chain: b.header_chain.iter().map(|l| to_hex(l.encode())).collect(),
        }
    }
}

fn decode_field<T: Decode>(name: &str, text: &str) -> Result<T, String> {
    let bytes = from_hex(text).map_err(|e| format!("{name}: {e}"))?;
    T::decode_all(&mut &bytes[..]).map_err(|e| format!("{name}: not valid SCALE ({e})"))
}

impl TryFrom<RecordBundleJson> for RecordBundle {
    type Error = String;

    fn try_from(j: RecordBundleJson) -> Result<Self, String> {
        Ok(RecordBundle {
            chain_id: j.chain_id,
            height: j.height,
            manuscript: j.manuscript,
            dataset: j.dataset,
            key: from_hex(&j.key).map_err(|e| format!("key: {e}"))?,
            value: j
                .value
                .as_deref()
                .map(from_hex)
                .transpose()
                .map_err(|e| format!("value: {e}"))?,
            key_json: j.key_json,
            value_json: j.value_json,
            proof: decode_field("proof", &j.proof)?,
            provenance: j
                .provenance
                .map(|p| decode_field("provenance.proof", &p.proof))
                .transpose()?,
            header: decode_field("header", &j.header)?,
            certificate: decode_field("certificate", &j.certificate)?,
            header_chain: j
                .header_chain
                .iter()
                .enumerate()
                .map(|(i, l)| decode_field(&format!("header_chain[{i}]"), l))
                .collect::<Result<_, _>>()?,
        })
    }
}
