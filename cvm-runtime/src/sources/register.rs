//! `RegisterSource`: who may register a source, and which definitions are taken.

use super::state::{governance, source_def};
use super::types::{SourceDef, SourceDefError};
use crate::state::MainRead;
use crate::state::StateError;

/// Why a `RegisterSource` transaction is not applied.
#[derive(Debug, thiserror::Error)]
pub enum RegisterRefusal {
    /// The signer is not a governance key: the transaction is rejected (no state change, nonce kept).
    #[error(
        "signer {signer} is not a governance key of this chain; only the keys in genesis `governance` may \
         register sources"
    )]
    NotGovernance {
        /// The signer, hex.
        signer: String,
    },
    /// The definition is not valid.
    #[error("{0}")]
    Invalid(#[from] SourceDefError),
    /// A source of that name exists.
    #[error("a source named {0:?} is already registered; choose another name")]
    Taken(String),
    /// The state cannot be read (this node's fault, never the transaction's).
    #[error(transparent)]
    State(#[from] StateError),
}

/// Whether `signer` may register sources at this state.
pub fn check_governance(view: &impl MainRead, signer: &[u8; 32]) -> Result<(), RegisterRefusal> {
    if governance(view)?.contains(signer) {
        Ok(())
    } else {
        Err(RegisterRefusal::NotGovernance {
            signer: hex::encode(signer),
        })
    }
}

/// Whether `def` is valid and its name free at this state.
pub fn check_definition(view: &impl MainRead, def: &SourceDef) -> Result<(), RegisterRefusal> {
    def.validate()?;
    if source_def(view, &def.name)?.is_some() {
        return Err(RegisterRefusal::Taken(def.name.clone()));
    }
    Ok(())
}
