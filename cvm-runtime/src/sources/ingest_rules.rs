//! Which `Ingest` transactions a source takes: only a registered signed source's publishers may push records.
//! Ethereum sources take none: validators pull their blocks. The same check serves block execution and mempool
//! admission, so a client hears the reason when it submits.

use super::state::source_def;
use super::types::{SourceHead, SourceKind};
use crate::state::MainRead;
use crate::state::StateError;

/// Why an `Ingest` transaction is not applied.
#[derive(Debug, thiserror::Error)]
pub enum IngestRefusal {
    /// No such source.
    #[error(
        "source {0} is not registered; register it with a `RegisterSource` transaction signed by a governance \
         key (cvm tx register-source), or ingest into a registered one"
    )]
    NotRegistered(String),
    /// An Ethereum source.
    #[error(
        "source {0} is an ethereum source: validators pull its blocks from their endpoints; it takes no Ingest"
    )]
    Ethereum(String),
    /// The signer is not one of the signed source's publishers.
    #[error(
        "key {signer} is not a publisher of source {source_name}; sign with one of its publishers' keys or \
         register a source that lists this one"
    )]
    NotPublisher {
        /// The source.
        source_name: String,
        /// The signer, hex.
        signer: String,
    },
    /// The state cannot be read (this node's fault, never the transaction's).
    #[error(transparent)]
    State(#[from] StateError),
}

/// Whether `signer` may ingest into `source` at this state.
pub fn check_ingest(
    view: &impl MainRead,
    signer: &[u8; 32],
    source: &str,
) -> Result<(), IngestRefusal> {
    let def =
        source_def(view, source)?.ok_or_else(|| IngestRefusal::NotRegistered(source.into()))?;
    match def.kind {
        SourceKind::Ethereum(_) => Err(IngestRefusal::Ethereum(source.into())),
        SourceKind::Signed(signed) if signed.publishers.contains(signer) => Ok(()),
        SourceKind::Signed(_) => Err(IngestRefusal::NotPublisher {
            source_name: source.into(),
            signer: hex::encode(signer),
        }),
    }
}

/// A signed source's head after one more applied ingest, the transaction `tx_hash`.
pub fn next_signed_head(head: Option<SourceHead>, tx_hash: [u8; 32]) -> SourceHead {
    SourceHead {
        number: head.map_or(0, |h| h.number) + 1,
        hash: tx_hash,
    }
}
