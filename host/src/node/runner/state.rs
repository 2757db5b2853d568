//! What the event loop holds, grouped by concern, and how it is built.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use cvm_consensus::{CommitCertificate, Driver, SignatureVerifier, ValidatorSet};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{Notify, mpsc};

use super::body_wants::BodyFetches;
use super::events::LoopEvent;
use super::stall_watch::StallWatch;
use crate::chain::config::ProposerConfig;
use crate::chain::{Block, BlockHeader};
use crate::metrics::Metrics;
use crate::network::{MessageId, NetworkHandle};
use crate::node::app::App;
use crate::node::evidence_pool::EvidencePool;
use crate::node::hooks::NodeHooks;
use crate::node::memory::Committed;
use crate::node::mempool::Mempool;
use crate::node::parts_pool::PartsPool;
use crate::node::status::NodeStatus;
use crate::node::wire::ConsensusMessage;
use crate::storage::RocksWal;

/// The consensus engine and what this node signed.
pub(crate) struct Consensus {
    pub(crate) driver: Driver<BlockHeader>,
    pub(crate) wal: RocksWal,
    /// A WAL record was appended since the last sync: it must be durable before anything signed leaves.
    pub(crate) wal_dirty: bool,
    /// The validator set of the height in progress.
    pub(crate) validators: ValidatorSet,
    /// This node's validator key (zeros on a full node).
    pub(crate) my_key: [u8; 32],
    /// What this node signed at the current height, re-sent when the height stalls.
    pub(crate) own_messages: Vec<ConsensusMessage>,
    /// Re-sends so far (gossip deduplicates by content; the counter makes a re-sent copy new).
    pub(crate) resend: u32,
    /// Set when the node stopped signing after a fatal error.
    pub(crate) halted: Option<String>,
}

/// Block bodies: parts arriving, validations waiting for a body, and bodies asked of peers.
pub(crate) struct Bodies {
    /// Tickets are the gossip ids of parts whose verdict waits for a signed proposal.
    pub(crate) parts: PartsPool<MessageId>,
    /// Validations waiting for a body, by part-set root.
    pub(crate) waiting: HashMap<[u8; 32], Vec<(u64, BlockHeader)>>,
    pub(crate) fetches: BodyFetches,
}

/// The last commit and the one in progress.
pub(crate) struct Commits {
    /// The certificate of the last committed block (the next block carries it).
    pub(crate) last: Option<CommitCertificate>,
    /// A decision whose body is not here yet (comes by sync).
    pub(crate) pending_decision: Option<(BlockHeader, CommitCertificate)>,
    /// When round 0 of the height in progress began (finality latency counts from there).
    pub(crate) height_started: Instant,
    /// The height whose idle timer runs (round 0 waiting for work; one timer per height).
    pub(crate) idle_timer: Option<u64>,
    pub(crate) last_commit_at: Option<Instant>,
    /// Whether a commit is fsynced before the next step (false inside a batch of synced blocks: the batch is
    /// made durable once at its end).
    pub(crate) durable: bool,
}

pub(crate) use super::sync_claims::SyncProgress;

/// What the loop shares with the API, its helper tasks and embedders.
pub(crate) struct Shared {
    pub(crate) app: Arc<App>,
    pub(crate) mempool: Arc<Mutex<Mempool>>,
    pub(crate) net: NetworkHandle,
    pub(crate) verifier: Arc<dyn SignatureVerifier>,
    pub(crate) status: Arc<RwLock<NodeStatus>>,
    pub(crate) metrics: Arc<Metrics>,
    /// Duplicate-vote evidence waiting for a block.
    pub(crate) evidence: Arc<Mutex<EvidencePool>>,
    /// The loop's own helper tasks report back here.
    pub(crate) events_tx: mpsc::UnboundedSender<LoopEvent>,
    /// Every committed block, for embedders (`crate::ordering`).
    pub(crate) commits_tx: tokio::sync::broadcast::Sender<Arc<Block>>,
    /// Heap trimming and memory gauges (`crate::node::memory`).
    pub(crate) committed_tx: mpsc::Sender<Committed>,
    pub(crate) proposer: ProposerConfig,
    /// Notified by the mempool when a transaction becomes ready: a height waiting for work begins.
    pub(crate) work: Arc<Notify>,
}

/// The node's event loop: one input at a time into the consensus driver, and the effects carried out.
pub struct Runner {
    pub(crate) consensus: Consensus,
    pub(crate) bodies: Bodies,
    pub(crate) commits: Commits,
    pub(crate) sync: SyncProgress,
    pub(crate) stall: StallWatch,
    pub(crate) peers: BTreeSet<libp2p::PeerId>,
    pub(crate) shared: Shared,
    /// Injected faults ([`NodeHooks`]; none in the `cvm` binary).
    pub(crate) hooks: Box<dyn NodeHooks>,
}

impl Runner {
    /// A loop for the height after `last_commit`'s (or the first), before any input.
    pub(crate) fn new(
        consensus: Consensus,
        parts: PartsPool<MessageId>,
        last_commit: Option<CommitCertificate>,
        shared: Shared,
        hooks: Box<dyn NodeHooks>,
    ) -> Self {
        Self {
            consensus,
            bodies: Bodies {
                parts,
                waiting: HashMap::new(),
                fetches: BodyFetches::default(),
            },
            commits: Commits {
                last: last_commit,
                pending_decision: None,
                height_started: Instant::now(),
                idle_timer: None,
                last_commit_at: None,
                durable: true,
            },
            sync: SyncProgress::default(),
            stall: StallWatch::new(),
            peers: BTreeSet::new(),
            shared,
            hooks,
        }
    }

    /// The last committed height.
    pub fn committed_height(&self) -> u64 {
        self.shared.status.read().height
    }

    /// Why the node stopped signing, once it has.
    pub fn halted(&self) -> Option<&str> {
        self.consensus.halted.as_deref()
    }
}
