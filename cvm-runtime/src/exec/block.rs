//! Block execution: applies a block's transactions to the state at the parent root and returns the new root,
//! the receipts and the trie nodes to commit, without writing to the store (so validating a proposal is free of
//! side effects). Manuscripts subscribed to one source run in parallel; the result is identical to running
//! them one by one because they share no state and results are merged in subscription order.

use std::collections::BTreeMap;
use std::sync::Arc;

use parity_scale_codec::{Decode, Encode};
use rayon::prelude::*;

use super::invoke::{ExecutionFault, ManuscriptRunner};
use crate::cache::{CacheError, CompiledManuscript};
use crate::engine::CvmEngine;
use crate::host::{BlockInfo, EmittedRecord, LogLine};
use crate::overlay::ManuscriptOverlay;
use crate::receipt::{FailureReason, InvocationOutcome, InvocationReceipt, TxReceipt, TxStatus};
use crate::record_batch::RecordBatch;
use crate::state::{
    H256, ManuscriptMeta, NodeStore, OverlayDb, STATE_PREFIX, StateChanges, StateError, StateRoot,
    TrieView, account_key, code_key, empty_root, manuscript_key, ordered_root, source_key,
};
use crate::tx::{SignedTransaction, TxError, TxPayload, VerifiedTxs};
use crate::value_cache::{ValueCache, ValueCacheStats};

/// What the block header tells the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockContext {
    pub chain_id: String,
    pub height: u64,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
}

#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Run the subscribers of one ingest in parallel.
    pub parallel: bool,
    /// Worker threads when parallel (0: one per core).
    pub threads: usize,
    /// Return each emitted record in [`BlockOutcome::records`]. Records are written to the state trie either
    /// way; a node, which serves them from there, turns this off and saves a copy of every record.
    pub keep_records: bool,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            parallel: true,
            threads: 0,
            keep_records: true,
        }
    }
}

/// A dataset record emitted in a block, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct BlockRecord {
    pub tx_index: u32,
    pub manuscript: String,
    pub record_index: u32,
    pub record: EmittedRecord,
}

/// A manuscript log line, with where it came from. Not part of consensus.
#[derive(Debug, Clone)]
pub struct ManuscriptLog {
    pub tx_index: u32,
    pub manuscript: String,
    pub record_index: u32,
    pub line: LogLine,
}

/// Everything a block's execution produced.
#[derive(Debug, Clone)]
pub struct BlockOutcome {
    pub state_root: StateRoot,
    pub receipts: Vec<TxReceipt>,
    pub receipts_root: H256,
    pub fuel_used: u64,
    /// Trie nodes to commit together with the block.
    pub changes: StateChanges,
    /// Dataset records emitted, in order (empty unless the executor keeps records; their number is
    /// [`records_emitted`](Self::records_emitted) either way).
    pub records: Vec<BlockRecord>,
    pub logs: Vec<ManuscriptLog>,
    /// Index of the first transaction that failed because the block's fuel budget ran out (it and every later
    /// ingest failed, their nonces consumed). A proposer leaves it and what follows for the next block.
    pub fuel_exhausted_at: Option<usize>,
}

impl BlockOutcome {
    /// How many dataset records the block emitted, kept or not (counted in its receipts).
    pub fn records_emitted(&self) -> u64 {
        self.receipts.iter().map(TxReceipt::records_emitted).sum()
    }
}

/// A failure of this node (not of a transaction or manuscript): the block cannot be executed here.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Fault(#[from] ExecutionFault),
    #[error("stored code of manuscript {manuscript} does not load: {reason}")]
    StoredCode { manuscript: String, reason: String },
    #[error("cannot start the executor's thread pool: {0}")]
    ThreadPool(String),
}

pub struct BlockExecutor {
    engine: Arc<CvmEngine>,
    store: Arc<dyn NodeStore>,
    pool: Option<rayon::ThreadPool>,
    values: Arc<ValueCache>,
    verified: Arc<VerifiedTxs>,
    keep_records: bool,
}

impl BlockExecutor {
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

    pub fn engine(&self) -> &Arc<CvmEngine> {
        &self.engine
    }

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

