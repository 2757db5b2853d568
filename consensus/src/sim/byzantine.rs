//! Byzantine behaviours. Each wraps a real driver and distorts what it sends or remembers.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::crypto::Signer;
use crate::messages::{Proposal, SignedProposal, SignedVote, Vote};
use crate::sim::value::SimValue;
use crate::types::{ChainId, ValueId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Behaviour {
    Correct,
    /// Sends one proposal to some peers and a conflicting one (maybe invalid) to others.
    EquivocatingProposer,
    /// Sends each vote to some peers and a conflicting vote to others.
    DoubleVoter,
    /// Sends nothing at all.
    Silent,
    /// Forgets its lock before every input (amnesia attack).
    Amnesia,
    /// Behaves, and also re-sends old messages (its own and others') to random peers.
    Replayer,
}

impl Behaviour {
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
