//! An ingest transaction: its records through every manuscript subscribed to its source, the subscribers in
//! parallel, within what is left of the block's fuel budget.
//!
//! The budget left is split before anything runs: each of the S subscribers gets `budget / S` (the first
//! `budget % S` one more), in subscription order. A subscriber never burns more than its share, so the ingest
//! as a whole burns at most the budget however many subscribers it has, and the split depends on nothing but
//! the budget and the subscriber list (not on which thread finishes first).

use std::sync::Arc;

use rayon::prelude::*;

use super::block_state::BlockState;
use super::error::ExecError;
use super::invoke::{ExecutionFault, INSTANTIATION_FAILED, InvocationResult, ManuscriptRunner};
use super::outcome::{BlockLogs, BlockRecord, ManuscriptLog};
use crate::cache::{CacheError, CompiledManuscript};
use crate::engine::CvmEngine;
use crate::host::{BlockInfo, LogPolicy};
use crate::limits::Limits;
use crate::overlay::ManuscriptOverlay;
use crate::receipt::{FailureReason, InvocationOutcome, InvocationReceipt, TxStatus};
use crate::record_batch::RecordBatch;
use crate::state::{ManuscriptMeta, code_key};

/// Where one transaction's results go, and the block's fuel budget it runs in.
pub(super) struct TxOutput<'a> {
    pub(super) tx_index: u32,
    pub(super) records: &'a mut Vec<BlockRecord>,
    pub(super) logs: &'a mut BlockLogs,
    /// The block's fuel budget left when this transaction starts.
    pub(super) fuel_left: u64,
    /// Set when this transaction failed because that budget ran out.
    pub(super) fuel_exhausted: bool,
}

/// How an ingest ended.
pub(super) enum IngestStatus {
    /// Every subscriber ran the records.
    Ingested {
        subscribers: u32,
        invocations: Vec<InvocationReceipt>,
    },
    /// It failed as a whole, for this reason.
    Failed(String),
}

impl From<IngestStatus> for TxStatus {
    fn from(status: IngestStatus) -> Self {
        match status {
            IngestStatus::Ingested {
                subscribers,
                invocations,
            } => TxStatus::Ingested {
                subscribers,
                invocations,
            },
            IngestStatus::Failed(reason) => TxStatus::Failed { reason },
        }
    }
}

/// One ingest (a transaction's or a source block's), with what it needs from the executor.
pub(super) struct Ingest<'a> {
    pub(super) engine: &'a Arc<CvmEngine>,
    /// Runs the subscribers in parallel when there is more than one.
    pub(super) pool: Option<&'a rayon::ThreadPool>,
    pub(super) keep_records: bool,
    pub(super) logs: LogPolicy,
    pub(super) info: BlockInfo,
    pub(super) source: &'a str,
    pub(super) records: &'a RecordBatch,
}

/// A subscriber ready to run: its metadata, code (or why its stored code does not load), and state overlay
/// with a transaction begun.
struct SubscriberJob {
    meta: ManuscriptMeta,
    /// The manifest's name for the source, which the manuscript is invoked with.
    slot: String,
    compiled: Result<Arc<CompiledManuscript>, String>,
    overlay: ManuscriptOverlay,
}

/// A subscriber that ran the transaction's records.
struct SubscriberRun {
    meta: ManuscriptMeta,
    overlay: ManuscriptOverlay,
    results: Vec<InvocationResult>,
    /// It stopped because the block's budget ran out.
    exhausted: bool,
}

