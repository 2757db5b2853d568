//! The swarm task: owns the libp2p swarm, turns its events into [`NetworkEvent`]s, carries out
//! [`Command`]s, and keeps static peers connected by redialing them with exponential backoff.

mod commands;

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{Swarm, SwarmEvent};
use libp2p::{Multiaddr, PeerId, gossipsub, identify, request_response};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::behaviour::{Behaviour, BehaviourEvent, REQUEST_TIMEOUT};
use super::config::NetworkConfig;
use super::error::NetworkError;
use super::event::{MessageId, NetworkEvent, ReplyHandle};
use super::handle::Command;
use super::protocol::{SyncRequest, SyncResponse};
use super::slow_peers::{SLOW_FOR, SlowPeers};
use super::topic::{Topic, protocol_version};

/// How often gossip peer state is logged (debug level).
const GOSSIP_REPORT_TICK: Duration = Duration::from_secs(2);
/// How often due redials are checked.
const REDIAL_TICK: Duration = Duration::from_millis(100);
/// First wait before redialing a static peer; doubles on each failure up to [`MAX_BACKOFF`].
const INITIAL_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// A connection that lasted this long resets the backoff when it closes (a flapping one does not).
const STABLE_CONNECTION: Duration = Duration::from_secs(10);

type RequestReply = oneshot::Sender<Result<SyncResponse, NetworkError>>;

struct StaticPeer {
    peer: PeerId,
    addr: Multiaddr,
    next_dial: Instant,
    backoff: Duration,
    connected_since: Option<Instant>,
}

/// Where the task's events go: transaction gossip on its own channel, the rest on the consensus one.
pub(crate) struct EventSenders {
    pub(crate) consensus: mpsc::Sender<NetworkEvent>,
    pub(crate) transactions: mpsc::Sender<NetworkEvent>,
}

pub(crate) struct SwarmTask {
    swarm: Swarm<Behaviour>,
    chain_id: String,
    max_message_bytes: usize,
    identify_version: String,
    topics: HashMap<gossipsub::TopicHash, Topic>,
    static_peers: Vec<StaticPeer>,
    listen_addrs: Vec<Multiaddr>,
    commands: mpsc::Receiver<Command>,
    events: EventSenders,
    pending_requests: HashMap<request_response::OutboundRequestId, (PeerId, RequestReply)>,
    events_closed_logged: bool,
    slow_peers: SlowPeers,
}

impl SwarmTask {
    pub(crate) fn new(
        swarm: Swarm<Behaviour>,
        config: &NetworkConfig,
        static_peers: Vec<(PeerId, Multiaddr)>,
        listen_addrs: Vec<Multiaddr>,
        commands: mpsc::Receiver<Command>,
        events: EventSenders,
    ) -> Self {
        let local = *swarm.local_peer_id();
        let now = Instant::now();
        let static_peers = static_peers
            .into_iter()
            .filter(|(peer, addr)| {
                let is_self = *peer == local;
                if is_self {
                    tracing::warn!(%addr, "ignoring static peer: it is this node itself");
                }
                !is_self
            })
            .map(|(peer, addr)| StaticPeer {
                peer,
                addr,
                next_dial: now,
                backoff: INITIAL_BACKOFF,
                connected_since: None,
            })
            .collect();
        Self {
            swarm,
            chain_id: config.chain_id.clone(),
            max_message_bytes: config.max_message_bytes,
            identify_version: protocol_version(&config.chain_id),
            topics: Topic::ALL
                .iter()
                .map(|t| (t.ident(&config.chain_id).hash(), *t))
                .collect(),
            static_peers,
            listen_addrs,
            commands,
            events,
            pending_requests: HashMap::new(),
            events_closed_logged: false,
            slow_peers: SlowPeers::default(),
        }
    }

