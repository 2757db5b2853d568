//! The source data behind a block's commitments, read back from the `source_blocks` column family (kept when a
//! block ingesting it committed, or received by sync) and checked against the commitments again.

use parity_scale_codec::DecodeAll;

use super::Storage;
use crate::chain::SourceCommitment;
use crate::sources::PulledBlock;
use crate::sources::ethereum::EthBlockData;

impl Storage {
    /// The stored, re-checked data behind each of `commitments`, in order; `Err` names the first source block
    /// missing, undecodable or not matching its commitment.
    pub fn pulled_blocks(
        &self,
        commitments: &[SourceCommitment],
    ) -> Result<Vec<PulledBlock>, String> {
        commitments
            .iter()
            .map(|c| {
                let bytes = self
                    .source_block(&c.hash)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| {
                        format!("source {} block {} is not stored here", c.source, c.number)
                    })?;
                let data = EthBlockData::decode_all(&mut &bytes[..])
                    .map_err(|e| format!("stored source {} block {}: {e}", c.source, c.number))?;
                PulledBlock::for_commitment(c, data)
            })
            .collect()
    }
}
