//! The node's read and submit surface, shared by the HTTP API and the embedding [`crate::ordering`] API.

use std::sync::Arc;

use cvm_consensus::CommitCertificate;
use cvm_runtime::sources::prove_provenance;
use cvm_runtime::state::{
    H256, MANUSCRIPT_PREFIX, ManuscriptMeta, PageQuery, ProofError, StateRoot, TrieView, code_key,
    manuscript_key, prove_appended_record, prove_block_appends, prove_record, prove_record_set,
    read_value,
};
use cvm_runtime::validators::validator_state;
use parity_scale_codec::Decode;
use parking_lot::{Mutex, RwLock};

use super::app::App;
use super::evidence_pool::EvidencePool;
use super::mempool::{AdmitError, Mempool, Origin, TxHash};
use super::status::NodeStatus;
use super::tx_gossip::publish_due;
use crate::block_changes::BlockChanges;
use crate::chain::source_json::{HeadJson, SourceJson};
use crate::chain::{Block, membership_hash};
use crate::datasets::ManuscriptTypes;
use crate::hex_text::to_hex;
use crate::metrics::{Metrics, RejectClass};
use crate::network::NetworkHandle;
use crate::record_bundle::RecordBundle;
use crate::record_page::RecordPage;
use crate::rpc::node_api::{
    ApiError, ChangesFilter, EndpointJson, EvidenceInfo, EvidenceList, ManuscriptInfo, NodeApi,
    PeersInfo, SourceInfo, StatusInfo, SubmitError, TxLookup, ValidatorInfo, ValidatorSetInfo,
};

/// What the HTTP API reads and writes: the [`NodeApi`] implementation over a running node's parts.
pub struct NodeBackend {
    /// Blocks, state and receipts.
    pub app: Arc<App>,
    /// Where submitted transactions go.
    pub mempool: Arc<Mutex<Mempool>>,
    /// Gossips admitted transactions.
    pub net: NetworkHandle,
    /// Progress the event loop reports.
    pub status: Arc<RwLock<NodeStatus>>,
    /// Duplicate-vote evidence waiting for a block.
    pub evidence: Arc<Mutex<EvidencePool>>,
    /// Counts rejected submissions.
    pub metrics: Arc<Metrics>,
    /// The mempool's transaction cap, reported to clients.
    pub mempool_max_txs: usize,
    /// Sent at each commit (wakes change feeds).
    pub commits: tokio::sync::broadcast::Sender<Arc<Block>>,
}

impl NodeBackend {
    /// Admits a transaction to the mempool and gossips it, at once or when the gossip window has room.
    pub fn submit(&self, bytes: Vec<u8>) -> Result<TxHash, AdmitError> {
        let app = self.app.clone();
        let result = Mempool::admit_shared(&self.mempool, Origin::Client, &bytes, |acct| {
            app.committed_nonce(acct)
        });
        match result {
            Ok(hash) => {
                publish_due(&self.mempool, &self.net, Some((hash, bytes)));
                Ok(hash)
            }
            Err(e) => {
                self.metrics.on_tx_rejected(RejectClass::from(&e));
                Err(e)
            }
        }
    }

    /// The mempool's transaction cap.
    pub fn mempool_capacity(&self) -> usize {
        self.mempool_max_txs
    }

    /// The next nonce an account should use, counting its pending transactions.
    pub fn next_nonce(&self, account: &[u8; 32]) -> u64 {
        let committed = self.app.committed_nonce(account);
        self.mempool.lock().next_nonce(account, committed)
    }

    /// The dataset types the code with `code_hash` declares, read from the state at `state_root` the first time
    /// that code is asked for (a process-wide cache keeps them; one lookup per answer, not per record). `None`:
    /// it declares none, and its records show as hex.
    pub(super) fn manuscript_types(
        &self,
        state_root: [u8; 32],
        code_hash: [u8; 32],
    ) -> Option<Arc<ManuscriptTypes>> {
        let store = self.app.executor().store().clone();
        crate::datasets::types::cached(code_hash, || {
            read_value(
                store.as_ref(),
                H256::from(state_root),
                &code_key(&code_hash),
            )
            .map_err(
                |e| tracing::warn!(error = %e, "reading a manuscript's code for its types failed"),
            )
            .ok()
            .flatten()
        })
    }

    /// As [`manuscript_types`](Self::manuscript_types), for the manuscript whose SCALE [`ManuscriptMeta`] (from a
    /// proof of the state at `state_root`) is `meta`.
    pub(super) fn types_of_meta(
        &self,
        state_root: [u8; 32],
        meta: &[u8],
    ) -> Option<Arc<ManuscriptTypes>> {
        let meta = ManuscriptMeta::decode(&mut &meta[..]).ok()?;
        self.manuscript_types(state_root, meta.code_hash)
    }
}

