//! Bad paths, hashes, keys, query strings and methods are 4xx JSON errors.

use super::*;

#[tokio::test]
async fn bad_hashes_keys_and_routes_are_4xx_json() {
    let (app, _) = app(FakeNode::new(None));
    for (uri, status) in [
        ("/txs/xyz", StatusCode::BAD_REQUEST),
        ("/txs/0x0102", StatusCode::BAD_REQUEST),
        ("/accounts/1234", StatusCode::BAD_REQUEST),
        ("/accounts/notHex", StatusCode::BAD_REQUEST),
        ("/nope", StatusCode::NOT_FOUND),
        ("/blocks", StatusCode::NOT_FOUND),
        ("/records/m/d/zz", StatusCode::BAD_REQUEST),
        ("/records/m/d/00?height=abc", StatusCode::BAD_REQUEST),
        ("/records/m/d/00?height=-3", StatusCode::BAD_REQUEST),
        ("/records/m/d/00?height=0", StatusCode::BAD_REQUEST),
        ("/records/m/d/00?hieght=1", StatusCode::BAD_REQUEST),
        ("/records/m/d/00", StatusCode::NOT_FOUND),
        ("/records/%FF/d/00", StatusCode::BAD_REQUEST),
    ] {
        let (s, v) = get_json(&app, uri).await;
        assert_eq!(s, status, "{uri}: {v}");
        assert!(!error_of(&v).is_empty());
    }
    let (s, v) = get_json(&app, "/records/m/d/00?height=abc").await;
    assert!(error_of(&v).contains("bad query string"), "{s} {v}");
    let (s, v) = post_json(&app, "/status", "").await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert!(error_of(&v).contains("method not allowed"));
    let (s, _) = call(&app, "DELETE", "/txs", Body::empty()).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn oversized_names_keys_bad_paths_and_other_methods_are_4xx_json() {
    let (app, _) = app(FakeNode::new(None));
    let long_name = "m".repeat(257);
    let long_key = "ab".repeat(4097);
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "GET",
            format!("/records/{long_name}/d/00"),
            StatusCode::BAD_REQUEST,
            "manuscript name must be 1 to 256 bytes",
        ),
        (
            "GET",
            format!("/records/m/{long_name}/00"),
            StatusCode::BAD_REQUEST,
            "dataset name must be 1 to 256 bytes",
        ),
        (
            "GET",
            format!("/records/m/d/{long_key}"),
            StatusCode::BAD_REQUEST,
            "longer than 4096 bytes",
        ),
        (
            "GET",
            "/records/m/d/0x123".into(),
            StatusCode::BAD_REQUEST,
            "record key: not valid hex",
        ),
        (
            "GET",
            format!("/txs/{}", "ab".repeat(33)),
            StatusCode::BAD_REQUEST,
            "33 bytes, expected 32",
        ),
        (
            "GET",
            format!("/accounts/{}", "ab".repeat(31)),
            StatusCode::BAD_REQUEST,
            "31 bytes, expected 32",
        ),
        (
            "GET",
            "/blocks/%FF".into(),
            StatusCode::BAD_REQUEST,
            "bad path",
        ),
        (
            "GET",
            "/blocks/1.5".into(),
            StatusCode::BAD_REQUEST,
            "not a number",
        ),
        (
            "GET",
            "/commits/latest/extra".into(),
            StatusCode::NOT_FOUND,
            "no such route",
        ),
        (
            "PUT",
            "/txs".into(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
        ),
        (
            "PATCH",
            "/blocks/1".into(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
        ),
        (
            "DELETE",
            "/status".into(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
        ),
        (
            "POST",
            "/nope".into(),
            StatusCode::NOT_FOUND,
            "no such route",
        ),
    ];
    for (method, uri, status, needle) in cases {
        let request = Request::builder()
            .method(method)
            .uri(&uri)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let shown = &uri[..uri.len().min(60)];
        assert_eq!(response.status(), status, "{method} {shown}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{method} {shown}"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(error_of(&v).contains(needle), "{method} {shown}: {v}");
    }
}
