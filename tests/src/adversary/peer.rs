//! A libp2p peer of the adversary's: joins the network through one validator with the node's own network stack
//! (same topics, wire version and sync protocol) but no validator key, and keeps what it hears.

use std::collections::{HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use cvm_host::network::{
    self, Multiaddr, NetworkConfig, NetworkEvent, NetworkHandle, SyncRequest, SyncResponse, Topic,
    Verdict,
};
use cvm_host::node::wire::{self, ConsensusEnvelope, ConsensusMessage};
use libp2p::identity::Keypair;

use super::attacks::Attack;
use super::relay::RelayRules;
use super::sent::SharedSentLog;

/// Payloads of the adversary's an observer keeps for the relay check (the count goes on).
const RELAYED_KEPT: usize = 10_000;
/// Captured messages kept per topic for replays and mutations (the newest).
const CAPTURED_PER_TOPIC: usize = 512;

/// A short hash identifying a gossip payload (the adversary compares what it sent with what its observer saw).
pub fn payload_id(data: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    data.hash(&mut h);
    h.finish()
}

/// What a peer heard on the gossip topics.
#[derive(Default)]
pub struct Heard {
    /// Payloads of the adversary's (see [`SharedSentLog`]) received, up to [`RELAYED_KEPT`], with their attack.
    pub relayed: Vec<(Attack, Topic, Vec<u8>)>,
    /// Payloads of the adversary's received in all.
    pub relayed_total: u64,
    /// The newest consensus messages and block parts, as received.
    pub consensus: VecDeque<Vec<u8>>,
    pub parts: VecDeque<Vec<u8>>,
    /// The part-set roots named by validly signed proposals heard.
    pub signed_roots: HashSet<[u8; 32]>,
    /// The highest height named by a consensus message heard.
    pub height: u64,
    /// Messages received in all.
    pub messages: u64,
}

impl Heard {
    fn keep(
        &mut self,
        rules: &RelayRules,
        watch: Option<&SharedSentLog>,
        topic: Topic,
        data: &[u8],
    ) {
        self.messages += 1;
        if let Some(watch) = watch {
            let id = payload_id(data);
            let kind = watch
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .kinds
                .get(&id)
                .copied();
            if let Some((attack, _)) = kind {
                self.relayed_total += 1;
                if self.relayed.len() < RELAYED_KEPT {
                    self.relayed.push((attack, topic, data.to_vec()));
                }
            }
        }
        let ring = match topic {
            Topic::Consensus => {
                if let Ok(envelope) = wire::decode::<ConsensusEnvelope>(data) {
                    let height = match &envelope.message {
                        ConsensusMessage::Proposal(p) => {
                            if rules.proposal_is_signed(p) {
                                self.signed_roots.insert(p.proposal.value.parts.root);
                            }
                            p.proposal.height.0
                        }
                        ConsensusMessage::Vote(v) => v.vote.height.0,
                        ConsensusMessage::Evidence(_) => 0,
                    };
                    self.height = self.height.max(height);
                }
                &mut self.consensus
            }
            Topic::ProposalParts => &mut self.parts,
            Topic::Transactions => return,
        };
        if ring.len() == CAPTURED_PER_TOPIC {
            ring.pop_front();
        }
        ring.push_back(data.to_vec());
    }
}

/// How a peer answers the sync requests honest nodes send it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncAnswers {
    /// Claims height `u64::MAX` and serves no block toward it.
    Lie,
    /// Does not answer.
    Silent,
}

/// A running peer: its network handle and what it heard.
pub struct Peer {
    pub handle: NetworkHandle,
    pub heard: Arc<Mutex<Heard>>,
    /// Sync status requests answered with a lie.
    pub lies_told: Arc<std::sync::atomic::AtomicU64>,
}

impl Peer {
    /// Joins through `entry` (a multiaddr ending in `/p2p/<peer id>`), listening on a free loopback port.
    pub async fn join(
        chain_id: &str,
        entry: Multiaddr,
        max_message_bytes: usize,
        answers: SyncAnswers,
        rules: Arc<RelayRules>,
        watch: Option<SharedSentLog>,
    ) -> Peer {
        let config = NetworkConfig {
            keypair: Keypair::generate_ed25519(),
            listen: "/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr"),
            peers: vec![entry],
            max_message_bytes,
            chain_id: chain_id.to_owned(),
        };
        let (handle, mut events) = network::spawn(config).await.expect("adversary peer starts");
        let heard = Arc::new(Mutex::new(Heard::default()));
        let lies_told = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (pump_handle, pump_heard, pump_lies) =
            (handle.clone(), heard.clone(), lies_told.clone());
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                match event {
                    NetworkEvent::Message {
                        topic,
                        source,
                        id,
                        data,
                    } => {
                        pump_heard.lock().unwrap_or_else(|p| p.into_inner()).keep(
                            &rules,
                            watch.as_ref(),
                            topic,
                            &data,
                        );
                        // Never forward: the peer only listens and sends its own.
                        let _ = pump_handle.report(id, source, Verdict::Ignore).await;
                    }
                    NetworkEvent::SyncRequest { request, reply, .. } => {
                        if answers == SyncAnswers::Silent {
                            continue;
                        }
                        let response = match request {
                            SyncRequest::Status => {
                                pump_lies.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                SyncResponse::Status { height: u64::MAX }
                            }
                            _ => SyncResponse::Blocks(Vec::new()),
                        };
                        let _ = pump_handle.respond(reply, response).await;
                    }
                    _ => {}
                }
            }
        });
        Peer {
            handle,
            heard,
            lies_told,
        }
    }

    /// What the peer heard so far (locked).
    pub fn heard(&self) -> std::sync::MutexGuard<'_, Heard> {
        self.heard.lock().unwrap_or_else(|p| p.into_inner())
    }
}
