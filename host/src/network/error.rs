//! [`NetworkError`]: every way the network layer fails, each saying what to do.

use libp2p::{Multiaddr, PeerId};

/// Why a network operation failed.
#[derive(Debug, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum NetworkError {
    #[error("invalid network configuration: {0}; fix the [p2p] section of config.toml")]
    Config(String),
    #[error(
        "static peer address {0} does not end in /p2p/<peer id>; append the peer id of the node at that address"
    )]
    PeerWithoutId(Multiaddr),
    #[error(
        "cannot listen on {addr}: {reason}; choose a free port or another address for [p2p] listen"
    )]
    Listen { addr: Multiaddr, reason: String },
    #[error(
        "message of {size} bytes exceeds max_message_bytes ({max}); split it (e.g. into proposal parts) or raise \
         [p2p] max_message_bytes on every node"
    )]
    MessageTooLarge { size: usize, max: usize },
    #[error("gossip publish failed: {0}")]
    Publish(String),
    #[error("sync request to {peer} failed: {reason}; retry, or ask another peer")]
    Request { peer: PeerId, reason: String },
    #[error(
        "sync answer from {peer} refused: {reason}; that peer sent more or other than the protocol allows, ask \
         another peer"
    )]
    BadResponse { peer: PeerId, reason: String },
    #[error("sync request to {peer} got no answer within {secs} s; retry, or ask another peer")]
    Timeout { peer: PeerId, secs: u64 },
    #[error("the sync response could not be sent: the requester disconnected or gave up waiting")]
    ResponseNotSent,
    #[error(
        "the network task has stopped (shut down, or it failed: see the logs); restart the node"
    )]
    Stopped,
}
