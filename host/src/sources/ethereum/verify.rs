//! Verifying an [`EthBlockData`] against its own header with alloy: the block hash is keccak-256 of the header
//! RLP (alloy's `Header` decodes every fork's layout, Frontier to Prague), the transactions and receipts roots
//! are recomputed from the encodings (receipts before Byzantium carry a post-state root, after it a status), and
//! the logs are exactly the receipts' logs. A block that passes is the block its hash names; whether that hash
//! is the one a chain commitment expects is the caller's check.

use alloy_consensus::{EMPTY_ROOT_HASH, Header, ReceiptEnvelope};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{B256, Log, keccak256};
use alloy_rlp::Decodable;
use alloy_trie::root::ordered_trie_root_encoded;
use manuscript_sdk::sources::EthLog;

use super::block_data::EthBlockData;
use super::error::EthVerifyError;

/// A block whose header decodes, with the hash of its RLP: all a header-only check establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEthHeader {
    /// Block number.
    pub number: u64,
    /// keccak-256 of the header RLP.
    pub hash: [u8; 32],
    /// The parent's hash, as the header says.
    pub parent_hash: [u8; 32],
    /// The receipts root, as the header says.
    pub receipts_root: [u8; 32],
    /// Seconds.
    pub timestamp: u64,
}

/// A fully verified block and its logs in block order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEthBlock {
    /// Block number.
    pub number: u64,
    /// keccak-256 of the header RLP.
    pub hash: [u8; 32],
    /// The parent's hash, as the header says.
    pub parent_hash: [u8; 32],
    /// The receipts root, recomputed and equal to the header's.
    pub receipts_root: [u8; 32],
    /// Seconds.
    pub timestamp: u64,
    /// Every log of every receipt, with its block, transaction and index within the block.
    pub logs: Vec<EthLog>,
}

fn decode_header(data: &EthBlockData) -> Result<(Header, B256), EthVerifyError> {
    let hash = keccak256(&data.header_rlp);
    let mut rest = data.header_rlp.as_slice();
    let header = Header::decode(&mut rest).map_err(|e| EthVerifyError::Header {
        hash,
        reason: e.to_string(),
    })?;
    if !rest.is_empty() {
        return Err(EthVerifyError::Header {
            hash,
            reason: format!("{} bytes follow the header", rest.len()),
        });
    }
    Ok((header, hash))
}

/// Checks only that the header decodes and names its hash (for a block held without receipts).
pub fn header_only_check(data: &EthBlockData) -> Result<VerifiedEthHeader, EthVerifyError> {
    let (header, hash) = decode_header(data)?;
    Ok(VerifiedEthHeader {
        number: header.number,
        hash: hash.0,
        parent_hash: header.parent_hash.0,
        receipts_root: header.receipts_root.0,
        timestamp: header.timestamp,
    })
}

/// [`verify_block`] for the block whose hash must be `expected` (a commitment): a block consistent in itself
/// but with another hash is refused.
pub fn verify_block_as(
    data: &EthBlockData,
    expected: [u8; 32],
) -> Result<VerifiedEthBlock, EthVerifyError> {
    let block = verify_block(data)?;
    if block.hash != expected {
        return Err(EthVerifyError::HashMismatch {
            number: block.number,
            expected: B256::from(expected),
            computed: B256::from(block.hash),
        });
    }
    Ok(block)
}

/// Verifies the whole block: header, transactions root, receipt count and receipts root, then reads the logs.
/// Receipts may be absent only when the header's receipts root is that of no receipts.
pub fn verify_block(data: &EthBlockData) -> Result<VerifiedEthBlock, EthVerifyError> {
    let (header, hash) = decode_header(data)?;
    let number = header.number;
    let transactions_root = ordered_trie_root_encoded(&data.transactions);
    if transactions_root != header.transactions_root {
        return Err(EthVerifyError::TransactionsRoot {
            number,
            hash,
            count: data.transactions.len(),
            header: header.transactions_root,
            computed: transactions_root,
        });
    }
    let receipts: &[Vec<u8>] = match &data.receipts {
        Some(receipts) => receipts,
        None if header.receipts_root == EMPTY_ROOT_HASH => &[],
        None => return Err(EthVerifyError::ReceiptsMissing { number, hash }),
    };
    if receipts.len() != data.transactions.len() {
        return Err(EthVerifyError::ReceiptCount {
            number,
            hash,
            transactions: data.transactions.len(),
            receipts: receipts.len(),
        });
    }
    let receipts_root = ordered_trie_root_encoded(receipts);
    if receipts_root != header.receipts_root {
        return Err(EthVerifyError::ReceiptsRoot {
            number,
            hash,
            count: receipts.len(),
            header: header.receipts_root,
            computed: receipts_root,
        });
    }
    let too_many = |what| EthVerifyError::TooMany {
        number,
        hash,
        what,
        limit: u32::MAX.into(),
    };
    let mut logs = Vec::new();
    for (index, (raw, tx)) in receipts.iter().zip(&data.transactions).enumerate() {
        let receipt = ReceiptEnvelope::<Log>::decode_2718_exact(raw).map_err(|e| {
            EthVerifyError::Receipt {
                number,
                hash,
                index,
                reason: e.to_string(),
            }
        })?;
        let transaction_hash = keccak256(tx).0;
        let transaction_index = u32::try_from(index).map_err(|_| too_many("transactions"))?;
        for log in receipt.logs() {
            let log_index = u32::try_from(logs.len()).map_err(|_| too_many("logs"))?;
            logs.push(EthLog {
                address: log.address.0.0,
                topics: log.data.topics().iter().map(|t| t.0).collect(),
                data: log.data.data.to_vec(),
                block_number: number,
                block_hash: hash.0,
                block_timestamp: header.timestamp,
                transaction_hash,
                transaction_index,
                log_index,
            });
        }
    }
    Ok(VerifiedEthBlock {
        number,
        hash: hash.0,
        parent_hash: header.parent_hash.0,
        receipts_root: receipts_root.0,
        timestamp: header.timestamp,
        logs,
    })
}
