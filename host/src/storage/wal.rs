//! The consensus write-ahead log in column family `wal`: one record per key, keyed by a big-endian sequence
//! number so iteration returns records in append order.
//!
//! `append` writes without fsync (RocksDB's own log gets the bytes, the OS may still hold them); `sync` makes
//! everything appended so far durable by syncing RocksDB's log, which is what the driver calls before it
//! broadcasts a signed message. `clear` deletes every record in one synced write.

use std::sync::Arc;

use cvm_consensus::error::WalError;
use cvm_consensus::wal::{Wal, WalEntry};
use parity_scale_codec::{Decode, DecodeAll, Encode};
use rocksdb::{DB, IteratorMode, WriteBatch, WriteOptions};

use super::keys::{CF_WAL, height_key, parse_height_key};
use super::rocks::{cf, sync_log, write};
use super::{Storage, StorageError};

/// The consensus WAL backed by the node's database. Get it from [`Storage::wal`].
pub struct RocksWal {
    db: Arc<DB>,
    next_seq: u64,
}

fn wal_io(e: impl std::fmt::Display) -> WalError {
    WalError::Io(std::io::Error::other(e.to_string()))
}

/// Sequence number of the last record, if any.
fn last_seq(db: &DB) -> Result<Option<u64>, StorageError> {
    let mut iter = db.iterator_cf(cf(db, CF_WAL)?, IteratorMode::End);
    match iter.next() {
        None => Ok(None),
        Some(item) => {
            let (k, _) = item.map_err(|e| StorageError::db("WAL scan", e))?;
            parse_height_key(&k).map(Some).ok_or(StorageError::BadKey {
                what: "WAL record",
                key: hex::encode(&k),
            })
        }
    }
}

impl Storage {
    /// The consensus WAL; new records go after those already stored.
    pub fn wal(&self) -> Result<RocksWal, StorageError> {
        let next_seq = last_seq(&self.db)?.map_or(0, |s| s + 1);
        Ok(RocksWal {
            db: self.db.clone(),
            next_seq,
        })
    }

    /// Every WAL record in append order. A record that does not decode is an error naming its sequence
    /// number: the driver must never guess what it signed.
    pub fn load_wal<V: Decode>(&self) -> Result<Vec<WalEntry<V>>, StorageError> {
        let iter = self
            .db
            .iterator_cf(cf(&self.db, CF_WAL)?, IteratorMode::Start);
        let mut entries = Vec::new();
        for item in iter {
            let (k, v) = item.map_err(|e| StorageError::db("WAL scan", e))?;
            let seq = parse_height_key(&k).ok_or_else(|| StorageError::BadKey {
                what: "WAL record",
                key: hex::encode(&k),
            })?;
            let entry = WalEntry::<V>::decode_all(&mut &v[..])
                .map_err(|source| StorageError::WalDecode { seq, source })?;
            entries.push(entry);
        }
        Ok(entries)
    }
}

impl RocksWal {
    /// Sequence number the next append gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Drops every record; fsynced before returning only when `durable` (see
    /// [`Storage::commit_block_with`](super::Storage::commit_block_with)).
    pub fn clear_with(&mut self, durable: bool) -> Result<(), WalError> {
        let wal = cf(&self.db, CF_WAL).map_err(wal_io)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(wal, height_key(0), height_key(u64::MAX));
        // `u64::MAX` itself is never reached by a sequence number, so the exclusive end covers everything.
        write(&self.db, batch, "WAL clear", durable).map_err(wal_io)?;
        // Keep numbering upwards: a record appended after a clear never reuses a deleted key.
        Ok(())
    }
}

impl<V: Encode> Wal<V> for RocksWal {
    fn append(&mut self, entry: &WalEntry<V>) -> Result<(), WalError> {
        let wal = cf(&self.db, CF_WAL).map_err(wal_io)?;
        // Not synced: `sync` makes it durable. The RocksDB log is still written, so a process crash keeps it.
        self.db
            .put_cf_opt(
                wal,
                height_key(self.next_seq),
                entry.encode(),
                &WriteOptions::default(),
            )
            .map_err(|e| wal_io(format!("WAL append #{}: {e}", self.next_seq)))?;
        self.next_seq += 1;
        Ok(())
    }

    fn sync(&mut self) -> Result<(), WalError> {
        sync_log(&self.db, "WAL sync").map_err(wal_io)
    }

    fn clear(&mut self) -> Result<(), WalError> {
        self.clear_with(true)
    }
}
