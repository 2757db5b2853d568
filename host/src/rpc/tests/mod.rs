//! Route tests against a fake node: the happy paths and every bad-input case give the right status and a JSON
//! error. The fake node and the request helpers are here; the tests are by topic.

mod bad_paths;
mod code;
mod feed;
mod limits;
mod reads;
mod records_page;
mod submit;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cvm_consensus::{
    CommitCertificate, DuplicateVoteEvidence, Height, Round, SignatureBytes, SignedVote,
    ValidatorId, ValueId, Vote, VoteKind,
};
use cvm_runtime::{SignedTransaction, Transaction, TxPayload, TxReceipt, TxStatus};
use ed25519_dalek::SigningKey;
use http_body_util::BodyExt;
use parity_scale_codec::Encode;
use tower::ServiceExt;

use super::*;
use crate::chain::source_json::{HeadJson, SourceJson};
use crate::chain::{Block, BlockBody, BlockHeader, PartSetHeader, SourceCommitment};
use crate::hex_text::to_hex;
use crate::metrics::RejectClass;
use crate::record_bundle::RecordBundle;

pub(crate) const LIMIT: usize = 4096;

/// The one manuscript code the fake node stores.
pub(crate) const FAKE_CODE: &[u8] = b"\0asm fake code";

/// A node with two blocks, one committed transaction, (optionally) one provable record, and manuscripts by name.
pub(crate) struct FakeNode {
    pub bundle: Option<RecordBundle>,
    pub committed: [u8; 32],
    pub submitted: Mutex<Vec<SignedTransaction>>,
    pub manuscripts: Vec<String>,
    /// `/evidence` calls wait here when set.
    pub gate: Option<Arc<Gate>>,
    /// The committed height (2 unless a test moves it).
    pub height: std::sync::atomic::AtomicU64,
    /// Sent when a test moves the height.
    pub commits: tokio::sync::broadcast::Sender<Arc<Block>>,
}

impl FakeNode {
    pub fn new(bundle: Option<RecordBundle>) -> Self {
        Self {
            bundle,
            committed: [7; 32],
            submitted: Mutex::new(Vec::new()),
            manuscripts: Vec::new(),
            gate: None,
            height: std::sync::atomic::AtomicU64::new(2),
            commits: tokio::sync::broadcast::channel(16).0,
        }
    }

    /// Commits blocks up to `height` and wakes feeds.
    pub fn commit_to(&self, height: u64) {
        self.height.store(height, Ordering::SeqCst);
        let _ = self.commits.send(Arc::new(Block {
            header: header(height),
            body: BlockBody::default(),
        }));
    }

    fn head(&self) -> u64 {
        self.height.load(Ordering::SeqCst)
    }
}

/// Holds node calls until opened, counting those that wait.
#[derive(Default)]
pub(crate) struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
    pub entered: AtomicUsize,
}

impl Gate {
    fn pass(&self) {
        self.entered.fetch_add(1, Ordering::SeqCst);
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }

