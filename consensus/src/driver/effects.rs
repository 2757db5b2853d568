//! Running a transition of the round state machine and turning its outputs into effects:
//! starting rounds, signing (at most once per slot), broadcasting, timers and decisions.

use std::time::Duration;

use tracing::{debug, error, trace};

use crate::certificate::CommitCertificate;
use crate::messages::{Proposal, SignedMessage, Vote};
use crate::state_machine::{self as sm, Output, TimeoutKind};
use crate::timeouts::Timeout;
use crate::types::{Round, Value, ValueId, VoteKind};
use crate::validator::ValidatorIndex;
use crate::wal::WalEntry;

use super::Driver;
use super::io::Effect;
use super::slots::{SignSlot, Slot, same_content};

impl<V: Value> Driver<V> {
    /// Records `entry` for the WAL, except while replaying the WAL itself.
    pub(super) fn persist(&mut self, entry: WalEntry<V>) {
        if !self.replaying {
            self.effects.push(Effect::PersistToWal(entry));
        }
    }

    pub(super) fn schedule(&mut self, kind: TimeoutKind, round: Round, duration: Duration) {
        self.effects.push(Effect::ScheduleTimeout {
            timeout: Timeout {
                height: self.height,
                round,
                kind,
            },
            duration,
        });
    }

    pub(super) fn proposer(&mut self, round: Round) -> ValidatorIndex {
        let vals = self.validators.as_ref().expect("height started");
        *self
            .proposer_cache
            .entry(round)
            .or_insert_with(|| vals.proposer(round))
    }

    /// L11 StartRound(round).
    pub(super) fn start_round(&mut self, round: Round) {
        let proposer = self.proposer(round);
        let is_proposer = self.my_index == Some(proposer);
        debug!(height = ?self.height, ?round, is_proposer, "start round");
        self.apply(sm::Input::NewRound { round, is_proposer });
    }

    /// Runs a transition; returns whether the rule fired.
    pub(super) fn apply(&mut self, input: sm::Input<V>) -> bool {
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
    fn sign_guarded(&mut self, slot: Slot, make: SignedMessage<V>) -> bool {
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
        // While replaying, a message whose record is not in the WAL being replayed was
        // never sent: it is logged now, like a live one, before it leaves.
        if self.replaying && !self.durable_signed.contains(&slot) {
            self.effects
                .push(Effect::PersistToWal(WalEntry::Signed(make.clone())));
        } else {
            self.persist(WalEntry::Signed(make.clone()));
        }
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
            self.validity.own(id, signed.proposal.round);
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
        let slot = (self.height, round, SignSlot::of_vote(kind));
        let signed = match self.signed.get(&slot) {
            Some(SignedMessage::Vote(v)) if v.vote == vote => *v,
            _ => vote.sign(&self.config.chain_id, self.signer.as_ref()),
        };
        if self.sign_guarded(slot, SignedMessage::Vote(signed)) {
            let keeper = self.keeper.as_mut().expect("height started");
            keeper.add(signed);
        }
    }
}
