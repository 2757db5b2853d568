//! Opening the endpoint a node's `[sources.<name>]` names, and checking that it serves the registered chain.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::ethereum::{ArchiveEndpoint, JsonRpcConfig, JsonRpcEndpoint, SourceEndpoint};
use crate::chain::config::SourceEndpointConfig;

/// The JSON-RPC endpoint or archive file `config` names (an archive path relative to `home`), for a source of
/// chain `chain_id`. A JSON-RPC endpoint that answers for another chain is refused; one that does not answer yet
/// is taken (it is asked again at every poll).
pub fn open_endpoint(
    config: &SourceEndpointConfig,
    home: &Path,
    chain_id: u64,
) -> Result<Arc<dyn SourceEndpoint>, String> {
    let endpoint: Arc<dyn SourceEndpoint> = match (&config.rpc, &config.archive) {
        (Some(url), None) => Arc::new(JsonRpcEndpoint::with_config(
            url,
            JsonRpcConfig {
                timeout: Duration::from_millis(config.timeout_ms),
                ..JsonRpcConfig::default()
            },
        )),
        (None, Some(path)) => {
            let path = home.join(path);
            Arc::new(ArchiveEndpoint::open(&path, chain_id).map_err(|e| e.to_string())?)
        }
        _ => return Err("set exactly one of `rpc` and `archive`".into()),
    };
    if let Ok(served) = endpoint.chain_id()
        && served != chain_id
    {
        return Err(format!(
            "the endpoint serves chain id {served}, the source is registered for chain id {chain_id}; point it \
             at a node of the right chain"
        ));
    }
    Ok(endpoint)
}
