//! `POST /txs`: a valid transaction is accepted; every malformed body is a 4xx JSON error naming the cause.

use super::*;

#[tokio::test]
async fn submit_tx_accepts_a_valid_transaction() {
    let (app, _) = app(FakeNode::new(None));
    let tx = user_tx(0);
    let body = serde_json::json!({ "tx": to_hex(tx.encode()) }).to_string();
    let (s, v) = post_json(&app, "/txs", body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["hash"], to_hex(tx.hash()));
    let (s, v) = get_json(&app, &format!("/txs/{}", to_hex(tx.hash()))).await;
    assert_eq!(
        (s, &v["status"]),
        (StatusCode::OK, &serde_json::json!("pending"))
    );
    let (s, v) = get_json(&app, &format!("/txs/{}", hex::encode([7u8; 32]))).await;
    assert_eq!(
        (s, &v["status"]),
        (StatusCode::OK, &serde_json::json!("committed"))
    );
    assert_eq!(v["receipt"]["result"], "ingested");
    let (s, v) = get_json(&app, &format!("/txs/{}", hex::encode([8u8; 32]))).await;
    assert_eq!(
        (s, &v["status"]),
        (StatusCode::OK, &serde_json::json!("unknown"))
    );
    let signer = hex::encode(tx.tx.signer);
    let (s, v) = get_json(&app, &format!("/accounts/{signer}")).await;
    assert_eq!((s, &v["nonce"]), (StatusCode::OK, &serde_json::json!(1)));
}

#[tokio::test]
async fn submit_tx_bad_inputs_are_4xx_json() {
    let (app, metrics) = app(FakeNode::new(None));
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            "{not json".into(),
            StatusCode::BAD_REQUEST,
            "body must be JSON",
        ),
        ("".into(), StatusCode::BAD_REQUEST, "body must be JSON"),
        (
            r#"{"tx": 5}"#.into(),
            StatusCode::BAD_REQUEST,
            "invalid type",
        ),
        (
            r#"{"tx": "00", "extra": 1}"#.into(),
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (r#"{}"#.into(), StatusCode::BAD_REQUEST, "missing field"),
        (
            r#"{"tx": "0xzz"}"#.into(),
            StatusCode::BAD_REQUEST,
            "not valid hex",
        ),
        (
            r#"{"tx": "0x0102"}"#.into(),
            StatusCode::BAD_REQUEST,
            "transaction rejected",
        ),
        (
            serde_json::json!({ "tx": "00".repeat(LIMIT) }).to_string(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too large",
        ),
    ];
    for (body, status, needle) in cases {
        let (s, v) = post_json(&app, "/txs", body.clone()).await;
        assert_eq!(s, status, "{body:.80}: {v}");
        assert!(error_of(&v).contains(needle), "{body:.80}: {v}");
    }
    // A bad signature is the node's rejection, passed through.
    let mut tx = user_tx(0);
    tx.signature[0] ^= 1;
    let (s, v) = post_json(
        &app,
        "/txs",
        serde_json::json!({ "tx": to_hex(tx.encode()) }).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(error_of(&v).contains("invalid signature"), "{v}");
    let text = metrics.encode();
    for line in [
        "cvm_txs_rejected_total{reason=\"decode\"} 2",
        "cvm_txs_rejected_total{reason=\"signature\"} 1",
        "cvm_txs_rejected_total{reason=\"too_large\"} 1",
    ] {
        assert!(text.contains(line), "missing {line} in {text}");
    }
}

#[tokio::test]
async fn more_malformed_submit_bodies_are_4xx_json_naming_the_cause() {
    let (app, _) = app(FakeNode::new(None));
    let deep = "[".repeat(LIMIT / 2);
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (b"[1, 2]".to_vec(), StatusCode::BAD_REQUEST, "invalid type"),
        (b"null".to_vec(), StatusCode::BAD_REQUEST, "invalid type"),
        (
            br#"{"tx": null}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid type",
        ),
        (
            br#"{"tx": ["00"]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid type",
        ),
        (
            br#"{"tx": "00", "tx": "00"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "duplicate field",
        ),
        (
            br#"{"tx": "00"} trailing"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "trailing characters",
        ),
        (
            vec![0xff, 0xfe, 0x00, 0x7b],
            StatusCode::BAD_REQUEST,
            "body must be JSON",
        ),
        (
            deep.into_bytes(),
            StatusCode::BAD_REQUEST,
            "body must be JSON",
        ),
        (
            br#"{"tx": "0x123"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "not valid hex",
        ),
        (
            br#"{"tx": "0x"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "transaction rejected",
        ),
    ];
    for (body, status, needle) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
        let (s, v) = post_json(&app, "/txs", body).await;
        assert_eq!(s, status, "{shown}: {v}");
        assert!(error_of(&v).contains(needle), "{shown}: {v}");
    }
}

/// A body streamed without a length is cut off at the limit just like one that announces its size.
#[tokio::test]
async fn an_unannounced_oversized_body_is_413() {
    let (app, metrics) = app(FakeNode::new(None));
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..LIMIT / 64 + 2).map(|_| Ok(vec![b' '; 128])).collect();
    let body = Body::from_stream(futures::stream::iter(chunks));
    let (s, v) = post_json(&app, "/txs", body).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(
        error_of(&v).contains(&format!("limit is {LIMIT} bytes")),
        "{v}"
    );
    assert!(
        metrics
            .encode()
            .contains("cvm_txs_rejected_total{reason=\"too_large\"} 1")
    );
}
