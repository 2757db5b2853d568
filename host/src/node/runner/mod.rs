//! The node's event loop: feeds the consensus driver with network messages, timers and execution results, and
//! carries out its effects. Single-threaded over the driver; execution runs on blocking threads and reports back
//! as [`LoopEvent`]s.
//!
//! This file dispatches; one file per kind of input or job holds the handling:
//! - `consensus`: consensus gossip in (signature and window checks), this node's own messages out, the WAL.
//! - `evidence`: duplicate-vote evidence from the engine and from gossip into the pool, and out of it after commits.
//! - `parts`: block parts in and out; `body_fetch` (state in `body_wants`): bodies asked of peers when their parts
//!   do not come.
//! - `proposal`: building the block this node proposes, validating others' by re-execution.
//! - `commit`: carrying out a decision (execute or reuse, store, start the next height).
//! - `txs`: transaction gossip into the mempool, on a task of its own (the loop never decodes nor verifies one).
//! - `peers`: peers connecting and leaving.
//! - `sync_serve` / `sync_fetch`: block sync, as the side that answers and the side that asks (`sync_sources`:
//!   the source data synced blocks ingest); `sync_budget` bounds what answering costs, `sync_claims` what peers'
//!   claimed heights are believed.
//! - `round_zero`: when a height's round 0 begins (at once with work, else after the chain's idle interval).
//! - `stall_watch`: noticing a height that does not move.
//! - `state`: what the loop holds, grouped by concern; `events`: what its helper tasks report.

mod body_fetch;
mod body_wants;
mod commit;
mod consensus;
mod events;
mod evidence;
mod parts;
mod peers;
mod proposal;
mod round_zero;
mod stall_watch;
mod state;
mod sync_budget;
mod sync_claims;
mod sync_fetch;
mod sync_serve;
mod sync_sources;
mod txs;

use std::collections::VecDeque;
use std::time::Instant;

use cvm_consensus::driver::Admission;
use cvm_consensus::{Effect, Input, Step};
use tracing::{debug, error, info};

pub use events::LoopEvent;
pub use state::Runner;
pub(crate) use state::{Consensus, Shared};
pub use txs::spawn_tx_intake;

use crate::chain::BlockHeader;
use crate::network::{NetworkEvent, Topic, Verdict};
use crate::node::tx_gossip::publish_due;
use stall_watch::StallAction;

impl Runner {
    /// Feeds one input and carries out everything that follows from it.
    pub fn feed(&mut self, input: Input<BlockHeader>) {
        self.feed_with_admission(input);
    }

    /// [`Self::feed`], telling what the engine made of the input itself (for a gossiped proposal or vote: whether
    /// it is new and used, so worth relaying).
    pub(crate) fn feed_with_admission(&mut self, input: Input<BlockHeader>) -> Option<Admission> {
        let admission = self.run_inputs(input);
        // A height this input started (or left waiting) may have work already.
        if let Some(begin) = self.round_zero_begin() {
            self.run_inputs(begin);
        }
        self.publish_status();
        admission
    }

    /// Feeds `input` and the inputs its effects lead to; returns what the engine made of `input` itself.
    fn run_inputs(&mut self, input: Input<BlockHeader>) -> Option<Admission> {
        let mut admission = None;
        let mut queue = VecDeque::from([input]);
        while let Some(input) = queue.pop_front() {
            if self.consensus.halted.is_some() {
                break;
            }
            let waiting = self.consensus.driver.step() == Step::NewHeight;
            match self.consensus.driver.handle_with_outcome(input) {
                Ok((effects, outcome)) => {
                    admission.get_or_insert(outcome);
                    if waiting && self.consensus.driver.step() != Step::NewHeight {
                        // Finality latency counts from round 0, not from the wait for work before it.
                        self.commits.height_started = Instant::now();
                    }
                    self.apply_all(effects, &mut queue);
                }
                Err(e) => debug!(error = %e, "consensus input refused"),
            }
        }
        admission
    }

    /// Carries out the effects of a WAL replay (re-broadcasts, timers, pending requests). The replay returns no
    /// record the WAL holds already; the records it does return are of messages it signed anew, and are made
    /// durable before those leave.
    pub fn replay_effects(&mut self, effects: Vec<Effect<BlockHeader>>) {
        let mut queue: VecDeque<Input<BlockHeader>> = VecDeque::new();
        self.apply_all(effects, &mut queue);
        while let Some(input) = queue.pop_front() {
            self.feed(input);
        }
        self.begin_round_zero_if_due();
    }

    /// Carries out an effect list in order; the inputs that follow go to `queue`. Once the node halts (a WAL
    /// record that could not be written or made durable) the rest of the list is dropped: nothing signed after
    /// it may leave.
    fn apply_all(
        &mut self,
        effects: Vec<Effect<BlockHeader>>,
        queue: &mut VecDeque<Input<BlockHeader>>,
    ) {
        for effect in effects {
            if self.consensus.halted.is_some() {
                return;
            }
            if let Some(next) = self.apply(effect) {
                queue.push_back(next);
            }
        }
    }