    pub fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

pub(crate) fn header(height: u64) -> BlockHeader {
    BlockHeader {
        chain_id: "fake".into(),
        height,
        time_ms: 1000 * height,
        parent_hash: [0; 32],
        proposer: [1; 32],
        validators_hash: [0; 32],
        next_validators_hash: [0; 32],
        sources_hash: [0; 32],
        txs_root: [2; 32],
        tx_count: 0,
        state_root: [3; 32],
        receipts_root: [4; 32],
        fuel_used: 0,
        last_commit_hash: [5; 32],
        evidence_hash: [0; 32],
        parts: PartSetHeader {
            total: 1,
            root: [6; 32],
        },
    }
}

pub(crate) fn user_tx(nonce: u64) -> SignedTransaction {
    let key = SigningKey::from_bytes(&[9; 32]);
    Transaction {
        chain_id: "fake".into(),
        signer: key.verifying_key().to_bytes(),
        nonce,
        payload: TxPayload::Ingest {
            source: "kv".into(),
            records: vec![vec![1, 2, 3]].into(),
        },
    }
    .sign(&key)
}

impl NodeApi for FakeNode {
    fn status(&self) -> StatusInfo {
        StatusInfo {
            chain_id: "fake".into(),
            moniker: "node0".into(),
            height: self.head(),
            latest_block_hash: Some(to_hex(header(2).hash())),
            state_root: to_hex([3; 32]),
            latest_block_time_ms: Some(2000),
            peers: PeersInfo {
                count: 1,
                ids: vec!["peer1".into()],
            },
            syncing: false,
            validator: None,
            round: 0,
        }
    }
    fn block(&self, height: u64) -> Result<Option<Block>, ApiError> {
        // Block 2 ingests a source block and commits a piece of evidence.
        let source_blocks = (height == 2)
            .then(|| SourceCommitment {
                source: "eth".into(),
                number: 7,
                hash: [7; 32],
                receipts_root: [8; 32],
            })
            .into_iter()
            .collect();
        Ok((height <= 2).then(|| Block {
            header: header(height),
            body: BlockBody {
                source_blocks,
                evidence: (height == 2)
                    .then(|| DuplicateVoteEvidence::new(vote(1), vote(2)))
                    .into_iter()
                    .collect(),
                ..BlockBody::default()
            },
        }))
    }
    fn commit(&self, height: u64) -> Result<Option<CommitCertificate>, ApiError> {
        Ok((height <= 2).then(|| CommitCertificate {
            height: Height(height),
            round: Round(0),
            value_id: ValueId(header(height).hash()),
            signatures: vec![],
        }))
    }
    fn submit_tx(&self, tx: Vec<u8>) -> Result<[u8; 32], SubmitError> {
        let tx = SignedTransaction::decode_bytes(&tx)
            .map_err(|e| SubmitError::new(RejectClass::Decode, e.to_string()))?;
        tx.verify_signature()
            .map_err(|e| SubmitError::new(RejectClass::Signature, e.to_string()))?;
        let hash = tx.hash();
        self.submitted.lock().unwrap().push(tx);
        Ok(hash)
    }
    fn tx(&self, hash: [u8; 32]) -> Result<TxLookup, ApiError> {
        if hash == self.committed {
            return Ok(TxLookup::Committed {
                height: 2,
                index: 0,
                receipt: TxReceipt {
                    tx_hash: hash,
                    status: TxStatus::Ingested {
                        subscribers: 0,
                        invocations: vec![],
                    },
                    fuel_used: 0,
                },
            });
        }
        if self
            .submitted
            .lock()
            .unwrap()
            .iter()
            .any(|t| t.hash() == hash)
        {
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
        if height.is_some_and(|h| h > 2) {
            return Err(ApiError::NotFound(format!(
                "height {} is not committed",
                height.unwrap()
            )));
        }
        match &self.bundle {
            Some(b) if b.manuscript == manuscript && b.dataset == dataset => Ok(RecordBundle {
                key: key.to_vec(),
                ..b.clone()
            }),
            _ => Err(ApiError::NotFound(format!(
                "no manuscript {manuscript:?} with dataset {dataset:?}"
            ))),
        }
    }
    fn records_page(
        &self,
        query: &cvm_runtime::state::PageQuery,
        height: Option<u64>,
    ) -> Result<crate::record_page::RecordPage, ApiError> {
        if let Some(h) = height.filter(|h| *h != crate::verify::fixture::HEIGHT) {
            return Err(ApiError::NotFound(format!("height {h} is not final yet")));
        }
        if query.manuscript != "wat-counter" {
            return Err(ApiError::NotFound(format!(
                "no manuscript named {:?}",
                query.manuscript
            )));
        }
        if query.dataset != "counts" {
            return Err(ApiError::NotFound(format!(
                "manuscript \"wat-counter\" has no dataset {:?}",
                query.dataset
            )));
        }
        Ok(crate::verify::fixture::page(
            &query.prefix,
            &query.start,
            query.limit,
        ))
    }
    fn account_nonce(&self, public_key: [u8; 32]) -> Result<u64, ApiError> {
        Ok(self
            .submitted
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.tx.signer == public_key)
            .count() as u64)
    }
    fn validators(&self, height: Option<u64>) -> Result<ValidatorSetInfo, ApiError> {
        let height = height.unwrap_or(3);
        if height > 4 {
            return Err(ApiError::NotFound(format!(
                "the validator set of height {height} is not decided yet"
            )));
        }
        Ok(ValidatorSetInfo {
            height,
            validators_hash: "00".repeat(32),
            total_power: 1,
            validators: vec![ValidatorInfo {
                name: "v0".into(),
                public_key: "00".repeat(32),
                power: 1,
            }],
            update_seq: 0,
        })
    }
    fn manuscripts(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ManuscriptInfo>, ApiError> {
        Ok(self
            .manuscripts
            .iter()
            .filter(|name| after.is_none_or(|a| name.as_str() > a))
            .take(limit)
            .map(|name| ManuscriptInfo {
                name: name.clone(),
                code_hash: to_hex([0; 32]),
                sources: vec![],
                slots: vec![],
                datasets: vec![],
                fuel_limit_per_record: 1,
                deployed_at: 1,
            })
            .collect())
    }
    fn evidence(&self, before: Option<u64>, limit: usize) -> Result<EvidenceList, ApiError> {
        if let Some(gate) = &self.gate {
            gate.pass();
        }
        // Committed evidence at block 1 only, which a page below 1 does not hold.
        let one = DuplicateVoteEvidence::new(vote(1), vote(2));
        let committed = if before.is_none_or(|b| b > 1) && limit > 0 {
            vec![EvidenceInfo::new(&one, Some((1, true)))]
        } else {
            vec![]
        };
        Ok(EvidenceList {
            committed,
            pending: vec![],
            next_before: None,
        })
    }
    fn check_changes_filter(&self, filter: &ChangesFilter, height: u64) -> Result<(), ApiError> {
        if filter.manuscript.as_deref().is_some_and(|m| m != "m") {
            return Err(ApiError::NotFound(format!(
                "no manuscript named {:?} at height {height}",
                filter.manuscript
            )));
        }
        if filter.dataset.as_deref().is_some_and(|d| d != "d") {
            return Err(ApiError::NotFound(format!(
                "manuscript \"m\" has no dataset {:?}",
                filter.dataset
            )));
        }
        Ok(())
    }
    /// Block `h` writes key `h` (8 bytes big-endian) of `m/d` with value `[h]`; the proofs are empty.
    fn changes(
        &self,
        height: u64,
        filter: &ChangesFilter,
    ) -> Result<crate::block_changes::BlockChanges, ApiError> {
        if height == 0 || height > self.head() {
            return Err(ApiError::NotFound(format!(
                "height {height} is not final yet"
            )));
        }
        let set = cvm_runtime::state::RecordSetProof {
            manuscript: "m".into(),
            dataset: "d".into(),
            entries: vec![(height.to_be_bytes().to_vec(), Some(vec![height as u8]))],
            manuscript_meta: None,
            main_proof: vec![],
            child_proof: vec![],
            appended: None,
        };
        Ok(crate::block_changes::BlockChanges::new(
            "fake".into(),
            height,
            filter
                .selects("m", "d")
                .then_some(set)
                .into_iter()
                .collect(),
            header(height),
            CommitCertificate {
                height: Height(height),
                round: Round(0),
                value_id: ValueId(header(height).hash()),
                signatures: vec![],
            },
            |_| None,
        ))
    }
    fn commit_signal(&self) -> tokio::sync::broadcast::Receiver<Arc<Block>> {
        self.commits.subscribe()
    }
    fn code(&self, code_hash: [u8; 32]) -> Result<Option<Vec<u8>>, ApiError> {
        Ok((code_hash == cvm_runtime::state::blake2_256(FAKE_CODE)).then(|| FAKE_CODE.to_vec()))
    }
    fn sources(&self) -> Result<Vec<SourceInfo>, ApiError> {
        Ok(vec![SourceInfo {
            definition: SourceJson::Signed {
                name: "kv".into(),
                publishers: vec![to_hex([9; 32])],
            },
            head: Some(HeadJson {
                number: 3,
                hash: to_hex([8; 32]),
            }),
            endpoint: None,
        }])
    }
}

/// A real server on a loopback port, on its own runtime thread; dropped with the returned sender.
pub(crate) fn server(node: Arc<FakeNode>) -> (String, tokio::sync::oneshot::Sender<()>) {
    server_within(node, HttpLimits::default())
}

/// [`server`] within `limits`.
pub(crate) fn server_within(
    node: Arc<FakeNode>,
    limits: HttpLimits,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let shutdown = async move {
                let _ = stopped.await;
            };
            crate::rpc::serve(listener, node, Arc::new(Metrics::new()), limits, shutdown)
                .await
                .unwrap();
        });
    });
    (format!("http://{}", addr_rx.recv().unwrap()), stop)
}

