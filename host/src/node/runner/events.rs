//! What the event loop hears from its own helper tasks (timers, block building and validation, sync requests).

use std::collections::HashSet;
use std::sync::Arc;

use cvm_consensus::{Round, Timeout, ValueId};

use crate::chain::{BlockBody, BlockHeader, PartSetHeader};
use crate::network::SyncedBlock;
use crate::node::app::{AppError, Executed, InvalidBlock};

/// An event from one of the loop's helper tasks.
pub enum LoopEvent {
    /// A consensus timer fired.
    Timeout(Timeout),
    /// The block this node proposes is built (or could not be).
    Built {
        /// The height proposed at.
        height: u64,
        /// The round proposed in.
        round: Round,
        /// The executed block, or why there is none.
        result: Result<Arc<Executed>, AppError>,
    },
    /// A proposed block was re-executed.
    Validated {
        /// The height of the block.
        height: u64,
        /// The block's value id.
        value_id: ValueId,
        /// The execution result, or why the block is invalid.
        result: Result<Arc<Executed>, InvalidBlock>,
    },
    /// A proposed block whose source data this node could not get yet is to be checked again.
    RetryValidation {
        /// The block's header.
        header: Box<BlockHeader>,
        /// Its body.
        body: BlockBody,
    },
    /// A peer answered a status request.
    SyncStatus {
        /// The peer asked.
        peer: libp2p::PeerId,
        /// Its committed height.
        height: u64,
    },
    /// A peer answered a blocks request.
    SyncBlocks {
        /// The peer asked.
        peer: libp2p::PeerId,
        /// The blocks with their commit certificates, in height order.
        blocks: Vec<SyncedBlock>,
    },
    /// The source data of a batch of synced blocks was fetched from peers (verified and stored), as far as they
    /// had it.
    SyncSources {
        /// The peer that served the blocks.
        peer: libp2p::PeerId,
        /// The blocks, in height order.
        blocks: Vec<SyncedBlock>,
        /// Hashes of the source blocks no peer served: blocks ingesting them are not applied.
        missing: HashSet<[u8; 32]>,
        /// Peers whose answers were refused, and why.
        bad_peers: Vec<(libp2p::PeerId, String)>,
    },
    /// A sync request failed (error, timeout, or an answer of another kind than asked).
    SyncFailed,
    /// A body asked of peers by request: checked against its part set, or `None` when no peer had it.
    BodyFetched {
        /// The height proposed at.
        height: u64,
        /// The part set asked for.
        parts: PartSetHeader,
        /// The body.
        body: Option<BlockBody>,
    },
    /// The idle interval of a height waiting for work may have passed (see `round_zero`).
    IdleDeadline {
        /// The height the timer was armed for.
        height: u64,
    },
}
