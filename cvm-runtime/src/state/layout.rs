//! Keys of the main trie and of manuscript child tries (docs/ARCHITECTURE.md, "State keys").
//!
//! Main trie: `manuscript/<id>` -> [`ManuscriptMeta`], `code/<hash>` -> wasm, `account/<pubkey>` -> nonce (u64),
//! `source/<source>` -> subscribed manuscript ids in deploy order.
//! Child trie of a manuscript: `s/<key>` -> state value, `d/<dataset>/<key>` -> record of a keyed dataset,
//! `a/<dataset>/<height, 8 bytes big-endian>` -> [`AppendBlock`] of an append-only dataset (the root of that block's
//! tree of appended records, whose own keys are the record keys).

use parity_scale_codec::{Decode, Encode};

/// Main trie: manuscript name -> [`ManuscriptMeta`].
pub const MANUSCRIPT_PREFIX: &[u8] = b"manuscript/";
/// Main trie: code hash -> wasm binary.
pub const CODE_PREFIX: &[u8] = b"code/";
/// Main trie: ed25519 public key -> next nonce.
pub const ACCOUNT_PREFIX: &[u8] = b"account/";
/// Main trie: source -> subscribed manuscript names.
pub const SOURCE_PREFIX: &[u8] = b"source/";
/// Child trie: a manuscript's state entries.
pub const STATE_PREFIX: &[u8] = b"s/";
/// Child trie: a manuscript's dataset records.
pub const RECORD_PREFIX: &[u8] = b"d/";
/// Child trie: the per-block commitments of a manuscript's append-only datasets.
pub const APPEND_PREFIX: &[u8] = b"a/";

fn join(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + rest.len());
    key.extend_from_slice(prefix);
    key.extend_from_slice(rest);
    key
}

/// Main-trie key of a manuscript's metadata.
pub fn manuscript_key(id: &str) -> Vec<u8> {
    join(MANUSCRIPT_PREFIX, id.as_bytes())
}

/// Main-trie key of a wasm binary.
pub fn code_key(code_hash: &[u8; 32]) -> Vec<u8> {
    join(CODE_PREFIX, code_hash)
}

/// Main-trie key of an account's nonce.
pub fn account_key(public_key: &[u8; 32]) -> Vec<u8> {
    join(ACCOUNT_PREFIX, public_key)
}

/// Main-trie key of a source's subscribers.
pub fn source_key(source: &str) -> Vec<u8> {
    join(SOURCE_PREFIX, source.as_bytes())
}

/// Child-trie key of a manuscript state entry.
pub fn state_key(key: &[u8]) -> Vec<u8> {
    join(STATE_PREFIX, key)
}

/// Child-trie key of a dataset record. Dataset names cannot contain `/`, so the key is unambiguous.
pub fn record_key(dataset: &str, key: &[u8]) -> Vec<u8> {
    record_key_parts(dataset, key).concat()
}

/// The parts [`record_key`] joins, for building the key into another buffer.
pub fn record_key_parts<'a>(dataset: &'a str, key: &'a [u8]) -> [&'a [u8]; 4] {
    [RECORD_PREFIX, dataset.as_bytes(), b"/", key]
}

/// Prefix of all records of one dataset in a child trie.
pub fn dataset_prefix(dataset: &str) -> Vec<u8> {
    record_key(dataset, &[])
}

/// Child-trie key of the records an append-only dataset got in the block at `height`. Big-endian, so a dataset's
/// blocks are in height order.
pub fn append_key(dataset: &str, height: u64) -> Vec<u8> {
    [
        APPEND_PREFIX,
        dataset.as_bytes(),
        b"/",
        &height.to_be_bytes(),
    ]
    .concat()
}

/// Prefix of all block commitments of one append-only dataset in a child trie.
pub fn append_prefix(dataset: &str) -> Vec<u8> {
    [APPEND_PREFIX, dataset.as_bytes(), b"/"].concat()
}

/// The height an [`append_key`] of `dataset` names, or `None` when `key` is not one.
pub fn append_key_height(dataset: &str, key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(append_prefix(dataset).as_slice())?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

/// What an append-only dataset got in one block: the root of a trie (same layout as all state) whose keys are the
/// block's record keys and whose values are the records, and how many records it holds. Stored at
/// [`append_key`]; the tree's nodes are in the node store like every trie's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct AppendBlock {
    /// Records in the tree (at least 1: a block that appended nothing has no entry).
    pub count: u32,
    /// Root of the tree.
    pub root: [u8; 32],
}

/// What the main trie stores about a deployed manuscript.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ManuscriptMeta {
    /// The manuscript's unique name.
    pub name: String,
    /// Blake2-256 of its code (stored under [`code_key`]).
    pub code_hash: [u8; 32],
    /// The registered sources it is bound to (subscribed to), one per manifest source, in the manifest's order.
    pub sources: Vec<String>,
    /// The manifest's own source names, in order: the manuscript is invoked with `slots[i]` for records of
    /// `sources[i]`.
    pub slots: Vec<String>,
    /// The datasets it may emit into.
    pub datasets: Vec<String>,
    /// Fuel each record's invocation may use.
    pub fuel_limit_per_record: u64,
    /// Root of the manuscript's child trie (its state and datasets).
    pub child_root: [u8; 32],
    /// Height of the block that deployed it.
    pub deployed_at: u64,
    /// Public key of the account that deployed it.
    pub deployer: [u8; 32],
    /// The datasets among `datasets` that are append-only (their records are committed per block under
    /// [`append_key`], not as `d/` entries).
    pub append_only: Vec<String>,
}

impl ManuscriptMeta {
    /// Whether `dataset` is one of its append-only datasets.
    pub fn is_append_only(&self, dataset: &str) -> bool {
        self.append_only.iter().any(|d| d == dataset)
    }
}
