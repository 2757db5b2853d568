//! Source definitions as operators write them (genesis `sources`, `cvm tx register-source --file`) and as the
//! API shows them: JSON tagged by `kind`, keys and hashes as hex.
//!
//! ```json
//! {"kind": "ethereum", "name": "ethereum-local", "chain_id": 31337,
//!  "start": {"number": 1, "hash": "0x…"}, "confirmations": 0, "budget": {"max_blocks": 16, "max_logs": 4096}}
//! {"kind": "signed", "name": "ethereum.logs", "publishers": ["0x…"]}
//! ```
//! `confirmations` is a depth (a number) or `"finalized"`.

use cvm_runtime::sources::{
    Confirmations, EthereumSource, SignedSource, SourceBudget, SourceDef, SourceHead, SourceKind,
};
use serde::{Deserialize, Serialize};

use crate::hex_text::{from_hex32, to_hex};

/// A source definition in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceJson {
    /// An Ethereum chain's logs, pulled by validators.
    Ethereum {
        /// The source's name.
        name: String,
        /// The chain's EIP-155 id.
        chain_id: u64,
        /// The first block to ingest.
        start: HeadJson,
        /// A depth, or `"finalized"`.
        confirmations: ConfirmationsJson,
        /// What one chain block may carry of it.
        budget: BudgetJson,
    },
    /// Records pushed by its publishers' `Ingest` transactions.
    Signed {
        /// The source's name.
        name: String,
        /// Hex of each publisher's ed25519 public key.
        publishers: Vec<String>,
    },
}

/// A block number and hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadJson {
    /// The block number.
    pub number: u64,
    /// `0x` hex of the block hash.
    pub hash: String,
}

/// A confirmation depth, or the word `finalized`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConfirmationsJson {
    /// Blocks on top.
    Depth(u64),
    /// `"finalized"`.
    Word(String),
}

/// A source's per-block budget.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetJson {
    /// Source blocks per chain block.
    pub max_blocks: u32,
    /// Logs per chain block.
    pub max_logs: u32,
}

impl SourceJson {
    /// The source's name as written.
    pub fn name(&self) -> &str {
        match self {
            Self::Ethereum { name, .. } | Self::Signed { name, .. } => name,
        }
    }

    /// The definition, or the field that is wrong and why (the definition's own rules are checked by
    /// [`SourceDef::validate`]).
    pub fn to_def(&self) -> Result<SourceDef, String> {
        let kind = match self {
            Self::Ethereum {
                chain_id,
                start,
                confirmations,
                budget,
                ..
            } => SourceKind::Ethereum(EthereumSource {
                chain_id: *chain_id,
                start: SourceHead {
                    number: start.number,
                    hash: from_hex32(&start.hash).map_err(|e| format!("start.hash: {e}"))?,
                },
                confirmations: match confirmations {
                    ConfirmationsJson::Depth(depth) => Confirmations::Depth(*depth),
                    ConfirmationsJson::Word(word) if word == "finalized" => {
                        Confirmations::Finalized
                    }
                    ConfirmationsJson::Word(word) => {
                        return Err(format!(
                            "confirmations: {word:?} is neither a depth (a number) nor \"finalized\""
                        ));
                    }
                },
                budget: SourceBudget {
                    max_blocks: budget.max_blocks,
                    max_logs: budget.max_logs,
                },
            }),
            Self::Signed { publishers, .. } => SourceKind::Signed(SignedSource {
                publishers: publishers
                    .iter()
                    .enumerate()
                    .map(|(i, key)| from_hex32(key).map_err(|e| format!("publishers[{i}]: {e}")))
                    .collect::<Result<_, _>>()?,
            }),
        };
        Ok(SourceDef {
            name: self.name().to_string(),
            kind,
        })
    }

    /// Parses and checks one definition (the file of `cvm tx register-source`).
    pub fn parse_def(text: &str) -> Result<SourceDef, String> {
        let json: SourceJson = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let def = json.to_def()?;
        def.validate().map_err(|e| e.to_string())?;
        Ok(def)
    }
}

