//! The node's event loop: feeds the consensus driver with network messages, timers and execution results, and
//! carries out its effects (WAL, gossip, timers, block building and validation, commits). Single-threaded over
//! the driver; execution runs on blocking threads and reports back as events.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cvm_consensus::wal::Wal;
use cvm_consensus::{
    CommitCertificate, Driver, DuplicateVoteEvidence, Effect, Height, Input, SignatureVerifier,
    SignedVote, Timeout, ValidatorSet, Value, ValueId,
};
use parity_scale_codec::Encode;
use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc;
use tracing::{debug, error, info, trace, warn};

use super::app::{App, AppError, Executed, InvalidBlock};
use super::gossip_window::publish_due;
use super::mempool::{Mempool, Origin};
use super::parts_pool::{PartOutcome, PartsPool};
use super::status::{NodeStatus, now_ms};
use super::wire::{self, ConsensusEnvelope, ConsensusMessage, PartMessage};
use crate::chain::{BlockBody, BlockHeader, PartSet};
use crate::metrics::Metrics;
use crate::network::{
    NetworkEvent, NetworkHandle, SyncRequest, SyncResponse, SyncedBlock, Topic, Verdict,
};
use crate::storage::RocksWal;

/// Equivocation evidence kept for the API; the oldest goes first (an equivocator produces some every height).
const MAX_EVIDENCE: usize = 10_000;

/// Blocks asked for in one sync request.
const SYNC_BATCH: u32 = 64;

/// What the loop hears from its own helper tasks.
pub enum LoopEvent {
    Timeout(Timeout),
    Built {
        height: u64,
        round: cvm_consensus::Round,
        result: Result<Arc<Executed>, AppError>,
    },
    Validated {
        height: u64,
        value_id: ValueId,
        result: Result<Arc<Executed>, InvalidBlock>,
    },
    SyncStatus {
        peer: libp2p::PeerId,
        height: u64,
    },
    SyncBlocks {
        peer: libp2p::PeerId,
        blocks: Vec<SyncedBlock>,
    },
    SyncFailed,
}

/// How often the memory gauges are refreshed while blocks are empty.
const MEMORY_SAMPLE_INTERVAL: Duration = Duration::from_secs(10);
/// ... and while blocks carry transactions: reading glibc's counters walks every heap's free lists (~1.4 % of a
/// loaded validator's CPU when done after every block).
const LOADED_MEMORY_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Sets the `cvm_memory_bytes` gauges from the process, the storage and the executor's caches.
fn sample_memory(app: &App, metrics: &Metrics) {
    use crate::metrics::MemoryPart;
    if let Some(bytes) = crate::malloc::resident_bytes() {
        metrics.set_memory(MemoryPart::Resident, bytes);
    }
    if let Some(bytes) = crate::malloc::heap_in_use() {
        metrics.set_memory(MemoryPart::HeapInUse, bytes);
    }
    match app.storage().memory() {
        Ok(m) => {
            metrics.set_memory(MemoryPart::RocksdbMemtables, m.memtables);
            metrics.set_memory(MemoryPart::RocksdbTableReaders, m.table_readers);
            metrics.set_memory(MemoryPart::RocksdbBlockCache, m.block_cache);
            metrics.set_memory(MemoryPart::TrieNodeCache, m.trie_node_cache);
        }
        Err(e) => tracing::debug!(error = %e, "cannot read the storage's memory usage"),
    }
    let values = app.executor().value_cache_stats();
    metrics.set_memory(MemoryPart::StateValueCache, values.bytes);
}

