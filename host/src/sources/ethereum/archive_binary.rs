//! The binary archive format: the blocks exactly as a node holds them ([`EthBlockData`]: header RLP, each
//! transaction's and receipt's EIP-2718 encoding), so reading one costs a SCALE decode instead of parsing and
//! re-encoding JSON (several times the work of verifying the block).
//!
//! Layout: the 8 bytes [`MAGIC`], then one frame per block in increasing block-number order: the block number
//! (u64, little-endian), the length of the data (u32, little-endian, at most [`MAX_FRAME_BYTES`]) and the data,
//! the block's SCALE-encoded [`EthBlockData`]. The number in a frame only indexes the file: a reader checks it
//! against the header. [`BinaryArchiveWriter`] writes the format, [`Frames`] reads the frames' positions without
//! their data (indexing), [`read_frame`] reads them in order with their data (`cvm source verify`).

use std::io::{self, Read, Seek, SeekFrom, Write};

use parity_scale_codec::{DecodeAll, Encode};

use super::block_data::EthBlockData;
use super::verify::header_only_check;

/// The first bytes of a binary archive (a JSON Lines archive starts with `{` or whitespace).
pub const MAGIC: [u8; 8] = *b"cvmeth\0\x01";

/// Largest block data a frame may hold (the JSON format's line limit).
pub const MAX_FRAME_BYTES: u32 = 64 * 1024 * 1024;

/// Bytes of a frame before its data: the block number and the data length.
const FRAME_HEADER: u64 = 12;

/// Whether `reader` starts with [`MAGIC`]; it is left at its start either way.
pub fn is_binary(reader: &mut (impl Read + Seek)) -> io::Result<bool> {
    let mut head = [0u8; MAGIC.len()];
    let mut got = 0;
    while got < head.len() {
        match reader.read(&mut head[got..])? {
            0 => break,
            n => got += n,
        }
    }
    reader.seek(SeekFrom::Start(0))?;
    Ok(got == head.len() && head == MAGIC)
}

/// Where one block's data is in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// 1-based position of the frame in the file.
    pub index: u64,
    /// The block number the frame claims.
    pub number: u64,
    /// Byte offset of the data.
    pub offset: u64,
    /// Length of the data.
    pub len: u32,
}

fn invalid(reason: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason)
}

/// Reads the next frame header at the reader's position: `None` at the end of the file.
fn read_header(reader: &mut impl Read, index: u64) -> io::Result<Option<(u64, u32)>> {
    let mut head = [0u8; FRAME_HEADER as usize];
    let mut got = 0;
    while got < head.len() {
        match reader.read(&mut head[got..])? {
            0 if got == 0 => return Ok(None),
            0 => {
                return Err(invalid(format!(
                    "frame {index} is cut short ({got} of its {FRAME_HEADER} header bytes)"
                )));
            }
            n => got += n,
        }
    }
    let number = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
    let len = u32::from_le_bytes(head[8..].try_into().expect("4 bytes"));
    if len > MAX_FRAME_BYTES {
        return Err(invalid(format!(
            "frame {index} (block {number}) claims {len} bytes, above the {MAX_FRAME_BYTES}-byte limit"
        )));
    }
    Ok(Some((number, len)))
}

/// The frames of a binary archive, read from after its magic to its end, skipping their data.
pub struct Frames<R> {
    reader: R,
    size: u64,
    offset: u64,
    index: u64,
}

impl<R: Read + Seek> Frames<R> {
    /// The frames of the archive `reader` (positioned anywhere), whose magic is checked first.
    pub fn new(mut reader: R) -> io::Result<Self> {
        if !is_binary(&mut reader)? {
            return Err(invalid("not a binary archive (no magic)".to_string()));
        }
        let size = reader.seek(SeekFrom::End(0))?;
        reader.seek(SeekFrom::Start(MAGIC.len() as u64))?;
        Ok(Frames {
            reader,
            size,
            offset: MAGIC.len() as u64,
            index: 0,
        })
    }
}

impl<R: Read + Seek> Iterator for Frames<R> {
    type Item = io::Result<Frame>;

    fn next(&mut self) -> Option<Self::Item> {
        let index = self.index + 1;
        let (number, len) = match read_header(&mut self.reader, index) {
            Ok(Some(header)) => header,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        self.index = index;
        let offset = self.offset + FRAME_HEADER;
        let end = offset + u64::from(len);
        if end > self.size {
            return Some(Err(invalid(format!(
                "frame {index} (block {number}) is cut short: {len} bytes claimed, {} in the file",
                self.size.saturating_sub(offset)
            ))));
        }
        if let Err(e) = self.reader.seek(SeekFrom::Start(end)) {
            return Some(Err(e));
        }
        self.offset = end;
        Some(Ok(Frame {
            index,
            number,
            offset,
            len,
        }))
    }
}

/// Reads the next frame (header and data) at the reader's position, which must be at a frame (after the magic,
/// or after the previous frame): the claimed number and the data, `None` at the end of the file.
pub fn read_frame(reader: &mut impl Read, index: u64) -> io::Result<Option<(u64, Vec<u8>)>> {
    let Some((number, len)) = read_header(reader, index)? else {
        return Ok(None);
    };
    let mut data = Vec::new();
    let read = reader.take(u64::from(len)).read_to_end(&mut data)?;
    if read < len as usize {
        return Err(invalid(format!(
            "frame {index} (block {number}) is cut short: {len} bytes claimed, {read} in the file"
        )));
    }
    Ok(Some((number, data)))
}

/// A frame's data as a block (it must decode whole).
pub fn decode_block(data: &[u8]) -> Result<EthBlockData, String> {
    EthBlockData::decode_all(&mut &data[..])
        .map_err(|e| format!("not a SCALE-encoded block with its receipts: {e}"))
}

/// Writes a binary archive: the magic, then one frame per block pushed, in increasing block-number order.
pub struct BinaryArchiveWriter<W: Write> {
    out: W,
    last: Option<u64>,
}

impl<W: Write> BinaryArchiveWriter<W> {
    /// Starts an archive on `out` (writes the magic).
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&MAGIC)?;
        Ok(BinaryArchiveWriter { out, last: None })
    }

    /// Appends `block`, whose header must decode and whose number must follow the last block's.
    pub fn push(&mut self, block: &EthBlockData) -> io::Result<()> {
        let number = header_only_check(block)
            .map_err(|e| invalid(e.to_string()))?
            .number;
        if let Some(last) = self.last
            && number <= last
        {
            return Err(invalid(format!(
                "block {number} after block {last}: blocks must be in increasing order"
            )));
        }
        let data = block.encode();
        let len = u32::try_from(data.len())
            .ok()
            .filter(|len| *len <= MAX_FRAME_BYTES)
            .ok_or_else(|| {
                invalid(format!(
                    "block {number} is {} bytes, above the {MAX_FRAME_BYTES}-byte limit",
                    data.len()
                ))
            })?;
        self.out.write_all(&number.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&data)?;
        self.last = Some(number);
        Ok(())
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
