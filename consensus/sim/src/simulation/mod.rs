//! The event loop: N validators running real [`Driver`](cvm_consensus::Driver)s with real
//! ed25519 signatures over a simulated, seeded network.
//!
//! Everything random comes from one `ChaCha8Rng` seeded by [`SimConfig::seed`], and events
//! with equal times run in scheduling order, so a seed always yields the same trace (see
//! [`SimReport::trace_hash`]). [`Invariants`] are checked as events happen; liveness is
//! checked by a deadline: every correct node must decide every height by
//! `gst + heights * per_height_bound_ms`.

mod collusion;
mod execute;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cvm_consensus::{
    ChainId, Config, Ed25519Signer, Height, Input, Round, SignatureVerifier, SignedMessage, Signer,
    ValidatorSet, Value, ValueId,
};
use parity_scale_codec::Encode;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::application::{self, Schedule};
use crate::byzantine::{self, Behaviour};
use crate::config::SimConfig;
use crate::host;
use crate::invariants::Invariants;
use crate::network::{Event, EventQueue, NetMsg};
use crate::node::Node;
use crate::report::{SimFailure, SimReport};
use crate::value::SimValue;
use crate::verifier::verifiers;

/// How often an idle network may prompt laggards to sync before the run counts as stuck.
const MAX_IDLE_SYNCS: u32 = 100;

/// The state of one run: the nodes, the event queue and the checks.
struct Simulation {
    cfg: SimConfig,
    rng: ChaCha8Rng,
    now: u64,
    queue: EventQueue,
    nodes: Vec<Node>,
    /// The application's change sets and the set of every height they imply.
    schedule: Schedule,
    /// With set changes: how far ahead the engine buffers (gossip holds what is beyond).
    hold_beyond: Option<u64>,
    chain_id: ChainId,
    checker_verifier: Arc<dyn SignatureVerifier>,
    invariants: Invariants,
    trace: Sha256,
    events: u64,
    synced: u64,
    max_round: u32,
    /// Messages from Byzantine senders already re-gossiped by a correct node.
    relayed: BTreeSet<[u8; 32]>,
    /// When each value was first proposed (for hosts whose verdict depends on time).
    first_proposed: BTreeMap<ValueId, u64>,
    /// The two values colluders back per (height, round), once a colluder proposed them.
    collusion: BTreeMap<(Height, Round), (ValueId, ValueId)>,
    /// Validation requests repeated for a value at a height by a node.
    revalidations: u64,
}

/// Runs one simulation to completion.
pub fn run(cfg: &SimConfig) -> Result<SimReport, SimFailure> {
    Simulation::new(cfg.clone())?.run()
}

