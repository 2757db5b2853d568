//! [`NetworkHandle`]: what the rest of the node calls; each call is a command to the swarm task.

use libp2p::{Multiaddr, PeerId};
use parity_scale_codec::Encode;
use tokio::sync::{mpsc, oneshot};

use super::behaviour::REQUEST_TIMEOUT;
use super::error::NetworkError;
use super::event::{MessageId, ReplyHandle, Verdict};
use super::protocol::{SyncRequest, SyncResponse};
use super::protocol::{fit_blocks, fit_source_blocks};
use super::topic::Topic;

/// Extra wait on top of the sync protocol's own timeout, so the protocol's error (more precise) usually wins.
const REQUEST_TIMEOUT_SLACK: std::time::Duration = std::time::Duration::from_secs(2);

pub(crate) enum Command {
    Publish {
        topic: Topic,
        data: Vec<u8>,
        done: oneshot::Sender<Result<(), NetworkError>>,
    },
    Report {
        id: MessageId,
        source: PeerId,
        verdict: Verdict,
    },
    Request {
        peer: PeerId,
        request: SyncRequest,
        done: oneshot::Sender<Result<SyncResponse, NetworkError>>,
    },
    Respond {
        reply: ReplyHandle,
        response: SyncResponse,
        done: oneshot::Sender<Result<(), NetworkError>>,
    },
    Peers(oneshot::Sender<Vec<PeerId>>),
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    PeerScore(PeerId, oneshot::Sender<Option<f64>>),
    SetBlockedPeers(Vec<PeerId>),
    ReconnectAll,
    Shutdown(oneshot::Sender<()>),
}

/// Talks to the network task. Clone freely; the task stops when [`shutdown`](Self::shutdown) is called or the last
/// clone is dropped. Every method fails with [`NetworkError::Stopped`] (or returns nothing) once it has stopped.
#[derive(Clone, Debug)]
pub struct NetworkHandle {
    local_peer_id: PeerId,
    max_message_bytes: usize,
    commands: mpsc::Sender<Command>,
}

impl NetworkHandle {
    pub(crate) fn new(
        local_peer_id: PeerId,
        max_message_bytes: usize,
        commands: mpsc::Sender<Command>,
    ) -> Self {
        Self {
            local_peer_id,
            max_message_bytes,
            commands,
        }
    }

    /// This node's peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// The largest gossip payload and sync response this node sends or accepts.
    pub fn max_message_bytes(&self) -> usize {
        self.max_message_bytes
    }

