//! A small blocking HTTP client for the node's JSON API, for the CLI and tests. Errors say what to do: an
//! unreachable node suggests starting it, an API error carries the node's own message.

use std::time::{Duration, Instant};

use cvm_runtime::SignedTransaction;
use parity_scale_codec::Encode;
use serde::de::DeserializeOwned;

use crate::hex_text::{from_hex32, to_hex};
use crate::record_bundle::RecordBundle;
use crate::record_page::RecordPage;
use crate::rpc::json::{
    AccountJson, BlockJson, CommitJson, ErrorJson, ReceiptJson, SubmitTxRequest, SubmitTxResponse,
    TxLookupJson,
};
use crate::rpc::node_api::{
    EvidenceList, ManuscriptInfo, ManuscriptsPage, SourceInfo, StatusInfo, ValidatorSetInfo,
};

/// Where `cvm start` listens by default.
pub const DEFAULT_NODE_URL: &str = "http://127.0.0.1:26657";

/// Largest answer read (a block can be several MiB of JSON).
const MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;

/// Why a call to the node's API failed.
#[derive(Debug, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum ClientError {
    #[error(
        "cannot reach the node at {url}: {reason}; is the node running? start it with `cvm start --home <dir>` \
         or pass --node <url>"
    )]
    Unreachable { url: String, reason: String },
    #[error("the node refused the request ({status}): {message}")]
    Api { status: u16, message: String },
    #[error("unexpected answer from {url}: {reason}; is it a cvm node of the same version?")]
    BadAnswer { url: String, reason: String },
    #[error(
        "transaction {hash} was not committed within {waited:?} (last status: {last}); query it later with `cvm query tx {hash}`"
    )]
    Timeout {
        hash: String,
        waited: Duration,
        last: String,
    },
}

impl ClientError {
    /// A 404 from the node (unknown height, manuscript, dataset...).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status: 404, .. })
    }
}

/// A blocking HTTP client of one node's JSON API (what `cvm tx`, `cvm query` and the test harnesses use).
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

