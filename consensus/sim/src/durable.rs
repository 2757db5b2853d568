//! A node's WAL as a disk holds it: appended records are durable only once synced, and a
//! crash loses a random part of the unsynced tail (possibly tearing a record). Also knows
//! which signed messages have a record, for the check "nothing signed leaves before its
//! record is durable".

use std::collections::BTreeSet;

use cvm_consensus::wal::{MemWal, Wal, WalEntry, decode_entries};
use cvm_consensus::{SignedMessage, WalError};
use parity_scale_codec::Encode;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::value::SimValue;

#[derive(Default)]
pub(crate) struct DurableWal {
    wal: MemWal,
    /// Length of the synced prefix.
    synced: usize,
    /// Digests of the signed messages with a synced record.
    signed_durable: BTreeSet<[u8; 32]>,
    unsynced_signed: Vec<[u8; 32]>,
}

fn digest(msg: &SignedMessage<SimValue>) -> [u8; 32] {
    Sha256::digest(msg.encode()).into()
}

impl DurableWal {
    pub(crate) fn append(&mut self, entry: &WalEntry<SimValue>) -> Result<(), WalError> {
        Wal::<SimValue>::append(&mut self.wal, entry)?;
        if let WalEntry::Signed(msg) = entry {
            self.unsynced_signed.push(digest(msg));
        }
        Ok(())
    }

    pub(crate) fn sync(&mut self) {
        self.synced = self.wal.bytes.len();
        self.signed_durable.extend(self.unsynced_signed.drain(..));
    }

    /// Whether `msg` has a durable record.
    pub(crate) fn holds_durably(&self, msg: &SignedMessage<SimValue>) -> bool {
        self.signed_durable.contains(&digest(msg))
    }

    /// The height is committed: its log is no longer needed.
    pub(crate) fn clear(&mut self) {
        *self = DurableWal::default();
    }

    /// A crash: the synced prefix survives, and of the unsynced tail a random prefix (the
    /// disk may have written part of it, maybe half a record).
    pub(crate) fn crash(&mut self, rng: &mut ChaCha8Rng) {
        let len = self.wal.bytes.len();
        let keep = rng.gen_range(self.synced..=len);
        self.wal.bytes.truncate(keep);
    }

    /// The entries a restart reads; the torn tail, if any, is cut off as a real WAL's open
    /// does, and what is left counts as durable.
    pub(crate) fn recover(&mut self) -> Result<Vec<WalEntry<SimValue>>, WalError> {
        let (entries, valid) = decode_entries::<SimValue>(&self.wal.bytes)?;
        self.wal.bytes.truncate(valid);
        self.synced = valid;
        self.unsynced_signed.clear();
        self.signed_durable = entries
            .iter()
            .filter_map(|e| match e {
                WalEntry::Signed(m) => Some(digest(m)),
                _ => None,
            })
            .collect();
        Ok(entries)
    }
}
