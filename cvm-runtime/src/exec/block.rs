//! Block execution: applies a block's source blocks, then its transactions, to the state at the parent root and
//! returns the new root, the receipts and the trie nodes to commit, without writing to the store (so validating a
//! proposal is free of side effects). Manuscripts subscribed to one source run in parallel; the result is identical
//! to running them one by one because they share no state and results are merged in subscription order.

use std::sync::Arc;

use parity_scale_codec::Encode;
use rayon::prelude::*;

use super::block_state::BlockState;
use super::deploy::deploy;
use super::error::ExecError;
use super::ingest::{Ingest, TxOutput};
use super::outcome::{BlockLogs, BlockOutcome, BlockOutput};
use crate::engine::CvmEngine;
use crate::host::{BlockInfo, LogPolicy};
use crate::receipt::{ReceiptEntry, TxReceipt, TxStatus};
use crate::record_batch::RecordBatch;
use crate::sources::{
    IngestRefusal, RegisterRefusal, SourceBlock, SourceDef, check_definition, check_governance,
    check_ingest, next_signed_head, source_def_key, source_head, source_head_key,
};
use crate::state::{NodeStore, StateRoot, ordered_root};
use crate::tx::{SignedTransaction, Transaction, TxError, TxPayload, VerifiedTxs};
use crate::validators::{
    Approval, Offence, VALIDATORS_KEY, ValidatorSetUpdate, check_update, validator_state,
};
use crate::value_cache::{ValueCache, ValueCacheStats};

/// What the block header tells the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockContext {
    /// The chain's id; transactions for another chain are rejected.
    pub chain_id: String,
    /// The block's height.
    pub height: u64,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
}

/// What a block applies, in this order: source blocks, transactions, then the offences its evidence proves.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockInput<'a> {
    /// The source blocks ingested first, in order.
    pub source_blocks: &'a [SourceBlock],
    /// The transactions, in order.
    pub txs: &'a [SignedTransaction],
    /// The offenders to jail (each offence verified by the node, and not covered by an earlier jailing).
    pub offences: &'a [Offence],
}

/// How a [`BlockExecutor`] runs manuscripts.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Run the subscribers of one ingest in parallel.
    pub parallel: bool,
    /// Worker threads when parallel (0: one per core).
    pub threads: usize,
    /// Return each emitted record in [`BlockOutcome::records`]. Records are written to the state trie either
    /// way; a node, which serves them from there, turns this off and saves a copy of every record.
    pub keep_records: bool,
    /// Which manuscript log lines [`BlockOutcome::logs`] carries: bounded per invocation and per block; a node,
    /// which never reads them, keeps none ([`LogPolicy::off`]).
    pub logs: LogPolicy,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            parallel: true,
            threads: 0,
            keep_records: true,
            logs: LogPolicy::default(),
        }
    }
}

/// Executes blocks on a node store, with the caches that outlive a block: compiled code (in the engine),
/// committed state values, and verified signatures.
pub struct BlockExecutor {
    engine: Arc<CvmEngine>,
    store: Arc<dyn NodeStore>,
    pool: Option<rayon::ThreadPool>,
    values: Arc<ValueCache>,
    verified: Arc<VerifiedTxs>,
    keep_records: bool,
    logs: LogPolicy,
}

impl BlockExecutor {
    /// An executor with its own thread pool when `config.parallel`.
    pub fn new(
        engine: Arc<CvmEngine>,
        store: Arc<dyn NodeStore>,
        config: ExecutorConfig,
    ) -> Result<Self, ExecError> {
        let pool = if config.parallel {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(config.threads)
                .thread_name(|i| format!("cvm-exec-{i}"))
                .build()
                .map_err(|e| ExecError::ThreadPool(e.to_string()))?;
            Some(pool)
        } else {
            None
        };
        Ok(Self {
            engine,
            store,
            pool,
            values: Arc::new(ValueCache::new()),
            verified: Arc::new(VerifiedTxs::new()),
            keep_records: config.keep_records,
            logs: config.logs,
        })
    }

    /// An executor that runs manuscripts one after another on the calling thread (tools, tests, benchmarks).
    pub fn sequential(engine: Arc<CvmEngine>, store: Arc<dyn NodeStore>) -> Self {
        Self {
            engine,
            store,
            pool: None,
            values: Arc::new(ValueCache::new()),
            verified: Arc::new(VerifiedTxs::new()),
            keep_records: true,
            logs: LogPolicy::default(),
        }
    }