pub struct Runner {
    pub(super) driver: Driver<BlockHeader>,
    pub(super) wal: RocksWal,
    pub(super) app: Arc<App>,
    pub(super) mempool: Arc<Mutex<Mempool>>,
    pub(super) net: NetworkHandle,
    pub(super) verifier: Arc<dyn SignatureVerifier>,
    pub(super) status: Arc<RwLock<NodeStatus>>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) evidence: Arc<Mutex<Vec<DuplicateVoteEvidence>>>,
    pub(super) events_tx: mpsc::UnboundedSender<LoopEvent>,
    pub(super) validators: ValidatorSet,
    pub(super) my_key: [u8; 32],
    pub(super) parts: PartsPool,
    /// Validations waiting for a body, by part-set root.
    pub(super) waiting_for_body: HashMap<[u8; 32], Vec<(u64, BlockHeader)>>,
    /// What this node signed at the current height, re-sent when the height stalls.
    pub(super) own_messages: Vec<ConsensusMessage>,
    pub(super) resend: u32,
    pub(super) stall: StallWatch,
    pub(super) last_commit: Option<CommitCertificate>,
    /// A decision whose body is not here yet (comes by sync).
    pub(super) pending_decision: Option<(BlockHeader, CommitCertificate)>,
    pub(super) height_started: Instant,
    pub(super) last_commit_at: Option<Instant>,
    /// When the memory gauges were last refreshed.
    pub(super) memory_sampled_at: Instant,
    pub(super) best_peer_height: u64,
    pub(super) sync_in_flight: bool,
    pub(super) wal_dirty: bool,
    /// Whether a commit is fsynced before the next step (false inside a batch of synced blocks: the batch is
    /// made durable once at its end).
    pub(super) durable_commits: bool,
    pub(super) halted: Option<String>,
    pub(super) peers: std::collections::BTreeSet<libp2p::PeerId>,
    pub(super) proposer: crate::chain::config::ProposerConfig,
    /// Every committed block, for embedders (`crate::ordering`).
    pub(super) commits_tx: tokio::sync::broadcast::Sender<Arc<crate::chain::Block>>,
    /// Injected faults (feature `test-hooks`; nothing otherwise).
    pub(super) hooks: super::test_hooks::TestHooks,
}

/// Notices a height whose consensus state (height, round, step) has not moved for a while. Timers alone do not
/// guarantee progress: a node waiting for 2f+1 votes of any kind has no timer running, so if the votes it needs
/// were lost (a peer restarting, a dropped connection) nobody would send them again. The paper assumes gossip
/// eventually delivers every message; re-broadcasting what we signed on a stall is how this node provides that.
/// If that does not help either, the gossip links themselves are suspect (seen after a validator restart:
/// connected peers whose messages stopped arriving both ways), so the node reconnects to its peers.
pub(super) struct StallWatch {
    state: (u64, u32, cvm_consensus::Step),
    since: Instant,
    wait: Duration,
    /// Re-broadcasts since the state last moved.
    attempts: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum StallAction {
    None,
    Rebroadcast,
    /// Re-broadcast after reconnecting to every peer.
    Reconnect,
}

impl StallWatch {
    /// First re-broadcast after this long without progress, then doubling up to [`Self::MAX_WAIT`].
    const FIRST_WAIT: Duration = Duration::from_secs(1);
    const MAX_WAIT: Duration = Duration::from_secs(8);
    /// Re-broadcasts tried before reconnecting.
    const REBROADCASTS_BEFORE_RECONNECT: u32 = 2;

    pub(super) fn new() -> Self {
        Self {
            state: (0, 0, cvm_consensus::Step::Propose),
            since: Instant::now(),
            wait: Self::FIRST_WAIT,
            attempts: 0,
        }
    }

    /// What to do now, given the current consensus state.
    fn check(&mut self, state: (u64, u32, cvm_consensus::Step), now: Instant) -> StallAction {
        if state != self.state {
            self.state = state;
            self.since = now;
            self.wait = Self::FIRST_WAIT;
            self.attempts = 0;
            return StallAction::None;
        }
        if now.duration_since(self.since) < self.wait {
            return StallAction::None;
        }
        self.since = now;
        self.wait = (self.wait * 2).min(Self::MAX_WAIT);
        self.attempts += 1;
        if self.attempts > Self::REBROADCASTS_BEFORE_RECONNECT {
            StallAction::Reconnect
        } else {
            StallAction::Rebroadcast
        }
    }
}

impl Runner {
    pub fn committed_height(&self) -> u64 {
        self.status.read().height
    }

    /// Feeds one input and carries out everything that follows from it.
    pub fn feed(&mut self, input: Input<BlockHeader>) {
        let mut queue = VecDeque::from([input]);
        while let Some(input) = queue.pop_front() {
            if self.halted.is_some() {
                return;
            }
            match self.driver.handle(input) {
                Ok(effects) => {
                    for effect in effects {
                        if let Some(next) = self.apply(effect) {
                            queue.push_back(next);
                        }
                    }
                }
                Err(e) => debug!(error = %e, "consensus input refused"),
            }
        }
        self.publish_status();
    }

