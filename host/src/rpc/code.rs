//! `GET /code/{code_hash}`: a deployed manuscript's wasm by its Blake2-256 hash (the `code_hash` of its metadata), as
//! `{"code_hash": "0x…", "code": "0x…"}`. Content-addressed, so a reader checks the answer by hashing it; the sink
//! reads a manuscript's dataset types from it.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::hex_text::{from_hex32, to_hex};
use crate::rpc::error::HttpError;
use crate::rpc::node_api::NodeApi;

/// The answer of `GET /code/{code_hash}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeJson {
    /// 0x hex of the code's Blake2-256 hash.
    pub code_hash: String,
    /// 0x hex of the wasm.
    pub code: String,
}

/// The route, for merging into the API router.
pub fn routes<S>(api: Arc<dyn NodeApi>) -> Router<S> {
    Router::new()
        .route("/code/{code_hash}", get(code))
        .with_state(api)
}

async fn code(
    State(api): State<Arc<dyn NodeApi>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<CodeJson>, HttpError> {
    let Path(text) = path?;
    let hash = from_hex32(&text).map_err(|e| {
        HttpError::bad_request(format!(
            "code hash: {e}; give the 32-byte `code_hash` of GET /manuscripts"
        ))
    })?;
    let code = tokio::task::spawn_blocking(move || api.code(hash))
        .await
        .map_err(|e| HttpError::internal(format!("internal error: node call failed: {e}")))??;
    let code = code.ok_or_else(|| {
        HttpError::not_found(format!(
            "no deployed manuscript has code {}; see GET /manuscripts",
            to_hex(hash)
        ))
    })?;
    Ok(Json(CodeJson {
        code_hash: to_hex(hash),
        code: to_hex(code),
    }))
}
