//! What can go wrong in the storage layer, each error naming the cause and what the operator can do.

use std::path::PathBuf;

/// A storage failure. Never a panic: a failed write (disk full, I/O error) surfaces here and leaves nothing
/// half-written, because every multi-key write is one RocksDB batch.
#[derive(Debug, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum StorageError {
    #[error(
        "cannot open the database at {path}: permission denied ({detail}); make the directory writable by the \
         user running the node, or choose another home directory"
    )]
    Permission { path: PathBuf, detail: String },
    #[error("another cvm node is using {path}; stop it first ({detail})")]
    Locked { path: PathBuf, detail: String },
    #[error(
        "the database at {path} is corrupt ({detail}); restore it from a backup, or remove the directory and \
         let the node sync the chain from its peers"
    )]
    Corruption { path: PathBuf, detail: String },
    #[error("cannot open the database at {path}: {detail}")]
    Open { path: PathBuf, detail: String },
    #[error("database {op} failed: {detail} (is the disk full or failing?)")]
    Db { op: String, detail: String },
    #[error(
        "stored {what} does not decode: {source} (the database is corrupt or was written by an incompatible \
         version)"
    )]
    Decode {
        what: String,
        source: parity_scale_codec::Error,
    },
    #[error(
        "cannot commit block at height {height}: the next height is {expected}; nothing was written"
    )]
    NotNextHeight { height: u64, expected: u64 },
    #[error("cannot commit block at height {height}: {reason}; nothing was written")]
    InvalidCommit { height: u64, reason: String },
    #[error(
        "consensus WAL record #{seq} does not decode: {source} (the WAL is corrupt or was written by an \
         incompatible version; the node must not guess what it signed: restore or inspect the database)"
    )]
    WalDecode {
        seq: u64,
        source: parity_scale_codec::Error,
    },
    #[error("stored {what} has a malformed key {key} (the database is corrupt)")]
    BadKey { what: &'static str, key: String },
}

impl StorageError {
    /// A failed read or write of an open database.
    pub(crate) fn db(op: impl Into<String>, e: rocksdb::Error) -> Self {
        StorageError::Db {
            op: op.into(),
            detail: e.into_string(),
        }
    }

    /// A failed decode of a stored value.
    pub(crate) fn decode(what: impl Into<String>, source: parity_scale_codec::Error) -> Self {
        StorageError::Decode {
            what: what.into(),
            source,
        }
    }

    /// Classifies a failure of `DB::open`: lock, permission, corruption or other.
    pub(crate) fn open(path: PathBuf, e: rocksdb::Error) -> Self {
        Self::open_message(path, e.into_string())
    }

    /// Classifies a RocksDB open error by its message (RocksDB reports these only as text, e.g.
    /// `IO error: While lock file: <path>/LOCK: Resource temporarily unavailable`).
    pub(crate) fn open_message(path: PathBuf, detail: String) -> Self {
        let lower = detail.to_ascii_lowercase();
        // Permission first: a LOCK file we may not open is a permission problem, not another node.
        if lower.contains("permission denied") || lower.contains("read-only file system") {
            StorageError::Permission { path, detail }
        } else if lower.contains("/lock:")
            || lower.contains("lock file")
            || lower.contains("lock hold")
        {
            StorageError::Locked { path, detail }
        } else if lower.starts_with("corruption:") {
            StorageError::Corruption { path, detail }
        } else {
            StorageError::Open { path, detail }
        }
    }
}
