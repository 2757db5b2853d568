//! The node's peer-to-peer layer: one tokio task owns a libp2p swarm (TCP + noise + yamux, gossipsub, identify,
//! block-sync request-response, connection limits) and the rest of the node talks to it through channels.
//!
//! - [`spawn`] starts the task and returns a [`NetworkHandle`] (cheap to clone) plus a receiver of
//!   [`NetworkEvent`]s. Nothing outside this module sees libp2p types other than [`PeerId`] and [`Multiaddr`].
//! - Gossip: three [`Topic`]s per chain, named after the chain id so two chains never mix. Every received message
//!   is held until the node calls [`NetworkHandle::report`] with a [`Verdict`]: only accepted messages are
//!   forwarded, and rejected ones lower the sender's peer score.
//! - Sync: [`SyncRequest`] / [`SyncResponse`] over length-prefixed SCALE frames with size limits both ways
//!   ([`fit_blocks`] keeps responses under the limit).
//! - Static peers ([`NetworkConfig::peers`]) are dialed at start and redialed with exponential backoff whenever
//!   they are disconnected, so nodes can start in any order and restart.
//!
//! Files: `behaviour.rs` (libp2p configuration), `codec.rs` (sync wire format), `protocol.rs` (sync messages),
//! `handle.rs` (the API), `task.rs` (the swarm event loop and redialing).

mod behaviour;
mod codec;
mod handle;
mod protocol;
mod slow_peers;
mod task;
#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

use futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{gossipsub, noise, request_response, tcp, yamux};
use tokio::sync::mpsc;

pub use handle::NetworkHandle;
pub use libp2p::{Multiaddr, PeerId};
pub use protocol::{SyncRequest, SyncResponse, SyncedBlock, fit_blocks};

use crate::chain::NodeKey;
use crate::chain::config::P2pConfig;

/// Capacity of the command and event channels.
const CHANNEL_CAPACITY: usize = 8192;
/// Connections with nothing to do are closed after this long (gossipsub keeps subscribed peers busy).
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(300);
/// How long [`spawn`] waits for the listener to report its address.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything the network task needs to start.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// The node's libp2p identity; its peer id is what other nodes put in their peer lists.
    pub keypair: Keypair,
    /// Where to listen, e.g. `/ip4/127.0.0.1/tcp/26656` (`tcp/0` picks a free port: see
    /// [`NetworkHandle::listen_addrs`]).
    pub listen: Multiaddr,
    /// Static peers, each ending in `/p2p/<peer id>`; kept connected for as long as the node runs.
    pub peers: Vec<Multiaddr>,
    /// Largest gossip payload and largest sync response, in bytes.
    pub max_message_bytes: usize,
    /// Names the gossip topics and the sync protocol, so nodes of two chains never exchange messages.
    pub chain_id: String,
}

impl NetworkConfig {
    /// The config for a node from its `[p2p]` section and key file.
    pub fn from_p2p(p2p: &P2pConfig, key: &NodeKey, chain_id: &str) -> Result<Self, NetworkError> {
        let parse = |s: &str| {
            s.parse::<Multiaddr>()
                .map_err(|e| NetworkError::Config(format!("`{s}` is not a multiaddr: {e}")))
        };
        Ok(Self {
            keypair: key.keypair(),
            listen: parse(&p2p.listen)?,
            peers: p2p
                .peers
                .iter()
                .map(|p| parse(p))
                .collect::<Result<_, _>>()?,
            max_message_bytes: p2p.max_message_bytes,
            chain_id: chain_id.to_owned(),
        })
    }
}

/// A gossip topic. Its wire name includes the chain id, e.g. `/cvm/<chain id>/consensus/1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Proposals (headers) and votes.
    Consensus,
    /// Signed transactions from mempools.
    Transactions,
    /// Merkle-proven parts of proposed block bodies.
    ProposalParts,
}

/// The gossip wire version, in every topic name: nodes of different versions do not share topics, so neither
/// scores the other down for messages it cannot accept. 2: envelopes are unsigned (gossipsub `Anonymous`).
const GOSSIP_VERSION: u32 = 2;

/// What a node announces through identify; a peer announcing anything else runs another chain or wire version.
pub(crate) fn protocol_version(chain_id: &str) -> String {
    format!("/cvm/{chain_id}/{GOSSIP_VERSION}")
}

impl Topic {
    pub const ALL: [Topic; 3] = [Topic::Consensus, Topic::Transactions, Topic::ProposalParts];