    /// The transactions whose signatures this executor, or whoever shares the set, already found valid. A node
    /// gives it to its mempool so that admission's check serves execution too.
    pub fn verified_txs(&self) -> Arc<VerifiedTxs> {
        self.verified.clone()
    }

    /// Reads of committed manuscript state served by the executor's value cache, and those that walked a trie.
    pub fn value_cache_stats(&self) -> ValueCacheStats {
        self.values.stats()
    }

    /// The engine manuscripts are compiled and run with.
    pub fn engine(&self) -> &Arc<CvmEngine> {
        &self.engine
    }

    /// The node store blocks are executed on.
    pub fn store(&self) -> &Arc<dyn NodeStore> {
        &self.store
    }

    /// Executes `txs` on top of `parent` with no block fuel budget (see [`execute_block_within`]).
    ///
    /// [`execute_block_within`]: Self::execute_block_within
    pub fn execute_block(
        &self,
        parent: StateRoot,
        ctx: &BlockContext,
        txs: &[SignedTransaction],
    ) -> Result<BlockOutcome, ExecError> {
        self.execute_block_within(parent, ctx, txs, u64::MAX)
    }

    /// Executes `txs` on top of `parent`, spending at most `max_block_fuel` in all: a block without source
    /// blocks (see [`execute_block_with_sources`]).
    ///
    /// [`execute_block_with_sources`]: Self::execute_block_with_sources
    pub fn execute_block_within(
        &self,
        parent: StateRoot,
        ctx: &BlockContext,
        txs: &[SignedTransaction],
        max_block_fuel: u64,
    ) -> Result<BlockOutcome, ExecError> {
        self.execute_block_with_sources(parent, ctx, &[], txs, max_block_fuel)
    }

    /// Executes `source_blocks`, then `txs`, on top of `parent`, spending at most `max_block_fuel` in all.
    ///
    /// Each source block is an ingest of its records into the manuscripts bound to its source, after checks
    /// that make the whole block invalid ([`ExecError::SourceBlock`]) when they fail: the source is a registered
    /// Ethereum source, the block follows the source's head (its first block is the registered start), and the
    /// source's blocks and logs in this chain block stay within its budget. The source's head advances past every
    /// source block, also one whose ingest failed, so no manuscript can stall a source.
    ///
    /// Each record runs with the smaller of its manuscript's per-record limit and what is left of the block's
    /// budget; an ingest that runs out of the block's budget fails as a whole (its writes undone, its nonce
    /// consumed), and so does every ingest after it. This bounds a block's execution time whatever its
    /// transactions ask for. Does not write to the store: commit `outcome.changes` to keep it.
    pub fn execute_block_with_sources(
        &self,
        parent: StateRoot,
        ctx: &BlockContext,
        source_blocks: &[SourceBlock],
        txs: &[SignedTransaction],
        max_block_fuel: u64,
    ) -> Result<BlockOutcome, ExecError> {
        let input = BlockInput {
            source_blocks,
            txs,
            offences: &[],
        };
        self.execute(parent, ctx, input, max_block_fuel)
    }

