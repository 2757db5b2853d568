//! The routes and their handlers: parse and check the request, call [`NodeApi`] on the blocking pool, shape the
//! answer as JSON. Every bad input is a 4xx `{"error": ...}`; nothing here panics on input.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::error_handling::HandleErrorLayer;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;

use crate::hex_text::{from_hex, from_hex32, to_hex};
use crate::metrics::{Metrics, RejectClass};
use crate::rpc::error::HttpError;
use crate::rpc::json::{
    AccountJson, BlockJson, CommitJson, SubmitTxRequest, SubmitTxResponse, TxLookupJson,
};
use crate::rpc::limits::{HttpLimits, refusal};
use crate::rpc::node_api::{ManuscriptsPage, NodeApi};
use crate::rpc::shared::{AppState, MAX_KEY_LEN, blocking, check_name};

/// Manuscripts in a `/manuscripts` page when the request names no `limit`.
pub const MANUSCRIPTS_DEFAULT_LIMIT: usize = 100;
/// Most manuscripts a `/manuscripts` page may ask for.
pub const MANUSCRIPTS_MAX_LIMIT: usize = 1000;
/// Blocks of committed evidence in one `/evidence` answer when the request gives no `limit`.
pub const EVIDENCE_DEFAULT_LIMIT: usize = 100;
/// Most blocks of committed evidence in one `/evidence` answer.
pub const EVIDENCE_MAX_LIMIT: usize = 1000;

type Answer<T> = Result<Json<T>, HttpError>;

/// The API router, within `limits` (request bodies: 413 above `max_body_bytes`; requests in progress: 503 past
/// `max_concurrent_requests`; a request's time: 408 past `request_timeout`).
pub fn router(api: Arc<dyn NodeApi>, metrics: Arc<Metrics>, limits: &HttpLimits) -> Router {
    let state = AppState {
        api,
        metrics,
        max_body_bytes: limits.max_body_bytes,
    };
    let refused = limits.clone();
    Router::new()
        .route("/status", get(status))
        .route("/blocks/{height}", get(block))
        .route("/commits/{height}", get(commit))
        .route("/txs", axum::routing::post(submit_tx))
        .route("/txs/{hash}", get(tx))
        .route(
            "/records/{manuscript}/{dataset}",
            get(crate::rpc::records_page::records_page),
        )
        .route("/records/{manuscript}/{dataset}/{key}", get(record))
        .route("/accounts/{public_key}", get(account))
        .route("/validators", get(validators))
        .route("/manuscripts", get(manuscripts))
        .route("/evidence", get(evidence))
        .route("/sources", get(sources))
        .route("/metrics", get(metrics_text))
        .merge(super::code::routes(state.api.clone()))
        .merge(super::feed::routes(
            state.api.clone(),
            super::feed::FeedLimits::default(),
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |error| {
                    std::future::ready(refusal(error, &refused))
                }))
                .load_shed()
                // One semaphore for every route (a plain concurrency limit would make one per route).
                .layer(GlobalConcurrencyLimitLayer::new(
                    limits.max_concurrent_requests,
                ))
                .timeout(limits.request_timeout),
        )
        .with_state(state)
}

async fn not_found() -> HttpError {
    HttpError::not_found(
        "no such route; try /status, /blocks/{height}, /commits/{height}, /txs, /txs/{hash}, \
         /records/{manuscript}/{dataset}, /records/{manuscript}/{dataset}/{key_hex}, /accounts/{public_key}, /validators?height=H, /manuscripts, /code/{code_hash}, \
         /evidence?before=H&limit=N, /metrics, /blocks/{height}/changes, /feed",
    )
}

async fn method_not_allowed() -> HttpError {
    HttpError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this route",
    )
}

async fn status(State(s): State<AppState>) -> Answer<crate::rpc::node_api::StatusInfo> {
    Ok(Json(blocking(&s.api, |api| api.status()).await?))
}

/// A height in a path: a positive number or `latest`.
async fn resolve_height(s: &AppState, text: &str) -> Result<u64, HttpError> {
    if text == "latest" {
        let height = blocking(&s.api, |api| api.status().height).await?;
        if height == 0 {
            return Err(HttpError::not_found("no block committed yet"));
        }
        return Ok(height);
    }
    match text.parse::<u64>() {
        Ok(0) => Err(HttpError::bad_request(
            "height must be 1 or more (blocks start at 1)",
        )),
        Ok(h) => Ok(h),
        Err(_) => Err(HttpError::bad_request(format!(
            "height {text:?} is not a number or `latest`"
        ))),
    }
}

