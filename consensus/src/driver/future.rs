//! Messages for heights not started yet: a peer one height ahead is normal (it decided
//! first), so its messages wait here instead of being lost.
//!
//! What may take room, and how much:
//! - votes only once their signature is verified and their voter is a member of the
//!   current set (the driver checks both before calling [`FutureBuffer::add_vote`]); each
//!   voter has a fair share of `max_buffered_messages / validators`. When the buffer is
//!   full, a voter below its share pushes out the farthest vote of the voter holding the
//!   most, provided that one holds more than its share; otherwise the new vote is refused.
//!   So a flood from one voter never pushes out another voter's votes within its share, and
//!   strangers (or forged signatures) take no room at all.
//! - proposals, whose proposer the engine cannot name before the height's validator set is
//!   known, are the host's to verify (see the driver's contract); here they are bounded by
//!   the height and round windows and `max_proposals_per_round` per (height, round), apart
//!   from the votes, so they can push out no vote.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::MessageError;
use crate::messages::{SignedMessage, SignedProposal, SignedVote};
use crate::types::{Height, Round, ValidatorId};

use super::io::Config;

/// Whether a message was kept.
pub(super) enum Kept {
    /// Newly buffered.
    New,
    /// The same message is buffered already.
    Known,
}

pub(super) struct FutureBuffer<V> {
    votes: BTreeMap<Height, BTreeSet<SignedVote>>,
    votes_of: BTreeMap<ValidatorId, usize>,
    vote_count: usize,
    proposals: BTreeMap<(Height, Round), Vec<SignedProposal<V>>>,
    proposal_count: usize,
}

impl<V: Clone + PartialEq> FutureBuffer<V> {
    pub(super) fn new() -> Self {
        FutureBuffer {
            votes: BTreeMap::new(),
            votes_of: BTreeMap::new(),
            vote_count: 0,
            proposals: BTreeMap::new(),
            proposal_count: 0,
        }
    }

    /// Number of buffered messages.
    pub(super) fn len(&self) -> usize {
        self.vote_count + self.proposal_count
    }

    /// Number of buffered votes of `voter`.
    pub(super) fn votes_of(&self, voter: &ValidatorId) -> usize {
        self.votes_of.get(voter).copied().unwrap_or(0)
    }

    /// Where `msg` belongs: `Ok(true)` for a later height than `current` (within the
    /// windows), `Ok(false)` for `current` itself.
    pub(super) fn is_future(
        msg: &SignedMessage<V>,
        current: Height,
        config: &Config,
    ) -> Result<bool, MessageError> {
        let h = msg.height();
        if h < current {
            return Err(MessageError::PastHeight(h));
        }
        if h == current {
            return Ok(false);
        }
        if h.0 > current.0.saturating_add(config.max_future_heights) {
            return Err(MessageError::TooFarAhead(h));
        }
        // A later height starts at round 0, so the round window applies from there.
        if msg.round().0 > config.max_future_rounds {
            return Err(MessageError::RoundTooFarAhead(msg.round()));
        }
        Ok(true)
    }

    /// Whether `vote` is buffered already.
    pub(super) fn contains_vote(&self, vote: &SignedVote) -> bool {
        self.votes
            .get(&vote.vote.height)
            .is_some_and(|s| s.contains(vote))
    }

    /// Whether a new vote of `voter` would be kept: checked before its signature is, so a
    /// voter over its share costs no verification.
    pub(super) fn has_room_for(
        &self,
        voter: &ValidatorId,
        validators: usize,
        config: &Config,
    ) -> bool {
        let share = config.max_buffered_messages / validators.max(1);
        self.vote_count < config.max_buffered_messages
            || (self.votes_of(voter) < share && self.votes_of.values().any(|n| *n > share))
    }

    /// Keeps a verified vote of a member of a set of `validators` members, within its share.
    pub(super) fn add_vote(
        &mut self,
        vote: SignedVote,
        validators: usize,
        config: &Config,
    ) -> Result<Kept, MessageError> {
        let voter = vote.vote.validator;
        if self
            .votes
            .get(&vote.vote.height)
            .is_some_and(|s| s.contains(&vote))
        {
            return Ok(Kept::Known);
        }
        let share = config.max_buffered_messages / validators.max(1);
        let mine = self.votes_of(&voter);
        if self.vote_count >= config.max_buffered_messages
            && (mine >= share || !self.evict_from_largest_above(share))
        {
            return Err(MessageError::BufferFull);
        }
        self.votes.entry(vote.vote.height).or_default().insert(vote);
        *self.votes_of.entry(voter).or_insert(0) += 1;
        self.vote_count += 1;
        Ok(Kept::New)
    }

    /// Drops the farthest vote of the voter holding the most, if it holds more than `share`.
    fn evict_from_largest_above(&mut self, share: usize) -> bool {
        let Some((&hog, &count)) = self.votes_of.iter().max_by_key(|(_, n)| **n) else {
            return false;
        };
        if count <= share {
            return false;
        }
        let farthest = self.votes.iter().rev().find_map(|(h, set)| {
            set.iter()
                .rev()
                .find(|v| v.vote.validator == hog)
                .map(|v| (*h, *v))
        });
        let Some((height, vote)) = farthest else {
            return false;
        };
        if let Some(set) = self.votes.get_mut(&height) {
            set.remove(&vote);
            if set.is_empty() {
                self.votes.remove(&height);
            }
        }
        self.forget_vote_of(hog);
        true
    }

    fn forget_vote_of(&mut self, voter: ValidatorId) {
        if let Some(n) = self.votes_of.get_mut(&voter) {
            *n -= 1;
            if *n == 0 {
                self.votes_of.remove(&voter);
            }
        }
        self.vote_count -= 1;
    }

    /// Keeps a proposal (verified by the host, see the module docs), within
    /// `max_proposals_per_round` per (height, round).
    pub(super) fn add_proposal(
        &mut self,
        proposal: SignedProposal<V>,
        config: &Config,
    ) -> Result<Kept, MessageError> {
        let key = (proposal.proposal.height, proposal.proposal.round);
        let kept = self.proposals.entry(key).or_default();
        if kept.contains(&proposal) {
            return Ok(Kept::Known);
        }
        if kept.len() >= config.max_proposals_per_round {
            return Err(MessageError::BufferFull);
        }
        kept.push(proposal);
        self.proposal_count += 1;
        Ok(Kept::New)
    }

    /// Drops what is now in the past and takes out what was buffered for `height`:
    /// proposals first, then votes (whose signatures were verified when buffered).
    pub(super) fn take(&mut self, height: Height) -> (Vec<SignedProposal<V>>, Vec<SignedVote>) {
        self.votes = self.votes.split_off(&height);
        let votes: Vec<SignedVote> = self
            .votes
            .remove(&height)
            .map(|s| s.into_iter().collect())
            .unwrap_or_default();
        self.proposals = self.proposals.split_off(&(height, Round(0)));
        let mut proposals = Vec::new();
        while let Some(entry) = self.proposals.first_entry() {
            if entry.key().0 != height {
                break;
            }
            proposals.extend(entry.remove());
        }
        self.votes_of.clear();
        for v in self.votes.values().flatten() {
            *self.votes_of.entry(v.vote.validator).or_insert(0) += 1;
        }
        self.vote_count = self.votes.values().map(BTreeSet::len).sum();
        self.proposal_count = self.proposals.values().map(Vec::len).sum();
        (proposals, votes)
    }
}
