//! Application glue between consensus and the CVM: builds the block this validator proposes, re-executes and
//! judges others' blocks, and commits decided blocks to storage in one batch. Execution results are cached per
//! block hash, so a block validated during the round is not executed again at commit.

mod errors;
mod evidence;
mod sources;
mod validators;

pub use errors::{AppError, EvidenceRefusal, InvalidBlock};

use std::collections::HashMap;
use std::sync::Arc;

use cvm_consensus::{ChainId, CommitCertificate, DuplicateVoteEvidence, SignatureVerifier};
use cvm_runtime::sources::{check_governance, check_ingest};
use cvm_runtime::state::{StateRoot, TrieView, account_key};
use cvm_runtime::validators::{Offence, check_update, validator_state};
use cvm_runtime::{
    BlockContext, BlockExecutor, BlockInput, BlockOutcome, SignedTransaction, TxPayload, TxStatus,
};
use parity_scale_codec::{Decode, Encode};
use parking_lot::Mutex;
use tracing::{debug, info, warn};

use crate::chain::genesis::ChainParams;
use crate::chain::{
    Block, BlockBody, BlockHash, BlockHeader, Genesis, PartSet, ValidatorSchedule, block_time_ok,
};
use crate::sources::{PulledBlock, SourceHub};
use crate::storage::{ChainHead, CommittedBlock, Storage};

/// A block and the result of executing it on its parent.
pub struct Executed {
    /// The block as proposed or decided.
    pub block: Block,
    /// The data of the source blocks it ingests, in body order.
    pub sources: Vec<PulledBlock>,
    /// State changes, receipts and roots it produced.
    pub outcome: BlockOutcome,
}

/// Commits the genesis state to the executor's store; its root.
pub fn write_genesis_state(
    genesis: &Genesis,
    executor: &BlockExecutor,
) -> Result<StateRoot, AppError> {
    let store = executor.store();
    let (root, changes) = genesis
        .state(&**store)
        .map_err(|e| AppError::Storage(format!("genesis state: {e}")))?;
    store
        .commit(&changes)
        .map_err(|e| AppError::Storage(format!("writing the genesis state: {e}")))?;
    Ok(root)
}

/// The application side of consensus: validates, executes and commits blocks on storage, caching executed proposals.
pub struct App {
    genesis: Genesis,
    chain_id: ChainId,
    /// The validator sets of the head and the two heights after it.
    schedule: Mutex<ValidatorSchedule>,
    /// The node's verifier, shared with consensus: a block's `last_commit` carries the precommits this node
    /// already checked as votes, which the verifier remembers.
    verifier: Arc<dyn SignatureVerifier>,
    storage: Storage,
    executor: BlockExecutor,
    /// The root of the genesis state (its sources and governance keys): what block 1 executes on.
    genesis_root: StateRoot,
    sources: Arc<SourceHub>,
    cache: Mutex<HashMap<BlockHash, Arc<Executed>>>,
}

/// The last committed block as the next height sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parent {
    /// Its height (0: genesis, nothing committed yet).
    pub height: u64,
    /// Its hash (zero at genesis).
    pub hash: BlockHash,
    /// The state root the next block executes on.
    pub state_root: StateRoot,
    /// Its header time, which the next block's must exceed.
    pub time_ms: u64,
}

