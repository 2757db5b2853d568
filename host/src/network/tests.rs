//! Networking tests over real sockets on 127.0.0.1 with OS-chosen ports. Every wait is on an event with a generous
//! timeout, so a loaded machine makes them slower, not flaky.

use std::time::Duration;

use cvm_consensus::{CommitCertificate, Height, Round, ValueId};
use futures::io::Cursor;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use parity_scale_codec::Encode;
use tokio::sync::mpsc::Receiver;

use super::codec::{read_frame, write_frame};
use super::*;
use crate::chain::{Block, BlockBody, BlockHeader, PartSetHeader};

const WAIT: Duration = Duration::from_secs(20);
const MAX: usize = 64 * 1024;

struct Node {
    h: NetworkHandle,
    rx: Receiver<NetworkEvent>,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_gossip_is_forwarded_along_a_line() {
    let (a, mut b, mut c) = line().await;
    warm_up(&a, &mut b, &mut c).await;
    // A itself never receives its own message.
    let mut a = a;
    assert!(a.message_within(Duration::from_millis(100)).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_gossip_is_not_forwarded_and_lowers_the_senders_score() {
    let (a, mut b, mut c) = line().await;
    warm_up(&a, &mut b, &mut c).await;
    let score_before = b.h.peer_score(a.id()).await.expect("B scores A");

    a.h.publish(Topic::Consensus, b"garbage".to_vec())
        .await
        .expect("publish");
    let (data, id, source) = b.message_within(WAIT).await.expect("B gets the garbage");
    assert_eq!(data, b"garbage");
    b.h.report(id, source, Verdict::Reject)
        .await
        .expect("report");
    let score_after = b.h.peer_score(a.id()).await.expect("B scores A");
    assert!(
        score_after <= score_before - 4.0,
        "a rejected message costs A: {score_before} -> {score_after}"
    );

    // A later, accepted message is the next thing C sees: the rejected one was never forwarded.
    a.h.publish(Topic::Consensus, b"good".to_vec())
        .await
        .expect("publish");
    let (data, id, source) = b
        .message_within(WAIT)
        .await
        .expect("B gets the good message");
    assert_eq!(data, b"good");
    b.h.report(id, source, Verdict::Accept)
        .await
        .expect("report");
    let (data, _, _) = c
        .message_within(WAIT)
        .await
        .expect("C gets the good message");
    assert_eq!(data, b"good", "C must not see the rejected message");
}

fn synced_block(height: u64) -> SyncedBlock {
    let header = BlockHeader {
        chain_id: "line".into(),
        height,
        time_ms: 1_700_000_000_000 + height,
        parent_hash: [height as u8; 32],
        proposer: [7; 32],
        txs_root: [0; 32],
        tx_count: 0,
        state_root: [1; 32],
        receipts_root: [2; 32],
        fuel_used: 0,
        last_commit_hash: [3; 32],
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_requests_get_the_peers_answers() {
    let (a, mut b) = pair().await;
    let status = ask(
        &a,
        &mut b,
        SyncRequest::Status,
        SyncResponse::Status { height: 7 },
    )
    .await;
    assert_eq!(status, SyncResponse::Status { height: 7 });

    let blocks = vec![synced_block(1), synced_block(2)];
    let got = ask(
        &a,
        &mut b,
        SyncRequest::Blocks { from: 1, max: 2 },
        SyncResponse::Blocks(blocks.clone()),
    )
    .await;
    assert_eq!(got, SyncResponse::Blocks(blocks));

    // More than fits in one frame: the responder sends the longest prefix that does.
    let many: Vec<_> = (1..=1000).map(synced_block).collect();
    let SyncResponse::Blocks(got) = ask(
        &a,
        &mut b,
        SyncRequest::Blocks { from: 1, max: 1000 },
        SyncResponse::Blocks(many.clone()),
    )
    .await
    else {
        panic!("expected blocks");
    };
    assert!(!got.is_empty() && got.len() < many.len());
    assert_eq!(got[..], many[..got.len()]);
    assert!(SyncResponse::Blocks(got).encoded_size() <= MAX);

    // A peer that is not connected is an error, not a hang.
    let stranger = Keypair::generate_ed25519().public().to_peer_id();
    assert!(matches!(
        a.h.request(stranger, SyncRequest::Status).await,
        Err(NetworkError::Request { .. })
    ));
}

#[test]
fn fit_blocks_keeps_the_longest_prefix_that_fits() {
    let blocks: Vec<_> = (1..=5).map(synced_block).collect();
    let all = SyncResponse::Blocks(blocks.clone()).encoded_size();
    assert_eq!(fit_blocks(blocks.clone(), all).len(), 5);
    assert_eq!(fit_blocks(blocks.clone(), all - 1).len(), 4);
    let two = SyncResponse::Blocks(blocks[..2].to_vec()).encoded_size();
    assert_eq!(fit_blocks(blocks.clone(), two).len(), 2);
    assert!(fit_blocks(blocks, 10).is_empty());
}

#[tokio::test]
async fn codec_refuses_oversized_truncated_and_garbage_frames() {
    let request = SyncRequest::Blocks { from: 3, max: 9 };
    let mut buf = Cursor::new(Vec::new());
    write_frame(&mut buf, &request, 64).await.expect("fits");
    let bytes = buf.into_inner();
    let read = read_frame::<SyncRequest, _>(&mut Cursor::new(bytes.clone()), 64)
        .await
        .expect("round trip");
    assert_eq!(read, request);

    // Claimed length above the limit: refused before allocating.
    let mut huge = u32::MAX.to_be_bytes().to_vec();
    huge.extend_from_slice(&[0; 16]);
    assert!(
        read_frame::<SyncRequest, _>(&mut Cursor::new(huge), 1024)
            .await
            .is_err()
    );
    // Truncated.
    assert!(
        read_frame::<SyncRequest, _>(&mut Cursor::new(bytes[..bytes.len() - 1].to_vec()), 64)
            .await
            .is_err()
    );
    // Garbage: an unknown variant, and trailing bytes after a valid request.
    let mut garbage = 1u32.to_be_bytes().to_vec();
    garbage.push(0xff);
    assert!(
        read_frame::<SyncRequest, _>(&mut Cursor::new(garbage), 64)
            .await
            .is_err()
    );
    let mut trailing = 2u32.to_be_bytes().to_vec();
    trailing.extend_from_slice(&[0, 0]);
    assert!(
        read_frame::<SyncRequest, _>(&mut Cursor::new(trailing), 64)
            .await
            .is_err()
    );
    // Writing above the limit fails instead of sending.
    let big = SyncResponse::Error("x".repeat(100));
    assert!(
        write_frame(&mut Cursor::new(Vec::new()), &big, 64)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_publish_is_an_error_and_the_largest_allowed_message_is_delivered() {
    let (a, mut b) = pair().await;
    let err =
        a.h.publish(Topic::Transactions, vec![0; MAX + 1])
            .await
            .unwrap_err();
    assert!(
        matches!(err, NetworkError::MessageTooLarge { size, max } if size == MAX + 1 && max == MAX)
    );

    // Exactly the limit still fits through gossipsub's envelope (retry until B's subscription is known).
    for i in 0..40u8 {
        let mut payload = vec![i; MAX];
        payload[0] = i;
        a.h.publish(Topic::Transactions, payload.clone())
            .await
            .expect("a message of exactly max bytes");
        if let Some((data, _, _)) = b.message_within(TRY).await {
            assert_eq!(data.len(), MAX);
            return;
        }
    }
    panic!("B never received the max-size message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_peer_is_redialed() {
    init_logs();
    let b_key = Keypair::generate_ed25519();
    let mut b = start(config("restart", b_key.clone(), loopback(), vec![])).await;
    let b_listen = b.h.listen_addrs().await[0].clone();
    let mut a = node("restart", vec![b.addr().await]).await;
    a.wait_connected(&[b.id()]).await;
    b.wait_connected(&[a.id()]).await;

    b.h.shutdown().await;
    let b_id = b.id();
    a.next(|e| matches!(e, NetworkEvent::PeerDisconnected(p) if p == b_id).then_some(()))
        .await;

    // Same key, same port.
    let mut b = start(config("restart", b_key, b_listen, vec![])).await;
    a.wait_connected(&[b.id()]).await;
    b.wait_connected(&[a.id()]).await;
    assert_eq!(a.h.peers().await, vec![b.id()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chains_do_not_mix() {
    init_logs();
    let mut x = node("chain-a", vec![]).await;
    let mut y = node("chain-b", vec![x.addr().await]).await;
    let mut z = node("chain-a", vec![x.addr().await]).await;
    x.wait_connected(&[y.id(), z.id()]).await;
    y.wait_connected(&[x.id()]).await;

    // Y publishes on its chain's topic: nobody on chain-a may see it.
    y.h.publish(Topic::Consensus, b"from chain-b".to_vec())
        .await
        .expect("no peers is not an error");
    // X publishes until Z (same chain) has it; by then Y would have it too if topics mixed.
    let mut delivered = false;
    for i in 0..40 {
        let payload = format!("chain-a {i}").into_bytes();
        x.h.publish(Topic::Consensus, payload.clone())
            .await
            .expect("publish");
        if let Some((data, _, _)) = z.message_within(TRY).await {
            assert!(data.starts_with(b"chain-a"));
            delivered = true;
            break;
        }
    }
    assert!(delivered, "Z never received X's message");
    y.h.publish(Topic::Consensus, b"from chain-b again".to_vec())
        .await
        .expect("publish");
    assert!(
        y.message_within(TRY).await.is_none(),
        "chain-b node got chain-a gossip"
    );
    assert!(
        x.message_within(TRY).await.is_none(),
        "chain-a node got chain-b gossip"
    );

    // Sync does not cross chains either.
    assert!(y.h.request(x.id(), SyncRequest::Status).await.is_err());
}

#[tokio::test]
async fn bad_peer_addresses_unbindable_listen_addresses_and_use_after_shutdown_are_errors() {
    let no_id: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().expect("valid");
    let err = spawn(config(
        "x",
        Keypair::generate_ed25519(),
        loopback(),
        vec![no_id],
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, NetworkError::PeerWithoutId(_)), "{err}");

    // An address of no local interface cannot be bound (nothing is sent anywhere).
    let foreign: Multiaddr = "/ip4/203.0.113.1/tcp/0".parse().expect("valid");
    let err = spawn(config("x", Keypair::generate_ed25519(), foreign, vec![]))
        .await
        .unwrap_err();
    assert!(matches!(err, NetworkError::Listen { .. }), "{err}");

    // A port another process holds: the message says so (libp2p hides the io error under an empty one).
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let busy: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}").parse().expect("valid");
    let err = spawn(config("x", Keypair::generate_ed25519(), busy, vec![]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, NetworkError::Listen { .. }) && err.to_string().contains("in use"),
        "{err}"
    );

    let first = node("x", vec![]).await;
    first.h.shutdown().await;
    assert!(matches!(
        first.h.publish(Topic::Consensus, vec![1]).await,
        Err(NetworkError::Stopped)
    ));
}

/// A peer with a smaller `max_message_bytes` drops the stream that brings it a larger message, and over that
/// connection it then hears nothing more (gossipsub 0.50 does not recover the direction: B heard nothing for
/// 60 s before the reconnect existed). The slow-peer reconnect (`slow_peers`) gives it a fresh connection once
/// messages to it have been failing for 5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_taking_gossip_gets_a_fresh_connection() {
    init_logs();
    let mut b = node("deaf", vec![]).await;
    let mut a = start(NetworkConfig {
        max_message_bytes: 4 * MAX,
        ..config(
            "deaf",
            Keypair::generate_ed25519(),
            loopback(),
            vec![b.addr().await],
        )
    })
    .await;
    a.wait_connected(&[b.id()]).await;
    b.wait_connected(&[a.id()]).await;

    // B hears A (A knows B's subscriptions).
    let mut heard = false;
    for i in 0..40 {
        let payload = format!("before {i}").into_bytes();
        a.h.publish(Topic::Consensus, payload)
            .await
            .expect("publish");
        if b.message_within(TRY).await.is_some() {
            heard = true;
            break;
        }
    }
    assert!(heard, "B never heard A");

    // Messages above B's limit, one stream each.
    for i in 0..8u8 {
        a.h.publish(Topic::Transactions, vec![i; 2 * MAX])
            .await
            .expect("within A's limit");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Drain what B received meanwhile (nothing above its limit can arrive).
    while let Some((data, _, _)) = b.message_within(Duration::from_millis(100)).await {
        assert!(data.len() <= MAX);
    }

    // Small messages until one gets through; publishing fails while A's queue to B is full, which is what
    // makes gossipsub report B as slow.
    let started = tokio::time::Instant::now();
    let mut sent = 0u64;
    loop {
        for _ in 0..200 {
            let _ =
                a.h.publish(Topic::Consensus, format!("after {sent}").into_bytes())
                    .await;
            sent += 1;
        }
        if let Some((data, _, _)) = b.message_within(Duration::from_millis(50)).await {
            assert!(data.starts_with(b"after"));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "B heard nothing from A for 60 s after its streams were dropped ({sent} messages sent)"
        );
    }
    // It took a new connection: A saw B disconnect and connect again.
    let b_id = b.id();
    let mut disconnected = false;
    while let Ok(event) = a.rx.try_recv() {
        disconnected |= matches!(event, NetworkEvent::PeerDisconnected(p) if p == b_id);
    }
    assert!(
        disconnected,
        "B heard A again without a reconnect: its streams were not dropped enough to test the reconnect"
    );
}
