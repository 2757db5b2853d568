//! Range proofs: the records of a key range of one trie, proven complete, with a proof sized by the range.
//!
//! A range is every key that starts with `prefix` and is `>= start`, in key order, cut after `limit` keys.
//! [`prove_range`] walks the trie with trie-db's iterator (seek to `start`, then `next` until a key leaves the
//! prefix, the iteration ends, or `limit + 1` keys were read) and records every node the walk reads; the proof is
//! those nodes, in trie-db's compact encoding. [`verify_range`] decodes the proof into a database holding only
//! those nodes and runs the same walk on it.
//!
//! # Why a verified range is complete
//!
//! Every node in the verifier's database is addressed by its Blake2-256 hash, and decoding checks that the
//! nodes hash up to the expected root; so each node the walk reads is the node the full trie holds at that
//! place (short of a hash collision). The walk is a deterministic function of the nodes it reads. It therefore
//! either reads a node the proof left out, and fails with an incomplete-database error, or reads exactly the
//! nodes it read on the full trie and returns exactly what it returned there. A subtree the proof omits (present
//! only as its hash) is one the walk never entered: the walk enters every subtree holding a key between `start`
//! and the key after the last one returned, so no key of the range can sit in an omitted subtree. The extra key
//! read past the last record (or the end of the iteration, or a key outside the prefix) is what makes `more`
//! proven: the last page shows that no key of the prefix follows, a page with `more` shows that one does.
//!
//! The verifier takes the records from the proof, not from the answer that carries it, so a page with a record
//! removed, added, reordered or changed is caught by comparing its records with the verified ones.
//!
//! # Size
//!
//! The walk reads the path from the root to `start` and the nodes between the range's first and last keys plus
//! one: about `limit` leaves, the branches above them (a sixteenth as many, and so on up), and two root paths of
//! the trie's depth (logarithmic in the number of keys). Nothing else of the trie enters the proof, so its size
//! grows with the page, not with the trie.

use parity_scale_codec::{Decode, Encode};
use sp_core::{Blake2Hasher, H256};
use sp_trie::{MemoryDB, Recorder, Trie, TrieDBBuilder};

use super::store::NodeStore;
use super::trie::{Layout, StoreReader};

/// A key range of one trie: keys starting with `prefix`, from `start` (inclusive) on, at most `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct RangeQuery {
    /// Only keys starting with these bytes.
    pub prefix: Vec<u8>,
    /// The first key the range may hold (the walk starts at `max(start, prefix)`).
    pub start: Vec<u8>,
    /// The most keys returned.
    pub limit: u32,
}

impl RangeQuery {
    /// The range that follows a page whose last key was `last`: same prefix and limit, from the least key after
    /// `last` (`last` followed by a zero byte).
    pub fn after(&self, last: &[u8]) -> RangeQuery {
        let mut start = Vec::with_capacity(last.len() + 1);
        start.extend_from_slice(last);
        start.push(0);
        RangeQuery {
            prefix: self.prefix.clone(),
            start,
            limit: self.limit,
        }
    }

    fn seek_key(&self) -> &[u8] {
        if self.start < self.prefix {
            &self.prefix
        } else {
            &self.start
        }
    }
}

/// The records of a range, in key order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangePage {
    /// (key, value), keys ascending.
    pub records: Vec<(Vec<u8>, Vec<u8>)>,
    /// Whether a key of the prefix follows the last record (always `false` on a page shorter than its limit).
    pub more: bool,
}

/// Proof of a [`RangePage`]: the trie nodes the walk reads, compact-encoded (a node's hash is left out of its
/// parent when the node itself is in the proof).
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct RangeProof {
    /// trie-db compact encoding of the nodes, in traversal order; empty for the empty trie.
    pub nodes: Vec<Vec<u8>>,
}

impl RangeProof {
    /// Bytes of the encoded nodes.
    pub fn byte_len(&self) -> usize {
        self.nodes.iter().map(Vec::len).sum()
    }
}

/// Why a range cannot be proven or its proof does not verify.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RangeError {
    /// The trie at the root cannot be read.
    #[error("cannot read the trie to prove the range: {0}")]
    Read(String),
    /// The proof's nodes are not a compact trie encoding with the expected root.
    #[error("the range proof does not decode to the expected root: {0}")]
    Decode(String),
    /// The proof holds nodes past the trie its root spans.
    #[error("the range proof carries {extra} encoded nodes past its trie")]
    TrailingNodes {
        /// How many.
        extra: usize,
    },
    /// The walk over the range needs a node the proof leaves out: the proof does not show the range complete.
    #[error(
        "the range proof leaves out part of the range (a subtree it holds only by hash): it does not prove \
         that no record is missing ({0})"
    )]
    Incomplete(String),
    /// A limit of zero proves nothing.
    #[error("a range's limit must be at least 1")]
    ZeroLimit,
}

