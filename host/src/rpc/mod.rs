//! The node's HTTP JSON API and Prometheus endpoint.
//!
//! - [`node_api`]: the [`NodeApi`] trait the node implements, and its data.
//! - [`json`]: the JSON shapes, shared with [`crate::api_client`].
//! - [`error`]: `{"error": ...}` answers.
//! - [`limits`]: what one client may cost ([`HttpLimits`]).
//! - `routes`: the router and handlers (`records_page`: dataset pages; `shared`: what handlers share); `server`:
//!   connections and their timeouts.
//! - [`code`]: `GET /code/{code_hash}`, a deployed manuscript's wasm by hash.
//! - [`feed`]: `GET /blocks/{height}/changes` and the `/feed` stream of each finalized block's dataset changes.

pub mod code;
pub mod error;
pub mod feed;
pub mod json;
pub mod limits;
pub mod node_api;
mod records_page;
mod routes;
mod server;
mod shared;
#[cfg(test)]
pub(crate) mod tests;

use std::future::Future;
use std::sync::Arc;

pub use limits::HttpLimits;
pub use node_api::{
    ApiError, ChangesFilter, EvidenceInfo, EvidenceList, ManuscriptInfo, ManuscriptsPage, NodeApi,
    PeersInfo, SourceInfo, StatusInfo, SubmitError, TxLookup, ValidatorInfo, ValidatorSetInfo,
};
pub use routes::{
    EVIDENCE_DEFAULT_LIMIT, EVIDENCE_MAX_LIMIT, MANUSCRIPTS_DEFAULT_LIMIT, MANUSCRIPTS_MAX_LIMIT,
    router,
};

use crate::metrics::Metrics;

/// Serves the API on `listener` within `limits` until `shutdown` completes (requests in progress are finished
/// first).
pub async fn serve(
    listener: tokio::net::TcpListener,
    api: Arc<dyn NodeApi>,
    metrics: Arc<Metrics>,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "rpc server listening");
    }
    let app = router(api, metrics, &limits);
    server::serve_router(listener, app, limits, shutdown).await
}