    /// Runs until shutdown or until every handle is dropped, then drops the swarm (closing listeners and
    /// connections) before acknowledging the shutdown.
    pub(crate) async fn run(mut self) {
        let mut redial = tokio::time::interval(REDIAL_TICK);
        redial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut report = tokio::time::interval(GOSSIP_REPORT_TICK);
        report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let ack = loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event).await,
                command = self.commands.recv() => match command {
                    None => break None,
                    Some(Command::Shutdown(ack)) => break Some(ack),
                    Some(command) => self.on_command(command),
                },
                _ = redial.tick() => {
                    self.slow_peers.expire(Instant::now());
                    self.redial_due_peers();
                }
                _ = report.tick() => self.log_gossip_peers(),
            }
        };
        for (_, (_, reply)) in self.pending_requests.drain() {
            let _ = reply.send(Err(NetworkError::Stopped));
        }
        let local = *self.swarm.local_peer_id();
        drop(self);
        tracing::info!(peer_id = %local, "p2p stopped");
        if let Some(ack) = ack {
            let _ = ack.send(());
        }
    }

    /// Each gossip peer's score, topics and mesh membership, at debug level: what to look at when messages
    /// between two connected peers stop arriving.
    fn log_gossip_peers(&self) {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let consensus = Topic::Consensus.ident(&self.chain_id).hash();
        let mesh: Vec<PeerId> = gossipsub.mesh_peers(&consensus).copied().collect();
        for (peer, topics) in gossipsub.all_peers() {
            tracing::debug!(
                %peer,
                score = ?gossipsub.peer_score(peer),
                topics = topics.len(),
                in_consensus_mesh = mesh.contains(peer),
                "gossip peer"
            );
        }
    }

    fn redial_due_peers(&mut self) {
        let now = Instant::now();
        for sp in &mut self.static_peers {
            if now < sp.next_dial || self.swarm.is_connected(&sp.peer) {
                continue;
            }
            let opts = DialOpts::peer_id(sp.peer)
                .addresses(vec![sp.addr.clone()])
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            match self.swarm.dial(opts) {
                Ok(()) => tracing::debug!(peer = %sp.peer, addr = %sp.addr, "dialing static peer"),
                Err(e) => tracing::trace!(peer = %sp.peer, error = %e, "not dialing static peer"),
            }
            sp.next_dial = now + sp.backoff;
            sp.backoff = (sp.backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn reconnect_all(&mut self) {
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        tracing::info!(peers = peers.len(), "reconnecting to every peer");
        // Evidence for why gossip stopped: a peer scored below the graylist threshold (-80 by default) has all its
        // messages dropped while its connection stays up.
        for peer in &peers {
            let score = self.swarm.behaviour().gossipsub.peer_score(peer);
            tracing::info!(%peer, gossip_score = ?score, "peer before reconnecting");
        }
        for peer in peers {
            self.reconnect(peer);
        }
    }

    /// Closes every connection to `peer` and, for a static peer, redials it at once.
    fn reconnect(&mut self, peer: PeerId) {
        let _ = self.swarm.disconnect_peer_id(peer);
        self.redial_now(&peer);
    }

    /// A static peer's next dial is due now, with its backoff reset (no-op for other peers).
    fn redial_now(&mut self, peer: &PeerId) {
        if let Some(sp) = self.static_peer(peer) {
            sp.backoff = INITIAL_BACKOFF;
            sp.next_dial = Instant::now();
        }
    }

    fn set_blocked_peers(&mut self, peers: Vec<PeerId>) {
        let wanted: std::collections::HashSet<PeerId> = peers.into_iter().collect();
        let blocked = self.swarm.behaviour_mut().blocked.blocked_peers().clone();
        for peer in blocked.difference(&wanted) {
            self.swarm.behaviour_mut().blocked.unblock_peer(*peer);
            self.redial_now(peer);
            tracing::info!(%peer, "peer unblocked");
        }
        for peer in wanted.difference(&blocked) {
            self.swarm.behaviour_mut().blocked.block_peer(*peer);
            tracing::info!(%peer, "peer blocked");
        }
    }

    fn static_peer(&mut self, peer: &PeerId) -> Option<&mut StaticPeer> {
        self.static_peers.iter_mut().find(|sp| sp.peer == *peer)
    }

    /// Sends an event the node must not miss, waiting for room in the consensus channel.
    async fn emit(&mut self, event: NetworkEvent) {
        if self.events.consensus.send(event).await.is_err() && !self.events_closed_logged {
            tracing::warn!("network events receiver dropped; events are discarded from now on");
            self.events_closed_logged = true;
        }
    }

    async fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => self.on_gossip(event),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync(event).await,
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) if info.protocol_version != self.identify_version => {
                tracing::warn!(
                    peer = %peer_id,
                    theirs = %info.protocol_version,
                    ours = %self.identify_version,
                    "peer runs another chain or protocol version; no gossip or sync will be exchanged with it"
                );
            }
            SwarmEvent::Behaviour(_) => {}
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                endpoint,
                ..
            } => {
                if let Some(sp) = self.static_peer(&peer_id) {
                    sp.connected_since.get_or_insert_with(Instant::now);
                }
                if num_established.get() == 1 {
                    tracing::info!(peer = %peer_id, addr = %endpoint.get_remote_address(), "peer connected");
                    self.emit(NetworkEvent::PeerConnected(peer_id)).await;
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                if num_established > 0 {
                    return;
                }
                tracing::info!(peer = %peer_id, cause = ?cause, "peer disconnected");
                self.slow_peers.disconnected(&peer_id);
                if let Some(sp) = self.static_peer(&peer_id) {
                    let now = Instant::now();
                    if sp
                        .connected_since
                        .take()
                        .is_some_and(|t| now - t >= STABLE_CONNECTION)
                    {
                        sp.backoff = INITIAL_BACKOFF;
                    }
                    sp.next_dial = now + sp.backoff;
                }
                self.emit(NetworkEvent::PeerDisconnected(peer_id)).await;
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, %error, "dial failed");
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                ..
            } => {
                tracing::debug!(from = %send_back_addr, %error, "incoming connection failed");
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "p2p listening");
                if !self.listen_addrs.contains(&address) {
                    self.listen_addrs.push(address);
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen_addrs.retain(|a| *a != address)
            }
            SwarmEvent::ListenerError { error, .. } => tracing::warn!(%error, "p2p listener error"),
            SwarmEvent::ListenerClosed {
                addresses, reason, ..
            } => {
                tracing::warn!(?addresses, ?reason, "p2p listener closed");
                self.listen_addrs.retain(|a| !addresses.contains(a));
            }
            _ => {}
        }
    }

    /// A peer that has taken no gossip for [`SLOW_FOR`] gets fresh connections (and the static-peer redial).
    fn on_slow_peer(&mut self, peer: PeerId, failed: gossipsub::FailedMessages) {
        tracing::debug!(%peer, ?failed, "gossip to peer dropped (send queue full or expired)");
        if self.slow_peers.reported(peer, Instant::now()) {
            tracing::warn!(
                %peer,
                slow_for = ?SLOW_FOR,
                "peer has taken no gossip for a while (its end of the stream may be gone); reconnecting it"
            );
            self.reconnect(peer);
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        if let gossipsub::Event::SlowPeer {
            peer_id,
            failed_messages,
        } = event
        {
            self.on_slow_peer(peer_id, failed_messages);
            return;
        }
        let gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } = event
        else {
            tracing::trace!(?event, "gossipsub");
            return;
        };
        let Some(&topic) = self.topics.get(&message.topic) else {
            tracing::debug!(topic = %message.topic, "message on a topic we do not serve; ignored");
            self.validate(
                &message_id,
                &propagation_source,
                gossipsub::MessageAcceptance::Ignore,
            );
            return;
        };
        let event = NetworkEvent::Message {
            topic,
            source: propagation_source,
            id: MessageId(message_id.0.clone()),
            data: message.data,
        };
        // Transactions have their own channel: however many arrive, consensus messages still find room.
        let channel = match topic {
            Topic::Transactions => &self.events.transactions,
            Topic::Consensus | Topic::ProposalParts => &self.events.consensus,
        };
        // Never block the swarm on a slow consumer for gossip: drop (and stop tracking) what does not fit.
        match channel.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(
                    ?topic,
                    "network events channel full; gossip message dropped"
                );
                self.validate(
                    &message_id,
                    &propagation_source,
                    gossipsub::MessageAcceptance::Ignore,
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.validate(
                    &message_id,
                    &propagation_source,
                    gossipsub::MessageAcceptance::Ignore,
                );
            }
        }
    }

    fn validate(
        &mut self,
        id: &gossipsub::MessageId,
        source: &PeerId,
        acceptance: gossipsub::MessageAcceptance,
    ) {
        let found = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(id, source, acceptance);
        if !found {
            tracing::debug!(message_id = %id, "validated message no longer cached (expired or reported twice)");
        }
    }

    async fn on_sync(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
        use request_response::{Event, Message, OutboundFailure};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                tracing::debug!(%peer, ?request, "sync request");
                self.emit(NetworkEvent::SyncRequest {
                    peer,
                    request,
                    reply: ReplyHandle(channel),
                })
                .await;
            }
            Event::Message {
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some((_, reply)) = self.pending_requests.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
            }
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(%peer, %error, "sync request failed");
                if let Some((_, reply)) = self.pending_requests.remove(&request_id) {
                    let error = match error {
                        OutboundFailure::Timeout => NetworkError::Timeout {
                            peer,
                            secs: REQUEST_TIMEOUT.as_secs(),
                        },
                        // The codec refused the answer's frame (above the size limit, or undecodable: a source
                        // block above its bounds): the peer's fault, not the connection's.
                        OutboundFailure::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                            NetworkError::BadResponse {
                                peer,
                                reason: e.to_string(),
                            }
                        }
                        other => NetworkError::Request {
                            peer,
                            reason: other.to_string(),
                        },
                    };
                    let _ = reply.send(Err(error));
                }
            }
            Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound sync request failed");
            }
            Event::ResponseSent { .. } => {}
        }
    }
}
