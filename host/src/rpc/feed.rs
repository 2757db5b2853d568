//! Change feeds: `GET /blocks/{height}/changes` (one block's dataset changes with proofs) and `GET /feed` (a
//! Server-Sent Events stream of them, one event per finalized block, `id:` = its height, so a client resumes
//! after a disconnect with `Last-Event-ID` or `?from=`). Streams are bounded in number and in what each buffers:
//! a client that leaves its buffer full for `max_stall` is cut off with an `error` event naming why, and the
//! node never waits for it.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::Stream;
use serde::Deserialize;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::block_changes::BlockChanges;
use crate::rpc::error::HttpError;
use crate::rpc::node_api::{ApiError, ChangesFilter, NodeApi};
use crate::rpc::shared::blocking;

/// What change feeds may cost.
#[derive(Clone, Debug)]
pub struct FeedLimits {
    /// Streams open at once; one more is refused with a 503.
    pub max_streams: usize,
    /// Block events buffered per stream, ahead of what its client has read.
    pub buffer_blocks: usize,
    /// How long a stream's buffer may stay full before its client is cut off.
    pub max_stall: Duration,
    /// An idle stream sends a comment this often, so clients and proxies see it alive.
    pub heartbeat: Duration,
}

impl Default for FeedLimits {
    fn default() -> Self {
        Self {
            max_streams: 64,
            buffer_blocks: 16,
            max_stall: Duration::from_secs(30),
            heartbeat: Duration::from_secs(15),
        }
    }
}

#[derive(Clone)]
struct FeedState {
    api: Arc<dyn NodeApi>,
    limits: FeedLimits,
    streams: Arc<Semaphore>,
}

/// The feed routes, for merging into the API router.
pub fn routes<S>(api: Arc<dyn NodeApi>, limits: FeedLimits) -> Router<S> {
    let streams = Arc::new(Semaphore::new(limits.max_streams));
    Router::new()
        .route("/blocks/{height}/changes", get(block_changes))
        .route("/feed", get(feed))
        .with_state(FeedState {
            api,
            limits,
            streams,
        })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangesQuery {
    manuscript: Option<String>,
    dataset: Option<String>,
    from: Option<String>,
}

fn filter_of(query: &ChangesQuery) -> Result<ChangesFilter, HttpError> {
    for (what, name) in [
        ("manuscript", &query.manuscript),
        ("dataset", &query.dataset),
    ] {
        if let Some(name) = name
            && (name.is_empty() || name.len() > 256)
        {
            return Err(HttpError::bad_request(format!(
                "{what} name must be 1 to 256 bytes"
            )));
        }
    }
    if query.dataset.is_some() && query.manuscript.is_none() {
        return Err(HttpError::bad_request(
            "dataset needs manuscript: ask ?manuscript=NAME&dataset=NAME",
        ));
    }
    Ok(ChangesFilter {
        manuscript: query.manuscript.clone(),
        dataset: query.dataset.clone(),
    })
}

fn parse_height(what: &str, text: &str) -> Result<u64, HttpError> {
    match text.parse::<u64>() {
        Ok(0) => Err(HttpError::bad_request(format!(
            "{what} must be 1 or more (blocks start at 1)"
        ))),
        Ok(h) => Ok(h),
        Err(_) => Err(HttpError::bad_request(format!(
            "{what} {text:?} is not a block height"
        ))),
    }
}

async fn block_changes(
    State(s): State<FeedState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ChangesQuery>, QueryRejection>,
) -> Result<Json<BlockChanges>, HttpError> {
    let Path(text) = path?;
    let Query(query) = query?;
    if query.from.is_some() {
        return Err(HttpError::bad_request(
            "`from` belongs to /feed; this route serves the height in its path",
        ));
    }
    let height = parse_height("height", &text)?;
    let filter = filter_of(&query)?;
    let head = blocking(&s.api, |api| api.status().height).await?;
    if height > head {
        return Err(HttpError::not_found(format!(
            "height {height} is not final yet (latest is {head}); follow GET /feed to be told when it is"
        )));
    }
    let changes = blocking(&s.api, move |api| {
        api.check_changes_filter(&filter, height)?;
        api.changes(height, &filter)
    })
    .await??;
    Ok(Json(changes))
}

async fn feed(
    State(s): State<FeedState>,
    headers: HeaderMap,
    query: Result<Query<ChangesQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, HttpError> {
    let Query(query) = query?;
    let filter = filter_of(&query)?;
    let head = blocking(&s.api, |api| api.status().height).await?;
    // A reconnecting EventSource repeats its URL and names the last event it saw: that wins over `from`.
    let last_seen = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(parse_height(
            "Last-Event-ID",
            v.to_str().map_err(|_| {
                HttpError::bad_request("Last-Event-ID is not text: send the last event's id")
            })?,
        )?),
    };
    let from = match (last_seen, &query.from) {
        (Some(seen), _) => seen + 1,
        (None, Some(text)) => parse_height("from", text)?,
        (None, None) => head + 1,
    };
    if from > head + 1 {
        return Err(HttpError::bad_request(format!(
            "from {from} is beyond the next block {}: the latest final height is {head}",
            head + 1
        )));
    }
    if filter.manuscript.is_some() && head > 0 {
        let f = filter.clone();
        blocking(&s.api, move |api| api.check_changes_filter(&f, head)).await??;
    }
    let permit = s.streams.clone().try_acquire_owned().map_err(|_| {
        HttpError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "too many change feeds open (at most {}): retry later",
                s.limits.max_streams
            ),
        )
    })?;
    let (events, received) = mpsc::channel(s.limits.buffer_blocks.max(1));
    let (cut_tx, cut) = oneshot::channel();
    let api = s.api.clone();
    let max_stall = s.limits.max_stall;
    tokio::spawn(async move {
        let reason = produce(api, filter, from, events, max_stall).await;
        drop(permit);
        let _ = cut_tx.send(reason);
    });
    let stream = futures::stream::unfold((received, Some(cut)), |(mut received, cut)| async move {
        if let Some(event) = received.recv().await {
            return Some((Ok(event), (received, cut)));
        }
        let reason = cut?.await.ok()?;
        Some((
            Ok(Event::default()
                .event("error")
                .json_data(serde_json::json!({ "error": reason }))
                .unwrap_or_default()),
            (received, None),
        ))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(s.limits.heartbeat)))
}