fn storage_err(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "storage read failed");
    ApiError::Internal(e.to_string())
}

impl From<&AdmitError> for RejectClass {
    fn from(e: &AdmitError) -> Self {
        match e {
            AdmitError::Undecodable(_) => RejectClass::Decode,
            AdmitError::TooLarge { .. } => RejectClass::TooLarge,
            AdmitError::WrongChain { .. } => RejectClass::ChainId,
            AdmitError::BadSignature(_) => RejectClass::Signature,
            AdmitError::WrongNonce { .. }
            | AdmitError::SenderGapFull { .. }
            | AdmitError::GapShareFull { .. } => RejectClass::Nonce,
            AdmitError::Duplicate(_) => RejectClass::Duplicate,
            AdmitError::Full { .. } => RejectClass::MempoolFull,
            AdmitError::Refused(_) => RejectClass::Unauthorized,
        }
    }
}

impl NodeApi for NodeBackend {
    fn status(&self) -> StatusInfo {
        let s = self.status.read();
        StatusInfo {
            chain_id: s.chain_id.clone(),
            moniker: s.moniker.clone(),
            height: s.height,
            latest_block_hash: (s.height > 0).then(|| to_hex(s.latest_block_hash)),
            state_root: to_hex(s.state_root),
            latest_block_time_ms: (s.height > 0).then_some(s.latest_block_time_ms),
            peers: PeersInfo {
                count: s.peers.len(),
                ids: s.peers.clone(),
            },
            syncing: s.syncing,
            validator: s.validator.map(to_hex),
            round: s.round,
        }
    }

    fn block(&self, height: u64) -> Result<Option<Block>, ApiError> {
        self.app.storage().block(height).map_err(storage_err)
    }

    fn commit(&self, height: u64) -> Result<Option<CommitCertificate>, ApiError> {
        self.app.storage().commit(height).map_err(storage_err)
    }

    fn submit_tx(&self, tx: Vec<u8>) -> Result<[u8; 32], SubmitError> {
        self.submit(tx)
            .map_err(|e| SubmitError::new(RejectClass::from(&e), e.to_string()))
    }

    fn tx(&self, hash: [u8; 32]) -> Result<TxLookup, ApiError> {
        if let Some(stored) = self.app.storage().receipt(&hash).map_err(storage_err)? {
            return Ok(TxLookup::Committed {
                height: stored.height,
                index: stored.index,
                receipt: stored.receipt,
            });
        }
        if self.mempool.lock().contains(&hash) {
            return Ok(TxLookup::Pending);
        }
        Ok(TxLookup::Unknown)
    }

    fn record(
        &self,
        manuscript: &str,
        dataset: &str,
        key: &[u8],
        height: Option<u64>,
    ) -> Result<RecordBundle, ApiError> {
        let storage = self.app.storage();
        let head = self.status.read().height;
        let asked = height;
        let height = height.unwrap_or(head);
        if height == 0 || height > head {
            return Err(ApiError::NotFound(format!(
                "height {height} is not committed (latest is {head})"
            )));
        }
        let header = storage
            .header(height)
            .map_err(storage_err)?
            .ok_or_else(|| ApiError::NotFound(format!("no block at height {height}")))?;
        let certificate = storage
            .commit(height)
            .map_err(storage_err)?
            .ok_or_else(|| {
                ApiError::NotFound(format!("no commit certificate at height {height}"))
            })?;
        let store = self.app.executor().store().clone();
        let root = StateRoot::from(header.state_root);
        // A record of an append-only dataset is proven with the block that appended it: the height asked for.
        let proof = match prove_record(store.as_ref(), root, manuscript, dataset, key) {
            Err(ProofError::NeedsHeight { dataset }) => match asked {
                Some(height) => {
                    prove_appended_record(store.as_ref(), root, manuscript, &dataset, height, key)
                }
                None => {
                    return Err(ApiError::BadRequest(format!(
                        "dataset {dataset:?} of {manuscript:?} is append-only: a record is looked up with the \
                         block that appended it; add ?height=<that block's height> (pages and \
                         GET /blocks/{{height}}/changes list records with their heights)"
                    )));
                }
            },
            other => other,
        }
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        let Some(meta) = &proof.manuscript_meta else {
            return Err(ApiError::NotFound(format!(
                "no manuscript named {manuscript:?} at height {height}"
            )));
        };
        let meta = ManuscriptMeta::decode(&mut &meta[..])
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        if !meta.datasets.iter().any(|d| d == dataset) {
            return Err(ApiError::NotFound(format!(
                "manuscript {manuscript:?} has no dataset {dataset:?} (it has {:?})",
                meta.datasets
            )));
        }
        let provenance = prove_provenance(store.as_ref(), root, manuscript)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let types = self.manuscript_types(header.state_root, meta.code_hash);
        let types = types.as_deref();
        Ok(RecordBundle {
            chain_id: self.app.genesis().chain_id.clone(),
            height,
            manuscript: manuscript.to_string(),
            dataset: dataset.to_string(),
            key: key.to_vec(),
            value: proof.value.clone(),
            key_json: Some(crate::datasets::types::key_json(types, dataset, key)),
            value_json: proof
                .value
                .as_deref()
                .map(|v| crate::datasets::types::value_json(types, dataset, v)),
            proof,
            provenance: Some(provenance),
            header,
            certificate,
            header_chain: Vec::new(),
        })
    }

