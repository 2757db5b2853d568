//! Jailing: a validator proven to have signed two conflicting votes loses its place in the set.
//!
//! The node verifies the evidence (both signatures, against the set of the offence's height) before a block
//! carries it; execution receives the [`Offence`] it proves. Jailing removes the offender from the latest set (so
//! consensus drops it two heights later, like any removal), bumps the set's `seq` (approvals collected for the old
//! membership must be collected again) and records a [`JailRecord`] under `jailed/<key>`. One jailing covers every
//! offence up to the height at which the removal takes effect: a later one is punishable only if the validator
//! came back and offended again.

use parity_scale_codec::{Decode, Encode};

use super::types::ValidatorState;
use crate::state::{MainRead, StateError, decoded};

/// Main trie prefix of jail records: `jailed/<key>` → [`JailRecord`].
pub const JAILED_PREFIX: &[u8] = b"jailed/";

/// The state key of `validator`'s jail record.
pub fn jailed_key(validator: &[u8; 32]) -> Vec<u8> {
    [JAILED_PREFIX, &validator[..]].concat()
}

/// A proven offence: `validator` signed two different votes for one slot at `height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct Offence {
    /// The offender's public key.
    pub validator: [u8; 32],
    /// The height of its conflicting votes.
    pub height: u64,
}

/// What the state keeps of a validator's latest jailing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct JailRecord {
    /// The height of the offence punished.
    pub offence_height: u64,
    /// The block that committed the evidence.
    pub jailed_at: u64,
    /// Whether the validator was removed: false when it had already left the set, or was its only member.
    pub removed: bool,
}

impl JailRecord {
    /// The first height whose set no longer holds the offender: later offences are new ones.
    pub fn covers_until(&self) -> u64 {
        self.jailed_at.saturating_add(2)
    }
}

/// Why an offence is not punished again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OffenceRefusal {
    /// A jailing already covers the offence's height.
    #[error(
        "validator {validator} was already jailed at block {jailed_at} for an offence at height \
         {offence_height}, which covers offences up to height {covered}"
    )]
    AlreadyJailed {
        /// The offender, hex.
        validator: String,
        /// The block of the earlier jailing.
        jailed_at: u64,
        /// The offence it punished.
        offence_height: u64,
        /// The last height it covers.
        covered: u64,
    },
}

/// `validator`'s latest jail record, if it was ever jailed.
pub fn jail_record(
    view: &impl MainRead,
    validator: &[u8; 32],
) -> Result<Option<JailRecord>, StateError> {
    decoded(view, &jailed_key(validator))
}

/// Whether `offence` may still be punished at this state: no earlier jailing covers its height.
pub fn check_offence(
    view: &impl MainRead,
    offence: &Offence,
) -> Result<Result<(), OffenceRefusal>, StateError> {
    Ok(match jail_record(view, &offence.validator)? {
        Some(record) if offence.height < record.covers_until() => {
            Err(OffenceRefusal::AlreadyJailed {
                validator: hex::encode(offence.validator),
                jailed_at: record.jailed_at,
                offence_height: record.offence_height,
                covered: record.covers_until() - 1,
            })
        }
        _ => Ok(()),
    })
}

/// The set without `validator`, its `seq` moved on; `None` when it is not a member or is the only one (a chain
/// with no validator cannot go on, so the last one stays).
pub fn jail(set: &ValidatorState, validator: &[u8; 32]) -> Option<ValidatorState> {
    let index = set
        .members
        .binary_search_by(|m| m.key.cmp(validator))
        .ok()?;
    if set.members.len() == 1 {
        return None;
    }
    let mut members = set.members.clone();
    members.remove(index);
    Some(ValidatorState {
        members,
        seq: set.seq + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validators::Member;

    fn member(seed: u8) -> Member {
        Member {
            key: [seed; 32],
            power: 10,
        }
    }

    #[test]
    fn jailing_removes_a_member_and_moves_the_seq() {
        let set = ValidatorState {
            members: vec![member(1), member(2), member(3)],
            seq: 4,
        };
        let next = jail(&set, &[2; 32]).expect("a member");
        assert_eq!(next.members, vec![member(1), member(3)]);
        assert_eq!(next.seq, 5);
        assert_eq!(jail(&set, &[9; 32]), None, "not a member");
        let alone = ValidatorState {
            members: vec![member(1)],
            seq: 0,
        };
        assert_eq!(jail(&alone, &[1; 32]), None, "the last validator stays");
    }

    #[test]
    fn a_record_covers_offences_until_the_removal_takes_effect() {
        let record = JailRecord {
            offence_height: 7,
            jailed_at: 10,
            removed: true,
        };
        assert_eq!(record.covers_until(), 12);
    }
}
