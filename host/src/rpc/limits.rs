//! What one client may cost the HTTP server, and the layers that enforce it on the router: requests in progress
//! at once (more are refused with 503 at once, not queued) and a deadline per request (408). The server itself
//! (`server.rs`) bounds connections and the time to send a request's headers.

use std::time::Duration;

use axum::BoxError;
use axum::http::StatusCode;

use crate::chain::config::RpcConfig;
use crate::rpc::error::HttpError;

/// The HTTP server's limits (from [`RpcConfig`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest request body (413 above it).
    pub max_body_bytes: usize,
    /// Requests in progress at once, all connections together; more get 503.
    pub max_concurrent_requests: usize,
    /// Open connections at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's headers; the connection is closed after it.
    pub header_read_timeout: Duration,
    /// Time a request may take from its headers to its answer (body upload and node call); 408 after it.
    pub request_timeout: Duration,
    /// A connection is closed (after its request in progress) once this old, so idle keep-alive connections
    /// cannot hold every connection slot.
    pub max_connection_age: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self::from(&RpcConfig::default())
    }
}

impl From<&RpcConfig> for HttpLimits {
    fn from(config: &RpcConfig) -> Self {
        Self {
            max_body_bytes: config.max_body_bytes,
            max_concurrent_requests: config.max_concurrent_requests.max(1),
            max_connections: config.max_connections.max(1),
            header_read_timeout: Duration::from_millis(config.header_read_timeout_ms.max(1)),
            request_timeout: Duration::from_millis(config.request_timeout_ms.max(1)),
            max_connection_age: Duration::from_millis(config.max_connection_age_ms.max(1)),
        }
    }
}

/// The answer to a request the router's limit layers stopped: past `max_concurrent_requests` (503) or past
/// `request_timeout` (408).
pub(crate) fn refusal(error: BoxError, limits: &HttpLimits) -> HttpError {
    if error.is::<tower::load_shed::error::Overloaded>() {
        HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the node is answering {} requests already; retry shortly",
                limits.max_concurrent_requests
            ),
        )
    } else if error.is::<tower::timeout::error::Elapsed>() {
        HttpError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request took longer than {} ms; send the body without pauses, or ask for less",
                limits.request_timeout.as_millis()
            ),
        )
    } else {
        HttpError::internal(format!("internal error: {error}"))
    }
}
