//! The genesis file: chain id, the first validator set and the chain parameters every node must agree on.

use std::path::Path;

use cvm_consensus::{ValidatorId, ValidatorSet};
use cvm_runtime::sources::{SourceDef, genesis_state};
use cvm_runtime::state::{MemoryNodeStore, NodeStore, StateChanges, StateRoot};
use cvm_runtime::validators::Member;
use serde::{Deserialize, Serialize};

use super::source_json::{GovernanceJson, SourceJson};

/// Highest `max_evidence_per_block` a genesis may set: a block's evidence costs two signature checks each.
pub const MAX_EVIDENCE_PER_BLOCK: u32 = 256;

/// Chain-wide limits. They feed block validity, so every node must use the same values: they live in genesis,
/// not in a node's config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainParams {
    /// Upper bound on SCALE(block body) in bytes.
    pub max_block_bytes: u64,
    /// Upper bound on the fuel a block's execution may use.
    pub max_block_fuel: u64,
    /// Upper bound on one encoded transaction.
    pub max_tx_bytes: u64,
    /// Size of the parts a block body is gossiped in.
    pub part_size: u32,
    /// How far ahead of a validator's clock a proposed block time may be.
    pub max_time_drift_ms: u64,
    /// A height without work (no transaction to include) starts its first round this long after the last
    /// block's time, so an idle chain makes a block about this often; 0 = a block at every height at once.
    /// Every validator must wait alike (see `node::runner::round_zero`), so it is a chain setting.
    pub idle_block_interval_ms: u64,
    /// Most duplicate-vote evidence one block may carry.
    pub max_evidence_per_block: u32,
    /// How many heights old evidence may be when a block commits it (the offence's height + this ≥ the block's
    /// height): older offences go unpunished, so no node has to keep every validator set forever to check them.
    pub max_evidence_age: u64,
}

impl Default for ChainParams {
    fn default() -> Self {
        Self {
            max_block_bytes: 8 * 1024 * 1024,
            // About a third of a second of manuscript execution on one core: a block must execute well within
            // the propose timeout on the proposer and again on every validator. Each record is also capped by
            // its manuscript's own limit.
            max_block_fuel: 1_000_000_000,
            max_tx_bytes: 2 * 1024 * 1024,
            part_size: 64 * 1024,
            max_time_drift_ms: 10_000,
            idle_block_interval_ms: 10_000,
            max_evidence_per_block: 16,
            max_evidence_age: 100_000,
        }
    }
}

/// One validator of the initial set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// A label for logs and the API.
    pub name: String,
    /// Hex of the ed25519 public key.
    pub public_key: String,
    /// Voting power; quorums are counted in power, not heads.
    pub power: u64,
}

/// The chain's `genesis.json`: what every node of the chain must agree on before block 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Identifies the chain in every signed transaction and vote.
    pub chain_id: String,
    /// Block 1 must be later than this.
    pub genesis_time_ms: u64,
    /// The validator set of height 1 (`UpdateValidators` transactions change it later).
    pub validators: Vec<GenesisValidator>,
    /// Chain-wide limits and parameters.
    #[serde(default)]
    pub params: ChainParams,
    /// The sources registered in the genesis state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceJson>,
    /// The keys whose transactions may register more sources.
    #[serde(default, skip_serializing_if = "GovernanceJson::is_empty")]
    pub governance: GovernanceJson,
}

/// Why a genesis file could not be loaded.
#[derive(Debug, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum GenesisError {
    #[error(
        "cannot read genesis file {path}: {cause}; copy the chain's genesis.json there (every node of a chain \
         uses the same file)"
    )]
    Read { path: String, cause: std::io::Error },
    #[error(
        "genesis file {path} is not valid: {cause}; fix it, or copy the chain's genesis.json from another node"
    )]
    Parse {
        path: String,
        cause: serde_json::Error,
    },
    /// A well-formed file whose content breaks a rule ([`Genesis::validate`]); `cause` says which.
    #[error(
        "genesis file {path} is not valid: {cause}; fix it, or copy the chain's genesis.json from another node"
    )]
    Invalid {
        path: String,
        cause: Box<GenesisError>,
    },
    #[error("chain_id must be 1 to 64 characters of [A-Za-z0-9._-], found {0:?}")]
    ChainId(String),
    #[error("validator {name:?} has a public key that is not 32 bytes of hex: {reason}")]
    BadKey { name: String, reason: String },
    #[error("validator {name:?} has voting power 0; remove it or give it power")]
    ZeroPower { name: String },
    #[error("public key {key} is listed twice (validators {first:?} and {second:?})")]
    DuplicateValidator {
        key: String,
        first: String,
        second: String,
    },
    #[error("the validator set is invalid: {0}")]
    Set(String),
    #[error("params.{field} must be {rule}")]
    Param {
        field: &'static str,
        rule: &'static str,
    },
    #[error("sources[{index}] ({name:?}): {reason}")]
    Source {
        index: usize,
        name: String,
        reason: String,
    },
    #[error("governance.{0}")]
    Governance(String),
    /// The genesis state cannot be built from the sources and governance keys (a duplicate, a bad key).
    #[error("{0}")]
    State(String),
}

