//! The Ethereum log record: one log of a verified source block (or of a signed source's ingest).

use alloc::vec::Vec;
use parity_scale_codec::{Decode, Encode};

/// A 20-byte account or contract address.
pub type Address = [u8; 20];
/// A 32-byte hash or log topic.
pub type Hash32 = [u8; 32];

/// The zero address (the `from` of a mint, the `to` of a burn).
pub const ZERO_ADDRESS: Address = [0; 20];

/// `keccak256("Transfer(address,address,uint256)")`: `topics[0]` of an ERC-20 `Transfer` (3 topics, the amount in
/// `data`) and of an ERC-721 `Transfer` (4 topics, the token id indexed).
pub const TRANSFER_TOPIC: Hash32 = [
    0xdd, 0xf2, 0x52, 0xad, 0x1b, 0xe2, 0xc8, 0x9b, 0x69, 0xc2, 0xb0, 0x68, 0xfc, 0x37, 0x8d, 0xaa,
    0x95, 0x2b, 0xa7, 0xf1, 0x63, 0xc4, 0xa1, 0x16, 0x28, 0xf5, 0x5a, 0x4d, 0xf5, 0x23, 0xb3, 0xef,
];

/// One Ethereum event log of a mined block, with the block it belongs to.
///
/// A source block is ingested only past its confirmation depth and never undone, so there is no `removed` flag:
/// every record is a log of the chain the source follows. Records of one block arrive in log order.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct EthLog {
    /// Contract that emitted the log.
    pub address: Address,
    /// Indexed topics; `topics[0]` is the event signature hash for non-anonymous events.
    pub topics: Vec<Hash32>,
    /// Non-indexed event data (ABI-encoded).
    pub data: Vec<u8>,
    /// Number of the block holding the log.
    pub block_number: u64,
    /// Hash of that block.
    pub block_hash: Hash32,
    /// That block's timestamp, in seconds since the Unix epoch.
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

/// The indexed-topic form of an address: 12 zero bytes, then the address. Inverse of [`topic_to_address`].
pub fn address_topic(address: &Address) -> Hash32 {
    let mut topic = [0u8; 32];
    topic[12..].copy_from_slice(address);
    topic
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
        let topic = address_topic(&[7u8; 20]);
        assert_eq!(topic[..12], [0u8; 12]);
        assert_eq!(topic_to_address(&topic), [7u8; 20]);
    }

    #[test]
    fn scale_roundtrip_and_layout() {
        let log = EthLog {
            address: [1; 20],
            topics: vec![[2; 32]],
            data: vec![3, 4],
            block_number: 5,
            block_hash: [6; 32],
            block_timestamp: 7,
            transaction_hash: [8; 32],
            transaction_index: 9,
            log_index: 10,
        };
        let bytes = log.encode();
        // address, 1 topic (compact 4), data (compact 8 + 2), u64, hash, u64, hash, u32, u32
        assert_eq!(bytes.len(), 20 + 1 + 32 + 1 + 2 + 8 + 32 + 8 + 32 + 4 + 4);
        assert_eq!(&bytes[..20], &[1; 20]);
        assert_eq!(EthLog::decode(&mut &bytes[..]).unwrap(), log);
        assert_eq!(log.topic0(), Some(&[2; 32]));
    }
}
