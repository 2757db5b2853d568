//! The tree of one block's records of one append-only dataset: a trie of the state layout whose keys are the
//! record keys, built in one pass over the sorted records (trie-db's `trie_visit`), its nodes written where the
//! block's other new nodes go.

use hash_db::HashDB;
use sp_core::{Blake2Hasher, H256};
use sp_trie::DBValue;
use trie_db::{TrieBuilder, trie_visit};

use super::layout::AppendBlock;
use super::trie::Layout;

/// Builds the tree of `records` (keys strictly increasing, at least one) into `db` and returns its commitment.
pub fn build_append_tree<'a>(
    db: &mut impl HashDB<Blake2Hasher, DBValue>,
    records: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> AppendBlock {
    let mut count = 0u32;
    let counted = records
        .into_iter()
        .inspect(|_| count = count.saturating_add(1));
    let mut builder = TrieBuilder::<Layout, _>::new(db);
    trie_visit::<Layout, _, _, _, _>(counted, &mut builder);
    // trie_visit always hands the builder a root, the empty trie's included.
    let root: H256 = builder.root.unwrap_or_default();
    AppendBlock {
        count,
        root: root.to_fixed_bytes(),
    }
}
