//! An Ethereum source read over HTTPS: a real TLS server (rustls, a self-signed certificate made by rcgen)
//! terminating TLS in front of a real hardhat node. With the certificate as the source's `ca_file` the node's
//! endpoint pulls and verifies blocks; without it (or with another CA's) the error names the endpoint, the
//! certificate problem and the setting to change; a `ca_file` that is not PEM is refused at open; plain `http://`
//! keeps working.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;

use cvm_host::chain::config::SourceEndpointConfig;
use cvm_host::sources::endpoint::open_endpoint;
use cvm_host::sources::ethereum::{EndpointError, SourceEndpoint, verify_block};
use cvm_tests::hardhat::HardhatNode;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// An HTTPS front for an HTTP JSON-RPC server: each request read over TLS is POSTed upstream and its answer
/// written back, on a thread per connection (keep-alive: several requests per connection).
struct TlsFront {
    url: String,
    /// The server's self-signed certificate, PEM: what a client's `ca_file` holds.
    cert_pem: String,
}

impl TlsFront {
    fn start(upstream: &str) -> TlsFront {
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
            .expect("a self-signed certificate");
        let key =
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .expect("server certificate");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let upstream = upstream.to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (config, upstream) = (config.clone(), upstream.clone());
                std::thread::spawn(move || serve_connection(stream, config, &upstream));
            }
        });
        TlsFront {
            url: format!("https://127.0.0.1:{port}/v3/SECRET"),
            cert_pem: certified.cert.pem(),
        }
    }
}

/// Answers HTTP requests on one TLS connection until the client closes it or the handshake fails.
fn serve_connection(stream: TcpStream, config: Arc<rustls::ServerConfig>, upstream: &str) {
    let Ok(connection) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut reader = BufReader::new(rustls::StreamOwned::new(connection, stream));
    loop {
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let answer = ureq::post(upstream)
            .header("content-type", "application/json")
            .send(&body[..])
            .and_then(|mut r| r.body_mut().read_to_vec());
        let Ok(answer) = answer else { return };
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        let out = reader.get_mut();
        if out.write_all(head.as_bytes()).is_err() || out.write_all(&answer).is_err() {
            return;
        }
        let _ = out.flush();
    }
}

fn endpoint_config(rpc: &str, ca_file: Option<&str>) -> SourceEndpointConfig {
    let mut text = format!("rpc = {rpc:?}\n");
    if let Some(path) = ca_file {
        text.push_str(&format!("ca_file = {path:?}\n"));
    }
    toml::from_str(&text).expect("a [sources.<name>] section")
}

/// Pulls block `number` through `endpoint` and verifies it; its log count.
fn pull(endpoint: &dyn SourceEndpoint, number: u64) -> usize {
    let data = endpoint
        .block(number)
        .expect("the block is served")
        .expect("the block exists");
    verify_block(&data).expect("the block verifies").logs.len()
}

#[test]
fn a_source_endpoint_over_https_is_pulled_with_its_ca_file_and_refused_without_it() {
    let hardhat = HardhatNode::start().expect("start hardhat");
    let expected = hardhat.drive(5, 2).expect("drive hardhat");
    let front = TlsFront::start(hardhat.rpc_url());
    let home = tempfile::tempdir().expect("home");
    std::fs::write(home.path().join("ca.pem"), &front.cert_pem).expect("write the CA file");

    // With the certificate as ca_file (relative to the home): the endpoint serves the chain, blocks verify.
    let config = endpoint_config(&front.url, Some("ca.pem"));
    let endpoint = open_endpoint(&config, home.path(), 31337).expect("opens");
    assert_eq!(endpoint.chain_id().expect("chain id over TLS"), 31337);
    let latest = endpoint.latest().expect("latest over TLS");
    assert!(latest >= expected.last_block);
    let logs: usize = (1..=expected.last_block)
        .map(|n| pull(endpoint.as_ref(), n))
        .sum();
    assert!(logs > 0, "the driven blocks carry token logs");

    // Without it: the self-signed certificate is not trusted, and the error says what to do.
    let config = endpoint_config(&front.url, None);
    let endpoint =
        open_endpoint(&config, home.path(), 31337).expect("opens (checked at first use)");
    let error = endpoint.latest().expect_err("untrusted certificate");
    assert!(matches!(error, EndpointError::Tls { .. }), "{error}");
    let message = error.to_string();
    let shown = front.url.trim_end_matches("/v3/SECRET");
    for part in [
        shown,
        "eth_blockNumber",
        "TLS",
        "certificate",
        "ca_file",
        "[sources.<name>]",
    ] {
        assert!(message.contains(part), "missing {part:?} in: {message}");
    }
    assert!(!message.contains("SECRET"), "{message}");

    // Another CA's certificate as ca_file: refused, saying the ca_file is not the server's CA.
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("a CA");
    std::fs::write(home.path().join("other.pem"), other.cert.pem()).expect("write");
    let config = endpoint_config(&front.url, Some("other.pem"));
    let endpoint = open_endpoint(&config, home.path(), 31337).expect("opens");
    let message = endpoint.chain_id().expect_err("another CA").to_string();
    assert!(
        message.contains("not signed by the CA in this source's ca_file"),
        "{message}"
    );

    // A ca_file that is not a PEM certificate is refused at open, naming the file.
    std::fs::write(home.path().join("junk.pem"), "not a certificate").expect("write");
    let config = endpoint_config(&front.url, Some("junk.pem"));
    let error = open_endpoint(&config, home.path(), 31337)
        .err()
        .expect("refused");
    assert!(
        error.contains("junk.pem") && error.contains("no PEM certificate"),
        "{error}"
    );
    let config = endpoint_config(&front.url, Some("missing.pem"));
    let error = open_endpoint(&config, Path::new("/nonexistent"), 31337)
        .err()
        .expect("refused");
    assert!(
        error.contains("missing.pem") && error.contains("cannot read"),
        "{error}"
    );

    // Plain HTTP still works.
    let config = endpoint_config(hardhat.rpc_url(), None);
    let endpoint = open_endpoint(&config, home.path(), 31337).expect("opens");
    assert_eq!(
        pull(endpoint.as_ref(), expected.last_block),
        pull(
            open_endpoint(
                &endpoint_config(&front.url, Some("ca.pem")),
                home.path(),
                31337
            )
            .expect("opens")
            .as_ref(),
            expected.last_block
        ),
        "the same block over HTTP and HTTPS"
    );
}
