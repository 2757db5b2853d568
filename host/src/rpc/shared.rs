//! What the route handlers share: the router's state, running node calls on the blocking pool, and the bounds on
//! names and keys in paths.

use std::sync::Arc;

use crate::metrics::Metrics;
use crate::rpc::error::HttpError;
use crate::rpc::node_api::NodeApi;

/// Longest manuscript or dataset name accepted in a path.
const MAX_NAME_LEN: usize = 256;
/// Longest record key accepted (bytes).
pub(super) const MAX_KEY_LEN: usize = 4096;

/// The state every handler of the router gets.
#[derive(Clone)]
pub(super) struct AppState {
    pub(super) api: Arc<dyn NodeApi>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) max_body_bytes: usize,
}

/// Runs a node call on the blocking pool (storage reads and proofs may take a while).
pub(super) async fn blocking<T: Send + 'static>(
    api: &Arc<dyn NodeApi>,
    f: impl FnOnce(&dyn NodeApi) -> T + Send + 'static,
) -> Result<T, HttpError> {
    let api = api.clone();
    tokio::task::spawn_blocking(move || f(&*api))
        .await
        .map_err(|e| HttpError::internal(format!("internal error: node call failed: {e}")))
}

/// Refuses an empty or over-long manuscript or dataset name, naming `what` it is.
pub(super) fn check_name(what: &str, name: &str) -> Result<(), HttpError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(HttpError::bad_request(format!(
            "{what} name must be 1 to {MAX_NAME_LEN} bytes"
        )));
    }
    Ok(())
}
