//! The driver: the engine's only interface to a host.
//!
//! The host feeds [`Input`]s and executes the returned [`Effect`]s **in order**. The driver
//! verifies signatures (through the host's [`SignatureVerifier`]), tallies votes, buffers
//! messages for the near future, evaluates the `upon` rules of Algorithm 1 against its
//! stores and runs the pure [`RoundState`] transitions. It does no I/O and reads no clock.
//!
//! Contract for the host:
//! - Every `PersistToWal` record must be durable (appended and fsynced) before any later
//!   `Broadcast*` effect of the same list is executed. Records can be written without fsync
//!   and synced once before the first broadcast that follows them.
//! - After a crash, reopen the WAL and call [`Driver::replay`] with its entries before
//!   feeding new inputs; execute the effects it returns (all idempotent).
//! - `ScheduleTimeout` asks for `Input::TimeoutElapsed` after the duration; stale timeouts
//!   are harmless. `RequestValue` is answered by `Input::ProposeValue`, `ValidateValue` by
//!   `Input::ValidityVerdict`. After `Decide`, commit the value and send `StartHeight` for
//!   the next height.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, error, trace, warn};

use crate::certificate::CommitCertificate;
use crate::crypto::{SignatureVerifier, Signer, VerifyItem};
use crate::error::{DriverError, MessageError};
use crate::evidence::DuplicateVoteEvidence;
use crate::messages::{Proposal, SignedMessage, SignedProposal, SignedVote, Vote};
use crate::state_machine::{self as sm, Output, RoundState, TimeoutKind};
use crate::timeouts::{Timeout, TimeoutConfig};
use crate::types::{ChainId, Height, Round, Step, ValidatorId, Value, ValueId, VoteKind};
use crate::validator::{ValidatorIndex, ValidatorSet};
use crate::vote_keeper::{AddVote, VoteKeeper};
use crate::wal::WalEntry;

#[derive(Clone, Debug)]
pub struct Config {
    pub chain_id: ChainId,
    pub timeouts: TimeoutConfig,
    /// Messages up to this many heights ahead are buffered; further ones are dropped.
    pub max_future_heights: u64,
    /// Messages more than this many rounds ahead of the current round are dropped.
    pub max_future_rounds: u32,
    /// Cap on buffered future-height messages.
    pub max_buffered_messages: usize,
    /// Distinct proposals kept per round (more than one only from an equivocating proposer).
    pub max_proposals_per_round: usize,
}

impl Config {
    pub fn new(chain_id: ChainId) -> Self {
        Config {
            chain_id,
            timeouts: TimeoutConfig::default(),
            max_future_heights: 2,
            max_future_rounds: 64,
            max_buffered_messages: 10_000,
            max_proposals_per_round: 4,
        }
    }
}

/// What the host tells the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input<V> {
    /// Start `height` with its validator set (priorities of round 0 of this height).
    StartHeight {
        height: Height,
        validators: ValidatorSet,
    },
    Proposal(SignedProposal<V>),
    Vote(SignedVote),
    /// Several votes at once, so their signatures can be checked in one batch.
    Votes(Vec<SignedVote>),
    TimeoutElapsed(Timeout),
    /// Answer to `Effect::RequestValue`.
    ProposeValue {
        height: Height,
        round: Round,
        value: V,
    },
    /// Answer to `Effect::ValidateValue`.
    ValidityVerdict {
        height: Height,
        value_id: ValueId,
        valid: bool,
    },
    /// A value decided by others, with its certificate (catch-up / block sync).
    Commit {
        value: V,
        certificate: CommitCertificate,
    },
}

/// What the driver asks the host to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect<V> {
    /// Append to the WAL; durable before any later broadcast.
    PersistToWal(WalEntry<V>),
    /// Gossip our proposal (already signed through the host's `Signer`).
    BroadcastProposal(SignedProposal<V>),
    /// Gossip our vote (already signed through the host's `Signer`).
    BroadcastVote(SignedVote),
    ScheduleTimeout {
        timeout: Timeout,
        duration: Duration,
    },
    /// We propose at (height, round): build a value and answer with `ProposeValue`.
    RequestValue {
        height: Height,
        round: Round,
        timeout: Duration,
    },
    /// Check the value and answer with `ValidityVerdict`.
    ValidateValue {
        height: Height,
        round: Round,
        value: V,
    },
    Decide {
        value: V,
        certificate: CommitCertificate,
    },
    ReportEvidence(DuplicateVoteEvidence),
}

