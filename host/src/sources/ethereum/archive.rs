//! [`ArchiveEndpoint`]: Ethereum blocks from a local archive file, in either of two formats, told apart by the
//! binary format's magic:
//! - JSON Lines, one block per line in block-number order: `{"block": <eth_getBlockByNumber(n, true) result>,
//!   "receipts": [<eth_getTransactionReceipt result>, …] | null}`; [`ArchiveLines`] reads the lines, each within a
//!   byte limit, for this and for `cvm source verify`;
//! - binary ([`super::archive_binary`]): the blocks as the node holds them, SCALE-encoded, length-prefixed.
//!
//! Opening scans the file once into an index (number → byte offset; of a JSON line only the number is parsed, of
//! a binary frame only its header is read); a block is read and converted when asked for.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use parking_lot::Mutex;
use serde::Deserialize;

use super::archive_binary::{self, Frames};
use super::block_data::EthBlockData;
use super::endpoint::SourceEndpoint;
use super::error::EndpointError;
use super::rpc_json::ArchiveLine;

/// Longest archive line read (a full mainnet block with receipts is a few MiB of JSON).
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// One line of an archive, without its newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLine {
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the line in the file.
    pub offset: u64,
    /// The line's bytes; empty when it is longer than the limit (see `too_long`).
    pub text: Vec<u8>,
    /// The line exceeded the limit and was skipped unread.
    pub too_long: bool,
}

/// The non-blank lines of an archive, in order, each read within a byte limit.
pub struct ArchiveLines<R> {
    reader: R,
    line: u64,
    offset: u64,
    max: usize,
}

impl<R: BufRead> ArchiveLines<R> {
    /// Lines of `reader`, each at most `max` bytes.
    pub fn new(reader: R, max: usize) -> Self {
        ArchiveLines {
            reader,
            line: 0,
            offset: 0,
            max,
        }
    }
}

impl<R: BufRead> Iterator for ArchiveLines<R> {
    type Item = io::Result<RawLine>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let mut text = Vec::new();
            let limit = u64::try_from(self.max)
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            let read = match (&mut self.reader).take(limit).read_until(b'\n', &mut text) {
                Ok(0) => return None,
                Ok(n) => n,
                Err(e) => return Some(Err(e)),
            };
            self.line += 1;
            let offset = self.offset;
            self.offset += read as u64;
            let ended = text.last() == Some(&b'\n');
            if ended {
                text.pop();
            }
            if !ended && text.len() > self.max {
                match self.reader.skip_until(b'\n') {
                    Ok(n) => self.offset += n as u64,
                    Err(e) => return Some(Err(e)),
                }
                return Some(Ok(RawLine {
                    line: self.line,
                    offset,
                    text: Vec::new(),
                    too_long: true,
                }));
            }
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(Ok(RawLine {
                line: self.line,
                offset,
                text,
                too_long: false,
            }));
        }
    }
}

#[derive(Deserialize)]
struct NumberOnly {
    block: BlockNumberOnly,
}

#[derive(Deserialize)]
struct BlockNumberOnly {
    number: String,
}

/// The block number of an archive line, parsing nothing else.
pub fn line_block_number(text: &[u8]) -> Result<u64, String> {
    let parsed: NumberOnly =
        serde_json::from_slice(text).map_err(|e| format!("not an archive line: {e}"))?;
    let digits = parsed.block.number.strip_prefix("0x").ok_or_else(|| {
        format!(
            "block number {:?} is not a hex quantity",
            parsed.block.number
        )
    })?;
    u64::from_str_radix(digits, 16)
        .map_err(|e| format!("block number {:?}: {e}", parsed.block.number))
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    number: u64,
    offset: u64,
    len: u32,
    /// The line (JSON Lines) or frame (binary) number, for errors.
    line: u64,
}

/// How an archive file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// One JSON-RPC shaped block per line.
    JsonLines,
    /// Length-prefixed SCALE-encoded blocks after a magic ([`super::archive_binary`]).
    Binary,
}

impl ArchiveFormat {
    /// What a position in the format is called in errors.
    fn unit(self) -> &'static str {
        match self {
            ArchiveFormat::JsonLines => "line",
            ArchiveFormat::Binary => "frame",
        }
    }
}

/// A local archive file as a source endpoint. `latest` is its last block and is also `finalized`: an archive
/// holds only what its writer chose to keep.
pub struct ArchiveEndpoint {
    shown: String,
    chain_id: u64,
    format: ArchiveFormat,
    index: Vec<Entry>,
    file: Mutex<File>,
}