impl Genesis {
    /// Reads, parses and validates `path`.
    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let text = std::fs::read_to_string(path).map_err(|cause| GenesisError::Read {
            path: path.display().to_string(),
            cause,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates JSON text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, GenesisError> {
        let genesis: Genesis = serde_json::from_str(text).map_err(|cause| GenesisError::Parse {
            path: origin.to_string(),
            cause,
        })?;
        genesis.validate().map_err(|cause| GenesisError::Invalid {
            path: origin.to_string(),
            cause: Box::new(cause),
        })?;
        Ok(genesis)
    }

    /// The genesis as pretty JSON, as `cvm init` writes it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("genesis serializes")
    }

    /// Checks the chain id, the validators (keys, powers, duplicates) and the parameters.
    pub fn validate(&self) -> Result<(), GenesisError> {
        let id_ok = !self.chain_id.is_empty()
            && self.chain_id.len() <= 64
            && self
                .chain_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !id_ok {
            return Err(GenesisError::ChainId(self.chain_id.clone()));
        }
        let p = &self.params;
        // Each parameter's rule, as (broken, field, rule): the first broken one is named.
        let rules = [
            (
                p.part_size < 1024 || p.part_size > 1024 * 1024,
                "part_size",
                "between 1024 and 1048576",
            ),
            (
                p.max_tx_bytes == 0 || p.max_tx_bytes > p.max_block_bytes,
                "max_tx_bytes",
                "above 0 and at most max_block_bytes",
            ),
            (
                p.max_block_bytes > p.part_size as u64 * super::parts::MAX_PARTS as u64,
                "max_block_bytes",
                "at most part_size * 4096",
            ),
            (p.max_block_fuel == 0, "max_block_fuel", "above 0"),
            (
                p.max_evidence_per_block == 0 || p.max_evidence_per_block > MAX_EVIDENCE_PER_BLOCK,
                "max_evidence_per_block",
                "between 1 and 256",
            ),
            (p.max_evidence_age == 0, "max_evidence_age", "above 0"),
        ];
        if let Some((_, field, rule)) = rules.into_iter().find(|(broken, ..)| *broken) {
            return Err(GenesisError::Param { field, rule });
        }
        self.validator_set()?;
        self.state(&MemoryNodeStore::new()).map(|_| ())
    }

    /// The sources registered at genesis, checked one by one.
    pub fn source_defs(&self) -> Result<Vec<SourceDef>, GenesisError> {
        self.sources
            .iter()
            .enumerate()
            .map(|(index, json)| {
                let source = |reason: String| GenesisError::Source {
                    index,
                    name: json.name().to_string(),
                    reason,
                };
                let def = json.to_def().map_err(source)?;
                def.validate().map_err(|e| source(e.to_string()))?;
                Ok(def)
            })
            .collect()
    }

    /// The governance keys.
    pub fn governance_keys(&self) -> Result<Vec<[u8; 32]>, GenesisError> {
        self.governance.to_keys().map_err(GenesisError::Governance)
    }

    /// The state block 1 executes on (its root) and the trie nodes that hold it, which the node commits to its
    /// store at start (`store` is only read).
    pub fn state(&self, store: &dyn NodeStore) -> Result<(StateRoot, StateChanges), GenesisError> {
        let validators: Vec<Member> = self
            .validator_ids()?
            .into_iter()
            .map(|(id, power)| Member { key: id.0, power })
            .collect();
        genesis_state(
            store,
            &self.source_defs()?,
            &self.governance_keys()?,
            &validators,
        )
        .map_err(|e| GenesisError::State(e.to_string()))
    }

    /// The validators as (id, power), in file order, checked.
    pub fn validator_ids(&self) -> Result<Vec<(ValidatorId, u64)>, GenesisError> {
        let mut out: Vec<(ValidatorId, u64)> = Vec::with_capacity(self.validators.len());
        for (i, v) in self.validators.iter().enumerate() {
            let key = parse_public_key(&v.public_key).map_err(|reason| GenesisError::BadKey {
                name: v.name.clone(),
                reason,
            })?;
            if v.power == 0 {
                return Err(GenesisError::ZeroPower {
                    name: v.name.clone(),
                });
            }
            if let Some(j) = out.iter().position(|(id, _)| id.0 == key) {
                return Err(GenesisError::DuplicateValidator {
                    key: v.public_key.clone(),
                    first: self.validators[j].name.clone(),
                    second: self.validators[i].name.clone(),
                });
            }
            out.push((ValidatorId(key), v.power));
        }
        Ok(out)
    }

    /// The validator set of height 1.
    pub fn validator_set(&self) -> Result<ValidatorSet, GenesisError> {
        ValidatorSet::new(self.validator_ids()?).map_err(|e| GenesisError::Set(e.to_string()))
    }

    /// Name of a validator, for logs and the API.
    pub fn validator_name(&self, id: &ValidatorId) -> Option<&str> {
        let hex_id = hex::encode(id.0);
        self.validators
            .iter()
            .find(|v| {
                v.public_key
                    .trim_start_matches("0x")
                    .eq_ignore_ascii_case(&hex_id)
            })
            .map(|v| v.name.as_str())
    }
}

/// 32 bytes of hex (optionally `0x`-prefixed) that form a valid ed25519 public key.
pub fn parse_public_key(text: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(text.trim_start_matches("0x")).map_err(|e| e.to_string())?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("{} bytes, expected 32", b.len()))?;
    ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|e| e.to_string())?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> String {
        hex::encode(
            ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
                .verifying_key()
                .to_bytes(),
        )
    }

    fn genesis() -> Genesis {
        Genesis {
            chain_id: "test-chain".into(),
            genesis_time_ms: 0,
            validators: (1..=4)
                .map(|i| GenesisValidator {
                    name: format!("v{i}"),
                    public_key: key(i),
                    power: 1,
                })
                .collect(),
            params: ChainParams::default(),
            sources: Vec::new(),
            governance: GovernanceJson::default(),
        }
    }

    #[test]
    fn sources_and_governance_are_checked_with_the_field_named() {
        let mut g = genesis();
        g.sources = vec![SourceJson::Signed {
            name: "pushed".into(),
            publishers: vec![key(9)],
        }];
        g.governance = GovernanceJson { keys: vec![key(8)] };
        let back = Genesis::parse(&g.to_json(), "mem").unwrap();
        assert_eq!(back, g);
        let (root, _) = back.state(&MemoryNodeStore::new()).unwrap();
        assert_ne!(root, cvm_runtime::state::empty_root());

        let mut bad = g.clone();
        bad.sources.push(bad.sources[0].clone());
        let e = refusal(&bad);
        assert!(e.to_string().contains("\"pushed\" is listed twice"), "{e}");
        let mut bad = g.clone();
        bad.sources[0] = SourceJson::Signed {
            name: "pushed".into(),
            publishers: vec!["0x1234".into()],
        };
        let e = refusal(&bad);
        assert!(
            matches!(e, GenesisError::Source { index: 0, .. })
                && e.to_string().contains("publishers[0]"),
            "{e}"
        );
        let mut bad = g.clone();
        bad.governance.keys.push("zz".into());
        let e = refusal(&bad);
        assert!(e.to_string().starts_with("governance.keys[1]"), "{e}");
        let mut bad = g;
        bad.governance.keys.push(bad.governance.keys[0].clone());
        assert!(refusal(&bad).to_string().contains("listed twice"));
    }

    #[test]
    fn round_trips_and_builds_a_set() {
        let g = genesis();
        let back = Genesis::parse(&g.to_json(), "mem").unwrap();
        assert_eq!(back, g);
        assert_eq!(back.validator_set().unwrap().len(), 4);
    }

    /// The rule `g` breaks, checking that the error also names the file.
    fn refusal(g: &Genesis) -> GenesisError {
        let e = Genesis::parse(&g.to_json(), "/h/genesis.json").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("/h/genesis.json") && text.contains("fix it"),
            "{text}"
        );
        let GenesisError::Invalid { cause, .. } = e else {
            panic!("not a rule violation: {e:?}");
        };
        *cause
    }

    #[test]
    fn duplicate_validator_is_named() {
        let mut g = genesis();
        g.validators[3].public_key = g.validators[1].public_key.clone();
        let e = refusal(&g);
        assert!(
            matches!(e, GenesisError::DuplicateValidator { ref first, ref second, .. } if first == "v2" && second == "v4"),
            "{e}"
        );
        // The same key with and without `0x` is still the same validator.
        let mut g = genesis();
        g.validators[3].public_key = format!("0x{}", g.validators[1].public_key);
        assert!(matches!(
            refusal(&g),
            GenesisError::DuplicateValidator { .. }
        ));
    }

    #[test]
    fn bad_keys_zero_power_bad_chain_id_and_empty_set_are_named() {
        let mut g = genesis();
        g.validators[0].public_key = "zz".repeat(32);
        let e = refusal(&g);
        assert!(
            matches!(e, GenesisError::BadKey { ref name, ref reason } if name == "v1" && reason.contains("Invalid character")),
            "{e}"
        );
        let mut g = genesis();
        g.validators[0].public_key = "abcd".into();
        let e = refusal(&g);
        assert!(e.to_string().contains("2 bytes, expected 32"), "{e}");
        let mut g = genesis();
        g.validators[0].power = 0;
        let e = refusal(&g);
        assert!(
            matches!(e, GenesisError::ZeroPower { ref name } if name == "v1"),
            "{e}"
        );
        let mut g = genesis();
        g.chain_id = "bad chain!".into();
        assert!(matches!(refusal(&g), GenesisError::ChainId(_)));
        let mut g = genesis();
        g.validators.clear();
        assert!(matches!(refusal(&g), GenesisError::Set(_)));
        let mut g = genesis();
        g.params.part_size = 10;
        assert!(matches!(
            refusal(&g),
            GenesisError::Param {
                field: "part_size",
                ..
            }
        ));
        for (field, set) in [
            (
                "max_evidence_per_block",
                (|p: &mut ChainParams| p.max_evidence_per_block = 0) as fn(&mut ChainParams),
            ),
            ("max_evidence_per_block", |p| {
                p.max_evidence_per_block = MAX_EVIDENCE_PER_BLOCK + 1
            }),
            ("max_evidence_age", |p| p.max_evidence_age = 0),
        ] {
            let mut g = genesis();
            set(&mut g.params);
            let e = refusal(&g);
            assert!(
                matches!(e, GenesisError::Param { field: f, .. } if f == field),
                "{field}: {e}"
            );
        }
    }

    #[test]
    fn malformed_json_missing_and_unknown_fields_name_the_file_and_the_place() {
        for (text, needle) in [
            (r#"{"chain_id":"x","validators":[]}"#, "genesis_time_ms"),
            (
                r#"{"chain_id":"x","genesis_time_ms":0,"validators":[],"extra":1}"#,
                "extra",
            ),
            (
                r#"{"chain_id":"x","genesis_time_ms":"soon","validators":[]}"#,
                "invalid type",
            ),
            ("{\n  \"chain_id\": \"x\",\n  oops", "line 3"),
            ("", "EOF"),
        ] {
            let e = Genesis::parse(text, "/h/genesis.json").unwrap_err();
            assert!(matches!(e, GenesisError::Parse { .. }), "{text}: {e:?}");
            let msg = e.to_string();
            assert!(
                msg.contains("/h/genesis.json") && msg.contains(needle),
                "{text}: {msg}"
            );
        }
    }

    #[test]
    fn a_missing_file_is_named_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("genesis.json");
        let e = Genesis::load(&path).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, GenesisError::Read { .. }), "{e:?}");
        assert!(
            msg.contains(&path.display().to_string())
                && msg.contains("copy the chain's genesis.json"),
            "{msg}"
        );
    }
}
