//! Column family names and key encodings. Every key format lives here so readers and writers agree.

/// Blocks by height (`height_key`), SCALE `Block`.
pub const CF_BLOCKS: &str = "blocks";
/// Commit certificates by height (`height_key`), SCALE `CommitCertificate`.
pub const CF_COMMITS: &str = "commits";
/// Trie nodes by their 32-byte hash. Archival: never deleted.
pub const CF_TRIE: &str = "trie";
/// Receipts by 32-byte transaction hash, SCALE `StoredReceipt`.
pub const CF_RECEIPTS: &str = "receipts";
/// Dataset index (`dataset_key`) → height the record was last written at (`height_key` bytes).
pub const CF_DATASETS: &str = "datasets";
/// Consensus WAL by sequence number (`height_key` encoding of the sequence), SCALE `WalEntry`.
pub const CF_WAL: &str = "wal";
/// Chain head and the block-hash index.
pub const CF_META: &str = "meta";

/// Every column family this version uses.
pub const ALL_CFS: [&str; 7] = [
    CF_BLOCKS,
    CF_COMMITS,
    CF_TRIE,
    CF_RECEIPTS,
    CF_DATASETS,
    CF_WAL,
    CF_META,
];

/// Meta key of the chain head.
pub const HEAD_KEY: &[u8] = b"head";
const BLOCK_HASH_PREFIX: &[u8] = b"block-hash/";

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

/// The common prefix of every index key of one (manuscript, dataset): both names length-prefixed (u32
/// big-endian), so no pair of names can produce the prefix of another pair.
pub fn dataset_prefix(manuscript: &str, dataset: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + manuscript.len() + dataset.len());
    for part in [manuscript.as_bytes(), dataset.as_bytes()] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Index key of one record: the prefix followed by the raw record key, so keys of one dataset sort as the
/// record keys do.
pub fn dataset_key(manuscript: &str, dataset: &str, key: &[u8]) -> Vec<u8> {
    let mut out = dataset_prefix(manuscript, dataset);
    out.extend_from_slice(key);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_keys_are_unambiguous_and_ordered() {
        // Same concatenated bytes, different split: different keys.
        assert_ne!(dataset_key("ab", "c", b"k"), dataset_key("a", "bc", b"k"));
        assert_ne!(dataset_key("a", "b", b"ck"), dataset_key("a", "bc", b"k"));
        assert!(dataset_key("m", "d", b"a") < dataset_key("m", "d", b"b"));
        assert!(dataset_key("m", "d", b"zz").starts_with(&dataset_prefix("m", "d")));
        assert!(!dataset_key("m", "dd", b"a").starts_with(&dataset_prefix("m", "d")));
    }

    #[test]
    fn height_keys_sort_numerically() {
        assert!(height_key(2) < height_key(10));
        assert!(height_key(255) < height_key(256));
        assert_eq!(parse_height_key(&height_key(42)), Some(42));
        assert_eq!(parse_height_key(b"short"), None);
    }
}