impl From<&SourceDef> for SourceJson {
    fn from(def: &SourceDef) -> Self {
        let name = def.name.clone();
        match &def.kind {
            SourceKind::Ethereum(eth) => Self::Ethereum {
                name,
                chain_id: eth.chain_id,
                start: HeadJson::from(&eth.start),
                confirmations: match eth.confirmations {
                    Confirmations::Depth(depth) => ConfirmationsJson::Depth(depth),
                    Confirmations::Finalized => ConfirmationsJson::Word("finalized".into()),
                },
                budget: BudgetJson {
                    max_blocks: eth.budget.max_blocks,
                    max_logs: eth.budget.max_logs,
                },
            },
            SourceKind::Signed(signed) => Self::Signed {
                name,
                publishers: signed.publishers.iter().map(to_hex).collect(),
            },
        }
    }
}

impl From<&SourceHead> for HeadJson {
    fn from(head: &SourceHead) -> Self {
        Self {
            number: head.number,
            hash: to_hex(head.hash),
        }
    }
}

/// Genesis `governance`: the keys whose transactions may register sources.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceJson {
    /// Hex of each key's ed25519 public key.
    pub keys: Vec<String>,
}

impl GovernanceJson {
    /// The keys, or which one is not 32 bytes of hex.
    pub fn to_keys(&self) -> Result<Vec<[u8; 32]>, String> {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, key)| from_hex32(key).map_err(|e| format!("keys[{i}]: {e}")))
            .collect()
    }

    /// Whether no key is listed.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETHEREUM: &str = r#"{"kind": "ethereum", "name": "ethereum-local", "chain_id": 31337,
        "start": {"number": 1, "hash": "0x0101010101010101010101010101010101010101010101010101010101010101"},
        "confirmations": "finalized", "budget": {"max_blocks": 16, "max_logs": 4096}}"#;

    fn key() -> String {
        to_hex(
            ed25519_dalek::SigningKey::from_bytes(&[5; 32])
                .verifying_key()
                .to_bytes(),
        )
    }

    #[test]
    fn definitions_round_trip() {
        let def = SourceJson::parse_def(ETHEREUM).unwrap();
        let SourceKind::Ethereum(eth) = &def.kind else {
            panic!("{def:?}")
        };
        assert_eq!(eth.confirmations, Confirmations::Finalized);
        assert_eq!(eth.start.hash, [1; 32]);
        assert_eq!(SourceJson::from(&def).to_def().unwrap(), def);
        let signed = format!(
            r#"{{"kind": "signed", "name": "pushed", "publishers": ["{}"]}}"#,
            key()
        );
        let def = SourceJson::parse_def(&signed).unwrap();
        assert_eq!(SourceJson::from(&def).to_def().unwrap(), def);
        let depth = ETHEREUM.replace("\"finalized\"", "12");
        let def = SourceJson::parse_def(&depth).unwrap();
        assert!(matches!(
            def.kind,
            SourceKind::Ethereum(EthereumSource {
                confirmations: Confirmations::Depth(12),
                ..
            })
        ));
    }

    #[test]
    fn mistakes_name_the_field() {
        for (text, needle) in [
            (
                ETHEREUM.replace("\"finalized\"", "\"safe\""),
                "confirmations: \"safe\"",
            ),
            (ETHEREUM.replace("0x0101", "0x01"), "start.hash"),
            (
                ETHEREUM.replace("\"max_logs\": 4096", "\"max_logs\": 0"),
                "budget.max_logs",
            ),
            (
                ETHEREUM.replace("ethereum-local", "Ethereum Local"),
                "\"Ethereum Local\"",
            ),
            (ETHEREUM.replace("\"chain_id\"", "\"chain\""), "chain"),
            (ETHEREUM.replace("ethereum\",", "bitcoin\","), "bitcoin"),
            (
                r#"{"kind": "signed", "name": "pushed", "publishers": ["0x12"]}"#.to_string(),
                "publishers[0]",
            ),
            (
                r#"{"kind": "signed", "name": "pushed", "publishers": []}"#.to_string(),
                "no publishers",
            ),
        ] {
            let e = SourceJson::parse_def(&text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
