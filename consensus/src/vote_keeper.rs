//! Tallies votes of one height by voting power per (round, kind).
//!
//! A validator counts once towards "any" (2f+1 ⟨·, ∗⟩) per (round, kind), and once towards
//! each value it voted for. An identical copy is a duplicate; a vote for a second value is
//! equivocation and yields evidence holding both. Counting an equivocator for every value it
//! signed (up to [`MAX_VALUES_PER_VALIDATOR`]) is what the paper's message counting does and
//! keeps liveness: a polka that others saw, built with an equivocator's vote, is seen here
//! too once gossip delivers that vote (CometBFT reaches the same with peer maj23 claims).
//! It cannot create two quorums while less than a third of the power is faulty.

use std::collections::BTreeMap;

use crate::evidence::DuplicateVoteEvidence;
use crate::messages::{SignedVote, Vote};
use crate::types::{Round, ValidatorId, ValueId, VoteKind};
use crate::validator::ValidatorSet;

/// Distinct values one validator can be counted for in one (round, kind). Bounds memory
/// against an equivocator that signs endless values.
pub const MAX_VALUES_PER_VALIDATOR: usize = 4;

/// Result of adding a vote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddVote {
    /// First vote of this validator for this (round, kind): counted.
    Added,
    /// The very same vote was already counted.
    Duplicate,
    /// A vote of this validator for another value in this (round, kind): counted for that
    /// value only (up to the cap). `first_offence` is false once evidence was already
    /// produced for this slot.
    Equivocation {
        /// The two conflicting votes.
        evidence: Box<DuplicateVoteEvidence>,
        /// Whether this is the first evidence for the slot.
        first_offence: bool,
    },
    /// The signer is not in the validator set.
    UnknownValidator,
    /// A further value of a validator that already fills [`MAX_VALUES_PER_VALIDATOR`] in
    /// this (round, kind): not counted and, like a duplicate, worth nothing to anyone.
    BeyondCap,
}

/// Votes of one kind in one round.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// First vote per validator.
    votes: BTreeMap<ValidatorId, SignedVote>,
    /// Every counted vote per value.
    by_value: BTreeMap<Option<ValueId>, BTreeMap<ValidatorId, SignedVote>>,
    values_of: BTreeMap<ValidatorId, usize>,
    power_by_value: BTreeMap<Option<ValueId>, u64>,
    total: u64,
    equivocators: BTreeMap<ValidatorId, ()>,
}

impl Tally {
    /// Power of all counted votes, whatever their value (paper: 2f+1 ⟨·, ∗⟩).
    pub fn total_power(&self) -> u64 {
        self.total
    }

    /// Power voting for `value` (`None` is nil).
    pub fn power_for(&self, value: Option<ValueId>) -> u64 {
        self.power_by_value.get(&value).copied().unwrap_or(0)
    }

    /// First vote of each validator.
    pub fn votes(&self) -> impl Iterator<Item = &SignedVote> {
        self.votes.values()
    }

    /// Whether `validator`'s vote for `value` is already counted.
    pub fn has_vote(&self, validator: &ValidatorId, value: Option<ValueId>) -> bool {
        self.by_value
            .get(&value)
            .is_some_and(|m| m.contains_key(validator))
    }

    /// Every counted vote for `value`, equivocators' included.
    pub fn votes_for(&self, value: Option<ValueId>) -> impl Iterator<Item = &SignedVote> {
        self.by_value
            .get(&value)
            .into_iter()
            .flat_map(|m| m.values())
    }

    /// The first vote of `validator` counted here.
    pub fn get(&self, validator: &ValidatorId) -> Option<&SignedVote> {
        self.votes.get(validator)
    }

    /// Values with their power, heaviest first is not guaranteed: ordered by value.
    pub fn values(&self) -> impl Iterator<Item = (Option<ValueId>, u64)> + '_ {
        self.power_by_value.iter().map(|(v, p)| (*v, *p))
    }
}

#[derive(Clone, Debug, Default)]
struct RoundVotes {
    prevotes: Tally,
    precommits: Tally,
    /// Power of distinct validators with any message in this round (paper L55).
    participants: BTreeMap<ValidatorId, u64>,
    participant_power: u64,
}

/// The votes of one height, by round and kind.
#[derive(Clone, Debug)]
pub struct VoteKeeper {
    validators: ValidatorSet,
    rounds: BTreeMap<Round, RoundVotes>,
    empty: Tally,
}

impl VoteKeeper {
    /// An empty tally for the height of `validators`.
    pub fn new(validators: ValidatorSet) -> Self {
        VoteKeeper {
            validators,
            rounds: BTreeMap::new(),
            empty: Tally::default(),
        }
    }

