//! What one client may cost: requests at once, a request's time, a client trickling its headers, and
//! `/manuscripts` in bounded pages.

use std::io::{Read, Write};
use std::time::Duration;

use super::*;

#[tokio::test]
async fn more_concurrent_requests_than_the_limit_get_503_not_a_queue() {
    let gate = Arc::new(Gate::default());
    let node = FakeNode {
        gate: Some(gate.clone()),
        ..FakeNode::new(None)
    };
    let limits = HttpLimits {
        max_concurrent_requests: 3,
        ..test_limits()
    };
    let (app, _) = app_within(node, limits);
    let held: Vec<_> = (0..3)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { call(&app, "GET", "/evidence", Body::empty()).await })
        })
        .collect();
    while gate.entered.load(Ordering::SeqCst) < 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Every slot is taken: the next requests, of any route, are refused at once and reach no node call.
    for uri in ["/evidence", "/status", "/manuscripts"] {
        let (status, body) = call(&app, "GET", uri, Body::empty()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("answering 3 requests already"), "{text}");
    }
    assert_eq!(gate.entered.load(Ordering::SeqCst), 3);
    gate.open();
    for request in held {
        assert_eq!(request.await.unwrap().0, StatusCode::OK);
    }
    assert_eq!(get_json(&app, "/evidence").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_request_past_its_deadline_gets_408() {
    let gate = Arc::new(Gate::default());
    let node = FakeNode {
        gate: Some(gate.clone()),
        ..FakeNode::new(None)
    };
    let limits = HttpLimits {
        request_timeout: Duration::from_millis(100),
        ..test_limits()
    };
    let (app, _) = app_within(node, limits);
    let (status, v) = get_json(&app, "/evidence").await;
    gate.open();
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert!(
        v["error"].as_str().unwrap().contains("longer than 100 ms"),
        "{v}"
    );
}

#[test]
fn a_client_sending_its_headers_byte_by_byte_is_cut_off() {
    let limits = HttpLimits {
        header_read_timeout: Duration::from_millis(300),
        ..HttpLimits::default()
    };
    let (url, _stop) = server_within(Arc::new(FakeNode::new(None)), limits);
    let addr = url.trim_start_matches("http://").to_string();
    // About 4 s of headers at one byte per 20 ms.
    let request = format!("GET /status HTTP/1.1\r\nX-Pad: {}\r\n\r\n", "a".repeat(180));
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (mut stream, sent, bytes) = (slow.try_clone().unwrap(), sent.clone(), request.clone());
        std::thread::spawn(move || {
            for byte in bytes.as_bytes() {
                if stream.write_all(&[*byte]).is_err() {
                    return;
                }
                sent.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    let sent_when_closed = sent.load(Ordering::SeqCst);
    let _ = slow.shutdown(std::net::Shutdown::Both);
    writer.join().unwrap();
    assert!(
        sent_when_closed < request.len(),
        "the server waited for all {} bytes of headers",
        request.len()
    );
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "{answer:?}"
    );
    // The server still answers a client that sends its request at once.
    let mut quick = std::net::TcpStream::connect(&addr).unwrap();
    quick
        .write_all(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    quick.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn manuscripts_come_in_pages_with_a_next_cursor_and_a_bounded_limit() {
    let node = FakeNode {
        manuscripts: (0..25).map(|i| format!("m{i:02}")).collect(),
        ..FakeNode::new(None)
    };
    let (app, _) = app(node);
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["manuscripts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (s, page) = get_json(&app, "/manuscripts?limit=10").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(names(&page).first().map(String::as_str), Some("m00"));
    assert_eq!(
        (names(&page).len(), &page["next"]),
        (10, &serde_json::json!("m09"))
    );
    let (_, page) = get_json(&app, "/manuscripts?after=m09&limit=10").await;
    assert_eq!(names(&page)[0], "m10");
    assert_eq!(page["next"], "m19");
    let (_, page) = get_json(&app, "/manuscripts?after=m19&limit=10").await;
    assert_eq!(
        (names(&page).len(), &page["next"]),
        (5, &serde_json::Value::Null)
    );
    // The default page holds them all here; a page of exactly what is left has no next.
    let (_, page) = get_json(&app, "/manuscripts").await;
    assert_eq!(
        (names(&page).len(), &page["next"]),
        (25, &serde_json::Value::Null)
    );
    let (_, page) = get_json(&app, "/manuscripts?after=m14&limit=10").await;
    assert_eq!(
        (names(&page).len(), &page["next"]),
        (10, &serde_json::Value::Null)
    );
    let bad = ["limit=1001", "limit=0", "limit=x", "after=", "page=2"];
    assert_bad_queries(&app, "/manuscripts", &bad, "limit must be 1 to 1000").await;
}

#[test]
fn connections_past_the_limit_wait_until_one_closes() {
    let limits = HttpLimits {
        max_connections: 1,
        header_read_timeout: Duration::from_secs(60),
        ..HttpLimits::default()
    };
    let (url, _stop) = server_within(Arc::new(FakeNode::new(None)), limits);
    let addr = url.trim_start_matches("http://").to_string();
    let idle = std::net::TcpStream::connect(&addr).unwrap();
    // Let the server take the idle connection first.
    std::thread::sleep(Duration::from_millis(200));
    let mut waiting = std::net::TcpStream::connect(&addr).unwrap();
    waiting
        .write_all(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut byte = [0u8; 1];
    let early = waiting.read(&mut byte);
    assert!(
        early.is_err(),
        "answered past the connection limit: {early:?}"
    );
    drop(idle);
    waiting
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut answer = String::new();
    waiting.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