    /// Executes `txs` on top of `parent`, spending at most `max_block_fuel` in all. Each record runs with
    /// the smaller of its manuscript's per-record limit and what is left of the block's budget; an ingest
    /// that runs out of the block's budget fails as a whole (its writes undone, its nonce consumed), and so
    /// does every ingest after it. This bounds a block's execution time whatever its transactions ask for.
    /// Does not write to the store: commit `outcome.changes` to keep it.
    pub fn execute_block_within(
        &self,
        parent: StateRoot,
        ctx: &BlockContext,
        txs: &[SignedTransaction],
        max_block_fuel: u64,
    ) -> Result<BlockOutcome, ExecError> {
        let check = |tx: &SignedTransaction| {
            let hash = tx.hash();
            (hash, self.verified.verify(tx, &hash))
        };
        let checked: Vec<([u8; 32], Result<(), TxError>)> = match &self.pool {
            Some(pool) => pool.install(|| txs.par_iter().map(check).collect()),
            None => txs.iter().map(check).collect(),
        };
        let mut block = BlockState::new(self.store.clone(), parent, self.values.clone());
        let info = BlockInfo {
            height: ctx.height,
            time_ms: ctx.time_ms,
        };
        let mut receipts = Vec::with_capacity(txs.len());
        let mut records = Vec::new();
        let mut logs = Vec::new();
        let mut fuel_left = max_block_fuel;
        let mut fuel_exhausted_at = None;
        for (index, (tx, (tx_hash, signature))) in txs.iter().zip(checked).enumerate() {
            let mut out = TxOutput {
                tx_index: index as u32,
                records: &mut records,
                logs: &mut logs,
                fuel_left,
                fuel_exhausted: false,
            };
            let receipt =
                self.apply_tx(&mut block, ctx, info, (tx, tx_hash), signature, &mut out)?;
            if out.fuel_exhausted {
                fuel_exhausted_at.get_or_insert(index);
            }
            fuel_left = fuel_left.saturating_sub(receipt.fuel_used);
            receipts.push(receipt);
        }
        let fuel_used = receipts.iter().map(|r| r.fuel_used).sum();
        let receipts_root = ordered_root(receipts.iter().map(Encode::encode));
        let (state_root, changes) = block.finish()?;
        Ok(BlockOutcome {
            state_root,
            receipts,
            receipts_root,
            fuel_used,
            changes,
            records,
            logs,
            fuel_exhausted_at,
        })
    }

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
        if tx.chain_id != ctx.chain_id {
            let e = TxError::WrongChain {
                expected: ctx.chain_id.clone(),
                found: tx.chain_id.clone(),
            };
            return Ok(receipt(TxStatus::Rejected {
                reason: e.to_string(),
            }));
        }
        if let Err(e) = signature {
            return Ok(receipt(TxStatus::Rejected {
                reason: e.to_string(),
            }));
        }
        let expected = block.nonce(&tx.signer)?;
        if tx.nonce != expected {
            let e = TxError::WrongNonce {
                expected,
                found: tx.nonce,
            };
            return Ok(receipt(TxStatus::Rejected {
                reason: e.to_string(),
            }));
        }
        block.set_nonce(&tx.signer, expected + 1);
        match &tx.payload {
            TxPayload::Deploy {
                wasm,
                fuel_limit_per_record,
            } => Ok(receipt(self.deploy(
                block,
                ctx,
                &tx.signer,
                wasm,
                *fuel_limit_per_record,
            )?)),
            TxPayload::Ingest { source, records } => {
                let (status, fuel_used) = self.ingest(block, info, source, records, out)?;
                Ok(TxReceipt {
                    tx_hash,
                    status,
                    fuel_used,
                })
            }
        }
    }

    fn deploy(
        &self,
        block: &mut BlockState,
        ctx: &BlockContext,
        deployer: &[u8; 32],
        wasm: &[u8],
        fuel_limit_per_record: u64,
    ) -> Result<TxStatus, ExecError> {
        let failed = |reason: String| Ok(TxStatus::Failed { reason });
        let max_fuel = self.engine.limits().max_fuel_per_record;
        if fuel_limit_per_record == 0 || fuel_limit_per_record > max_fuel {
            return failed(format!(
                "fuel_limit_per_record must be between 1 and {max_fuel}"
            ));
        }
        let compiled = match self.engine.load(wasm) {
            Ok(compiled) => compiled,
            Err(e) => return failed(format!("manuscript rejected: {e}")),
        };
        let manifest = &compiled.manifest;
        if block.main_get(&manuscript_key(&manifest.name))?.is_some() {
            return failed(format!(
                "a manuscript named {:?} is already deployed; choose another name",
                manifest.name
            ));
        }
        block.main_set(code_key(&compiled.code_hash), wasm.to_vec());
        let meta = ManuscriptMeta {
            name: manifest.name.clone(),
            code_hash: compiled.code_hash,
            sources: manifest.sources.clone(),
            datasets: manifest.datasets.clone(),
            fuel_limit_per_record,
            child_root: empty_root().to_fixed_bytes(),
            deployed_at: ctx.height,
            deployer: *deployer,
        };
        block.main_set(manuscript_key(&meta.name), meta.encode());
        for source in &meta.sources {
            let mut subscribers = block.subscribers(source)?;
            subscribers.push(meta.name.clone());
            block.main_set(source_key(source), subscribers.encode());
        }
        Ok(TxStatus::Deployed {
            manuscript: meta.name,
            code_hash: compiled.code_hash,
        })
    }

    fn ingest(
        &self,
        block: &mut BlockState,
        info: BlockInfo,
        source: &str,
        records: &RecordBatch,
        out: &mut TxOutput<'_>,
    ) -> Result<(TxStatus, u64), ExecError> {
        let limits = self.engine.limits();
        if records.len() > limits.max_records_per_ingest as usize {
            let reason = format!(
                "{} records in one ingest; the limit is {}",
                records.len(),
                limits.max_records_per_ingest
            );
            return Ok((TxStatus::Failed { reason }, 0));
        }
        if let Some((i, r)) = records
            .iter()
            .enumerate()
            .find(|(_, r)| r.len() > limits.max_record_len as usize)
        {
            let reason = format!(
                "record {i} is {} bytes; the limit is {}",
                r.len(),
                limits.max_record_len
            );
            return Ok((TxStatus::Failed { reason }, 0));
        }
        let subscribers = block.subscribers(source)?;
        let mut jobs = Vec::with_capacity(subscribers.len());
        for name in &subscribers {
            let (meta, mut overlay) = block.take_manuscript(name)?;
            overlay.begin_tx();
            let compiled = self.compiled(block, &meta)?;
            jobs.push((meta, compiled, overlay));
        }
        let budget = out.fuel_left;
        // Each subscriber may spend the whole budget left (they run in parallel, so the split must not depend
        // on timing); their sum is checked against it afterwards.
        let run = |(meta, compiled, overlay): (
            ManuscriptMeta,
            Arc<CompiledManuscript>,
            ManuscriptOverlay,
        )| {
            let mut runner = ManuscriptRunner::new(self.engine.clone(), compiled, info, overlay);
            runner.keep_emitted(self.keep_records);
            let mut results = Vec::with_capacity(records.len());
            let mut left = budget;
            let mut exhausted = false;
            for record in records {
                let limit = meta.fuel_limit_per_record.min(left);
                if limit == 0 {
                    exhausted = true;
                    break;
                }
                let result = runner.process(source, record, limit)?;
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
            Ok::<_, ExecutionFault>((meta, runner.into_overlay(), results, exhausted))
        };
        let done: Vec<Result<_, ExecutionFault>> = match &self.pool {
            Some(pool) if jobs.len() > 1 => {
                pool.install(|| jobs.into_par_iter().map(run).collect())
            }
            _ => jobs.into_iter().map(run).collect(),
        };
        let done = done
            .into_iter()
            .collect::<Result<Vec<_>, ExecutionFault>>()?;
        let spent: u64 = done
            .iter()
            .flat_map(|(_, _, results, _)| results.iter().map(|r| r.fuel_used))
            .fold(0u64, u64::saturating_add);
        if spent > budget || done.iter().any(|(_, _, _, exhausted)| *exhausted) {
            for (meta, mut overlay, _, _) in done {
                overlay.end_tx(false);
                block.put_manuscript(meta, overlay);
            }
            out.fuel_exhausted = true;
            let reason = format!(
                "the block's fuel budget ran out: this ingest needs more than the {budget} fuel left in the \
                 block (max_block_fuel in genesis); split it into smaller transactions"
            );
            return Ok((TxStatus::Failed { reason }, spent.min(budget)));
        }
        let mut invocations = Vec::new();
        let mut fuel_used = 0u64;
        for (meta, mut overlay, results, _) in done {
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
        Ok((
            TxStatus::Ingested {
                subscribers: subscribers.len() as u32,
                invocations,
            },
            fuel_used,
        ))
    }

    fn compiled(
        &self,
        block: &BlockState,
        meta: &ManuscriptMeta,
    ) -> Result<Arc<CompiledManuscript>, ExecError> {
        if let Some(hit) = self.engine.cached(&meta.code_hash) {
            return Ok(hit);
        }
        let stored = |reason: String| ExecError::StoredCode {
            manuscript: meta.name.clone(),
            reason,
        };
        let wasm = block
            .main_get(&code_key(&meta.code_hash))?
            .ok_or_else(|| stored("code missing".into()))?;
        self.engine
            .load(&wasm)
            .map_err(|e: CacheError| stored(e.to_string()))
    }
}

struct TxOutput<'a> {
    tx_index: u32,
    records: &'a mut Vec<BlockRecord>,
    logs: &'a mut Vec<ManuscriptLog>,
    /// The block's fuel budget left when this transaction starts.
    fuel_left: u64,
    /// Set when this transaction failed because that budget ran out.
    fuel_exhausted: bool,
}

