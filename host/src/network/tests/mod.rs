//! Networking tests over real sockets on 127.0.0.1 with OS-chosen ports. Every wait is on an event with a generous
//! timeout, so a loaded machine makes them slower, not flaky. The test node and helpers are here, the tests by
//! topic.

mod connections;
mod gossip;
mod priority;
mod sync;

use std::time::Duration;

use cvm_consensus::{CommitCertificate, Height, Round, ValueId};
use futures::io::Cursor;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use parity_scale_codec::Encode;

use super::codec::{read_frame, write_frame};
use super::*;
use crate::chain::{Block, BlockBody, BlockHeader, PartSetHeader};

const WAIT: Duration = Duration::from_secs(20);
const MAX: usize = 64 * 1024;

struct Node {
    h: NetworkHandle,
    rx: NetworkEvents,
}

impl Node {
    fn id(&self) -> PeerId {
        self.h.local_peer_id()
    }

    async fn addr(&self) -> Multiaddr {
        let addr = self
            .h
            .listen_addrs()
            .await
            .into_iter()
            .next()
            .expect("a listen address");
        addr.with(Protocol::P2p(self.id()))
    }

    /// Waits for the first event `f` maps to `Some`, discarding the others.
    async fn next<T>(&mut self, mut f: impl FnMut(NetworkEvent) -> Option<T>) -> T {
        tokio::time::timeout(WAIT, async {
            loop {
                let event = self.rx.recv().await.expect("network task stopped");
                if let Some(t) = f(event) {
                    return t;
                }
            }
        })
        .await
        .expect("timed out waiting for a network event")
    }

    /// Like [`next`](Self::next) but gives up after `within`.
    async fn next_within<T>(
        &mut self,
        within: Duration,
        f: impl FnMut(NetworkEvent) -> Option<T>,
    ) -> Option<T> {
        tokio::time::timeout(within, self.next(f)).await.ok()
    }

    async fn wait_connected(&mut self, peers: &[PeerId]) {
        let mut missing: Vec<PeerId> = peers.to_vec();
        while !missing.is_empty() {
            let peer = self
                .next(|e| match e {
                    NetworkEvent::PeerConnected(p) => Some(p),
                    _ => None,
                })
                .await;
            missing.retain(|p| *p != peer);
        }
    }

    /// The next gossip message, as (data, id, source).
    async fn message_within(&mut self, within: Duration) -> Option<(Vec<u8>, MessageId, PeerId)> {
        self.next_within(within, |e| match e {
            NetworkEvent::Message {
                data, id, source, ..
            } => Some((data, id, source)),
            _ => None,
        })
        .await
    }
}

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

fn loopback() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/0".parse().expect("valid multiaddr")
}

fn config(
    chain_id: &str,
    keypair: Keypair,
    listen: Multiaddr,
    peers: Vec<Multiaddr>,
) -> NetworkConfig {
    NetworkConfig {
        keypair,
        listen,
        peers,
        max_message_bytes: MAX,
        chain_id: chain_id.into(),
    }
}

async fn start(config: NetworkConfig) -> Node {
    let (h, rx) = spawn(config).await.expect("network starts");
    Node { h, rx }
}

/// A node whose event channels hold `capacity` events each.
async fn start_with_capacity(config: NetworkConfig, capacity: usize) -> Node {
    let (h, rx) = super::spawn::spawn_with(config, capacity)
        .await
        .expect("network starts");
    Node { h, rx }
}

async fn node(chain_id: &str, peers: Vec<Multiaddr>) -> Node {
    start(config(
        chain_id,
        Keypair::generate_ed25519(),
        loopback(),
        peers,
    ))
    .await
}

/// A–B–C: A and C each dial B only.
async fn line() -> (Node, Node, Node) {
    init_logs();
    let mut b = node("line", vec![]).await;
    let mut a = node("line", vec![b.addr().await]).await;
    let mut c = node("line", vec![b.addr().await]).await;
    b.wait_connected(&[a.id(), c.id()]).await;
    a.wait_connected(&[b.id()]).await;
    c.wait_connected(&[b.id()]).await;
    (a, b, c)
}

const TRY: Duration = Duration::from_millis(750);

/// Publishes fresh messages from A until one reaches C through B (B accepting everything), so the meshes are
/// known to be up. Returns the number of tries.
async fn warm_up(a: &Node, b: &mut Node, c: &mut Node) -> usize {
    for i in 0..40 {
        let payload = format!("warm-up {i}").into_bytes();
        a.h.publish(Topic::Consensus, payload.clone())
            .await
            .expect("publish");
        while let Some((data, id, source)) = b.message_within(TRY).await {
            assert_eq!(source, a.id());
            b.h.report(id, source, Verdict::Accept)
                .await
                .expect("report");
            if data == payload {
                break;
            }
        }
        while let Some((data, _, source)) = c.message_within(TRY).await {
            assert_eq!(source, b.id(), "C only hears from B");
            if data == payload {
                return i + 1;
            }
        }
    }
    panic!("no message went A -> B -> C in 40 tries");
}

fn synced_block(height: u64) -> SyncedBlock {
    let header = BlockHeader {
        chain_id: "line".into(),
        height,
        time_ms: 1_700_000_000_000 + height,
        parent_hash: [height as u8; 32],
        proposer: [7; 32],
        validators_hash: [0; 32],
        next_validators_hash: [0; 32],
        sources_hash: [0; 32],
        txs_root: [0; 32],
        tx_count: 0,
        state_root: [1; 32],
        receipts_root: [2; 32],
        fuel_used: 0,
        last_commit_hash: [3; 32],
        evidence_hash: [0; 32],
        parts: PartSetHeader {
            total: 1,
            root: [4; 32],
        },
    };
    let value_id = ValueId(header.hash());
    SyncedBlock {
        block: Block {
            header,
            body: BlockBody::default(),
        },
        certificate: CommitCertificate {
            height: Height(height),
            round: Round(0),
            value_id,
            signatures: vec![],
        },
    }
}

async fn pair() -> (Node, Node) {
    init_logs();
    let mut b = node("sync", vec![]).await;
    let mut a = node("sync", vec![b.addr().await]).await;
    b.wait_connected(&[a.id()]).await;
    a.wait_connected(&[b.id()]).await;
    (a, b)
}

/// A asks B; B answers with `response`; returns what A got.
async fn ask(a: &Node, b: &mut Node, request: SyncRequest, response: SyncResponse) -> SyncResponse {
    let (handle, to) = (a.h.clone(), b.id());
    let sent = request.clone();
    let pending = tokio::spawn(async move { handle.request(to, sent).await });
    let (peer, got, reply) = b
        .next(|e| match e {
            NetworkEvent::SyncRequest {
                peer,
                request,
                reply,
            } => Some((peer, request, reply)),
            _ => None,
        })
        .await;
    assert_eq!((peer, got), (a.id(), request));
    b.h.respond(reply, response).await.expect("respond");
    pending.await.expect("request task").expect("response")
}
