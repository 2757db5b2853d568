//! `GET /code/{code_hash}`: the stored wasm by hash; an unknown hash is a 404, a malformed one a 400.

use super::*;

#[tokio::test]
async fn code_by_hash_and_its_refusals() {
    let (app, _) = app(FakeNode::new(None));
    let hash = to_hex(cvm_runtime::state::blake2_256(FAKE_CODE));
    let (s, v) = get_json(&app, &format!("/code/{hash}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v,
        serde_json::json!({"code_hash": hash, "code": to_hex(FAKE_CODE)})
    );
    let (s, v) = get_json(&app, &format!("/code/{}", to_hex([1; 32]))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("no deployed manuscript has code"),
        "{v}"
    );
    for bad in ["nothex", "0x0102"] {
        let (s, v) = get_json(&app, &format!("/code/{bad}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert!(v["error"].as_str().unwrap().contains("code hash"), "{v}");
    }
}