impl Ingest<'_> {
    /// Runs the ingest; its receipt status and the fuel it used.
    pub(super) fn run(
        &self,
        block: &mut BlockState,
        out: &mut TxOutput<'_>,
    ) -> Result<(IngestStatus, u64), ExecError> {
        if let Err(reason) = check_batch(self.engine.limits(), self.records) {
            return Ok((IngestStatus::Failed(reason), 0));
        }
        let subscribers = block.subscribers(self.source)?;
        let jobs = self.take_subscribers(block, &subscribers)?;
        let budget = out.fuel_left;
        let runs = self.run_subscribers(jobs, budget)?;
        let spent = fuel_spent(&runs);
        #[cfg(test)]
        burnt::add(spent);
        if spent > budget || runs.iter().any(|run| run.exhausted) {
            give_back_undone(block, runs);
            out.fuel_exhausted = true;
            let reason = format!(
                "the block's fuel budget ran out: this ingest needs more than the {budget} fuel left in the \
                 block (max_block_fuel in genesis), shared equally by its {} subscribers; split it into smaller \
                 transactions",
                subscribers.len()
            );
            // It was given the whole budget left, and pays for all of it: later ingests in the block fail too.
            return Ok((IngestStatus::Failed(reason), budget));
        }
        let (invocations, fuel_used) = keep_results(block, runs, out);
        Ok((
            IngestStatus::Ingested {
                subscribers: subscribers.len() as u32,
                invocations,
            },
            fuel_used,
        ))
    }

    /// Takes each subscriber's state out of the block, begins a transaction on it, and loads its code.
    fn take_subscribers(
        &self,
        block: &mut BlockState,
        subscribers: &[String],
    ) -> Result<Vec<SubscriberJob>, ExecError> {
        let mut jobs = Vec::with_capacity(subscribers.len());
        for name in subscribers {
            let (meta, mut overlay) = block.take_manuscript(name)?;
            overlay.begin_tx();
            let compiled = load_code(self.engine, block, &meta)?;
            let slot = meta
                .sources
                .iter()
                .position(|s| s == self.source)
                .and_then(|i| meta.slots.get(i))
                .map_or(self.source, String::as_str)
                .to_string();
            jobs.push(SubscriberJob {
                meta,
                slot,
                compiled,
                overlay,
            });
        }
        Ok(jobs)
    }

    /// Runs every subscriber, each within its share of `budget`, in parallel when there is a pool and more
    /// than one; results in subscription order.
    fn run_subscribers(
        &self,
        jobs: Vec<SubscriberJob>,
        budget: u64,
    ) -> Result<Vec<SubscriberRun>, ExecutionFault> {
        let shares = fuel_shares(budget, jobs.len());
        let jobs: Vec<(SubscriberJob, u64)> = jobs.into_iter().zip(shares).collect();
        let run = |(job, share)| self.run_subscriber(job, share);
        let runs: Vec<Result<SubscriberRun, ExecutionFault>> = match self.pool {
            Some(pool) if jobs.len() > 1 => {
                pool.install(|| jobs.into_par_iter().map(run).collect())
            }
            _ => jobs.into_iter().map(run).collect(),
        };
        runs.into_iter().collect()
    }

    /// Runs the records through one subscriber, each record within the smaller of the manuscript's per-record
    /// limit and what is left of the subscriber's `share` of the block's budget.
    fn run_subscriber(
        &self,
        SubscriberJob {
            meta,
            slot,
            compiled,
            overlay,
        }: SubscriberJob,
        share: u64,
    ) -> Result<SubscriberRun, ExecutionFault> {
        let compiled = match compiled {
            Ok(compiled) => compiled,
            Err(reason) => return Ok(unloadable(meta, overlay, self.records.len(), reason)),
        };
        let mut runner = ManuscriptRunner::new(self.engine.clone(), compiled, self.info, overlay);
        runner.keep_emitted(self.keep_records);
        runner.keep_logs(self.logs);
        let mut results = Vec::with_capacity(self.records.len());
        let mut left = share;
        let mut exhausted = false;
        for record in self.records {
            let limit = meta.fuel_limit_per_record.min(left);
            if limit == 0 {
                exhausted = true;
                break;
            }
            let result = runner.process(&slot, record, limit)?;
            left = left.saturating_sub(result.fuel_used);
            let out_of_fuel = matches!(
                result.outcome,
                InvocationOutcome::Failed {
                    reason: FailureReason::OutOfFuel,
                    ..
                }
            );
            results.push(result);
            if out_of_fuel && limit < meta.fuel_limit_per_record {
                exhausted = true;
                break;
            }
        }
        Ok(SubscriberRun {
            meta,
            overlay: runner.into_overlay(),
            results,
            exhausted,
        })
    }
}

/// An ingest above the record count or size limits fails before anything runs.
fn check_batch(limits: &Limits, records: &RecordBatch) -> Result<(), String> {
    if records.len() > limits.max_records_per_ingest as usize {
        return Err(format!(
            "{} records in one ingest; the limit is {}",
            records.len(),
            limits.max_records_per_ingest
        ));
    }
    if let Some((i, r)) = records
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() > limits.max_record_len as usize)
    {
        return Err(format!(
            "record {i} is {} bytes; the limit is {}",
            r.len(),
            limits.max_record_len
        ));
    }
    Ok(())
}