    fn records_page(&self, query: &PageQuery, height: Option<u64>) -> Result<RecordPage, ApiError> {
        self.prove_records_page(query, height)
    }

    fn account_nonce(&self, public_key: [u8; 32]) -> Result<u64, ApiError> {
        Ok(self.next_nonce(&public_key))
    }

    fn validators(&self, height: Option<u64>) -> Result<ValidatorSetInfo, ApiError> {
        let head = self.status.read().height;
        let height = height.unwrap_or(head + 1);
        if height == 0 {
            return Err(ApiError::BadRequest(
                "height 0 has no validator set; heights start at 1".into(),
            ));
        }
        let set = self.app.validator_set(height).ok_or_else(|| {
            ApiError::NotFound(format!(
                "the validator set of height {height} is not decided yet: the chain is at height {head}, whose \
                 block decides the set of height {}",
                head + 2
            ))
        })?;
        let genesis = self.app.genesis();
        let root = StateRoot::from(self.status.read().state_root);
        let view = TrieView::new(self.app.executor().store().clone(), root);
        let update_seq = validator_state(&view)
            .map_err(|e| ApiError::Internal(format!("reading the validator set in state: {e}")))?
            .seq;
        Ok(ValidatorSetInfo {
            height,
            validators_hash: to_hex(membership_hash(&set)),
            total_power: set.total_power(),
            validators: set
                .validators()
                .iter()
                .map(|v| ValidatorInfo {
                    name: genesis
                        .validator_name(&v.id)
                        .unwrap_or_default()
                        .to_string(),
                    public_key: to_hex(v.id.0),
                    power: v.voting_power,
                })
                .collect(),
            update_seq,
        })
    }

