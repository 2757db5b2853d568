//! A block's source blocks, run before its transactions: each checked against its source's definition, head and
//! budget (a breach makes the block invalid), then ingested into the manuscripts bound to the source, and the
//! source's head moved to it whatever the ingest's outcome.

use parity_scale_codec::Encode;

use super::block_state::BlockState;
use super::error::ExecError;
use super::ingest::{Ingest, IngestStatus, TxOutput};
use super::outcome::BlockOutput;
use crate::receipt::{SourceReceipt, SourceStatus};
use crate::record_batch::RecordBatch;
use crate::sources::{
    SourceBlock, SourceHead, SourceTally, check_source_block, source_def, source_head,
    source_head_key,
};

/// Runs `source_blocks` in order, each through the ingest `ingest` makes of its source and records; one receipt
/// each, and the index of the first that ran out of the block's fuel.
pub(super) fn run<'a>(
    ingest: impl Fn(&'a str, &'a RecordBatch) -> Ingest<'a>,
    block: &mut BlockState,
    source_blocks: &'a [SourceBlock],
    output: &mut BlockOutput,
) -> Result<(Vec<SourceReceipt>, Option<usize>), ExecError> {
    let mut tally = SourceTally::new();
    let mut fuel_exhausted_at = None;
    let mut receipts = Vec::with_capacity(source_blocks.len());
    for (index, source_block) in source_blocks.iter().enumerate() {
        let name = &source_block.source;
        let def = source_def(block, name)?;
        let head = source_head(block, name)?;
        check_source_block(def.as_ref(), head, source_block, &mut tally)?;
        let mut out = TxOutput {
            tx_index: index as u32,
            records: &mut output.records,
            logs: &mut output.logs,
            fuel_left: output.fuel_left,
            fuel_exhausted: false,
        };
        let (status, fuel_used) = ingest(name, &source_block.records).run(block, &mut out)?;
        if out.fuel_exhausted {
            fuel_exhausted_at.get_or_insert(index);
        }
        let status = match status {
            IngestStatus::Ingested {
                subscribers,
                invocations,
            } => SourceStatus::Ingested {
                subscribers,
                invocations,
            },
            IngestStatus::Failed(_) if out.fuel_exhausted => SourceStatus::Failed {
                reason: format!(
                    "the block's fuel budget ran out: block {} of source {name} needs more than the {} fuel \
                     left in the chain block (max_block_fuel in genesis); its records were not ingested and the \
                     source moved past it",
                    source_block.number, output.fuel_left
                ),
            },
            IngestStatus::Failed(reason) => SourceStatus::Failed {
                reason: format!(
                    "{reason}; block {} of source {name} was not ingested and the source moved past it",
                    source_block.number
                ),
            },
        };
        let head = SourceHead {
            number: source_block.number,
            hash: source_block.hash,
        };
        block.main_set(source_head_key(name), head.encode());
        output.fuel_left = output.fuel_left.saturating_sub(fuel_used);
        receipts.push(SourceReceipt {
            source: name.clone(),
            number: source_block.number,
            hash: source_block.hash,
            status,
            fuel_used,
        });
    }
    Ok((receipts, fuel_exhausted_at))
}
