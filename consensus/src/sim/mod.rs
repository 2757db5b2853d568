//! Deterministic simulation of N validators running real [`Driver`]s with real ed25519
//! signatures over a simulated, seeded network.
//!
//! Everything random comes from one `ChaCha8Rng` seeded by [`SimConfig::seed`], and events
//! with equal times run in scheduling order, so a seed always yields the same trace (see
//! [`SimReport::trace_hash`]). [`Invariants`] are checked as events happen; liveness is
//! checked by a deadline: every correct node must decide every height by
//! `gst + heights * per_height_bound_ms`.

pub mod byzantine;
pub mod invariants;
pub mod network;
pub mod value;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

pub use byzantine::Behaviour;
pub use invariants::Invariants;
pub use network::{Event, EventQueue, NetMsg, NetworkModel};
pub use value::SimValue;

use crate::certificate::CommitCertificate;
use crate::crypto::{
    AcceptAllVerifier, CachingVerifier, Ed25519Signer, Ed25519Verifier, SignatureVerifier, Signer,
};
use crate::driver::{Config, Driver, Effect, Input};
use crate::messages::SignedMessage;
use crate::timeouts::TimeoutConfig;
use crate::types::{ChainId, Height, Value};
use crate::validator::ValidatorSet;
use crate::wal::{MemWal, Wal, decode_entries};
use parity_scale_codec::Encode;

/// How signatures are checked in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Real checks, each distinct signature verified once and shared by all nodes.
    Cached,
    /// Every node verifies every signature itself (what a real network pays).
    PerNode,
    /// No checks (benchmarks only: measures what verification costs).
    Disabled,
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub name: String,
    pub seed: u64,
    /// Behaviour per validator; its length is N.
    pub behaviours: Vec<Behaviour>,
    pub heights: u64,
    pub network: NetworkModel,
    pub timeouts: TimeoutConfig,
    pub verification: Verification,
    /// Crash a correct node once before GST and restart it from its WAL.
    pub crash_restart: bool,
    pub per_height_bound_ms: u64,
    pub max_events: u64,
}

/// Byzantine mixes tried per N. f = 1 for N = 4, f = 2 for N = 7.
const N4: &[(&str, &[Behaviour])] = &[
    (
        "n4-equivocating-proposer",
        &[Behaviour::EquivocatingProposer],
    ),
    ("n4-double-voter", &[Behaviour::DoubleVoter]),
    ("n4-silent", &[Behaviour::Silent]),
    ("n4-amnesia", &[Behaviour::Amnesia]),
    ("n4-replayer", &[Behaviour::Replayer]),
    ("n4-crash-double-voter", &[Behaviour::DoubleVoter]),
];
const N7: &[(&str, &[Behaviour])] = &[
    (
        "n7-equivocator-double-voter",
        &[Behaviour::EquivocatingProposer, Behaviour::DoubleVoter],
    ),
    (
        "n7-silent-amnesia",
        &[Behaviour::Silent, Behaviour::Amnesia],
    ),
    (
        "n7-replayer-equivocator",
        &[Behaviour::Replayer, Behaviour::EquivocatingProposer],
    ),
    (
        "n7-amnesia-double-voter",
        &[Behaviour::Amnesia, Behaviour::DoubleVoter],
    ),
    ("n7-silent-silent", &[Behaviour::Silent, Behaviour::Silent]),
];

