//! Checking an `UpdateValidators` transaction against the latest set, and the set it leads to.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use parity_scale_codec::Encode;

use super::types::{
    Approval, MAX_TOTAL_POWER, MAX_UPDATE_CHANGES, MAX_VALIDATORS, Member, ValidatorSetUpdate,
    ValidatorState,
};

/// Domain separation for approvals: an approval is never a valid transaction or vote signature.
const APPROVAL_DOMAIN: &[u8] = b"cvm/validator-update/v1";

/// Why an update is not applied. The transaction fails with this reason; the set is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateRefusal {
    /// The chain's genesis recorded no validator set.
    #[error("this chain's state records no validator set; its genesis predates validator updates")]
    NoSet,
    /// The update is for another position in the sequence of updates.
    #[error(
        "update seq {found} is not the next: {expected} updates have been applied; build the update again at \
         seq {expected} and collect fresh approvals"
    )]
    Seq {
        /// The state's seq.
        expected: u64,
        /// The update's.
        found: u64,
    },
    /// No changes, or too many.
    #[error("an update carries 1 to {MAX_UPDATE_CHANGES} changes, this one {0}")]
    ChangeCount(usize),
    /// A key appears in two changes.
    #[error("key {0} is changed twice in one update")]
    DuplicateChange(String),
    /// A key that is not an ed25519 public key.
    #[error("key {0} is not a valid ed25519 public key")]
    BadKey(String),
    /// Power 0 for a key that is not a member.
    #[error("key {0} is not a validator, so it cannot be removed")]
    NotAMember(String),
    /// The resulting set is empty.
    #[error("the update would remove every validator")]
    EmptySet,
    /// The resulting set is too large.
    #[error("the update would make {0} validators, above the limit of {MAX_VALIDATORS}")]
    TooManyValidators(usize),
    /// The resulting total power is too large.
    #[error("the update would make the total power {0}, above the limit of {MAX_TOTAL_POWER}")]
    TotalPower(u128),
    /// More approvals than keys that could give one.
    #[error("{0} approvals: more than the members and added keys together")]
    TooManyApprovals(usize),
    /// A key approved twice.
    #[error("key {0} approves twice")]
    DuplicateApproval(String),
    /// An approval from a key that is neither a member nor added by the update.
    #[error("key {0} approves but is neither a validator nor added by the update")]
    StrangerApproval(String),
    /// A signature that does not verify.
    #[error(
        "the approval of key {0} does not verify: sign the SCALE encoding of (\"cvm/validator-update/v1\", \
         chain id, update) with that key"
    )]
    BadApproval(String),
    /// A key the update adds did not approve it.
    #[error(
        "key {0} joins the set but did not approve the update (its approval proves someone holds it)"
    )]
    JoinerDidNotApprove(String),
    /// Not enough of the set approved.
    #[error(
        "approvals hold {approved} of {total} voting power; more than 2/3 of the validators' power must approve"
    )]
    NotEnoughPower {
        /// Power of the approving members.
        approved: u64,
        /// The set's total power.
        total: u64,
    },
}

/// The bytes an approval signs: SCALE of (domain, chain id, update).
pub fn approval_bytes(chain_id: &str, update: &ValidatorSetUpdate) -> Vec<u8> {
    (APPROVAL_DOMAIN, chain_id, update).encode()
}

/// `key`'s approval of `update` on chain `chain_id`.
pub fn approve(key: &SigningKey, chain_id: &str, update: &ValidatorSetUpdate) -> Approval {
    Approval {
        key: key.verifying_key().to_bytes(),
        signature: key.sign(&approval_bytes(chain_id, update)).to_bytes(),
    }
}