impl Simulation {
    fn new(cfg: SimConfig) -> Result<Self, SimFailure> {
        let n = cfg.behaviours.len();
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let signers: Vec<Arc<Ed25519Signer>> = (0..n)
            .map(|_| Arc::new(Ed25519Signer::from_seed(rng.r#gen())))
            .collect();
        let powers = cfg.adversity.powers.clone().unwrap_or_else(|| vec![1; n]);
        let changes = cfg.adversity.set_changes.as_ref();
        // Standby validators (the first correct ones) join later, if the application says so.
        let standby = changes.map_or(0, |c| c.standby);
        let genesis = ValidatorSet::new(
            signers
                .iter()
                .zip(powers)
                .skip(standby)
                .map(|(s, p)| (s.validator_id(), p)),
        )
        .expect("distinct keys");
        let ids_where = |correct: bool| {
            signers
                .iter()
                .zip(&cfg.behaviours)
                .filter(|(_, b)| b.is_correct() == correct)
                .map(|(s, _)| s.validator_id())
                .collect::<BTreeSet<_>>()
        };
        let schedule = application::schedule(
            genesis,
            cfg.heights,
            &ids_where(true),
            &ids_where(false),
            changes,
            cfg.seed,
        )
        .map_err(|reason| SimFailure {
            config: cfg.name.clone(),
            seed: cfg.seed,
            time_ms: 0,
            reason,
            reproduce: cfg.reproduce_command(),
        })?;
        let (shared, checker_verifier) = verifiers(cfg.verification);
        let chain_id = ChainId::new(format!("sim-{}", cfg.seed));
        let mut config = Config::new(chain_id.clone());
        config.timeouts = cfg.timeouts.clone();
        let mut nodes: Vec<Node> = signers
            .iter()
            .zip(&cfg.behaviours)
            .map(|(s, b)| Node::new(*b, s.clone(), shared.clone(), config.clone()))
            .collect();
        for node in &mut nodes {
            // Genesis gives the sets of heights 1 and 2; each node computes the later ones.
            node.sets = schedule.sets[..3].to_vec();
        }
        let correct = signers
            .iter()
            .zip(&cfg.behaviours)
            .filter(|(_, b)| b.is_correct())
            .map(|(s, _)| s.validator_id());
        if cfg.adversity.verdict_lag_ms > 0 {
            let correct: Vec<usize> = (0..n).filter(|i| cfg.behaviours[*i].is_correct()).collect();
            let lagging = correct[rng.gen_range(0..correct.len())];
            let lag = cfg.adversity.verdict_lag_ms;
            nodes[lagging].verdict_lag_ms = rng.gen_range(lag / 2..=lag);
        }
        Ok(Simulation {
            first_proposed: BTreeMap::new(),
            collusion: BTreeMap::new(),
            revalidations: 0,
            invariants: Invariants::new(correct),
            rng,
            now: 0,
            queue: EventQueue::default(),
            nodes,
            hold_beyond: changes.map(|_| config.max_future_heights),
            schedule,
            chain_id,
            checker_verifier,
            trace: Sha256::new(),
            events: 0,
            synced: 0,
            max_round: 0,
            relayed: BTreeSet::new(),
            cfg,
        })
    }

    fn fail(&self, reason: impl Into<String>) -> SimFailure {
        SimFailure {
            config: self.cfg.name.clone(),
            seed: self.cfg.seed,
            time_ms: self.now,
            reason: reason.into(),
            reproduce: self.cfg.reproduce_command(),
        }
    }

    fn correct_nodes(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|i| self.nodes[*i].behaviour.is_correct())
    }

    fn done(&self) -> bool {
        let h = Height(self.cfg.heights);
        self.correct_nodes()
            .all(|i| self.nodes[i].decided.contains_key(&h))
    }

    fn run(mut self) -> Result<SimReport, SimFailure> {
        if self.cfg.crash_restart {
            let correct: Vec<usize> = self.correct_nodes().collect();
            let victim = correct[self.rng.gen_range(0..correct.len())] as u32;
            let at = self.rng.gen_range(0..self.cfg.network.gst_ms.max(1) + 500);
            self.queue.push(at, Event::Crash { node: victim });
            let back = at + self.rng.gen_range(50..1_500);
            self.queue.push(back, Event::Restart { node: victim });
        }
        for _ in 0..self.cfg.adversity.crashes {
            // Armed now, it crashes inside one of its next effect lists and restarts later.
            let correct: Vec<usize> = self.correct_nodes().collect();
            let victim = correct[self.rng.gen_range(0..correct.len())] as u32;
            let at = self.rng.gen_range(0..self.cfg.network.gst_ms + 4_000);
            self.queue.push(at, Event::Crash { node: victim });
        }
        for i in 0..self.nodes.len() {
            let validators = self.nodes[i].sets[1].clone();
            self.input(
                i,
                Input::StartHeight {
                    height: Height(1),
                    validators,
                },
            )?;
        }
        let deadline = self.cfg.network.gst_ms + self.cfg.heights * self.cfg.per_height_bound_ms;
        let mut idle_syncs = 0;
        while !self.done() {
            if self.queue.is_empty() && idle_syncs < MAX_IDLE_SYNCS {
                // Everyone is idle: as a real network's status gossip does, a node that is
                // behind asks its peers for the commit of its height.
                idle_syncs += 1;
                self.sync_laggards();
            }
            let Some((time, event)) = self.queue.pop() else {
                return Err(self.fail(format!(
                    "liveness: no more events but not all heights decided ({})",
                    self.progress()
                )));
            };
            if time > deadline {
                self.now = time;
                return Err(self.fail(format!(
                    "liveness: not all correct nodes decided {} heights by t={deadline}ms ({})",
                    self.cfg.heights,
                    self.progress()
                )));
            }
            self.events += 1;
            if self.events > self.cfg.max_events {
                return Err(self.fail("event budget exhausted"));
            }
            self.now = time;
            self.trace.update(time.to_le_bytes());
            self.trace.update(event.encode());
            self.step(event)?;
        }
        let max_sync_streak = self
            .correct_nodes()
            .map(|i| self.nodes[i].max_sync_streak)
            .max()
            .unwrap_or(0);
        if let Some(bound) = self.cfg.adversity.max_sync_streak
            && max_sync_streak > bound
        {
            return Err(self.fail(format!(
                "liveness: a correct node decided {max_sync_streak} heights in a row by sync alone (bound {bound})"
            )));
        }
        let first = self.correct_nodes().next().expect("a correct node");
        let [set_changes, joins, leaves, power_changes] =
            self.schedule.applied_within(self.cfg.heights);
        Ok(SimReport {
            set_changes,
            joins,
            leaves,
            power_changes,
            max_sync_streak,
            revalidations: self.revalidations,
            seed: self.cfg.seed,
            heights: self.cfg.heights,
            max_round: self.max_round,
            events: self.events,
            sim_time_ms: self.now,
            trace_hash: self.trace.finalize().into(),
            evidence: self.invariants.evidence_seen,
            synced_decisions: self.synced,
            decided: self.nodes[first]
                .decided
                .values()
                .map(|(v, _)| v.id())
                .collect(),
        })
    }

    fn progress(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| n.describe(i))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn step(&mut self, event: Event) -> Result<(), SimFailure> {
        match event {
            Event::Deliver { to, from, msg } => self.deliver(to as usize, from as usize, msg),
            Event::Crash { node } if self.cfg.adversity.crashes > 0 => {
                let n = &mut self.nodes[node as usize];
                n.crash_armed = !n.down;
                Ok(())
            }
            Event::Crash { node } => {
                self.crash_now(node as usize);
                Ok(())
            }
            Event::Restart { node } if !self.nodes[node as usize].down => Ok(()),
            Event::Restart { node } => self.restart(node as usize),
            Event::HostVerdict {
                node,
                height,
                value,
                incarnation,
            } if self.nodes[node as usize].incarnation == incarnation => {
                let i = node as usize;
                let proposed = self.first_proposed.get(&value.id()).copied().unwrap_or(0);
                let ripe = self.now >= proposed + self.nodes[i].verdict_lag_ms;
                let input = Input::ValidityVerdict {
                    height,
                    value_id: value.id(),
                    valid: value.valid && ripe,
                };
                self.input(i, input)
            }
            answer => {
                let incarnation = |node: usize| self.nodes[node].incarnation;
                match host::input_for(answer, incarnation, &mut self.rng) {
                    Some((node, input)) => self.input(node, input),
                    None => Ok(()),
                }
            }
        }
    }

    /// Correct nodes that have not decided every height ask all peers for the commit of
    /// their height.
    fn sync_laggards(&mut self) {
        let last = Height(self.cfg.heights);
        let laggards: Vec<usize> = self
            .correct_nodes()
            .filter(|i| !self.nodes[*i].decided.contains_key(&last))
            .collect();
        for i in laggards {
            let height = self.nodes[i].driver.height();
            for p in (0..self.nodes.len()).filter(|p| *p != i) {
                self.send(i, p, NetMsg::SyncRequest(height));
            }
        }
    }

    /// Rebuilds a crashed node from its WAL bytes and its block store. Like a real host it
    /// then asks its peers for the commit of its height: what it heard but lost with the
    /// unsynced WAL tail is not sent again by anyone.
    fn restart(&mut self, i: usize) -> Result<(), SimFailure> {
        let sets = self.nodes[i].sets.clone();
        let effects = self.nodes[i]
            .restart(i, &sets, self.cfg.heights)
            .map_err(|e| self.fail(e))?;
        self.execute(i, effects)?;
        let height = self.nodes[i].driver.height();
        for p in (0..self.nodes.len()).filter(|p| *p != i) {
            self.send(i, p, NetMsg::SyncRequest(height));
        }
        Ok(())
    }

    fn input(&mut self, i: usize, input: Input<SimValue>) -> Result<(), SimFailure> {
        let node = &mut self.nodes[i];
        if node.down {
            return Ok(());
        }
        let effects = node
            .handle(input)
            .map_err(|e| e.to_string())
            .map_err(|e| self.fail(format!("node {i}: {e}")))?;
        self.execute(i, effects)
    }

    fn deliver(&mut self, to: usize, from: usize, msg: NetMsg) -> Result<(), SimFailure> {
        if self.nodes[to].down {
            // Gossip keeps offering the message until the peer is back (Tendermint assumes
            // messages between correct processes are eventually delivered).
            let to = to as u32;
            let from = from as u32;
            self.queue
                .push(self.now + 100, Event::Deliver { to, from, msg });
            return Ok(());
        }
        match msg {
            NetMsg::Consensus(m) => {
                self.relay_byzantine(to, from, &m);
                let node = &mut self.nodes[to];
                let mine = node.driver.height();
                if m.height() > mine
                    && !node.decided.contains_key(&mine)
                    && node.sync_asked.insert((from, mine))
                {
                    self.send(to, from, NetMsg::SyncRequest(mine));
                }
                let node = &mut self.nodes[to];
                if node.behaviour == Behaviour::Replayer {
                    if node.seen.len() < 256 {
                        node.seen.push(m.clone());
                    } else {
                        let k = self.rng.gen_range(0..256);
                        self.nodes[to].seen[k] = m.clone();
                    }
                    self.replay_old(to);
                }
                if self.held_by_gossip(to, &m) {
                    let (to, from) = (to as u32, from as u32);
                    let msg = NetMsg::Consensus(m);
                    self.queue
                        .push(self.now + 100, Event::Deliver { to, from, msg });
                    return Ok(());
                }
                let input = match m {
                    SignedMessage::Proposal(p) => Input::Proposal(p),
                    SignedMessage::Vote(v) => Input::Vote(v),
                };
                self.input(to, input)
            }
            NetMsg::SyncRequest(h) => {
                let node = &self.nodes[to];
                if node.behaviour == Behaviour::Silent {
                    return Ok(());
                }
                if let Some((v, c)) = node.decided.get(&h) {
                    let reply = NetMsg::SyncResponse(v.clone(), c.clone());
                    self.send(to, from, reply);
                }
                Ok(())
            }
            NetMsg::SyncResponse(value, certificate) => {
                let before = self.nodes[to].decided.len();
                let streak = self.nodes[to].sync_streak;
                self.input(to, Input::Commit { value, certificate })?;
                let node = &mut self.nodes[to];
                if node.decided.len() > before {
                    self.synced += 1;
                    node.sync_streak = streak + 1;
                    node.max_sync_streak = node.max_sync_streak.max(node.sync_streak);
                }
                Ok(())
            }
        }
    }

    /// With set changes, whether gossip holds `m` back from node `to` for now (and offers it
    /// again later), as CometBFT's gossip sends a peer the messages of the height it is at.
    /// The engine buffers early messages only up to `max_future_heights` ahead, and early
    /// votes only from members of its current set: a follower that fell behind while the
    /// others did not need it, then joins the set, would miss the votes of its first height
    /// as a member for good, and the set may need its vote.
    fn held_by_gossip(&self, to: usize, m: &SignedMessage<SimValue>) -> bool {
        let Some(beyond) = self.hold_beyond else {
            return false;
        };
        let node = &self.nodes[to];
        let mine = node.driver.height();
        let h = m.height();
        h.0 > mine.0 + beyond
            || matches!(m, SignedMessage::Vote(v) if h > mine && !node.is_member(mine, &v.vote.validator))
    }

    /// Gossip: a correct node passes on what it hears, so a message a Byzantine node sent to
    /// some correct nodes eventually reaches all of them. Messages from correct senders go
    /// to everyone already, so only Byzantine-sent ones are relayed (once).
    fn relay_byzantine(&mut self, to: usize, from: usize, m: &SignedMessage<SimValue>) {
        if self.nodes[from].behaviour.is_correct() || !self.nodes[to].behaviour.is_correct() {
            return;
        }
        let key: [u8; 32] = Sha256::digest(m.encode()).into();
        if !self.relayed.insert(key) {
            return;
        }
        for p in 0..self.nodes.len() {
            if p != to && p != from {
                self.send(to, p, NetMsg::Consensus(m.clone()));
            }
        }
    }

    /// Replayer: re-send a random old message to a random peer.
    fn replay_old(&mut self, i: usize) {
        if !self.rng.gen_bool(0.3) {
            return;
        }
        let k = self.rng.gen_range(0..self.nodes[i].seen.len());
        let to = self.rng.gen_range(0..self.nodes.len());
        if to != i {
            let m = self.nodes[i].seen[k].clone();
            self.send(i, to, NetMsg::Consensus(m));
        }
    }

    fn send(&mut self, from: usize, to: usize, msg: NetMsg) {
        let at = self.cfg.network.arrival(&mut self.rng, self.now, from, to);
        self.queue.push(
            at,
            Event::Deliver {
                to: to as u32,
                from: from as u32,
                msg,
            },
        );
    }

    fn broadcast(&mut self, from: usize, msg: SignedMessage<SimValue>) -> Result<(), SimFailure> {
        let behaviour = self.nodes[from].behaviour;
        self.invariants
            .on_signed(behaviour.is_correct(), &msg)
            .map_err(|e| self.fail(e))?;
        if let SignedMessage::Proposal(p) = &msg {
            self.first_proposed
                .entry(p.proposal.value.id())
                .or_insert(self.now);
        }
        let peers: Vec<usize> = (0..self.nodes.len()).filter(|p| *p != from).collect();
        match (behaviour, &msg) {
            (Behaviour::Silent, _) => {}
            (Behaviour::Colluder, _) => self.collude(from, &peers, msg)?,
            (Behaviour::EquivocatingProposer, SignedMessage::Proposal(p)) => {
                let signer = self.nodes[from].signer.clone();
                let alt = byzantine::conflicting_proposal(
                    &mut self.rng,
                    p,
                    &self.chain_id,
                    signer.as_ref(),
                );
                let alt = SignedMessage::Proposal(alt);
                self.invariants
                    .on_signed(false, &alt)
                    .map_err(|e| self.fail(e))?;
                self.split_send(from, &peers, msg, alt);
            }
            (Behaviour::DoubleVoter, SignedMessage::Vote(v)) => {
                let signer = self.nodes[from].signer.clone();
                let alt =
                    byzantine::conflicting_vote(&mut self.rng, v, &self.chain_id, signer.as_ref());
                let alt = SignedMessage::Vote(alt);
                // One random peer gets both votes, so equivocation evidence shows up.
                let witness = peers[self.rng.gen_range(0..peers.len())];
                self.send(from, witness, NetMsg::Consensus(alt.clone()));
                self.split_send(from, &peers, msg, alt);
            }
            _ => {
                for p in peers {
                    self.send(from, p, NetMsg::Consensus(msg.clone()));
                }
            }
        }
        Ok(())
    }

    fn split_send(
        &mut self,
        from: usize,
        peers: &[usize],
        a: SignedMessage<SimValue>,
        b: SignedMessage<SimValue>,
    ) {
        let (ga, gb) = byzantine::split_peers(&mut self.rng, peers);
        for p in ga {
            self.send(from, p, NetMsg::Consensus(a.clone()));
        }
        for p in gb {
            self.send(from, p, NetMsg::Consensus(b.clone()));
        }
    }
}
