//! [`SourceEndpoint`]: where a validator gets Ethereum blocks. Whatever it answers is verified before use, so
//! an endpoint is trusted for availability only.

use super::block_data::EthBlockData;
use super::error::EndpointError;

/// A source of Ethereum blocks: a JSON-RPC node ([`super::JsonRpcEndpoint`]) or an archive file
/// ([`super::ArchiveEndpoint`]). Calls block; run them off the node's event loop.
pub trait SourceEndpoint: Send + Sync {
    /// The chain id the endpoint serves (compared with the source's registered chain id).
    fn chain_id(&self) -> Result<u64, EndpointError>;
    /// The number of the newest block it has.
    fn latest(&self) -> Result<u64, EndpointError>;
    /// The number of the newest finalized block, if the chain has finality and the endpoint reports it.
    fn finalized(&self) -> Result<Option<u64>, EndpointError>;
    /// Block `number` with its receipts, or `None` when the endpoint does not have it (yet).
    fn block(&self, number: u64) -> Result<Option<EthBlockData>, EndpointError>;
}
