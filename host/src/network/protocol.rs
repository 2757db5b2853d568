//! The block-sync request-response protocol: what is asked and answered, SCALE-encoded on the wire.

use cvm_consensus::CommitCertificate;
use parity_scale_codec::{Compact, Decode, Encode};

use crate::chain::{Block, BlockBody, PartSetHeader};

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
}

/// A committed block with the certificate that finalized it and the source data it ingests.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SyncedBlock {
    /// The committed block, body included.
    pub block: Block,
    /// The precommits that finalized it.
    pub certificate: CommitCertificate,
    /// SCALE `EthBlockData` of each source block the body commits to, in body order; the receiver checks each
    /// against its commitment, so a node catching up needs no endpoint of its own.
    pub sources: Vec<Vec<u8>>,
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