/// The state being built by one block: main-trie changes and the manuscripts touched so far.
struct BlockState {
    store: Arc<dyn NodeStore>,
    values: Arc<ValueCache>,
    main: TrieView,
    main_changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Manuscripts whose state this block touched; `None` while one is out running.
    manuscripts: BTreeMap<String, Option<(ManuscriptMeta, ManuscriptOverlay)>>,
}

impl BlockState {
    fn new(store: Arc<dyn NodeStore>, parent: StateRoot, values: Arc<ValueCache>) -> Self {
        Self {
            main: TrieView::new(store.clone(), parent),
            store,
            values,
            main_changes: BTreeMap::new(),
            manuscripts: BTreeMap::new(),
        }
    }

    fn main_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.main_changes.get(key) {
            Some(value) => Ok(value.clone()),
            None => self.main.get(key),
        }
    }

    fn main_set(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.main_changes.insert(key, Some(value));
    }

    fn decode<T: Decode>(&self, key: &[u8]) -> Result<Option<T>, StateError> {
        let Some(bytes) = self.main_get(key)? else {
            return Ok(None);
        };
        T::decode(&mut &bytes[..])
            .map(Some)
            .map_err(|e| StateError::Corrupt {
                key: String::from_utf8_lossy(key).into_owned(),
                reason: e.to_string(),
            })
    }

    fn nonce(&self, account: &[u8; 32]) -> Result<u64, StateError> {
        Ok(self.decode::<u64>(&account_key(account))?.unwrap_or(0))
    }

    fn set_nonce(&mut self, account: &[u8; 32], nonce: u64) {
        self.main_set(account_key(account), nonce.encode());
    }

    fn subscribers(&self, source: &str) -> Result<Vec<String>, StateError> {
        Ok(self
            .decode::<Vec<String>>(&source_key(source))?
            .unwrap_or_default())
    }

    fn take_manuscript(
        &mut self,
        name: &str,
    ) -> Result<(ManuscriptMeta, ManuscriptOverlay), StateError> {
        if let Some(entry) = self.manuscripts.get_mut(name).and_then(Option::take) {
            return Ok(entry);
        }
        let key = manuscript_key(name);
        let meta: ManuscriptMeta = self.decode(&key)?.ok_or_else(|| StateError::Corrupt {
            key: String::from_utf8_lossy(&key).into_owned(),
            reason: "subscribed manuscript has no metadata".into(),
        })?;
        let view = TrieView::new(self.store.clone(), H256::from(meta.child_root));
        let trie = self.values.trie_id(name);
        Ok((
            meta,
            ManuscriptOverlay::new(view, Some((self.values.clone(), trie))),
        ))
    }

    fn put_manuscript(&mut self, meta: ManuscriptMeta, overlay: ManuscriptOverlay) {
        self.manuscripts
            .insert(meta.name.clone(), Some((meta, overlay)));
    }

    /// Folds each manuscript's changes into its child trie, then the main trie; returns root and new nodes.
    fn finish(mut self) -> Result<(StateRoot, StateChanges), StateError> {
        let store = self.store.clone();
        let mut db = OverlayDb::new(&*store);
        for (meta, overlay) in std::mem::take(&mut self.manuscripts)
            .into_values()
            .flatten()
        {
            let changes = overlay.into_changes();
            if changes.is_empty() {
                continue;
            }
            let mut meta = meta;
            let parent = H256::from(meta.child_root);
            let delta = changes.iter().map(|(k, v)| (k.as_slice(), v.as_deref()));
            let child_root = db.apply(parent, delta)?;
            // The next block reads this root: link it to its parent, so that state this block did not write is
            // served from entries filed under older roots, and file the state it wrote under it (not dataset
            // records, which manuscripts never read back).
            self.values.link(
                child_root,
                parent,
                STATE_PREFIX,
                changes.keys().map(|k| k.as_slice()),
            );
            let trie = self.values.trie_id(&meta.name);
            for (key, value) in changes {
                if key.starts_with(STATE_PREFIX) {
                    self.values.insert(trie, child_root, key.into_vec(), value);
                }
            }
            meta.child_root = child_root.to_fixed_bytes();
            self.main_set(manuscript_key(&meta.name), meta.encode());
        }
        let delta = self
            .main_changes
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref()));
        let root = db.apply(self.main.root(), delta)?;
        Ok((root, db.into_changes()))
    }
}
