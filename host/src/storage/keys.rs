//! Column family names and key encodings. Every key format lives here so readers and writers agree.

/// Blocks by height (`height_key`), SCALE `Block`.
pub const CF_BLOCKS: &str = "blocks";
/// Commit certificates by height (`height_key`), SCALE `CommitCertificate`.
pub const CF_COMMITS: &str = "commits";
/// Trie nodes by their 32-byte hash. Archival: never deleted.
pub const CF_TRIE: &str = "trie";
/// Receipts by 32-byte transaction hash, SCALE `StoredReceipt`.
pub const CF_RECEIPTS: &str = "receipts";
/// Consensus WAL by sequence number (`height_key` encoding of the sequence), SCALE `WalEntry`.
pub const CF_WAL: &str = "wal";
/// Chain head and the block-hash index.
pub const CF_META: &str = "meta";
/// Source blocks ingested by committed blocks, by their 32-byte hash (keccak256 of the header), SCALE
/// `EthBlockData`. Content-addressed and archival: what sync serves and replay reads.
pub const CF_SOURCE_BLOCKS: &str = "source_blocks";
/// The dataset records each committed block changed, by height (`height_key`), SCALE
/// `Vec<cvm_runtime::DatasetChanges>`: what change feeds serve.
pub const CF_CHANGES: &str = "changes";

/// Every column family this version uses. (Databases of earlier versions also hold `datasets`, an index of
/// record keys that nothing read; it is opened and left alone.)
pub const ALL_CFS: [&str; 8] = [
    CF_BLOCKS,
    CF_COMMITS,
    CF_TRIE,
    CF_RECEIPTS,
    CF_WAL,
    CF_META,
    CF_SOURCE_BLOCKS,
    CF_CHANGES,
];

/// Meta key of the chain head.
pub const HEAD_KEY: &[u8] = b"head";
const BLOCK_HASH_PREFIX: &[u8] = b"block-hash/";
/// Meta key of the validator sets around the head (SCALE `ValidatorSchedule`), written with each commit.
pub const VALIDATOR_SCHEDULE_KEY: &[u8] = b"validator-schedule";
/// Meta prefix of the validator sets by the first height they sign (`validator_set_key`), SCALE `ValidatorSet`:
/// one entry per membership change (the genesis set is not stored: the genesis file holds it).
pub const VALIDATOR_SET_PREFIX: &[u8] = b"validator-set/";

/// Meta prefix of the duplicate-vote evidence committed by each block (`evidence_key`), SCALE
/// `CommittedEvidence`; only blocks that carry some have an entry.
pub const EVIDENCE_PREFIX: &[u8] = b"evidence/";

/// Meta prefix of the duplicate-vote evidence waiting for a block, by offender (`pending_evidence_key`), SCALE
/// `DuplicateVoteEvidence`.
pub const PENDING_EVIDENCE_PREFIX: &[u8] = b"pending-evidence/";

/// Meta key of the pending evidence against `offender`.
pub fn pending_evidence_key(offender: &[u8; 32]) -> Vec<u8> {
    [PENDING_EVIDENCE_PREFIX, offender].concat()
}

/// Meta key of the evidence committed by the block at `height`.
pub fn evidence_key(height: u64) -> Vec<u8> {
    [EVIDENCE_PREFIX, &height_key(height)].concat()
}

/// Meta key of the validator set that signs from `height` on.
pub fn validator_set_key(height: u64) -> Vec<u8> {
    [VALIDATOR_SET_PREFIX, &height_key(height)].concat()
}

/// Big-endian, so keys sort by number.
pub fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

/// Inverse of [`height_key`]; `None` when the key is not 8 bytes.
pub fn parse_height_key(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}

/// Meta key of the block-hash → height index.
pub fn block_hash_key(hash: &[u8; 32]) -> Vec<u8> {
    [BLOCK_HASH_PREFIX, hash.as_slice()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn height_keys_sort_numerically() {
        assert!(height_key(2) < height_key(10));
        assert!(height_key(255) < height_key(256));
        assert_eq!(parse_height_key(&height_key(42)), Some(42));
        assert_eq!(parse_height_key(b"short"), None);
    }
}
