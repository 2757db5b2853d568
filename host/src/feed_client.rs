//! A blocking client of a node's change feed (`GET /feed`): reads its Server-Sent Events into [`BlockChanges`],
//! gives up on a connection silent for longer than a few heartbeats, and resumes after the last height seen.

use std::io::BufRead;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use crate::api_client::ClientError;
use crate::block_changes::BlockChanges;
use crate::rpc::json::ErrorJson;

/// Longest line read from the stream (one block's changes with proofs).
const MAX_LINE_BYTES: usize = 256 * 1024 * 1024;

/// Why a feed connection ended.
#[derive(Debug, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum FeedError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(
        "the feed was silent for {0:?}, longer than its heartbeats allow: the connection is dead"
    )]
    Silent(Duration),
    #[error("the feed connection broke: {0}")]
    Broken(String),
    #[error("the node ended the feed: {0}")]
    Ended(String),
    #[error("the feed sent an event that is not a block's changes: {0}")]
    BadEvent(String),
}

/// One open feed connection.
pub struct Feed {
    events: Receiver<Result<(String, String), String>>,
    idle: Duration,
}

/// What selects a feed's changes, and where it starts.
#[derive(Clone, Debug, Default)]
pub struct FeedQuery {
    /// Only this manuscript's datasets.
    pub manuscript: Option<String>,
    /// Only this dataset of `manuscript`.
    pub dataset: Option<String>,
    /// The first height wanted (`None`: the next block to commit).
    pub from: Option<u64>,
}

impl Feed {
    /// Opens `GET {base}/feed`; a connection that is silent for `idle` (a few heartbeats) is given up.
    pub fn open(base: &str, query: &FeedQuery, idle: Duration) -> Result<Feed, FeedError> {
        let mut url = format!("{}/feed?", base.trim_end_matches('/'));
        let mut params = Vec::new();
        if let Some(m) = &query.manuscript {
            params.push(format!("manuscript={m}"));
        }
        if let Some(d) = &query.dataset {
            params.push(format!("dataset={d}"));
        }
        if let Some(h) = query.from {
            params.push(format!("from={h}"));
        }
        url.push_str(&params.join("&"));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent
            .get(&url)
            .header("accept", "text/event-stream")
            .call()
            .map_err(|e| ClientError::Unreachable {
                url: base.to_string(),
                reason: e.to_string(),
            })?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            let message = serde_json::from_str::<ErrorJson>(&text)
                .map(|e| e.error)
                .unwrap_or(text);
            return Err(ClientError::Api { status, message }.into());
        }
        let reader = std::io::BufReader::new(response.into_body().into_reader());
        let (tx, events) = sync_channel(4);
        std::thread::Builder::new()
            .name("cvm-feed-reader".into())
            .spawn(move || read_events(reader, tx))
            .map_err(|e| FeedError::Broken(e.to_string()))?;
        Ok(Feed { events, idle })
    }

    /// The next block's changes; `Err` when the connection ends, breaks or goes silent.
    pub fn next_block(&mut self) -> Result<BlockChanges, FeedError> {
        let (kind, data) = loop {
            match self.events.recv_timeout(self.idle) {
                Ok(Ok((kind, _))) if kind == "heartbeat" => continue,
                Ok(Ok(event)) => break event,
                Ok(Err(e)) => return Err(FeedError::Broken(e)),
                Err(RecvTimeoutError::Timeout) => return Err(FeedError::Silent(self.idle)),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(FeedError::Broken("the node closed the stream".into()));
                }
            }
        };
        if kind == "error" {
            let message = serde_json::from_str::<ErrorJson>(&data)
                .map(|e| e.error)
                .unwrap_or(data);
            return Err(FeedError::Ended(message));
        }
        serde_json::from_str(&data).map_err(|e| FeedError::BadEvent(e.to_string()))
    }
}

/// Parses the event stream into (event name, data) pairs; heartbeats (comments) only keep it alive.
fn read_events(mut reader: impl BufRead + Send, tx: SyncSender<Result<(String, String), String>>) {
    let (mut kind, mut data) = (String::new(), String::new());
    let mut line = String::new();
    loop {
        line.clear();
        let read = std::io::Read::take(&mut reader, MAX_LINE_BYTES as u64).read_line(&mut line);
        match read {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
                return;
            }
        }
        let text = line.trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            if !data.is_empty() {
                let event = (std::mem::take(&mut kind), std::mem::take(&mut data));
                if tx.send(Ok(event)).is_err() {
                    return;
                }
            }
            kind.clear();
        } else if text.starts_with(':') {
            // A heartbeat: wakes the waiting side so its idle clock restarts.
            if tx.send(Ok(("heartbeat".into(), String::new()))).is_err() {
                return;
            }
        } else if let Some(rest) = text.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        } else if let Some(rest) = text.strip_prefix("event:") {
            kind = rest.trim().to_string();
        }
    }
}
