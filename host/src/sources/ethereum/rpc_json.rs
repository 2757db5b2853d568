//! The JSON-RPC shapes of a block (`eth_getBlockByNumber(n, true)`), its receipts (`eth_getTransactionReceipt`)
//! and an archive line (`{"block": …, "receipts": […] | null}`), read with alloy's consensus types, and their
//! conversion into [`EthBlockData`]. Conversion re-encodes the header, every transaction and every receipt and
//! checks the header and transaction hashes the JSON claims, so a field this node does not encode (a newer fork)
//! is named here rather than found later as a root mismatch.

use alloy_consensus::{EthereumTxEnvelope, Header, ReceiptEnvelope, TxEip4844};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{B256, Log, keccak256};
use alloy_rlp::Encodable;
use serde::{Deserialize, Serialize};

use super::block_data::EthBlockData;
use super::error::ConvertError;

/// A transaction object of a block with full transactions. Blob transactions appear without sidecars, as in
/// blocks; fields this node does not encode (`from`, `blockHash`, …) are ignored. Its `hash` is kept as the
/// endpoint claims it (`envelope.tx_hash()`), unchecked until [`EthBlockData::from_rpc`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RpcTransaction {
    /// The signed transaction.
    pub envelope: EthereumTxEnvelope<TxEip4844>,
}

/// A block with full transactions (`eth_getBlockByNumber(n, true)`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RpcBlock {
    /// The header fields (every fork's: alloy's `Header` carries the optional ones).
    #[serde(flatten)]
    pub header: Header,
    /// The hash the endpoint claims for the block.
    pub hash: B256,
    /// The transactions, in block order.
    pub transactions: Vec<RpcTransaction>,
}

/// A transaction receipt (`eth_getTransactionReceipt`). Pre-Byzantium receipts carry `root` instead of `status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcReceipt {
    /// The typed receipt with its bloom and logs.
    #[serde(flatten)]
    pub envelope: ReceiptEnvelope<Log>,
    /// The transaction it belongs to.
    pub transaction_hash: B256,
}

/// One line of an archive file: a block and its receipts (`null` or absent: header and transactions only).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiveLine {
    /// The block, with full transactions.
    pub block: RpcBlock,
    /// Its receipts in transaction order.
    #[serde(default)]
    pub receipts: Option<Vec<RpcReceipt>>,
}

impl ArchiveLine {
    /// The line as written to an archive: one line of JSON, without its newline (what [`Self::parse`] reads).
    pub fn to_json(&self) -> Result<String, ConvertError> {
        serde_json::to_string(self).map_err(|e| ConvertError::Json {
            what: "the line".to_string(),
            reason: e.to_string(),
        })
    }

    /// Parses one archive line.
    pub fn parse(line: &str) -> Result<Self, ConvertError> {
        serde_json::from_str(line).map_err(|e| ConvertError::Json {
            what: "the line".to_string(),
            reason: e.to_string(),
        })
    }

    /// The line as [`EthBlockData`] (see [`EthBlockData::from_rpc`]).
    pub fn into_block_data(self) -> Result<EthBlockData, ConvertError> {
        EthBlockData::from_rpc(self.block, self.receipts)
    }
}

impl EthBlockData {
    /// Converts a block and its receipts from their JSON-RPC shapes: the header's RLP must hash to the block's
    /// `hash`, each transaction's EIP-2718 encoding to its `hash`, and receipt `i` must name transaction `i`.
    /// Roots are not checked here: [`super::verify_block`] does.
    pub fn from_rpc(
        block: RpcBlock,
        receipts: Option<Vec<RpcReceipt>>,
    ) -> Result<Self, ConvertError> {
        let number = block.header.number;
        let mut header_rlp = Vec::with_capacity(block.header.length());
        block.header.encode(&mut header_rlp);
        let computed = keccak256(&header_rlp);
        if computed != block.hash {
            return Err(ConvertError::HeaderHash {
                number,
                claimed: block.hash,
                computed,
            });
        }
        let mut transactions = Vec::with_capacity(block.transactions.len());
        let mut tx_hashes = Vec::with_capacity(block.transactions.len());
        for (index, tx) in block.transactions.iter().enumerate() {
            let encoded = tx.envelope.encoded_2718();
            let computed = keccak256(&encoded);
            let claimed = *tx.envelope.tx_hash();
            if computed != claimed {
                return Err(ConvertError::TransactionHash {
                    number,
                    index,
                    claimed,
                    computed,
                });
            }
            transactions.push(encoded);
            tx_hashes.push(computed);
        }
        let receipts = match receipts {
            None => None,
            Some(receipts) => {
                if receipts.len() != tx_hashes.len() {
                    return Err(ConvertError::ReceiptCount {
                        number,
                        transactions: tx_hashes.len(),
                        receipts: receipts.len(),
                    });
                }
                let mut encoded = Vec::with_capacity(receipts.len());
                for (index, (receipt, expected)) in receipts.iter().zip(&tx_hashes).enumerate() {
                    if receipt.transaction_hash != *expected {
                        return Err(ConvertError::ReceiptOrder {
                            number,
                            index,
                            expected: *expected,
                            found: receipt.transaction_hash,
                        });
                    }
                    encoded.push(receipt.envelope.encoded_2718());
                }
                Some(encoded)
            }
        };
        Ok(EthBlockData {
            header_rlp,
            transactions,
            receipts,
        })
    }
}
