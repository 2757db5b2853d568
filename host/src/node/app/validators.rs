//! The app's validator sets: which set signs which height ([`ValidatorSchedule`], advanced at each commit by the
//! block's validator changes), the headers' commitments to them, and the set a certificate is checked against.

use cvm_consensus::{CommitCertificate, ValidatorSet};

use super::{App, AppError, InvalidBlock};
use crate::chain::{BlockHeader, Genesis, ValidatorSchedule, membership_hash};
use crate::storage::Storage;

impl App {
    /// The schedule a node starts with: as its last commit stored it, or the genesis one.
    pub(super) fn load_schedule(
        genesis: &Genesis,
        storage: &Storage,
    ) -> Result<ValidatorSchedule, AppError> {
        let head = storage
            .head()
            .map_err(|e| AppError::Storage(e.to_string()))?
            .map_or(0, |h| h.height);
        let stored = storage
            .validator_schedule()
            .map_err(|e| AppError::Storage(e.to_string()))?;
        match stored {
            Some(schedule) if schedule.head == head => Ok(schedule),
            Some(schedule) => Err(AppError::Storage(format!(
                "the stored validator sets are for height {}, the chain head is {head}: the database is damaged; \
                 restore it or sync a new one",
                schedule.head
            ))),
            None if head == 0 => {
                let first = genesis
                    .validator_set()
                    .map_err(|e| AppError::Storage(e.to_string()))?;
                Ok(ValidatorSchedule::genesis(first))
            }
            None => Err(AppError::Storage(format!(
                "the database holds {head} blocks but no validator sets: it was made by an older version; sync a \
                 new one"
            ))),
        }
    }

    /// The validator sets around the head.
    pub fn validator_schedule(&self) -> ValidatorSchedule {
        self.schedule.lock().clone()
    }

    /// The validator set that signs `height`: exact (proposer priorities included) for the head and the two
    /// heights after it; for older heights the membership and power in force then (from storage), enough to check
    /// a certificate. `None` above head + 2 (not decided yet) or at height 0.
    pub fn validator_set(&self, height: u64) -> Option<ValidatorSet> {
        if height == 0 {
            return None;
        }
        if let Some(set) = self.schedule.lock().set_at(height) {
            return Some(set.clone());
        }
        if height > self.schedule.lock().head {
            return None;
        }
        match self.storage.validator_set_from(height) {
            Ok(Some((_, set))) => Some(set),
            Ok(None) => self.genesis.validator_set().ok(),
            Err(e) => {
                tracing::error!(height, error = %e, "cannot read a stored validator set");
                None
            }
        }
    }

    /// The header commitments of a block at `height`: hashes of its set and of the next height's.
    pub(super) fn validators_hashes(&self, height: u64) -> Result<([u8; 32], [u8; 32]), AppError> {
        let schedule = self.schedule.lock();
        match (schedule.set_at(height), schedule.set_at(height + 1)) {
            (Some(set), Some(next)) => Ok((membership_hash(set), membership_hash(next))),
            _ => Err(AppError::Storage(format!(
                "no validator sets for height {height} (head {})",
                schedule.head
            ))),
        }
    }

    /// Whether a proposed header commits to this node's sets of its height and the next.
    pub(super) fn check_validators_hashes(&self, header: &BlockHeader) -> Result<(), InvalidBlock> {
        let (this, next) = self
            .validators_hashes(header.height)
            .map_err(|e| InvalidBlock::Execution(e.to_string()))?;
        if header.validators_hash != this {
            return Err(InvalidBlock::Validators {
                which: "validators_hash",
                height: header.height,
            });
        }
        if header.next_validators_hash != next {
            return Err(InvalidBlock::Validators {
                which: "next_validators_hash",
                height: header.height + 1,
            });
        }
        Ok(())
    }

    /// Checks a commit certificate against the validator set of its height.
    pub fn verify_certificate(&self, cert: &CommitCertificate) -> Result<(), String> {
        let height = cert.height.0;
        let set = self
            .validator_set(height)
            .ok_or_else(|| format!("no validator set is known for height {height} here yet"))?;
        cert.verify(&set, &self.chain_id, &*self.verifier)
            .map_err(|e| e.to_string())
    }
}
