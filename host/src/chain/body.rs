//! The block body: the source blocks it ingests (as commitments), the transactions, the certificate that
//! finalized the parent and the equivocation evidence it commits. The header commits to it through the sources
//! hash, the transactions root, the last-commit hash, the evidence hash and the part-set root of its encoding.

use cvm_consensus::{CommitCertificate, DuplicateVoteEvidence};
use cvm_runtime::SignedTransaction;
use cvm_runtime::state::{blake2_256, ordered_root};
use cvm_runtime::validators::Offence;
use parity_scale_codec::{Decode, Encode};

use super::source_commitment::SourceCommitment;

/// What a block carries besides its header; split into parts for gossip.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Default)]
pub struct BlockBody {
    /// The source blocks ingested before the transactions, in order.
    pub source_blocks: Vec<SourceCommitment>,
    /// The transactions, in execution order.
    pub txs: Vec<SignedTransaction>,
    /// The certificate that finalized the parent (none at height 1).
    pub last_commit: Option<CommitCertificate>,
    /// Duplicate-vote evidence, each jailing its offender after the transactions (at most the chain's
    /// `max_evidence_per_block`).
    pub evidence: Vec<DuplicateVoteEvidence>,
}

impl BlockBody {
    /// The ordered root over the transactions' hashes that the header's `txs_root` must equal.
    pub fn txs_root(&self) -> [u8; 32] {
        ordered_root(self.txs.iter().map(|tx| tx.hash().to_vec())).0
    }

    /// Blake2-256 of SCALE(`source_blocks`), which the header's `sources_hash` must equal.
    pub fn sources_hash(&self) -> [u8; 32] {
        blake2_256(&self.source_blocks.encode())
    }

    /// Blake2-256 of SCALE(`last_commit`), which the header's `last_commit_hash` must equal.
    pub fn last_commit_hash(&self) -> [u8; 32] {
        blake2_256(&self.last_commit.encode())
    }

    /// The offences its evidence names, in order (what execution jails; the node checks the evidence first).
    pub fn offences(&self) -> Vec<Offence> {
        self.evidence.iter().map(offence_of).collect()
    }

    /// Blake2-256 of SCALE(`evidence`), which the header's `evidence_hash` must equal.
    pub fn evidence_hash(&self) -> [u8; 32] {
        blake2_256(&self.evidence.encode())
    }
}

/// The offence a piece of evidence names: its signer, at the height of its votes.
pub fn offence_of(evidence: &DuplicateVoteEvidence) -> Offence {
    let vote = &evidence.vote_a.vote;
    Offence {
        validator: vote.validator.0,
        height: vote.height.0,
    }
}
