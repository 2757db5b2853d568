//! Priority: a flood of transaction gossip cannot crowd consensus gossip out of the node.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_flood_does_not_drop_consensus_messages() {
    init_logs();
    const CAPACITY: usize = 16;
    let mut b = start_with_capacity(
        config("prio", Keypair::generate_ed25519(), loopback(), vec![]),
        CAPACITY,
    )
    .await;
    let mut a = node("prio", vec![b.addr().await]).await;
    b.wait_connected(&[a.id()]).await;
    a.wait_connected(&[b.id()]).await;
    // Until B hears A, A does not know B's subscriptions.
    let mut heard = false;
    for i in 0..40 {
        a.h.publish(Topic::Consensus, format!("warm-up {i}").into_bytes())
            .await
            .expect("publish");
        if let Some((_, id, source)) = b.message_within(TRY).await {
            b.h.report(id, source, Verdict::Accept)
                .await
                .expect("report");
            heard = true;
            break;
        }
    }
    assert!(heard, "B never heard A");
    while b.rx.consensus.try_recv().is_ok() {}

    // Four channels' worth of transactions, none of which B takes: its transaction channel fills up.
    for i in 0..4 * CAPACITY {
        a.h.publish(Topic::Transactions, format!("tx {i}").into_bytes())
            .await
            .expect("publish");
    }
    let full = tokio::time::timeout(WAIT, async {
        while b.rx.transactions.len() < CAPACITY {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        full.is_ok(),
        "the flood never filled B's transaction channel"
    );

    // A consensus message after the flood still gets through, on the consensus channel.
    a.h.publish(Topic::Consensus, b"a vote".to_vec())
        .await
        .expect("publish");
    let got = tokio::time::timeout(WAIT, b.rx.consensus.recv())
        .await
        .expect("the consensus message was dropped behind the transaction flood")
        .expect("network task runs");
    match got {
        NetworkEvent::Message { topic, data, .. } => {
            assert_eq!((topic, data.as_slice()), (Topic::Consensus, &b"a vote"[..]))
        }
        other => panic!("unexpected event {other:?}"),
    }
    // Transactions only ever travel on their own channel.
    while let Ok(event) = b.rx.transactions.try_recv() {
        assert!(
            matches!(
                event,
                NetworkEvent::Message {
                    topic: Topic::Transactions,
                    ..
                }
            ),
            "{event:?}"
        );
    }
}