impl SimConfig {
    /// Names of the built-in configurations.
    pub fn names() -> Vec<&'static str> {
        N4.iter().chain(N7).map(|(n, _)| *n).collect()
    }

    /// A built-in configuration. Network parameters are drawn from the seed, so one
    /// configuration covers many schedules: GST, delays, loss and whether a partition holds.
    pub fn named(name: &str, seed: u64) -> Option<SimConfig> {
        let (n, byz) = N4
            .iter()
            .map(|c| (4, c))
            .chain(N7.iter().map(|c| (7, c)))
            .find(|(_, (nm, _))| *nm == name)
            .map(|(n, (_, b))| (n, *b))?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_c0de);
        let mut behaviours = vec![Behaviour::Correct; n - byz.len()];
        behaviours.extend_from_slice(byz);
        let partition = rng
            .gen_bool(0.3)
            .then(|| (0..n).map(|_| rng.gen_range(0..2u8)).collect());
        Some(SimConfig {
            name: name.to_string(),
            seed,
            behaviours,
            heights: 20,
            network: NetworkModel {
                gst_ms: rng.gen_range(0..3_000),
                pre_gst_max_delay_ms: rng.gen_range(50..1_500),
                post_gst_max_delay_ms: 40,
                loss: rng.gen_range(0.0..0.3),
                partition,
            },
            timeouts: TimeoutConfig {
                propose: Duration::from_millis(200),
                propose_delta: Duration::from_millis(50),
                prevote: Duration::from_millis(100),
                prevote_delta: Duration::from_millis(50),
                precommit: Duration::from_millis(100),
                precommit_delta: Duration::from_millis(50),
                block_interval: rng.gen_bool(0.5).then(|| Duration::from_millis(20)),
            },
            verification: Verification::Cached,
            crash_restart: name.contains("crash"),
            per_height_bound_ms: 10_000,
            max_events: 2_000_000,
        })
    }

    pub fn reproduce_command(&self) -> String {
        format!(
            "SIM_CONFIG={} SIM_SEED={} cargo test -p cvm-consensus --test simulation -- reproduce_seed --nocapture",
            self.name, self.seed
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimReport {
    pub seed: u64,
    /// Heights decided by every correct node.
    pub heights: u64,
    /// Highest round any correct node decided in.
    pub max_round: u32,
    pub events: u64,
    pub sim_time_ms: u64,
    /// Hash over every processed event with its time: equal seeds give equal hashes.
    pub trace_hash: [u8; 32],
    pub evidence: usize,
    /// Decisions taken from a peer's certificate (block sync) rather than by voting.
    pub synced_decisions: u64,
    /// Decided value ids per height, as seen by the first correct node.
    pub decided: Vec<crate::types::ValueId>,
}

#[derive(Clone, Debug)]
pub struct SimFailure {
    pub config: String,
    pub seed: u64,
    pub time_ms: u64,
    pub reason: String,
    pub reproduce: String,
}

impl fmt::Display for SimFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "simulation {} seed {} failed at t={}ms: {}\n  reproduce: {}",
            self.config, self.seed, self.time_ms, self.reason, self.reproduce
        )
    }
}

struct Node {
    behaviour: Behaviour,
    signer: Arc<Ed25519Signer>,
    driver: Driver<SimValue>,
    wal: MemWal,
    /// The host's block store: survives crashes.
    decided: BTreeMap<Height, (SimValue, CommitCertificate)>,
    incarnation: u32,
    down: bool,
    sync_asked: BTreeSet<(usize, Height)>,
    /// Replayer: messages seen so far (bounded).
    seen: Vec<SignedMessage<SimValue>>,
}

struct Simulation {
    cfg: SimConfig,
    rng: ChaCha8Rng,
    now: u64,
    queue: EventQueue,
    nodes: Vec<Node>,
    sets: Vec<ValidatorSet>,
    chain_id: ChainId,
    verifiers: Vec<Arc<dyn SignatureVerifier>>,
    checker_verifier: Arc<dyn SignatureVerifier>,
    invariants: Invariants,
    trace: Sha256,
    events: u64,
    synced: u64,
    max_round: u32,
    /// Messages from Byzantine senders already re-gossiped by a correct node.
    relayed: BTreeSet<[u8; 32]>,
}

/// Runs one simulation to completion.
pub fn run(cfg: &SimConfig) -> Result<SimReport, SimFailure> {
    Simulation::new(cfg.clone()).run()
}