/// Sends the event of every final block from `from` on, waiting for commits; returns why it stopped.
async fn produce(
    api: Arc<dyn NodeApi>,
    filter: ChangesFilter,
    from: u64,
    events: mpsc::Sender<Event>,
    max_stall: Duration,
) -> String {
    let mut commits = api.commit_signal();
    let mut next = from;
    loop {
        let head = {
            let api = api.clone();
            match tokio::task::spawn_blocking(move || api.status().height).await {
                Ok(h) => h,
                Err(e) => return format!("internal error: {e}"),
            }
        };
        while next <= head {
            let (api, f) = (api.clone(), filter.clone());
            let answer = tokio::task::spawn_blocking(move || api.changes(next, &f)).await;
            let event = match answer {
                Ok(Ok(changes)) => {
                    match Event::default().id(next.to_string()).json_data(&changes) {
                        Ok(e) => e,
                        Err(e) => return format!("internal error: block {next}: {e}"),
                    }
                }
                Ok(Err(ApiError::NotFound(m))) => return m,
                Ok(Err(e)) => return format!("block {next}: {e}"),
                Err(e) => return format!("internal error: {e}"),
            };
            match tokio::time::timeout(max_stall, events.send(event)).await {
                Ok(Ok(())) => next += 1,
                Ok(Err(_)) => return "the client went away".into(),
                Err(_) => {
                    return format!(
                        "client too slow: its buffer stayed full for {max_stall:?}; reconnect with \
                         Last-Event-ID (or ?from={next}) to resume"
                    );
                }
            }
        }
        // Woken by a commit, or after a second anyway (a lagged or missed signal costs at most that).
        tokio::select! {
            _ = commits.recv() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = events.closed() => return "the client went away".into(),
        }
    }
}
