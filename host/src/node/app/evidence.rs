//! Duplicate-vote evidence as blocks carry it. A piece is admissible in the block at height `h` when its votes
//! are in canonical order, at most `max_evidence_age` heights old and not above `h`, verify against the validator
//! set of their own height, and no earlier jailing covers the offence; a block carries at most
//! `max_evidence_per_block` pieces, one per offender. Every validator checks the same on the same committed state,
//! so they agree on which blocks are valid.

use std::collections::BTreeSet;

use cvm_consensus::DuplicateVoteEvidence;
use cvm_runtime::state::{StateRoot, TrieView};
use cvm_runtime::validators::{Offence, check_offence};

use super::{App, AppError, EvidenceRefusal, InvalidBlock, Parent};
use crate::chain::offence_of;
use crate::node::evidence_pool::EvidencePool;

impl App {
    /// The offence `evidence` proves, if the block at `height`, executed on the state at `root`, may commit it.
    pub fn check_evidence(
        &self,
        evidence: &DuplicateVoteEvidence,
        height: u64,
        root: StateRoot,
    ) -> Result<Offence, EvidenceRefusal> {
        let offence = self.evidence_in_time(evidence, height, root)?;
        let set = self
            .validator_set(offence.height)
            .ok_or(EvidenceRefusal::UnknownSet(offence.height))?;
        evidence.verify(&set, &self.chain_id, &*self.verifier)?;
        Ok(offence)
    }

    /// [`check_evidence`](Self::check_evidence) without the signatures (which are the cost): its order, its
    /// height against the block's, and whether an earlier jailing covers it. What a pending piece, checked in
    /// full when it came, must still pass after each commit.
    pub fn evidence_in_time(
        &self,
        evidence: &DuplicateVoteEvidence,
        height: u64,
        root: StateRoot,
    ) -> Result<Offence, EvidenceRefusal> {
        if evidence.vote_a >= evidence.vote_b {
            return Err(EvidenceRefusal::NotCanonical);
        }
        let offence = offence_of(evidence);
        let offence_height = offence.height;
        if offence_height > height {
            return Err(EvidenceRefusal::FromTheFuture {
                height: offence_height,
                block: height,
            });
        }
        let max_age = self.params().max_evidence_age;
        if offence_height.saturating_add(max_age) < height {
            return Err(EvidenceRefusal::TooOld {
                height: offence_height,
                block: height,
                max_age,
            });
        }
        let view = TrieView::new(self.executor.store().clone(), root);
        check_offence(&view, &offence).map_err(|e| EvidenceRefusal::State(e.to_string()))??;
        Ok(offence)
    }

    /// The offences of the evidence a block at `parent.height + 1` carries, or why it may not carry it.
    pub(super) fn block_offences(
        &self,
        parent: &Parent,
        evidence: &[DuplicateVoteEvidence],
    ) -> Result<Vec<Offence>, InvalidBlock> {
        let max = self.params().max_evidence_per_block as usize;
        if evidence.len() > max {
            return Err(InvalidBlock::Evidence(format!(
                "{} pieces, above max_evidence_per_block {max}",
                evidence.len()
            )));
        }
        let mut offenders = BTreeSet::new();
        evidence
            .iter()
            .enumerate()
            .map(|(index, e)| {
                let offence = self
                    .check_evidence(e, parent.height + 1, parent.state_root)
                    .map_err(|refusal| {
                        InvalidBlock::Evidence(format!("piece {index}: {refusal}"))
                    })?;
                if !offenders.insert(offence.validator) {
                    return Err(InvalidBlock::Evidence(format!(
                        "piece {index}: a second piece against validator {}",
                        hex::encode(offence.validator)
                    )));
                }
                Ok(offence)
            })
            .collect()
    }

    /// The pool as the node left it: the pending pieces kept on disk that the next block may still commit (the
    /// others are forgotten).
    pub fn restore_evidence_pool(&self) -> Result<EvidencePool, AppError> {
        let storage_err = |e: crate::storage::StorageError| AppError::Storage(e.to_string());
        let parent = self.parent()?;
        let mut pool = EvidencePool::new();
        let mut stale = Vec::new();
        for evidence in self.storage.pending_evidence().map_err(storage_err)? {
            match self.check_evidence(&evidence, parent.height + 1, parent.state_root) {
                Ok(_) => {
                    pool.insert(evidence);
                }
                Err(_) => stale.push(evidence.vote_a.vote.validator.0),
            }
        }
        self.storage
            .remove_pending_evidence(&stale)
            .map_err(storage_err)?;
        Ok(pool)
    }

    /// What of `pending` the block at `parent.height + 1` may carry, with the offences: admissible pieces, the
    /// first per offender, up to the chain's bound.
    pub(super) fn admissible_evidence(
        &self,
        parent: &Parent,
        pending: Vec<DuplicateVoteEvidence>,
    ) -> (Vec<DuplicateVoteEvidence>, Vec<Offence>) {
        let max = self.params().max_evidence_per_block as usize;
        let mut offenders = BTreeSet::new();
        let mut kept = Vec::new();
        let mut offences = Vec::new();
        for evidence in pending {
            if kept.len() == max {
                break;
            }
            match self.check_evidence(&evidence, parent.height + 1, parent.state_root) {
                Ok(offence) if offenders.insert(offence.validator) => {
                    kept.push(evidence);
                    offences.push(offence);
                }
                Ok(_) => {}
                Err(refusal) => tracing::debug!(%refusal, "pending evidence left out"),
            }
        }
        (kept, offences)
    }
}

#[cfg(test)]
#[path = "evidence_tests.rs"]
mod tests;
