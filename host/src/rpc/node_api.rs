//! The contract between the HTTP API and the node: [`NodeApi`], implemented by the node (and by fakes in tests),
//! and the plain data it returns. Nothing here knows about HTTP.

use cvm_consensus::CommitCertificate;
use cvm_runtime::TxReceipt;
use serde::{Deserialize, Serialize};

use crate::chain::Block;
use crate::metrics::RejectClass;
use crate::record_bundle::RecordBundle;

/// What the node can answer. Calls are made from async handlers through `spawn_blocking`, so they may block
/// briefly (storage reads, proof generation) but must not wait on consensus.
pub trait NodeApi: Send + Sync + 'static {
    fn status(&self) -> StatusInfo;
    /// The committed block at `height`, `None` above the tip (or pruned).
    fn block(&self, height: u64) -> Result<Option<Block>, ApiError>;
    /// The certificate that finalized the block at `height`.
    fn commit(&self, height: u64) -> Result<Option<CommitCertificate>, ApiError>;
    /// Hands a SCALE-encoded `SignedTransaction` to the mempool; returns its hash.
    fn submit_tx(&self, tx: Vec<u8>) -> Result<[u8; 32], SubmitError>;
    fn tx(&self, hash: [u8; 32]) -> Result<TxLookup, ApiError>;
    /// Everything needed to check one record offline. `height: None` = the latest committed height.
    /// [`ApiError::NotFound`] for an unknown manuscript, dataset or height.
    fn record(
        &self,
        manuscript: &str,
        dataset: &str,
        key: &[u8],
        height: Option<u64>,
    ) -> Result<RecordBundle, ApiError>;
    /// The next nonce of an account (0 for an account never seen), counting the account's pending mempool
    /// transactions so a client can submit several in a row.
    fn account_nonce(&self, public_key: [u8; 32]) -> Result<u64, ApiError>;
    fn validators(&self) -> Vec<ValidatorInfo>;
    fn manuscripts(&self) -> Result<Vec<ManuscriptInfo>, ApiError>;
    /// Equivocation evidence seen, in any JSON form.
    fn evidence(&self) -> Vec<serde_json::Value>;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusInfo {
    pub chain_id: String,
    pub moniker: String,
    /// Height of the last committed block (0 before the first).
    pub height: u64,
    /// Hex of the last committed block's hash (`None` before the first block).
    pub latest_block_hash: Option<String>,
    /// Hex of the state root after the last committed block.
    pub state_root: String,
    pub latest_block_time_ms: Option<u64>,
    pub peers: PeersInfo,
    pub syncing: bool,
    /// Hex of this node's validator public key, `None` for a full node.
    pub validator: Option<String>,
    /// Consensus round at the current height.
    pub round: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeersInfo {
    pub count: usize,
    pub ids: Vec<String>,
}

/// Where a transaction is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxLookup {
    Pending,
    Committed {
        height: u64,
        index: u32,
        receipt: TxReceipt,
    },
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorInfo {
    pub name: String,
    /// Hex of the ed25519 public key.
    pub public_key: String,
    pub power: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManuscriptInfo {
    pub name: String,
    /// Hex of the code hash.
    pub code_hash: String,
    pub sources: Vec<String>,
    pub datasets: Vec<String>,
    pub fuel_limit_per_record: u64,
    pub deployed_at: u64,
}

/// A failed read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Unknown manuscript, dataset, height...: a 404 with this message.
    #[error("{0}")]
    NotFound(String),
    /// The request is well-formed but cannot be served (e.g. a height not yet committed): a 400.
    #[error("{0}")]
    BadRequest(String),
    /// The node failed (storage error...): a 500; the details are logged by the node.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why the mempool refused a transaction: a 400 carrying `message`, counted in metrics by `class`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SubmitError {
    pub class: RejectClass,
    pub message: String,
}

impl SubmitError {
    pub fn new(class: RejectClass, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
        }
    }
}
