//! Safety checks run on every simulation step: agreement, validity, no equivocation by a
//! correct validator, valid certificates and evidence only against Byzantine validators.

use std::collections::{BTreeMap, BTreeSet};

use cvm_consensus::{
    ChainId, CommitCertificate, DuplicateVoteEvidence, Height, Round, SignatureVerifier,
    SignedMessage, ValidatorId, ValidatorSet, Value, ValueId, VoteKind,
};

use crate::value::SimValue;

/// Signing slot of a validator.
type Slot = (ValidatorId, Height, Round, u8);

/// The safety properties a run must keep, checked event by event.
#[derive(Default)]
pub struct Invariants {
    /// First decision per height by a correct node (node index, value id).
    decided: BTreeMap<Height, (usize, ValueId)>,
    /// Values that appeared in a signed proposal for a height, Byzantine ones included.
    proposed: BTreeSet<(Height, ValueId)>,
    /// What each correct validator signed per slot.
    signed: BTreeMap<Slot, SignedMessage<SimValue>>,
    correct: BTreeSet<ValidatorId>,
    /// Evidence reports checked so far.
    pub evidence_seen: usize,
}

impl Invariants {
    /// Checks for a run whose correct validators are `correct`.
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
                self.proposed
                    .insert((p.proposal.height, p.proposal.value.id()));
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
        // Checked against the proposals themselves: a value the host would accept proves
        // nothing about whether anyone proposed it at this height.
        if !self.proposed.contains(&(height, id)) {
            return Err(format!(
                "validity violated at {height:?}: node {node} decided {id:?}, never proposed at this height"
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

#[cfg(test)]
mod tests {
    use super::*;
    use cvm_consensus::{Ed25519Signer, Ed25519Verifier, Proposal, Signer, Vote};

    struct Setup {
        signers: Vec<Ed25519Signer>,
        set: ValidatorSet,
        chain: ChainId,
    }

    fn setup() -> Setup {
        let signers: Vec<Ed25519Signer> = (1..=4u8)
            .map(|i| Ed25519Signer::from_seed([i; 32]))
            .collect();
        let set = ValidatorSet::new(signers.iter().map(|s| (s.validator_id(), 1))).unwrap();
        Setup {
            signers,
            set,
            chain: ChainId::new("inv"),
        }
    }

    fn value(nonce: u64, valid: bool) -> SimValue {
        SimValue {
            height: 1,
            round: 0,
            proposer: 0,
            nonce,
            valid,
        }
    }

    fn propose(s: &Setup, inv: &mut Invariants, v: &SimValue) {
        let p = Proposal {
            height: Height(1),
            round: Round(0),
            value: v.clone(),
            pol_round: None,
        }
        .sign(&s.chain, &s.signers[0]);
        inv.on_signed(false, &SignedMessage::Proposal(p)).unwrap();
    }

    fn cert(s: &Setup, v: &SimValue) -> CommitCertificate {
        let votes: Vec<_> = s.signers[..3]
            .iter()
            .map(|k| {
                Vote::new(
                    VoteKind::Precommit,
                    Height(1),
                    Round(0),
                    Some(v.id()),
                    k.validator_id(),
                )
                .sign(&s.chain, k)
            })
            .collect();
        CommitCertificate::from_precommits(Height(1), Round(0), v.id(), &s.set, &votes)
    }

    #[test]
    fn detects_disagreement_unproposed_and_invalid_values() {
        let s = setup();
        let mut inv = Invariants::new(s.signers.iter().map(|k| k.validator_id()));
        let (a, b) = (value(1, true), value(2, true));
        let decide = |inv: &mut Invariants, node, v: &SimValue| {
            inv.on_decide(
                node,
                Height(1),
                v,
                &cert(&s, v),
                &s.set,
                &s.chain,
                &Ed25519Verifier,
            )
        };
        // A valid value nobody proposed, and one proposed at another height only.
        assert!(
            decide(&mut inv, 0, &a)
                .unwrap_err()
                .contains("never proposed")
        );
        let mut elsewhere = Invariants::new([]);
        let p2 = Proposal {
            height: Height(2),
            round: Round(0),
            value: a.clone(),
            pol_round: None,
        }
        .sign(&s.chain, &s.signers[0]);
        elsewhere
            .on_signed(false, &SignedMessage::Proposal(p2))
            .unwrap();
        assert!(
            elsewhere
                .on_decide(
                    0,
                    Height(1),
                    &a,
                    &cert(&s, &a),
                    &s.set,
                    &s.chain,
                    &Ed25519Verifier
                )
                .unwrap_err()
                .contains("never proposed")
        );
        propose(&s, &mut inv, &a);
        propose(&s, &mut inv, &b);
        decide(&mut inv, 0, &a).unwrap();
        decide(&mut inv, 1, &a).unwrap();
        assert!(decide(&mut inv, 2, &b).unwrap_err().contains("agreement"));
        let bad = value(3, false);
        propose(&s, &mut inv, &bad);
        let mut fresh = Invariants::new([]);
        propose(&s, &mut fresh, &bad);
        assert!(
            fresh
                .on_decide(
                    0,
                    Height(1),
                    &bad,
                    &cert(&s, &bad),
                    &s.set,
                    &s.chain,
                    &Ed25519Verifier
                )
                .unwrap_err()
                .contains("invalid")
        );
    }

    #[test]
    fn detects_equivocation_by_a_correct_validator() {
        let s = setup();
        let mut inv = Invariants::new(s.signers.iter().map(|k| k.validator_id()));
        let vote = |value| {
            let v = Vote::new(
                VoteKind::Prevote,
                Height(1),
                Round(0),
                value,
                s.signers[1].validator_id(),
            )
            .sign(&s.chain, &s.signers[1]);
            SignedMessage::Vote(v)
        };
        inv.on_signed(true, &vote(None)).unwrap();
        inv.on_signed(true, &vote(None)).unwrap();
        assert!(
            inv.on_signed(true, &vote(Some(value(1, true).id())))
                .unwrap_err()
                .contains("equivocated")
        );
        // The same conflict from a Byzantine node is not a violation.
        let mut byz = Invariants::new([]);
        byz.on_signed(false, &vote(None)).unwrap();
        byz.on_signed(false, &vote(Some(value(1, true).id())))
            .unwrap();
    }

    #[test]
    fn evidence_must_name_a_byzantine_validator() {
        let s = setup();
        let vote = |value| {
            Vote::new(
                VoteKind::Prevote,
                Height(1),
                Round(0),
                value,
                s.signers[2].validator_id(),
            )
            .sign(&s.chain, &s.signers[2])
        };
        let ev = DuplicateVoteEvidence::new(vote(None), vote(Some(value(1, true).id())));
        let mut all_correct = Invariants::new(s.signers.iter().map(|k| k.validator_id()));
        assert!(
            all_correct
                .on_evidence(&ev, &s.set, &s.chain, &Ed25519Verifier)
                .unwrap_err()
                .contains("correct validator")
        );
        let mut two_byz = Invariants::new(s.signers[..2].iter().map(|k| k.validator_id()));
        two_byz
            .on_evidence(&ev, &s.set, &s.chain, &Ed25519Verifier)
            .unwrap();
    }
}