    /// The validators whose votes count.
    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    /// Adds a vote whose signature the caller already checked. Height is the caller's
    /// business: one keeper per height.
    pub fn add(&mut self, signed: SignedVote) -> AddVote {
        let vote = signed.vote;
        let Some(power) = self.validators.power_of(&vote.validator) else {
            return AddVote::UnknownValidator;
        };
        let round = self.rounds.entry(vote.round).or_default();
        let tally = match vote.kind {
            VoteKind::Prevote => &mut round.prevotes,
            VoteKind::Precommit => &mut round.precommits,
        };
        if let Some(existing) = tally.votes.get(&vote.validator).copied() {
            let same_value = tally
                .by_value
                .get(&vote.value)
                .is_some_and(|m| m.contains_key(&vote.validator));
            if same_value {
                // Same vote (maybe other signature bytes): nothing new.
                return AddVote::Duplicate;
            }
            let count = tally.values_of.entry(vote.validator).or_insert(1);
            if *count >= MAX_VALUES_PER_VALIDATOR {
                // Its evidence was produced with its second value already.
                return AddVote::BeyondCap;
            }
            *count += 1;
            tally
                .by_value
                .entry(vote.value)
                .or_default()
                .insert(vote.validator, signed);
            *tally.power_by_value.entry(vote.value).or_insert(0) += power;
            let first_offence = tally.equivocators.insert(vote.validator, ()).is_none();
            return AddVote::Equivocation {
                evidence: Box::new(DuplicateVoteEvidence::new(existing, signed)),
                first_offence,
            };
        }
        tally.votes.insert(vote.validator, signed);
        tally
            .by_value
            .entry(vote.value)
            .or_default()
            .insert(vote.validator, signed);
        *tally.power_by_value.entry(vote.value).or_insert(0) += power;
        tally.total += power;
        if round.participants.insert(vote.validator, power).is_none() {
            round.participant_power += power;
        }
        AddVote::Added
    }

    /// Whether adding `vote` would change nothing: its validator's vote for that value is
    /// counted already, or that validator fills the cap of values for the (round, kind).
    /// Cheap, so a copy costs no signature check, WAL record or relay.
    pub fn is_known(&self, vote: &Vote) -> bool {
        let tally = self.tally(vote.round, vote.kind);
        tally.has_vote(&vote.validator, vote.value)
            || tally
                .values_of
                .get(&vote.validator)
                .is_some_and(|n| *n >= MAX_VALUES_PER_VALIDATOR)
    }

    /// The votes of `kind` in `round` (empty if none arrived).
    pub fn tally(&self, round: Round, kind: VoteKind) -> &Tally {
        match self.rounds.get(&round) {
            Some(r) => match kind {
                VoteKind::Prevote => &r.prevotes,
                VoteKind::Precommit => &r.precommits,
            },
            None => &self.empty,
        }
    }

    /// 2f+1 votes of `kind` in `round` for `value` (nil when `None`).
    pub fn is_quorum_for(&self, round: Round, kind: VoteKind, value: Option<ValueId>) -> bool {
        self.validators
            .is_quorum(self.tally(round, kind).power_for(value))
    }

    /// 2f+1 votes of `kind` in `round` for anything.
    pub fn is_quorum_any(&self, round: Round, kind: VoteKind) -> bool {
        self.validators
            .is_quorum(self.tally(round, kind).total_power())
    }

    /// The value (or nil) with 2f+1 votes of `kind` in `round`, if any. At most one exists
    /// while less than 1/3 of the power equivocates.
    pub fn quorum_value(&self, round: Round, kind: VoteKind) -> Option<Option<ValueId>> {
        let tally = self.tally(round, kind);
        tally
            .values()
            .find(|(_, p)| self.validators.is_quorum(*p))
            .map(|(v, _)| v)
    }

    /// Power of distinct validators that sent any vote in `round`.
    pub fn round_participation(&self, round: Round) -> u64 {
        self.rounds
            .get(&round)
            .map(|r| r.participant_power)
            .unwrap_or(0)
    }

    /// Rounds for which any vote is stored, ascending.
    pub fn rounds(&self) -> impl Iterator<Item = Round> + '_ {
        self.rounds.keys().copied()
    }

    /// Highest round above `above` where f+1 power has sent messages (paper L55).
    pub fn skip_round(&self, above: Round) -> Option<Round> {
        self.rounds
            .range(above.next()..)
            .rev()
            .find(|(_, r)| self.validators.is_one_third(r.participant_power))
            .map(|(round, _)| *round)
    }
}
