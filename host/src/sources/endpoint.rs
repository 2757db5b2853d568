//! Opening the endpoint a node's `[sources.<name>]` names, and checking that it serves the registered chain.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::ethereum::json_rpc::load_ca_file;
use super::ethereum::{ArchiveEndpoint, JsonRpcConfig, JsonRpcEndpoint, SourceEndpoint};
use crate::chain::config::SourceEndpointConfig;

/// The JSON-RPC endpoint or archive file `config` names (an archive or `ca_file` path relative to `home`), for a
/// source of chain `chain_id`. A JSON-RPC endpoint that answers for another chain is refused; one that does not
/// answer yet is taken (it is asked again at every poll). A `ca_file` is only for an `rpc` endpoint, and must
/// hold a PEM certificate.
pub fn open_endpoint(
    config: &SourceEndpointConfig,
    home: &Path,
    chain_id: u64,
) -> Result<Arc<dyn SourceEndpoint>, String> {
    if config.ca_file.is_some() && config.rpc.is_none() {
        return Err(
            "`ca_file` applies to an `rpc` endpoint (https://); remove it or set `rpc`".into(),
        );
    }
    let endpoint: Arc<dyn SourceEndpoint> = match (&config.rpc, &config.archive) {
        (Some(url), None) => {
            let ca_certs = match &config.ca_file {
                Some(path) => Some(Arc::new(load_ca_file(&home.join(path))?)),
                None => None,
            };
            Arc::new(JsonRpcEndpoint::with_config(
                url,
                JsonRpcConfig {
                    timeout: Duration::from_millis(config.timeout_ms),
                    ca_certs,
                    ..JsonRpcConfig::default()
                },
            ))
        }
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
