//! Write-ahead log: what the driver must remember across a crash.
//!
//! On-disk record: `len: u32 LE | crc32(payload): u32 LE | payload (SCALE WalEntry)`.
//! A torn tail (the last record incomplete, or its CRC wrong with nothing after it) is what
//! a crash mid-append leaves: it is cut off and the log stays usable. A bad record followed
//! by more data is corruption and is refused loudly, never skipped.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use parity_scale_codec::{Decode, Encode};

use crate::certificate::CommitCertificate;
use crate::error::WalError;
use crate::messages::{SignedMessage, SignedProposal, SignedVote};
use crate::timeouts::Timeout;
use crate::types::{Height, Round, ValueId};
use crate::validator::ValidatorSet;

const HEADER: usize = 8;
/// A length above this cannot come from a torn write (lengths are written whole), so it is
/// corruption.
pub const MAX_RECORD_LEN: u32 = 64 * 1024 * 1024;

/// One WAL record: every input that changed the driver's state, in order, plus every
/// message the node signed (written before it is sent).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum WalEntry<V> {
    /// `Input::StartHeight`.
    StartHeight {
        /// The height started.
        height: Height,
        /// Its validators.
        validators: ValidatorSet,
    },
    /// A proposal that was accepted.
    Proposal(SignedProposal<V>),
    /// A vote that was counted.
    Vote(SignedVote),
    /// A timer that expired at the current height.
    Timeout(Timeout),
    /// `Input::ProposeValue`.
    ProposeValue {
        /// Height of the request.
        height: Height,
        /// Round of the request.
        round: Round,
        /// The host's value.
        value: V,
    },
    /// `Input::ValidityVerdict`.
    ValidityVerdict {
        /// Height of the request.
        height: Height,
        /// The value checked.
        value_id: ValueId,
        /// The host's verdict.
        valid: bool,
    },
    /// `Input::Commit` that was accepted.
    Commit {
        /// The decided value.
        value: V,
        /// Its certificate.
        certificate: CommitCertificate,
    },
    /// Our own signed proposal or vote. Must be durable before it is broadcast.
    Signed(SignedMessage<V>),
    /// `Input::BeginRoundZero` that released a held round 0.
    BeginRoundZero {
        /// The height whose round 0 began.
        height: Height,
    },
}

/// Frames a payload as a WAL record.
pub fn encode_record(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Payloads of a log, and the length of its valid prefix (shorter than `bytes` when a torn
/// tail was found).
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The payload of each valid record, in order.
    pub payloads: Vec<&'a [u8]>,
    /// Bytes up to the end of the last valid record.
    pub valid_len: usize,
}

/// Splits a log into record payloads; see the module docs for torn tail vs corruption.
pub fn decode_records(bytes: &[u8]) -> Result<Decoded<'_>, WalError> {
    let mut payloads = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest.len() < HEADER {
            break; // torn header
        }
        let len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        if len > MAX_RECORD_LEN {
            return Err(WalError::Corrupt {
                offset: pos as u64,
                reason: format!("record length {len} exceeds {MAX_RECORD_LEN}"),
            });
        }
        let end = HEADER + len as usize;
        if rest.len() < end {
            break; // torn payload
        }
        let payload = &rest[HEADER..end];
        if crc32fast::hash(payload) != crc {
            if rest.len() == end {
                break; // last record half-written: torn tail
            }
            return Err(WalError::Corrupt {
                offset: pos as u64,
                reason: format!(
                    "CRC mismatch with {} more bytes after the record",
                    rest.len() - end
                ),
            });
        }
        payloads.push(payload);
        pos += end;
    }
    if pos < bytes.len() {
        tracing::warn!(valid = pos, total = bytes.len(), "WAL: dropping torn tail");
    }
    Ok(Decoded {
        payloads,
        valid_len: pos,
    })
}

/// Decodes every entry of a log (see [`decode_records`]).
pub fn decode_entries<V: Decode>(bytes: &[u8]) -> Result<(Vec<WalEntry<V>>, usize), WalError> {
    let decoded = decode_records(bytes)?;
    let mut offset = 0u64;
    let mut entries = Vec::with_capacity(decoded.payloads.len());
    for p in decoded.payloads {
        let entry = WalEntry::<V>::decode(&mut &p[..])
            .map_err(|source| WalError::Decode { offset, source })?;
        entries.push(entry);
        offset += (HEADER + p.len()) as u64;
    }
    Ok((entries, decoded.valid_len))
}

/// Where the driver's records go. `sync` must make every appended record durable.
pub trait Wal<V> {
    /// Appends one record (not necessarily durable until `sync`).
    fn append(&mut self, entry: &WalEntry<V>) -> Result<(), WalError>;
    /// Makes every appended record durable.
    fn sync(&mut self) -> Result<(), WalError>;
    /// Drops every record (after a decided height is committed by the host).
    fn clear(&mut self) -> Result<(), WalError>;
}

/// In-memory WAL (tests, simulation). Stores the framed bytes so crash tests can tear it.
#[derive(Clone, Debug, Default)]
pub struct MemWal {
    /// The framed records.
    pub bytes: Vec<u8>,
}

impl<V: Encode> Wal<V> for MemWal {
    fn append(&mut self, entry: &WalEntry<V>) -> Result<(), WalError> {
        self.bytes
            .extend_from_slice(&encode_record(&entry.encode()));
        Ok(())
    }
    fn sync(&mut self) -> Result<(), WalError> {
        Ok(())
    }
    fn clear(&mut self) -> Result<(), WalError> {
        self.bytes.clear();
        Ok(())
    }
}

/// File-backed WAL. `open` recovers: it reads all entries, truncates a torn tail and
/// refuses a corrupt middle.
pub struct FileWal {
    file: File,
    path: PathBuf,
}

impl FileWal {
    /// Opens (or creates) the log at `path` and returns it with the entries it holds.
    pub fn open<V: Decode>(path: impl AsRef<Path>) -> Result<(Self, Vec<WalEntry<V>>), WalError> {
        let path = path.as_ref().to_path_buf();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let (entries, valid_len) = decode_entries::<V>(&bytes)?;
        if valid_len < bytes.len() {
            file.set_len(valid_len as u64)?;
            file.sync_all()?;
        }
        file.seek(SeekFrom::End(0))?;
        Ok((FileWal { file, path }, entries))
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl<V: Encode> Wal<V> for FileWal {
    fn append(&mut self, entry: &WalEntry<V>) -> Result<(), WalError> {
        self.file.write_all(&encode_record(&entry.encode()))?;
        Ok(())
    }

    fn sync(&mut self) -> Result<(), WalError> {
        self.file.sync_data()?;
        Ok(())
    }

    fn clear(&mut self) -> Result<(), WalError> {
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.sync_all()?;
        Ok(())
    }
}