    fn manuscripts(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ManuscriptInfo>, ApiError> {
        let root = StateRoot::from(self.status.read().state_root);
        let store = self.app.executor().store().clone();
        let view = TrieView::new(store, root);
        let mut out = Vec::new();
        let mut cursor = after.map_or_else(|| MANUSCRIPT_PREFIX.to_vec(), manuscript_key);
        let mut exclusive = after.is_some();
        while out.len() < limit {
            let next = view
                .next_key(MANUSCRIPT_PREFIX, &cursor, exclusive)
                .map_err(storage_err)?;
            exclusive = true;
            let Some(key) = next else { break };
            if let Some(bytes) = view.get(&key).map_err(storage_err)?
                && let Ok(meta) = ManuscriptMeta::decode(&mut &bytes[..])
            {
                {
                    out.push(ManuscriptInfo {
                        name: meta.name,
                        code_hash: to_hex(meta.code_hash),
                        sources: meta.sources,
                        slots: meta.slots,
                        datasets: meta.datasets,
                        fuel_limit_per_record: meta.fuel_limit_per_record,
                        deployed_at: meta.deployed_at,
                    });
                }
            }
            cursor = key;
        }
        Ok(out)
    }

    fn evidence(&self, before: Option<u64>, limit: usize) -> Result<EvidenceList, ApiError> {
        // One more than asked tells whether another page follows.
        let mut blocks = self
            .app
            .storage()
            .committed_evidence(before, limit + 1)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let next_before = (blocks.len() > limit).then(|| blocks[limit - 1].height);
        blocks.truncate(limit);
        let committed = blocks
            .iter()
            .flat_map(|block| {
                block.evidence.iter().map(|e| {
                    let offender = e.vote_a.vote.validator.0;
                    EvidenceInfo::new(e, Some((block.height, block.jailed.contains(&offender))))
                })
            })
            .collect();
        let pending = self
            .evidence
            .lock()
            .pending()
            .iter()
            .map(|e| EvidenceInfo::new(e, None))
            .collect();
        Ok(EvidenceList {
            committed,
            pending,
            next_before,
        })
    }

    fn sources(&self) -> Result<Vec<SourceInfo>, ApiError> {
        let root = StateRoot::from(self.status.read().state_root);
        let view = TrieView::new(self.app.executor().store().clone(), root);
        let feeds = self.app.sources().status();
        cvm_runtime::sources::sources(&view)
            .map_err(storage_err)?
            .into_iter()
            .map(|def| {
                let head =
                    cvm_runtime::sources::source_head(&view, &def.name).map_err(storage_err)?;
                let endpoint = def.is_ethereum().then(|| {
                    feeds
                        .iter()
                        .find(|f| f.name == def.name)
                        .map(|f| EndpointJson {
                            configured: f.endpoint,
                            latest: f.feed.endpoint_latest,
                            safe_tip: f.feed.safe_tip,
                            ready: f.feed.ready,
                            last_error: f.feed.last_error.clone(),
                            conflicts: f.feed.conflicts,
                        })
                        .unwrap_or_default()
                });
                Ok(SourceInfo {
                    definition: SourceJson::from(&def),
                    head: head.as_ref().map(HeadJson::from),
                    endpoint,
                })
            })
            .collect()
    }

    fn code(&self, code_hash: [u8; 32]) -> Result<Option<Vec<u8>>, ApiError> {
        let root = H256::from(self.status.read().state_root);
        read_value(
            self.app.executor().store().as_ref(),
            root,
            &code_key(&code_hash),
        )
        .map_err(storage_err)
    }

    fn check_changes_filter(&self, filter: &ChangesFilter, height: u64) -> Result<(), ApiError> {
        let Some(manuscript) = &filter.manuscript else {
            return Ok(());
        };
        let header = self
            .app
            .storage()
            .header(height)
            .map_err(storage_err)?
            .ok_or_else(|| ApiError::NotFound(format!("no block at height {height}")))?;
        let view = TrieView::new(
            self.app.executor().store().clone(),
            StateRoot::from(header.state_root),
        );
        let meta = view
            .get(&manuscript_key(manuscript))
            .map_err(storage_err)?
            .map(|bytes| ManuscriptMeta::decode(&mut &bytes[..]))
            .transpose()
            .map_err(storage_err)?
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "no manuscript named {manuscript:?} at height {height}"
                ))
            })?;
        match &filter.dataset {
            Some(dataset) if !meta.datasets.contains(dataset) => Err(ApiError::NotFound(format!(
                "manuscript {manuscript:?} has no dataset {dataset:?} (it has {:?})",
                meta.datasets
            ))),
            _ => Ok(()),
        }
    }

    fn changes(&self, height: u64, filter: &ChangesFilter) -> Result<BlockChanges, ApiError> {
        let storage = self.app.storage();
        let head = self.status.read().height;
        if height == 0 || height > head {
            return Err(ApiError::NotFound(format!(
                "height {height} is not final yet (latest is {head}); follow GET /feed to be told when it is"
            )));
        }
        let not_found = |what: &str| ApiError::NotFound(format!("no {what} at height {height}"));
        let header = storage
            .header(height)
            .map_err(storage_err)?
            .ok_or_else(|| not_found("block"))?;
        let certificate = storage
            .commit(height)
            .map_err(storage_err)?
            .ok_or_else(|| not_found("commit certificate"))?;
        let changes = storage
            .dataset_changes(height)
            .map_err(storage_err)?
            .ok_or_else(|| {
                not_found("record of dataset changes (committed by an older version)")
            })?;
        let store = self.app.executor().store().clone();
        let root = StateRoot::from(header.state_root);
        let datasets = changes
            .iter()
            .filter(|c| filter.selects(&c.manuscript, &c.dataset))
            .map(|c| {
                let keys: Vec<Vec<u8>> = c.written.iter().chain(&c.removed).cloned().collect();
                match prove_record_set(store.as_ref(), root, &c.manuscript, &c.dataset, &keys) {
                    // An append-only dataset's changes are every record the block appended.
                    Err(ProofError::NeedsHeight { .. }) => {
                        prove_block_appends(store.as_ref(), root, &c.manuscript, &c.dataset, height)
                    }
                    other => other,
                }
                .map_err(storage_err)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let state_root = header.state_root;
        Ok(BlockChanges::new(
            self.app.genesis().chain_id.clone(),
            height,
            datasets,
            header,
            certificate,
            |set| {
                set.manuscript_meta
                    .as_deref()
                    .and_then(|meta| self.types_of_meta(state_root, meta))
            },
        ))
    }

    fn commit_signal(&self) -> tokio::sync::broadcast::Receiver<Arc<Block>> {
        self.commits.subscribe()
    }
}
