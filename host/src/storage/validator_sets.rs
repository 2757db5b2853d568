//! The validator sets a node has stored: the schedule around the head (written with every commit) and each set by
//! the first height it signs (written where the membership changes).

use cvm_consensus::ValidatorSet;
use parity_scale_codec::Decode;
use rocksdb::{Direction, IteratorMode};

use super::keys::{
    CF_META, VALIDATOR_SCHEDULE_KEY, VALIDATOR_SET_PREFIX, parse_height_key, validator_set_key,
};
use super::rocks::cf;
use super::{Storage, StorageError};
use crate::chain::ValidatorSchedule;

impl Storage {
    /// The validator sets around the head, as the last commit left them; `None` before the first commit (or for
    /// a database of a version without validator updates).
    pub fn validator_schedule(&self) -> Result<Option<ValidatorSchedule>, StorageError> {
        let Some(bytes) = self.get(CF_META, VALIDATOR_SCHEDULE_KEY)? else {
            return Ok(None);
        };
        ValidatorSchedule::decode(&mut &bytes[..])
            .map(Some)
            .map_err(|e| StorageError::decode("validator schedule", e))
    }

    /// The stored set in force at `height` with the height it first signed: the last membership change at or
    /// before `height`; `None` when none is (the genesis set signs it). Its proposer priorities are those of its
    /// first height: use it for membership and power, not to pick proposers.
    pub fn validator_set_from(
        &self,
        height: u64,
    ) -> Result<Option<(u64, ValidatorSet)>, StorageError> {
        let meta = cf(&self.db, CF_META)?;
        let key = validator_set_key(height);
        let mut iter = self
            .db
            .iterator_cf(meta, IteratorMode::From(&key, Direction::Reverse));
        let Some(entry) = iter.next() else {
            return Ok(None);
        };
        let (key, value) = entry.map_err(|e| StorageError::db("read validator sets", e))?;
        let Some(first) = key
            .strip_prefix(VALIDATOR_SET_PREFIX)
            .and_then(parse_height_key)
        else {
            return Ok(None);
        };
        let set = ValidatorSet::decode(&mut &value[..])
            .map_err(|e| StorageError::decode(format!("validator set of height {first}"), e))?;
        Ok(Some((first, set)))
    }
}
