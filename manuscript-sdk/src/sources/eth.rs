//! The Ethereum log record (`eth_getLogs` entries).

use alloc::vec::Vec;
use parity_scale_codec::{Decode, Encode};

/// A 20-byte account or contract address.
pub type Address = [u8; 20];
/// A 32-byte hash or log topic.
pub type Hash32 = [u8; 32];

/// The zero address (the `from` of a mint, the `to` of a burn).
pub const ZERO_ADDRESS: Address = [0; 20];

/// One Ethereum event log of a verified source block, in log order.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct EthLog {
    /// Contract that emitted the log.
    pub address: Address,
    /// Indexed topics; `topics[0]` is the event signature hash for non-anonymous events.
    pub topics: Vec<Hash32>,
    /// Non-indexed event data (ABI-encoded).
    pub data: Vec<u8>,
    /// Block number.
    pub block_number: u64,
    /// Block hash.
    pub block_hash: Hash32,
    /// Block timestamp in seconds.
    pub block_timestamp: u64,
    /// Hash of the transaction that emitted the log.
    pub transaction_hash: Hash32,
    /// Index of that transaction in its block.
    pub transaction_index: u32,
    /// Index of the log in its block.
    pub log_index: u32,
}

impl EthLog {
    /// The event signature topic, if any.
    pub fn topic0(&self) -> Option<&Hash32> {
        self.topics.first()
    }
}

/// The address in an ABI-encoded indexed `address` topic (its last 20 bytes).
pub fn topic_to_address(topic: &Hash32) -> Address {
    let mut address = [0u8; 20];
    address.copy_from_slice(&topic[12..]);
    address
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn topic_address_is_the_low_20_bytes() {
        let mut topic = [0u8; 32];
        topic[12..].copy_from_slice(&[7u8; 20]);
        topic[0] = 0xff;
        assert_eq!(topic_to_address(&topic), [7u8; 20]);
    }

    #[test]
    fn scale_roundtrip_and_layout() {
        let log = EthLog {
            address: [1; 20],
            topics: vec![[2; 32]],
            data: vec![3, 4],
            block_number: 5,
            block_hash: [10; 32],
            block_timestamp: 6,
            transaction_hash: [7; 32],
            transaction_index: 8,
            log_index: 9,
        };
        let bytes = log.encode();
        // address, 1 topic (compact 4), data (compact 8 + 2), u64, hash, u64, hash, u32, u32
        assert_eq!(bytes.len(), 20 + 1 + 32 + 1 + 2 + 8 + 32 + 8 + 32 + 4 + 4);
        assert_eq!(&bytes[..20], &[1; 20]);
        assert_eq!(EthLog::decode(&mut &bytes[..]).unwrap(), log);
        assert_eq!(log.topic0(), Some(&[2; 32]));
    }
}
