//! The node's HTTP JSON API and Prometheus endpoint.
//!
//! - [`node_api`]: the [`NodeApi`] trait the node implements, and its data.
//! - [`json`]: the JSON shapes, shared with [`crate::api_client`].
//! - [`error`]: `{"error": ...}` answers.
//! - `routes`: the router and handlers.

pub mod error;
pub mod json;
pub mod node_api;
mod routes;
#[cfg(test)]
pub(crate) mod tests;

use std::future::Future;
use std::sync::Arc;

pub use node_api::{
    ApiError, ManuscriptInfo, NodeApi, PeersInfo, StatusInfo, SubmitError, TxLookup, ValidatorInfo,
};
pub use routes::router;

use crate::metrics::Metrics;

/// Serves the API on `listener` until `shutdown` completes (in-flight requests are finished first).
pub async fn serve(
    listener: tokio::net::TcpListener,
    api: Arc<dyn NodeApi>,
    metrics: Arc<Metrics>,
    max_body_bytes: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "rpc server listening");
    }
    axum::serve(listener, router(api, metrics, max_body_bytes))
        .with_graceful_shutdown(shutdown)
        .await
}
