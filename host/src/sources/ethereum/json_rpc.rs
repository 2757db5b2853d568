//! [`JsonRpcEndpoint`]: an Ethereum JSON-RPC node over HTTP or HTTPS (ureq, blocking; rustls with Mozilla's
//! root certificates, or the certificates of a private CA). A block is `eth_getBlockByNumber(n, true)` plus one
//! `eth_getTransactionReceipt` per transaction, sent as JSON-RPC batch requests (hardhat has no
//! `eth_getBlockReceipts`). Every answer is read within a byte limit and a timeout, and errors name the endpoint
//! (without its path, which often holds an API key) and the method.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::block_data::EthBlockData;
use super::endpoint::SourceEndpoint;
use super::error::{ConvertError, EndpointError};
use super::rpc_json::{RpcBlock, RpcReceipt};

/// Limits and TLS trust of a [`JsonRpcEndpoint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonRpcConfig {
    /// Time allowed for one HTTP exchange, connection included.
    pub timeout: Duration,
    /// Largest answer read; a larger one is an error, not a truncated read.
    pub max_response_bytes: u64,
    /// Receipts asked for in one batch request.
    pub receipts_per_batch: usize,
    /// For `https://`: the only root certificates trusted (DER), from a private CA's file ([`load_ca_file`]);
    /// `None` trusts Mozilla's roots (webpki-roots), as public providers need.
    pub ca_certs: Option<Arc<Vec<Vec<u8>>>>,
}

impl Default for JsonRpcConfig {
    /// 30 s, 64 MiB (a full mainnet block's JSON is a few MiB), 100 receipts per batch (under common
    /// providers' batch limits), Mozilla's roots.
    fn default() -> Self {
        JsonRpcConfig {
            timeout: Duration::from_secs(30),
            max_response_bytes: 64 * 1024 * 1024,
            receipts_per_batch: 100,
            ca_certs: None,
        }
    }
}

