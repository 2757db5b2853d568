//! Duplicate-vote evidence on disk: committed, indexed by the block that committed it (meta `evidence/<height>`),
//! so `/evidence` serves it newest first across restarts; and pending, by offender
//! (meta `pending-evidence/<key>`), so a restart does not forget what waits for a block.

use cvm_consensus::DuplicateVoteEvidence;
use parity_scale_codec::{Decode, Encode};
use rocksdb::{Direction, IteratorMode, WriteBatch};

use super::keys::{
    CF_META, EVIDENCE_PREFIX, PENDING_EVIDENCE_PREFIX, evidence_key, parse_height_key,
    pending_evidence_key,
};
use super::rocks::{cf, write};
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

    /// Keeps a pending piece (not synced: losing the last ones to a crash costs what a restart without the
    /// store would).
    pub fn put_pending_evidence(
        &self,
        evidence: &DuplicateVoteEvidence,
    ) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        let key = pending_evidence_key(&evidence.vote_a.vote.validator.0);
        batch.put_cf(cf(&self.db, CF_META)?, key, evidence.encode());
        write(&self.db, batch, "keep pending evidence", false)
    }

    /// Forgets the pending pieces against `offenders`.
    pub fn remove_pending_evidence(&self, offenders: &[[u8; 32]]) -> Result<(), StorageError> {
        if offenders.is_empty() {
            return Ok(());
        }
        let meta = cf(&self.db, CF_META)?;
        let mut batch = WriteBatch::default();
        for offender in offenders {
            batch.delete_cf(meta, pending_evidence_key(offender));
        }
        write(&self.db, batch, "forget pending evidence", false)
    }

    /// Every pending piece kept, by offender.
    pub fn pending_evidence(&self) -> Result<Vec<DuplicateVoteEvidence>, StorageError> {
        let meta = cf(&self.db, CF_META)?;
        let mut found = Vec::new();
        let iter = self.db.iterator_cf(
            meta,
            IteratorMode::From(PENDING_EVIDENCE_PREFIX, Direction::Forward),
        );
        for entry in iter {
            let (key, value) = entry.map_err(|e| StorageError::db("read pending evidence", e))?;
            if !key.starts_with(PENDING_EVIDENCE_PREFIX) {
                break;
            }
            let evidence = DuplicateVoteEvidence::decode(&mut &value[..])
                .map_err(|e| StorageError::decode("pending evidence", e))?;
            found.push(evidence);
        }
        Ok(found)
    }
}