/// Which signature slot of a (height, round) a signed message fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SignSlot {
    Proposal,
    Prevote,
    Precommit,
}

pub struct Driver<V: Value> {
    config: Config,
    signer: Arc<dyn Signer>,
    verifier: Arc<dyn SignatureVerifier>,
    my_id: ValidatorId,

    height: Height,
    /// Whether `StartHeight` for `height` was received.
    height_known: bool,
    validators: Option<ValidatorSet>,
    my_index: Option<ValidatorIndex>,
    state: RoundState<V>,
    keeper: Option<VoteKeeper>,
    /// Proposals per round, in order of arrival.
    proposals: BTreeMap<Round, Vec<SignedProposal<V>>>,
    validity: BTreeMap<ValueId, bool>,
    validation_requested: BTreeSet<ValueId>,
    proposer_cache: BTreeMap<Round, ValidatorIndex>,
    /// Everything we signed at this height: never sign a second, different message for a
    /// (height, round, slot).
    signed: BTreeMap<(Height, Round, SignSlot), SignedMessage<V>>,
    future: BTreeMap<Height, Vec<SignedMessage<V>>>,
    future_len: usize,
    decided_heights: u64,
    replaying: bool,
    effects: Vec<Effect<V>>,
}

impl<V: Value> Driver<V> {
    pub fn new(
        config: Config,
        signer: Arc<dyn Signer>,
        verifier: Arc<dyn SignatureVerifier>,
    ) -> Self {
        let my_id = signer.validator_id();
        Driver {
            config,
            signer,
            verifier,
            my_id,
            height: Height(0),
            height_known: false,
            validators: None,
            my_index: None,
            state: RoundState::new(Height(0)),
            keeper: None,
            proposals: BTreeMap::new(),
            validity: BTreeMap::new(),
            validation_requested: BTreeSet::new(),
            proposer_cache: BTreeMap::new(),
            signed: BTreeMap::new(),
            future: BTreeMap::new(),
            future_len: 0,
            decided_heights: 0,
            replaying: false,
            effects: Vec::new(),
        }
    }

    pub fn height(&self) -> Height {
        self.height
    }

    pub fn round(&self) -> Round {
        self.state.round
    }

    pub fn step(&self) -> Step {
        self.state.step
    }

    /// The round state (locked/valid value and round, decision).
    pub fn round_state(&self) -> &RoundState<V> {
        &self.state
    }

    pub fn validators(&self) -> Option<&ValidatorSet> {
        self.validators.as_ref()
    }