/// The certificates of a PEM file (a private CA's root, or several), as DER. An unreadable file, or one with no
/// certificate, is an error naming the file.
pub fn load_ca_file(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("ca_file {}: cannot read it: {e}", path.display()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(cert)) => certs.push(cert.der().to_vec()),
            Ok(_) => {}
            Err(e) => {
                return Err(format!("ca_file {}: not a PEM file: {e}", path.display()));
            }
        }
    }
    if certs.is_empty() {
        return Err(format!(
            "ca_file {}: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

/// A block and its receipts exactly as the endpoint answered them (what an archive line holds).
#[derive(Debug, Clone, PartialEq)]
pub struct RawRpcBlock {
    /// The `eth_getBlockByNumber(n, true)` result.
    pub block: Value,
    /// The `eth_getTransactionReceipt` results, in transaction order.
    pub receipts: Vec<Value>,
}

impl RawRpcBlock {
    /// The archive line for this block (JSON, no trailing newline).
    pub fn to_archive_line(&self) -> String {
        json!({"block": self.block, "receipts": self.receipts}).to_string()
    }

    /// Converts it (see [`EthBlockData::from_rpc`]).
    pub fn into_block_data(self) -> Result<EthBlockData, ConvertError> {
        let block: RpcBlock =
            serde_json::from_value(self.block).map_err(|e| ConvertError::Json {
                what: "the block".to_string(),
                reason: e.to_string(),
            })?;
        let receipts = self
            .receipts
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                serde_json::from_value::<RpcReceipt>(r).map_err(|e| ConvertError::Json {
                    what: format!("receipt {i}"),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        EthBlockData::from_rpc(block, Some(receipts))
    }
}

/// An Ethereum JSON-RPC endpoint.
pub struct JsonRpcEndpoint {
    url: String,
    shown: String,
    agent: ureq::Agent,
    config: JsonRpcConfig,
    next_id: AtomicU64,
}

#[derive(Deserialize)]
struct RpcError {
    code: i64,
    message: String,
}

#[derive(Deserialize)]
struct RpcAnswer {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error: Option<RpcError>,
}

/// The URL up to its host and port: a path or query often carries an API key, which logs must not show.
fn without_path(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].find(['/', '?']) {
        Some(end) => url[..start + end].to_string(),
        None => url.to_string(),
    }
}

fn quantity(value: &Value) -> Option<u64> {
    let digits = value.as_str()?.strip_prefix("0x")?;
    u64::from_str_radix(digits, 16).ok()
}

impl JsonRpcEndpoint {
    /// An endpoint at `url` (`http://…` or `https://…`) with the default limits.
    pub fn new(url: &str) -> Self {
        Self::with_config(url, JsonRpcConfig::default())
    }

    /// An endpoint at `url` with `config`'s limits and trust.
    pub fn with_config(url: &str, config: JsonRpcConfig) -> Self {
        let roots = match &config.ca_certs {
            Some(certs) => ureq::tls::RootCerts::new_with_certs(
                &certs
                    .iter()
                    .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
                    .collect::<Vec<_>>(),
            ),
            None => ureq::tls::RootCerts::WebPki,
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
            .build()
            .into();
        JsonRpcEndpoint {
            url: url.to_string(),
            shown: without_path(url),
            agent,
            config,
            next_id: AtomicU64::new(1),
        }
    }

    /// The endpoint as errors and logs show it (scheme, host and port).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn transport(&self, method: &str, reason: impl ToString) -> EndpointError {
        EndpointError::Transport {
            endpoint: self.shown.clone(),
            method: method.to_string(),
            reason: reason.to_string(),
        }
    }

    fn bad_answer(&self, method: &str, reason: impl ToString) -> EndpointError {
        EndpointError::BadAnswer {
            endpoint: self.shown.clone(),
            method: method.to_string(),
            reason: reason.to_string(),
        }
    }

    /// A transport error; a TLS one says what to do about a certificate this node does not trust.
    fn connect_error(&self, method: &str, error: ureq::Error) -> EndpointError {
        let reason = error.to_string();
        let tls = matches!(error, ureq::Error::Tls(_) | ureq::Error::Rustls(_))
            || reason.contains("certificate");
        if !tls {
            return self.transport(method, reason);
        }
        let what_to_do = if self.config.ca_certs.is_some() {
            "the server's certificate is not signed by the CA in this source's ca_file, or does not name this \
             host; point ca_file at the CA that signed it"
        } else {
            "the server's certificate is not signed by a public CA this node trusts; if the endpoint uses a \
             private CA or a self-signed certificate, set ca_file = \"<its CA certificate, PEM>\" in this \
             source's [sources.<name>] section of config.toml"
        };
        EndpointError::Tls {
            endpoint: self.shown.clone(),
            method: method.to_string(),
            reason,
            what_to_do,
        }
    }

    /// POSTs `body` and reads the answer within the byte limit.
    fn post(&self, method: &str, body: &Value) -> Result<Value, EndpointError> {
        let mut response = self
            .agent
            .post(&self.url)
            .send_json(body)
            .map_err(|e| self.connect_error(method, e))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(self.config.max_response_bytes)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(limit) => self.bad_answer(
                    method,
                    format!("the answer is larger than {limit} bytes (raise the response limit)"),
                ),
                other => self.transport(method, other),
            })?;
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
            return Err(self.transport(method, format!("HTTP status {status}: {text}")));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| self.bad_answer(method, format!("not JSON: {e}")))
    }

    fn request(&self, method: &str, id: u64, params: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
    }

    fn unwrap_answer(&self, method: &str, answer: RpcAnswer) -> Result<Value, EndpointError> {
        if let Some(error) = answer.error {
            return Err(EndpointError::Rpc {
                endpoint: self.shown.clone(),
                method: method.to_string(),
                code: error.code,
                message: error.message,
            });
        }
        Ok(answer.result.unwrap_or(Value::Null))
    }

    /// One call; its `result` (`null` when absent).
    fn call(&self, method: &str, params: Value) -> Result<Value, EndpointError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let answer = self.post(method, &self.request(method, id, params))?;
        let answer: RpcAnswer =
            serde_json::from_value(answer).map_err(|e| self.bad_answer(method, e))?;
        self.unwrap_answer(method, answer)
    }

    /// One batch of calls of `method`; their results in the order of `params` (answers may come in any order).
    fn batch(&self, method: &str, params: Vec<Value>) -> Result<Vec<Value>, EndpointError> {
        let first = self
            .next_id
            .fetch_add(params.len() as u64, Ordering::Relaxed);
        let body: Vec<Value> = params
            .into_iter()
            .enumerate()
            .map(|(i, p)| self.request(method, first + i as u64, p))
            .collect();
        let count = body.len();
        let answers = self.post(method, &Value::Array(body))?;
        let answers: Vec<RpcAnswer> =
            serde_json::from_value(answers).map_err(|e| self.bad_answer(method, e))?;
        let mut results = vec![None; count];
        for answer in answers {
            let slot = answer
                .id
                .as_u64()
                .and_then(|id| id.checked_sub(first))
                .and_then(|i| usize::try_from(i).ok())
                .filter(|&i| i < count)
                .ok_or_else(|| {
                    self.bad_answer(
                        method,
                        format!("unknown id {} in a batch answer", answer.id),
                    )
                })?;
            results[slot] = Some(self.unwrap_answer(method, answer)?);
        }
        results
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.ok_or_else(|| {
                    self.bad_answer(method, format!("no answer for call {i} of the batch"))
                })
            })
            .collect()
    }

    fn number(&self, method: &str, value: &Value) -> Result<u64, EndpointError> {
        quantity(value)
            .ok_or_else(|| self.bad_answer(method, format!("expected a hex quantity, got {value}")))
    }

    /// Block `number` and its receipts as the endpoint answers them, unconverted (`None`: not there yet).
    pub fn raw_block(&self, number: u64) -> Result<Option<RawRpcBlock>, EndpointError> {
        const BLOCK: &str = "eth_getBlockByNumber";
        const RECEIPT: &str = "eth_getTransactionReceipt";
        let block = self.call(BLOCK, json!([format!("{number:#x}"), true]))?;
        if block.is_null() {
            return Ok(None);
        }
        let hashes = block
            .get("transactions")
            .and_then(Value::as_array)
            .ok_or_else(|| self.bad_answer(BLOCK, "the block has no transactions array"))?
            .iter()
            .map(|tx| {
                tx.get("hash")
                    .filter(|h| h.is_string())
                    .cloned()
                    .ok_or_else(|| {
                        self.bad_answer(
                            BLOCK,
                            "a transaction without a hash (full transactions expected)",
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut receipts = Vec::with_capacity(hashes.len());
        for chunk in hashes.chunks(self.config.receipts_per_batch.max(1)) {
            let params = chunk.iter().map(|h| json!([h])).collect();
            for (receipt, hash) in self.batch(RECEIPT, params)?.into_iter().zip(chunk) {
                if receipt.is_null() {
                    return Err(self.bad_answer(
                        RECEIPT,
                        format!(
                            "no receipt for transaction {hash} of block {number} (reorganised away? it is \
                             asked again later)"
                        ),
                    ));
                }
                receipts.push(receipt);
            }
        }
        Ok(Some(RawRpcBlock { block, receipts }))
    }
}

impl SourceEndpoint for JsonRpcEndpoint {
    fn chain_id(&self) -> Result<u64, EndpointError> {
        const METHOD: &str = "eth_chainId";
        let value = self.call(METHOD, json!([]))?;
        self.number(METHOD, &value)
    }

    fn latest(&self) -> Result<u64, EndpointError> {
        const METHOD: &str = "eth_blockNumber";
        let value = self.call(METHOD, json!([]))?;
        self.number(METHOD, &value)
    }

    fn finalized(&self) -> Result<Option<u64>, EndpointError> {
        const METHOD: &str = "eth_getBlockByNumber";
        let block = self.call(METHOD, json!(["finalized", false]))?;
        if block.is_null() {
            return Ok(None);
        }
        let number = block.get("number").unwrap_or(&Value::Null);
        self.number(METHOD, number).map(Some)
    }

    fn block(&self, number: u64) -> Result<Option<EthBlockData>, EndpointError> {
        let Some(raw) = self.raw_block(number)? else {
            return Ok(None);
        };
        let data = raw
            .into_block_data()
            .map_err(|source| EndpointError::Convert {
                endpoint: self.shown.clone(),
                number,
                source,
            })?;
        let got = super::header_only_check(&data)
            .map(|h| h.number)
            .map_err(|e| self.bad_answer("eth_getBlockByNumber", e))?;
        if got != number {
            return Err(EndpointError::WrongBlock {
                endpoint: self.shown.clone(),
                asked: number,
                got,
            });
        }
        Ok(Some(data))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn endpoint_shown_without_path_or_query() {
        assert_eq!(
            without_path("https://mainnet.example/v3/SECRET"),
            "https://mainnet.example"
        );
        assert_eq!(
            without_path("http://127.0.0.1:8545"),
            "http://127.0.0.1:8545"
        );
        assert_eq!(without_path("http://h:1?key=SECRET"), "http://h:1");
    }

    /// A one-connection HTTP server answering `status` with `body`; returns its URL (with a secret path).
    fn serve_once(status: &str, body: &str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("request line");
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().expect("length");
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut request = vec![0; length];
            reader.read_exact(&mut request).expect("request body");
            reader
                .get_mut()
                .write_all(response.as_bytes())
                .expect("answer");
        });
        format!("http://127.0.0.1:{port}/v3/SECRET")
    }

    #[test]
    fn an_unreachable_endpoint_is_named_without_its_path() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        drop(listener);
        let error = JsonRpcEndpoint::new(&format!("http://127.0.0.1:{port}/v3/SECRET"))
            .chain_id()
            .expect_err("nothing listens");
        let message = error.to_string();
        assert!(
            matches!(error, EndpointError::Transport { .. }),
            "{message}"
        );
        assert!(
            message.starts_with(&format!(
                "endpoint http://127.0.0.1:{port}: eth_chainId failed"
            )),
            "{message}"
        );
        assert!(!message.contains("SECRET"), "{message}");
    }

    #[test]
    fn a_json_rpc_error_is_named_with_its_code_and_message() {
        let url = serve_once(
            "200 OK",
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"the method eth_blockNumber does not exist"}}"#,
        );
        match JsonRpcEndpoint::new(&url).latest() {
            Err(EndpointError::Rpc {
                method,
                code,
                message,
                ..
            }) => {
                assert_eq!((method.as_str(), code), ("eth_blockNumber", -32601));
                assert!(message.contains("does not exist"), "{message}");
            }
            other => panic!("expected an RPC error, got {other:?}"),
        }
    }

    #[test]
    fn an_http_error_status_and_a_non_json_answer_are_named() {
        let url = serve_once("503 Service Unavailable", r#"{"busy":true}"#);
        let message = JsonRpcEndpoint::new(&url)
            .latest()
            .expect_err("refused")
            .to_string();
        assert!(message.contains("HTTP status 503"), "{message}");
        let url = serve_once("200 OK", "<html>");
        let error = JsonRpcEndpoint::new(&url).chain_id().expect_err("refused");
        assert!(matches!(error, EndpointError::BadAnswer { .. }), "{error}");
        assert!(error.to_string().contains("not JSON"), "{error}");
    }

    #[test]
    fn a_quantity_that_is_not_one_is_named() {
        let url = serve_once("200 OK", r#"{"jsonrpc":"2.0","id":1,"result":12}"#);
        let message = JsonRpcEndpoint::new(&url)
            .chain_id()
            .expect_err("refused")
            .to_string();
        assert!(
            message.contains("expected a hex quantity, got 12"),
            "{message}"
        );
    }
}
