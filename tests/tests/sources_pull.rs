//! Validators pulling an Ethereum source from their own endpoints (real `cvm` processes):
//! - the example archive (blocks of a real hardhat chain running OpenZeppelin ERC-20s), registered by governance
//!   and read by four validators, ends with every holder's `balances` record equal to the contract's `balanceOf`
//!   and every token's `supply` equal to `totalSupply`; a fresh node with no endpoint catches up from its peers,
//!   also when a chain block's source data is larger than a sync message;
//! - a live hardhat node driven while the validators pull from it, one validator's endpoint serving altered logs
//!   and then down: the chain goes on with the real data; two endpoints of four down: the source waits, without
//!   a fork, and resumes when they return.

use std::path::PathBuf;
use std::time::Duration;

use cvm_host::chain::config::NodeConfig;
use cvm_host::sources::ethereum::{ArchiveEndpoint, SourceEndpoint};

use cvm_tests::checks::stop_and_check;
use cvm_tests::hardhat::Expected;
use cvm_tests::localnet::LocalNet;
use cvm_tests::rpc_proxy::{ProxyMode, RpcProxy};
use cvm_tests::sources::ethereum::{
    SOURCE, assert_datasets_match_contracts, hardhat_from_block_one, register_and_deploy,
    rpc_endpoint, source_head, wait_source_head,
};
use parity_scale_codec::Encode;

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

/// Points the four validators at `archive`, starts them and waits for the first block.
fn start_reading_archive(net: &mut LocalNet, archive: &std::path::Path) {
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
}

#[test]
fn validators_pull_the_example_archive_and_balances_equal_the_contracts() {
    let expected = expected();
    let mut net = LocalNet::with_idle_interval(4, 1, 2_000);
    let archive = archive().canonicalize().expect("the archive");
    start_reading_archive(&mut net, &archive);
    register_and_deploy(&net, first_block());
    wait_source_head(&net, 0, expected.last_block, Duration::from_secs(180));
    assert_datasets_match_contracts(&net, 0, &expected);

    // A full node without any endpoint catches up from its peers: the source data comes with the blocks.
    net.start(4);
    let height = net.status(0).expect("status").height;
    net.wait_height(4, height, Duration::from_secs(120));
    wait_source_head(&net, 4, expected.last_block, Duration::from_secs(60));
    assert_datasets_match_contracts(&net, 4, &expected);

    // The operator's view: the registration, and the head against the node's own archive.
    let node = net.nodes[0].rpc_url.clone();
    let (ok, out) = net.cvm(&["source", "list", "--node", &node]);
    assert!(
        ok && out.contains("ethereum-local  ethereum chain 31337"),
        "{out}"
    );
    let (ok, out) = net.cvm(&["source", "status", "--node", &node]);
    assert!(
        ok && out.contains(&format!(
            "head {0}, endpoint latest {0}, lag 0",
            expected.last_block
        )),
        "{out}"
    );
    assert_verify_names_the_source_head(&net, &expected);
    // `cvm replay` re-executes the full node's chain, source blocks included, from what it stored: it has no
    // endpoint.
    net.stop(4);
    let home = net.nodes[4].home.clone();
    let (ok, out) = net.cvm(&["replay", "--home", home.to_str().unwrap()]);
    assert!(ok && out.contains("OK:"), "{out}");
}

/// Every node's chain and config, before any starts: blocks (and transactions) of at most `max_block_bytes`,
/// gossip and sync messages of at most `max_message_bytes`.
fn shrink_messages(net: &LocalNet, max_block_bytes: u64, max_message_bytes: usize) {
    for node in &net.nodes {
        let path = node.home.join("config/genesis.json");
        let mut genesis: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read genesis"))
                .expect("genesis JSON");
        genesis["params"]["max_block_bytes"] = max_block_bytes.into();
        genesis["params"]["max_tx_bytes"] = max_block_bytes.into();
        std::fs::write(&path, genesis.to_string()).expect("write genesis");
        let path = node.home.join("config/config.toml");
        let mut config = NodeConfig::load(&path).expect("config loads");
        config.p2p.max_message_bytes = max_message_bytes;
        std::fs::write(&path, config.to_toml()).expect("write config");
    }
}

#[test]
fn a_node_without_an_endpoint_syncs_source_data_larger_than_a_sync_message() {
    // 56 KiB blocks (the erc20 deploy is 47 KB) and 80 KiB messages, the least a node takes with them (the block
    // and room for a certificate of 128 validators); a chain block carries up to 16 archive blocks.
    const MAX_MESSAGE: usize = 80 * 1024;
    let expected = expected();
    let (first, hash) = first_block();
    let archive = archive().canonicalize().expect("the archive");
    let endpoint = ArchiveEndpoint::open(&archive, 31337).expect("open the archive");
    let sizes: Vec<usize> = (first..=expected.last_block)
        .map(|n| {
            endpoint
                .block(n)
                .expect("read")
                .expect("in the archive")
                .encoded_size()
        })
        .collect();
    let largest_chain_block = sizes.windows(16).map(|w| w.iter().sum::<usize>()).max();
    assert!(
        largest_chain_block.is_some_and(|bytes| bytes > MAX_MESSAGE),
        "16 archive blocks take {largest_chain_block:?} bytes: not more than a message"
    );

    let mut net = LocalNet::with_idle_interval(4, 1, 2_000);
    shrink_messages(&net, 56 * 1024, MAX_MESSAGE);
    start_reading_archive(&mut net, &archive);
    register_and_deploy(&net, (first, hash));
    wait_source_head(&net, 0, expected.last_block, Duration::from_secs(180));

    net.start(4);
    let height = net.status(0).expect("status").height;
    net.wait_height(4, height, Duration::from_secs(120));
    wait_source_head(&net, 4, expected.last_block, Duration::from_secs(60));
    assert_datasets_match_contracts(&net, 4, &expected);
}

