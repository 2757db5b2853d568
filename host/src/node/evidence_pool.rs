//! Duplicate-vote evidence waiting for a block: from this node's engine and from gossip, checked before it is
//! kept. One piece per offender is enough to jail it, so the pool keeps the first per offender: it is bounded by
//! the validators of the heights evidence may come from, and capped at [`MAX_PENDING`]. Only a validator's own
//! conflicting signatures make a piece, so no stranger can fill it; a full pool refuses new offenders rather than
//! dropping the ones it holds.

use std::collections::BTreeMap;

use cvm_consensus::DuplicateVoteEvidence;

/// Most offenders with evidence pending.
pub const MAX_PENDING: usize = 1024;

/// What [`EvidencePool::insert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// Kept: the first piece against this offender.
    New,
    /// Not kept: a piece against this offender is already pending.
    Known,
    /// Not kept: the pool is full.
    Full,
}

/// Pending evidence by offender.
#[derive(Debug, Default)]
pub struct EvidencePool {
    pending: BTreeMap<[u8; 32], DuplicateVoteEvidence>,
}

impl EvidencePool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a piece against `validator` is pending.
    pub fn has_offender(&self, validator: &[u8; 32]) -> bool {
        self.pending.contains_key(validator)
    }

    /// Keeps `evidence` if it is the first against its offender and there is room.
    pub fn insert(&mut self, evidence: DuplicateVoteEvidence) -> Inserted {
        let offender = evidence.vote_a.vote.validator.0;
        if self.pending.contains_key(&offender) {
            return Inserted::Known;
        }
        if self.pending.len() >= MAX_PENDING {
            return Inserted::Full;
        }
        self.pending.insert(offender, evidence);
        Inserted::New
    }

    /// The pending pieces, oldest offence first (the first to expire goes into a block first).
    pub fn pending(&self) -> Vec<DuplicateVoteEvidence> {
        let mut all: Vec<_> = self.pending.values().cloned().collect();
        all.sort_by_key(|e| (e.vote_a.vote.height, e.vote_a.vote.validator.0));
        all
    }

    /// Keeps only the pieces `keep` accepts (after a commit: not committed, covered or expired); the offenders
    /// whose piece went.
    pub fn retain(
        &mut self,
        mut keep: impl FnMut(&DuplicateVoteEvidence) -> bool,
    ) -> Vec<[u8; 32]> {
        let mut gone = Vec::new();
        self.pending.retain(|offender, e| {
            let kept = keep(e);
            if !kept {
                gone.push(*offender);
            }
            kept
        });
        gone
    }

    /// How many pieces are pending.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use cvm_consensus::{
        Height, Round, SignatureBytes, SignedVote, ValidatorId, ValueId, Vote, VoteKind,
    };

    use super::*;

    fn vote(validator: u8, height: u64, value: u8) -> SignedVote {
        SignedVote {
            vote: Vote {
                kind: VoteKind::Prevote,
                height: Height(height),
                round: Round(0),
                value: Some(ValueId([value; 32])),
                validator: ValidatorId([validator; 32]),
            },
            signature: SignatureBytes([0; 64]),
        }
    }

    fn evidence(validator: u8, height: u64) -> DuplicateVoteEvidence {
        DuplicateVoteEvidence::new(vote(validator, height, 1), vote(validator, height, 2))
    }

    #[test]
    fn one_piece_per_offender_oldest_offence_first() {
        let mut pool = EvidencePool::new();
        assert_eq!(pool.insert(evidence(1, 9)), Inserted::New);
        assert_eq!(pool.insert(evidence(1, 3)), Inserted::Known);
        assert_eq!(pool.insert(evidence(2, 5)), Inserted::New);
        let heights: Vec<u64> = pool
            .pending()
            .iter()
            .map(|e| e.vote_a.vote.height.0)
            .collect();
        assert_eq!(heights, vec![5, 9]);
        assert_eq!(
            pool.retain(|e| e.vote_a.vote.validator.0 != [1; 32]),
            vec![[1; 32]]
        );
        assert!(!pool.has_offender(&[1; 32]) && pool.has_offender(&[2; 32]));
    }

    #[test]
    fn a_full_pool_refuses_new_offenders_and_keeps_what_it_holds() {
        let mut pool = EvidencePool::new();
        for i in 0..MAX_PENDING {
            let mut e = evidence(0, 1);
            let mut key = [0; 32];
            key[..8].copy_from_slice(&(i as u64).to_be_bytes());
            e.vote_a.vote.validator = ValidatorId(key);
            e.vote_b.vote.validator = e.vote_a.vote.validator;
            assert_eq!(pool.insert(e), Inserted::New);
        }
        assert_eq!(pool.insert(evidence(0xff, 1)), Inserted::Full);
        assert_eq!(pool.len(), MAX_PENDING);
    }
}
