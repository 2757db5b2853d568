//! What the state records of validators, and what an update carries.

use parity_scale_codec::{Decode, Encode};

/// Most validators a set may have: bounds the signatures an update's approvals and a certificate cost.
pub const MAX_VALIDATORS: usize = 128;
/// Most changes one update may carry.
pub const MAX_UPDATE_CHANGES: usize = 64;
/// Most total voting power (CometBFT's `MaxTotalVotingPower`, `i64::MAX / 8`, so proposer priorities cannot
/// overflow).
pub const MAX_TOTAL_POWER: u64 = (i64::MAX / 8) as u64;

/// A validator and its voting power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
pub struct Member {
    /// Its ed25519 public key (consensus signs votes with it).
    pub key: [u8; 32],
    /// Its weight in every quorum (never 0 in a set).
    pub power: u64,
}

/// The validator set the state records: the membership after every committed update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct ValidatorState {
    /// The members, sorted by key.
    pub members: Vec<Member>,
    /// How many changes (updates and jailings) have been applied since genesis: the `seq` the next update must
    /// carry.
    pub seq: u64,
}

impl ValidatorState {
    /// The sum of the members' power.
    pub fn total_power(&self) -> u64 {
        self.members.iter().map(|m| m.power).sum()
    }

    /// The changes that turn this set into `next`: each key whose power differs (0 for a key `next` lacks), in key
    /// order.
    pub fn changes_to(&self, next: &ValidatorState) -> Vec<ValidatorChange> {
        let removed = self
            .members
            .iter()
            .filter(|m| next.power_of(&m.key).is_none())
            .map(|m| ValidatorChange {
                key: m.key,
                power: 0,
            });
        let changed = next
            .members
            .iter()
            .filter(|m| self.power_of(&m.key) != Some(m.power))
            .map(|m| ValidatorChange {
                key: m.key,
                power: m.power,
            });
        let mut changes: Vec<ValidatorChange> = removed.chain(changed).collect();
        changes.sort_by_key(|c| c.key);
        changes
    }

    /// The power of `key`, if it is a member.
    pub fn power_of(&self, key: &[u8; 32]) -> Option<u64> {
        self.members
            .binary_search_by(|m| m.key.cmp(key))
            .ok()
            .map(|i| self.members[i].power)
    }
}

/// One change: `key` gets `power` (0 removes it; a key not in the set joins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct ValidatorChange {
    /// The validator's public key.
    pub key: [u8; 32],
    /// Its new power; 0 removes it.
    pub power: u64,
}

/// A change set at one position of the chain's sequence of updates. A key rotation is two changes: the old key to
/// 0 and the new key to its power.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ValidatorSetUpdate {
    /// The state's `seq` this update applies at.
    pub seq: u64,
    /// The changes, each key at most once.
    pub changes: Vec<ValidatorChange>,
}

/// A key's signature over [`approval_bytes`](super::approval_bytes) of an update.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Approval {
    /// The approving key.
    pub key: [u8; 32],
    /// Its ed25519 signature.
    pub signature: [u8; 64],
}
