//! `GET /records/{manuscript}/{dataset}`: pages follow their cursors to the whole dataset and verify; every bad
//! parameter is a 4xx naming it.

use super::*;
use crate::record_page::{PAGE_MAX_LIMIT, PageCursor, RecordPage};
use crate::verify::fixture::trust;
use crate::verify::page::verify_record_page;

const PAGES: &str = "/records/wat-counter/counts";

#[tokio::test]
async fn pages_follow_cursors_to_the_whole_dataset() {
    let (app, _) = app(FakeNode::new(None));
    let (s, whole) = get_json(&app, &format!("{PAGES}?limit=10")).await;
    assert_eq!(s, StatusCode::OK, "{whole}");
    assert_eq!(whole["records"].as_array().unwrap().len(), 3);
    assert_eq!(whole["next"], serde_json::Value::Null);
    assert_eq!(whole["records"][0]["key_json"], whole["records"][0]["key"]);
    let mut keys = Vec::new();
    let mut url = format!("{PAGES}?limit=2");
    loop {
        let (s, v) = get_json(&app, &url).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let page: RecordPage = serde_json::from_value(v.clone()).unwrap();
        verify_record_page(&page, &trust()).unwrap();
        keys.extend(page.records.iter().map(|r| to_hex(&r.key)));
        let Some(next) = v["next"].as_str() else {
            break;
        };
        url = format!("{PAGES}?limit=2&cursor={next}");
    }
    let all: Vec<_> = whole["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, all);
    let (s, v) = get_json(&app, &format!("{PAGES}?prefix={}", hex::encode("co"))).await;
    assert_eq!(
        (s, v["records"].as_array().unwrap().len()),
        (StatusCode::OK, 1)
    );
    let second = all[1].trim_start_matches("0x");
    let (s, v) = get_json(&app, &format!("{PAGES}?start={second}&height=2")).await;
    assert_eq!(
        (s, v["records"].as_array().unwrap().len()),
        (StatusCode::OK, 2)
    );
}

async fn refused(path: &str, status: StatusCode, naming: &str) {
    let (app, _) = app(FakeNode::new(None));
    let (s, v) = get_json(&app, path).await;
    let error = v["error"].as_str().unwrap_or_default();
    assert_eq!(s, status, "{path}: {v}");
    assert!(
        error.contains(naming),
        "{path}: {error:?} does not name {naming:?}"
    );
}

#[tokio::test]
async fn bad_requests_name_the_problem() {
    use StatusCode as S;
    refused(
        "/records/nobody/counts",
        S::NOT_FOUND,
        "no manuscript named \"nobody\"",
    )
    .await;
    refused(
        "/records/wat-counter/nothing",
        S::NOT_FOUND,
        "no dataset \"nothing\"",
    )
    .await;
    refused(
        &format!("{PAGES}?cursor=zz"),
        S::BAD_REQUEST,
        "cursor: not the `next` of a page",
    )
    .await;
    refused(
        &format!("{PAGES}?cursor=0102"),
        S::BAD_REQUEST,
        "cursor: not the `next` of a page",
    )
    .await;
    let other_version = hex::encode(
        (
            9u8,
            PageCursor {
                height: 2,
                last_key: vec![1],
            },
        )
            .encode(),
    );
    refused(
        &format!("{PAGES}?cursor={other_version}"),
        S::BAD_REQUEST,
        "cursor version 9",
    )
    .await;
    let cursor = PageCursor {
        height: 2,
        last_key: b"a".to_vec(),
    }
    .to_text();
    refused(
        &format!("{PAGES}?cursor={cursor}&start=00"),
        S::BAD_REQUEST,
        "either start or cursor",
    )
    .await;
    refused(
        &format!("{PAGES}?cursor={cursor}&height=1"),
        S::BAD_REQUEST,
        "cursor is for height 2",
    )
    .await;
    refused(
        &format!("{PAGES}?limit={}", PAGE_MAX_LIMIT + 1),
        S::BAD_REQUEST,
        &format!(
            "limit \"{}\" is not a number from 1 to {PAGE_MAX_LIMIT}",
            PAGE_MAX_LIMIT + 1
        ),
    )
    .await;
    refused(&format!("{PAGES}?limit=0"), S::BAD_REQUEST, "limit \"0\"").await;
    refused(
        &format!("{PAGES}?limit=ten"),
        S::BAD_REQUEST,
        "limit \"ten\"",
    )
    .await;
    refused(
        &format!("{PAGES}?height=3"),
        S::NOT_FOUND,
        "height 3 is not final yet",
    )
    .await;
    refused(&format!("{PAGES}?height=0"), S::BAD_REQUEST, "height \"0\"").await;
    refused(&format!("{PAGES}?prefix=xyz"), S::BAD_REQUEST, "prefix: ").await;
    refused(&format!("{PAGES}?start=0"), S::BAD_REQUEST, "start: ").await;
    refused(
        &format!("{PAGES}?start={}", "00".repeat(5000)),
        S::BAD_REQUEST,
        "start is longer than",
    )
    .await;
    refused(&format!("{PAGES}?sort=desc"), S::BAD_REQUEST, "sort").await;
    refused(
        &format!("/records/{}/counts", "m".repeat(300)),
        S::BAD_REQUEST,
        "manuscript name",
    )
    .await;
}
