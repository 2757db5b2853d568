//! [`MainRead`]: reads of the main trie, whether of a committed state or of a block's state as it has left it so
//! far, and the typed reads every caller shares.

use parity_scale_codec::Decode;

use super::error::StateError;
use super::layout::source_key;
use super::trie::TrieView;

/// Read access to the main trie: a committed state, or a block's state as it has left it so far.
pub trait MainRead {
    /// The value at `key`.
    fn main_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;
}

impl MainRead for TrieView {
    fn main_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.get(key)
    }
}

/// The SCALE-decoded value at `key`; a value that does not decode is corrupt state.
pub fn decoded<T: Decode>(view: &impl MainRead, key: &[u8]) -> Result<Option<T>, StateError> {
    let Some(bytes) = view.main_value(key)? else {
        return Ok(None);
    };
    T::decode(&mut &bytes[..])
        .map(Some)
        .map_err(|e| StateError::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            reason: e.to_string(),
        })
}

/// The manuscripts subscribed to `source`, in deploy order (empty: nobody reads it).
pub fn subscribers(view: &impl MainRead, source: &str) -> Result<Vec<String>, StateError> {
    Ok(decoded(view, &source_key(source))?.unwrap_or_default())
}
