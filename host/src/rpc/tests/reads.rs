//! Reads: status, blocks, commits, records and metrics as a client sees them.

use super::*;

#[tokio::test]
async fn status_validators_manuscripts_evidence() {
    let (app, _) = app(FakeNode::new(None));
    let (s, v) = get_json(&app, "/status").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["height"], 2);
    assert_eq!(v["peers"]["count"], 1);
    let (s, v) = get_json(&app, "/validators").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (v["height"].as_u64(), v["validators"][0]["name"].as_str()),
        (Some(3), Some("v0"))
    );
    let (s, v) = get_json(&app, "/validators?height=2").await;
    assert_eq!((s, v["height"].as_u64()), (StatusCode::OK, Some(2)));
    let (s, v) = get_json(&app, "/validators?height=9").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        v["error"].as_str().unwrap().contains("not decided yet"),
        "{v}"
    );
    let (s, _) = get_json(&app, "/validators?height=x").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        get_json(&app, "/manuscripts").await,
        (
            StatusCode::OK,
            serde_json::json!({"manuscripts": [], "next": null})
        )
    );
    let (s, v) = get_json(&app, "/evidence").await;
    assert_eq!(s, StatusCode::OK);
    let committed = &v["committed"][0];
    assert_eq!(
        (
            committed["committed_at"].as_u64(),
            committed["jailed"].as_bool(),
            committed["vote_kind"].as_str()
        ),
        (Some(1), Some(true), Some("prevote"))
    );
    assert_eq!(v["pending"], serde_json::json!([]));
    let (s, v) = get_json(&app, "/evidence?before=1&limit=5").await;
    assert_eq!(
        (s, &v["committed"]),
        (StatusCode::OK, &serde_json::json!([]))
    );
    let bad = ["limit=0", "limit=1001", "before=x", "height=3"];
    assert_bad_queries(&app, "/evidence", &bad, "limit must be 1 to 1000 blocks").await;
}

#[tokio::test]
async fn sources_come_with_their_heads() {
    let (app, _) = app(FakeNode::new(None));
    assert_eq!(
        get_json(&app, "/sources").await,
        (
            StatusCode::OK,
            serde_json::json!([{
                "definition": {"kind": "signed", "name": "kv", "publishers": [to_hex([9; 32])]},
                "head": {"number": 3, "hash": to_hex([8; 32])},
            }])
        )
    );
}

#[tokio::test]
async fn blocks_and_commits_by_height() {
    let (app, _) = app(FakeNode::new(None));
    let (s, v) = get_json(&app, "/blocks/latest").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["header"]["height"], 2);
    assert_eq!(v["hash"], to_hex(header(2).hash()));
    assert_eq!(
        v["source_blocks"],
        serde_json::json!([{"source": "eth", "number": 7, "hash": to_hex([7; 32]), "receipts_root": to_hex([8; 32])}])
    );
    assert_eq!(
        (
            &v["evidence"][0]["validator"],
            &v["evidence"][0]["committed_at"]
        ),
        (&serde_json::json!(to_hex([7; 32])), &serde_json::json!(2))
    );
    assert_eq!(
        v["header"]["evidence_hash"],
        to_hex(header(2).evidence_hash)
    );
    let (s, v) = get_json(&app, "/blocks/1").await;
    assert_eq!(
        (s, &v["header"]["height"]),
        (StatusCode::OK, &serde_json::json!(1))
    );
    assert_eq!(v["source_blocks"], serde_json::json!([]));
    assert_eq!(v["evidence"], serde_json::json!([]));
    let (s, v) = get_json(&app, "/commits/2").await;
    assert_eq!(
        (s, &v["value_id"]),
        (StatusCode::OK, &serde_json::json!(to_hex(header(2).hash())))
    );

    let (s, v) = get_json(&app, "/blocks/abc").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(error_of(&v).contains("not a number"), "{v}");
    let (s, v) = get_json(&app, "/blocks/-1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = get_json(&app, "/blocks/0").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = get_json(&app, "/blocks/99999999999999999999999").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = get_json(&app, "/blocks/99").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(error_of(&v).contains("no block at height 99"));
    let (s, _) = get_json(&app, "/commits/99").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn records_serve_a_verifiable_bundle() {
    let bundle = crate::verify::fixture::bundle();
    let key_hex = hex::encode(&bundle.key);
    let (app, _) = app(FakeNode::new(Some(bundle.clone())));
    let (s, v) = get_json(
        &app,
        &format!("/records/wat-counter/counts/{key_hex}?height=2"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let back: RecordBundle = serde_json::from_value(v).unwrap();
    assert_eq!(back, bundle);
    crate::verify::verify_bundle(&back, &crate::verify::fixture::trust()).unwrap();
    let (s, v) = get_json(&app, &format!("/records/wat-counter/nope/{key_hex}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(error_of(&v).contains("no manuscript"));
    let (s, v) = get_json(
        &app,
        &format!("/records/wat-counter/counts/{key_hex}?height=9"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(error_of(&v).contains("height 9"));
}

#[tokio::test]
async fn records_carry_json_beside_the_verified_hex() {
    let mut bundle = crate::verify::fixture::bundle();
    bundle.key_json = Some(serde_json::json!({"block": 7}));
    bundle.value_json = Some(serde_json::json!({"count": 2}));
    let key_hex = hex::encode(&bundle.key);
    let (app, _) = app(FakeNode::new(Some(bundle.clone())));
    let (s, v) = get_json(&app, &format!("/records/wat-counter/counts/{key_hex}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["key"], format!("0x{key_hex}"));
    assert_eq!(
        v["value"],
        crate::hex_text::to_hex(bundle.value.as_ref().unwrap())
    );
    assert_eq!(v["key_json"], serde_json::json!({"block": 7}));
    assert_eq!(v["value_json"], serde_json::json!({"count": 2}));
    // The JSON is for people: a changed one still verifies, because verification reads only the hex.
    let mut edited = v.clone();
    edited["value_json"] = serde_json::json!({"count": 999});
    let back: RecordBundle = serde_json::from_value(edited).unwrap();
    crate::verify::verify_bundle(&back, &crate::verify::fixture::trust()).unwrap();
}

#[tokio::test]
async fn metrics_are_served_as_text() {
    let (app, metrics) = app(FakeNode::new(None));
    metrics.set_peers(4);
    let (s, body) = call(&app, "GET", "/metrics", Body::empty()).await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("cvm_peers 4"), "{text}");
    assert!(text.contains("# TYPE cvm_height gauge"), "{text}");
}