async fn block(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Answer<BlockJson> {
    let Path(text) = path?;
    let height = resolve_height(&s, &text).await?;
    let found = blocking(&s.api, move |api| api.block(height)).await??;
    let block =
        found.ok_or_else(|| HttpError::not_found(format!("no block at height {height}")))?;
    Ok(Json(BlockJson::from(&block)))
}

async fn commit(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Answer<CommitJson> {
    let Path(text) = path?;
    let height = resolve_height(&s, &text).await?;
    let found = blocking(&s.api, move |api| api.commit(height)).await??;
    let cert =
        found.ok_or_else(|| HttpError::not_found(format!("no commit for height {height}")))?;
    Ok(Json(CommitJson::from(&cert)))
}

async fn submit_tx(
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Answer<SubmitTxResponse> {
    let body = body.map_err(|r| {
        let e = HttpError::from(r);
        if e.status == StatusCode::PAYLOAD_TOO_LARGE {
            s.metrics.on_tx_rejected(RejectClass::TooLarge);
            HttpError::new(
                e.status,
                format!(
                    "request body too large: the limit is {} bytes",
                    s.max_body_bytes
                ),
            )
        } else {
            e
        }
    })?;
    let request: SubmitTxRequest = serde_json::from_slice(&body).map_err(|e| {
        HttpError::bad_request(format!(
            "body must be JSON {{\"tx\": \"<hex of the SCALE SignedTransaction>\"}}: {e}"
        ))
    })?;
    let tx = from_hex(&request.tx).map_err(|e| {
        s.metrics.on_tx_rejected(RejectClass::Decode);
        HttpError::bad_request(format!("tx: {e}"))
    })?;
    let metrics = s.metrics.clone();
    match blocking(&s.api, move |api| api.submit_tx(tx)).await? {
        Ok(hash) => Ok(Json(SubmitTxResponse { hash: to_hex(hash) })),
        Err(e) => {
            metrics.on_tx_rejected(e.class);
            Err(HttpError::bad_request(format!(
                "transaction rejected: {}",
                e.message
            )))
        }
    }
}

async fn tx(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Answer<TxLookupJson> {
    let Path(text) = path?;
    let hash =
        from_hex32(&text).map_err(|e| HttpError::bad_request(format!("transaction hash: {e}")))?;
    let lookup = blocking(&s.api, move |api| api.tx(hash)).await??;
    Ok(Json(TxLookupJson::from(&lookup)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordQuery {
    height: Option<u64>,
}

async fn record(
    State(s): State<AppState>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    query: Result<Query<RecordQuery>, QueryRejection>,
) -> Result<Response, HttpError> {
    let Path((manuscript, dataset, key_hex)) = path?;
    let Query(query) = query?;
    check_name("manuscript", &manuscript)?;
    check_name("dataset", &dataset)?;
    let key = from_hex(&key_hex).map_err(|e| HttpError::bad_request(format!("record key: {e}")))?;
    if key.len() > MAX_KEY_LEN {
        return Err(HttpError::bad_request(format!(
            "record key is longer than {MAX_KEY_LEN} bytes"
        )));
    }
    if query.height == Some(0) {
        return Err(HttpError::bad_request(
            "height must be 1 or more (blocks start at 1)",
        ));
    }
    let bundle = blocking(&s.api, move |api| {
        api.record(&manuscript, &dataset, &key, query.height)
    })
    .await??;
    Ok(Json(bundle).into_response())
}

async fn account(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Answer<AccountJson> {
    let Path(text) = path?;
    let key = from_hex32(&text)
        .map_err(|e| HttpError::bad_request(format!("account public key: {e}")))?;
    let nonce = blocking(&s.api, move |api| api.account_nonce(key)).await??;
    Ok(Json(AccountJson {
        public_key: to_hex(key),
        nonce,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidatorsQuery {
    height: Option<u64>,
}

async fn validators(
    State(s): State<AppState>,
    query: Result<Query<ValidatorsQuery>, QueryRejection>,
) -> Answer<crate::rpc::node_api::ValidatorSetInfo> {
    let Query(query) = query?;
    Ok(Json(
        blocking(&s.api, move |api| api.validators(query.height)).await??,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManuscriptsQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// A page of manuscripts in name order, after `after`; `next` names the last one when more may follow.
async fn manuscripts(
    State(s): State<AppState>,
    query: Result<Query<ManuscriptsQuery>, QueryRejection>,
) -> Answer<ManuscriptsPage> {
    let Query(query) = query?;
    let limit = page_limit(
        query.limit,
        (MANUSCRIPTS_DEFAULT_LIMIT, MANUSCRIPTS_MAX_LIMIT),
        "; page with ?after=<the page's next>",
    )?;
    if let Some(after) = &query.after {
        check_name("after (a manuscript)", after)?;
    }
    // One more than asked tells whether another page follows.
    let mut manuscripts = blocking(&s.api, move |api| {
        api.manuscripts(query.after.as_deref(), limit + 1)
    })
    .await??;
    let more = manuscripts.len() > limit;
    manuscripts.truncate(limit);
    let next = more
        .then(|| manuscripts.last().map(|m| m.name.clone()))
        .flatten();
    Ok(Json(ManuscriptsPage { manuscripts, next }))
}

/// A page's `limit`: `default` when not asked, refused outside 1..=`max` with how to page (`paging`).
fn page_limit(
    asked: Option<usize>,
    (default, max): (usize, usize),
    paging: &str,
) -> Result<usize, HttpError> {
    let limit = asked.unwrap_or(default);
    if limit == 0 || limit > max {
        return Err(HttpError::bad_request(format!(
            "limit must be 1 to {max}{paging}"
        )));
    }
    Ok(limit)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvidenceQuery {
    before: Option<u64>,
    limit: Option<usize>,
}

/// Committed evidence of the blocks below `before`, at most `limit` blocks, newest first; and the pending pieces.
async fn evidence(
    State(s): State<AppState>,
    query: Result<Query<EvidenceQuery>, QueryRejection>,
) -> Answer<crate::rpc::node_api::EvidenceList> {
    let Query(query) = query?;
    let limit = page_limit(
        query.limit,
        (EVIDENCE_DEFAULT_LIMIT, EVIDENCE_MAX_LIMIT),
        " blocks; page with ?before=<the answer's next_before>",
    )?;
    Ok(Json(
        blocking(&s.api, move |api| api.evidence(query.before, limit)).await??,
    ))
}

async fn sources(State(s): State<AppState>) -> Answer<Vec<crate::rpc::node_api::SourceInfo>> {
    Ok(Json(blocking(&s.api, |api| api.sources()).await??))
}

async fn metrics_text(State(s): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}