impl Simulation {
    fn new(cfg: SimConfig) -> Self {
        let n = cfg.behaviours.len();
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let signers: Vec<Arc<Ed25519Signer>> = (0..n)
            .map(|_| Arc::new(Ed25519Signer::from_seed(rng.r#gen())))
            .collect();
        let genesis = ValidatorSet::new(signers.iter().map(|s| (s.validator_id(), 1)))
            .expect("distinct keys");
        // sets[h] is the set of height h (index 0 unused).
        let mut sets = vec![genesis.clone(), genesis];
        while sets.len() < cfg.heights as usize + 2 {
            let next = sets.last().expect("non-empty").next_height();
            sets.push(next);
        }
        let real: Arc<dyn SignatureVerifier> = Arc::new(Ed25519Verifier);
        let shared: Arc<dyn SignatureVerifier> = match cfg.verification {
            Verification::Cached => Arc::new(CachingVerifier::new(Ed25519Verifier)),
            Verification::PerNode => real.clone(),
            Verification::Disabled => Arc::new(AcceptAllVerifier),
        };
        let verifiers: Vec<Arc<dyn SignatureVerifier>> = (0..n).map(|_| shared.clone()).collect();
        let chain_id = ChainId::new(format!("sim-{}", cfg.seed));
        let mut config = Config::new(chain_id.clone());
        config.timeouts = cfg.timeouts.clone();
        let nodes = signers
            .iter()
            .zip(&cfg.behaviours)
            .zip(&verifiers)
            .map(|((s, b), v)| Node {
                behaviour: *b,
                signer: s.clone(),
                driver: Driver::new(config.clone(), s.clone(), v.clone()),
                wal: MemWal::default(),
                decided: BTreeMap::new(),
                incarnation: 0,
                down: false,
                sync_asked: BTreeSet::new(),
                seen: Vec::new(),
            })
            .collect();
        let correct = signers
            .iter()
            .zip(&cfg.behaviours)
            .filter(|(_, b)| b.is_correct())
            .map(|(s, _)| s.validator_id());
        let checker_verifier = match cfg.verification {
            Verification::Cached => shared,
            _ => real,
        };
        Simulation {
            invariants: Invariants::new(correct),
            rng,
            now: 0,
            queue: EventQueue::default(),
            nodes,
            sets,
            chain_id,
            verifiers,
            checker_verifier,
            trace: Sha256::new(),
            events: 0,
            synced: 0,
            max_round: 0,
            relayed: BTreeSet::new(),
            cfg,
        }
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
        for i in 0..self.nodes.len() {
            let validators = self.sets[1].clone();
            self.input(
                i,
                Input::StartHeight {
                    height: Height(1),
                    validators,
                },
            )?;
        }
        let deadline = self.cfg.network.gst_ms + self.cfg.heights * self.cfg.per_height_bound_ms;
        while !self.done() {
            let Some((time, event)) = self.queue.pop() else {
                return Err(self.fail("liveness: no more events but not all heights decided"));
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
        let first = self.correct_nodes().next().expect("a correct node");
        Ok(SimReport {
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
            .map(|(i, n)| {
                let st = n.driver.round_state();
                format!(
                    "n{i}:{:?}@h{}r{}{:?} locked={:?}/{:?} valid={:?}/{:?}",
                    n.behaviour,
                    n.driver.height().0,
                    n.driver.round().0,
                    n.driver.step(),
                    st.locked_round.map(|r| r.0),
                    st.locked_value,
                    st.valid_round.map(|r| r.0),
                    st.valid_value.as_ref().map(|v| v.id()),
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn step(&mut self, event: Event) -> Result<(), SimFailure> {
        match event {
            Event::Deliver { to, from, msg } => self.deliver(to as usize, from as usize, msg),
            Event::Timeout {
                node,
                timeout,
                incarnation,
            } => {
                if self.nodes[node as usize].incarnation != incarnation {
                    return Ok(());
                }
                self.input(node as usize, Input::TimeoutElapsed(timeout))
            }
            Event::HostValue {
                node,
                height,
                round,
                incarnation,
            } => {
                if self.nodes[node as usize].incarnation != incarnation {
                    return Ok(());
                }
                let value = SimValue {
                    height: height.0,
                    round: round.0,
                    proposer: node,
                    nonce: self.rng.r#gen(),
                    valid: true,
                };
                self.input(
                    node as usize,
                    Input::ProposeValue {
                        height,
                        round,
                        value,
                    },
                )
            }
            Event::HostVerdict {
                node,
                height,
                value,
                incarnation,
            } => {
                if self.nodes[node as usize].incarnation != incarnation {
                    return Ok(());
                }
                self.input(
                    node as usize,
                    Input::ValidityVerdict {
                        height,
                        value_id: value.id(),
                        valid: value.valid,
                    },
                )
            }
            Event::Crash { node } => {
                let n = &mut self.nodes[node as usize];
                n.down = true;
                n.incarnation += 1;
                Ok(())
            }
            Event::Restart { node } => self.restart(node as usize),
        }
    }

    /// Rebuilds a crashed node from its WAL bytes and its block store.
    fn restart(&mut self, i: usize) -> Result<(), SimFailure> {
        let mut config = Config::new(self.chain_id.clone());
        config.timeouts = self.cfg.timeouts.clone();
        let decoded = decode_entries::<SimValue>(&self.nodes[i].wal.bytes);
        let (entries, _) = match decoded {
            Ok(d) => d,
            Err(e) => return Err(self.fail(format!("WAL unreadable: {e}"))),
        };
        let node = &mut self.nodes[i];
        node.down = false;
        node.driver = Driver::new(config, node.signer.clone(), self.verifiers[i].clone());
        let effects = if entries.is_empty() {
            // Crashed between heights: continue after the last committed one.
            let next = node.decided.keys().last().map_or(Height(1), |h| h.next());
            if next.0 > self.cfg.heights {
                return Ok(());
            }
            let validators = self.sets[next.0 as usize].clone();
            node.driver
                .handle(Input::StartHeight {
                    height: next,
                    validators,
                })
                .map_err(|e| e.to_string())
        } else {
            node.driver.replay(entries).map_err(|e| e.to_string())
        };
        let effects = effects.map_err(|e| self.fail(format!("restart of node {i}: {e}")))?;
        self.execute(i, effects)
    }

    fn input(&mut self, i: usize, input: Input<SimValue>) -> Result<(), SimFailure> {
        let node = &mut self.nodes[i];
        if node.down {
            return Ok(());
        }
        if node.behaviour == Behaviour::Amnesia {
            node.driver.forget_lock();
        }
        let effects = node
            .driver
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
                self.input(to, Input::Commit { value, certificate })?;
                if self.nodes[to].decided.len() > before {
                    self.synced += 1;
                }
                Ok(())
            }
        }
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
        let peers: Vec<usize> = (0..self.nodes.len()).filter(|p| *p != from).collect();
        match (behaviour, &msg) {
            (Behaviour::Silent, _) => {}
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

    fn execute(&mut self, i: usize, effects: Vec<Effect<SimValue>>) -> Result<(), SimFailure> {
        for effect in effects {
            let incarnation = self.nodes[i].incarnation;
            match effect {
                Effect::PersistToWal(entry) => {
                    Wal::<SimValue>::append(&mut self.nodes[i].wal, &entry)
                        .map_err(|e| self.fail(e.to_string()))?;
                }
                Effect::BroadcastProposal(p) => self.broadcast(i, SignedMessage::Proposal(p))?,
                Effect::BroadcastVote(v) => self.broadcast(i, SignedMessage::Vote(v))?,
                Effect::ScheduleTimeout { timeout, duration } => {
                    let at = self.now + duration.as_millis() as u64;
                    self.queue.push(
                        at,
                        Event::Timeout {
                            node: i as u32,
                            timeout,
                            incarnation,
                        },
                    );
                }
                Effect::RequestValue { height, round, .. } => {
                    let at = self.now + self.rng.gen_range(1..5);
                    self.queue.push(
                        at,
                        Event::HostValue {
                            node: i as u32,
                            height,
                            round,
                            incarnation,
                        },
                    );
                }
                Effect::ValidateValue { height, value, .. } => {
                    let at = self.now + self.rng.gen_range(1..5);
                    self.queue.push(
                        at,
                        Event::HostVerdict {
                            node: i as u32,
                            height,
                            value,
                            incarnation,
                        },
                    );
                }
                Effect::Decide { value, certificate } => self.decide(i, value, certificate)?,
                Effect::ReportEvidence(ev) => {
                    if self.nodes[i].behaviour.is_correct() {
                        let h = ev.vote_a.vote.height;
                        let set = &self.sets[h.0 as usize];
                        self.invariants
                            .on_evidence(&ev, set, &self.chain_id, self.checker_verifier.as_ref())
                            .map_err(|e| self.fail(e))?;
                    }
                }
            }
        }
        Ok(())
    }

    fn decide(
        &mut self,
        i: usize,
        value: SimValue,
        certificate: CommitCertificate,
    ) -> Result<(), SimFailure> {
        let height = certificate.height;
        if self.nodes[i].behaviour.is_correct() {
            let set = &self.sets[height.0 as usize];
            self.invariants
                .on_decide(
                    i,
                    height,
                    &value,
                    &certificate,
                    set,
                    &self.chain_id,
                    self.checker_verifier.as_ref(),
                )
                .map_err(|e| self.fail(e))?;
            if let Some((prev, _)) = self.nodes[i].decided.get(&height)
                && prev != &value
            {
                return Err(self.fail(format!(
                    "node {i} decided {height:?} twice with different values"
                )));
            }
            self.max_round = self.max_round.max(certificate.round.0);
        }
        let node = &mut self.nodes[i];
        node.decided.insert(height, (value, certificate));
        // Committed: the WAL of this height is no longer needed (MemWal cannot fail).
        let _ = Wal::<SimValue>::clear(&mut node.wal);
        let next = height.next();
        if next.0 > self.cfg.heights || next <= node.driver.height() {
            return Ok(());
        }
        let validators = self.sets[next.0 as usize].clone();
        self.input(
            i,
            Input::StartHeight {
                height: next,
                validators,
            },
        )
    }
}