    pub fn vote_keeper(&self) -> Option<&VoteKeeper> {
        self.keeper.as_ref()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Number of messages waiting for a future height.
    pub fn buffered_messages(&self) -> usize {
        self.future_len
    }

    /// Feeds one input; returns the effects to execute in order.
    pub fn handle(&mut self, input: Input<V>) -> Result<Vec<Effect<V>>, DriverError> {
        match input {
            Input::StartHeight { height, validators } => self.start_height(height, validators)?,
            Input::Proposal(p) => self.on_message(SignedMessage::Proposal(p), false),
            Input::Vote(v) => self.on_message(SignedMessage::Vote(v), false),
            Input::Votes(vs) => self.on_votes(vs),
            Input::TimeoutElapsed(t) => self.on_timeout(t),
            Input::ProposeValue {
                height,
                round,
                value,
            } => self.on_propose_value(height, round, value),
            Input::ValidityVerdict {
                height,
                value_id,
                valid,
            } => self.on_verdict(height, value_id, valid),
            Input::Commit { value, certificate } => self.on_commit(value, certificate),
        }
        Ok(std::mem::take(&mut self.effects))
    }

    /// Rebuilds the state from WAL entries after a restart. Returns the effects the replay
    /// produced except `PersistToWal` (they are in the WAL already): rebroadcasts, timers,
    /// pending host requests and decisions. All are safe to execute again.
    pub fn replay(&mut self, entries: Vec<WalEntry<V>>) -> Result<Vec<Effect<V>>, DriverError> {
        self.replaying = true;
        let mut out = Vec::new();
        let result = (|| {
            for entry in entries {
                let input = match entry {
                    WalEntry::StartHeight { height, validators } => {
                        Input::StartHeight { height, validators }
                    }
                    WalEntry::Proposal(p) => Input::Proposal(p),
                    WalEntry::Vote(v) => Input::Vote(v),
                    WalEntry::Timeout(t) => Input::TimeoutElapsed(t),
                    WalEntry::ProposeValue {
                        height,
                        round,
                        value,
                    } => Input::ProposeValue {
                        height,
                        round,
                        value,
                    },
                    WalEntry::ValidityVerdict {
                        height,
                        value_id,
                        valid,
                    } => Input::ValidityVerdict {
                        height,
                        value_id,
                        valid,
                    },
                    WalEntry::Commit { value, certificate } => Input::Commit { value, certificate },
                    WalEntry::Signed(msg) => {
                        self.restore_signed(msg)?;
                        continue;
                    }
                };
                out.extend(self.handle(input)?);
            }
            Ok(())
        })();
        self.replaying = false;
        result?;
        out.retain(|e| !matches!(e, Effect::PersistToWal(_)));
        Ok(out)
    }

    /// A `Signed` WAL record: we signed this before the crash. The replay must not have
    /// signed anything different for that slot.
    fn restore_signed(&mut self, msg: SignedMessage<V>) -> Result<(), DriverError> {
        let key = slot_of(&msg);
        match self.signed.get(&key) {
            Some(existing) if !same_content(existing, &msg) => Err(DriverError::Replay(format!(
                "WAL holds a signed message for {key:?} that differs from the replayed one"
            ))),
            Some(_) => Ok(()),
            None => {
                if key.0 == self.height {
                    self.signed.insert(key, msg);
                }
                Ok(())
            }
        }
    }

    fn persist(&mut self, entry: WalEntry<V>) {
        if !self.replaying {
            self.effects.push(Effect::PersistToWal(entry));
        }
    }

    fn start_height(
        &mut self,
        height: Height,
        validators: ValidatorSet,
    ) -> Result<(), DriverError> {
        if self.height_known && height <= self.height {
            return Err(DriverError::HeightNotIncreasing {
                current: self.height,
                requested: height,
            });
        }
        debug!(?height, validators = validators.len(), "start height");
        self.persist(WalEntry::StartHeight {
            height,
            validators: validators.clone(),
        });
        self.height = height;
        self.height_known = true;
        self.my_index = validators.index_of(&self.my_id);
        self.keeper = Some(VoteKeeper::new(validators.clone()));
        self.validators = Some(validators);
        self.state = RoundState::new(height);
        self.proposals.clear();
        self.validity.clear();
        self.validation_requested.clear();
        self.proposer_cache.clear();
        self.signed.clear();

        // Drop what is now in the past; replay what was buffered for this height.
        let mut stale = self.future.split_off(&height);
        std::mem::swap(&mut stale, &mut self.future);
        let buffered = self.future.remove(&height).unwrap_or_default();
        self.future_len = self.future.values().map(Vec::len).sum();
        for msg in buffered {
            self.on_message(msg, false);
        }

        match self.config.timeouts.block_interval {
            Some(interval) if self.decided_heights > 0 => {
                self.schedule(TimeoutKind::NewHeight, Round(0), interval)
            }
            _ => self.start_round(Round(0)),
        }
        self.evaluate();
        Ok(())
    }

    fn schedule(&mut self, kind: TimeoutKind, round: Round, duration: Duration) {
        self.effects.push(Effect::ScheduleTimeout {
            timeout: Timeout {
                height: self.height,
                round,
                kind,
            },
            duration,
        });
    }

    fn proposer(&mut self, round: Round) -> ValidatorIndex {
        let vals = self.validators.as_ref().expect("height started");
        *self
            .proposer_cache
            .entry(round)
            .or_insert_with(|| vals.proposer(round))
    }

    /// L11 StartRound(round).
    fn start_round(&mut self, round: Round) {
        let proposer = self.proposer(round);
        let is_proposer = self.my_index == Some(proposer);
        debug!(height = ?self.height, ?round, is_proposer, "start round");
        self.apply(sm::Input::NewRound { round, is_proposer });
    }

    /// Runs a transition; returns whether the rule fired.
    fn apply(&mut self, input: sm::Input<V>) -> bool {
        trace!(?input, "state machine input");
        let Some(outputs) = self.state.apply(input) else {
            return false;
        };
        for out in outputs {
            self.on_output(out);
        }
        true
    }

    fn on_output(&mut self, out: Output<V>) {
        match out {
            Output::Propose(p) => self.sign_proposal(p),
            Output::GetValue { round } => {
                let timeout = self.config.timeouts.duration(TimeoutKind::Propose, round);
                self.effects.push(Effect::RequestValue {
                    height: self.height,
                    round,
                    timeout,
                });
            }
            Output::Vote { kind, round, value } => self.sign_vote(kind, round, value),
            Output::ScheduleTimeout { kind, round } => {
                let d = self.config.timeouts.duration(kind, round);
                self.schedule(kind, round, d);
            }
            Output::Decide { round, value } => {
                let keeper = self.keeper.as_ref().expect("height started");
                let certificate = CommitCertificate::from_precommits(
                    self.height,
                    round,
                    value.id(),
                    keeper.validators(),
                    keeper
                        .tally(round, VoteKind::Precommit)
                        .votes_for(Some(value.id())),
                );
                debug!(height = ?self.height, ?round, value = ?value.id(), "decide");
                self.decided_heights += 1;
                self.effects.push(Effect::Decide { value, certificate });
            }
            Output::NewRound { round } => self.start_round(round),
        }
    }

    /// Signs through the host's signer unless this slot was already signed: then the stored
    /// message is re-sent if identical, and a conflicting one is refused.
    fn sign_guarded(&mut self, slot: (Height, Round, SignSlot), make: SignedMessage<V>) -> bool {
        if let Some(existing) = self.signed.get(&slot) {
            if same_content(existing, &make) {
                let again = existing.clone();
                self.broadcast(again);
            } else {
                error!(
                    ?slot,
                    "refusing to sign a second, different message for a slot"
                );
            }
            return false;
        }
        self.signed.insert(slot, make.clone());
        self.persist(WalEntry::Signed(make.clone()));
        self.broadcast(make);
        true
    }

    fn broadcast(&mut self, msg: SignedMessage<V>) {
        self.effects.push(match msg {
            SignedMessage::Proposal(p) => Effect::BroadcastProposal(p),
            SignedMessage::Vote(v) => Effect::BroadcastVote(v),
        });
    }

    fn sign_proposal(&mut self, proposal: Proposal<V>) {
        if self.my_index.is_none() {
            return;
        }
        let slot = (proposal.height, proposal.round, SignSlot::Proposal);
        let signed = match self.signed.get(&slot) {
            // Re-sending what we already signed needs no new signature.
            Some(SignedMessage::Proposal(p)) if p.proposal == proposal => p.clone(),
            _ => proposal.sign(&self.config.chain_id, self.signer.as_ref()),
        };
        if self.sign_guarded(slot, SignedMessage::Proposal(signed.clone())) {
            // Our own value: the host built it (or it had a polka), so it is valid to us.
            let id = signed.proposal.value.id();
            self.validity.entry(id).or_insert(true);
            self.validation_requested.insert(id);
            self.proposals
                .entry(signed.proposal.round)
                .or_default()
                .push(signed);
        }
    }

    fn sign_vote(&mut self, kind: VoteKind, round: Round, value: Option<ValueId>) {
        if self.my_index.is_none() {
            return;
        }
        let vote = Vote::new(kind, self.height, round, value, self.my_id);
        let slot = (
            self.height,
            round,
            match kind {
                VoteKind::Prevote => SignSlot::Prevote,
                VoteKind::Precommit => SignSlot::Precommit,
            },
        );
        let signed = match self.signed.get(&slot) {
            Some(SignedMessage::Vote(v)) if v.vote == vote => *v,
            _ => vote.sign(&self.config.chain_id, self.signer.as_ref()),
        };
        if self.sign_guarded(slot, SignedMessage::Vote(signed)) {
            let keeper = self.keeper.as_mut().expect("height started");
            keeper.add(signed);
        }
    }

    /// Classifies a message by height: `Ok(true)` to process now.
    fn admit(&mut self, msg: &SignedMessage<V>) -> Result<bool, MessageError> {
        let h = msg.height();
        if self.height_known && h < self.height {
            return Err(MessageError::PastHeight(h));
        }
        if !self.height_known || h > self.height {
            let base = if self.height_known {
                self.height.0
            } else {
                h.0
            };
            if h.0 > base + self.config.max_future_heights {
                return Err(MessageError::TooFarAhead(h));
            }
            if self.future_len >= self.config.max_buffered_messages {
                return Err(MessageError::BufferFull);
            }
            self.future.entry(h).or_default().push(msg.clone());
            self.future_len += 1;
            return Ok(false);
        }
        let r = msg.round();
        if r.0
            > self
                .state
                .round
                .0
                .saturating_add(self.config.max_future_rounds)
        {
            return Err(MessageError::RoundTooFarAhead(r));
        }
        Ok(true)
    }

    fn on_message(&mut self, msg: SignedMessage<V>, verified: bool) {
        match self.admit(&msg) {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                trace!(%e, "dropping message");
                return;
            }
        }
        let result = match msg {
            SignedMessage::Proposal(p) => self.on_proposal(p),
            SignedMessage::Vote(v) => self.on_vote(v, verified),
        };
        match result {
            Ok(()) => self.evaluate(),
            Err(e) => debug!(%e, "dropping message"),
        }
    }