    /// Executes a whole block on top of `parent`, spending at most `max_block_fuel` in all: its source blocks
    /// and transactions (as [`execute_block_with_sources`](Self::execute_block_with_sources) does), then it jails
    /// the offenders of `input.offences` (see [`validators::jail`](crate::validators::jail)), which costs no fuel.
    pub fn execute(
        &self,
        parent: StateRoot,
        ctx: &BlockContext,
        input: BlockInput<'_>,
        max_block_fuel: u64,
    ) -> Result<BlockOutcome, ExecError> {
        let BlockInput {
            source_blocks,
            txs,
            offences,
        } = input;
        let checked = self.check_signatures(txs);
        let mut block = BlockState::new(self.store.clone(), parent, self.values.clone());
        let info = BlockInfo {
            height: ctx.height,
            time_ms: ctx.time_ms,
        };
        let mut output = BlockOutput {
            records: Vec::new(),
            logs: BlockLogs::new(&self.logs),
            fuel_left: max_block_fuel,
        };
        let (source_receipts, source_fuel_exhausted_at) = super::source_blocks::run(
            |source, records| self.ingest(info, source, records),
            &mut block,
            source_blocks,
            &mut output,
        )?;
        let mut receipts = Vec::with_capacity(txs.len());
        let mut fuel_exhausted_at = None;
        // The set before the block's first validator update, to tell consensus what the block changed.
        let mut validators_before = None;
        for (index, (tx, (tx_hash, signature))) in txs.iter().zip(checked).enumerate() {
            if validators_before.is_none()
                && matches!(tx.tx.payload, TxPayload::UpdateValidators { .. })
            {
                validators_before = Some(validator_state(&block)?);
            }
            let mut out = TxOutput {
                tx_index: (source_blocks.len() + index) as u32,
                records: &mut output.records,
                logs: &mut output.logs,
                fuel_left: output.fuel_left,
                fuel_exhausted: false,
            };
            let receipt =
                self.apply_tx(&mut block, ctx, info, (tx, tx_hash), signature, &mut out)?;
            if out.fuel_exhausted {
                fuel_exhausted_at.get_or_insert(index);
            }
            output.fuel_left = output.fuel_left.saturating_sub(receipt.fuel_used);
            receipts.push(receipt);
        }
        if !offences.is_empty() && validators_before.is_none() {
            validators_before = Some(validator_state(&block)?);
        }
        let jailed = super::offences::jail_offenders(&mut block, ctx.height, offences)?;
        let fuel_used = source_receipts
            .iter()
            .map(|r| r.fuel_used)
            .chain(receipts.iter().map(|r| r.fuel_used))
            .fold(0u64, u64::saturating_add);
        let receipts_root = ordered_root(
            source_receipts
                .iter()
                .map(|r| ReceiptEntry::Source(r).encode())
                .chain(receipts.iter().map(|r| ReceiptEntry::Tx(r).encode())),
        );
        let validator_changes = match validators_before {
            Some(before) => before.changes_to(&validator_state(&block)?),
            None => Vec::new(),
        };
        let (state_root, changes, dataset_changes) = block.finish(ctx.height)?;
        Ok(BlockOutcome {
            state_root,
            source_receipts,
            receipts,
            receipts_root,
            fuel_used,
            changes,
            records: output.records,
            dataset_changes,
            logs: output.logs.lines,
            logs_dropped: output.logs.dropped,
            fuel_exhausted_at,
            source_fuel_exhausted_at,
            validator_changes,
            jailed,
        })
    }

    /// An ingest of `records` into the manuscripts subscribed to `source`.
    fn ingest<'a>(
        &'a self,
        info: BlockInfo,
        source: &'a str,
        records: &'a RecordBatch,
    ) -> Ingest<'a> {
        Ingest {
            engine: &self.engine,
            pool: self.pool.as_ref(),
            keep_records: self.keep_records,
            logs: self.logs,
            info,
            source,
            records,
        }
    }

    /// Each transaction's hash and signature check, in parallel when there is a pool.
    fn check_signatures(&self, txs: &[SignedTransaction]) -> Vec<([u8; 32], Result<(), TxError>)> {
        let check = |tx: &SignedTransaction| {
            let hash = tx.hash();
            (hash, self.verified.verify(tx, &hash))
        };
        match &self.pool {
            Some(pool) => pool.install(|| txs.par_iter().map(check).collect()),
            None => txs.iter().map(check).collect(),
        }
    }

    /// One transaction's receipt: rejected if it is not admissible, otherwise deployed or ingested.
    fn apply_tx(
        &self,
        block: &mut BlockState,
        ctx: &BlockContext,
        info: BlockInfo,
        (signed, tx_hash): (&SignedTransaction, [u8; 32]),
        signature: Result<(), TxError>,
        out: &mut TxOutput<'_>,
    ) -> Result<TxReceipt, ExecError> {
        let tx = &signed.tx;
        let receipt = |status| TxReceipt {
            tx_hash,
            status,
            fuel_used: 0,
        };
        if let Err(reason) = admit_tx(block, ctx, tx, signature)? {
            return Ok(receipt(TxStatus::Rejected { reason }));
        }
        block.set_nonce(&tx.signer, tx.nonce + 1);
        match &tx.payload {
            TxPayload::Deploy {
                wasm,
                fuel_limit_per_record,
                sources,
            } => {
                let deployed = deploy(
                    &self.engine,
                    block,
                    (ctx.height, &tx.signer),
                    wasm,
                    (*fuel_limit_per_record, sources),
                    out.fuel_left,
                )?;
                out.fuel_exhausted = deployed.fuel_exhausted;
                Ok(TxReceipt {
                    tx_hash,
                    status: deployed.status,
                    fuel_used: deployed.fuel_used,
                })
            }
            TxPayload::Ingest { source, records } => {
                let head = next_signed_head(source_head(block, source)?, tx_hash);
                block.main_set(source_head_key(source), head.encode());
                let (status, fuel_used) = self.ingest(info, source, records).run(block, out)?;
                Ok(TxReceipt {
                    tx_hash,
                    status: status.into(),
                    fuel_used,
                })
            }
            TxPayload::RegisterSource { source } => Ok(receipt(register(block, source)?)),
            TxPayload::UpdateValidators { update, approvals } => {
                Ok(receipt(update_validators(block, ctx, update, approvals)?))
            }
        }
    }
}

