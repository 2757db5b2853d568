//! Validator set with CometBFT's weighted round-robin proposer selection.
//!
//! The proposer of round `r` is what CometBFT computes by incrementing the priorities `r`
//! times. The priorities' dynamics are deterministic on a bounded state (their sum is
//! invariant and rescaling keeps them within a window), so they end in a cycle; the walk
//! detects it (comparing with checkpoints taken at powers of two, as in Brent's algorithm)
//! and jumps over whole cycles. The work for any round is thus
//! `O(n * min(round, transient + cycle))` increments; observed transients and cycles are
//! below twice and once the total power (cycles divide it), so a set of modest total
//! power answers any round, `u32::MAX` included, at once. With a huge total power the work
//! can still grow with the round, which is why the driver (and the host) refuse rounds
//! beyond their window before asking for a proposer.

use std::cell::Cell;

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

thread_local! {
    static PRIORITY_STEPS: Cell<u64> = const { Cell::new(0) };
}

/// Priority increments (one per simulated round) performed on this thread so far: the work
/// proposer selection did. Lets tests and diagnostics bound that work without a clock.
pub fn priority_steps() -> u64 {
    PRIORITY_STEPS.with(Cell::get)
}

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

    /// Each member's id and voting power, sorted by id: what the host hashes to commit to
    /// the set (priorities are not part of it).
    pub fn membership(&self) -> Vec<(ValidatorId, u64)> {
        self.validators
            .iter()
            .map(|v| (v.id, v.voting_power))
            .collect()
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
    /// priorities `round` more times; this gives the same answer with bounded work (see the
    /// module docs).
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

    /// The end of CometBFT's `updateWithChangeSet`: rescale the priorities into the window
    /// and centre them on zero. The round-0 proposer becomes the highest priority (CometBFT's
    /// `findProposer`); the host's `next_height()` picks it again in any case.
    pub(crate) fn rescale_and_centre(&mut self) {
        self.rescale_priorities(PRIORITY_WINDOW_SIZE_FACTOR * self.total_power as i64);
        self.shift_by_avg_proposer_priority();
        self.proposer = self.most_priority();
    }

    /// CometBFT `IncrementProposerPriority(times)`: rescale and centre once, then `times`
    /// increments, the last of which picks the proposer.
    fn increment_proposer_priority(&mut self, times: u32) {
        if times == 0 {
            return;
        }
        let diff_max = PRIORITY_WINDOW_SIZE_FACTOR * self.total_power as i64;
        self.rescale_priorities(diff_max);
        self.shift_by_avg_proposer_priority();
        self.fast_forward(u64::from(times) - 1);
        self.proposer = self.increment_once();
    }

    /// The priorities after `steps` increments, skipping whole cycles once one is found.
    fn fast_forward(&mut self, steps: u64) {
        let mut checkpoint = self.priorities();
        let mut checkpoint_at = 0u64;
        let mut done = 0u64;
        while done < steps {
            self.increment_once();
            done += 1;
            if self.validators_match(&checkpoint) {
                // The state at `done` is the state at `checkpoint_at`: it repeats with this
                // period from here on.
                let period = done - checkpoint_at;
                for _ in 0..(steps - done) % period {
                    self.increment_once();
                }
                return;
            }
            if done.is_power_of_two() {
                checkpoint = self.priorities();
                checkpoint_at = done;
            }
        }
    }

    fn priorities(&self) -> Vec<i64> {
        self.validators
            .iter()
            .map(|v| v.proposer_priority)
            .collect()
    }

    fn validators_match(&self, priorities: &[i64]) -> bool {
        self.validators
            .iter()
            .zip(priorities)
            .all(|(v, p)| v.proposer_priority == *p)
    }

    /// One round of CometBFT's loop: everyone gains its power, the highest pays the total.
    /// Returns who was picked.
    fn increment_once(&mut self) -> ValidatorIndex {
        PRIORITY_STEPS.with(|c| c.set(c.get() + 1));
        for v in &mut self.validators {
            v.proposer_priority = v.proposer_priority.saturating_add(v.voting_power as i64);
        }
        let most = self.most_priority();
        let p = &mut self.validators[most as usize].proposer_priority;
        *p = p.saturating_sub(self.total_power as i64);
        most
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
        let mut s = set.clone();
        let mut got = Vec::new();
        for _ in 0..99 {
            got.push(names[s.proposer(Round(0)) as usize]);
            s = s.next_height();
        }
        assert_eq!(got.join(" "), expected);
        // Without rescaling (the spread stays small here) rounds walk the same sequence as
        // heights, through the cycle-skipping path for the later ones.
        let by_round: Vec<&str> = (0..99)
            .map(|r| names[set.proposer(Round(r)) as usize])
            .collect();
        assert_eq!(by_round.join(" "), expected);
        // The sequence has period 163 (= 1630 / gcd 10): far rounds repeat it.
        for r in [0u32, 1, 7, 98] {
            assert_eq!(set.proposer(Round(r)), set.proposer(Round(r + 163 * 1_000)));
        }
    }

    #[test]
    fn proposer_of_round_u32_max_takes_bounded_work() {
        let ids = ids(4);
        let equal = ValidatorSet::new(ids.iter().map(|i| (*i, 10))).unwrap();
        let weighted = ValidatorSet::new([(ids[0], 300), (ids[1], 330), (ids[2], 1000)]).unwrap();
        for set in [equal, weighted] {
            let before = priority_steps();
            let p = set.proposer(Round(u32::MAX));
            let work = priority_steps() - before;
            // A cycle is at most the total power long; the walk finds it within a few.
            assert!(work <= 4 * set.total_power(), "{work} increments");
            let period = set.total_power() as u32;
            assert_eq!(p, set.proposer(Round(u32::MAX - period)));
        }
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
