//! A block's dataset changes as served by `GET /blocks/{height}/changes` and the `/feed` stream: for each dataset
//! the block changed, the changed keys with their values after the block (absent: removed) in one record-set
//! proof against the block's state root, with the header and the certificate that finalized it. Its JSON form
//! carries the proofs, header and certificate as SCALE hex; the readable `changes` lists are for people and never
//! trusted ([`changes`]: the type and its JSON form; here: verification).

mod changes;
#[cfg(test)]
mod tests;

use cvm_runtime::state::{ProofError, verify_record_set};

use crate::verify::{Trust, VerifyError, check_finality};

pub use changes::{BlockChanges, Change, ChangeJson, Shown, show};

/// Why a block's changes do not verify. Each names the broken link.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChangesVerifyError {
    /// The header or certificate does not check against the genesis.
    #[error("block {height}: {source}")]
    Header {
        /// The height the answer claims.
        height: u64,
        /// What is wrong.
        source: Box<VerifyError>,
    },
    /// A dataset's proof does not verify against the header's state root.
    #[error("block {height}, {manuscript}/{dataset}: {source}")]
    Proof {
        /// The block's height.
        height: u64,
        /// The manuscript.
        manuscript: String,
        /// The dataset.
        dataset: String,
        /// What is wrong.
        source: Box<ProofError>,
    },
}

/// Checks `changes` against what the reader trusts: the header is the chain's, the certificate finalizes it with
/// more than 2/3 of its height's validators' power (reached from the trusted root), and every dataset's values (and
/// absences) prove against its state root.
pub fn verify_changes(changes: &BlockChanges, trust: &Trust) -> Result<(), ChangesVerifyError> {
    let height = changes.height;
    check_finality(
        &changes.chain_id,
        height,
        &changes.header,
        &changes.certificate,
        trust,
        &[],
    )
    .map_err(|source| ChangesVerifyError::Header {
        height,
        source: Box::new(source),
    })?;
    let root = changes.header.state_root.into();
    for proof in &changes.datasets {
        verify_record_set(&root, proof).map_err(|source| ChangesVerifyError::Proof {
            height,
            manuscript: proof.manuscript.clone(),
            dataset: proof.dataset.clone(),
            source: Box::new(source),
        })?;
    }
    Ok(())
}
