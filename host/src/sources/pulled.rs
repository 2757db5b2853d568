//! A source block this node holds with its data checked: what a proposal commits to and what execution reads.

use std::sync::Arc;

use cvm_runtime::RecordBatch;
use cvm_runtime::sources::SourceBlock;
use parity_scale_codec::Encode;

use super::ethereum::{EthBlockData, VerifiedEthBlock, verify_block};
use crate::chain::SourceCommitment;

/// A verified Ethereum block of one registered source.
#[derive(Clone, Debug)]
pub struct PulledBlock {
    /// The registered source.
    pub source: String,
    /// The block as stored and served to peers.
    pub data: Arc<EthBlockData>,
    /// What verification found in it: hashes and the logs.
    pub verified: Arc<VerifiedEthBlock>,
}

impl PulledBlock {
    /// `data` verified as the block `commitment` names (data from storage or a peer).
    pub fn for_commitment(
        commitment: &SourceCommitment,
        data: EthBlockData,
    ) -> Result<Self, String> {
        let verified = verify_block(&data).map_err(|e| {
            format!(
                "source {} block {}: {e}",
                commitment.source, commitment.number
            )
        })?;
        let block = PulledBlock {
            source: commitment.source.clone(),
            data: Arc::new(data),
            verified: Arc::new(verified),
        };
        if !block.matches(commitment) {
            return Err(format!(
                "source {} block {}: the data is block {} 0x{}, not the one committed",
                commitment.source,
                commitment.number,
                block.verified.number,
                hex::encode(block.verified.hash)
            ));
        }
        Ok(block)
    }

    /// What a chain block says about it.
    pub fn commitment(&self) -> SourceCommitment {
        SourceCommitment {
            source: self.source.clone(),
            number: self.verified.number,
            hash: self.verified.hash,
            receipts_root: self.verified.receipts_root,
        }
    }

    /// Whether it is the block `commitment` names.
    pub fn matches(&self, commitment: &SourceCommitment) -> bool {
        self.commitment() == *commitment
    }

    /// Its logs.
    pub fn log_count(&self) -> usize {
        self.verified.logs.len()
    }

    /// What the executor ingests: the logs as SCALE `EthLog` records, in block order.
    pub fn to_source_block(&self) -> SourceBlock {
        let mut records = RecordBatch::new();
        let mut buf = Vec::new();
        for log in &self.verified.logs {
            buf.clear();
            log.encode_to(&mut buf);
            records.push(&buf);
        }
        SourceBlock {
            source: self.source.clone(),
            number: self.verified.number,
            hash: self.verified.hash,
            parent_hash: self.verified.parent_hash,
            records,
        }
    }
}