/// The set `update` leads to from `set`, when `approvals` authorize it (see the [module docs](super)). Work is
/// bounded before any signature is checked: the changes and approvals are counted first, and one signature is
/// checked per approval.
pub fn check_update(
    set: &ValidatorState,
    chain_id: &str,
    update: &ValidatorSetUpdate,
    approvals: &[Approval],
) -> Result<ValidatorState, UpdateRefusal> {
    if set.members.is_empty() {
        return Err(UpdateRefusal::NoSet);
    }
    if update.seq != set.seq {
        return Err(UpdateRefusal::Seq {
            expected: set.seq,
            found: update.seq,
        });
    }
    let next = apply_update(set, update)?;
    let joiners: BTreeSet<[u8; 32]> = update
        .changes
        .iter()
        .filter(|c| c.power > 0 && set.power_of(&c.key).is_none())
        .map(|c| c.key)
        .collect();
    if approvals.len() > set.members.len() + joiners.len() {
        return Err(UpdateRefusal::TooManyApprovals(approvals.len()));
    }
    let message = approval_bytes(chain_id, update);
    let mut approved_power: u64 = 0;
    let mut approvers = BTreeSet::new();
    for approval in approvals {
        let hex = hex::encode(approval.key);
        if !approvers.insert(approval.key) {
            return Err(UpdateRefusal::DuplicateApproval(hex));
        }
        let power = set.power_of(&approval.key);
        if power.is_none() && !joiners.contains(&approval.key) {
            return Err(UpdateRefusal::StrangerApproval(hex));
        }
        check_approval(&message, approval)?;
        approved_power += power.unwrap_or(0);
    }
    if let Some(missing) = joiners.iter().find(|k| !approvers.contains(*k)) {
        return Err(UpdateRefusal::JoinerDidNotApprove(hex::encode(missing)));
    }
    let total = set.total_power();
    if u128::from(approved_power) * 3 <= u128::from(total) * 2 {
        return Err(UpdateRefusal::NotEnoughPower {
            approved: approved_power,
            total,
        });
    }
    Ok(next)
}

/// Whether `approval` is its key's signature over `message`, an update's [`approval_bytes`].
pub fn check_approval(message: &[u8], approval: &Approval) -> Result<(), UpdateRefusal> {
    let hex = || hex::encode(approval.key);
    let key = VerifyingKey::from_bytes(&approval.key).map_err(|_| UpdateRefusal::BadKey(hex()))?;
    key.verify(message, &Signature::from_bytes(&approval.signature))
        .map_err(|_| UpdateRefusal::BadApproval(hex()))
}

/// The set after `update`'s changes, checked for shape (keys, duplicates, removals of members only, size and total
/// power) but not for authorization: [`check_update`] is the rule.
pub fn apply_update(
    set: &ValidatorState,
    update: &ValidatorSetUpdate,
) -> Result<ValidatorState, UpdateRefusal> {
    let count = update.changes.len();
    if count == 0 || count > MAX_UPDATE_CHANGES {
        return Err(UpdateRefusal::ChangeCount(count));
    }
    let mut members: BTreeMap<[u8; 32], u64> =
        set.members.iter().map(|m| (m.key, m.power)).collect();
    let mut seen = BTreeSet::new();
    for change in &update.changes {
        let hex = hex::encode(change.key);
        if !seen.insert(change.key) {
            return Err(UpdateRefusal::DuplicateChange(hex));
        }
        if VerifyingKey::from_bytes(&change.key).is_err() {
            return Err(UpdateRefusal::BadKey(hex));
        }
        if change.power == 0 {
            if members.remove(&change.key).is_none() {
                return Err(UpdateRefusal::NotAMember(hex));
            }
        } else {
            members.insert(change.key, change.power);
        }
    }
    if members.is_empty() {
        return Err(UpdateRefusal::EmptySet);
    }
    if members.len() > MAX_VALIDATORS {
        return Err(UpdateRefusal::TooManyValidators(members.len()));
    }
    let total: u128 = members.values().map(|p| u128::from(*p)).sum();
    if total > u128::from(MAX_TOTAL_POWER) {
        return Err(UpdateRefusal::TotalPower(total));
    }
    Ok(ValidatorState {
        members: members
            .into_iter()
            .map(|(key, power)| Member { key, power })
            .collect(),
        seq: set.seq + 1,
    })
}

#[cfg(test)]
mod tests;
