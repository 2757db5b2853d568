//! The contract between the HTTP API and the node: [`NodeApi`], implemented by the node (and by fakes in tests),
//! and the plain data it returns. Nothing here knows about HTTP.

use cvm_consensus::{CommitCertificate, DuplicateVoteEvidence, VoteKind};
use cvm_runtime::TxReceipt;
use parity_scale_codec::Encode;
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::block_changes::BlockChanges;
use crate::chain::Block;
use crate::chain::source_json::{HeadJson, SourceJson};
use crate::hex_text::to_hex;
use crate::metrics::RejectClass;
use crate::record_bundle::RecordBundle;
use crate::record_page::RecordPage;
use cvm_runtime::state::PageQuery;

/// What the node can answer. Calls are made from async handlers through `spawn_blocking`, so they may block
/// briefly (storage reads, proof generation) but must not wait on consensus.
pub trait NodeApi: Send + Sync + 'static {
    /// The node's chain, height, peers and sync state.
    fn status(&self) -> StatusInfo;
    /// The committed block at `height`, `None` above the tip (or pruned).
    fn block(&self, height: u64) -> Result<Option<Block>, ApiError>;
    /// The certificate that finalized the block at `height`.
    fn commit(&self, height: u64) -> Result<Option<CommitCertificate>, ApiError>;
    /// Hands a SCALE-encoded `SignedTransaction` to the mempool; returns its hash.
    fn submit_tx(&self, tx: Vec<u8>) -> Result<[u8; 32], SubmitError>;
    /// Where the transaction `hash` is.
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
    /// A page of a dataset with its completeness proof, at `height` (`None`: the latest final height).
    /// [`ApiError::NotFound`] for an unknown manuscript or dataset, or a height not final yet.
    fn records_page(&self, query: &PageQuery, height: Option<u64>) -> Result<RecordPage, ApiError>;
    /// The next nonce of an account (0 for an account never seen), counting the account's pending mempool
    /// transactions so a client can submit several in a row.
    fn account_nonce(&self, public_key: [u8; 32]) -> Result<u64, ApiError>;
    /// The validator set, with names and powers.
    /// The validator set that signs `height` (default: the next height, the set deciding now).
    fn validators(&self, height: Option<u64>) -> Result<ValidatorSetInfo, ApiError>;
    /// Up to `limit` deployed manuscripts in name order, those named after `after` (from the first when `None`).
    fn manuscripts(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ManuscriptInfo>, ApiError>;
    /// Duplicate-vote evidence: what blocks below `before` committed (newest block first, at most `limit` blocks),
    /// and what waits for a block.
    fn evidence(&self, before: Option<u64>, limit: usize) -> Result<EvidenceList, ApiError>;
    /// Every registered source in name order, with its head, at the latest committed state. Only governance keys
    /// register sources, so the list stays short.
    fn sources(&self) -> Result<Vec<SourceInfo>, ApiError>;
    /// Checks that `filter` names a manuscript (and dataset) that exists at `height`:
    /// [`ApiError::NotFound`] naming the unknown one otherwise.
    fn check_changes_filter(&self, filter: &ChangesFilter, height: u64) -> Result<(), ApiError>;
    /// The dataset changes of the committed block at `height` that `filter` selects, with their proofs, header
    /// and certificate. [`ApiError::NotFound`] for a height not committed yet (or committed before changes were
    /// recorded).
    fn changes(&self, height: u64, filter: &ChangesFilter) -> Result<BlockChanges, ApiError>;
    /// Woken at each commit: a hint for streams to look at [`status`](Self::status)'s height (it may lag and
    /// drop values, so readers go by the height, never by what it carries).
    fn commit_signal(&self) -> tokio::sync::broadcast::Receiver<Arc<Block>>;
    /// The stored manuscript code (wasm) whose Blake2-256 hash is `code_hash`, at the latest committed state;
    /// `None` when no deployed manuscript has it.
    fn code(&self, code_hash: [u8; 32]) -> Result<Option<Vec<u8>>, ApiError>;
}

/// Which datasets' changes `GET /blocks/{height}/changes` and `GET /feed` serve: all, one manuscript's, or one
/// dataset of one manuscript.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangesFilter {
    /// Only this manuscript's datasets.
    pub manuscript: Option<String>,
    /// Only this dataset (of `manuscript`, which must then be set).
    pub dataset: Option<String>,
}

impl ChangesFilter {
    /// Whether the changes of `manuscript`'s `dataset` are selected.
    pub fn selects(&self, manuscript: &str, dataset: &str) -> bool {
        self.manuscript.as_deref().is_none_or(|m| m == manuscript)
            && self.dataset.as_deref().is_none_or(|d| d == dataset)
    }
}

/// `GET /sources`: a registered source and how far it has been ingested.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// Its definition.
    pub definition: SourceJson,
    /// Ethereum: the last block ingested; signed: the count of ingests and the last one's hash. `None` before
    /// the first.
    pub head: Option<HeadJson>,
    /// Ethereum: what this node's endpoint shows (`None` for a signed source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<EndpointJson>,
}

/// `GET /sources`: an Ethereum source as this node's own endpoint shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointJson {
    /// Whether this node has an endpoint for the source (`[sources.<name>]`); without one it follows the
    /// source through peers and checks no proposal that ingests it.
    pub configured: bool,
    /// The endpoint's latest block number, when last asked.
    pub latest: Option<u64>,
    /// The highest block past the source's confirmation rule.
    pub safe_tip: Option<u64>,
    /// Blocks fetched and verified past the head, waiting to be ingested.
    pub ready: usize,
    /// Why the last read or check of the endpoint failed, if it did.
    pub last_error: Option<String>,
    /// Committed blocks the endpoint later showed with another hash (alert on any).
    pub conflicts: u64,
}

