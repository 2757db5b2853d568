//! Small RocksDB helpers every storage file writes through: column family handles, and batch writes with or
//! without a sync.

use rocksdb::{ColumnFamily, DB, WriteBatch, WriteOptions};

use super::StorageError;

/// The handle of a column family that [`Storage::open`](super::Storage::open) created.
pub(super) fn cf<'a>(db: &'a DB, name: &'static str) -> Result<&'a ColumnFamily, StorageError> {
    db.cf_handle(name).ok_or_else(|| StorageError::Db {
        op: format!("opening column family {name}"),
        detail: "column family missing".into(),
    })
}

/// Writes `batch` atomically and durably (fsynced WAL) before returning.
pub(super) fn sync_write(db: &DB, batch: WriteBatch, op: &str) -> Result<(), StorageError> {
    write(db, batch, op, true)
}

/// Writes `batch` atomically; durably before returning when `sync`, otherwise at the next synced write (a
/// crash before it loses a suffix of such writes, never one in the middle).
pub(super) fn write(db: &DB, batch: WriteBatch, op: &str, sync: bool) -> Result<(), StorageError> {
    let mut opts = WriteOptions::default();
    opts.set_sync(sync);
    db.write_opt(batch, &opts)
        .map_err(|e| StorageError::db(op, e))
}

/// Makes every write so far durable: fsyncs RocksDB's log (one log for all column families).
pub(super) fn sync_log(db: &DB, op: &str) -> Result<(), StorageError> {
    db.flush_wal(true).map_err(|e| StorageError::db(op, e))
}