    fn apply(&mut self, effect: Effect<BlockHeader>) -> Option<Input<BlockHeader>> {
        match effect {
            Effect::PersistToWal(entry) => {
                if let Err(e) = self.wal.append(&entry) {
                    self.halt(format!("cannot write the consensus WAL: {e}"));
                }
                self.wal_dirty = true;
                None
            }
            Effect::BroadcastProposal(proposal) => {
                self.sync_wal()?;
                let header = &proposal.proposal.value;
                if let Some(body) = self.parts.body(&header.parts).cloned() {
                    self.publish_parts(
                        proposal.proposal.height.0,
                        proposal.proposal.round.0,
                        &body,
                        0,
                    );
                }
                self.broadcast_own(ConsensusMessage::Proposal(Box::new(proposal)));
                None
            }
            Effect::BroadcastVote(vote) => {
                self.sync_wal()?;
                self.broadcast_own(ConsensusMessage::Vote(vote));
                None
            }
            Effect::ScheduleTimeout { timeout, duration } => {
                let tx = self.events_tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(duration).await;
                    let _ = tx.send(LoopEvent::Timeout(timeout));
                });
                None
            }
            Effect::RequestValue { height, round, .. } => {
                self.build_value(height.0, round);
                None
            }
            Effect::ValidateValue { height, value, .. } => self.request_validation(height.0, value),
            Effect::Decide { value, certificate } => self.decide(value, certificate),
            Effect::ReportEvidence(evidence) => {
                warn!(validator = %hex::encode(evidence.vote_a.vote.validator.0), "equivocation evidence");
                let mut kept = self.evidence.lock();
                if kept.len() >= MAX_EVIDENCE {
                    kept.remove(0);
                }
                kept.push(evidence);
                None
            }
        }
    }

    fn sync_wal(&mut self) -> Option<()> {
        if self.wal_dirty {
            if let Err(e) = Wal::<BlockHeader>::sync(&mut self.wal) {
                self.halt(format!("cannot sync the consensus WAL: {e}"));
                return None;
            }
            self.wal_dirty = false;
        }
        Some(())
    }

    fn halt(&mut self, reason: String) {
        error!(%reason, "node halts; nothing further is signed");
        self.halted = Some(reason);
    }

    fn broadcast_own(&mut self, message: ConsensusMessage) {
        for message in self.hooks.outgoing(message) {
            self.publish_consensus(&message, 0);
            self.own_messages.push(message);
        }
    }

    fn publish_consensus(&self, message: &ConsensusMessage, resend: u32) {
        let envelope = ConsensusEnvelope {
            resend,
            message: message.clone(),
        };
        if let Err(e) = self.net.try_publish(Topic::Consensus, envelope.encode()) {
            debug!(error = %e, "consensus publish");
        }
    }

    fn publish_parts(&self, height: u64, round: u32, body: &BlockBody, resend: u32) {
        if !self.hooks.sends_parts() {
            return;
        }
        let set = PartSet::from_body(body, self.app.params().part_size as usize);
        for part in set.parts() {
            let msg = PartMessage {
                height,
                round,
                parts: set.header(),
                part: part.clone(),
                resend,
            };
            if let Err(e) = self.net.try_publish(Topic::ProposalParts, msg.encode()) {
                debug!(error = %e, "part publish");
            }
        }
    }

    /// Re-sends what we signed at this height (a stalled round, or a peer that just connected).
    pub fn resend_own(&mut self) {
        self.resend += 1;
        let messages = self.own_messages.clone();
        for message in &messages {
            if let ConsensusMessage::Proposal(p) = message
                && let Some(body) = self.parts.body(&p.proposal.value.parts)
            {
                self.publish_parts(p.proposal.height.0, p.proposal.round.0, body, self.resend);
            }
            self.publish_consensus(message, self.resend);
        }
    }

    fn build_value(&mut self, height: u64, round: cvm_consensus::Round) {
        let params = self.app.params().clone();
        let budget = (params.max_block_bytes as usize)
            .saturating_sub(App::body_overhead(&self.last_commit) + 1024);
        let app = self.app.clone();
        let txs = self.mempool.lock().reap_within(
            budget,
            self.proposer.max_txs,
            self.proposer.max_records,
            |acct| app.committed_nonce(acct),
        );
        let last_commit = self.last_commit.clone();
        let proposer = self.my_key;
        let tx = self.events_tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = app.build_block(proposer, txs, last_commit, now_ms());
            let _ = tx.send(LoopEvent::Built {
                height,
                round,
                result,
            });
        });
    }

    fn request_validation(
        &mut self,
        height: u64,
        header: BlockHeader,
    ) -> Option<Input<BlockHeader>> {
        let value_id = header.id();
        if self.app.cached(&header.hash()).is_some() {
            return Some(Input::ValidityVerdict {
                height: Height(height),
                value_id,
                valid: true,
            });
        }
        match self.parts.body(&header.parts) {
            Some(body) => {
                self.spawn_validation(header, body.clone());
            }
            None => {
                trace!(height, "validation waits for the body's parts");
                self.waiting_for_body
                    .entry(header.parts.root)
                    .or_default()
                    .push((height, header));
            }
        }
        None
    }

    fn spawn_validation(&self, header: BlockHeader, body: BlockBody) {
        let app = self.app.clone();
        let tx = self.events_tx.clone();
        tokio::task::spawn_blocking(move || {
            let height = header.height;
            let value_id = header.id();
            let result = app.validate_block(crate::chain::Block { header, body }, now_ms());
            let _ = tx.send(LoopEvent::Validated {
                height,
                value_id,
                result,
            });
        });
    }

    fn decide(
        &mut self,
        header: BlockHeader,
        certificate: CommitCertificate,
    ) -> Option<Input<BlockHeader>> {
        let body = self.parts.body(&header.parts).cloned();
        let app = self.app.clone();
        let durable = self.durable_commits;
        let result =
            tokio::task::block_in_place(|| app.commit(&header, body, &certificate, durable));
        match result {
            Ok(executed) => {
                let next = self.after_commit(&executed, certificate);
                let carried_txs = !executed.block.body.txs.is_empty();
                drop(executed);
                // Off the event loop: trimming walks every heap. Empty blocks free too little to bother (and come
                // a thousand a second in sync); the gauges are refreshed now and then.
                let interval = if carried_txs {
                    LOADED_MEMORY_SAMPLE_INTERVAL
                } else {
                    MEMORY_SAMPLE_INTERVAL
                };
                let sample = self.memory_sampled_at.elapsed() >= interval;
                if sample {
                    self.memory_sampled_at = Instant::now();
                }
                if carried_txs || sample {
                    let (app, metrics) = (self.app.clone(), self.metrics.clone());
                    tokio::task::spawn_blocking(move || {
                        if carried_txs {
                            crate::malloc::release_free_memory();
                        }
                        if sample {
                            sample_memory(&app, &metrics);
                        }
                    });
                }
                Some(next)
            }
            Err(AppError::MissingBody { height, .. }) => {
                info!(
                    height,
                    "decided block's body not here yet; fetching it by sync"
                );
                self.pending_decision = Some((header, certificate));
                self.sync_tick();
                None
            }
            Err(e) => {
                self.halt(e.to_string());
                None
            }
        }
    }

    fn after_commit(
        &mut self,
        executed: &Executed,
        certificate: CommitCertificate,
    ) -> Input<BlockHeader> {
        let header = &executed.block.header;
        let height = header.height;
        if let Err(e) = self.wal.clear_with(self.durable_commits) {
            self.halt(format!("cannot clear the consensus WAL: {e}"));
        }
        self.wal_dirty = false;
        // Execution hashed every transaction already: its receipts carry the hashes, one per transaction.
        let included: Vec<[u8; 32]> = executed
            .outcome
            .receipts
            .iter()
            .map(|r| r.tx_hash)
            .collect();
        {
            let app = self.app.clone();
            let root = header.state_root.into();
            self.mempool
                .lock()
                .update(&included, |acct| app.nonce_at(root, acct));
        }
        // The block freed room in the gossip window for client transactions waiting in the pool.
        publish_due(&self.mempool, &self.net, None);
        self.parts.prune(height);
        self.waiting_for_body.clear();
        self.own_messages.clear();
        self.pending_decision = None;
        let certificate_round = certificate.round.0;
        self.last_commit = Some(certificate);
        let now = Instant::now();
        let interval = self.last_commit_at.map(|t| now.duration_since(t));
        let latency = now.duration_since(self.height_started);
        self.last_commit_at = Some(now);
        self.height_started = now;
        let records: u64 = executed
            .block
            .body
            .txs
            .iter()
            .map(|tx| match &tx.tx.payload {
                cvm_runtime::TxPayload::Ingest { records, .. } => records.len() as u64,
                _ => 0,
            })
            .sum();
        self.metrics
            .on_block_committed(&crate::metrics::CommittedBlock {
                height,
                round: certificate_round,
                txs: executed.block.body.txs.len() as u64,
                records,
                fuel_used: executed.outcome.fuel_used,
                interval,
                finality_latency: Some(latency),
            });
        {
            let mut status = self.status.write();
            status.height = height;
            status.latest_block_hash = header.hash();
            status.state_root = header.state_root;
            status.latest_block_time_ms = header.time_ms;
        }
        // Copying the block (every transaction's payload) is only worth it for an embedder listening.
        if self.commits_tx.receiver_count() > 0 {
            let _ = self.commits_tx.send(Arc::new(executed.block.clone()));
        }
        self.validators = self.validators.next_height();
        Input::StartHeight {
            height: Height(height + 1),
            validators: self.validators.clone(),
        }
    }

    fn publish_status(&self) {
        let mut status = self.status.write();
        status.round = self.driver.round().0;
        status.consensus_height = self.driver.height().0;
        status.syncing = self.best_peer_height > status.height + 1;
        status.best_peer_height = self.best_peer_height;
        status.halted = self.halted.clone();
        drop(status);
        self.metrics.set_round(self.driver.round().0);
        let (txs, bytes) = {
            let pool = self.mempool.lock();
            (pool.len(), pool.bytes())
        };
        self.metrics.set_mempool(txs, bytes);
    }

    // ---- events ----

    pub fn on_loop_event(&mut self, event: LoopEvent) {
        match event {
            LoopEvent::Timeout(timeout) => {
                if timeout.height == self.driver.height() && timeout.round == self.driver.round() {
                    // A timer firing at the current round means the round is slow: someone may have missed
                    // our messages (a restart, a dropped connection).
                    self.resend_own();
                }
                self.feed(Input::TimeoutElapsed(timeout));
            }
            LoopEvent::Built {
                height,
                round,
                result,
            } => match result {
                Ok(executed) => {
                    let mut header = executed.block.header.clone();
                    self.hooks.tamper_built(&mut header);
                    self.parts
                        .insert_body(height, header.parts, executed.block.body.clone());
                    self.feed(Input::ProposeValue {
                        height: Height(height),
                        round,
                        value: header,
                    });
                }
                Err(e) => {
                    error!(height, error = %e, "cannot build a block; the round will time out")
                }
            },
            LoopEvent::Validated {
                height,
                value_id,
                result,
            } => {
                let valid = match result {
                    Ok(_) => true,
                    Err(reason) => {
                        warn!(height, %reason, "proposed block is invalid; prevoting nil");
                        false
                    }
                };
                self.feed(Input::ValidityVerdict {
                    height: Height(height),
                    value_id,
                    valid,
                });
            }
            LoopEvent::SyncStatus { peer, height } => {
                self.best_peer_height = self.best_peer_height.max(height);
                self.sync_in_flight = false;
                if height > self.committed_height() && self.should_fetch(height) {
                    self.fetch_blocks(peer, self.committed_height() + 1);
                }
                self.publish_status();
            }
            LoopEvent::SyncBlocks { peer, blocks } => {
                self.sync_in_flight = false;
                // The next batch is asked for before this one is applied, so the peer reads and sends it while
                // we verify and commit. Should this batch fail part way, the next one does not follow on and
                // is dropped; the request after it starts again from our committed height.
                let heights = blocks
                    .first()
                    .zip(blocks.last())
                    .map(|(first, last)| (first.block.header.height, last.block.header.height));
                if let Some(next) = next_batch_from(self.committed_height(), heights)
                    && self.best_peer_height >= next
                {
                    self.fetch_blocks(peer, next);
                }
                self.apply_synced(blocks);
            }
            LoopEvent::SyncFailed => self.sync_in_flight = false,
        }
    }

    /// Behind by more than the height in progress, or the current height is stuck while a peer has it.
    fn should_fetch(&self, peer_height: u64) -> bool {
        let committed = self.committed_height();
        peer_height > committed + 1
            || self.pending_decision.is_some()
            || self.height_started.elapsed() > Duration::from_secs(2)
    }

    pub fn on_network(&mut self, event: NetworkEvent) {
        match event {
            NetworkEvent::Message {
                topic,
                source,
                id,
                data,
            } => {
                let verdict = match topic {
                    Topic::Consensus => self.on_consensus_bytes(&data),
                    Topic::ProposalParts => self.on_part_bytes(&data),
                    Topic::Transactions => self.on_tx_bytes(&data),
                };
                if verdict == Verdict::Reject {
                    debug!(%source, ?topic, "rejected gossip message");
                }
                let _ = self.net.try_report(id, source, verdict);
            }
            NetworkEvent::PeerConnected(peer) => {
                debug!(%peer, "peer connected");
                self.peers.insert(peer);
                self.metrics.set_peers(self.peers.len());
                self.status.write().peers = self.peers.iter().map(|p| p.to_string()).collect();
                self.resend_own();
                // A node starting behind learns so now rather than at its next sync tick.
                self.ask_status(peer);
            }
            NetworkEvent::PeerDisconnected(peer) => {
                debug!(%peer, "peer disconnected");
                self.peers.remove(&peer);
                self.metrics.set_peers(self.peers.len());
                self.status.write().peers = self.peers.iter().map(|p| p.to_string()).collect();
            }
            NetworkEvent::SyncRequest {
                peer,
                request,
                reply,
            } => {
                let response = self.answer_sync(request);
                trace!(%peer, "sync request answered");
                let _ = self.net.try_respond(reply, response);
            }
        }
    }

    fn on_consensus_bytes(&mut self, data: &[u8]) -> Verdict {
        let envelope: ConsensusEnvelope = match wire::decode(data) {
            Ok(e) => e,
            Err(_) => return Verdict::Reject,
        };
        match envelope.message {
            ConsensusMessage::Vote(vote) => {
                if !self.vote_signature_ok(&vote) {
                    return Verdict::Reject;
                }
                self.hooks.observed_vote(&vote);
                if self.beyond_window(vote.vote.height, vote.vote.round) {
                    // Validly signed but of no use to anyone yet: neither kept nor relayed (a flood of these
                    // from a faulty validator dies here).
                    return Verdict::Ignore;
                }
                self.feed(Input::Vote(vote));
                Verdict::Accept
            }
            ConsensusMessage::Proposal(proposal) => {
                if proposal.proposal.value.chain_id != self.app.genesis().chain_id {
                    return Verdict::Reject;
                }
                if proposal.proposal.value.height != proposal.proposal.height.0 {
                    return Verdict::Reject;
                }
                if proposal.proposal.height == self.driver.height()
                    && !self.proposal_signature_ok(&proposal)
                {
                    // Not signed by this round's proposer for this chain: never relay it.
                    return Verdict::Reject;
                }
                self.hooks.observed_proposal(&proposal);
                if self.beyond_window(proposal.proposal.height, proposal.proposal.round) {
                    return Verdict::Ignore;
                }
                self.feed(Input::Proposal(*proposal));
                Verdict::Accept
            }
        }
    }

    /// Further ahead than the engine buffers (heights) or considers (rounds at the current height).
    fn beyond_window(&self, height: Height, round: cvm_consensus::Round) -> bool {
        let config = self.driver.config();
        let current = self.driver.height();
        height.0 > current.0 + config.max_future_heights
            || (height == current
                && round.0
                    > self
                        .driver
                        .round()
                        .0
                        .saturating_add(config.max_future_rounds))
    }

    fn proposal_signature_ok(&self, proposal: &cvm_consensus::SignedProposal<BlockHeader>) -> bool {
        let index = self.validators.proposer(proposal.proposal.round);
        let Some((_, key)) = self.validators.get(index) else {
            return false;
        };
        proposal.verify(self.app.chain_id(), key, self.verifier.as_ref())
    }

    fn vote_signature_ok(&self, vote: &SignedVote) -> bool {
        let Some(index) = self.validators.index_of(&vote.vote.validator) else {
            return false;
        };
        let Some((_, key)) = self.validators.get(index) else {
            return false;
        };
        vote.verify(self.app.chain_id(), key, self.verifier.as_ref())
    }

    fn on_part_bytes(&mut self, data: &[u8]) -> Verdict {
        let msg: PartMessage = match wire::decode(data) {
            Ok(m) => m,
            Err(_) => return Verdict::Reject,
        };
        let current = self.driver.height().0;
        match self.parts.add(current, msg.height, msg.parts, msg.part) {
            Ok(PartOutcome::Completed) => {
                if let Some(waiting) = self.waiting_for_body.remove(&msg.parts.root) {
                    let body = self
                        .parts
                        .body(&msg.parts)
                        .cloned()
                        .expect("just completed");
                    for (_, header) in waiting {
                        self.spawn_validation(header, body.clone());
                    }
                }
                if let Some((header, cert)) = self.pending_decision.clone()
                    && header.parts == msg.parts
                    && let Some(next) = self.decide(header, cert)
                {
                    self.feed(next);
                }
                Verdict::Accept
            }
            Ok(PartOutcome::Added) => Verdict::Accept,
            Ok(PartOutcome::Duplicate) | Ok(PartOutcome::Ignored) => Verdict::Ignore,
            Err(e) => {
                debug!(error = %e, "bad block part");
                Verdict::Reject
            }
        }
    }

    fn on_tx_bytes(&mut self, data: &[u8]) -> Verdict {
        let app = self.app.clone();
        let result = Mempool::admit_shared(&self.mempool, Origin::Relayed, data, |acct| {
            app.committed_nonce(acct)
        });
        use super::mempool::AdmitError as E;
        match result {
            Ok(_) => Verdict::Accept,
            Err(
                E::Undecodable(_) | E::BadSignature(_) | E::WrongChain { .. } | E::TooLarge { .. },
            ) => Verdict::Reject,
            Err(_) => Verdict::Ignore,
        }
    }

    // ---- sync ----

    fn answer_sync(&self, request: SyncRequest) -> SyncResponse {
        match request {
            SyncRequest::Status => SyncResponse::Status {
                height: self.committed_height(),
            },
            SyncRequest::Blocks { from, max } => {
                let storage = self.app.storage();
                let mut blocks = Vec::new();
                let mut bytes = 0usize;
                let limit = self.net.max_message_bytes().saturating_sub(1024);
                let last = self.committed_height();
                let mut h = from.max(1);
                while h <= last && blocks.len() < max.min(SYNC_BATCH) as usize {
                    let (Ok(Some(block)), Ok(Some(certificate))) =
                        (storage.block(h), storage.commit(h))
                    else {
                        break;
                    };
                    let synced = SyncedBlock { block, certificate };
                    let size = synced.encoded_size();
                    if bytes + size > limit && !blocks.is_empty() {
                        break;
                    }
                    if size > limit {
                        return SyncResponse::Error(format!("block {h} exceeds the message limit"));
                    }
                    bytes += size;
                    blocks.push(synced);
                    h += 1;
                }
                SyncResponse::Blocks(blocks)
            }
        }
    }

    /// Asks a random peer how far it is; called on a timer.
    pub fn sync_tick(&mut self) {
        self.hooks.tick(self.driver.height().0, &self.net);
        // Published client transactions age out of the gossip window even while no block commits.
        publish_due(&self.mempool, &self.net, None);
        let state = (
            self.driver.height().0,
            self.driver.round().0,
            self.driver.step(),
        );
        match self.stall.check(state, Instant::now()) {
            StallAction::None => {}
            StallAction::Rebroadcast => {
                debug!(
                    height = state.0,
                    round = state.1,
                    "no consensus progress; re-broadcasting what this node signed"
                );
                self.resend_own();
            }
            StallAction::Reconnect => {
                info!(
                    height = state.0,
                    round = state.1,
                    "consensus stalled despite re-broadcasts; reconnecting to peers"
                );
                if let Err(e) = self.net.reconnect_all() {
                    debug!(error = %e, "reconnect");
                }
                self.resend_own();
            }
        }
        let peers: Vec<libp2p::PeerId> = self.peers.iter().copied().collect();
        if peers.is_empty() {
            return;
        }
        self.ask_status(peers[rand::random::<usize>() % peers.len()]);
    }

    /// Asks `peer` how far it is, unless a sync request is already out.
    fn ask_status(&mut self, peer: libp2p::PeerId) {
        self.sync_request(peer, SyncRequest::Status);
    }

    /// Asks `peer` for the blocks from height `from` on, unless a sync request is already out.
    fn fetch_blocks(&mut self, peer: libp2p::PeerId, from: u64) {
        self.sync_request(
            peer,
            SyncRequest::Blocks {
                from,
                max: SYNC_BATCH,
            },
        );
    }

    /// Sends `request` to `peer` unless a sync request is already out; the answer comes back as a loop event
    /// (an answer of another kind than asked, an error or a timeout as `SyncFailed`).
    fn sync_request(&mut self, peer: libp2p::PeerId, request: SyncRequest) {
        if self.sync_in_flight {
            return;
        }
        self.sync_in_flight = true;
        let net = self.net.clone();
        let tx = self.events_tx.clone();
        let asked_status = matches!(request, SyncRequest::Status);
        tokio::spawn(async move {
            let event = match net.request(peer, request).await {
                Ok(SyncResponse::Status { height }) if asked_status => {
                    LoopEvent::SyncStatus { peer, height }
                }
                Ok(SyncResponse::Blocks(blocks)) if !asked_status => {
                    LoopEvent::SyncBlocks { peer, blocks }
                }
                other => {
                    debug!(?other, "sync request failed");
                    LoopEvent::SyncFailed
                }
            };
            let _ = tx.send(event);
        });
    }

    fn apply_synced(&mut self, blocks: Vec<SyncedBlock>) {
        let from = self.committed_height();
        // All the batch's certificate signatures in one ed25519 batch: the shared caching verifier then
        // answers each block's own certificate check from memory.
        let all_valid = CommitCertificate::verify_signatures_together(
            blocks.iter().map(|b| &b.certificate),
            &self.validators,
            self.app.chain_id(),
            self.verifier.as_ref(),
        );
        if !all_valid {
            debug!("a synced certificate carries an invalid signature; checking block by block");
        }
        self.durable_commits = false;
        self.apply_synced_batch(blocks);
        self.durable_commits = true;
        if self.committed_height() > from
            && let Err(e) = self.app.storage().sync()
        {
            self.halt(format!("cannot make synced blocks durable: {e}"));
        }
    }

    fn apply_synced_batch(&mut self, blocks: Vec<SyncedBlock>) {
        for SyncedBlock { block, certificate } in blocks {
            let committed = self.committed_height();
            if block.header.height <= committed {
                continue;
            }
            if block.header.height != committed + 1 {
                break;
            }
            if certificate.value_id.0 != block.hash() || certificate.height.0 != block.header.height
            {
                warn!(
                    height = block.header.height,
                    "synced block does not match its certificate; dropped"
                );
                break;
            }
            if !block.body_matches_header(self.app.params().part_size as usize) {
                warn!(
                    height = block.header.height,
                    "synced block body does not match its header; dropped"
                );
                break;
            }
            self.parts
                .insert_body(block.header.height, block.header.parts, block.body.clone());
            if let Some((header, cert)) = self.pending_decision.clone()
                && header.hash() == block.hash()
            {
                if let Some(next) = self.decide(header, cert) {
                    self.feed(next);
                }
                continue;
            }
            // The driver verifies the certificate and decides; the commit path executes and stores.
            self.feed(Input::Commit {
                value: block.header,
                certificate,
            });
            if self.committed_height() != committed + 1 {
                warn!(
                    height = committed + 1,
                    "synced block was not committed; stopping this batch"
                );
                break;
            }
        }
    }
}

