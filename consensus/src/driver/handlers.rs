//! [`Driver::handle`]: dispatches each [`Input`] and collects the effects; the handlers of
//! the host's own inputs (heights, timers, values, verdicts, catch-up commits) live here.

use tracing::{debug, warn};

use crate::certificate::CommitCertificate;
use crate::error::DriverError;
use crate::messages::SignedMessage;
use crate::state_machine::{self as sm, RoundState, TimeoutKind};
use crate::timeouts::Timeout;
use crate::types::{Height, Round, Step, Value, ValueId, VoteKind};
use crate::validator::ValidatorSet;
use crate::vote_keeper::VoteKeeper;
use crate::wal::WalEntry;

use super::Driver;
use super::io::{Admission, Effect, Input};

impl<V: Value> Driver<V> {
    /// Feeds one input; returns the effects to execute in order.
    pub fn handle(&mut self, input: Input<V>) -> Result<Vec<Effect<V>>, DriverError> {
        self.handle_with_outcome(input).map(|(effects, _)| effects)
    }

    /// Like [`Driver::handle`], and also says what became of a proposal or vote, so the host
    /// relays only what was new ([`Admission::Duplicate`] and [`Admission::Rejected`] are
    /// not to be relayed). Every other input, `Input::Votes` included, is `Accepted`.
    pub fn handle_with_outcome(
        &mut self,
        input: Input<V>,
    ) -> Result<(Vec<Effect<V>>, Admission), DriverError> {
        let admission = self.dispatch(input)?;
        Ok((std::mem::take(&mut self.effects), admission))
    }

    fn dispatch(&mut self, input: Input<V>) -> Result<Admission, DriverError> {
        match input {
            Input::StartHeight { height, validators } => self.start_height(height, validators)?,
            Input::Proposal(p) => return Ok(self.on_message(SignedMessage::Proposal(p), false)),
            Input::Vote(v) => return Ok(self.on_message(SignedMessage::Vote(v), false)),
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
            Input::BeginRoundZero { height } => self.on_begin(height),
            Input::Commit { value, certificate } => self.on_commit(value, certificate),
        }
        Ok(Admission::Accepted)
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
        self.proposer_cache.clear();
        self.signed.clear();
        self.awaiting_begin = self.config.hold_round_zero;
        let pause = self
            .config
            .timeouts
            .block_interval
            .filter(|_| self.decided_heights > 0);
        self.pausing = pause.is_some();

        // Drop what is now in the past; replay what was buffered for this height (the
        // votes' signatures were verified when they were buffered). One of them may be
        // what begins a held round 0.
        let (proposals, votes) = self.future.take(height);
        for p in proposals {
            self.on_message(SignedMessage::Proposal(p), false);
        }
        for v in votes {
            self.on_message(SignedMessage::Vote(v), true);
        }

        if let Some(interval) = pause {
            self.schedule(TimeoutKind::NewHeight, Round(0), interval);
        }
        self.start_round_zero_if_free();
        self.evaluate();
        Ok(())
    }

    /// Starts round 0 once neither the block interval nor a hold keeps it waiting.
    pub(super) fn start_round_zero_if_free(&mut self) {
        if self.state.step == Step::NewHeight && !self.pausing && !self.awaiting_begin {
            self.start_round(Round(0));
        }
    }

    /// Ends a hold on round 0: the host's begin, or a proposal or vote of this height.
    pub(super) fn release_round_zero(&mut self) {
        if self.state.step == Step::NewHeight && self.awaiting_begin {
            self.awaiting_begin = false;
            self.start_round_zero_if_free();
        }
    }

    /// The host's begin for a held round 0.
    fn on_begin(&mut self, height: Height) {
        if !self.height_known || height != self.height || !self.awaiting_begin() {
            return;
        }
        self.persist(WalEntry::BeginRoundZero { height });
        debug!(
            ?height,
            "round 0 begins: the host has work or its idle interval passed"
        );
        self.release_round_zero();
        self.evaluate();
    }

    /// L57, L61, L65: the step timers; `NewHeight` ends the block interval.
    fn on_timeout(&mut self, t: Timeout) {
        if !self.height_known || t.height != self.height {
            return;
        }
        self.persist(WalEntry::Timeout(t));
        let round = t.round;
        match t.kind {
            TimeoutKind::NewHeight => {
                self.pausing = false;
                self.start_round_zero_if_free();
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

    /// L18: the host's value for our proposal.
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

    /// The host's valid(v), which the proposal rules wait for.
    fn on_verdict(&mut self, height: Height, value_id: ValueId, valid: bool) {
        if !self.height_known || height != self.height || !self.validity.record(value_id, valid) {
            return;
        }
        self.persist(WalEntry::ValidityVerdict {
            height,
            value_id,
            valid,
        });
        self.ask_again_if_proposed_later(value_id);
        self.evaluate();
    }

    /// A `false` answers for its round only: if the value was proposed in a later round
    /// meanwhile, ask about that one.
    fn ask_again_if_proposed_later(&mut self, id: ValueId) {
        let Some(refused_in) = self.validity.refused_in(id) else {
            return;
        };
        let later = self
            .proposals
            .range(refused_in.next()..)
            .rev()
            .find_map(|(_, ps)| ps.iter().find(|p| p.proposal.value.id() == id));
        let Some(p) = later.map(|p| p.proposal.clone()) else {
            return;
        };
        if self.validity.ask_for(id, p.round) {
            self.effects.push(Effect::ValidateValue {
                height: p.height,
                round: p.round,
                value: p.value,
            });
        }
    }

    /// L49 needs valid(v) for a value with a precommit quorum: a `false` from an earlier
    /// round is asked again in the current one, else a validator whose host refused the
    /// value (its clock lagged) would never decide what everyone else did.
    pub(super) fn ask_again_for_decisive_values(&mut self) {
        let keeper = self.keeper.as_ref().expect("height started");
        let current = self.state.round;
        let decisive: Vec<_> = keeper
            .rounds()
            .filter_map(
                |round| match keeper.quorum_value(round, VoteKind::Precommit) {
                    Some(Some(id)) => Some((round, id)),
                    _ => None,
                },
            )
            .filter(|(_, id)| self.validity.refused_in(*id).is_some_and(|q| q < current))
            .collect();
        for (round, id) in decisive {
            let Some(p) = self.proposals.get(&round).and_then(|ps| {
                ps.iter()
                    .find(|p| p.proposal.value.id() == id)
                    .map(|p| p.proposal.clone())
            }) else {
                continue;
            };
            if self.validity.ask_for(id, current) {
                self.effects.push(Effect::ValidateValue {
                    height: p.height,
                    round: current,
                    value: p.value,
                });
            }
        }
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
}
