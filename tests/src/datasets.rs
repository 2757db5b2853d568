//! Datasets with records in them on a live network, for the tests of the ways people read them (pages, feeds,
//! sinks, exports).

use std::time::Duration;

use cvm_host::api_client::Client;
use cvm_host::records::{Schema, encode_records};
use cvm_runtime::TxPayload;

use crate::chaos::{deploy_erc20, dev_key, sign};

/// The example logs (erc20 transfers and approvals of a real hardhat chain) as source records.
pub fn example_logs() -> Vec<Vec<u8>> {
    let text =
        std::fs::read_to_string(manuscript_fixtures::erc20_logs_path()).expect("example data");
    encode_records(&text, "ethereum.logs", Schema::Auto).expect("encode logs")
}

/// Ingests `records` into `ethereum.logs` (signed by the dev key) in transactions of `per_tx`, all submitted at
/// once when `wait_each` is false, else each after the one before has committed; returns the height of the last.
pub fn ingest(
    client: &Client,
    chain_id: &str,
    records: &[Vec<u8>],
    per_tx: usize,
    wait_each: bool,
    wait: Duration,
) -> u64 {
    let key = dev_key();
    let first_nonce = client.account_nonce(key.public_key()).expect("nonce");
    let mut hashes = Vec::new();
    let mut last = 0;
    for (nonce, chunk) in (first_nonce..).zip(records.chunks(per_tx)) {
        let tx = sign(
            chain_id,
            &key,
            nonce,
            TxPayload::Ingest {
                source: "ethereum.logs".into(),
                records: chunk.iter().collect(),
            },
        );
        let hash = client.submit_tx(&tx).expect("submit ingest");
        if wait_each {
            last = client.wait_for_tx(hash, wait).expect("ingest committed").0;
        } else {
            hashes.push(hash);
        }
    }
    hashes
        .into_iter()
        .map(|h| client.wait_for_tx(h, wait).expect("ingest committed").0)
        .fold(last, u64::max)
}

/// Deploys erc20-transfers and ingests the first `logs` example logs in transactions of 100 submitted at once;
/// returns the height of the last ingest.
pub fn deploy_erc20_and_ingest(
    client: &Client,
    chain_id: &str,
    logs: usize,
    wait: Duration,
) -> u64 {
    deploy_erc20(client, chain_id);
    ingest(client, chain_id, &example_logs()[..logs], 100, false, wait)
}
