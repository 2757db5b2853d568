//! The generic key/value record.

use alloc::vec::Vec;
use parity_scale_codec::{Decode, Encode};

/// A generic record: opaque key and value bytes.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
pub struct KvRecord {
    /// Record key.
    pub key: Vec<u8>,
    /// Record value.
    pub value: Vec<u8>,
}

impl KvRecord {
    /// A record from anything byte-like: `KvRecord::new("k", "v")`.
    pub fn new(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        KvRecord {
            key: key.as_ref().to_vec(),
            value: value.as_ref().to_vec(),
        }
    }
}
