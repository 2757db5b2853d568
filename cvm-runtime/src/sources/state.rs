//! Where sources live in the main trie, and reads of them at any state.
//!
//! `sourcedef/<name>` → [`SourceDef`], `sourcehead/<name>` → [`SourceHead`] (absent until the source's first
//! block or ingest), `governance` → the keys allowed to register sources (`Vec<[u8; 32]>`).

use super::types::{SourceDef, SourceHead};
use crate::state::{MainRead, StateError, TrieView, decoded};

/// Main trie: source name → [`SourceDef`].
pub const SOURCE_DEF_PREFIX: &[u8] = b"sourcedef/";
/// Main trie: source name → [`SourceHead`].
pub const SOURCE_HEAD_PREFIX: &[u8] = b"sourcehead/";
/// Main trie: the governance keys.
pub const GOVERNANCE_KEY: &[u8] = b"governance";

/// Main-trie key of a source's definition.
pub fn source_def_key(name: &str) -> Vec<u8> {
    [SOURCE_DEF_PREFIX, name.as_bytes()].concat()
}

/// Main-trie key of a source's head.
pub fn source_head_key(name: &str) -> Vec<u8> {
    [SOURCE_HEAD_PREFIX, name.as_bytes()].concat()
}

/// The definition of source `name`, if registered.
pub fn source_def(view: &impl MainRead, name: &str) -> Result<Option<SourceDef>, StateError> {
    decoded(view, &source_def_key(name))
}

/// How far source `name` has been ingested (`None`: nothing yet).
pub fn source_head(view: &impl MainRead, name: &str) -> Result<Option<SourceHead>, StateError> {
    decoded(view, &source_head_key(name))
}

/// Every source registered in a committed state, ordered by name.
pub fn sources(view: &TrieView) -> Result<Vec<SourceDef>, StateError> {
    let mut out = Vec::new();
    let mut at = SOURCE_DEF_PREFIX.to_vec();
    while let Some(key) = view.next_key(SOURCE_DEF_PREFIX, &at, true)? {
        if let Some(def) = decoded(view, &key)? {
            out.push(def);
        }
        at = key;
    }
    Ok(out)
}

/// The keys whose transactions may register sources.
pub fn governance(view: &impl MainRead) -> Result<Vec<[u8; 32]>, StateError> {
    Ok(decoded(view, GOVERNANCE_KEY)?.unwrap_or_default())
}