/// Records the validator set an authorized update leads to, or says why it is not taken.
fn update_validators(
    block: &mut BlockState,
    ctx: &BlockContext,
    update: &ValidatorSetUpdate,
    approvals: &[Approval],
) -> Result<TxStatus, ExecError> {
    let set = validator_state(block)?;
    match check_update(&set, &ctx.chain_id, update, approvals) {
        Ok(next) => {
            block.main_set(VALIDATORS_KEY.to_vec(), next.encode());
            Ok(TxStatus::ValidatorsUpdated {
                seq: update.seq,
                effective_height: ctx.height + 2,
            })
        }
        Err(refusal) => Ok(TxStatus::Failed {
            reason: refusal.to_string(),
        }),
    }
}

/// Stores a governance-signed source definition, or says why it is not taken.
fn register(block: &mut BlockState, def: &SourceDef) -> Result<TxStatus, ExecError> {
    match check_definition(block, def) {
        Ok(()) => {
            block.main_set(source_def_key(&def.name), def.encode());
            Ok(TxStatus::SourceRegistered {
                source: def.name.clone(),
            })
        }
        Err(RegisterRefusal::State(e)) => Err(e.into()),
        Err(refusal) => Ok(TxStatus::Failed {
            reason: refusal.to_string(),
        }),
    }
}

/// A transaction is admitted when it is for this chain, its signature is valid, its nonce is the signer's next,
/// and its signer may do what it asks (ingest into a signed source it publishes to, register sources as a
/// governance key). The outer error is the node's, the inner one the reason the transaction is rejected.
fn admit_tx(
    block: &BlockState,
    ctx: &BlockContext,
    tx: &Transaction,
    signature: Result<(), TxError>,
) -> Result<Result<(), String>, ExecError> {
    if tx.chain_id != ctx.chain_id {
        return Ok(Err(TxError::WrongChain {
            expected: ctx.chain_id.clone(),
            found: tx.chain_id.clone(),
        }
        .to_string()));
    }
    if let Err(e) = signature {
        return Ok(Err(e.to_string()));
    }
    let expected = block.nonce(&tx.signer)?;
    if tx.nonce != expected {
        return Ok(Err(TxError::WrongNonce {
            expected,
            found: tx.nonce,
        }
        .to_string()));
    }
    match &tx.payload {
        TxPayload::Deploy { .. } => Ok(Ok(())),
        TxPayload::Ingest { source, .. } => match check_ingest(block, &tx.signer, source) {
            Ok(()) => Ok(Ok(())),
            Err(IngestRefusal::State(e)) => Err(e.into()),
            Err(refusal) => Ok(Err(refusal.to_string())),
        },
        TxPayload::RegisterSource { .. } => match check_governance(block, &tx.signer) {
            Ok(()) => Ok(Ok(())),
            Err(RegisterRefusal::State(e)) => Err(e.into()),
            Err(refusal) => Ok(Err(refusal.to_string())),
        },
        // Authorized by its approvals, checked when it applies (they depend on the set at that point).
        TxPayload::UpdateValidators { .. } => Ok(Ok(())),
    }
}
