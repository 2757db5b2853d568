//! Byzantine behaviours. Each wraps a real driver and distorts what it sends or remembers.
//! The simulation applies them where a node broadcasts (equivocation, double votes,
//! silence), receives (the replayer) or handles an input (amnesia).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use cvm_consensus::{ChainId, Proposal, SignedProposal, SignedVote, Signer, ValueId, Vote};

use crate::value::SimValue;

/// How a simulated validator behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Behaviour {
    /// Follows the protocol.
    Correct,
    /// Sends one proposal to some peers and a conflicting one (maybe invalid) to others.
    EquivocatingProposer,
    /// Sends each vote to some peers and a conflicting vote to others.
    DoubleVoter,
    /// Sends nothing at all.
    Silent,
    /// Never carries a lock into a later round (amnesia attack): it forgets everything
    /// instead and rejoins its round with what it had heard.
    Amnesia,
    /// Behaves, and also re-sends old messages (its own and others') to random peers.
    Replayer,
    /// Colludes with the other colluders: as proposer it sends one valid value to one camp
    /// of peers and another valid value to the other; every colluder votes for the first
    /// to the first camp and for the second to the second, backing both.
    Colluder,
}

impl Behaviour {
    /// Whether the validator follows the protocol.
    pub fn is_correct(self) -> bool {
        self == Behaviour::Correct
    }
}

/// Splits `peers` into two random non-empty-ish halves.
pub fn split_peers(rng: &mut ChaCha8Rng, peers: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for &p in peers {
        if rng.gen_bool(0.5) {
            a.push(p)
        } else {
            b.push(p)
        }
    }
    (a, b)
}

/// A second proposal for the same (height, round) with another value, invalid half the time.
pub fn conflicting_proposal(
    rng: &mut ChaCha8Rng,
    p: &SignedProposal<SimValue>,
    chain_id: &ChainId,
    signer: &dyn Signer,
) -> SignedProposal<SimValue> {
    let mut value = p.proposal.value.clone();
    value.nonce = rng.r#gen();
    value.valid = rng.gen_bool(0.5);
    Proposal {
        value,
        ..p.proposal.clone()
    }
    .sign(chain_id, signer)
}

/// A second proposal for the same (height, round) with another value that is valid: what
/// colluders back alongside the first.
pub fn second_valid_proposal(
    rng: &mut ChaCha8Rng,
    p: &SignedProposal<SimValue>,
    chain_id: &ChainId,
    signer: &dyn Signer,
) -> SignedProposal<SimValue> {
    let mut value = p.proposal.value.clone();
    value.nonce = rng.r#gen();
    value.valid = true;
    Proposal {
        value,
        ..p.proposal.clone()
    }
    .sign(chain_id, signer)
}

/// A second vote for the same slot: nil for a value vote, a made-up value for a nil vote.
pub fn conflicting_vote(
    rng: &mut ChaCha8Rng,
    v: &SignedVote,
    chain_id: &ChainId,
    signer: &dyn Signer,
) -> SignedVote {
    let value = match v.vote.value {
        Some(_) => None,
        None => Some(ValueId(rng.r#gen())),
    };
    Vote { value, ..v.vote }.sign(chain_id, signer)
}
