//! Change routes: bad input is a 4xx naming it; the feed streams blocks in order and resumes without gaps or
//! repeats; streams are bounded.

use std::time::Duration;

use super::*;
use crate::feed_client::{Feed, FeedQuery};
use crate::rpc::feed::{FeedLimits, routes};

async fn expect_error(app: &axum::Router, uri: &str, status: StatusCode, naming: &str) {
    let (got, body) = get_json(app, uri).await;
    assert_eq!(got, status, "{uri}: {body}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(
        message.contains(naming),
        "{uri}: {message:?} should name {naming:?}"
    );
}

#[tokio::test]
async fn bad_change_requests_are_4xx_naming_the_problem() {
    let (app, _) = app(FakeNode::new(None));
    let not_found = StatusCode::NOT_FOUND;
    let bad = StatusCode::BAD_REQUEST;
    expect_error(&app, "/blocks/3/changes", not_found, "not final").await;
    expect_error(&app, "/blocks/0/changes", bad, "1 or more").await;
    expect_error(&app, "/blocks/x/changes", bad, "\"x\"").await;
    expect_error(&app, "/blocks/2/changes?manuscript=zz", not_found, "zz").await;
    expect_error(
        &app,
        "/blocks/2/changes?manuscript=m&dataset=zz",
        not_found,
        "zz",
    )
    .await;
    expect_error(&app, "/blocks/2/changes?dataset=d", bad, "needs manuscript").await;
    expect_error(&app, "/blocks/2/changes?from=1", bad, "from").await;
    expect_error(&app, "/blocks/2/changes?nope=1", bad, "nope").await;
    expect_error(&app, "/feed?from=abc", bad, "from \"abc\"").await;
    expect_error(&app, "/feed?from=0", bad, "from must be 1").await;
    expect_error(&app, "/feed?from=9", bad, "beyond the next block 3").await;
    expect_error(&app, "/feed?manuscript=zz", not_found, "zz").await;
    expect_error(&app, "/feed?manuscript=m&dataset=zz", not_found, "zz").await;
    let (status, body) = get_json(&app, "/blocks/2/changes?manuscript=m&dataset=d").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["datasets"][0]["changes"][0]["key"],
        to_hex(2u64.to_be_bytes())
    );
}

#[tokio::test]
async fn last_event_id_resumes_after_it_and_a_bad_one_is_refused() {
    let node = FakeNode::new(None);
    let (app, _) = app(node);
    let request = |id: &str| {
        Request::builder()
            .uri("/feed?from=1")
            .header("last-event-id", id)
            .body(Body::empty())
            .unwrap()
    };
    let response = app.clone().oneshot(request("1")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let text = String::from_utf8(frame.to_vec()).unwrap();
    assert!(text.contains("id: 2\n"), "{text}");
    let response = app.clone().oneshot(request("zz")).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn the_feed_streams_in_order_and_resumes_without_gaps_or_repeats() {
    let node = Arc::new(FakeNode::new(None));
    let (url, _stop) = server(node.clone());
    let idle = Duration::from_secs(60);
    let query = |from| FeedQuery {
        manuscript: Some("m".into()),
        dataset: Some("d".into()),
        from: Some(from),
    };
    let mut feed = Feed::open(&url, &query(1), idle).unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(feed.next_block().unwrap().height);
    }
    node.commit_to(4);
    seen.push(feed.next_block().unwrap().height);
    // Disconnected mid-way: resume from the height after the last one seen.
    drop(feed);
    node.commit_to(6);
    let mut feed = Feed::open(&url, &query(seen.last().unwrap() + 1), idle).unwrap();
    for _ in 0..3 {
        let block = feed.next_block().unwrap();
        assert_eq!(block.datasets[0].entries[0].0, block.height.to_be_bytes());
        seen.push(block.height);
    }
    assert_eq!(seen, [1, 2, 3, 4, 5, 6]);
}

#[tokio::test]
async fn streams_past_the_bound_are_refused_with_503() {
    let limits = FeedLimits {
        max_streams: 1,
        ..FeedLimits::default()
    };
    let app: axum::Router = routes(Arc::new(FakeNode::new(None)), limits);
    let open = |app: axum::Router| async move {
        let request = Request::builder().uri("/feed").body(Body::empty()).unwrap();
        app.oneshot(request).await.unwrap()
    };
    let first = open(app.clone()).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = open(app.clone()).await;
    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = second.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("too many change feeds"));
}
