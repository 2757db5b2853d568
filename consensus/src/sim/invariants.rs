//! Safety checks run on every simulation step: agreement, validity, no equivocation by a
//! correct validator, valid certificates and evidence only against Byzantine validators.

use std::collections::{BTreeMap, BTreeSet};

use crate::certificate::CommitCertificate;
use crate::crypto::SignatureVerifier;
use crate::evidence::DuplicateVoteEvidence;
use crate::messages::SignedMessage;
use crate::sim::value::SimValue;
use crate::types::{ChainId, Height, Round, ValidatorId, Value, ValueId, VoteKind};
use crate::validator::ValidatorSet;

/// Signing slot of a validator.
type Slot = (ValidatorId, Height, Round, u8);

#[derive(Default)]
pub struct Invariants {
    /// First decision per height by a correct node (node index, value id).
    decided: BTreeMap<Height, (usize, ValueId)>,
    /// Values that appeared in any signed proposal, Byzantine ones included.
    proposed: BTreeSet<ValueId>,
    /// What each correct validator signed per slot.
    signed: BTreeMap<Slot, SignedMessage<SimValue>>,
    correct: BTreeSet<ValidatorId>,
    pub evidence_seen: usize,
}

impl Invariants {
    pub fn new(correct: impl IntoIterator<Item = ValidatorId>) -> Self {
        Invariants {
            correct: correct.into_iter().collect(),
            ..Default::default()
        }
    }

    /// A node signed and sent `msg`; `correct` is whether that node is correct.
    pub fn on_signed(
        &mut self,
        correct: bool,
        msg: &SignedMessage<SimValue>,
    ) -> Result<(), String> {
        let (slot, who) = match msg {
            SignedMessage::Proposal(p) => {
                self.proposed.insert(p.proposal.value.id());
                if !correct {
                    return Ok(());
                }
                return self.record(
                    (ValidatorId([0; 32]), p.proposal.height, p.proposal.round, 0),
                    msg,
                    "proposal",
                );
            }
            SignedMessage::Vote(v) => {
                let kind = match v.vote.kind {
                    VoteKind::Prevote => 1,
                    VoteKind::Precommit => 2,
                };
                (
                    (v.vote.validator, v.vote.height, v.vote.round, kind),
                    v.vote.validator,
                )
            }
        };
        if !correct {
            return Ok(());
        }
        debug_assert!(self.correct.contains(&who));
        self.record(slot, msg, "vote")
    }

    /// Proposals are keyed by (height, round): one proposer per round.
    fn record(
        &mut self,
        slot: Slot,
        msg: &SignedMessage<SimValue>,
        what: &str,
    ) -> Result<(), String> {
        let same = |a: &SignedMessage<SimValue>, b: &SignedMessage<SimValue>| match (a, b) {
            (SignedMessage::Proposal(x), SignedMessage::Proposal(y)) => x.proposal == y.proposal,
            (SignedMessage::Vote(x), SignedMessage::Vote(y)) => x.vote == y.vote,
            _ => false,
        };
        match self.signed.get(&slot) {
            Some(prev) if !same(prev, msg) => Err(format!(
                "correct validator equivocated ({what}): {prev:?} vs {msg:?}"
            )),
            Some(_) => Ok(()),
            None => {
                self.signed.insert(slot, msg.clone());
                Ok(())
            }
        }
    }

    /// A correct node decided `value` at `height` with `certificate`.
    #[allow(clippy::too_many_arguments)]
    pub fn on_decide(
        &mut self,
        node: usize,
        height: Height,
        value: &SimValue,
        certificate: &CommitCertificate,
        validators: &ValidatorSet,
        chain_id: &ChainId,
        verifier: &dyn SignatureVerifier,
    ) -> Result<(), String> {
        let id = value.id();
        if let Some((other, other_id)) = self.decided.get(&height) {
            if *other_id != id {
                return Err(format!(
                    "agreement violated at {height:?}: node {other} decided {other_id:?}, node {node} decided {id:?}"
                ));
            }
        } else {
            self.decided.insert(height, (node, id));
        }
        if !self.proposed.contains(&id) {
            return Err(format!(
                "validity violated at {height:?}: node {node} decided {id:?}, never proposed"
            ));
        }
        if !value.valid {
            return Err(format!(
                "validity violated at {height:?}: node {node} decided an invalid value"
            ));
        }
        if certificate.value_id != id {
            return Err(format!("certificate of node {node} is for another value"));
        }
        certificate
            .verify_for_height(height, validators, chain_id, verifier)
            .map_err(|e| format!("node {node} decided with a bad certificate: {e}"))
    }

    /// A correct node reported evidence: it must be valid and name a Byzantine validator.
    pub fn on_evidence(
        &mut self,
        evidence: &DuplicateVoteEvidence,
        validators: &ValidatorSet,
        chain_id: &ChainId,
        verifier: &dyn SignatureVerifier,
    ) -> Result<(), String> {
        self.evidence_seen += 1;
        evidence
            .verify(validators, chain_id, verifier)
            .map_err(|e| format!("invalid evidence reported: {e}"))?;
        let who = evidence.vote_a.vote.validator;
        if self.correct.contains(&who) {
            return Err(format!("evidence against correct validator {who:?}"));
        }
        Ok(())
    }
}