impl App {
    /// An application over `storage`, checking certificates against the genesis validator set with `verifier`.
    /// Writes the genesis state's trie nodes to the executor's store (content-addressed: writing them again at
    /// every start changes nothing).
    pub fn new(
        genesis: Genesis,
        storage: Storage,
        executor: BlockExecutor,
        verifier: Arc<dyn SignatureVerifier>,
        sources: Arc<SourceHub>,
    ) -> Result<Self, AppError> {
        let schedule = Mutex::new(Self::load_schedule(&genesis, &storage)?);
        let genesis_root = write_genesis_state(&genesis, &executor)?;
        Ok(Self {
            chain_id: ChainId::new(genesis.chain_id.clone()),
            genesis,
            schedule,
            verifier,
            storage,
            executor,
            genesis_root,
            sources,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The root of the genesis state.
    pub fn genesis_root(&self) -> StateRoot {
        self.genesis_root
    }

    /// The chain's genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The chain id as consensus signs it.
    pub fn chain_id(&self) -> &ChainId {
        &self.chain_id
    }

    /// The chain-wide parameters of genesis.
    pub fn params(&self) -> &ChainParams {
        &self.genesis.params
    }

    /// The node's database.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The node's Ethereum sources.
    pub fn sources(&self) -> &Arc<SourceHub> {
        &self.sources
    }

    /// The block executor (manuscript runtime and module cache).
    pub fn executor(&self) -> &BlockExecutor {
        &self.executor
    }

    /// The last committed block, or genesis before block 1.
    pub fn parent(&self) -> Result<Parent, AppError> {
        let head: Option<ChainHead> = self
            .storage
            .head()
            .map_err(|e| AppError::Storage(e.to_string()))?;
        Ok(match head {
            Some(h) => Parent {
                height: h.height,
                hash: h.block_hash,
                state_root: StateRoot::from(h.state_root),
                time_ms: h.time_ms,
            },
            None => Parent {
                height: 0,
                hash: [0; 32],
                state_root: self.genesis_root,
                time_ms: self.genesis.genesis_time_ms,
            },
        })
    }

    /// The account's nonce in the latest committed state.
    pub fn committed_nonce(&self, account: &[u8; 32]) -> u64 {
        let Ok(parent) = self.parent() else { return 0 };
        self.nonce_at(parent.state_root, account)
    }

    /// The account's nonce in the state with `root`.
    pub fn nonce_at(&self, root: StateRoot, account: &[u8; 32]) -> u64 {
        let view = TrieView::new(self.executor.store().clone(), root);
        match view.get(&account_key(account)) {
            Ok(Some(bytes)) => u64::decode(&mut &bytes[..]).unwrap_or(0),
            _ => 0,
        }
    }

    /// Whether the committed state lets `tx`'s signer do what it asks: ingest only into a signed source it
    /// publishes to, register sources only with a governance key, update validators only with enough approvals.
    /// `Err` says why not (the same reason the transaction's receipt would give).
    pub fn check_payload(&self, tx: &SignedTransaction) -> Result<(), String> {
        let root = self.parent().map_err(|e| e.to_string())?.state_root;
        let view = TrieView::new(self.executor.store().clone(), root);
        match &tx.tx.payload {
            TxPayload::Ingest { source, .. } => {
                check_ingest(&view, &tx.tx.signer, source).map_err(|e| e.to_string())
            }
            TxPayload::RegisterSource { .. } => {
                check_governance(&view, &tx.tx.signer).map_err(|e| e.to_string())
            }
            TxPayload::UpdateValidators { update, approvals } => {
                let set = validator_state(&view).map_err(|e| e.to_string())?;
                check_update(&set, &self.genesis.chain_id, update, approvals)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            TxPayload::Deploy { .. } => Ok(()),
        }
    }

    fn execute(
        &self,
        parent: &Parent,
        header: &BlockHeader,
        sources: &[PulledBlock],
        (txs, offences): (&[SignedTransaction], &[Offence]),
    ) -> Result<BlockOutcome, AppError> {
        let ctx = BlockContext {
            chain_id: self.genesis.chain_id.clone(),
            height: header.height,
            time_ms: header.time_ms,
        };
        let source_blocks: Vec<_> = sources.iter().map(PulledBlock::to_source_block).collect();
        let input = BlockInput {
            source_blocks: &source_blocks,
            txs,
            offences,
        };
        Ok(self.executor.execute(
            parent.state_root,
            &ctx,
            input,
            self.genesis.params.max_block_fuel,
        )?)
    }

    /// Builds and executes the block this validator proposes at `parent.height + 1`, with what of the
    /// `evidence` it may carry.
    pub fn build_block(
        &self,
        proposer: [u8; 32],
        (mut txs, evidence): (Vec<SignedTransaction>, Vec<DuplicateVoteEvidence>),
        last_commit: Option<CommitCertificate>,
        now_ms: u64,
    ) -> Result<Arc<Executed>, AppError> {
        let parent = self.parent()?;
        let params = &self.genesis.params;
        let (evidence, offences) = self.admissible_evidence(&parent, evidence);
        let read = self.source_readers(parent.state_root);
        let mut sources = self.sources.proposal(|name| read(name));
        let (validators_hash, next_validators_hash) = self.validators_hashes(parent.height + 1)?;
        loop {
            let body = BlockBody {
                source_blocks: sources.iter().map(PulledBlock::commitment).collect(),
                txs,
                last_commit: last_commit.clone(),
                evidence: evidence.clone(),
            };
            let mut header = BlockHeader {
                chain_id: self.genesis.chain_id.clone(),
                height: parent.height + 1,
                time_ms: now_ms.max(parent.time_ms + 1),
                parent_hash: parent.hash,
                proposer,
                validators_hash,
                next_validators_hash,
                sources_hash: body.sources_hash(),
                txs_root: body.txs_root(),
                tx_count: body.txs.len() as u32,
                state_root: [0; 32],
                receipts_root: [0; 32],
                fuel_used: 0,
                last_commit_hash: body.last_commit_hash(),
                evidence_hash: body.evidence_hash(),
                parts: PartSet::header_of(&body.encode(), params.part_size as usize),
            };
            let outcome = match self.execute(&parent, &header, &sources, (&body.txs, &offences)) {
                Err(AppError::Exec(e @ cvm_runtime::ExecError::SourceBlock(_)))
                    if !sources.is_empty() =>
                {
                    // The feed is out of step with the committed source head (it catches up at the next
                    // commit): propose without source blocks rather than nothing.
                    warn!(error = %e, "source blocks do not follow the committed heads; proposing without them");
                    sources.clear();
                    txs = body.txs;
                    continue;
                }
                other => other?,
            };
            if let Some(first_out) = outcome.source_fuel_exhausted_at
                && first_out > 0
            {
                // A source block ran out of the block's fuel: it and the later ones wait for the next block
                // (where, first in line, it gets the whole budget).
                sources.truncate(first_out);
                txs = body.txs;
                continue;
            }
            if outcome.source_fuel_exhausted_at.is_some() && !body.txs.is_empty() {
                txs = Vec::new();
                continue;
            }
            if let Some(first_out) = outcome.fuel_exhausted_at
                && first_out > 0
            {
                // The block's fuel ran out at this transaction: it and the rest wait for the next block (where,
                // first in line, it gets the whole budget; if that is still not enough it fails there and its
                // nonce is consumed, so it cannot hold up the chain).
                debug!(
                    fuel = outcome.fuel_used,
                    keep = first_out,
                    "block fuel budget reached; the rest waits"
                );
                txs = body.txs;
                txs.truncate(first_out);
                continue;
            }
            if let Some(0) = outcome.fuel_exhausted_at
                && body.txs.len() > 1
            {
                txs = body.txs;
                txs.truncate(1);
                continue;
            }
            header.state_root = outcome.state_root.0;
            header.receipts_root = outcome.receipts_root.0;
            header.fuel_used = outcome.fuel_used;
            let executed = Arc::new(Executed {
                block: Block { header, body },
                sources,
                outcome,
            });
            self.cache
                .lock()
                .insert(executed.block.hash(), executed.clone());
            return Ok(executed);
        }
    }

    /// Whether `block` may follow the last committed block: re-executes it and compares.
    pub fn validate_block(&self, block: Block, now_ms: u64) -> Result<Arc<Executed>, InvalidBlock> {
        let hash = block.hash();
        if let Some(hit) = self.cache.lock().get(&hash) {
            return Ok(hit.clone());
        }
        let parent = self
            .parent()
            .map_err(|e| InvalidBlock::Execution(e.to_string()))?;
        let h = &block.header;
        let params = &self.genesis.params;
        if h.chain_id != self.genesis.chain_id {
            return Err(InvalidBlock::ChainId(h.chain_id.clone()));
        }
        if h.height != parent.height + 1 {
            return Err(InvalidBlock::Height {
                expected: parent.height + 1,
                found: h.height,
            });
        }
        if h.parent_hash != parent.hash {
            return Err(InvalidBlock::Parent);
        }
        self.check_validators_hashes(h)?;
        if !block_time_ok(h.time_ms, parent.time_ms, now_ms, params.max_time_drift_ms) {
            return Err(InvalidBlock::Time {
                time_ms: h.time_ms,
                parent_ms: parent.time_ms,
            });
        }
        let size = block.body.encoded_size();
        if size as u64 > params.max_block_bytes {
            return Err(InvalidBlock::TooLarge {
                size,
                max: params.max_block_bytes,
            });
        }
        if let Some(tx) = block
            .body
            .txs
            .iter()
            .find(|tx| tx.encoded_size() as u64 > params.max_tx_bytes)
        {
            return Err(InvalidBlock::TxTooLarge {
                size: tx.encoded_size(),
                max: params.max_tx_bytes,
            });
        }
        if !block.body_matches_header(params.part_size as usize) {
            return Err(InvalidBlock::Body);
        }
        self.check_last_commit(&parent, &block.body)?;
        let offences = self.block_offences(&parent, &block.body.evidence)?;
        let sources = self
            .sources
            .resolve(&block.body.source_blocks)
            .map_err(InvalidBlock::SourceData)?;
        let outcome = self
            .execute(&parent, h, &sources, (&block.body.txs, &offences))
            .map_err(|e| InvalidBlock::Execution(e.to_string()))?;
        if outcome.state_root.0 != h.state_root {
            return Err(InvalidBlock::StateRoot {
                header: hex::encode(h.state_root),
                executed: hex::encode(outcome.state_root.0),
            });
        }
        if outcome.receipts_root.0 != h.receipts_root {
            return Err(InvalidBlock::ReceiptsRoot);
        }
        if outcome.fuel_used != h.fuel_used || outcome.fuel_used > params.max_block_fuel {
            return Err(InvalidBlock::Fuel {
                header: h.fuel_used,
                executed: outcome.fuel_used,
            });
        }
        let executed = Arc::new(Executed {
            block,
            sources,
            outcome,
        });
        self.cache.lock().insert(hash, executed.clone());
        Ok(executed)
    }

    fn check_last_commit(&self, parent: &Parent, body: &BlockBody) -> Result<(), InvalidBlock> {
        match (&body.last_commit, parent.height) {
            (None, 0) => Ok(()),
            (Some(_), 0) => Err(InvalidBlock::LastCommit(
                "height 1 carries no last commit".into(),
            )),
            (None, _) => Err(InvalidBlock::LastCommit("missing".into())),
            (Some(cert), h) => {
                if cert.height.0 != h || cert.value_id.0 != parent.hash {
                    return Err(InvalidBlock::LastCommit(
                        "does not certify the parent block".into(),
                    ));
                }
                self.verify_certificate(cert)
                    .map_err(InvalidBlock::LastCommit)
            }
        }
    }

    /// An already executed block, if this node built or validated it.
    pub fn cached(&self, hash: &BlockHash) -> Option<Arc<Executed>> {
        self.cache.lock().get(hash).cloned()
    }

    /// Stores a decided block with its certificate in one batch (fsynced when `durable`; see
    /// [`Storage::commit_block_with`]). Uses the cached execution when there is one.
    pub fn commit(
        &self,
        header: &BlockHeader,
        body: Option<BlockBody>,
        certificate: &CommitCertificate,
        durable: bool,
    ) -> Result<Arc<Executed>, AppError> {
        let hash = header.hash();
        let executed = match self.cached(&hash) {
            Some(hit) => hit,
            None => {
                let body = body.ok_or_else(|| AppError::MissingBody {
                    height: header.height,
                    hash: hex::encode(hash),
                })?;
                let parent = self.parent()?;
                // Decided: the data is what the commitments name, from this node's endpoint or, failing that
                // (none configured, behind, or showing another chain), as stored from sync.
                let sources = match self.sources.resolve(&body.source_blocks) {
                    Ok(sources) => sources,
                    Err(_) => self
                        .storage
                        .pulled_blocks(&body.source_blocks)
                        .map_err(|cause| AppError::MissingSourceData {
                            height: header.height,
                            cause,
                        })?,
                };
                // Decided: more than 2/3 checked its evidence; the offences are what it names.
                let offences = body.offences();
                let outcome = self.execute(&parent, header, &sources, (&body.txs, &offences))?;
                if outcome.state_root.0 != header.state_root {
                    return Err(AppError::Divergence {
                        height: header.height,
                        what: "state root",
                    });
                }
                if outcome.receipts_root.0 != header.receipts_root {
                    return Err(AppError::Divergence {
                        height: header.height,
                        what: "receipts root",
                    });
                }
                Arc::new(Executed {
                    block: Block {
                        header: header.clone(),
                        body,
                    },
                    sources,
                    outcome,
                })
            }
        };
        let mut schedule = self.schedule.lock();
        let (next_schedule, changed) = schedule.advance(&executed.outcome.validator_changes)?;
        self.storage
            .commit_block_with(
                &CommittedBlock {
                    block: &executed.block,
                    certificate,
                    changes: &executed.outcome.changes,
                    receipts: &executed.outcome.receipts,
                    source_blocks: &executed
                        .sources
                        .iter()
                        .map(|p| (p.verified.hash, p.data.encode()))
                        .collect::<Vec<_>>(),
                    dataset_changes: &executed.outcome.dataset_changes,
                    validators: Some((&next_schedule, changed)),
                    jailed: &executed.outcome.jailed,
                },
                durable,
            )
            .map_err(|e| AppError::Storage(e.to_string()))?;
        *schedule = next_schedule;
        drop(schedule);
        for key in &executed.outcome.jailed {
            warn!(
                height = header.height,
                validator = %hex::encode(key),
                from = header.height + 2,
                "validator jailed for equivocation"
            );
        }
        if changed {
            info!(
                height = header.height,
                from = header.height + 2,
                "validator set changes"
            );
        }
        self.cache
            .lock()
            .retain(|_, e| e.block.header.height > header.height);
        // Sources registered or advanced by this block: feeds start, move their heads and check what their
        // endpoints showed against what committed.
        self.sync_sources();
        let failed = executed
            .outcome
            .receipts
            .iter()
            .filter(|r| {
                matches!(
                    r.status,
                    TxStatus::Rejected { .. } | TxStatus::Failed { .. }
                )
            })
            .count();
        if failed > 0 {
            warn!(
                height = header.height,
                failed, "transactions failed or were rejected in this block"
            );
        }
        info!(
            height = header.height,
            hash = %hex::encode(&hash[..6]),
            txs = executed.block.body.txs.len(),
            records = executed.outcome.records_emitted(),
            fuel = executed.outcome.fuel_used,
            "committed"
        );
        Ok(executed)
    }

    /// Encoded size of a body without transactions or source blocks, for the proposer's byte budget.
    pub fn body_overhead(
        last_commit: &Option<CommitCertificate>,
        evidence: &[DuplicateVoteEvidence],
    ) -> usize {
        BlockBody {
            source_blocks: Vec::new(),
            txs: Vec::new(),
            last_commit: last_commit.clone(),
            evidence: evidence.to_vec(),
        }
        .encoded_size()
    }
}