    fn on_votes(&mut self, votes: Vec<SignedVote>) {
        // Batch-check the votes that would be processed now; fall back to single checks to
        // find the bad ones if the batch fails.
        let vals = self.validators.clone();
        let chain_id = self.config.chain_id.clone();
        let mut now = Vec::new();
        let mut later = Vec::new();
        for v in votes {
            let current = self.height_known && v.vote.height == self.height;
            match (&vals, current) {
                (Some(vals), true) => match vals.index_of(&v.vote.validator) {
                    Some(i) => now.push((v, i, v.vote.sign_bytes(&chain_id))),
                    None => trace!("vote from non-validator dropped"),
                },
                _ => later.push(v),
            }
        }
        if let Some(vals) = &vals {
            let items: Vec<VerifyItem<'_>> = now
                .iter()
                .map(|(v, i, bytes)| VerifyItem {
                    key: vals.get(*i).expect("index from set").1,
                    message: bytes,
                    signature: &v.signature,
                })
                .collect();
            let all_ok = self.verifier.verify_batch(&items);
            let oks: Vec<bool> = if all_ok {
                vec![true; items.len()]
            } else {
                items
                    .iter()
                    .map(|i| self.verifier.verify(i.key, i.message, i.signature))
                    .collect()
            };
            for ((v, _, _), ok) in now.into_iter().zip(oks) {
                if ok {
                    self.on_message(SignedMessage::Vote(v), true);
                } else {
                    debug!("invalid vote signature in batch");
                }
            }
        }
        for v in later {
            self.on_message(SignedMessage::Vote(v), false);
        }
    }

