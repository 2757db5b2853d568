//! The state a chain starts from: its registered sources, governance keys and first validator set, nothing else.

use parity_scale_codec::Encode;

use super::state::{GOVERNANCE_KEY, source_def_key};
use super::types::{SourceDef, SourceDefError};
use crate::state::{NodeStore, OverlayDb, StateChanges, StateError, StateRoot, empty_root};
use crate::validators::{MAX_TOTAL_POWER, MAX_VALIDATORS, Member, VALIDATORS_KEY, ValidatorState};

/// Why a genesis state cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum GenesisStateError {
    /// A source definition is not valid.
    #[error("genesis sources: {0}")]
    Source(#[from] SourceDefError),
    /// Two sources share a name.
    #[error("genesis sources: {0:?} is listed twice")]
    DuplicateSource(String),
    /// A governance key that is not an ed25519 public key.
    #[error("genesis governance: key {0} is not a valid ed25519 public key")]
    BadGovernanceKey(String),
    /// A governance key listed twice.
    #[error("genesis governance: key {0} is listed twice")]
    DuplicateGovernanceKey(String),
    /// A validator entry breaks the set's rules (key, power, duplicates, size).
    #[error("genesis validators: {0}")]
    Validators(String),
    /// The trie could not be built.
    #[error(transparent)]
    State(#[from] StateError),
}

/// The root of the genesis state holding `sources`, `governance` and the first `validators` (none: a state without
/// a validator set, which no update can change), and the trie nodes to commit for it (the store is only read).
/// Checks every definition, and that no name or key is listed twice.
pub fn genesis_state(
    store: &dyn NodeStore,
    sources: &[SourceDef],
    governance: &[[u8; 32]],
    validators: &[Member],
) -> Result<(StateRoot, StateChanges), GenesisStateError> {
    let mut names = std::collections::BTreeSet::new();
    for def in sources {
        def.validate()?;
        if !names.insert(def.name.as_str()) {
            return Err(GenesisStateError::DuplicateSource(def.name.clone()));
        }
    }
    let mut keys = std::collections::BTreeSet::new();
    for key in governance {
        if ed25519_dalek::VerifyingKey::from_bytes(key).is_err() {
            return Err(GenesisStateError::BadGovernanceKey(hex::encode(key)));
        }
        if !keys.insert(key) {
            return Err(GenesisStateError::DuplicateGovernanceKey(hex::encode(key)));
        }
    }
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = sources
        .iter()
        .map(|def| (source_def_key(&def.name), def.encode()))
        .collect();
    entries.push((GOVERNANCE_KEY.to_vec(), governance.to_vec().encode()));
    if !validators.is_empty() {
        entries.push((VALIDATORS_KEY.to_vec(), validator_set(validators)?.encode()));
    }
    let mut db = OverlayDb::new(store);
    let root = db.apply(
        empty_root(),
        entries
            .iter()
            .map(|(k, v)| (k.as_slice(), Some(v.as_slice()))),
    )?;
    Ok((root, db.into_changes()))
}

/// The first validator set: sorted, each key a valid ed25519 key listed once with power, within the limits.
fn validator_set(validators: &[Member]) -> Result<ValidatorState, GenesisStateError> {
    let invalid = |why: String| Err(GenesisStateError::Validators(why));
    let mut members = validators.to_vec();
    members.sort();
    for (i, m) in members.iter().enumerate() {
        if ed25519_dalek::VerifyingKey::from_bytes(&m.key).is_err() {
            return invalid(format!(
                "{} is not a valid ed25519 public key",
                hex::encode(m.key)
            ));
        }
        if m.power == 0 {
            return invalid(format!("{} has power 0", hex::encode(m.key)));
        }
        if i > 0 && members[i - 1].key == m.key {
            return invalid(format!("{} is listed twice", hex::encode(m.key)));
        }
    }
    if members.len() > MAX_VALIDATORS {
        return invalid(format!(
            "{} validators, above the limit of {MAX_VALIDATORS}",
            members.len()
        ));
    }
    let total: u128 = members.iter().map(|m| u128::from(m.power)).sum();
    if total > u128::from(MAX_TOTAL_POWER) {
        return invalid(format!(
            "total power {total} is above the limit of {MAX_TOTAL_POWER}"
        ));
    }
    Ok(ValidatorState { members, seq: 0 })
}