/// What [`walk`] did, and what it stopped on.
enum Walked {
    Page(RangePage),
    Failed(String),
}

/// The walk both sides run: seek to the range's start, then take keys until one leaves the prefix, the iteration
/// ends, or a key past `limit` shows that more follow. `max_bytes` (prover only) shortens the page once its keys
/// and values pass that many bytes; the caller then states the shortened limit.
fn walk(trie: &sp_trie::TrieDB<'_, '_, Layout>, query: &RangeQuery, max_bytes: usize) -> Walked {
    let mut iter = match trie.iter() {
        Ok(iter) => iter,
        Err(e) => return Walked::Failed(e.to_string()),
    };
    if let Err(e) = iter.seek(query.seek_key()) {
        return Walked::Failed(e.to_string());
    }
    let mut page = RangePage::default();
    let mut bytes = 0usize;
    for item in iter {
        let (key, value) = match item {
            Ok(kv) => kv,
            Err(e) => return Walked::Failed(e.to_string()),
        };
        if !key.starts_with(&query.prefix) {
            break;
        }
        if page.records.len() >= query.limit as usize
            || (bytes >= max_bytes && !page.records.is_empty())
        {
            page.more = true;
            break;
        }
        bytes = bytes.saturating_add(key.len() + value.len());
        page.records.push((key, value));
    }
    Walked::Page(page)
}

/// Proves the range `query` of the trie with `root` in `store`. Returns the limit actually served (below
/// `query.limit` when the records passed `max_bytes` first; the verifier must be given it), the page and its
/// proof.
pub fn prove_range(
    store: &dyn NodeStore,
    root: H256,
    query: &RangeQuery,
    max_bytes: usize,
) -> Result<(u32, RangePage, RangeProof), RangeError> {
    if query.limit == 0 {
        return Err(RangeError::ZeroLimit);
    }
    let db = StoreReader::new(store);
    let mut recorder = Recorder::<Layout>::new();
    let page = {
        let trie = TrieDBBuilder::<Layout>::new(&db, &root)
            .with_recorder(&mut recorder)
            .build();
        match walk(&trie, query, max_bytes) {
            Walked::Page(page) => page,
            Walked::Failed(e) => return Err(RangeError::Read(e)),
        }
    };
    let served = if page.more {
        page.records.len() as u32
    } else {
        query.limit
    };
    let mut partial = MemoryDB::<Blake2Hasher>::default();
    for record in recorder.drain() {
        hash_db::HashDB::emplace(
            &mut partial,
            record.hash,
            hash_db::EMPTY_PREFIX,
            record.data,
        );
    }
    let nodes = if hash_db::HashDB::contains(&partial, &root, hash_db::EMPTY_PREFIX) {
        let trie = TrieDBBuilder::<Layout>::new(&partial, &root).build();
        trie_db::encode_compact::<Layout>(&trie).map_err(|e| RangeError::Read(e.to_string()))?
    } else {
        // The empty trie: the walk read no stored node.
        Vec::new()
    };
    Ok((served, page, RangeProof { nodes }))
}

/// Checks `proof` against `root` for `query` (with the limit the prover served) and returns the proven page:
/// exactly the records of the range in the trie, and whether more follow. See the module docs for why nothing
/// of the range can be left out.
pub fn verify_range(
    root: &H256,
    proof: &RangeProof,
    query: &RangeQuery,
) -> Result<RangePage, RangeError> {
    if query.limit == 0 {
        return Err(RangeError::ZeroLimit);
    }
    let mut db = MemoryDB::<Blake2Hasher>::default();
    if !proof.nodes.is_empty() {
        let (decoded_root, used) = trie_db::decode_compact::<Layout, _>(&mut db, &proof.nodes)
            .map_err(|e| RangeError::Decode(e.to_string()))?;
        if decoded_root != *root {
            return Err(RangeError::Decode(format!(
                "the nodes hash to root {decoded_root:?}, expected {root:?}"
            )));
        }
        if used != proof.nodes.len() {
            return Err(RangeError::TrailingNodes {
                extra: proof.nodes.len() - used,
            });
        }
    }
    let trie = TrieDBBuilder::<Layout>::new(&db, root).build();
    match walk(&trie, query, usize::MAX) {
        Walked::Page(page) => Ok(page),
        Walked::Failed(e) => Err(RangeError::Incomplete(e)),
    }
}