    /// The topic's name on the wire for `chain_id`.
    pub fn name(self, chain_id: &str) -> String {
        let kind = match self {
            Topic::Consensus => "consensus",
            Topic::Transactions => "transactions",
            Topic::ProposalParts => "proposal-parts",
        };
        format!("/cvm/{chain_id}/{kind}/{GOSSIP_VERSION}")
    }

    fn ident(self, chain_id: &str) -> gossipsub::IdentTopic {
        gossipsub::IdentTopic::new(self.name(chain_id))
    }
}

/// Identifies a received gossip message for [`NetworkHandle::report`]; opaque (the hash of its payload).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MessageId(Vec<u8>);

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
pub struct ReplyHandle(request_response::ResponseChannel<SyncResponse>);

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
        topic: Topic,
        /// The peer that delivered it (not necessarily its author): the one [`NetworkHandle::report`] scores.
        source: PeerId,
        id: MessageId,
        data: Vec<u8>,
    },
    /// The first connection to this peer is up.
    PeerConnected(PeerId),
    /// The last connection to this peer closed (static peers are redialed).
    PeerDisconnected(PeerId),
    /// A peer asks for sync data; answer with [`NetworkHandle::respond`].
    SyncRequest {
        peer: PeerId,
        request: SyncRequest,
        reply: ReplyHandle,
    },
}

#[derive(Debug, thiserror::Error)]
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
    #[error("sync request to {peer} got no answer within {secs} s; retry, or ask another peer")]
    Timeout { peer: PeerId, secs: u64 },
    #[error("the sync response could not be sent: the requester disconnected or gave up waiting")]
    ResponseNotSent,
    #[error(
        "the network task has stopped (shut down, or it failed: see the logs); restart the node"
    )]
    Stopped,
}

/// Builds the swarm, starts listening, and runs it in a tokio task that dials the static peers.
///
/// An error with its sources, skipping empty messages (libp2p's transport errors often wrap the `io::Error`
/// that says what happened, e.g. "Address already in use", under an empty or generic top level).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.contains(&text) {
            parts.push(text);
        }
        next = e.source();
    }
    if parts.is_empty() {
        format!("{error:?}")
    } else {
        parts.join(": ")
    }
}

/// Returns once the listener is up, so [`NetworkHandle::listen_addrs`] already has the real address (useful with
/// port 0). The task runs until [`NetworkHandle::shutdown`] or until every handle is dropped.
pub async fn spawn(
    config: NetworkConfig,
) -> Result<(NetworkHandle, mpsc::Receiver<NetworkEvent>), NetworkError> {
    let static_peers = config
        .peers
        .iter()
        .map(|addr| match addr.iter().last() {
            Some(Protocol::P2p(peer)) => Ok((peer, addr.clone())),
            _ => Err(NetworkError::PeerWithoutId(addr.clone())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if config.max_message_bytes == 0 {
        return Err(NetworkError::Config(
            "max_message_bytes must be above 0".into(),
        ));
    }

    let behaviour = behaviour::Behaviour::new(&config.keypair, &config)?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NetworkError::Config(format!("noise: {e}")))?
        .with_behaviour(|_| behaviour)
        .map_err(|e| NetworkError::Config(format!("behaviour: {e}")))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();

    let listen_error = |reason: String| NetworkError::Listen {
        addr: config.listen.clone(),
        reason,
    };
    swarm
        .listen_on(config.listen.clone())
        .map_err(|e| listen_error(error_chain(&e)))?;
    let first_addr = tokio::time::timeout(LISTEN_TIMEOUT, async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => return Ok(address),
                SwarmEvent::ListenerError { error, .. } => return Err(error_chain(&error)),
                SwarmEvent::ListenerClosed { reason, .. } => {
                    return Err(reason
                        .err()
                        .map_or("listener closed".into(), |e| error_chain(&e)));
                }
                _ => {}
            }
        }
    })
    .await
    .map_err(|_| listen_error("no listen address reported within 10 s".into()))?
    .map_err(listen_error)?;

    let local_peer_id = *swarm.local_peer_id();
    tracing::info!(peer_id = %local_peer_id, listen = %first_addr, chain_id = %config.chain_id, "p2p listening");
    let (commands_tx, commands_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let (events_tx, events_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let task = task::SwarmTask::new(
        swarm,
        &config,
        static_peers,
        vec![first_addr],
        commands_rx,
        events_tx,
    );
    tokio::spawn(task.run());
    let handle = NetworkHandle::new(local_peer_id, config.max_message_bytes, commands_tx);
    Ok((handle, events_rx))
}
