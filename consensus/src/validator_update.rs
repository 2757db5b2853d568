//! Validator-set changes: CometBFT's `ValidatorSet.UpdateWithChangeSet`.
//!
//! A change set decided at height `h` applies from height `h + 2`. The host builds the set of
//! `h + 2` from the set of `h + 1` exactly where CometBFT's `updateState` does:
//! `set_h1.update_with_change_set(changes)?.next_height()` (`next_height()` is CometBFT's
//! `IncrementProposerPriority(1)`). Every node doing so from the same decided changes gets the
//! same set, priorities and proposer included.

use parity_scale_codec::{Decode, Encode};

use crate::error::ValidatorSetError;
use crate::types::ValidatorId;
use crate::validator::{MAX_TOTAL_VOTING_POWER, Validator, ValidatorSet};

/// One entry of a change set (CometBFT's ABCI `ValidatorUpdate`): the validator's new power;
/// power 0 removes it, a non-member with power above 0 joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ValidatorUpdate {
    /// The validator's public key.
    pub id: ValidatorId,
    /// Its new voting power; 0 removes it.
    pub voting_power: u64,
}

impl ValidatorSet {
    /// CometBFT's `UpdateWithChangeSet`: the set after `changes`, or why they cannot apply
    /// (then nothing changed). In order:
    /// 1. changes sorted by id; a repeated id is [`DuplicateChange`], a power above
    ///    [`MAX_TOTAL_VOTING_POWER`] is [`ChangePowerTooLarge`] (whichever comes first in id
    ///    order); power 0 is a removal, any other an update;
    /// 2. if no update adds a member and there are as many removals as members:
    ///    [`ChangeEmptiesSet`];
    /// 3. a removal of a non-member: [`RemovesNonMember`];
    /// 4. updates applied by increasing power delta, from the total minus the removed power:
    ///    a running total above the maximum is [`TotalPowerTooLarge`]; the total after
    ///    updates and before removals is `tvp`;
    /// 5. a new member starts at priority `-(tvp + tvp >> 3)` (about -1.125 × total, so
    ///    leaving and rejoining cannot reset a negative priority); members keep theirs;
    /// 6. removals applied, then priorities rescaled to `2 × total` and shifted by their
    ///    average (floor), as `IncrementProposerPriority` starts.
    ///
    /// The round-0 proposer of the result is its highest priority; CometBFT keeps a stale
    /// pointer there instead, and neither is used: the host calls
    /// [`next_height`](Self::next_height) on the result, which picks the proposer of the new
    /// height. An empty change set returns the set unchanged (no rescale), as CometBFT does.
    /// A new member's id that is not an ed25519 key is [`BadKey`].
    ///
    /// [`DuplicateChange`]: ValidatorSetError::DuplicateChange
    /// [`ChangePowerTooLarge`]: ValidatorSetError::ChangePowerTooLarge
    /// [`ChangeEmptiesSet`]: ValidatorSetError::ChangeEmptiesSet
    /// [`RemovesNonMember`]: ValidatorSetError::RemovesNonMember
    /// [`TotalPowerTooLarge`]: ValidatorSetError::TotalPowerTooLarge
    /// [`BadKey`]: ValidatorSetError::BadKey
    pub fn update_with_change_set(
        &self,
        changes: &[ValidatorUpdate],
    ) -> Result<ValidatorSet, ValidatorSetError> {
        if changes.is_empty() {
            return Ok(self.clone());
        }
        let (updates, removals) = process_changes(changes)?;
        let joining = updates
            .iter()
            .filter(|u| self.index_of(&u.id).is_none())
            .count();
        if joining == 0 && self.len() == removals.len() {
            return Err(ValidatorSetError::ChangeEmptiesSet);
        }
        let removed_power = self.verify_removals(&removals)?;
        let tvp = self.verify_updates(&updates, removed_power)?;
        // tvp < 2 × MAX_TOTAL_VOTING_POWER = i64::MAX / 4, so this fits an i64.
        let tvp = tvp as i64;
        let joining_priority = -(tvp + (tvp >> 3));

        // Merge the members (sorted by id) with the updates and removals (sorted by id).
        let mut merged = Vec::with_capacity(self.len() + joining);
        let mut updates = updates.iter().peekable();
        let mut removals = removals.iter().peekable();
        for v in self.validators() {
            while let Some(u) = updates.next_if(|u| u.id < v.id) {
                merged.push(Validator {
                    id: u.id,
                    voting_power: u.voting_power,
                    proposer_priority: joining_priority,
                });
            }
            if removals.next_if(|r| r.id == v.id).is_some() {
                continue;
            }
            let voting_power = match updates.next_if(|u| u.id == v.id) {
                Some(u) => u.voting_power,
                None => v.voting_power,
            };
            merged.push(Validator {
                id: v.id,
                voting_power,
                proposer_priority: v.proposer_priority,
            });
        }
        merged.extend(updates.map(|u| Validator {
            id: u.id,
            voting_power: u.voting_power,
            proposer_priority: joining_priority,
        }));
        let mut set = ValidatorSet::with_priorities(merged)?;
        set.rescale_and_centre();
        Ok(set)
    }

    /// CometBFT `verifyRemovals`: the power removed, or the first non-member removed.
    fn verify_removals(&self, removals: &[ValidatorUpdate]) -> Result<u64, ValidatorSetError> {
        removals.iter().try_fold(0u64, |sum, r| {
            self.power_of(&r.id)
                .map(|p| sum + p)
                .ok_or(ValidatorSetError::RemovesNonMember(r.id))
        })
    }

    /// CometBFT `verifyUpdates`: applies the power deltas smallest first (so a swap of
    /// powers near the maximum is not refused) from the total without the removed power;
    /// returns the total after updates and before removals.
    fn verify_updates(
        &self,
        updates: &[ValidatorUpdate],
        removed_power: u64,
    ) -> Result<u64, ValidatorSetError> {
        let mut deltas: Vec<i128> = updates
            .iter()
            .map(|u| {
                i128::from(u.voting_power) - i128::from(self.power_of(&u.id).unwrap_or_default())
            })
            .collect();
        deltas.sort_unstable();
        let mut total = i128::from(self.total_power()) - i128::from(removed_power);
        for d in deltas {
            total += d;
            if total > i128::from(MAX_TOTAL_VOTING_POWER) {
                return Err(ValidatorSetError::TotalPowerTooLarge);
            }
        }
        Ok((total + i128::from(removed_power)) as u64)
    }
}

/// CometBFT `processChanges`: sorted by id, split into updates and removals.
type Split = (Vec<ValidatorUpdate>, Vec<ValidatorUpdate>);

fn process_changes(changes: &[ValidatorUpdate]) -> Result<Split, ValidatorSetError> {
    let mut sorted = changes.to_vec();
    sorted.sort_by_key(|c| c.id);
    let mut updates = Vec::with_capacity(sorted.len());
    let mut removals = Vec::new();
    let mut previous = None;
    for c in sorted {
        if previous == Some(c.id) {
            return Err(ValidatorSetError::DuplicateChange(c.id));
        }
        if c.voting_power > MAX_TOTAL_VOTING_POWER {
            return Err(ValidatorSetError::ChangePowerTooLarge {
                id: c.id,
                power: c.voting_power,
            });
        }
        if c.voting_power == 0 {
            removals.push(c);
        } else {
            updates.push(c);
        }
        previous = Some(c.id);
    }
    Ok((updates, removals))
}
