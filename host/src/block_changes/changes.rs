//! [`BlockChanges`] and its JSON form: SCALE hex of the header, certificate and each dataset's proof (the trusted
//! part), and for people each change's key and value as hex and as JSON by the dataset's declared types.

use std::sync::Arc;

use cvm_consensus::CommitCertificate;
use cvm_runtime::state::RecordSetProof;
use parity_scale_codec::{DecodeAll, Encode};
use serde::{Deserialize, Serialize};

use crate::chain::BlockHeader;
use crate::datasets::ManuscriptTypes;
use crate::hex_text::{from_hex, to_hex};

/// The dataset records one finalized block changed, each dataset's with its proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "BlockChangesJson", try_from = "BlockChangesJson")]
pub struct BlockChanges {
    /// The chain that committed the block.
    pub chain_id: String,
    /// The block's height.
    pub height: u64,
    /// One per dataset with changes (those asked for), by manuscript then dataset.
    pub datasets: Vec<RecordSetProof>,
    /// For people: per entry of `datasets`, per changed record, its key and value as JSON by the dataset's
    /// declared types ([`BlockChanges::new`] fills it; reading the JSON form keeps the node's). Never trusted:
    /// verification reads only the proofs, the header and the certificate.
    pub shown: Vec<Vec<Shown>>,
    /// The block's header, carrying the state root the proofs are against.
    pub header: BlockHeader,
    /// Precommits of the validators that finalized the header.
    pub certificate: CommitCertificate,
}

/// One changed record, as proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change<'a> {
    /// The manuscript.
    pub manuscript: &'a str,
    /// The dataset.
    pub dataset: &'a str,
    /// The record's key.
    pub key: &'a [u8],
    /// Its value after the block; `None`: the block removed it.
    pub value: Option<&'a [u8]>,
}

impl BlockChanges {
    /// The changes `datasets` proves at `height`, shown to people by the types `types` gives for each set's
    /// manuscript (called once per set).
    pub fn new(
        chain_id: String,
        height: u64,
        datasets: Vec<RecordSetProof>,
        header: BlockHeader,
        certificate: CommitCertificate,
        mut types: impl FnMut(&RecordSetProof) -> Option<Arc<ManuscriptTypes>>,
    ) -> Self {
        let shown = datasets
            .iter()
            .map(|set| {
                let types = types(set);
                set.entries
                    .iter()
                    .map(|(key, value)| show(types.as_deref(), &set.dataset, key, value.as_deref()))
                    .collect()
            })
            .collect();
        Self {
            chain_id,
            height,
            datasets,
            shown,
            header,
            certificate,
        }
    }

    /// Every change, by manuscript, dataset, then key.
    pub fn changes(&self) -> impl Iterator<Item = Change<'_>> {
        self.datasets.iter().flat_map(|set| {
            set.entries.iter().map(move |(key, value)| Change {
                manuscript: &set.manuscript,
                dataset: &set.dataset,
                key,
                value: value.as_deref(),
            })
        })
    }
}

/// A changed record's key and value as people read them; the value is `null` for a removal.
pub type Shown = (serde_json::Value, serde_json::Value);

/// `key` and `value` (`None`: removed) of `dataset` as JSON by its declared type in `types`, hex where it declares
/// none or the bytes are not a value of the type.
pub fn show(
    types: Option<&ManuscriptTypes>,
    dataset: &str,
    key: &[u8],
    value: Option<&[u8]>,
) -> Shown {
    (
        crate::datasets::types::key_json(types, dataset, key),
        value.map_or(serde_json::Value::Null, |v| {
            crate::datasets::types::value_json(types, dataset, v)
        }),
    )
}

/// One change as `cvm query watch` prints it and the JSON lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeJson {
    /// The block's height.
    pub height: u64,
    /// The manuscript.
    pub manuscript: String,
    /// The dataset.
    pub dataset: String,
    /// `written` or `removed`.
    pub op: String,
    /// 0x hex of the key.
    pub key: String,
    /// The key for people (decoded when the dataset declares its type, hex otherwise).
    pub key_json: serde_json::Value,
    /// 0x hex of the value after the block; `None` when removed.
    pub value: Option<String>,
    /// The value for people; `null` when removed.
    pub value_json: serde_json::Value,
}

