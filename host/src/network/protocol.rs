//! The block-sync request-response protocol: what is asked and answered, SCALE-encoded on the wire.

use cvm_consensus::CommitCertificate;
use parity_scale_codec::{Compact, Decode, Encode, Error as CodecError, Input, Output};

use crate::chain::{Block, BlockBody, PartSetHeader};
use crate::sources::ethereum::block_data::{EthBlockData, SourceBlockLimits};

/// Source blocks asked for in one [`SyncRequest::SourceBlocks`] and answered in one reply at most. A request
/// for 16 hashes is 514 bytes, within the request frame limit; a reply holds at most 16 blocks of
/// [`MAX_SOURCE_BLOCK_BYTES`](crate::sources::ethereum::block_data::MAX_SOURCE_BLOCK_BYTES) each and, like every
/// answer, fits the responder's and the asker's `max_message_bytes`.
pub const MAX_SOURCE_BLOCKS_PER_REQUEST: usize = 16;

/// A request a node sends to one peer to catch up.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum SyncRequest {
    /// "What is your latest committed height?"
    Status,
    /// Committed blocks `from..from + max`, in height order; the responder may send fewer (see [`fit_blocks`]).
    Blocks {
        /// The first height wanted.
        from: u64,
        /// At most this many blocks.
        max: u32,
    },
    /// The body of a proposed block, by the part-set header its signed proposal names (for a node that has the
    /// proposal but missed the parts).
    Body {
        /// The height proposed at.
        height: u64,
        /// The part set the body splits into.
        parts: PartSetHeader,
    },
    /// The data of committed source blocks, by block hash (content-addressed: what a block's
    /// `SourceCommitment`s name), at most [`MAX_SOURCE_BLOCKS_PER_REQUEST`].
    SourceBlocks {
        /// The Ethereum block hashes wanted, in the order answered.
        hashes: Vec<[u8; 32]>,
    },
}

/// The answer to a [`SyncRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum SyncResponse {
    /// The answer to [`SyncRequest::Status`].
    Status {
        /// Height of the responder's last committed block.
        height: u64,
    },
    /// A prefix of the requested range, possibly empty (the responder does not have `from` yet).
    Blocks(Vec<SyncedBlock>),
    /// The responder could not serve the request; the text says why.
    Error(String),
    /// The answer to [`SyncRequest::Body`]; the requester checks it against the part-set header it asked for.
    Body(BlockBody),
    /// The answer to [`SyncRequest::SourceBlocks`]: for a prefix of the hashes asked, each block's data or
    /// `None` when the responder does not hold it. The requester verifies each against the commitment it asked
    /// for before storing it.
    SourceBlocks(SourceBlocksReply),
}

/// A committed block with the certificate that finalized it. The source data it ingests travels apart
/// ([`SyncRequest::SourceBlocks`]): one block may commit to more source data than a message holds.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SyncedBlock {
    /// The committed block, body included.
    pub block: Block,
    /// The precommits that finalized it.
    pub certificate: CommitCertificate,
}

/// Source blocks answered to a [`SyncRequest::SourceBlocks`]. On the wire SCALE's `Vec<Option<EthBlockData>>`;
/// decoding (what a peer sent) refuses more than [`MAX_SOURCE_BLOCKS_PER_REQUEST`] entries and decodes each
/// block within [`SourceBlockLimits::default`], so a reply costs no more memory than its bytes allow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceBlocksReply(pub Vec<Option<EthBlockData>>);

impl Encode for SourceBlocksReply {
    fn size_hint(&self) -> usize {
        self.0.size_hint()
    }

    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        self.0.encode_to(dest)
    }
}

impl Decode for SourceBlocksReply {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        let count = Compact::<u32>::decode(input)?.0 as usize;
        if count > MAX_SOURCE_BLOCKS_PER_REQUEST {
            return Err(
                "a source blocks reply with more entries than MAX_SOURCE_BLOCKS_PER_REQUEST (16)"
                    .into(),
            );
        }
        let mut blocks = Vec::with_capacity(count);
        for _ in 0..count {
            blocks.push(match input.read_byte()? {
                0 => None,
                1 => Some(EthBlockData::decode_bounded(
                    input,
                    SourceBlockLimits::default(),
                )?),
                _ => return Err("source blocks reply: invalid option tag".into()),
            });
        }
        Ok(SourceBlocksReply(blocks))
    }
}

/// The longest prefix of `blocks` whose [`SyncResponse::Blocks`] encoding fits in `max_bytes`.
///
/// Responders call this (and [`NetworkHandle::respond`](super::NetworkHandle::respond) applies it again) so a
/// response never exceeds the peer's frame limit. If not even the first block fits, the result is empty: the
/// requester then learns nothing from this peer and should raise its own limit or ask another peer.
pub fn fit_blocks(mut blocks: Vec<SyncedBlock>, max_bytes: usize) -> Vec<SyncedBlock> {
    // Variant byte plus the largest compact length prefix the kept count can need.
    let mut size = 1 + Compact(blocks.len() as u32).encoded_size();
    let mut keep = 0;
    for block in &blocks {
        size += block.encoded_size();
        if size > max_bytes {
            break;
        }
        keep += 1;
    }
    blocks.truncate(keep);
    blocks
}

/// The longest prefix of `blocks` whose [`SyncResponse::SourceBlocks`] encoding fits in `max_bytes` (see
/// [`fit_blocks`]).
pub fn fit_source_blocks(mut blocks: SourceBlocksReply, max_bytes: usize) -> SourceBlocksReply {
    let mut size = 1 + Compact(blocks.0.len() as u32).encoded_size();
    let mut keep = 0;
    for block in &blocks.0 {
        size += block.encoded_size();
        if size > max_bytes {
            break;
        }
        keep += 1;
    }
    blocks.0.truncate(keep);
    blocks
}
