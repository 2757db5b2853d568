//! Which validator set signs which height. CometBFT's rule: the change set a block's execution produces (its
//! `UpdateValidators` transactions, as [`BlockOutcome::validator_changes`](cvm_runtime::BlockOutcome)) is in
//! force two heights later, `set(h + 2) = set(h + 1).update_with_change_set(changes(h)).next_height()`, and a
//! height without changes advances the proposer priorities once, `set(h + 2) = set(h + 1).next_height()`.
//!
//! A [`ValidatorSchedule`] holds the sets of the heights around the chain's head: the head's (it signed the head's
//! certificate, which the next block carries as its last commit), the next height's (being decided) and the one
//! after (known as soon as the head is committed). Headers commit to the sets by [`membership_hash`].

use cvm_consensus::{ValidatorId, ValidatorSet, ValidatorUpdate};
use cvm_runtime::state::blake2_256;
use cvm_runtime::validators::ValidatorChange;
use parity_scale_codec::{Decode, Encode};

/// Blake2-256 of SCALE(`Vec<(key, power)>`) in key order: what a header's `validators_hash` and
/// `next_validators_hash` hold. Proposer priorities are left out (as CometBFT's hash leaves them out): they follow
/// from the chain, not from the set.
pub fn membership_hash(set: &ValidatorSet) -> [u8; 32] {
    let members: Vec<([u8; 32], u64)> = set
        .validators()
        .iter()
        .map(|v| (v.id.0, v.voting_power))
        .collect();
    blake2_256(&members.encode())
}

/// Why a change set cannot be applied to the next set. Execution checked it against the same membership, so this
/// means this node's sets disagree with its state: the node must stop.
#[derive(Debug, thiserror::Error)]
#[error("the validator changes of height {height} do not apply to the set of height {}: {cause}", height + 1)]
pub struct ScheduleError {
    /// The height whose changes were refused.
    pub height: u64,
    /// Consensus's reason.
    pub cause: String,
}

/// The validator sets of heights `head`, `head + 1` and `head + 2`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ValidatorSchedule {
    /// The last committed height (0 before the first block).
    pub head: u64,
    /// The set that signed the head (`None` at height 0).
    pub current: Option<ValidatorSet>,
    /// The set of `head + 1`.
    pub next: ValidatorSet,
    /// The set of `head + 2`.
    pub after_next: ValidatorSet,
}

impl ValidatorSchedule {
    /// Before block 1: the genesis set signs height 1, and height 2 unless block 1 changes it.
    pub fn genesis(first: ValidatorSet) -> ValidatorSchedule {
        ValidatorSchedule {
            head: 0,
            current: None,
            after_next: first.next_height(),
            next: first,
        }
    }

    /// The set of `height`, when it is one of the three held.
    pub fn set_at(&self, height: u64) -> Option<&ValidatorSet> {
        match height.checked_sub(self.head)? {
            0 => self.current.as_ref(),
            1 => Some(&self.next),
            2 => Some(&self.after_next),
            _ => None,
        }
    }

    /// The schedule after committing `head + 1`, whose execution produced `changes`; also whether the set of the
    /// new `head + 2` has another membership than the height before it (then storage records it).
    pub fn advance(
        &self,
        changes: &[ValidatorChange],
    ) -> Result<(ValidatorSchedule, bool), ScheduleError> {
        let height = self.head + 1;
        let after_next = if changes.is_empty() {
            self.after_next.next_height()
        } else {
            let updates: Vec<ValidatorUpdate> = changes
                .iter()
                .map(|c| ValidatorUpdate {
                    id: ValidatorId(c.key),
                    voting_power: c.power,
                })
                .collect();
            self.after_next
                .update_with_change_set(&updates)
                .map_err(|e| ScheduleError {
                    height,
                    cause: e.to_string(),
                })?
                .next_height()
        };
        let changed = membership_hash(&after_next) != membership_hash(&self.after_next);
        Ok((
            ValidatorSchedule {
                head: height,
                current: Some(self.next.clone()),
                next: self.after_next.clone(),
                after_next,
            },
            changed,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn id(seed: u8) -> [u8; 32] {
        SigningKey::from_bytes(&[seed; 32])
            .verifying_key()
            .to_bytes()
    }

    fn four() -> ValidatorSet {
        ValidatorSet::new((1..=4).map(|s| (ValidatorId(id(s)), 10))).unwrap()
    }

    #[test]
    fn changes_decided_at_h_sign_from_h_plus_two() {
        let genesis = ValidatorSchedule::genesis(four());
        assert_eq!(genesis.set_at(0), None);
        assert_eq!(genesis.set_at(1), Some(&four()));
        assert_eq!(genesis.set_at(2), Some(&four().next_height()));
        assert_eq!(genesis.set_at(3), None);

        // Block 1 adds validator 5: heights 1 and 2 keep four validators, height 3 has five.
        let join = [ValidatorChange {
            key: id(5),
            power: 10,
        }];
        let (after1, changed) = genesis.advance(&join).unwrap();
        assert!(changed);
        assert_eq!(after1.head, 1);
        assert_eq!(after1.set_at(1), Some(&four()));
        assert_eq!(after1.set_at(2).unwrap().len(), 4);
        assert_eq!(after1.set_at(3).unwrap().len(), 5);
        assert_eq!(
            after1.set_at(3),
            Some(
                &four()
                    .next_height()
                    .update_with_change_set(&[ValidatorUpdate {
                        id: ValidatorId(id(5)),
                        voting_power: 10
                    }])
                    .unwrap()
                    .next_height()
            )
        );
        // A height without changes only moves the priorities.
        let (after2, changed) = after1.advance(&[]).unwrap();
        assert!(!changed);
        assert_eq!(
            after2.set_at(4),
            Some(&after1.set_at(3).unwrap().next_height())
        );
        assert_eq!(
            membership_hash(after2.set_at(4).unwrap()),
            membership_hash(after2.set_at(3).unwrap())
        );
        assert_ne!(
            membership_hash(after2.set_at(3).unwrap()),
            membership_hash(after2.set_at(2).unwrap())
        );
    }

    #[test]
    fn a_change_set_that_does_not_apply_is_an_error() {
        let remove_stranger = [ValidatorChange {
            key: id(9),
            power: 0,
        }];
        let e = ValidatorSchedule::genesis(four())
            .advance(&remove_stranger)
            .unwrap_err();
        assert_eq!(e.height, 1);
    }

    #[test]
    fn the_schedule_round_trips_through_scale() {
        let (schedule, _) = ValidatorSchedule::genesis(four()).advance(&[]).unwrap();
        let back = ValidatorSchedule::decode(&mut &schedule.encode()[..]).unwrap();
        assert_eq!(back, schedule);
    }
}
