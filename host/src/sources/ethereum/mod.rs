//! Ethereum source blocks: fetched by each validator from its own endpoint and verified with alloy, so a
//! block commits only to `(number, hash, receipts root)` and every validator derives the same logs.
//!
//! - [`block_data`]: [`EthBlockData`], a block as the node stores and serves it (header RLP, EIP-2718
//!   transactions and receipts).
//! - [`rpc_json`]: the JSON-RPC shapes (`eth_getBlockByNumber(n, true)`, `eth_getTransactionReceipt`) and their
//!   conversion into [`EthBlockData`], which re-encodes every part and checks it against the hashes the JSON
//!   claims.
//! - [`verify`]: [`verify_block`] (header hash, transactions root, receipts root, logs), [`verify_block_as`]
//!   (the same for an expected hash) and [`header_only_check`].
//! - [`endpoint`]: the [`SourceEndpoint`] trait; [`json_rpc`]: [`JsonRpcEndpoint`] over HTTP; [`archive`]:
//!   [`ArchiveEndpoint`] over an archive file, JSON Lines or [`archive_binary`].
//! - [`error`]: the errors of all of the above.

pub mod archive;
pub mod archive_binary;
pub mod block_data;
pub mod endpoint;
pub mod error;
pub mod json_rpc;
pub mod rpc_json;
pub mod verify;

#[cfg(test)]
mod tests;

pub use archive::{ArchiveEndpoint, ArchiveFormat};
pub use archive_binary::BinaryArchiveWriter;
pub use block_data::EthBlockData;
pub use endpoint::SourceEndpoint;
pub use error::{ConvertError, EndpointError, EthVerifyError};
pub use json_rpc::{JsonRpcConfig, JsonRpcEndpoint, RawRpcBlock};
pub use rpc_json::{ArchiveLine, RpcBlock, RpcReceipt, RpcTransaction};
pub use verify::{
    VerifiedEthBlock, VerifiedEthHeader, header_only_check, verify_block, verify_block_as,
};