/// Percent-encodes one path segment (manuscript and dataset names).
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What page of a dataset to ask for ([`Client::records_page`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Only record keys starting with these bytes.
    pub prefix: Vec<u8>,
    /// The first record key (inclusive).
    pub start: Option<Vec<u8>>,
    /// A page's `next`, to continue after it.
    pub cursor: Option<String>,
    /// Records per page (the node's default when `None`).
    pub limit: Option<u32>,
    /// The height (the latest final when `None`; a cursor carries its own).
    pub height: Option<u64>,
}

impl Client {
    /// A client of the node at `base_url` (e.g. `http://127.0.0.1:26657`), with a 30 s timeout per request.
    pub fn new(base_url: &str) -> Self {
        Self::with_timeout(base_url, Duration::from_secs(30))
    }

    /// A client of the node at `base_url` whose requests each give up after `timeout`.
    pub fn with_timeout(base_url: &str, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build();
        Client {
            base: base_url.trim_end_matches('/').to_string(),
            agent: config.into(),
        }
    }

    /// The node's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn answer<T: DeserializeOwned>(
        &self,
        url: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ClientError> {
        let mut response = result.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|e| ClientError::BadAnswer {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<ErrorJson>(&text)
                .map(|e| e.error)
                .unwrap_or(text);
            return Err(ClientError::Api { status, message });
        }
        serde_json::from_str(&text).map_err(|e| ClientError::BadAnswer {
            url: url.to_string(),
            reason: e.to_string(),
        })
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        tracing::debug!(%url, "GET");
        let result = self.agent.get(&url).call();
        self.answer(&url, result)
    }

    /// `GET /status`: the node's chain, height, peers and sync state.
    pub fn status(&self) -> Result<StatusInfo, ClientError> {
        self.get("/status")
    }

    /// The block at `height`, or the latest with `None`.
    pub fn block(&self, height: Option<u64>) -> Result<BlockJson, ClientError> {
        self.get(&format!(
            "/blocks/{}",
            height.map_or("latest".to_string(), |h| h.to_string())
        ))
    }

    /// The commit certificate of the block at `height` (`None`: the latest).
    pub fn commit(&self, height: Option<u64>) -> Result<CommitJson, ClientError> {
        self.get(&format!(
            "/commits/{}",
            height.map_or("latest".to_string(), |h| h.to_string())
        ))
    }

    /// Submits a signed transaction; returns its hash.
    pub fn submit_tx(&self, tx: &SignedTransaction) -> Result<[u8; 32], ClientError> {
        let url = format!("{}/txs", self.base);
        let body = SubmitTxRequest {
            tx: to_hex(tx.encode()),
        };
        tracing::debug!(%url, bytes = body.tx.len() / 2, "POST");
        let result = self.agent.post(&url).send_json(&body);
        let answer: SubmitTxResponse = self.answer(&url, result)?;
        from_hex32(&answer.hash).map_err(|reason| ClientError::BadAnswer { url, reason })
    }

    /// Posts `tx_hex` as is (not necessarily a valid transaction): how a node answers malformed input.
    pub fn submit_raw_hex(&self, tx_hex: &str) -> Result<[u8; 32], ClientError> {
        let url = format!("{}/txs", self.base);
        let body = SubmitTxRequest {
            tx: tx_hex.to_string(),
        };
        let result = self.agent.post(&url).send_json(&body);
        let answer: SubmitTxResponse = self.answer(&url, result)?;
        from_hex32(&answer.hash).map_err(|reason| ClientError::BadAnswer { url, reason })
    }

    /// Where the transaction `hash` is: pending, committed (with its receipt) or unknown.
    pub fn tx(&self, hash: [u8; 32]) -> Result<TxLookupJson, ClientError> {
        self.get(&format!("/txs/{}", to_hex(hash)))
    }

    /// The record with its proof, header and certificate, at `height` or the latest.
    pub fn record(
        &self,
        manuscript: &str,
        dataset: &str,
        key: &[u8],
        height: Option<u64>,
    ) -> Result<RecordBundle, ClientError> {
        let mut path = format!(
            "/records/{}/{}/{}",
            segment(manuscript),
            segment(dataset),
            hex::encode(key)
        );
        if let Some(h) = height {
            path.push_str(&format!("?height={h}"));
        }
        self.get(&path)
    }

    /// `GET /records/{manuscript}/{dataset}`: a page of the dataset with its completeness proof. `prefix` and
    /// `start` are record keys; `cursor` is a page's `next` (then `start` must be `None`).
    pub fn records_page(
        &self,
        manuscript: &str,
        dataset: &str,
        request: &PageRequest,
    ) -> Result<RecordPage, ClientError> {
        let mut params = Vec::new();
        if !request.prefix.is_empty() {
            params.push(format!("prefix={}", hex::encode(&request.prefix)));
        }
        if let Some(start) = &request.start {
            params.push(format!("start={}", hex::encode(start)));
        }
        if let Some(cursor) = &request.cursor {
            params.push(format!("cursor={}", segment(cursor)));
        }
        if let Some(limit) = request.limit {
            params.push(format!("limit={limit}"));
        }
        if let Some(height) = request.height {
            params.push(format!("height={height}"));
        }
        let mut path = format!("/records/{}/{}", segment(manuscript), segment(dataset));
        if !params.is_empty() {
            path.push('?');
            path.push_str(&params.join("&"));
        }
        self.get(&path)
    }

    /// The next nonce the account `public_key` should sign with, counting its pending transactions.
    pub fn account_nonce(&self, public_key: [u8; 32]) -> Result<u64, ClientError> {
        self.get::<AccountJson>(&format!("/accounts/{}", hex::encode(public_key)))
            .map(|a| a.nonce)
    }

    /// Duplicate-vote evidence: the latest committed (the newest 100 blocks that committed some) and the pending.
    pub fn evidence(&self) -> Result<EvidenceList, ClientError> {
        self.get("/evidence")
    }

    /// The validator set of `height` (default: the next height's), with names and powers.
    pub fn validators(&self, height: Option<u64>) -> Result<ValidatorSetInfo, ClientError> {
        match height {
            Some(h) => self.get(&format!("/validators?height={h}")),
            None => self.get("/validators"),
        }
    }

    /// The registered sources and their heads (`/sources`).
    pub fn sources(&self) -> Result<Vec<SourceInfo>, ClientError> {
        self.get("/sources")
    }

    /// The deployed manuscripts, with their sources and datasets: every page of `/manuscripts`.
    pub fn manuscripts(&self) -> Result<Vec<ManuscriptInfo>, ClientError> {
        let mut all = Vec::new();
        let mut path = "/manuscripts".to_string();
        loop {
            let page: ManuscriptsPage = self.get(&path)?;
            all.extend(page.manuscripts);
            let Some(next) = page.next else {
                return Ok(all);
            };
            path = format!("/manuscripts?after={}", segment(&next));
        }
    }

    /// `GET /blocks/{height}/changes`: the dataset records the block changed (of one manuscript, or one of its
    /// datasets, when named), with their proofs.
    pub fn changes(
        &self,
        height: u64,
        manuscript: Option<&str>,
        dataset: Option<&str>,
    ) -> Result<crate::block_changes::BlockChanges, ClientError> {
        let mut params = Vec::new();
        if let Some(m) = manuscript {
            params.push(format!("manuscript={}", segment(m)));
        }
        if let Some(d) = dataset {
            params.push(format!("dataset={}", segment(d)));
        }
        let mut path = format!("/blocks/{height}/changes");
        if !params.is_empty() {
            path.push('?');
            path.push_str(&params.join("&"));
        }
        self.get(&path)
    }

    /// The deployed wasm whose Blake2-256 hash is `code_hash` (`GET /code/{code_hash}`); an answer that does not
    /// hash to it is a [`ClientError::BadAnswer`].
    pub fn code(&self, code_hash: [u8; 32]) -> Result<Vec<u8>, ClientError> {
        let path = format!("/code/{}", to_hex(code_hash));
        let answer: crate::rpc::code::CodeJson = self.get(&path)?;
        let bad = |reason: String| ClientError::BadAnswer {
            url: format!("{}{path}", self.base),
            reason,
        };
        let code = crate::hex_text::from_hex(&answer.code).map_err(bad)?;
        if cvm_runtime::state::blake2_256(&code) != code_hash {
            return Err(bad(
                "the code does not hash to the code hash asked for".into()
            ));
        }
        Ok(code)
    }

    /// Polls until the transaction is committed; returns its height and receipt.
    pub fn wait_for_tx(
        &self,
        hash: [u8; 32],
        timeout: Duration,
    ) -> Result<(u64, ReceiptJson), ClientError> {
        let start = Instant::now();
        loop {
            let last = match self.tx(hash)? {
                TxLookupJson::Committed {
                    height, receipt, ..
                } => return Ok((height, receipt)),
                TxLookupJson::Pending => "pending in the mempool",
                TxLookupJson::Unknown => "unknown to the node (dropped from the mempool?)",
            };
            if start.elapsed() >= timeout {
                return Err(ClientError::Timeout {
                    hash: to_hex(hash),
                    waited: timeout,
                    last: last.to_string(),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::tests::{FakeNode, server, user_tx};

    #[test]
    fn talks_to_a_real_server() {
        let (url, _stop) = server(std::sync::Arc::new(FakeNode::new(None)));
        let client = Client::new(&format!("{url}/"));
        assert_eq!(client.status().unwrap().height, 2);
        assert_eq!(client.block(None).unwrap().header.height, 2);
        assert_eq!(client.block(Some(1)).unwrap().header.height, 1);
        assert_eq!(client.commit(Some(1)).unwrap().height, 1);
        let e = client.block(Some(50)).unwrap_err();
        assert!(e.is_not_found(), "{e}");
        assert!(e.to_string().contains("no block at height 50"), "{e}");

        let tx = user_tx(0);
        assert_eq!(client.submit_tx(&tx).unwrap(), tx.hash());
        assert_eq!(client.tx(tx.hash()).unwrap(), TxLookupJson::Pending);
        assert_eq!(client.account_nonce(tx.tx.signer).unwrap(), 1);
        let e = client
            .wait_for_tx(tx.hash(), Duration::from_millis(300))
            .unwrap_err();
        assert!(matches!(e, ClientError::Timeout { .. }), "{e}");
        let (height, receipt) = client.wait_for_tx([7; 32], Duration::from_secs(5)).unwrap();
        assert_eq!(height, 2);
        assert_eq!(receipt.tx_hash, to_hex([7u8; 32]));

        let mut bad = user_tx(1);
        bad.signature[0] ^= 1;
        let e = client.submit_tx(&bad).unwrap_err();
        assert!(
            matches!(&e, ClientError::Api { status: 400, message } if message.contains("invalid signature")),
            "{e}"
        );
        let e = client.record("no-such", "data", b"k", None).unwrap_err();
        assert!(e.is_not_found(), "{e}");
        assert_eq!(client.validators(None).unwrap().validators.len(), 1);
        assert!(client.manuscripts().unwrap().is_empty());
    }

    #[test]
    fn unreachable_node_says_to_start_it() {
        // Bind then drop a listener to get a port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client =
            Client::with_timeout(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2));
        let e = client.status().unwrap_err();
        assert!(matches!(e, ClientError::Unreachable { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("is the node running? start it with `cvm start"),
            "{e}"
        );
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(segment("erc20-balances_v1.2"), "erc20-balances_v1.2");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }
}