/// The compiled code of a deployed manuscript: from the engine's cache, or loaded from the main trie. Code
/// missing from state is the node's fault; code that does not load is the manuscript's (the inner error).
fn load_code(
    engine: &CvmEngine,
    block: &BlockState,
    meta: &ManuscriptMeta,
) -> Result<Result<Arc<CompiledManuscript>, String>, ExecError> {
    if let Some(hit) = engine.cached(&meta.code_hash) {
        return Ok(Ok(hit));
    }
    let wasm =
        block
            .main_get(&code_key(&meta.code_hash))?
            .ok_or_else(|| ExecError::StoredCode {
                manuscript: meta.name.clone(),
                reason: "code missing".into(),
            })?;
    Ok(engine.load(&wasm).map_err(|e: CacheError| {
        tracing::warn!(manuscript = %meta.name, error = %e, "stored code does not load; its invocations fail");
        INSTANTIATION_FAILED.to_string()
    }))
}

/// A subscriber whose code does not load: each record fails with [`FailureReason::Instantiation`].
fn unloadable(
    meta: ManuscriptMeta,
    overlay: ManuscriptOverlay,
    records: usize,
    reason: String,
) -> SubscriberRun {
    let result = InvocationResult {
        outcome: InvocationOutcome::Failed {
            reason: FailureReason::Instantiation,
            message: reason,
        },
        fuel_used: 0,
        emitted: Vec::new(),
        records_emitted: 0,
        logs: Vec::new(),
        logs_dropped: 0,
    };
    SubscriberRun {
        meta,
        overlay,
        results: vec![result; records],
        exhausted: false,
    }
}

/// `budget` split into `n` shares that differ by at most one and sum to it, the larger ones first.
fn fuel_shares(budget: u64, n: usize) -> impl Iterator<Item = u64> {
    let count = n.max(1) as u64;
    let (each, extra) = (budget / count, budget % count);
    (0..n as u64).map(move |i| each + u64::from(i < extra))
}

/// Fuel used by all subscribers' invocations (saturating).
fn fuel_spent(runs: &[SubscriberRun]) -> u64 {
    runs.iter()
        .flat_map(|run| run.results.iter().map(|r| r.fuel_used))
        .fold(0u64, u64::saturating_add)
}

/// The ingest failed as a whole: each subscriber's state goes back without the transaction's writes.
fn give_back_undone(block: &mut BlockState, runs: Vec<SubscriberRun>) {
    for SubscriberRun {
        meta, mut overlay, ..
    } in runs
    {
        overlay.end_tx(false);
        block.put_manuscript(meta, overlay);
    }
}

/// The ingest succeeded: each subscriber's state goes back with the transaction's writes, and its results
/// become receipts, records and logs. Returns the receipts and the fuel they used.
fn keep_results(
    block: &mut BlockState,
    runs: Vec<SubscriberRun>,
    out: &mut TxOutput<'_>,
) -> (Vec<InvocationReceipt>, u64) {
    let mut invocations = Vec::new();
    let mut fuel_used = 0u64;
    for SubscriberRun {
        meta,
        mut overlay,
        results,
        ..
    } in runs
    {
        overlay.end_tx(true);
        for (record_index, result) in results.into_iter().enumerate() {
            let record_index = record_index as u32;
            fuel_used = fuel_used.saturating_add(result.fuel_used);
            invocations.push(InvocationReceipt {
                manuscript: meta.name.clone(),
                record_index,
                outcome: result.outcome,
                fuel_used: result.fuel_used,
                records_emitted: result.records_emitted,
            });
            out.records
                .extend(result.emitted.into_iter().map(|record| BlockRecord {
                    tx_index: out.tx_index,
                    manuscript: meta.name.clone(),
                    record_index,
                    record,
                }));
            out.logs.dropped += u64::from(result.logs_dropped);
            out.logs
                .extend(result.logs.into_iter().map(|line| ManuscriptLog {
                    tx_index: out.tx_index,
                    manuscript: meta.name.clone(),
                    record_index,
                    line,
                }));
        }
        block.put_manuscript(meta, overlay);
    }
    (invocations, fuel_used)
}

/// Fuel burnt by ingests on this thread, failed ones included, so tests can bound what a block really burns.
#[cfg(test)]
pub(super) mod burnt {
    use std::cell::Cell;

    thread_local! {
        static BURNT: Cell<u64> = const { Cell::new(0) };
    }

    pub(super) fn add(fuel: u64) {
        BURNT.with(|b| b.set(b.get().saturating_add(fuel)));
    }

    /// Fuel burnt so far on this thread.
    pub(crate) fn total() -> u64 {
        BURNT.with(Cell::get)
    }
}