fn app(node: FakeNode) -> (axum::Router, Arc<Metrics>) {
    app_within(node, test_limits())
}

/// The default limits with a body limit of [`LIMIT`].
fn test_limits() -> HttpLimits {
    HttpLimits {
        max_body_bytes: LIMIT,
        ..HttpLimits::default()
    }
}

fn app_within(node: FakeNode, limits: HttpLimits) -> (axum::Router, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    (router(Arc::new(node), metrics.clone(), &limits), metrics)
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: impl Into<Body>,
) -> (StatusCode, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(body.into())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

async fn get_json(app: &axum::Router, uri: &str) -> (StatusCode, serde_json::Value) {
    let (status, body) = call(app, "GET", uri, Body::empty()).await;
    (
        status,
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {body:?}")),
    )
}

/// Asserts each query of `path` is a 400 with an error message, and the first one's says `needle`.
async fn assert_bad_queries(app: &axum::Router, path: &str, queries: &[&str], needle: &str) {
    for (i, query) in queries.iter().enumerate() {
        let (s, v) = get_json(app, &format!("{path}?{query}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {v}");
        let error = v["error"].as_str().unwrap_or_default();
        assert!(!error.is_empty(), "{query}: {v}");
        assert!(i > 0 || error.contains(needle), "{query}: {v}");
    }
}

async fn post_json(
    app: &axum::Router,
    uri: &str,
    body: impl Into<Body>,
) -> (StatusCode, serde_json::Value) {
    let (status, body) = call(app, "POST", uri, body).await;
    (
        status,
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {body:?}")),
    )
}

fn error_of(v: &serde_json::Value) -> &str {
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field in {v}"))
}

/// A prevote of validator 7 at height 1 for value `value` (unsigned: the fake node checks nothing).
fn vote(value: u8) -> SignedVote {
    SignedVote {
        vote: Vote {
            kind: VoteKind::Prevote,
            height: Height(1),
            round: Round(0),
            value: Some(ValueId([value; 32])),
            validator: ValidatorId([7; 32]),
        },
        signature: SignatureBytes([0; 64]),
    }
}