impl ArchiveEndpoint {
    /// Opens and indexes the archive at `path` (either format), whose blocks belong to chain `chain_id` (the
    /// archive does not say). Fails on an unreadable file, a line or frame longer than [`MAX_LINE_BYTES`], a line
    /// without a block number, a frame cut short, and on block numbers that do not increase.
    pub fn open(path: &Path, chain_id: u64) -> Result<Self, EndpointError> {
        let shown = path.display().to_string();
        let archive_error = |reason: String| EndpointError::Archive {
            path: shown.clone(),
            reason,
        };
        let mut file =
            File::open(path).map_err(|e| archive_error(format!("cannot open it: {e}")))?;
        let binary = archive_binary::is_binary(&mut file)
            .map_err(|e| archive_error(format!("cannot read it: {e}")))?;
        let (format, entries) = if binary {
            (ArchiveFormat::Binary, Self::index_binary(&file, &shown)?)
        } else {
            (ArchiveFormat::JsonLines, Self::index_lines(&file, &shown)?)
        };
        let mut index: Vec<Entry> = Vec::with_capacity(entries.len());
        for entry in entries {
            if let Some(last) = index.last()
                && entry.number <= last.number
            {
                return Err(EndpointError::ArchiveLine {
                    path: shown.clone(),
                    unit: format.unit(),
                    line: entry.line,
                    reason: format!(
                        "block {} follows block {} ({} {}): blocks must be in increasing order",
                        entry.number,
                        last.number,
                        format.unit(),
                        last.line
                    ),
                });
            }
            index.push(entry);
        }
        tracing::debug!(path = %shown, blocks = index.len(), ?format, "archive indexed");
        Ok(ArchiveEndpoint {
            shown,
            chain_id,
            format,
            index,
            file: Mutex::new(file),
        })
    }

    fn index_lines(file: &File, shown: &str) -> Result<Vec<Entry>, EndpointError> {
        let mut index = Vec::new();
        for raw in ArchiveLines::new(BufReader::new(file), MAX_LINE_BYTES) {
            let raw = raw.map_err(|e| EndpointError::Archive {
                path: shown.to_string(),
                reason: format!("cannot read it: {e}"),
            })?;
            let line_error = |reason: String| EndpointError::ArchiveLine {
                path: shown.to_string(),
                unit: "line",
                line: raw.line,
                reason,
            };
            if raw.too_long {
                return Err(line_error(format!("longer than {MAX_LINE_BYTES} bytes")));
            }
            let number = line_block_number(&raw.text).map_err(line_error)?;
            index.push(Entry {
                number,
                offset: raw.offset,
                // A line is at most MAX_LINE_BYTES, which fits.
                len: u32::try_from(raw.text.len()).unwrap_or(u32::MAX),
                line: raw.line,
            });
        }
        Ok(index)
    }

    fn index_binary(file: &File, shown: &str) -> Result<Vec<Entry>, EndpointError> {
        let archive_error = |reason: String| EndpointError::Archive {
            path: shown.to_string(),
            reason,
        };
        let frames = Frames::new(BufReader::new(file))
            .map_err(|e| archive_error(format!("cannot read it: {e}")))?;
        frames
            .map(|frame| {
                let frame = frame.map_err(|e| archive_error(e.to_string()))?;
                Ok(Entry {
                    number: frame.number,
                    offset: frame.offset,
                    len: frame.len,
                    line: frame.index,
                })
            })
            .collect()
    }

    /// How the file is written.
    pub fn format(&self) -> ArchiveFormat {
        self.format
    }

    /// The first and last block numbers, if the archive holds any block.
    pub fn range(&self) -> Option<(u64, u64)> {
        Some((self.index.first()?.number, self.index.last()?.number))
    }

    /// How many blocks it holds.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether it holds no block.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn read(&self, entry: &Entry) -> Result<Vec<u8>, EndpointError> {
        let mut text = vec![0; entry.len as usize];
        let mut file = self.file.lock();
        file.seek(SeekFrom::Start(entry.offset))
            .and_then(|_| file.read_exact(&mut text))
            .map_err(|e| EndpointError::ArchiveLine {
                path: self.shown.clone(),
                unit: self.format.unit(),
                line: entry.line,
                reason: format!("cannot read it (was the file changed since it was opened?): {e}"),
            })?;
        Ok(text)
    }
}

impl SourceEndpoint for ArchiveEndpoint {
    fn chain_id(&self) -> Result<u64, EndpointError> {
        Ok(self.chain_id)
    }

    fn latest(&self) -> Result<u64, EndpointError> {
        self.index
            .last()
            .map(|e| e.number)
            .ok_or_else(|| EndpointError::Archive {
                path: self.shown.clone(),
                reason: "it holds no block".to_string(),
            })
    }

    fn finalized(&self) -> Result<Option<u64>, EndpointError> {
        self.latest().map(Some)
    }

    fn block(&self, number: u64) -> Result<Option<EthBlockData>, EndpointError> {
        let Ok(at) = self.index.binary_search_by_key(&number, |e| e.number) else {
            return Ok(None);
        };
        let entry = self.index[at];
        let text = self.read(&entry)?;
        let line_error = |reason: String| EndpointError::ArchiveLine {
            path: self.shown.clone(),
            unit: self.format.unit(),
            line: entry.line,
            reason,
        };
        let data = match self.format {
            ArchiveFormat::JsonLines => {
                let text = std::str::from_utf8(&text)
                    .map_err(|e| line_error(format!("not UTF-8: {e}")))?;
                ArchiveLine::parse(text)
                    .and_then(ArchiveLine::into_block_data)
                    .map_err(|e| line_error(format!("block {number}: {e}")))?
            }
            ArchiveFormat::Binary => archive_binary::decode_block(&text)
                .map_err(|e| line_error(format!("block {number}: {e}")))?,
        };
        let got = super::header_only_check(&data)
            .map(|h| h.number)
            .map_err(|e| line_error(e.to_string()))?;
        if got != number {
            return Err(line_error(format!(
                "indexed as block {number} but its header is block {got}"
            )));
        }
        Ok(Some(data))
    }
}
