//! Block sync: requests and answers, response fitting and the frame codec.

use super::*;

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

    // Source blocks: more than fits in one frame comes as the longest prefix that does.
    let block = crate::sources::ethereum::EthBlockData {
        header_rlp: vec![0xc0; 100],
        transactions: vec![vec![5; 30_000]],
        receipts: Some(vec![vec![6; 100]]),
    };
    let asked = SourceBlocksReply(vec![
        Some(block.clone()),
        None,
        Some(block.clone()),
        Some(block),
    ]);
    let SyncResponse::SourceBlocks(got) = ask(
        &a,
        &mut b,
        SyncRequest::SourceBlocks {
            hashes: vec![[1; 32]; 4],
        },
        SyncResponse::SourceBlocks(asked.clone()),
    )
    .await
    else {
        panic!("expected source blocks");
    };
    assert!(
        !got.0.is_empty() && got.0.len() < asked.0.len(),
        "{}",
        got.0.len()
    );
    assert!(
        got.0[..] == asked.0[..got.0.len()],
        "a prefix of the answer"
    );

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