/// `GET /manuscripts`: one page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManuscriptsPage {
    /// Manuscripts in name order.
    pub manuscripts: Vec<ManuscriptInfo>,
    /// Pass as `?after=` for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// `GET /status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusInfo {
    /// The chain the node follows.
    pub chain_id: String,
    /// The node's name from its config.
    pub moniker: String,
    /// Height of the last committed block (0 before the first).
    pub height: u64,
    /// Hex of the last committed block's hash (`None` before the first block).
    pub latest_block_hash: Option<String>,
    /// Hex of the state root after the last committed block.
    pub state_root: String,
    /// Header time of the last committed block (`None` before the first).
    pub latest_block_time_ms: Option<u64>,
    /// Connected peers.
    pub peers: PeersInfo,
    /// Whether the node is catching up by block sync.
    pub syncing: bool,
    /// Hex of this node's validator public key, `None` for a full node.
    pub validator: Option<String>,
    /// Consensus round at the current height.
    pub round: u32,
}

/// The node's connected peers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeersInfo {
    /// How many.
    pub count: usize,
    /// Their peer ids.
    pub ids: Vec<String>,
}

/// Where a transaction is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxLookup {
    /// In the mempool, not yet committed.
    Pending,
    /// In a committed block.
    Committed {
        /// Height of the block.
        height: u64,
        /// Position in the block.
        index: u32,
        /// Its receipt.
        receipt: TxReceipt,
    },
    /// Neither pending nor committed on this node.
    Unknown,
}

/// A member of the validator set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorInfo {
    /// Its name from genesis (empty for a validator that joined later).
    pub name: String,
    /// Hex of the ed25519 public key.
    pub public_key: String,
    /// Its voting power.
    pub power: u64,
}

/// `GET /validators`: the validator set of one height.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSetInfo {
    /// The height it signs.
    pub height: u64,
    /// Hex of its membership hash, as that height's header holds it in `validators_hash`.
    pub validators_hash: String,
    /// The sum of the powers.
    pub total_power: u64,
    /// Its members, by public key.
    pub validators: Vec<ValidatorInfo>,
    /// The `seq` the next `UpdateValidators` transaction must carry (from the state at the node's head).
    pub update_seq: u64,
}

/// One piece of duplicate-vote evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceInfo {
    /// Hex of the offender's public key.
    pub validator: String,
    /// The height of its two votes.
    pub height: u64,
    /// Their round.
    pub round: u32,
    /// `prevote` or `precommit`.
    pub vote_kind: String,
    /// Hex of the two block hashes it voted for (`null`: nil).
    pub values: [Option<String>; 2],
    /// The block that committed it (`null` while pending).
    pub committed_at: Option<u64>,
    /// Whether that block removed the offender from the set, from `committed_at + 2` on (`null` while pending;
    /// `false` when it had already left, or was the last validator).
    pub jailed: Option<bool>,
    /// Hex of the SCALE-encoded evidence, which anyone can check against the validator set of `height`.
    pub scale: String,
}

impl EvidenceInfo {
    /// The piece `evidence`, with the block that committed it and whether that jailed the offender.
    pub fn new(evidence: &DuplicateVoteEvidence, committed: Option<(u64, bool)>) -> Self {
        let vote = &evidence.vote_a.vote;
        let value = |v: &cvm_consensus::SignedVote| v.vote.value.map(|id| to_hex(id.0));
        Self {
            validator: to_hex(vote.validator.0),
            height: vote.height.0,
            round: vote.round.0,
            vote_kind: match vote.kind {
                VoteKind::Prevote => "prevote",
                VoteKind::Precommit => "precommit",
            }
            .into(),
            values: [value(&evidence.vote_a), value(&evidence.vote_b)],
            committed_at: committed.map(|(height, _)| height),
            jailed: committed.map(|(_, jailed)| jailed),
            scale: to_hex(evidence.encode()),
        }
    }
}

/// `GET /evidence`: committed evidence, newest block first, and the pending pieces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceList {
    /// Evidence committed by blocks, from storage.
    pub committed: Vec<EvidenceInfo>,
    /// Evidence this node holds for a coming block (one piece per offender).
    pub pending: Vec<EvidenceInfo>,
    /// Pass as `before` for the next page of committed evidence; `null` when there is no more.
    pub next_before: Option<u64>,
}

/// A deployed manuscript.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManuscriptInfo {
    /// Its name (unique on the chain).
    pub name: String,
    /// Hex of the code hash.
    pub code_hash: String,
    /// The registered sources it is bound to (subscribed to).
    pub sources: Vec<String>,
    /// Its manifest's names for them, in the same order (what it is invoked with).
    pub slots: Vec<String>,
    /// Datasets it writes.
    pub datasets: Vec<String>,
    /// Fuel each record may spend.
    pub fuel_limit_per_record: u64,
    /// Height of the block that deployed it.
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
    /// Category counted in metrics.
    pub class: RejectClass,
    /// The reason, sent to the client.
    pub message: String,
}

impl SubmitError {
    /// A refusal of `class` with `message`.
    pub fn new(class: RejectClass, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
        }
    }
}