    fn on_vote(&mut self, sv: SignedVote, verified: bool) -> Result<(), MessageError> {
        let vals = self.validators.as_ref().expect("height started");
        let index = vals
            .index_of(&sv.vote.validator)
            .ok_or(MessageError::UnknownValidator(sv.vote.validator))?;
        let keeper = self.keeper.as_ref().expect("height started");
        if keeper
            .tally(sv.vote.round, sv.vote.kind)
            .has_vote(&sv.vote.validator, sv.vote.value)
        {
            return Err(MessageError::Duplicate(sv.vote.kind));
        }
        if !verified {
            let key = vals.get(index).expect("index from set").1;
            if !sv.verify(&self.config.chain_id, key, self.verifier.as_ref()) {
                return Err(MessageError::InvalidSignature("vote"));
            }
        }
        let keeper = self.keeper.as_mut().expect("height started");
        match keeper.add(sv) {
            AddVote::Added => {
                self.persist(WalEntry::Vote(sv));
                Ok(())
            }
            AddVote::Duplicate => Err(MessageError::Duplicate(sv.vote.kind)),
            AddVote::Equivocation {
                evidence,
                first_offence,
            } => {
                self.persist(WalEntry::Vote(sv));
                if first_offence {
                    warn!(validator = ?sv.vote.validator, height = ?sv.vote.height,
                        round = ?sv.vote.round, kind = ?sv.vote.kind, "equivocation");
                    self.effects.push(Effect::ReportEvidence(*evidence));
                }
                Ok(())
            }
            AddVote::UnknownValidator => Err(MessageError::UnknownValidator(sv.vote.validator)),
        }
    }

