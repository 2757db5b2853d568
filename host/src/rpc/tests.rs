//! Route tests against a fake node: the happy paths and every bad-input case give the right status and a JSON
//! error.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cvm_consensus::{CommitCertificate, Height, Round, ValueId};
use cvm_runtime::{SignedTransaction, Transaction, TxPayload, TxReceipt, TxStatus};
use ed25519_dalek::SigningKey;
use http_body_util::BodyExt;
use parity_scale_codec::Encode;
use tower::ServiceExt;

use super::*;
use crate::chain::{Block, BlockBody, BlockHeader, PartSetHeader};
use crate::metrics::RejectClass;
use crate::verify::RecordBundle;

pub(crate) const LIMIT: usize = 4096;

/// A node with two blocks, one committed transaction and (optionally) one provable record.
pub(crate) struct FakeNode {
    pub bundle: Option<RecordBundle>,
    pub committed: [u8; 32],
    pub submitted: Mutex<Vec<SignedTransaction>>,
}

impl FakeNode {
    pub fn new(bundle: Option<RecordBundle>) -> Self {
        Self {
            bundle,
            committed: [7; 32],
            submitted: Mutex::new(Vec::new()),
        }
    }
}

pub(crate) fn header(height: u64) -> BlockHeader {
    BlockHeader {
        chain_id: "fake".into(),
        height,
        time_ms: 1000 * height,
        parent_hash: [0; 32],
        proposer: [1; 32],
        txs_root: [2; 32],
        tx_count: 0,
        state_root: [3; 32],
        receipts_root: [4; 32],
        fuel_used: 0,
        last_commit_hash: [5; 32],
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
            height: 2,
            latest_block_hash: Some(json::to_hex(header(2).hash())),
            state_root: json::to_hex([3; 32]),
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
        Ok((height <= 2).then(|| Block {
            header: header(height),
            body: BlockBody::default(),
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
    fn account_nonce(&self, public_key: [u8; 32]) -> Result<u64, ApiError> {
        Ok(self
            .submitted
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.tx.signer == public_key)
            .count() as u64)
    }
    fn validators(&self) -> Vec<ValidatorInfo> {
        vec![ValidatorInfo {
            name: "v0".into(),
            public_key: "00".repeat(32),
            power: 1,
        }]
    }
    fn manuscripts(&self) -> Result<Vec<ManuscriptInfo>, ApiError> {
        Ok(vec![])
    }
    fn evidence(&self) -> Vec<serde_json::Value> {
        vec![]
    }
}

/// A real server on a loopback port, on its own runtime thread; dropped with the returned sender.
pub(crate) fn server(node: Arc<FakeNode>) -> (String, tokio::sync::oneshot::Sender<()>) {
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
            crate::rpc::serve(listener, node, Arc::new(Metrics::new()), 1 << 20, shutdown)
                .await
                .unwrap();
        });
    });
    (format!("http://{}", addr_rx.recv().unwrap()), stop)
}

fn app(node: FakeNode) -> (axum::Router, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    (router(Arc::new(node), metrics.clone(), LIMIT), metrics)
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

#[tokio::test]
async fn status_validators_manuscripts_evidence() {
    let (app, _) = app(FakeNode::new(None));
    let (s, v) = get_json(&app, "/status").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["height"], 2);
    assert_eq!(v["peers"]["count"], 1);
    let (s, v) = get_json(&app, "/validators").await;
    assert_eq!((s, v[0]["name"].as_str()), (StatusCode::OK, Some("v0")));
    assert_eq!(
        get_json(&app, "/manuscripts").await,
        (StatusCode::OK, serde_json::json!([]))
    );
    assert_eq!(
        get_json(&app, "/evidence").await,
        (StatusCode::OK, serde_json::json!([]))
    );
}

