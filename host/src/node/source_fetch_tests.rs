//! Source data fetched from real peers over the network: more than one message holds, past peers that have
//! none, forge it, or send replies above the decoding bounds.

use std::collections::HashMap;

use alloy_consensus::{Eip658Value, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, Log};
use alloy_trie::root::ordered_trie_root_encoded;
use libp2p::Multiaddr;
use parity_scale_codec::Encode;

use super::*;
use crate::network::{NetworkEvent, NetworkEvents, SourceBlocksReply};
use crate::node::test_peers::{peer_addr as addr, start_peer};
use crate::sources::ethereum::block_data::MAX_SOURCE_BLOCK_TXS;

const WAIT: Duration = Duration::from_secs(20);
/// The message bound of every test node: smaller than the source data fetched in one go.
const MAX_MESSAGE: usize = 256 * 1024;

async fn start(peers: Vec<Multiaddr>) -> (NetworkHandle, NetworkEvents) {
    start_peer(peers, MAX_MESSAGE, "sources").await
}

/// A valid Ethereum block `number` of about `tx_bytes` of transactions (20 of them), each receipt with a log:
/// its roots are computed, so it verifies.
fn source_block(number: u64, tx_bytes: usize) -> EthBlockData {
    let transactions: Vec<Vec<u8>> = (0..20u8)
        .map(|i| {
            let mut tx = vec![i; tx_bytes / 20];
            tx[..8].copy_from_slice(&number.to_be_bytes());
            tx
        })
        .collect();
    let receipts: Vec<Vec<u8>> = (0..20u64)
        .map(|i| {
            let log = Log::new_unchecked(
                Address::repeat_byte(0x11),
                vec![B256::repeat_byte(i as u8)],
                Bytes::from(vec![7; 64]),
            );
            ReceiptEnvelope::Legacy(ReceiptWithBloom {
                receipt: Receipt {
                    status: Eip658Value::Eip658(true),
                    cumulative_gas_used: 21_000 * (i + 1),
                    logs: vec![log],
                },
                logs_bloom: Default::default(),
            })
            .encoded_2718()
        })
        .collect();
    let header = Header {
        number,
        parent_hash: B256::repeat_byte(number as u8),
        transactions_root: ordered_trie_root_encoded(&transactions),
        receipts_root: ordered_trie_root_encoded(&receipts),
        ..Header::default()
    };
    EthBlockData {
        header_rlp: alloy_rlp::encode(&header),
        transactions,
        receipts: Some(receipts),
    }
}

fn commitment(data: &EthBlockData) -> SourceCommitment {
    let block = crate::sources::ethereum::verify_block(data).expect("the test block verifies");
    SourceCommitment {
        source: "eth".into(),
        number: block.number,
        hash: block.hash,
        receipts_root: block.receipts_root,
    }
}

/// How a test peer answers source blocks requests.
#[derive(Clone)]
enum Serve {
    /// From what it holds, `None` for the rest (the network cuts the answer to the message bound).
    Holds(HashMap<[u8; 32], EthBlockData>),
    /// With this reply to every request.
    Always(SourceBlocksReply),
}

fn serve(mut events: NetworkEvents, net: NetworkHandle, how: Serve) {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let NetworkEvent::SyncRequest {
                request: SyncRequest::SourceBlocks { hashes },
                reply,
                ..
            } = event
            {
                let answer = match &how {
                    Serve::Holds(held) => {
                        SourceBlocksReply(hashes.iter().map(|h| held.get(h).cloned()).collect())
                    }
                    Serve::Always(reply) => reply.clone(),
                };
                let _ = net.respond(reply, SyncResponse::SourceBlocks(answer)).await;
            }
        }
    });
}

/// An asker connected to peers serving as `how` says; the asker and the peers' ids in that order.
async fn network(how: Vec<Serve>) -> (NetworkHandle, Vec<PeerId>) {
    let mut addrs = Vec::new();
    let mut ids = Vec::new();
    for serving in how {
        let (net, events) = start(vec![]).await;
        addrs.push(addr(&net).await);
        ids.push(net.local_peer_id());
        serve(events, net, serving);
    }
    let (asker, mut events) = start(addrs).await;
    let connected = tokio::time::timeout(WAIT, async {
        let mut missing = ids.clone();
        while !missing.is_empty() {
            if let Some(NetworkEvent::PeerConnected(p)) = events.recv().await {
                missing.retain(|m| *m != p);
            }
        }
    })
    .await;
    assert!(connected.is_ok(), "the asker never connected to every peer");
    // Keep draining the asker's events so its network task never waits on a full channel.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    (asker, ids)
}