    async fn call<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetworkError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(command(tx))
            .await
            .map_err(|_| NetworkError::Stopped)?;
        rx.await.map_err(|_| NetworkError::Stopped)
    }

    /// Gossips `data` on `topic` to every connected subscriber.
    ///
    /// Gossipsub never delivers a node's own messages back to it: handle what you publish locally too. Having no
    /// peers yet is not an error (logged at debug); neither is publishing the same bytes twice within the
    /// duplicate-cache window (message ids are the hash of the data, so the second is not sent). Fails with
    /// [`NetworkError::MessageTooLarge`] above [`max_message_bytes`](Self::max_message_bytes).
    pub async fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<(), NetworkError> {
        if data.len() > self.max_message_bytes {
            return Err(NetworkError::MessageTooLarge {
                size: data.len(),
                max: self.max_message_bytes,
            });
        }
        self.call(|done| Command::Publish { topic, data, done })
            .await?
    }

    /// Tells gossipsub what the node concluded about message `id` received from `source` (both from
    /// [`NetworkEvent::Message`](super::NetworkEvent::Message)): accepted messages are forwarded, rejected ones
    /// lower `source`'s score. Call it exactly once per message; unreported messages expire unforwarded.
    pub async fn report(
        &self,
        id: MessageId,
        source: PeerId,
        verdict: Verdict,
    ) -> Result<(), NetworkError> {
        self.commands
            .send(Command::Report {
                id,
                source,
                verdict,
            })
            .await
            .map_err(|_| NetworkError::Stopped)
    }

    /// Asks `peer` (which should be connected) for sync data, waiting at most about 10 s.
    pub async fn request(
        &self,
        peer: PeerId,
        request: SyncRequest,
    ) -> Result<SyncResponse, NetworkError> {
        let limit = REQUEST_TIMEOUT + REQUEST_TIMEOUT_SLACK;
        match tokio::time::timeout(
            limit,
            self.call(|done| Command::Request {
                peer,
                request,
                done,
            }),
        )
        .await
        {
            Ok(result) => result?,
            Err(_) => Err(NetworkError::Timeout {
                peer,
                secs: limit.as_secs(),
            }),
        }
    }

    /// Answers a [`NetworkEvent::SyncRequest`](super::NetworkEvent::SyncRequest). A `Blocks` or `SourceBlocks`
    /// response is cut to the longest prefix that fits the frame limit (see [`fit_blocks`]) and an over-long
    /// `Error` text is shortened, so a response is never refused for its size.
    pub async fn respond(
        &self,
        reply: ReplyHandle,
        response: SyncResponse,
    ) -> Result<(), NetworkError> {
        let response = self.fit(response);
        self.call(|done| Command::Respond {
            reply,
            response,
            done,
        })
        .await?
    }

    fn fit(&self, response: SyncResponse) -> SyncResponse {
        let max = self.max_message_bytes;
        match response {
            SyncResponse::Blocks(blocks) => {
                let wanted = blocks.len();
                let blocks = fit_blocks(blocks, max);
                if blocks.len() < wanted {
                    tracing::debug!(
                        wanted,
                        sent = blocks.len(),
                        max,
                        "sync response cut to fit the frame limit"
                    );
                }
                SyncResponse::Blocks(blocks)
            }
            SyncResponse::SourceBlocks(blocks) => {
                SyncResponse::SourceBlocks(fit_source_blocks(blocks, max))
            }
            SyncResponse::Error(mut text)
                if SyncResponse::Error(text.clone()).encoded_size() > max =>
            {
                // Leave room for the variant byte and the length prefix.
                let mut cut = max.saturating_sub(8).min(text.len());
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
                SyncResponse::Error(text)
            }
            other => other,
        }
    }

    /// [`publish`](Self::publish) for an event loop that must not wait: queues the command and returns. Errors
    /// when the message is too large, the command queue is full (the task is overloaded) or the task stopped.
    pub fn try_publish(&self, topic: Topic, data: Vec<u8>) -> Result<(), NetworkError> {
        if data.len() > self.max_message_bytes {
            return Err(NetworkError::MessageTooLarge {
                size: data.len(),
                max: self.max_message_bytes,
            });
        }
        let (done, _) = oneshot::channel();
        self.try_send(Command::Publish { topic, data, done })
    }

    /// [`report`](Self::report) without waiting.
    pub fn try_report(
        &self,
        id: MessageId,
        source: PeerId,
        verdict: Verdict,
    ) -> Result<(), NetworkError> {
        self.try_send(Command::Report {
            id,
            source,
            verdict,
        })
    }

    /// [`respond`](Self::respond) without waiting.
    pub fn try_respond(
        &self,
        reply: ReplyHandle,
        response: SyncResponse,
    ) -> Result<(), NetworkError> {
        let response = self.fit(response);
        let (done, _) = oneshot::channel();
        self.try_send(Command::Respond {
            reply,
            response,
            done,
        })
    }

    fn try_send(&self, command: Command) -> Result<(), NetworkError> {
        self.commands.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => NetworkError::Publish(
                "the network command queue is full; the node is overloaded".into(),
            ),
            mpsc::error::TrySendError::Closed(_) => NetworkError::Stopped,
        })
    }

    /// The peers with at least one open connection.
    pub async fn peers(&self) -> Vec<PeerId> {
        self.call(Command::Peers).await.unwrap_or_default()
    }

    /// The addresses the node listens on (with the real port when configured with port 0).
    pub async fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.call(Command::ListenAddrs).await.unwrap_or_default()
    }

    /// Gossipsub's score of `peer` (negative after rejected messages), if it is known.
    pub async fn peer_score(&self, peer: PeerId) -> Option<f64> {
        self.call(|tx| Command::PeerScore(peer, tx))
            .await
            .ok()
            .flatten()
    }

    /// Replaces the set of blocked peers: their connections are closed and they can neither dial nor be dialed
    /// until unblocked (static peers are redialed at once when unblocked). An operator's tool against a
    /// misbehaving peer, and how tests cut the network into partitions.
    pub fn set_blocked_peers(&self, peers: Vec<PeerId>) -> Result<(), NetworkError> {
        self.try_send(Command::SetBlockedPeers(peers))
    }

    /// Closes every connection; static peers are redialed at once (and others redial us). Fresh connections
    /// start gossipsub afresh (subscriptions, mesh, send queues) on both ends: what a stalled consensus asks
    /// for when messages between connected peers stop arriving.
    pub fn reconnect_all(&self) -> Result<(), NetworkError> {
        self.try_send(Command::ReconnectAll)
    }

    /// Stops the task and waits until its listeners and connections are closed. Calling it again is harmless.
    pub async fn shutdown(&self) {
        let _ = self.call(Command::Shutdown).await;
    }
}
