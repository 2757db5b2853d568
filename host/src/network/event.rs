//! What the network task tells the node ([`NetworkEvent`]) and what the node answers about a message
//! ([`Verdict`]), with the opaque ids those answers carry.

use std::fmt;

use libp2p::{PeerId, request_response};
use tokio::sync::mpsc;

use super::protocol::{SyncRequest, SyncResponse};
use super::topic::Topic;

/// Identifies a received gossip message for [`NetworkHandle::report`]; opaque (the hash of its payload).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MessageId(pub(super) Vec<u8>);

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", hex::encode(&self.0))
    }
}

/// What the node concluded about a received gossip message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: forward it to the mesh.
    Accept,
    /// Provably invalid (undecodable, bad signature): drop it and penalise the peer that sent it. Use only for what
    /// no honest peer would relay.
    Reject,
    /// Not useful (stale, duplicate, from another height): drop it without penalty.
    Ignore,
}

/// Where to send the answer to a [`NetworkEvent::SyncRequest`]; pass it to [`NetworkHandle::respond`]. Dropping it
/// tells the requester no answer is coming.
pub struct ReplyHandle(pub(super) request_response::ResponseChannel<SyncResponse>);

impl fmt::Debug for ReplyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplyHandle")
    }
}

/// What the network task tells the node.
#[derive(Debug)]
pub enum NetworkEvent {
    /// A gossip message to validate; answer with [`NetworkHandle::report`] (until then it is not forwarded).
    Message {
        /// The gossip topic it came on.
        topic: Topic,
        /// The peer that delivered it (not necessarily its author): the one [`NetworkHandle::report`] scores.
        source: PeerId,
        /// Its gossip id, to report a verdict on.
        id: MessageId,
        /// The message bytes.
        data: Vec<u8>,
    },
    /// The first connection to this peer is up.
    PeerConnected(PeerId),
    /// The last connection to this peer closed (static peers are redialed).
    PeerDisconnected(PeerId),
    /// A peer asks for sync data; answer with [`NetworkHandle::respond`].
    SyncRequest {
        /// The requesting peer.
        peer: PeerId,
        /// What it asks for.
        request: SyncRequest,
        /// Where the answer goes.
        reply: ReplyHandle,
    },
}

/// The receiving ends of the network task's events, one channel per priority: a flood of transaction gossip
/// fills only its own channel, never the one consensus depends on.
#[derive(Debug)]
pub struct NetworkEvents {
    /// Consensus and block-part gossip, peers coming and going, sync requests.
    pub consensus: mpsc::Receiver<NetworkEvent>,
    /// Transaction gossip ([`NetworkEvent::Message`] on [`Topic::Transactions`] only).
    pub transactions: mpsc::Receiver<NetworkEvent>,
}

impl NetworkEvents {
    /// The next event from either channel, consensus first; `None` once both are closed.
    pub async fn recv(&mut self) -> Option<NetworkEvent> {
        tokio::select! {
            biased;
            Some(event) = self.consensus.recv() => Some(event),
            Some(event) = self.transactions.recv() => Some(event),
            else => None,
        }
    }
}
