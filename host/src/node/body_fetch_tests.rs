use libp2p::Multiaddr;

use super::*;
use crate::network::{NetworkEvent, NetworkEvents};
use crate::node::test_peers::{peer_addr as addr, start_peer};

const WAIT: Duration = Duration::from_secs(20);
const LIMITS: BodyLimits = BodyLimits {
    part_size: 1024,
    max_block_bytes: 1 << 20,
};

async fn start(peers: Vec<Multiaddr>) -> (NetworkHandle, NetworkEvents) {
    start_peer(peers, 2 << 20, "bodies").await
}

fn body() -> BlockBody {
    let key = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
    let tx = cvm_runtime::Transaction {
        chain_id: "bodies".into(),
        signer: key.verifying_key().to_bytes(),
        nonce: 0,
        payload: cvm_runtime::TxPayload::Ingest {
            source: "s".into(),
            records: vec![vec![9; 5000]].into(),
        },
    }
    .sign(&key);
    BlockBody {
        source_blocks: Vec::new(),
        txs: vec![tx],
        last_commit: None,
        evidence: Vec::new(),
    }
}

/// Answers every body request with `answer`, or holds it unanswered when `None`.
fn serve(mut events: NetworkEvents, net: NetworkHandle, answer: Option<BlockBody>) {
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Some(event) = events.recv().await {
            if let NetworkEvent::SyncRequest {
                request: SyncRequest::Body { .. },
                reply,
                ..
            } = event
            {
                match &answer {
                    Some(body) => {
                        let _ = net.respond(reply, SyncResponse::Body(body.clone())).await;
                    }
                    None => held.push(reply),
                }
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_a_signed_proposal_but_no_parts_gets_the_body_by_request_past_lying_and_silent_peers()
 {
    let body = body();
    let parts = PartSet::from_body(&body, LIMITS.part_size).header();
    let (liar, liar_events) = start(vec![]).await;
    let (silent, silent_events) = start(vec![]).await;
    let (holder, holder_events) = start(vec![]).await;
    let peers = vec![addr(&liar).await, addr(&silent).await, addr(&holder).await];
    let ids = [
        liar.local_peer_id(),
        silent.local_peer_id(),
        holder.local_peer_id(),
    ];
    serve(liar_events, liar.clone(), Some(BlockBody::default()));
    serve(silent_events, silent.clone(), None);
    serve(holder_events, holder.clone(), Some(body.clone()));
    let (asker, mut asker_events) = start(peers).await;
    let connected = tokio::time::timeout(WAIT, async {
        let mut missing = ids.to_vec();
        while !missing.is_empty() {
            if let Some(NetworkEvent::PeerConnected(p)) = asker_events.recv().await {
                missing.retain(|m| *m != p);
            }
        }
    })
    .await;
    assert!(connected.is_ok(), "the asker never connected to all three");

    let got = fetch_body(&asker, &ids, 7, parts, LIMITS).await;
    assert_eq!(
        got,
        Some(body),
        "the body that matches the signed part set, from the third peer asked"
    );
    // Nobody has the body: no answer is taken.
    let other = PartSet::from_bytes(&[1; 3000], LIMITS.part_size).header();
    assert_eq!(fetch_body(&asker, &ids[..1], 7, other, LIMITS).await, None);
}

#[test]
fn a_fetched_body_must_match_the_signed_part_set_and_the_size_limit() {
    let body = body();
    let parts = PartSet::from_body(&body, LIMITS.part_size).header();
    assert!(check_body(&body, parts, LIMITS).is_ok());
    assert!(check_body(&BlockBody::default(), parts, LIMITS).is_err());
    let small = BodyLimits {
        max_block_bytes: 100,
        ..LIMITS
    };
    assert!(check_body(&body, parts, small).is_err());
}