#[tokio::test]
async fn blocks_and_commits_by_height() {
    let (app, _) = app(FakeNode::new(None));
    let (s, v) = get_json(&app, "/blocks/latest").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["header"]["height"], 2);
    assert_eq!(v["hash"], json::to_hex(header(2).hash()));
    let (s, v) = get_json(&app, "/blocks/1").await;
    assert_eq!(
        (s, &v["header"]["height"]),
        (StatusCode::OK, &serde_json::json!(1))
    );
    let (s, v) = get_json(&app, "/commits/2").await;
    assert_eq!(
        (s, &v["value_id"]),
        (
            StatusCode::OK,
            &serde_json::json!(json::to_hex(header(2).hash()))
        )
    );

    let (s, v) = get_json(&app, "/blocks/abc").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(error_of(&v).contains("not a number"), "{v}");
    let (s, v) = get_json(&app, "/blocks/-1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = get_json(&app, "/blocks/0").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = get_json(&app, "/blocks/99999999999999999999999").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = get_json(&app, "/blocks/99").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(error_of(&v).contains("no block at height 99"));
    let (s, _) = get_json(&app, "/commits/99").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn submit_tx_accepts_a_valid_transaction() {
    let (app, _) = app(FakeNode::new(None));
    let tx = user_tx(0);
    let body = serde_json::json!({ "tx": json::to_hex(tx.encode()) }).to_string();
    let (s, v) = post_json(&app, "/txs", body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["hash"], json::to_hex(tx.hash()));
    let (s, v) = get_json(&app, &format!("/txs/{}", json::to_hex(tx.hash()))).await;
    assert_eq!(
        (s, &v["status"]),
        (StatusCode::OK, &serde_json::json!("pending"))
    );
    let (s, v) = get_json(&app, &format!("/txs/{}", hex::encode([7u8; 32]))).await;
    assert_eq!(
        (s, &v["status"]),
        (StatusCode::OK, &serde_json::json!("committed"))
    );
    assert_eq!(v["receipt"]["result"], "ingested");
    let (s, v) = get_json(&app, &format!("/txs/{}", hex::encode([8u8; 32]))).await;
    assert_eq!(
        (s, &v["status"]),
        (StatusCode::OK, &serde_json::json!("unknown"))
    );
    let signer = hex::encode(tx.tx.signer);
    let (s, v) = get_json(&app, &format!("/accounts/{signer}")).await;
    assert_eq!((s, &v["nonce"]), (StatusCode::OK, &serde_json::json!(1)));
}

#[tokio::test]
async fn submit_tx_bad_inputs_are_4xx_json() {
    let (app, metrics) = app(FakeNode::new(None));
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            "{not json".into(),
            StatusCode::BAD_REQUEST,
            "body must be JSON",
        ),
        ("".into(), StatusCode::BAD_REQUEST, "body must be JSON"),
        (
            r#"{"tx": 5}"#.into(),
            StatusCode::BAD_REQUEST,
            "invalid type",
        ),
        (
            r#"{"tx": "00", "extra": 1}"#.into(),
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (r#"{}"#.into(), StatusCode::BAD_REQUEST, "missing field"),
        (
            r#"{"tx": "0xzz"}"#.into(),
            StatusCode::BAD_REQUEST,
            "not valid hex",
        ),
        (
            r#"{"tx": "0x0102"}"#.into(),
            StatusCode::BAD_REQUEST,
            "transaction rejected",
        ),
        (
            serde_json::json!({ "tx": "00".repeat(LIMIT) }).to_string(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too large",
        ),
    ];
    for (body, status, needle) in cases {
        let (s, v) = post_json(&app, "/txs", body.clone()).await;
        assert_eq!(s, status, "{body:.80}: {v}");
        assert!(error_of(&v).contains(needle), "{body:.80}: {v}");
    }
    // A bad signature is the node's rejection, passed through.
    let mut tx = user_tx(0);
    tx.signature[0] ^= 1;
    let (s, v) = post_json(
        &app,
        "/txs",
        serde_json::json!({ "tx": json::to_hex(tx.encode()) }).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(error_of(&v).contains("invalid signature"), "{v}");
    let text = metrics.encode();
    for line in [
        "cvm_txs_rejected_total{reason=\"decode\"} 2",
        "cvm_txs_rejected_total{reason=\"signature\"} 1",
        "cvm_txs_rejected_total{reason=\"too_large\"} 1",
    ] {
        assert!(text.contains(line), "missing {line} in {text}");
    }
}

#[tokio::test]
async fn bad_hashes_keys_and_routes_are_4xx_json() {
    let (app, _) = app(FakeNode::new(None));
    for (uri, status) in [
        ("/txs/xyz", StatusCode::BAD_REQUEST),
        ("/txs/0x0102", StatusCode::BAD_REQUEST),
        ("/accounts/1234", StatusCode::BAD_REQUEST),
        ("/accounts/notHex", StatusCode::BAD_REQUEST),
        ("/nope", StatusCode::NOT_FOUND),
        ("/blocks", StatusCode::NOT_FOUND),
        ("/records/m/d/zz", StatusCode::BAD_REQUEST),
        ("/records/m/d/00?height=abc", StatusCode::BAD_REQUEST),
        ("/records/m/d/00?height=-3", StatusCode::BAD_REQUEST),
        ("/records/m/d/00?height=0", StatusCode::BAD_REQUEST),
        ("/records/m/d/00?hieght=1", StatusCode::BAD_REQUEST),
        ("/records/m/d/00", StatusCode::NOT_FOUND),
        ("/records/%FF/d/00", StatusCode::BAD_REQUEST),
    ] {
        let (s, v) = get_json(&app, uri).await;
        assert_eq!(s, status, "{uri}: {v}");
        assert!(!error_of(&v).is_empty());
    }
    let (s, v) = get_json(&app, "/records/m/d/00?height=abc").await;
    assert!(error_of(&v).contains("bad query string"), "{s} {v}");
    let (s, v) = post_json(&app, "/status", "").await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert!(error_of(&v).contains("method not allowed"));
    let (s, _) = call(&app, "DELETE", "/txs", Body::empty()).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn records_serve_a_verifiable_bundle() {
    let bundle = crate::verify::fixture::bundle();
    let key_hex = hex::encode(&bundle.key);
    let (app, _) = app(FakeNode::new(Some(bundle.clone())));
    let (s, v) = get_json(
        &app,
        &format!("/records/wat-counter/counts/{key_hex}?height=2"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let back: RecordBundle = serde_json::from_value(v).unwrap();
    assert_eq!(back, bundle);
    crate::verify::verify_bundle(&back, &crate::verify::fixture::genesis()).unwrap();
    let (s, v) = get_json(&app, &format!("/records/wat-counter/nope/{key_hex}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(error_of(&v).contains("no manuscript"));
    let (s, v) = get_json(
        &app,
        &format!("/records/wat-counter/counts/{key_hex}?height=9"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(error_of(&v).contains("height 9"));
}

#[tokio::test]
async fn metrics_are_served_as_text() {
    let (app, metrics) = app(FakeNode::new(None));
    metrics.set_peers(4);
    let (s, body) = call(&app, "GET", "/metrics", Body::empty()).await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("cvm_peers 4"), "{text}");
    assert!(text.contains("# TYPE cvm_height gauge"), "{text}");
}

#[tokio::test]
async fn more_malformed_submit_bodies_are_4xx_json_naming_the_cause() {
    let (app, _) = app(FakeNode::new(None));
    let deep = "[".repeat(LIMIT / 2);
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (b"[1, 2]".to_vec(), StatusCode::BAD_REQUEST, "invalid type"),
        (b"null".to_vec(), StatusCode::BAD_REQUEST, "invalid type"),
        (
            br#"{"tx": null}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid type",
        ),
        (
            br#"{"tx": ["00"]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid type",
        ),
        (
            br#"{"tx": "00", "tx": "00"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "duplicate field",
        ),
        (
            br#"{"tx": "00"} trailing"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "trailing characters",
        ),
        (
            vec![0xff, 0xfe, 0x00, 0x7b],
            StatusCode::BAD_REQUEST,
            "body must be JSON",
        ),
        (
            deep.into_bytes(),
            StatusCode::BAD_REQUEST,
            "body must be JSON",
        ),
        (
            br#"{"tx": "0x123"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "not valid hex",
        ),
        (
            br#"{"tx": "0x"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "transaction rejected",
        ),
    ];
    for (body, status, needle) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
        let (s, v) = post_json(&app, "/txs", body).await;
        assert_eq!(s, status, "{shown}: {v}");
        assert!(error_of(&v).contains(needle), "{shown}: {v}");
    }
}

/// A body streamed without a length is cut off at the limit just like one that announces its size.
#[tokio::test]
async fn an_unannounced_oversized_body_is_413() {
    let (app, metrics) = app(FakeNode::new(None));
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..LIMIT / 64 + 2).map(|_| Ok(vec![b' '; 128])).collect();
    let body = Body::from_stream(futures::stream::iter(chunks));
    let (s, v) = post_json(&app, "/txs", body).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(
        error_of(&v).contains(&format!("limit is {LIMIT} bytes")),
        "{v}"
    );
    assert!(
        metrics
            .encode()
            .contains("cvm_txs_rejected_total{reason=\"too_large\"} 1")
    );
}

#[tokio::test]
async fn oversized_names_keys_bad_paths_and_other_methods_are_4xx_json() {
    let (app, _) = app(FakeNode::new(None));
    let long_name = "m".repeat(257);
    let long_key = "ab".repeat(4097);
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "GET",
            format!("/records/{long_name}/d/00"),
            StatusCode::BAD_REQUEST,
            "manuscript name must be 1 to 256 bytes",
        ),
        (
            "GET",
            format!("/records/m/{long_name}/00"),
            StatusCode::BAD_REQUEST,
            "dataset name must be 1 to 256 bytes",
        ),
        (
            "GET",
            format!("/records/m/d/{long_key}"),
            StatusCode::BAD_REQUEST,
            "longer than 4096 bytes",
        ),
        (
            "GET",
            "/records/m/d/0x123".into(),
            StatusCode::BAD_REQUEST,
            "record key: not valid hex",
        ),
        (
            "GET",
            format!("/txs/{}", "ab".repeat(33)),
            StatusCode::BAD_REQUEST,
            "33 bytes, expected 32",
        ),
        (
            "GET",
            format!("/accounts/{}", "ab".repeat(31)),
            StatusCode::BAD_REQUEST,
            "31 bytes, expected 32",
        ),
        (
            "GET",
            "/blocks/%FF".into(),
            StatusCode::BAD_REQUEST,
            "bad path",
        ),
        (
            "GET",
            "/blocks/1.5".into(),
            StatusCode::BAD_REQUEST,
            "not a number",
        ),
        (
            "GET",
            "/commits/latest/extra".into(),
            StatusCode::NOT_FOUND,
            "no such route",
        ),
        (
            "PUT",
            "/txs".into(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
        ),
        (
            "PATCH",
            "/blocks/1".into(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
        ),
        (
            "DELETE",
            "/status".into(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
        ),
        (
            "POST",
            "/nope".into(),
            StatusCode::NOT_FOUND,
            "no such route",
        ),
    ];
    for (method, uri, status, needle) in cases {
        let request = Request::builder()
            .method(method)
            .uri(&uri)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let shown = &uri[..uri.len().min(60)];
        assert_eq!(response.status(), status, "{method} {shown}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{method} {shown}"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(error_of(&v).contains(needle), "{method} {shown}: {v}");
    }
}
