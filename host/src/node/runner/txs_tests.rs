use std::time::Duration;

use cvm_runtime::SignedTransaction;
use ed25519_dalek::SigningKey;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use parity_scale_codec::Encode;

use super::*;
use crate::network::{Multiaddr, NetworkConfig, NetworkEvents, spawn};
use crate::node::mempool::test_txs::ingest_tx;

const WAIT: Duration = Duration::from_secs(20);
const CHAIN: &str = "intake";

async fn start(peers: Vec<Multiaddr>) -> (NetworkHandle, NetworkEvents) {
    spawn(NetworkConfig {
        keypair: Keypair::generate_ed25519(),
        listen: "/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr"),
        peers,
        max_message_bytes: 64 * 1024,
        chain_id: CHAIN.into(),
    })
    .await
    .expect("network starts")
}

fn tx(key: &SigningKey, nonce: u64) -> SignedTransaction {
    ingest_tx(key, nonce, CHAIN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossiped_transactions_are_verified_off_the_consensus_loop_and_their_verdicts_reported() {
    let (b, b_events) = start(vec![]).await;
    let b_addr = b
        .listen_addrs()
        .await
        .into_iter()
        .next()
        .expect("listens")
        .with(Protocol::P2p(b.local_peer_id()));
    let (a, mut a_events) = start(vec![b_addr]).await;
    let NetworkEvents {
        consensus: mut b_consensus,
        transactions,
    } = b_events;
    tokio::spawn(async move { while a_events.recv().await.is_some() {} });
    let mempool = Arc::new(Mutex::new(Mempool::new(CHAIN.into(), 100, 1 << 20, 4096)));
    spawn_tx_intake(transactions, mempool.clone(), |_| 0, b.clone());

    // A valid transaction (re-published with the next nonce until B's subscription is known) is admitted.
    let key = SigningKey::from_bytes(&[3; 32]);
    let mut admitted = false;
    for nonce in 0..40 {
        a.publish(Topic::Transactions, tx(&key, nonce).encode())
            .await
            .expect("publish");
        tokio::time::sleep(Duration::from_millis(250)).await;
        if !mempool.lock().is_empty() {
            admitted = true;
            break;
        }
    }
    assert!(admitted, "no gossiped transaction reached the mempool");
    let held = mempool.lock().len();
    let score = b.peer_score(a.local_peer_id()).await.expect("B scores A");

    // A forged one is refused after its check, and the relaying peer pays for it.
    let mut forged = tx(&SigningKey::from_bytes(&[4; 32]), 0);
    forged.signature[0] ^= 1;
    a.publish(Topic::Transactions, forged.encode())
        .await
        .expect("publish");
    let penalised = tokio::time::timeout(WAIT, async {
        loop {
            let now = b.peer_score(a.local_peer_id()).await.expect("B scores A");
            if now <= score - 4.0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        penalised.is_ok(),
        "the forged transaction was not reported Reject"
    );
    assert_eq!(
        mempool.lock().len(),
        held,
        "the forged transaction was not admitted"
    );
    // Nothing of it came on the channel the consensus loop reads.
    while let Ok(event) = b_consensus.try_recv() {
        assert!(
            !matches!(
                event,
                NetworkEvent::Message {
                    topic: Topic::Transactions,
                    ..
                }
            ),
            "a transaction reached the consensus channel"
        );
    }
}