impl ChangeJson {
    /// The readable form of one change at `height`, showing it as `shown` does (as hex without it).
    pub fn new(height: u64, change: &Change<'_>, shown: Option<&Shown>) -> Self {
        let (key_json, value_json) = shown
            .cloned()
            .unwrap_or_else(|| show(None, change.dataset, change.key, change.value));
        Self {
            height,
            manuscript: change.manuscript.to_string(),
            dataset: change.dataset.to_string(),
            op: if change.value.is_some() {
                "written"
            } else {
                "removed"
            }
            .into(),
            key: to_hex(change.key),
            key_json,
            value: change.value.map(to_hex),
            value_json,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct BlockChangesJson {
    chain_id: String,
    height: u64,
    #[serde(default)]
    state_root: Option<String>,
    #[serde(default)]
    block_hash: Option<String>,
    datasets: Vec<DatasetJson>,
    header: String,
    certificate: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct DatasetJson {
    manuscript: String,
    dataset: String,
    /// For people: derived from `proof`.
    #[serde(default)]
    changes: Vec<ChangeJson>,
    proof: String,
}

impl From<BlockChanges> for BlockChangesJson {
    fn from(b: BlockChanges) -> Self {
        let datasets = b
            .datasets
            .iter()
            .enumerate()
            .map(|(i, set)| DatasetJson {
                manuscript: set.manuscript.clone(),
                dataset: set.dataset.clone(),
                changes: set
                    .entries
                    .iter()
                    .enumerate()
                    .map(|(j, (key, value))| {
                        ChangeJson::new(
                            b.height,
                            &Change {
                                manuscript: &set.manuscript,
                                dataset: &set.dataset,
                                key,
                                value: value.as_deref(),
                            },
                            b.shown.get(i).and_then(|s| s.get(j)),
                        )
                    })
                    .collect(),
                proof: to_hex(set.encode()),
            })
            .collect();
        Self {
            chain_id: b.chain_id,
            height: b.height,
            state_root: Some(to_hex(b.header.state_root)),
            block_hash: Some(to_hex(b.header.hash())),
            datasets,
            header: to_hex(b.header.encode()),
            certificate: to_hex(b.certificate.encode()),
        }
    }
}

fn scale<T: DecodeAll>(what: &str, text: &str) -> Result<T, String> {
    let bytes = from_hex(text).map_err(|e| format!("{what}: {e}"))?;
    T::decode_all(&mut &bytes[..]).map_err(|e| format!("{what}: not valid SCALE: {e}"))
}

impl TryFrom<BlockChangesJson> for BlockChanges {
    type Error = String;

    fn try_from(j: BlockChangesJson) -> Result<Self, String> {
        let (datasets, shown): (Vec<_>, Vec<_>) = j
            .datasets
            .into_iter()
            .map(|d| {
                let proof: RecordSetProof = scale("dataset proof", &d.proof)?;
                if proof.manuscript != d.manuscript || proof.dataset != d.dataset {
                    return Err(format!(
                        "the proof is for {}/{}, the answer names {}/{}",
                        proof.manuscript, proof.dataset, d.manuscript, d.dataset
                    ));
                }
                // The node's readable lists are kept as sent (they are never trusted); a list that does not match
                // the proven entries one for one is shown again from them, as hex.
                let shown: Vec<Shown> = if d.changes.len() == proof.entries.len() {
                    d.changes
                        .into_iter()
                        .map(|c| (c.key_json, c.value_json))
                        .collect()
                } else {
                    proof
                        .entries
                        .iter()
                        .map(|(k, v)| show(None, &proof.dataset, k, v.as_deref()))
                        .collect()
                };
                Ok((proof, shown))
            })
            .collect::<Result<Vec<_>, String>>()?
            .into_iter()
            .unzip();
        Ok(Self {
            chain_id: j.chain_id,
            height: j.height,
            datasets,
            shown,
            header: scale::<BlockHeader>("header", &j.header)?,
            certificate: scale::<CommitCertificate>("certificate", &j.certificate)?,
        })
    }
}
