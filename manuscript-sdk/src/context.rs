//! [`Context`]: what a manuscript can do while processing one record — read and write its state,
//! emit dataset records, read block info and log.

use crate::block_env::{BlockInfo, Level};
use crate::error::Error;
use crate::scratch::with_encoded;
use crate::sys;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;
use parity_scale_codec::{Decode, Encode};

/// The manuscript's handle on the host during one invocation.
///
/// State keys and values are SCALE encodings of the typed arguments. Fixed-size arrays and
/// integers encode without a length prefix, so a tuple key `(token, holder)` of two `[u8; 20]`
/// is their concatenation and [`iter_prefix`](Context::iter_prefix)`(&token)` visits every
/// holder of a token. (`Vec<u8>`/`String`/`&[u8]` keys carry a compact length prefix.)
///
/// Writes made during an invocation are kept only if it succeeds.
///
/// The lifetime is the invocation's: a context borrows the source id from the call's inputs rather than copying
/// it for every record (`ctx: &mut Context` in a manuscript's signature elides it).
#[derive(Debug)]
pub struct Context<'a> {
    source: &'a str,
}

impl<'a> Context<'a> {
    pub(crate) fn new(source: &'a str) -> Self {
        Context { source }
    }

    /// The id of the source the current record comes from (one of the manifest's sources).
    pub fn source(&self) -> &'a str {
        self.source
    }

    /// Height and time of the block being executed.
    pub fn block(&self) -> BlockInfo {
        BlockInfo {
            height: sys::block_height(),
            time_ms: sys::block_time(),
        }
    }

    /// Reads and decodes the value stored under `key`; `Ok(None)` if absent.
    pub fn get<K: Encode + ?Sized, V: Decode>(&self, key: &K) -> Result<Option<V>, Error> {
        with_encoded(key, |k| {
            sys::state_get_with(k, |bytes| decode_exact(bytes, "state value"))
        })
        .transpose()
    }

    /// Encodes and stores `value` under `key`.
    pub fn set<K: Encode + ?Sized, V: Encode + ?Sized>(&mut self, key: &K, value: &V) {
        with_encoded(key, |k| with_encoded(value, |v| self.set_raw(k, v)))
    }

    /// Removes `key` (no-op if absent).
    pub fn remove<K: Encode + ?Sized>(&mut self, key: &K) {
        with_encoded(key, |k| self.remove_raw(k))
    }

    /// Whether a value is stored under `key`.
    pub fn contains<K: Encode + ?Sized>(&self, key: &K) -> bool {
        with_encoded(key, |k| sys::state_get_with(k, |_| ())).is_some()
    }

    /// Iterates, in ascending key order, over the entries whose encoded key starts with the
    /// encoding of `prefix`, decoding each full key as `K` and value as `V`.
    ///
    /// The iterator does not borrow the context: it sees writes made while iterating, and always
    /// continues from the smallest key greater than the last one it returned.
    pub fn iter_prefix<P: Encode + ?Sized, K: Decode, V: Decode>(
        &self,
        prefix: &P,
    ) -> PrefixIter<K, V> {
        PrefixIter {
            raw: self.iter_prefix_raw(&prefix.encode()),
            _types: PhantomData,
        }
    }

    /// Raw bytes under `key`.
    pub fn get_raw(&self, key: &[u8]) -> Option<Vec<u8>> {
        sys::state_get_with(key, <[u8]>::to_vec)
    }

    /// Stores raw bytes under `key`.
    pub fn set_raw(&mut self, key: &[u8], value: &[u8]) {
        sys::state_set(key, value)
    }

    /// Removes the raw `key`.
    pub fn remove_raw(&mut self, key: &[u8]) {
        sys::state_remove(key)
    }

    /// Iterates over raw `(key, value)` pairs whose key starts with `prefix`.
    pub fn iter_prefix_raw(&self, prefix: &[u8]) -> RawPrefixIter {
        RawPrefixIter {
            prefix: prefix.to_vec(),
            last: None,
        }
    }

    /// Emits a record into `dataset` (which the manifest must declare). A later emit of the same
    /// key in the same dataset replaces it.
    pub fn emit<K: Encode + ?Sized, V: Encode + ?Sized>(
        &mut self,
        dataset: &str,
        key: &K,
        value: &V,
    ) {
        with_encoded(key, |k| {
            with_encoded(value, |v| self.emit_raw(dataset, k, v))
        })
    }

    /// Emits raw bytes into `dataset`.
    pub fn emit_raw(&mut self, dataset: &str, key: &[u8], value: &[u8]) {
        sys::emit(dataset, key, value)
    }

    /// Writes a log line (not part of consensus state).
    pub fn log(&self, level: Level, message: impl fmt::Display) {
        sys::log(level as i32, &message.to_string())
    }

    /// Logs at level error.
    pub fn error(&self, message: impl fmt::Display) {
        self.log(Level::Error, message)
    }

    /// Logs at level warn.
    pub fn warn(&self, message: impl fmt::Display) {
        self.log(Level::Warn, message)
    }

    /// Logs at level info: `ctx.info(format_args!("saw {n} logs"))`.
    pub fn info(&self, message: impl fmt::Display) {
        self.log(Level::Info, message)
    }

    /// Logs at level debug.
    pub fn debug(&self, message: impl fmt::Display) {
        self.log(Level::Debug, message)
    }

    /// Logs at level trace.
    pub fn trace(&self, message: impl fmt::Display) {
        self.log(Level::Trace, message)
    }
}

fn decode_exact<T: Decode>(bytes: &[u8], what: &str) -> Result<T, Error> {
    crate::scratch::decode_all(bytes).map_err(|e| Error::Decode(alloc::format!("{what}: {e}")))
}

/// Iterator over raw state entries with a key prefix; see [`Context::iter_prefix_raw`].
#[derive(Debug)]
pub struct RawPrefixIter {
    prefix: Vec<u8>,
    last: Option<Vec<u8>>,
}

impl Iterator for RawPrefixIter {
    type Item = (Vec<u8>, Vec<u8>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let key = sys::state_next_key(&self.prefix, self.last.as_deref())?;
            let value = sys::state_get_with(&key, <[u8]>::to_vec);
            self.last = Some(key.clone());
            if let Some(value) = value {
                return Some((key, value));
            }
        }
    }
}

/// Iterator over typed state entries with a key prefix; see [`Context::iter_prefix`].
pub struct PrefixIter<K, V> {
    raw: RawPrefixIter,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K: Decode, V: Decode> Iterator for PrefixIter<K, V> {
    type Item = Result<(K, V), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let (key, value) = self.raw.next()?;
        Some(
            decode_exact(&key, "state key")
                .and_then(|k| Ok((k, decode_exact(&value, "state value")?))),
        )
    }
}

impl<K, V> fmt::Debug for PrefixIter<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrefixIter")
            .field("raw", &self.raw)
            .finish()
    }
}
