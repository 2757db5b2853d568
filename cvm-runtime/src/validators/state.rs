//! Where the validator set lives in the main trie: `validators` → [`ValidatorState`].

use super::types::ValidatorState;
use crate::state::{MainRead, StateError, decoded};

/// Main trie: the latest validator set.
pub const VALIDATORS_KEY: &[u8] = b"validators";

/// The latest validator set at this state (empty when the chain's genesis recorded none).
pub fn validator_state(view: &impl MainRead) -> Result<ValidatorState, StateError> {
    Ok(decoded(view, VALIDATORS_KEY)?.unwrap_or_default())
}
