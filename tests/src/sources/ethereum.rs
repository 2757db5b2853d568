//! The local network's Ethereum source (`ethereum-local`, a hardhat chain) as the source tests use it: its
//! registration with erc20-transfers bound to it, its head on each node, and the check that the datasets hold
//! what the contracts do.

use std::time::{Duration, Instant};

use erc20_transfers::{BalanceRecord, SupplyRecord};
use parity_scale_codec::{Decode, Encode};

use crate::hardhat::{Expected, HardhatNode};
use crate::localnet::LocalNet;

/// The source's registered name.
pub const SOURCE: &str = "ethereum-local";

/// The `[sources.ethereum-local]` lines of a node reading the JSON-RPC endpoint `url`, polled every 100 ms.
pub fn rpc_endpoint(url: &str) -> String {
    format!("rpc = {url:?}\npoll_ms = 100")
}

/// Registers the source from `start` (number and `0x` hash of its first block) with the network's governance
/// key, with no confirmation depth, and deploys erc20-transfers bound to it, in that order (a source nobody reads
/// A started hardhat node with block 1 mined, and that block's number and hash: where a source over it starts
/// (hardhat's block 0 is not a real block: its transactions root is not the empty trie's).
pub fn hardhat_from_block_one() -> (HardhatNode, (u64, String)) {
    let hardhat = HardhatNode::start().expect("start hardhat");
    hardhat.mine(1).expect("mine block 1");
    let first = hardhat
        .rpc("eth_getBlockByNumber", serde_json::json!(["0x1", false]))
        .expect("block 1");
    let start = (1, first["hash"].as_str().expect("hash").to_string());
    (hardhat, start)
}

/// waits at its start until the deploy commits).
pub fn register_and_deploy(net: &LocalNet, (number, hash): (u64, String)) {
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

/// Node `i`'s committed head of the source.
pub fn source_head(net: &LocalNet, i: usize) -> Option<u64> {
    net.nodes[i].client().sources().ok().and_then(|sources| {
        sources
            .into_iter()
            .find(|s| s.definition.name() == SOURCE)
            .and_then(|s| s.head.map(|h| h.number))
    })
}

/// Waits until node `i` has ingested the source up to `number`; panics with its log tail on timeout.
pub fn wait_source_head(net: &LocalNet, i: usize, number: u64, timeout: Duration) {
    let start = Instant::now();
    loop {
        let head = source_head(net, i);
        if head.is_some_and(|h| h >= number) {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "{} did not ingest {SOURCE} up to block {number} in {timeout:?} (head {head:?})\n{}",
            net.nodes[i].name,
            net.log_tail(i, 40)
        );
        std::thread::sleep(Duration::from_millis(100));
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

/// Every holder's balance and every token's supply, read from node `i`, equal the contracts' in `expected`.
pub fn assert_datasets_match_contracts(net: &LocalNet, i: usize, expected: &Expected) {
    for token in &expected.tokens {
        let supply: SupplyRecord =
            record(net, i, "supply", &token.address.encode()).expect("a supply record");
        assert_eq!(
            supply.net_minted.unsigned().map(|v| v.to_string()),
            Some(token.total_supply.to_string()),
            "{} supply on {}",
            token.symbol,
            net.nodes[i].name
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
                "{} balance of 0x{} on {}",
                token.symbol,
                hex::encode(holder),
                net.nodes[i].name
            );
        }
    }
}