/// Where the sync request after a batch spanning `heights` (first, last) starts: after the batch when it follows
/// on from `committed` (it will be applied), else again from `committed` (a batch asked for before a failed one
/// was applied, or stale); none after an empty answer (the peer has nothing more).
fn next_batch_from(committed: u64, heights: Option<(u64, u64)>) -> Option<u64> {
    let (first, last) = heights?;
    Some(if first <= committed + 1 && last > committed {
        last + 1
    } else {
        committed + 1
    })
}

impl Runner {
    /// Carries out the effects of a WAL replay (re-broadcasts, timers, pending requests).
    pub fn replay_effects(&mut self, effects: Vec<cvm_consensus::Effect<BlockHeader>>) {
        let mut queue: VecDeque<Input<BlockHeader>> = VecDeque::new();
        for effect in effects {
            // Replayed WAL records are already in the WAL.
            if matches!(effect, cvm_consensus::Effect::PersistToWal(_)) {
                continue;
            }
            if let Some(next) = self.apply(effect) {
                queue.push_back(next);
            }
        }
        while let Some(input) = queue.pop_front() {
            self.feed(input);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cvm_consensus::Step;

    #[test]
    fn the_next_sync_batch_follows_a_batch_that_follows_on_and_restarts_otherwise() {
        assert_eq!(next_batch_from(10, Some((11, 74))), Some(75), "follows on");
        assert_eq!(
            next_batch_from(10, Some((5, 20))),
            Some(21),
            "overlaps what we have"
        );
        assert_eq!(
            next_batch_from(10, Some((75, 138))),
            Some(11),
            "asked for before a batch that failed part way: start again after what we committed"
        );
        assert_eq!(next_batch_from(10, Some((3, 9))), Some(11), "stale");
        assert_eq!(next_batch_from(10, None), None, "the peer has no more");
    }

    #[test]
    fn stall_watch_rebroadcasts_then_reconnects_and_backs_off() {
        use StallAction::*;
        let mut watch = StallWatch::new();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let a = (5, 0, Step::Prevote);
        assert_eq!(watch.check(a, at(0)), None, "a new state is progress");
        assert_eq!(watch.check(a, at(900)), None);
        assert_eq!(
            watch.check(a, at(1000)),
            Rebroadcast,
            "stalled for the first wait"
        );
        assert_eq!(watch.check(a, at(2500)), None, "the wait doubled to 2 s");
        assert_eq!(watch.check(a, at(3000)), Rebroadcast);
        assert_eq!(watch.check(a, at(6900)), None);
        assert_eq!(
            watch.check(a, at(7000)),
            Reconnect,
            "then 4 s, and re-broadcasts did not help"
        );
        for i in 0..5 {
            assert_eq!(
                watch.check(a, at(7000 + 8000 * (i + 1))),
                Reconnect,
                "capped at 8 s"
            );
        }
        let b = (5, 0, Step::Precommit);
        assert_eq!(watch.check(b, at(60_000)), None, "a step change resets");
        assert_eq!(
            watch.check(b, at(61_000)),
            Rebroadcast,
            "back to the first wait, and to re-broadcasting"
        );
    }
}
