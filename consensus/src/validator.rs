//! Validator set with CometBFT's weighted round-robin proposer selection.

use ed25519_dalek::VerifyingKey;
use parity_scale_codec::{Decode, Encode};

use crate::error::ValidatorSetError;
use crate::types::{Round, ValidatorId};

/// Position of a validator in its (sorted) set.
pub type ValidatorIndex = u32;

/// CometBFT's `PriorityWindowSizeFactor`: priorities are rescaled so that
/// `max - min <= 2 * total_power`.
const PRIORITY_WINDOW_SIZE_FACTOR: i64 = 2;

/// Voting power is capped so that priorities cannot overflow `i64` (CometBFT's
/// `MaxTotalVotingPower` = `i64::MAX / 8`).
pub const MAX_TOTAL_VOTING_POWER: u64 = (i64::MAX / 8) as u64;

/// A member of a validator set.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Validator {
    /// Its public key.
    pub id: ValidatorId,
    /// Its weight in every quorum.
    pub voting_power: u64,
    /// CometBFT's proposer priority (round 0 of the set's height).
    pub proposer_priority: i64,
}

/// The validators of one height, sorted by id. Carries the CometBFT proposer priorities of
/// round 0 of that height; `next_height` advances them.
#[derive(Clone, Debug)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    keys: Vec<VerifyingKey>,
    total_power: u64,
    /// Proposer of round 0 (CometBFT's `vals.Proposer`).
    proposer: ValidatorIndex,
}

impl PartialEq for ValidatorSet {
    fn eq(&self, other: &Self) -> bool {
        self.validators == other.validators && self.proposer == other.proposer
    }
}
impl Eq for ValidatorSet {}

impl Encode for ValidatorSet {
    fn encode_to<T: parity_scale_codec::Output + ?Sized>(&self, dest: &mut T) {
        self.validators.encode_to(dest);
        self.proposer.encode_to(dest);
    }
}

impl Decode for ValidatorSet {
    fn decode<I: parity_scale_codec::Input>(
        input: &mut I,
    ) -> Result<Self, parity_scale_codec::Error> {
        let validators = Vec::<Validator>::decode(input)?;
        let proposer = ValidatorIndex::decode(input)?;
        let mut set = ValidatorSet::with_priorities(validators)
            .map_err(|_| parity_scale_codec::Error::from("invalid validator set"))?;
        if proposer as usize >= set.validators.len() {
            return Err("proposer index out of range".into());
        }
        set.proposer = proposer;
        Ok(set)
    }
}

impl ValidatorSet {
    /// A new set from (id, power) pairs: priorities start at zero and are incremented once,
    /// as CometBFT's `NewValidatorSet` does.
    pub fn new(
        members: impl IntoIterator<Item = (ValidatorId, u64)>,
    ) -> Result<Self, ValidatorSetError> {
        let validators = members
            .into_iter()
            .map(|(id, voting_power)| Validator {
                id,
                voting_power,
                proposer_priority: 0,
            })
            .collect();
        let mut set = Self::with_priorities(validators)?;
        set.increment_proposer_priority(1);
        Ok(set)
    }

