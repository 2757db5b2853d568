//! Committed duplicate-vote evidence, indexed by the block that committed it (meta `evidence/<height>`), so
//! `/evidence` serves it from storage, newest first, across restarts.

use parity_scale_codec::Decode;
use rocksdb::{Direction, IteratorMode};

use super::keys::{CF_META, EVIDENCE_PREFIX, evidence_key, parse_height_key};
use super::rocks::cf;
use super::{CommittedEvidence, Storage, StorageError};

impl Storage {
    /// The evidence committed by blocks below `before` (all when `None`), newest block first, at most `limit`
    /// blocks.
    pub fn committed_evidence(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<CommittedEvidence>, StorageError> {
        let meta = cf(&self.db, CF_META)?;
        let start = match before {
            Some(h) => evidence_key(h.saturating_sub(1)),
            None => evidence_key(u64::MAX),
        };
        let mut found = Vec::new();
        if before == Some(0) {
            return Ok(found);
        }
        let iter = self
            .db
            .iterator_cf(meta, IteratorMode::From(&start, Direction::Reverse));
        for entry in iter {
            if found.len() == limit {
                break;
            }
            let (key, value) = entry.map_err(|e| StorageError::db("read evidence", e))?;
            let Some(height) = key.strip_prefix(EVIDENCE_PREFIX).and_then(parse_height_key) else {
                break;
            };
            let stored = CommittedEvidence::decode(&mut &value[..])
                .map_err(|e| StorageError::decode(format!("evidence of block {height}"), e))?;
            found.push(stored);
        }
        Ok(found)
    }
}
