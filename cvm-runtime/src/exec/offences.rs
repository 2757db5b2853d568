//! The last step of a block: jailing the offenders its evidence proves.

use parity_scale_codec::Encode;
use tracing::warn;

use super::block_state::BlockState;
use super::error::ExecError;
use crate::validators::{
    JailRecord, Offence, VALIDATORS_KEY, check_offence, jail, jailed_key, validator_state,
};

/// Jails each offender in order and returns the keys removed from the set. An offence an earlier jailing covers
/// (the node refuses blocks that carry one, and a second offence of one validator in the same block is covered by
/// the first) changes nothing, so execution never fails on what a block carries.
pub(super) fn jail_offenders(
    block: &mut BlockState,
    height: u64,
    offences: &[Offence],
) -> Result<Vec<[u8; 32]>, ExecError> {
    let mut removed = Vec::new();
    for offence in offences {
        if let Err(refusal) = check_offence(block, offence)? {
            warn!(%refusal, "offence already punished; not jailed again");
            continue;
        }
        let set = validator_state(block)?;
        let next = jail(&set, &offence.validator);
        if let Some(next) = &next {
            block.main_set(VALIDATORS_KEY.to_vec(), next.encode());
            removed.push(offence.validator);
        }
        let record = JailRecord {
            offence_height: offence.height,
            jailed_at: height,
            removed: next.is_some(),
        };
        block.main_set(jailed_key(&offence.validator), record.encode());
    }
    Ok(removed)
}
