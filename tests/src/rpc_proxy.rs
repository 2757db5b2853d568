//! A JSON-RPC proxy in front of a real Ethereum node that can misbehave on command: serve altered logs, or be
//! down. It stands in for one validator's endpoint in the source tests, so that validator sees a different
//! chain (or none) while the others read the real node.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

/// How the proxy answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ProxyMode {
    /// Forwards every request unchanged.
    Honest = 0,
    /// Changes one byte of the data of every log in every receipt it forwards (the header still names the
    /// real receipts root, so the receipts no longer match it).
    AlterLogs = 1,
    /// Refuses every request with 503, as an endpoint that is down.
    Down = 2,
}

impl ProxyMode {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::AlterLogs,
            2 => Self::Down,
            _ => Self::Honest,
        }
    }
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    mode: Arc<AtomicU8>,
}

/// A running proxy; stops when dropped.
pub struct RpcProxy {
    addr: SocketAddr,
    mode: Arc<AtomicU8>,
    _runtime: tokio::runtime::Runtime,
}

impl RpcProxy {
    /// Starts a proxy on a free loopback port forwarding to `upstream` (a JSON-RPC URL).
    pub fn start(upstream: &str, mode: ProxyMode) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let mode = Arc::new(AtomicU8::new(mode as u8));
        let shared = Shared {
            upstream: upstream.to_string(),
            mode: mode.clone(),
        };
        let listener = runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))?;
        let addr = listener.local_addr()?;
        let app = Router::new().route("/", post(forward)).with_state(shared);
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            mode,
            _runtime: runtime,
        })
    }

    /// Its URL, for a node's `[sources.<name>] rpc`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switches how it answers from the next request on.
    pub fn set_mode(&self, mode: ProxyMode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }
}

async fn forward(State(shared): State<Shared>, body: Bytes) -> Response {
    let mode = ProxyMode::from_u8(shared.mode.load(Ordering::SeqCst));
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
        _ => bytes,
    };
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        bytes,
    )
        .into_response()
}

/// The answer with one byte of every log's data changed (a batch or a single answer).
fn alter_logs(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(bytes).ok()?;
    match &mut value {
        Value::Array(answers) => answers.iter_mut().for_each(alter_answer),
        answer => alter_answer(answer),
    }
    serde_json::to_vec(&value).ok()
}

fn alter_answer(answer: &mut Value) {
    let Some(logs) = answer
        .get_mut("result")
        .and_then(|r| r.get_mut("logs"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for log in logs {
        if let Some(Value::String(data)) = log.get_mut("data") {
            *data = flip_last_hex_digit(data);
        }
    }
}

/// `0x…` with its last hex digit changed (`0x` alone becomes `0x01`).
fn flip_last_hex_digit(hex: &str) -> String {
    let digits = hex.trim_start_matches("0x");
    if digits.is_empty() {
        return "0x01".into();
    }
    let (head, last) = digits.split_at(digits.len() - 1);
    let flipped = if last == "0" { "1" } else { "0" };
    format!("0x{head}{flipped}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn altering_changes_every_logs_data_in_batches_and_single_answers() {
        let single =
            br#"{"jsonrpc":"2.0","id":1,"result":{"logs":[{"data":"0x00ff"},{"data":"0x"}]}}"#;
        let altered: Value = serde_json::from_slice(&alter_logs(single).unwrap()).unwrap();
        assert_eq!(altered["result"]["logs"][0]["data"], "0x00f0");
        assert_eq!(altered["result"]["logs"][1]["data"], "0x01");
        let batch = br#"[{"id":1,"result":{"logs":[{"data":"0x10"}]}},{"id":2,"result":null}]"#;
        let altered: Value = serde_json::from_slice(&alter_logs(batch).unwrap()).unwrap();
        assert_eq!(altered[0]["result"]["logs"][0]["data"], "0x11");
        assert_eq!(altered[1]["result"], Value::Null);
    }
}