    fn on_proposal(&mut self, sp: SignedProposal<V>) -> Result<(), MessageError> {
        let p = &sp.proposal;
        let round = p.round;
        if let Some(pol_round) = p.pol_round.filter(|vr| *vr >= round) {
            return Err(MessageError::InvalidPolRound { round, pol_round });
        }
        let id = p.value.id();
        let proposer = self.proposer(round);
        let existing = self.proposals.get(&round).map(Vec::as_slice).unwrap_or(&[]);
        if existing.iter().any(|e| e == &sp) {
            return Ok(()); // duplicate: nothing new
        }
        if existing.len() >= self.config.max_proposals_per_round {
            return Err(MessageError::BufferFull);
        }
        let vals = self.validators.as_ref().expect("height started");
        let key = vals.get(proposer).expect("proposer in set").1;
        if !sp.verify(&self.config.chain_id, key, self.verifier.as_ref()) {
            // Either forged or signed by someone other than the proposer of this round.
            return Err(MessageError::WrongProposer(round));
        }
        if !existing.is_empty() {
            warn!(height = ?p.height, ?round, "proposer equivocates: second proposal");
        }
        self.persist(WalEntry::Proposal(sp.clone()));
        if !self.validity.contains_key(&id) && self.validation_requested.insert(id) {
            self.effects.push(Effect::ValidateValue {
                height: p.height,
                round,
                value: p.value.clone(),
            });
        }
        self.proposals.entry(round).or_default().push(sp);
        Ok(())
    }

    fn on_timeout(&mut self, t: Timeout) {
        if !self.height_known || t.height != self.height {
            return;
        }
        self.persist(WalEntry::Timeout(t));
        let round = t.round;
        match t.kind {
            TimeoutKind::NewHeight => {
                if self.state.step == Step::NewHeight {
                    self.start_round(Round(0));
                }
            }
            TimeoutKind::Propose => {
                self.apply(sm::Input::TimeoutPropose { round });
            }
            TimeoutKind::Prevote => {
                self.apply(sm::Input::TimeoutPrevote { round });
            }
            TimeoutKind::Precommit => {
                self.apply(sm::Input::TimeoutPrecommit { round });
            }
        }
        self.evaluate();
    }

    fn on_propose_value(&mut self, height: Height, round: Round, value: V) {
        if !self.height_known || height != self.height {
            return;
        }
        self.persist(WalEntry::ProposeValue {
            height,
            round,
            value: value.clone(),
        });
        self.apply(sm::Input::ProposeValue { round, value });
        self.evaluate();
    }

    fn on_verdict(&mut self, height: Height, value_id: ValueId, valid: bool) {
        if !self.height_known || height != self.height || self.validity.contains_key(&value_id) {
            return;
        }
        self.persist(WalEntry::ValidityVerdict {
            height,
            value_id,
            valid,
        });
        self.validity.insert(value_id, valid);
        self.evaluate();
    }

    /// Catch-up: adopt a value others decided, proven by its certificate.
    fn on_commit(&mut self, value: V, certificate: CommitCertificate) {
        if !self.height_known
            || certificate.height != self.height
            || self.state.decision.is_some()
            || certificate.value_id != value.id()
        {
            return;
        }
        let vals = self.validators.as_ref().expect("height started");
        if let Err(e) = certificate.verify(vals, &self.config.chain_id, self.verifier.as_ref()) {
            warn!(%e, "rejecting commit certificate");
            return;
        }
        self.persist(WalEntry::Commit {
            value: value.clone(),
            certificate: certificate.clone(),
        });
        self.state.decision = Some(value.clone());
        self.state.step = Step::Commit;
        self.decided_heights += 1;
        debug!(height = ?self.height, "decide from certificate");
        self.effects.push(Effect::Decide { value, certificate });
    }

    fn proposal_for(&self, round: Round, id: ValueId) -> Option<&SignedProposal<V>> {
        self.proposals
            .get(&round)?
            .iter()
            .find(|p| p.proposal.value.id() == id)
    }

    /// Fires enabled rules until none is. Every rule changes the step, the round or a
    /// "first time" flag, so this terminates.
    fn evaluate(&mut self) {
        while self.fire_one() {}
    }

