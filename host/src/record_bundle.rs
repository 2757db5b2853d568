//! The record bundle: one record with its trie proof, the block header whose state root the proof is against and
//! the commit certificate that finalized that header; what `cvm query record` saves and `cvm verify` checks. Its
//! JSON form carries the proof, header and certificate as SCALE hex.

use cvm_consensus::CommitCertificate;
use cvm_runtime::state::RecordProof;
use parity_scale_codec::{Decode, DecodeAll, Encode};
use serde::{Deserialize, Serialize};

use crate::chain::BlockHeader;
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
    /// Trie proof from the header's state root to the record (or its absence).
    pub proof: RecordProof,
    /// The header at `height`, carrying the state root.
    pub header: BlockHeader,
    /// Precommits of the validators that finalized the header.
    pub certificate: CommitCertificate,
}

/// The wire form: readable fields plus SCALE hex of the proof, header and certificate. Only the SCALE parts and
/// the claimed fields are trusted input to verification; `state_root`, `block_hash` and the `*_utf8` fields are
/// for people.
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
    #[serde(default)]
    state_root: Option<String>,
    #[serde(default)]
    block_hash: Option<String>,
    proof: String,
    header: String,
    certificate: String,
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
            state_root: Some(to_hex(b.header.state_root)),
            block_hash: Some(to_hex(b.header.hash())),
            proof: to_hex(b.proof.encode()),
            header: to_hex(b.header.encode()),
            certificate: to_hex(b.certificate.encode()),
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
            proof: decode_field("proof", &j.proof)?,
            header: decode_field("header", &j.header)?,
            certificate: decode_field("certificate", &j.certificate)?,
        })
    }
}
