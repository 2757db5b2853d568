//! A JSON-RPC proxy in front of a real Ethereum node that can misbehave on command: serve altered logs, serve a
//! forged chain that verifies ([`forge`]), or be down. It stands in for one validator's endpoint in the source
//! tests, so that validator sees a different chain (or none) while the others read the real node.

pub mod alter;
pub mod forge;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

use self::alter::alter_logs;
use self::forge::{ForgedBlock, Forger};

/// How the proxy answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyMode {
    /// Forwards every request unchanged.
    Honest,
    /// Changes one byte of the data of every log in every receipt it forwards (the header still names the
    /// real receipts root, so the receipts no longer match it).
    AlterLogs,
    /// Serves a forged chain from block `from` on: each block with logs has one log's data changed, its
    /// receipts root and hash recomputed, and every later block names the forged parent ([`forge`]), so every
    /// block verifies and links; only the hashes differ from the real chain's. Blocks and receipts are forged;
    /// other answers are forwarded unchanged.
    Forge {
        /// The first block that may differ.
        from: u64,
    },
    /// Refuses every request with 503, as an endpoint that is down.
    Down,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    mode: Arc<Mutex<ProxyMode>>,
    forger: Arc<Forger>,
}

impl Shared {
    fn mode(&self) -> ProxyMode {
        *self.mode.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running proxy; stops when dropped.
pub struct RpcProxy {
    addr: SocketAddr,
    shared: Shared,
    _runtime: tokio::runtime::Runtime,
}

impl RpcProxy {
    /// Starts a proxy on a free loopback port forwarding to `upstream` (a JSON-RPC URL).
    pub fn start(upstream: &str, mode: ProxyMode) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let shared = Shared {
            upstream: upstream.to_string(),
            mode: Arc::new(Mutex::new(ProxyMode::Honest)),
            forger: Arc::new(Forger::new(upstream, u64::MAX)),
        };
        let listener = runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/", post(forward))
            .with_state(shared.clone());
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let proxy = Self {
            addr,
            shared,
            _runtime: runtime,
        };
        proxy.set_mode(mode);
        Ok(proxy)
    }

    /// Its URL, for a node's `[sources.<name>] rpc`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switches how it answers from the next request on.
    pub fn set_mode(&self, mode: ProxyMode) {
        let mut current = self.shared.mode.lock().unwrap_or_else(|p| p.into_inner());
        if let ProxyMode::Forge { from } = mode {
            self.shared.forger.start_at(from);
        }
        *current = mode;
    }

    /// Block `number` as [`ProxyMode::Forge`] serves it now (forged if need be; an error below its `from`).
    pub fn forged_block(&self, number: u64) -> anyhow::Result<ForgedBlock> {
        self.shared.forger.block(number)
    }
}

async fn forward(State(shared): State<Shared>, body: Bytes) -> Response {
    let mode = shared.mode();
    if mode == ProxyMode::Down {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    let upstream = shared.upstream.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        agent
            .post(&upstream)
            .header("content-type", "application/json")
            .send(&body[..])
            .and_then(|mut r| r.body_mut().read_to_vec())
    })
    .await;
    let bytes = match answer {
        Ok(Ok(bytes)) => bytes,
        _ => return (StatusCode::BAD_GATEWAY, "upstream failed").into_response(),
    };
    let bytes = match mode {
        ProxyMode::AlterLogs => alter_logs(&bytes).unwrap_or(bytes),
        ProxyMode::Forge { .. } => {
            let forger = shared.forger.clone();
            match tokio::task::spawn_blocking(move || forged_answer(&forger, &bytes)).await {
                Ok(Ok(bytes)) => bytes,
                Ok(Err(e)) => {
                    return (StatusCode::BAD_GATEWAY, format!("forging failed: {e:#}"))
                        .into_response();
                }
                Err(_) => return (StatusCode::BAD_GATEWAY, "forging failed").into_response(),
            }
        }
        ProxyMode::Honest | ProxyMode::Down => bytes,
    };
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        bytes,
    )
        .into_response()
}

/// The upstream's answer with its blocks and receipts made the forged chain's (a non-JSON answer as it is).
fn forged_answer(forger: &Forger, bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let Ok(mut value) = serde_json::from_slice::<Value>(bytes) else {
        return Ok(bytes.to_vec());
    };
    forger.rewrite(&mut value)?;
    Ok(serde_json::to_vec(&value)?)
}