    fn fire_one(&mut self) -> bool {
        if !self.height_known || self.state.decision.is_some() || self.state.step == Step::NewHeight
        {
            return false;
        }
        let keeper = self.keeper.as_ref().expect("height started");

        // L49: a proposal and 2f+1 precommits for it, in any round.
        let mut decide = None;
        for r in keeper.rounds() {
            if let Some(Some(id)) = keeper.quorum_value(r, VoteKind::Precommit)
                && let Some(p) = self.proposal_for(r, id)
                && let Some(valid) = self.validity.get(&id)
            {
                decide = Some((r, p.proposal.value.clone(), *valid));
                break;
            }
        }
        if let Some((round, value, valid)) = decide
            && self.apply(sm::Input::ProposalAndPrecommitValue {
                round,
                value,
                valid,
            })
        {
            return true;
        }

        let keeper = self.keeper.as_ref().expect("height started");
        // L55: f+1 messages of a higher round.
        if let Some(round) = keeper.skip_round(self.state.round)
            && self.apply(sm::Input::SkipRound { round })
        {
            return true;
        }

        let round = self.state.round;
        if self.state.step == Step::Propose {
            let keeper = self.keeper.as_ref().expect("height started");
            let mut candidate = None;
            for p in self.proposals.get(&round).into_iter().flatten() {
                let id = p.proposal.value.id();
                let Some(valid) = self.validity.get(&id).copied() else {
                    continue;
                };
                let value = p.proposal.value.clone();
                candidate = match p.proposal.pol_round {
                    // L22: no valid round.
                    None => Some(sm::Input::Proposal {
                        round,
                        value,
                        valid,
                    }),
                    // L28: valid round with its polka.
                    Some(vr) if keeper.is_quorum_for(vr, VoteKind::Prevote, Some(id)) => {
                        Some(sm::Input::ProposalAndPolkaPrevious {
                            round,
                            value,
                            valid,
                            pol_round: vr,
                        })
                    }
                    Some(_) => None,
                };
                if candidate.is_some() {
                    break;
                }
            }
            if let Some(input) = candidate
                && self.apply(input)
            {
                return true;
            }
        }

        let keeper = self.keeper.as_ref().expect("height started");
        let polka_any = keeper.is_quorum_any(round, VoteKind::Prevote);
        let polka = keeper.quorum_value(round, VoteKind::Prevote);
        let precommit_any = keeper.is_quorum_any(round, VoteKind::Precommit);

        // L34
        if polka_any && self.apply(sm::Input::PolkaAny { round }) {
            return true;
        }
        // L36
        if let Some(Some(id)) = polka
            && let Some(p) = self.proposal_for(round, id)
            && let Some(valid) = self.validity.get(&id).copied()
        {
            let value = p.proposal.value.clone();
            if self.apply(sm::Input::ProposalAndPolkaCurrent {
                round,
                value,
                valid,
            }) {
                return true;
            }
        }
        // L44
        if polka == Some(None) && self.apply(sm::Input::PolkaNil { round }) {
            return true;
        }
        // L47
        if precommit_any && self.apply(sm::Input::PrecommitAny { round }) {
            return true;
        }
        false
    }

    /// Amnesia attacker for the simulation: forget the lock.
    pub(crate) fn forget_lock(&mut self) {
        self.state.forget_lock();
    }
}

fn slot_of<V>(msg: &SignedMessage<V>) -> (Height, Round, SignSlot) {
    match msg {
        SignedMessage::Proposal(p) => (p.proposal.height, p.proposal.round, SignSlot::Proposal),
        SignedMessage::Vote(v) => (
            v.vote.height,
            v.vote.round,
            match v.vote.kind {
                VoteKind::Prevote => SignSlot::Prevote,
                VoteKind::Precommit => SignSlot::Precommit,
            },
        ),
    }
}

/// Same payload (signature bytes may differ for a non-deterministic signer).
fn same_content<V: PartialEq>(a: &SignedMessage<V>, b: &SignedMessage<V>) -> bool {
    match (a, b) {
        (SignedMessage::Proposal(x), SignedMessage::Proposal(y)) => x.proposal == y.proposal,
        (SignedMessage::Vote(x), SignedMessage::Vote(y)) => x.vote == y.vote,
        _ => false,
    }
}
