//! The HTTP API of a live node under a volley of malformed requests and refused transactions.

use cvm_host::api_client::{Client, ClientError};
use cvm_host::chain::NodeConfig;
use cvm_host::chain::config::HomeLayout;
use cvm_runtime::TxPayload;
use cvm_tests::localnet::LocalNet;
use parity_scale_codec::Encode;

use crate::support::*;

fn deploy_erc20(client: &Client, chain_id: &str) {
    let key = dev_key();
    let tx = sign(
        chain_id,
        &key,
        client.account_nonce(key.public_key()).expect("nonce"),
        TxPayload::Deploy {
            wasm: manuscript_fixtures::ERC20_TRANSFERS.to_vec(),
            fuel_limit_per_record: 10_000_000,
            sources: Vec::new(),
        },
    );
    let hash = client.submit_tx(&tx).expect("submit deploy");
    client.wait_for_tx(hash, WAIT).expect("deploy committed");
}

/// The value of `cvm_txs_rejected_total{reason="<reason>"}`, 0 when absent.
fn rejected(metrics: &str, reason: &str) -> u64 {
    let prefix = format!("cvm_txs_rejected_total{{reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse().expect("counter value"))
}

#[test]
fn http_volley_and_refused_transactions_leave_the_node_committing() {
    let mut net = LocalNet::new(1, 0);
    net.start(0);
    net.wait_height(0, 1, WAIT);
    let client = net.nodes[0].client();
    let url = net.nodes[0].rpc_url.clone();
    let chain = net.chain_id.clone();
    deploy_erc20(&client, &chain);
    let before = net.status(0).expect("status").height;

    // Malformed requests: each a 4xx JSON error naming the cause.
    let max_body = NodeConfig::load(&HomeLayout::new(&net.nodes[0].home).config())
        .unwrap()
        .rpc
        .max_body_bytes;
    // All of it is sent: the server reads up to the limit before refusing.
    let oversized = request("POST", "/txs", &" ".repeat(max_body + 1));
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (
            request("POST", "/txs", "{not json"),
            400,
            "body must be JSON",
        ),
        (request("POST", "/txs", r#"{"tx": 5}"#), 400, "invalid type"),
        (
            request("POST", "/txs", r#"{"tx": "00", "x": 1}"#),
            400,
            "unknown field",
        ),
        (
            request("POST", "/txs", r#"{"tx": "zz"}"#),
            400,
            "not valid hex",
        ),
        (oversized, 413, "too large"),
        (
            request("GET", "/records/nope/transfers/00", ""),
            404,
            "no manuscript named \"nope\"",
        ),
        (
            request("GET", "/records/erc20-transfers/nope/00", ""),
            404,
            "has no dataset \"nope\"",
        ),
        (
            request("GET", "/records/erc20-transfers/transfers/zz", ""),
            400,
            "record key",
        ),
        (
            request(
                "GET",
                "/records/erc20-transfers/transfers/00?height=99999999",
                "",
            ),
            404,
            "not committed",
        ),
        (
            request("GET", "/records/erc20-transfers/transfers/00?at=1", ""),
            400,
            "bad query string",
        ),
        (request("GET", "/blocks/abc", ""), 400, "not a number"),
        (
            request("GET", "/blocks/99999999", ""),
            404,
            "no block at height 99999999",
        ),
        (
            request("GET", "/commits/0", ""),
            400,
            "height must be 1 or more",
        ),
        (request("GET", "/txs/0x12", ""), 400, "transaction hash"),
        (
            request("GET", "/accounts/xyz", ""),
            400,
            "account public key",
        ),
        (request("GET", "/nope", ""), 404, "no such route"),
        (request("DELETE", "/status", ""), 405, "method not allowed"),
    ];
    for (req, status, needle) in &cases {
        let shown = String::from_utf8_lossy(&req[..req.len().min(70)]).into_owned();
        let (s, body) = raw_http(&url, req);
        assert_eq!(s, *status, "{shown}: {body}");
        let error = error_field(&body);
        assert!(error.contains(needle), "{shown}: {error}");
    }
    // Not HTTP at all, and a request that stops half way: the connection is refused or closed, nothing more.
    let (s, _) = raw_http(&url, b"\x16\x03\x01\x02\x00garbage\r\n\r\n");
    assert!(s == 0 || s == 400, "garbage got {s}");
    let (s, _) = raw_http(
        &url,
        b"POST /txs HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"tx\"",
    );
    assert!(s == 0 || (400..500).contains(&s), "truncated body got {s}");

    // Transactions the mempool refuses: 400 with the reason, counted in /metrics by class.
    let key = dev_key();
    let next = client.account_nonce(key.public_key()).expect("nonce");
    assert!(next >= 1, "the deploy used nonce 0");
    let mut bad_sig = sign(&chain, &key, next, ingest(vec![]));
    bad_sig.signature[5] ^= 1;
    let valid = sign(&chain, &key, next, ingest(vec![vec![1]]));
    let mut unknown_kind = valid.encode();
    let tag_at = (&valid.tx.chain_id, valid.tx.signer, valid.tx.nonce)
        .encode()
        .len();
    unknown_kind[tag_at] = 9;
    let huge = sign(
        &chain,
        &key,
        next,
        ingest(vec![vec![7; 2 * 1024 * 1024 + 1]]),
    );
    let refusals: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "bad signature",
            bad_sig.encode(),
            "invalid signature".into(),
        ),
        (
            "nonce reused",
            sign(&chain, &key, 0, ingest(vec![])).encode(),
            format!("expected {next}, found 0"),
        ),
        (
            "nonce gap",
            sign(&chain, &key, next + 5, ingest(vec![])).encode(),
            format!("expected {next}, found {}", next + 5),
        ),
        (
            "wrong chain id",
            sign("another-chain", &key, next, ingest(vec![])).encode(),
            "\"another-chain\"".into(),
        ),
        ("oversized", huge.encode(), "max_tx_bytes".into()),
        ("unknown kind", unknown_kind, "TxPayload".into()),
        (
            "undecodable",
            vec![0xde, 0xad, 0xbe, 0xef],
            "not valid SCALE".into(),
        ),
    ];
    for (what, bytes, needle) in refusals {
        match client.submit_raw_hex(&hex::encode(&bytes)) {
            Err(ClientError::Api { status, message }) => {
                assert_eq!(status, 400, "{what}: {message}");
                assert!(
                    message.contains("transaction rejected"),
                    "{what}: {message}"
                );
                assert!(message.contains(&needle), "{what}: {message}");
            }
            other => panic!("{what}: expected a 400, got {other:?}"),
        }
    }
    let (s, metrics) = raw_http(&url, &request("GET", "/metrics", ""));
    assert_eq!(s, 200);
    for (reason, at_least) in [
        ("signature", 1),
        ("nonce", 2),
        ("chain_id", 1),
        ("too_large", 2),
        ("decode", 3),
    ] {
        assert!(
            rejected(&metrics, reason) >= at_least,
            "cvm_txs_rejected_total{{reason={reason:?}}} below {at_least}:\n{metrics}"
        );
    }

    // A second node on the same home: the data directory is locked.
    let output = start_refused(&net.nodes[0].home);
    assert!(
        output.contains("another cvm node is using") && output.contains("stop it first"),
        "{output}"
    );

    // The node answers and keeps committing; the valid transaction still goes through.
    assert!(
        net.nodes[0].is_running(),
        "node exited:\n{}",
        net.log_tail(0, 30)
    );
    let hash = client
        .submit_tx(&valid)
        .expect("a valid transaction after all that");
    client.wait_for_tx(hash, WAIT).expect("committed");
    net.wait_height(0, before + 2, WAIT);
    assert_no_panic(&std::fs::read_to_string(net.nodes[0].log_path()).unwrap());
}
