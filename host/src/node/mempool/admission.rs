//! Admission checks that need no pool state (size, encoding, chain id, signature, what the committed state lets
//! the signer do), and why a transaction is refused.

use std::sync::Arc;

use cvm_runtime::{SignedTransaction, TxError, VerifiedTxs};

/// A transaction's id: the hash of its canonical encoding.
pub type TxHash = [u8; 32];

/// Why the mempool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum AdmitError {
    #[error(
        "transaction is not valid SCALE: {0}; encode a SignedTransaction (see `cvm tx --help`)"
    )]
    Undecodable(String),
    #[error(
        "transaction is {size} bytes, above the chain's max_tx_bytes of {max}; split the ingest into smaller batches"
    )]
    TooLarge { size: usize, max: usize },
    #[error("transaction is for chain {found:?}, this node runs {expected:?}")]
    WrongChain { expected: String, found: String },
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// The committed state says the signer may not do what the transaction asks ([`PayloadRule`]).
    #[error("{0}")]
    Refused(String),
    #[error(
        "wrong nonce: expected {expected}, found {found} (the account's next nonce, counting its pending transactions)"
    )]
    WrongNonce { expected: u64, found: u64 },
    #[error("transaction {0} is already in the mempool")]
    Duplicate(String),
    #[error("mempool is full ({txs} transactions, {bytes} bytes); retry later")]
    Full { txs: usize, bytes: usize },
    #[error(
        "the sender has {waiting} transactions waiting behind a nonce gap (at most {max}); send the missing nonce first"
    )]
    SenderGapFull { waiting: usize, max: usize },
    #[error(
        "the mempool's share for transactions behind a nonce gap is full ({txs} transactions, {bytes} bytes); send the missing nonce first"
    )]
    GapShareFull { txs: usize, bytes: usize },
}

impl AdmitError {
    /// A short label for metrics.
    pub fn class(&self) -> &'static str {
        match self {
            AdmitError::Undecodable(_) => "undecodable",
            AdmitError::TooLarge { .. } => "too_large",
            AdmitError::WrongChain { .. } => "wrong_chain",
            AdmitError::BadSignature(_) => "bad_signature",
            AdmitError::Refused(_) => "refused",
            AdmitError::WrongNonce { .. } => "wrong_nonce",
            AdmitError::Duplicate(_) => "duplicate",
            AdmitError::Full { .. } => "full",
            AdmitError::SenderGapFull { .. } => "sender_gap_full",
            AdmitError::GapShareFull { .. } => "gap_share_full",
        }
    }
}

/// What the committed state says of a signed transaction: `Err(reason)` when its signer may not do what it asks
/// (ingest into a source it does not publish to, register a source without a governance key), so a client hears
/// the reason at submit instead of in a `Rejected` receipt.
pub type PayloadRule = Arc<dyn Fn(&SignedTransaction) -> Result<(), String> + Send + Sync>;

/// The checks that need no pool state: size, encoding, chain id, signature. Callers run them before taking the
/// pool's lock (hashing and verifying a 150 KB ingest takes ~0.3 ms, which the event loop and other submitters
/// would otherwise wait out), then hand the result to [`Mempool::admit_checked`](super::Mempool::admit_checked).
#[derive(Clone)]
pub struct TxCheck {
    chain_id: String,
    max_tx_bytes: usize,
    /// Valid signatures seen; the node shares the block executor's, so a signature is checked once per node.
    pub(super) verified: Arc<VerifiedTxs>,
    /// Checked last, on transactions whose signature is valid.
    pub(super) rules: Option<PayloadRule>,
}

/// A transaction that passed [`TxCheck::check`].
#[derive(Debug)]
pub struct CheckedTx {
    pub(super) tx: SignedTransaction,
    pub(super) hash: TxHash,
    pub(super) size: usize,
}

impl TxCheck {
    /// Checks for `chain_id` and transactions of at most `max_tx_bytes`, recording valid signatures in `verified`.
    pub fn new(chain_id: String, max_tx_bytes: usize, verified: Arc<VerifiedTxs>) -> Self {
        Self {
            chain_id,
            max_tx_bytes,
            verified,
            rules: None,
        }
    }

    /// The pool-independent checks, in order of cost.
    pub fn check(&self, bytes: &[u8]) -> Result<CheckedTx, AdmitError> {
        if bytes.len() > self.max_tx_bytes {
            return Err(AdmitError::TooLarge {
                size: bytes.len(),
                max: self.max_tx_bytes,
            });
        }
        let tx = SignedTransaction::decode_bytes(bytes).map_err(|e| match e {
            TxError::Decode(m) => AdmitError::Undecodable(m),
            other => AdmitError::Undecodable(other.to_string()),
        })?;
        if tx.tx.chain_id != self.chain_id {
            return Err(AdmitError::WrongChain {
                expected: self.chain_id.clone(),
                found: tx.tx.chain_id.clone(),
            });
        }
        let hash = tx.hash();
        self.verified
            .verify(&tx, &hash)
            .map_err(|e| AdmitError::BadSignature(e.to_string()))?;
        if let Some(rules) = &self.rules {
            rules(&tx).map_err(AdmitError::Refused)?;
        }
        Ok(CheckedTx {
            hash,
            tx,
            size: bytes.len(),
        })
    }
}