    fn apply(&mut self, effect: Effect<BlockHeader>) -> Option<Input<BlockHeader>> {
        match effect {
            Effect::PersistToWal(entry) => {
                self.persist(&entry);
                None
            }
            Effect::BroadcastProposal(proposal) => {
                self.broadcast_proposal(proposal);
                None
            }
            Effect::BroadcastVote(vote) => {
                self.broadcast_vote(vote);
                None
            }
            Effect::ScheduleTimeout { timeout, duration } => {
                let tx = self.shared.events_tx.clone();
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
                self.on_own_evidence(evidence);
                None
            }
        }
    }

    fn halt(&mut self, reason: String) {
        error!(%reason, "node halts; nothing further is signed");
        self.consensus.halted = Some(reason);
    }

    fn publish_status(&self) {
        let driver = &self.consensus.driver;
        let mut status = self.shared.status.write();
        status.round = driver.round().0;
        status.consensus_height = driver.height().0;
        status.syncing = self.sync.syncing(status.height, Instant::now());
        status.best_peer_height = self.sync.best_peer_height();
        status.halted = self.consensus.halted.clone();
        drop(status);
        self.shared.metrics.set_round(driver.round().0);
        let (txs, bytes) = {
            let pool = self.shared.mempool.lock();
            (pool.len(), pool.bytes())
        };
        self.shared.metrics.set_mempool(txs, bytes);
        let evidence = self.shared.evidence.lock().len();
        self.shared.metrics.set_evidence_pending(evidence);
    }

    /// An event from one of the loop's helper tasks.
    pub fn on_loop_event(&mut self, event: LoopEvent) {
        match event {
            LoopEvent::Timeout(timeout) => self.on_timeout(timeout),
            LoopEvent::Built {
                height,
                round,
                result,
            } => self.on_built(height, round, result),
            LoopEvent::Validated {
                height,
                value_id,
                result,
            } => self.on_validated(height, value_id, result),
            LoopEvent::RetryValidation { header, body } => self.on_retry_validation(*header, body),
            LoopEvent::SyncStatus { peer, height } => self.on_sync_status(peer, height),
            LoopEvent::SyncBlocks { peer, blocks } => self.on_sync_blocks(peer, blocks),
            LoopEvent::SyncSources {
                peer,
                blocks,
                missing,
                bad_peers,
            } => self.on_sync_sources(peer, blocks, missing, bad_peers),
            LoopEvent::SyncFailed => self.sync.in_flight = false,
            LoopEvent::BodyFetched {
                height,
                parts,
                body,
            } => self.on_body_fetched(height, parts, body),
            LoopEvent::IdleDeadline { height } => self.on_idle_deadline(height),
        }
    }

    /// An event from the network.
    pub fn on_network(&mut self, event: NetworkEvent) {
        match event {
            NetworkEvent::Message {
                topic,
                source,
                id,
                data,
            } => {
                let verdict = match topic {
                    Topic::Consensus => Some(self.on_consensus_bytes(source, &data)),
                    Topic::ProposalParts => self.on_part_bytes(source, id.clone(), &data),
                    // Transactions come on their own channel, to the intake task (`txs`); none is checked here.
                    Topic::Transactions => Some(Verdict::Ignore),
                };
                if verdict == Some(Verdict::Reject) {
                    debug!(%source, ?topic, "rejected gossip message");
                }
                if let Some(verdict) = verdict {
                    let _ = self.shared.net.try_report(id, source, verdict);
                }
            }
            NetworkEvent::PeerConnected(peer) => self.on_peer_connected(peer),
            NetworkEvent::PeerDisconnected(peer) => self.on_peer_disconnected(peer),
            NetworkEvent::SyncRequest {
                peer,
                request,
                reply,
            } => self.on_sync_request(peer, request, reply),
        }
    }

    /// Called on a timer (twice a second): test hooks, the gossip window, the stall watch, and a status request to
    /// a random peer.
    pub fn tick(&mut self) {
        let driver = &self.consensus.driver;
        let state = (driver.height().0, driver.round().0, driver.step());
        self.hooks.tick(state.0, &self.shared.net);
        // Published client transactions age out of the gossip window even while no block commits.
        publish_due(&self.shared.mempool, &self.shared.net, None);
        // A height waiting for work is idle, not stalled: nothing is lost that a re-broadcast would bring back.
        let action = if driver.awaiting_begin() {
            StallAction::None
        } else {
            self.stall.check(state, Instant::now())
        };
        match action {
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
                if let Err(e) = self.shared.net.reconnect_all() {
                    debug!(error = %e, "reconnect");
                }
                self.resend_own();
            }
        }
        if let Some((header, _)) = &self.commits.pending_decision {
            let (height, parts) = (header.height, header.parts);
            self.want_body(height, parts);
        }
        self.fetch_wanted_bodies();
        self.ask_random_peer();
    }
}