fn holds(blocks: &[EthBlockData]) -> Serve {
    Serve::Holds(blocks.iter().map(|b| (b.hash(), b.clone())).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_data_larger_than_the_message_bound_is_fetched_in_several_answers() {
    // Five blocks of ~200 KB: about 1 MB, four times the message bound; each fits alone.
    let blocks: Vec<EthBlockData> = (1..=5).map(|n| source_block(n, 200_000)).collect();
    let total: usize = blocks.iter().map(Encode::encoded_size).sum();
    assert!(total > 3 * MAX_MESSAGE, "{total} bytes");
    let (asker, peers) = network(vec![Serve::Holds(HashMap::new()), holds(&blocks)]).await;
    let wanted: Vec<SourceCommitment> = blocks.iter().map(commitment).collect();

    let fetch = fetch_sources(&asker, &peers, wanted.clone()).await;
    assert!(fetch.missing.is_empty(), "{:?}", fetch.missing);
    assert!(fetch.bad_peers.is_empty(), "{:?}", fetch.bad_peers);
    let got: Vec<SourceCommitment> = fetch.blocks.iter().map(PulledBlock::commitment).collect();
    assert_eq!(got, wanted, "every block, verified, in order");
    for (pulled, data) in fetch.blocks.iter().zip(&blocks) {
        assert_eq!(*pulled.data, *data);
        assert_eq!(pulled.log_count(), 20);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_answer_is_refused_and_its_peer_reported_and_another_peer_asked() {
    let real = source_block(7, 30_000);
    // A block consistent in itself but not the committed one; and the committed one with a transaction altered.
    let other = source_block(8, 30_000);
    let mut altered = real.clone();
    altered.transactions[3][100] ^= 1;
    let wanted = vec![commitment(&real)];
    let (asker, peers) = network(vec![
        Serve::Always(SourceBlocksReply(vec![Some(other)])),
        Serve::Always(SourceBlocksReply(vec![Some(altered)])),
        holds(std::slice::from_ref(&real)),
    ])
    .await;

    let fetch = fetch_sources(&asker, &peers, wanted).await;
    assert_eq!(fetch.blocks.len(), 1);
    assert_eq!(
        *fetch.blocks[0].data, real,
        "the real block, from the third peer"
    );
    let bad: Vec<PeerId> = fetch.bad_peers.iter().map(|(p, _)| *p).collect();
    assert_eq!(bad, peers[..2], "both forgers reported");
    assert!(
        fetch.bad_peers[0].1.contains("not the one committed"),
        "{}",
        fetch.bad_peers[0].1
    );
    assert!(
        fetch.bad_peers[1].1.contains("transactions root"),
        "{}",
        fetch.bad_peers[1].1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_above_the_decoding_bounds_are_refused_naming_the_peer_and_the_cause() {
    let real = source_block(9, 10_000);
    let wanted = vec![commitment(&real)];
    // More entries than a request may ask for, and a block with more transactions than a block may have.
    let too_many_entries = SourceBlocksReply(vec![None; MAX_SOURCE_BLOCKS_PER_REQUEST + 1]);
    let too_many_txs = SourceBlocksReply(vec![Some(EthBlockData {
        header_rlp: real.header_rlp.clone(),
        transactions: vec![Vec::new(); MAX_SOURCE_BLOCK_TXS as usize + 1],
        receipts: None,
    })]);
    let (asker, peers) = network(vec![
        Serve::Always(too_many_entries),
        Serve::Always(too_many_txs),
        holds(std::slice::from_ref(&real)),
    ])
    .await;

    let fetch = fetch_sources(&asker, &peers, wanted).await;
    assert_eq!(fetch.blocks.len(), 1, "taken from the honest peer");
    assert_eq!(fetch.bad_peers.len(), 2, "{:?}", fetch.bad_peers);
    for ((peer, reason), (expected, cause)) in fetch.bad_peers.iter().zip([
        (peers[0], "MAX_SOURCE_BLOCKS_PER_REQUEST"),
        (peers[1], "MAX_SOURCE_BLOCK_TXS"),
    ]) {
        assert_eq!(*peer, expected);
        assert!(
            reason.contains(&peer.to_string()),
            "names the peer: {reason}"
        );
        assert!(reason.contains(cause), "names the cause: {reason}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_data_no_peer_holds_is_reported_missing() {
    let real = source_block(3, 1_000);
    let (asker, peers) = network(vec![Serve::Holds(HashMap::new())]).await;
    let fetch = fetch_sources(&asker, &peers, vec![commitment(&real)]).await;
    assert!(fetch.blocks.is_empty());
    assert!(fetch.bad_peers.is_empty(), "not holding it is no fault");
    assert_eq!(fetch.missing, vec![commitment(&real)]);
}

#[test]
fn an_answer_is_checked_against_the_commitments_asked_for() {
    let (a, b) = (source_block(1, 1_000), source_block(2, 1_000));
    let asked = [commitment(&a), commitment(&b)];
    let got = check_answer(&asked, vec![None, Some(b.clone())]).expect("b is b");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].commitment(), asked[1]);
    let error = check_answer(&asked, vec![Some(b)]).expect_err("b in a's place");
    assert!(error.contains("not the one committed"), "{error}");
}
