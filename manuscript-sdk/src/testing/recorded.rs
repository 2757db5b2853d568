//! What a mock invocation records: the records a manuscript emits and the lines it logs.

use crate::block_env::Level;
use parity_scale_codec::{Decode, DecodeAll};
use std::format;
use std::string::String;
use std::vec::Vec;

/// A record emitted into a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    /// Dataset name.
    pub dataset: String,
    /// Encoded key.
    pub key: Vec<u8>,
    /// Encoded value.
    pub value: Vec<u8>,
}

impl Emitted {
    /// Decodes the key as `K` (panics with a readable message if it does not decode).
    pub fn key_as<K: Decode>(&self) -> K {
        decode_or_panic(&self.key, "emitted key")
    }

    /// Decodes the value as `V` (panics with a readable message if it does not decode).
    pub fn value_as<V: Decode>(&self) -> V {
        decode_or_panic(&self.value, "emitted value")
    }
}

/// A log line written by a manuscript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Level.
    pub level: Level,
    /// Message (truncated to 4,096 bytes like the CVM).
    pub message: String,
}

/// Decodes `bytes` as `T`, or panics with a message naming `what` and the bytes.
pub(super) fn decode_or_panic<T: Decode>(bytes: &[u8], what: &str) -> T {
    T::decode_all(&mut &bytes[..]).unwrap_or_else(|e| {
        panic!(
            "{what} 0x{} does not decode as {}: {e}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            std::any::type_name::<T>()
        )
    })
}
