//! Validators pulling an Ethereum source from their own endpoints (real `cvm` processes): the example archive
//! (blocks of a real hardhat chain running OpenZeppelin ERC-20s), registered by governance and read by four
//! validators, ends with every holder's `balances` record equal to the contract's `balanceOf` and every token's
//! `supply` equal to `totalSupply`; a fresh node with no endpoint catches up from its peers.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cvm_tests::hardhat::Expected;
use cvm_tests::localnet::LocalNet;
use erc20_transfers::{BalanceRecord, SupplyRecord};
use parity_scale_codec::{Decode, Encode};

const SOURCE: &str = "ethereum-local";

fn archive() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/data/ethereum-local.jsonl")
}

fn expected() -> Expected {
    let path = archive().with_file_name("ethereum-local.expected.json");
    Expected::from_json(&std::fs::read_to_string(path).expect("read the expectation"))
        .expect("parse")
}

/// The archive's first block: what the registration pins.
fn first_block() -> (u64, String) {
    let text = std::fs::read_to_string(archive()).expect("read the archive");
    let line: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("a first line")).expect("json");
    let number = u64::from_str_radix(
        line["block"]["number"]
            .as_str()
            .expect("number")
            .trim_start_matches("0x"),
        16,
    )
    .expect("hex number");
    (
        number,
        line["block"]["hash"].as_str().expect("hash").to_string(),
    )
}

/// Registers the source with the network's governance key and deploys erc20-transfers bound to it, in that
/// order (the source's first block is ingested only after both are committed).
fn register_and_deploy(net: &LocalNet) {
    let (number, hash) = first_block();
    let def = serde_json::json!({
        "kind": "ethereum",
        "name": SOURCE,
        "chain_id": 31337,
        "start": {"number": number, "hash": hash},
        "confirmations": 0,
        "budget": {"max_blocks": 16, "max_logs": 4000},
    });
    let dir = net.dir.path();
    let def_path = dir.join("source.json");
    std::fs::write(&def_path, def.to_string()).expect("write the definition");
    let wasm_path = dir.join("erc20.wasm");
    std::fs::write(&wasm_path, manuscript_fixtures::ERC20_TRANSFERS).expect("write the wasm");
    let node = net.nodes[0].rpc_url.clone();
    let key = net.governance_key();
    let (ok, out) = net.cvm(&[
        "tx",
        "register-source",
        "--file",
        def_path.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--node",
        &node,
    ]);
    assert!(ok, "register-source: {out}");
    let (ok, out) = net.cvm(&[
        "tx",
        "deploy",
        wasm_path.to_str().unwrap(),
        "--source",
        SOURCE,
        "--key",
        key.to_str().unwrap(),
        "--node",
        &node,
    ]);
    assert!(ok, "deploy: {out}");
}

/// Waits until node `i` has ingested the source up to `number`.
fn wait_source_head(net: &LocalNet, i: usize, number: u64, timeout: Duration) {
    let client = net.nodes[i].client();
    let start = Instant::now();
    loop {
        let head = client.sources().ok().and_then(|sources| {
            sources
                .into_iter()
                .find(|s| s.definition.name() == SOURCE)
                .and_then(|s| s.head)
        });
        if head.as_ref().is_some_and(|h| h.number >= number) {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "{} did not ingest {SOURCE} up to block {number} in {timeout:?} (head {head:?})\n{}",
            net.nodes[i].name,
            net.log_tail(i, 40)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn record<T: Decode>(net: &LocalNet, i: usize, dataset: &str, key: &[u8]) -> Option<T> {
    let bundle = net.nodes[i]
        .client()
        .record("erc20-transfers", dataset, key, None)
        .expect("query a record");
    bundle
        .value
        .map(|v| T::decode(&mut &v[..]).expect("decode the record"))
}

/// Every holder's balance and every token's supply, read from node `i`, equal the contracts'.
fn assert_datasets_match_contracts(net: &LocalNet, i: usize, expected: &Expected) {
    for token in &expected.tokens {
        let supply: SupplyRecord =
            record(net, i, "supply", &token.address.encode()).expect("a supply record");
        assert_eq!(
            supply.net_minted.unsigned().map(|v| v.to_string()),
            Some(token.total_supply.to_string()),
            "{} supply",
            token.symbol
        );
        for (holder, balance) in &token.balances {
            let got: Option<BalanceRecord> =
                record(net, i, "balances", &(token.address, *holder).encode());
            let got = got.map_or("0".to_string(), |r| {
                r.net_flow.unsigned().expect("not negative").to_string()
            });
            assert_eq!(
                got,
                balance.to_string(),
                "{} balance of 0x{}",
                token.symbol,
                hex::encode(holder)
            );
        }
    }
}

#[test]
fn validators_pull_the_example_archive_and_balances_equal_the_contracts() {
    let expected = expected();
    let mut net = LocalNet::with_idle_interval(4, 1, 2_000);
    let archive = archive().canonicalize().expect("the archive");
    for i in 0..4 {
        net.set_source_endpoint(
            i,
            SOURCE,
            &format!("archive = {:?}", archive.display().to_string()),
        );
    }
    for i in 0..4 {
        net.start(i);
    }
    net.wait_height(0, 1, Duration::from_secs(60));
    register_and_deploy(&net);
    wait_source_head(&net, 0, expected.last_block, Duration::from_secs(180));
    assert_datasets_match_contracts(&net, 0, &expected);

    // A full node without any endpoint catches up from its peers: the source data comes with the blocks.
    net.start(4);
    let height = net.status(0).expect("status").height;
    net.wait_height(4, height, Duration::from_secs(120));
    wait_source_head(&net, 4, expected.last_block, Duration::from_secs(60));
    assert_datasets_match_contracts(&net, 4, &expected);
}
