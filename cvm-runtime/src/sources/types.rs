//! What a registered source is: its definition, its head, and a verified block of an Ethereum source. All
//! SCALE-encoded in state (`sourcedef/<name>`, `sourcehead/<name>`).

use parity_scale_codec::{Decode, Encode};

use crate::record_batch::RecordBatch;

/// Longest source name, in bytes.
pub const MAX_SOURCE_NAME_LEN: usize = 64;

/// A registered source: a unique name and where its records come from.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SourceDef {
    /// Unique name (`[a-z0-9][a-z0-9._-]{0,63}`); manuscripts are bound to it at deploy.
    pub name: String,
    /// Where its records come from.
    pub kind: SourceKind,
}

/// Where a source's records come from.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum SourceKind {
    /// Blocks of an Ethereum chain, pulled and verified by every validator; blocks carry only commitments.
    Ethereum(EthereumSource),
    /// Records pushed by `Ingest` transactions signed by one of its publishers.
    Signed(SignedSource),
}

/// An Ethereum chain's logs, from a pinned first block on.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct EthereumSource {
    /// The chain's EIP-155 id.
    pub chain_id: u64,
    /// The first block to ingest: its number and hash.
    pub start: SourceHead,
    /// How far behind the endpoint's head a block must be before it is ingested.
    pub confirmations: Confirmations,
    /// What one chain block may carry of this source.
    pub budget: SourceBudget,
}

/// When an Ethereum block is final enough to ingest (it is never undone afterwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum Confirmations {
    /// This many blocks on top of it.
    Depth(u64),
    /// At or below the endpoint's `finalized` block.
    Finalized,
}

/// What one chain block may carry of a source: the proposer's bound, checked by every validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct SourceBudget {
    /// Source blocks per chain block.
    pub max_blocks: u32,
    /// Records (logs) of those source blocks in all.
    pub max_logs: u32,
}

/// Records pushed by transactions of known publishers.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SignedSource {
    /// The ed25519 public keys whose `Ingest` transactions it takes.
    pub publishers: Vec<[u8; 32]>,
}

/// How far a source has been ingested. Ethereum: the last ingested block. Signed: `number` ingest transactions
/// applied so far, `hash` the last one's transaction hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct SourceHead {
    /// Block number (Ethereum) or count of ingests (signed).
    pub number: u64,
    /// Block hash (Ethereum) or the last ingest's transaction hash (signed).
    pub hash: [u8; 32],
}

/// One verified Ethereum block's logs, handed by the host to the executor. Source blocks run before a block's
/// transactions.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SourceBlock {
    /// The registered source it belongs to.
    pub source: String,
    /// Its block number.
    pub number: u64,
    /// Its block hash.
    pub hash: [u8; 32],
    /// Its parent's hash.
    pub parent_hash: [u8; 32],
    /// Its logs as SCALE-encoded source records, in log order.
    pub records: RecordBatch,
}

/// Why a source definition is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceDefError {
    /// The name breaks the naming rule.
    #[error(
        "source name {0:?} is not valid: use 1 to 64 characters of [a-z0-9._-], starting with a letter or digit"
    )]
    Name(String),
    /// An Ethereum source's budget allows nothing.
    #[error("source {source_name:?}: budget.{field} must be above 0")]
    Budget {
        /// The source.
        source_name: String,
        /// `max_blocks` or `max_logs`.
        field: &'static str,
    },
    /// An Ethereum source's chain id is 0.
    #[error("source {0:?}: chain_id must be above 0")]
    ChainId(String),
    /// A signed source nobody may publish to.
    #[error("signed source {0:?} lists no publishers; give it at least one ed25519 public key")]
    NoPublishers(String),
    /// A publisher that is not an ed25519 public key.
    #[error("signed source {source_name:?}: publisher {key} is not a valid ed25519 public key")]
    BadPublisher {
        /// The source.
        source_name: String,
        /// The key, hex.
        key: String,
    },
    /// A publisher listed twice.
    #[error("signed source {source_name:?}: publisher {key} is listed twice")]
    DuplicatePublisher {
        /// The source.
        source_name: String,
        /// The key, hex.
        key: String,
    },
}

/// Whether `name` is a valid source name: `[a-z0-9][a-z0-9._-]{0,63}`.
pub fn is_valid_source_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let first_ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    first_ok
        && bytes.len() <= MAX_SOURCE_NAME_LEN
        && bytes.iter().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

impl SourceDef {
    /// A signed source `name` that takes ingests from `publishers`.
    pub fn signed(name: impl Into<String>, publishers: &[[u8; 32]]) -> Self {
        Self {
            name: name.into(),
            kind: SourceKind::Signed(SignedSource {
                publishers: publishers.to_vec(),
            }),
        }
    }

