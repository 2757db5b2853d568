//! The validator set as the state records it: its members and their voting power ([`ValidatorState`]), and the
//! rules for changing it: by an `UpdateValidators` transaction ([`check_update`]), and by jailing a validator
//! proven to have equivocated ([`jail`]).
//!
//! The state holds the **latest** membership: the one after every committed update. Consensus applies the change
//! set a block's execution produces two heights later (CometBFT's rule: updates decided at height h are in force
//! at h + 2), so the state after block h holds the membership of height h + 2. The runtime never orders proposers:
//! priorities are consensus's business.
//!
//! An update is authorized by the validators themselves: approvals (signatures over [`approval_bytes`]) of members
//! holding more than 2/3 of the latest total power, the same agreement that finalizes blocks, plus the approval of
//! every key it adds (proof that someone holds it). Its `seq` must equal the state's count of applied changes
//! (updates and jailings), so an approval is good for one update of one membership and cannot be replayed.
//!
//! | Module | Job |
//! |---|---|
//! | `types` | members, changes, updates, approvals, limits |
//! | `state` | the state key and its read |
//! | `update` | checking and applying an update |
//! | `jail` | removing a validator proven to have equivocated |

mod jail;
mod state;
mod types;
mod update;

pub use jail::{
    JAILED_PREFIX, JailRecord, Offence, OffenceRefusal, check_offence, jail, jail_record,
    jailed_key,
};
pub use state::{VALIDATORS_KEY, validator_state};
pub use types::{
    Approval, MAX_TOTAL_POWER, MAX_UPDATE_CHANGES, MAX_VALIDATORS, Member, ValidatorChange,
    ValidatorSetUpdate, ValidatorState,
};
pub use update::{
    UpdateRefusal, apply_update, approval_bytes, approve, check_approval, check_update,
};
