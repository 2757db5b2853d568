//! A node API proxy for the sink tests whose change feed serves one tampered block: `GET /feed?from=H` answers the
//! real node's `GET /blocks/{h}/changes` for `h` from `H` up to the tampered height (then the stream ends), with
//! that block changed (or left out) as [`Tamper`] says; every other `GET` is forwarded unchanged.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cvm_host::block_changes::BlockChanges;

/// What the tampered block gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tamper {
    /// One changed record's value has its last byte flipped (its proof no longer proves it).
    Value,
    /// The certificate keeps a single signature (no quorum).
    Certificate,
    /// The block is left out of the stream (the next one comes in its place).
    Skip,
}

struct Shared {
    upstream: String,
    height: u64,
    tamper: Tamper,
}

/// A running proxy; stops when dropped.
pub struct FeedProxy {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl FeedProxy {
    /// Starts a proxy of the node API at `upstream` that tampers with block `height` as `tamper` says.
    pub fn start(upstream: &str, height: u64, tamper: Tamper) -> FeedProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            height,
            tamper,
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let app = Router::new().fallback(answer).with_state(shared);
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FeedProxy {
            addr,
            _runtime: runtime,
        }
    }

    /// Its base URL, for the sink's `--node`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn get(url: &str) -> Result<(u16, String), String> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, text))
}

/// The query string's value of `name`.
fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn tampered(json: &str, tamper: Tamper) -> Result<String, String> {
    let mut block: BlockChanges = serde_json::from_str(json).map_err(|e| e.to_string())?;
    match tamper {
        Tamper::Value => {
            let value = block
                .datasets
                .iter_mut()
                .flat_map(|set| set.entries.iter_mut())
                .find_map(|(_, value)| value.as_mut())
                .ok_or("the block changes no record: tamper with a block that does")?;
            if let Some(last) = value.last_mut() {
                *last ^= 0xff;
            }
        }
        Tamper::Certificate => block.certificate.signatures.truncate(1),
        Tamper::Skip => return Ok(String::new()),
    }
    serde_json::to_string(&block).map_err(|e| e.to_string())
}

/// The feed's event stream from `from` up to the tampered height, or the upstream's answer.
fn serve(shared: &Shared, path: &str, query: &str) -> Result<(u16, &'static str, String), String> {
    if path != "/feed" {
        let url = if query.is_empty() {
            format!("{}{path}", shared.upstream)
        } else {
            format!("{}{path}?{query}", shared.upstream)
        };
        let (status, text) = get(&url)?;
        return Ok((status, "application/json", text));
    }
    let from: u64 = param(query, "from")
        .and_then(|f| f.parse().ok())
        .ok_or("the proxy's feed needs ?from=")?;
    let filter: Vec<String> = ["manuscript", "dataset"]
        .into_iter()
        .filter_map(|k| param(query, k).map(|v| format!("{k}={v}")))
        .collect();
    let mut events = String::new();
    let last = match shared.tamper {
        Tamper::Skip => shared.height + 1,
        _ => shared.height,
    };
    for height in from..=last {
        let (status, mut json) = get(&format!(
            "{}/blocks/{height}/changes?{}",
            shared.upstream,
            filter.join("&")
        ))?;
        if status != 200 {
            return Err(format!("block {height}: {status} {json}"));
        }
        if height == shared.height {
            json = tampered(&json, shared.tamper)?;
        }
        if !json.is_empty() {
            events.push_str(&format!("id: {height}\ndata: {json}\n\n"));
        }
    }
    Ok((200, "text/event-stream", events))
}

async fn answer(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let result = tokio::task::spawn_blocking(move || serve(&shared, &path, &query)).await;
    match result {
        Ok(Ok((status, kind, body))) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            [(axum::http::header::CONTENT_TYPE, kind)],
            body,
        )
            .into_response(),
        Ok(Err(e)) => (StatusCode::BAD_GATEWAY, e).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
