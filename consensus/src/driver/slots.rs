//! Signature slots: a validator signs at most one proposal, one prevote and one precommit
//! per (height, round). The driver keys what it signed by slot to never sign a second,
//! different message for one, even after a restart.

use crate::messages::SignedMessage;
use crate::types::{Height, Round, VoteKind};

/// Which signature slot of a (height, round) a signed message fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum SignSlot {
    Proposal,
    Prevote,
    Precommit,
}

impl SignSlot {
    pub(super) fn of_vote(kind: VoteKind) -> Self {
        match kind {
            VoteKind::Prevote => SignSlot::Prevote,
            VoteKind::Precommit => SignSlot::Precommit,
        }
    }
}

/// A slot with its height and round.
pub(super) type Slot = (Height, Round, SignSlot);

pub(super) fn slot_of<V>(msg: &SignedMessage<V>) -> Slot {
    match msg {
        SignedMessage::Proposal(p) => (p.proposal.height, p.proposal.round, SignSlot::Proposal),
        SignedMessage::Vote(v) => (v.vote.height, v.vote.round, SignSlot::of_vote(v.vote.kind)),
    }
}

/// Same payload (signature bytes may differ for a non-deterministic signer).
pub(super) fn same_content<V: PartialEq>(a: &SignedMessage<V>, b: &SignedMessage<V>) -> bool {
    match (a, b) {
        (SignedMessage::Proposal(x), SignedMessage::Proposal(y)) => x.proposal == y.proposal,
        (SignedMessage::Vote(x), SignedMessage::Vote(y)) => x.vote == y.vote,
        _ => false,
    }
}