    /// Whether this is an Ethereum source.
    pub fn is_ethereum(&self) -> bool {
        matches!(self.kind, SourceKind::Ethereum(_))
    }

    /// Checks the name and the kind's parameters.
    pub fn validate(&self) -> Result<(), SourceDefError> {
        if !is_valid_source_name(&self.name) {
            return Err(SourceDefError::Name(self.name.clone()));
        }
        let source_name = || self.name.clone();
        match &self.kind {
            SourceKind::Ethereum(eth) => {
                if eth.chain_id == 0 {
                    return Err(SourceDefError::ChainId(source_name()));
                }
                for (field, value) in [
                    ("max_blocks", eth.budget.max_blocks),
                    ("max_logs", eth.budget.max_logs),
                ] {
                    if value == 0 {
                        return Err(SourceDefError::Budget {
                            source_name: source_name(),
                            field,
                        });
                    }
                }
            }
            SourceKind::Signed(signed) => {
                if signed.publishers.is_empty() {
                    return Err(SourceDefError::NoPublishers(source_name()));
                }
                let mut seen = std::collections::BTreeSet::new();
                for key in &signed.publishers {
                    if ed25519_dalek::VerifyingKey::from_bytes(key).is_err() {
                        return Err(SourceDefError::BadPublisher {
                            source_name: source_name(),
                            key: hex::encode(key),
                        });
                    }
                    if !seen.insert(key) {
                        return Err(SourceDefError::DuplicatePublisher {
                            source_name: source_name(),
                            key: hex::encode(key),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        for good in [
            "a",
            "ethereum-local",
            "ethereum.logs",
            "0x_1",
            &"a".repeat(64),
        ] {
            assert!(is_valid_source_name(good), "{good}");
        }
        for bad in [
            "",
            "-a",
            ".a",
            "_a",
            "A",
            "a b",
            "a/b",
            "é",
            &"a".repeat(65),
        ] {
            assert!(!is_valid_source_name(bad), "{bad}");
        }
    }

    fn signed(publishers: Vec<[u8; 32]>) -> SourceDef {
        SourceDef {
            name: "pushed".into(),
            kind: SourceKind::Signed(SignedSource { publishers }),
        }
    }

    fn ethereum(max_blocks: u32, max_logs: u32) -> SourceDef {
        SourceDef {
            name: "eth".into(),
            kind: SourceKind::Ethereum(EthereumSource {
                chain_id: 1,
                start: SourceHead {
                    number: 5,
                    hash: [1; 32],
                },
                confirmations: Confirmations::Depth(12),
                budget: SourceBudget {
                    max_blocks,
                    max_logs,
                },
            }),
        }
    }

    fn key(seed: u8) -> [u8; 32] {
        ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
            .verifying_key()
            .to_bytes()
    }

    #[test]
    fn definitions_are_checked_with_the_cause_named() {
        assert_eq!(signed(vec![key(1), key(2)]).validate(), Ok(()));
        assert_eq!(ethereum(1, 1).validate(), Ok(()));
        assert_eq!(
            signed(vec![]).validate(),
            Err(SourceDefError::NoPublishers("pushed".into()))
        );
        assert!(matches!(
            signed(vec![key(1), key(1)]).validate(),
            Err(SourceDefError::DuplicatePublisher { .. })
        ));
        let bad = (0u8..=255)
            .map(|i| [i; 32])
            .find(|k| ed25519_dalek::VerifyingKey::from_bytes(k).is_err())
            .expect("some byte pattern is not a curve point");
        assert!(matches!(
            signed(vec![bad]).validate(),
            Err(SourceDefError::BadPublisher { .. })
        ));
        assert!(matches!(
            ethereum(0, 1).validate(),
            Err(SourceDefError::Budget {
                field: "max_blocks",
                ..
            })
        ));
        assert!(matches!(
            ethereum(1, 0).validate(),
            Err(SourceDefError::Budget {
                field: "max_logs",
                ..
            })
        ));
        let mut zero_chain = ethereum(1, 1);
        if let SourceKind::Ethereum(eth) = &mut zero_chain.kind {
            eth.chain_id = 0;
        }
        assert!(matches!(
            zero_chain.validate(),
            Err(SourceDefError::ChainId(_))
        ));
        let mut bad_name = ethereum(1, 1);
        bad_name.name = "Eth".into();
        let e = bad_name.validate().unwrap_err();
        assert!(e.to_string().contains("\"Eth\""), "{e}");
    }
}
