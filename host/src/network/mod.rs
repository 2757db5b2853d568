//! The node's peer-to-peer layer: one tokio task owns a libp2p swarm (TCP + noise + yamux, gossipsub, identify,
//! block-sync request-response, connection limits) and the rest of the node talks to it through channels.
//!
//! - [`spawn`] starts the task and returns a [`NetworkHandle`] (cheap to clone) plus the receivers of
//!   [`NetworkEvent`]s ([`NetworkEvents`]): transaction gossip on a channel of its own, everything else (consensus,
//!   block parts, peers, sync) on another, so a transaction flood cannot crowd out consensus. Nothing outside this
//!   module sees libp2p types other than [`PeerId`] and [`Multiaddr`].
//! - Gossip: three [`Topic`]s per chain, named after the chain id so two chains never mix. Every received message
//!   is held until the node calls [`NetworkHandle::report`] with a [`Verdict`]: only accepted messages are
//!   forwarded, and rejected ones lower the sender's peer score.
//! - Sync: [`SyncRequest`] / [`SyncResponse`] over length-prefixed SCALE frames with size limits both ways
//!   ([`fit_blocks`] keeps responses under the limit); also how a node asks for a proposed block's body.
//! - Static peers ([`NetworkConfig::peers`]) are dialed at start and redialed with exponential backoff whenever
//!   they are disconnected, so nodes can start in any order and restart.
//!
//! Files: `config.rs`, `topic.rs`, `event.rs` and `error.rs` (the types the node sees), `behaviour.rs` (libp2p
//! configuration), `codec.rs` (sync wire format), `protocol.rs` (sync messages), `handle.rs` (the API),
//! `spawn.rs` (start-up), `task/` (the swarm event loop and redialing), `slow_peers.rs`.

mod behaviour;
mod codec;
mod config;
mod error;
mod event;
mod handle;
mod protocol;
mod slow_peers;
mod spawn;
mod task;
#[cfg(test)]
mod tests;
mod topic;

pub use config::NetworkConfig;
pub use error::NetworkError;
pub use event::{MessageId, NetworkEvent, NetworkEvents, ReplyHandle, Verdict};
pub use handle::NetworkHandle;
pub use libp2p::{Multiaddr, PeerId};
pub use protocol::{
    MAX_SOURCE_BLOCKS_PER_REQUEST, SourceBlocksReply, SyncRequest, SyncResponse, SyncedBlock,
    fit_blocks, fit_source_blocks,
};
pub use spawn::spawn;
pub use topic::Topic;
