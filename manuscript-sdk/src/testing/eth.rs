//! Ethereum logs for tests, placed on a chain of source blocks the way an Ethereum source delivers them: block
//! numbers rising, one hash and timestamp per block, log indices counting from 0 within each block.

use crate::sources::{Address, EthLog, Hash32, TRANSFER_TOPIC, address_topic};
use primitive_types::U256;
use std::vec;
use std::vec::Vec;

/// Seconds between the blocks of a [`LogChain`] (Ethereum's slot time).
pub const BLOCK_SECONDS: u64 = 12;

/// A cursor on a chain of source blocks that hands out [`EthLog`]s in chain order.
///
/// ```
/// use manuscript_sdk::testing::LogChain;
/// use manuscript_sdk::U256;
///
/// let mut chain = LogChain::starting_at(18_000_000, 1_700_000_000);
/// let mint = chain.erc20_transfer([1; 20], [0; 20], [2; 20], U256::from(5));
/// let transfer = chain.next_block().erc20_transfer([1; 20], [2; 20], [3; 20], U256::from(2));
/// assert_eq!((mint.block_number, mint.log_index), (18_000_000, 0));
/// assert_eq!((transfer.block_number, transfer.log_index), (18_000_001, 0));
/// assert_eq!(transfer.block_timestamp, 1_700_000_012);
/// ```
#[derive(Debug, Clone)]
pub struct LogChain {
    number: u64,
    timestamp: u64,
    next_log_index: u32,
    next_transaction_index: u32,
}

impl LogChain {
    /// A chain whose next log is in block `number`, stamped `timestamp` (seconds); later blocks follow
    /// [`BLOCK_SECONDS`] apart.
    pub fn starting_at(number: u64, timestamp: u64) -> Self {
        LogChain {
            number,
            timestamp,
            next_log_index: 0,
            next_transaction_index: 0,
        }
    }

    /// Moves to the next block.
    pub fn next_block(&mut self) -> &mut Self {
        self.skip_blocks(1)
    }

    /// Moves `blocks` blocks on (blocks without logs in between).
    pub fn skip_blocks(&mut self, blocks: u64) -> &mut Self {
        self.number += blocks;
        self.timestamp += blocks * BLOCK_SECONDS;
        self.next_log_index = 0;
        self.next_transaction_index = 0;
        self
    }

    /// The number of the block the next log goes into.
    pub fn block_number(&self) -> u64 {
        self.number
    }

    /// The timestamp of that block.
    pub fn block_timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The hash this chain gives block `number`: distinct per number and easy to recognise in output (the
    /// number's big-endian bytes after `0xb1`), not a keccak.
    pub fn block_hash(number: u64) -> Hash32 {
        let mut hash = [0u8; 32];
        hash[0] = 0xb1;
        hash[24..].copy_from_slice(&number.to_be_bytes());
        hash
    }

    /// The hash this chain gives transaction `index` of block `number` (`0x7c`, the index, the number).
    pub fn transaction_hash(number: u64, index: u32) -> Hash32 {
        let mut hash = [0u8; 32];
        hash[0] = 0x7c;
        hash[20..24].copy_from_slice(&index.to_be_bytes());
        hash[24..].copy_from_slice(&number.to_be_bytes());
        hash
    }

    /// A log of the current block, emitted by `address` in a transaction of its own.
    pub fn log(&mut self, address: Address, topics: Vec<Hash32>, data: Vec<u8>) -> EthLog {
        let (log_index, transaction_index) = (self.next_log_index, self.next_transaction_index);
        self.next_log_index += 1;
        self.next_transaction_index += 1;
        EthLog {
            address,
            topics,
            data,
            block_number: self.number,
            block_hash: Self::block_hash(self.number),
            block_timestamp: self.timestamp,
            transaction_hash: Self::transaction_hash(self.number, transaction_index),
            transaction_index,
            log_index,
        }
    }

    /// An ERC-20 `Transfer(from, to, value)` emitted by `token` (from the zero address: a mint; to it: a burn).
    pub fn erc20_transfer(
        &mut self,
        token: Address,
        from: Address,
        to: Address,
        value: U256,
    ) -> EthLog {
        let topics = vec![TRANSFER_TOPIC, address_topic(&from), address_topic(&to)];
        self.log(token, topics, u256_word(value))
    }
}

/// `value` as one ABI word: 32 bytes, big-endian.
pub fn u256_word(value: U256) -> Vec<u8> {
    value.to_big_endian().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::topic_to_address;

    #[test]
    fn logs_are_placed_in_chain_order() {
        let mut chain = LogChain::starting_at(100, 1_000);
        let a = chain.log([1; 20], vec![], vec![]);
        let b = chain.log([1; 20], vec![], vec![]);
        let c = chain.skip_blocks(3).log([1; 20], vec![], vec![]);
        assert_eq!(
            (a.block_number, a.log_index, a.transaction_index),
            (100, 0, 0)
        );
        assert_eq!(
            (b.block_number, b.log_index, b.transaction_index),
            (100, 1, 1)
        );
        assert_eq!((c.block_number, c.log_index), (103, 0));
        assert_eq!(c.block_timestamp, 1_000 + 3 * BLOCK_SECONDS);
        assert_eq!(a.block_hash, b.block_hash);
        assert_ne!(a.block_hash, c.block_hash);
        assert_ne!(a.transaction_hash, b.transaction_hash);
        assert_eq!(c.block_hash, LogChain::block_hash(103));
    }

    #[test]
    fn erc20_transfer_layout() {
        let mut chain = LogChain::starting_at(1, 0);
        let log = chain.erc20_transfer([1; 20], [2; 20], [3; 20], U256::from(0x0102));
        assert_eq!(log.address, [1; 20]);
        assert_eq!(log.topics.len(), 3);
        assert_eq!(log.topics[0], TRANSFER_TOPIC);
        assert_eq!(topic_to_address(&log.topics[1]), [2; 20]);
        assert_eq!(topic_to_address(&log.topics[2]), [3; 20]);
        assert_eq!(log.data.len(), 32);
        assert_eq!(log.data[30..], [1, 2]);
    }
}