    /// A set whose priorities are already known (e.g. decoded); round-0 proposer is the one
    /// with the highest priority.
    pub fn with_priorities(mut validators: Vec<Validator>) -> Result<Self, ValidatorSetError> {
        if validators.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        validators.sort_by_key(|v| v.id);
        let mut total: u64 = 0;
        for w in validators.windows(2) {
            if w[0].id == w[1].id {
                return Err(ValidatorSetError::Duplicate(w[0].id));
            }
        }
        let mut keys = Vec::with_capacity(validators.len());
        for v in &validators {
            if v.voting_power == 0 {
                return Err(ValidatorSetError::ZeroPower(v.id));
            }
            total = total
                .checked_add(v.voting_power)
                .filter(|t| *t <= MAX_TOTAL_VOTING_POWER)
                .ok_or(ValidatorSetError::TotalPowerTooLarge)?;
            keys.push(
                VerifyingKey::from_bytes(&v.id.0).map_err(|_| ValidatorSetError::BadKey(v.id))?,
            );
        }
        let mut set = ValidatorSet {
            validators,
            keys,
            total_power: total,
            proposer: 0,
        };
        set.proposer = set.most_priority();
        Ok(set)
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Whether there are no validators (a built set never is).
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Sum of the voting powers.
    pub fn total_power(&self) -> u64 {
        self.total_power
    }

    /// The validators, sorted by id.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// The validator at `index` and its decoded key.
    pub fn get(&self, index: ValidatorIndex) -> Option<(&Validator, &VerifyingKey)> {
        let i = index as usize;
        Some((self.validators.get(i)?, &self.keys[i]))
    }

    /// The index of `id`, if it is a member.
    pub fn index_of(&self, id: &ValidatorId) -> Option<ValidatorIndex> {
        self.validators
            .binary_search_by(|v| v.id.cmp(id))
            .ok()
            .map(|i| i as ValidatorIndex)
    }

    /// The voting power of `id`, if it is a member.
    pub fn power_of(&self, id: &ValidatorId) -> Option<u64> {
        self.index_of(id)
            .map(|i| self.validators[i as usize].voting_power)
    }

    /// More than two thirds of the total power (paper: 2f+1).
    pub fn is_quorum(&self, power: u64) -> bool {
        power as u128 * 3 > self.total_power as u128 * 2
    }

    /// More than one third of the total power (paper: f+1): at least one correct validator.
    pub fn is_one_third(&self, power: u64) -> bool {
        power as u128 * 3 > self.total_power as u128
    }

    /// Proposer of `round` at this height: CometBFT copies the set and increments
    /// priorities `round` more times.
    pub fn proposer(&self, round: Round) -> ValidatorIndex {
        if round.0 == 0 {
            return self.proposer;
        }
        let mut copy = self.clone();
        copy.increment_proposer_priority(round.0);
        copy.proposer
    }

    /// Id of the proposer of `round`.
    pub fn proposer_id(&self, round: Round) -> ValidatorId {
        self.validators[self.proposer(round) as usize].id
    }

    /// The set for the next height with the same members (CometBFT's `updateState` does
    /// `IncrementProposerPriority(1)` once per height).
    pub fn next_height(&self) -> ValidatorSet {
        let mut copy = self.clone();
        copy.increment_proposer_priority(1);
        copy
    }

    /// CometBFT `IncrementProposerPriority(times)`.
    fn increment_proposer_priority(&mut self, times: u32) {
        let diff_max = PRIORITY_WINDOW_SIZE_FACTOR * self.total_power as i64;
        self.rescale_priorities(diff_max);
        self.shift_by_avg_proposer_priority();
        for _ in 0..times {
            for v in &mut self.validators {
                v.proposer_priority = v.proposer_priority.saturating_add(v.voting_power as i64);
            }
            let most = self.most_priority();
            let p = &mut self.validators[most as usize].proposer_priority;
            *p = p.saturating_sub(self.total_power as i64);
            self.proposer = most;
        }
    }

    /// Highest priority wins; ties go to the smaller id (CometBFT compares addresses).
    fn most_priority(&self) -> ValidatorIndex {
        let mut best = 0usize;
        for (i, v) in self.validators.iter().enumerate().skip(1) {
            // Sorted by id, so on a tie the earlier (smaller) id is kept.
            if v.proposer_priority > self.validators[best].proposer_priority {
                best = i;
            }
        }
        best as ValidatorIndex
    }

    /// CometBFT `RescalePriorities`: divide by ceil(diff / diff_max) when the spread is too big.
    fn rescale_priorities(&mut self, diff_max: i64) {
        if diff_max <= 0 {
            return;
        }
        let max = self.validators.iter().map(|v| v.proposer_priority).max();
        let min = self.validators.iter().map(|v| v.proposer_priority).min();
        let (Some(max), Some(min)) = (max, min) else {
            return;
        };
        let diff = max as i128 - min as i128;
        if diff > diff_max as i128 {
            let ratio = (diff + diff_max as i128 - 1) / diff_max as i128;
            for v in &mut self.validators {
                // Go's integer division truncates toward zero, as Rust's does.
                v.proposer_priority = (v.proposer_priority as i128 / ratio) as i64;
            }
        }
    }

    /// CometBFT `shiftByAvgProposerPriority` (big.Int `Div` is Euclidean, i.e. floor here).
    fn shift_by_avg_proposer_priority(&mut self) {
        let n = self.validators.len() as i128;
        let sum: i128 = self
            .validators
            .iter()
            .map(|v| v.proposer_priority as i128)
            .sum();
        let avg = sum.div_euclid(n) as i64;
        for v in &mut self.validators {
            v.proposer_priority = v.proposer_priority.saturating_sub(avg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Ed25519Signer, Signer};

    fn ids(n: u8) -> Vec<ValidatorId> {
        let mut ids: Vec<ValidatorId> = (0..n)
            .map(|i| Ed25519Signer::from_seed([i + 1; 32]).validator_id())
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn equal_power_is_round_robin() {
        let ids = ids(4);
        let set = ValidatorSet::new(ids.iter().map(|i| (*i, 10))).unwrap();
        let rounds: Vec<ValidatorIndex> = (0..8).map(|r| set.proposer(Round(r))).collect();
        // Every validator proposes exactly twice in 8 rounds.
        for i in 0..4 {
            assert_eq!(rounds.iter().filter(|p| **p == i).count(), 2, "{rounds:?}");
        }
        // First proposer on a tie is the smallest id.
        assert_eq!(set.proposer(Round(0)), 0);
    }

    #[test]
    fn weighted_frequency_matches_power() {
        let ids = ids(3);
        let set = ValidatorSet::new([(ids[0], 1), (ids[1], 2), (ids[2], 7)]).unwrap();
        let mut counts = [0u32; 3];
        let mut s = set.clone();
        for _ in 0..100 {
            counts[s.proposer(Round(0)) as usize] += 1;
            s = s.next_height();
        }
        assert_eq!(counts, [10, 20, 70]);
    }

    #[test]
    fn cometbft_reference_sequence() {
        // CometBFT TestProposerSelection1: powers 1000, 300, 330 for "foo", "bar", "baz"
        // give the sequence below over 99 heights. Ids are ordered here as bar < baz < foo
        // like their addresses, so map names to indexes accordingly.
        let ids = ids(3);
        let set = ValidatorSet::new([(ids[0], 300), (ids[1], 330), (ids[2], 1000)]).unwrap();
        let names = ["bar", "baz", "foo"];
        let expected = "foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo foo baz bar foo foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo";
        let mut s = set;
        let mut got = Vec::new();
        for _ in 0..99 {
            got.push(names[s.proposer(Round(0)) as usize]);
            s = s.next_height();
        }
        assert_eq!(got.join(" "), expected);
    }

    #[test]
    fn rejects_bad_sets() {
        let ids = ids(2);
        assert!(matches!(
            ValidatorSet::new([]),
            Err(ValidatorSetError::Empty)
        ));
        assert!(matches!(
            ValidatorSet::new([(ids[0], 1), (ids[0], 1)]),
            Err(ValidatorSetError::Duplicate(_))
        ));
        assert!(matches!(
            ValidatorSet::new([(ids[0], 0)]),
            Err(ValidatorSetError::ZeroPower(_))
        ));
    }

    #[test]
    fn scale_roundtrip_keeps_priorities() {
        let ids = ids(4);
        let set = ValidatorSet::new(ids.iter().enumerate().map(|(i, id)| (*id, i as u64 + 1)))
            .unwrap()
            .next_height();
        let decoded = ValidatorSet::decode(&mut &set.encode()[..]).unwrap();
        assert_eq!(decoded, set);
        assert_eq!(decoded.proposer(Round(3)), set.proposer(Round(3)));
    }
}