#[test]
fn validators_pull_a_live_node_past_an_altered_and_a_down_endpoint() {
    let (hardhat, start) = hardhat_from_block_one();
    // Node 3 reads through a proxy that alters every log's data; node 2 through one that stays honest until
    // it goes down.
    let altered = RpcProxy::start(hardhat.rpc_url(), ProxyMode::AlterLogs).expect("proxy");
    let flaky = RpcProxy::start(hardhat.rpc_url(), ProxyMode::Honest).expect("proxy");
    let mut net = LocalNet::with_idle_interval(4, 0, 2_000);
    for i in 0..2 {
        net.set_source_endpoint(i, SOURCE, &rpc_endpoint(hardhat.rpc_url()));
    }
    net.set_source_endpoint(2, SOURCE, &rpc_endpoint(&flaky.url()));
    net.set_source_endpoint(3, SOURCE, &rpc_endpoint(&altered.url()));
    net.start_all();
    net.wait_height(0, 1, Duration::from_secs(60));
    register_and_deploy(&net, start);

    // Token activity while the validators pull.
    let expected = hardhat.drive(11, 8).expect("drive hardhat");
    wait_source_head(&net, 0, expected.last_block, Duration::from_secs(120));
    assert_datasets_match_contracts(&net, 0, &expected);
    // The validator whose endpoint lies refused its data, took the chain's blocks from its peers, and holds the
    // real records.
    wait_source_head(&net, 3, expected.last_block, Duration::from_secs(60));
    assert_datasets_match_contracts(&net, 3, &expected);
    let log = std::fs::read_to_string(net.nodes[3].log_path()).unwrap_or_default();
    assert!(
        log.contains("does not verify") || log.contains("receipts root"),
        "node 3 never noticed its endpoint's altered logs:\n{}",
        net.log_tail(3, 30)
    );

    // One endpoint of four down (and one lying): three validators still check every block; the source goes on.
    altered.set_mode(ProxyMode::Down);
    hardhat.mine(3).expect("mine");
    let tip = hardhat.block_number().expect("block number");
    wait_source_head(&net, 0, tip, Duration::from_secs(60));

    // Two of four down: no quorum can check a source block, so the source waits (the chain may still make
    // blocks without source data) and resumes when the endpoints return.
    flaky.set_mode(ProxyMode::Down);
    hardhat.mine(3).expect("mine");
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        source_head(&net, 0),
        Some(tip),
        "the source moved with two endpoints of four down"
    );
    flaky.set_mode(ProxyMode::Honest);
    altered.set_mode(ProxyMode::Honest);
    let tip = hardhat.block_number().expect("block number");
    wait_source_head(&net, 0, tip, Duration::from_secs(60));
    stop_and_check(&mut net).assert_no_fork_or_double_sign();
}

/// The archive's last block: how far the source is ingested once the validators have read it all.
fn last_block() -> (u64, String) {
    let text = std::fs::read_to_string(archive()).expect("read the archive");
    let line: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("a last line")).expect("json");
    let block = &line["block"];
    let number = block["number"].as_str().expect("number");
    (
        u64::from_str_radix(number.trim_start_matches("0x"), 16).expect("hex number"),
        block["hash"].as_str().expect("hash").to_lowercase(),
    )
}

/// A supply record saved with `cvm query record --out` and checked with `cvm verify` names the source it derives
/// from and its head at the record's height: the head node 0 reports (`GET /sources`), the archive's last block.
fn assert_verify_names_the_source_head(net: &LocalNet, expected: &Expected) {
    let height = net.status(0).expect("status").height;
    let head = net.nodes[0]
        .client()
        .sources()
        .expect("GET /sources")
        .into_iter()
        .find(|s| s.definition.name() == SOURCE)
        .and_then(|s| s.head)
        .expect("the source has a head");
    assert_eq!((head.number, head.hash.clone()), last_block());
    let bundle = net.dir.path().join("supply-bundle.json");
    let key = hex::encode(expected.tokens[0].address.encode());
    let node = net.nodes[0].rpc_url.clone();
    let (ok, out) = net.cvm(&[
        "query",
        "record",
        "erc20-transfers",
        "supply",
        &key,
        "--height",
        &height.to_string(),
        "--out",
        bundle.to_str().unwrap(),
        "--node",
        &node,
    ]);
    assert!(ok, "query record: {out}");
    let genesis = net.genesis_path();
    let (ok, out) = net.cvm(&[
        "verify",
        "--genesis",
        genesis.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
    ]);
    let derived = format!(
        "derived from {SOURCE} up to block {}, {}",
        head.number, head.hash
    );
    assert!(
        ok && out.contains("VALID: record erc20-transfers/supply/") && out.contains(&derived),
        "expected {derived:?}:\n{out}"
    );
}
