//! The Ethereum example on a real hardhat node: what `drive.js` reports equals what the contracts answer, and the
//! checked-in archive (`examples/data/ethereum-local.jsonl`) is what `generate.js` writes and holds the token
//! balances its expectation file names.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use cvm_tests::hardhat::{self, Address, Expected, HardhatNode};
use primitive_types::U256;
use serde_json::Value;

const ARCHIVE: &str = "../examples/data/ethereum-local.jsonl";
const ARCHIVE_EXPECTED: &str = "../examples/data/ethereum-local.expected.json";
/// keccak256("Transfer(address,address,uint256)"), shared by ERC-20 and ERC-721.
const TRANSFER_TOPIC: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

fn data_path(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

#[test]
fn drive_reports_what_the_contracts_hold() {
    let node = HardhatNode::start().expect("hardhat node");
    let before = node.block_number().expect("block number");
    let expected = node.drive(7, 6).expect("drive.js");

    assert_eq!(expected.chain_id, 31337);
    assert_eq!(expected.deploy_block, before + 1);
    // One block per round after the deployment's.
    assert_eq!(expected.last_block, expected.deploy_block + 6);
    assert_eq!(
        node.block_number().expect("block number"),
        expected.last_block
    );
    assert_eq!(
        expected
            .tokens
            .iter()
            .map(|t| (t.symbol.as_str(), t.decimals))
            .collect::<Vec<_>>(),
        [("ALP", 18), ("BUSD", 6)]
    );
    for token in &expected.tokens {
        assert_eq!(
            node.total_supply(&token.address).expect("totalSupply"),
            token.total_supply
        );
        assert!(
            token.balances.values().any(|b| !b.is_zero()),
            "{} has no holder",
            token.symbol
        );
        for (holder, amount) in &token.balances {
            let on_chain = node.balance_of(&token.address, holder).expect("balanceOf");
            assert_eq!(
                on_chain,
                *amount,
                "{} balance of 0x{}",
                token.symbol,
                hex::encode(holder)
            );
        }
        let sum = token.balances.values().fold(U256::zero(), |acc, b| acc + b);
        assert_eq!(
            sum, token.total_supply,
            "{}: balances add up to the supply",
            token.symbol
        );
    }

    node.mine(3).expect("hardhat_mine");
    assert_eq!(
        node.block_number().expect("block number"),
        expected.last_block + 3
    );
}

#[test]
fn drive_names_an_unreachable_node() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let error =
        hardhat::drive(&format!("http://127.0.0.1:{port}"), 1, 1).expect_err("no node there");
    let message = format!("{error:#}");
    assert!(message.contains("drive.js failed"), "{message}");
    assert!(message.contains("did not answer eth_accounts"), "{message}");
}

#[test]
fn rpc_quotes_the_nodes_error() {
    let node = HardhatNode::start().expect("hardhat node");
    let error = node
        .rpc("eth_noSuchMethod", serde_json::json!([]))
        .expect_err("hardhat rejects unknown methods");
    assert!(
        format!("{error:#}").contains("eth_noSuchMethod"),
        "{error:#}"
    );
}

#[test]
fn generate_rewrites_the_example_archive_byte_for_byte() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("archive.jsonl");
    let expected = dir.path().join("expected.json");
    let status = Command::new("node")
        .arg("generate.js")
        .arg("--out")
        .arg(&out)
        .arg("--expected")
        .arg(&expected)
        .current_dir(hardhat::ethereum_dir())
        .status()
        .expect("run node generate.js (scripts/setup.sh installs Node.js and the packages)");
    assert!(status.success(), "generate.js failed: {status}");
    let written = std::fs::read(&out).expect("generated archive");
    let committed = std::fs::read(data_path(ARCHIVE)).expect("checked-in archive");
    assert!(
        written == committed,
        "generate.js wrote a different archive ({} bytes vs {} checked in): regenerate it with \
         `cd examples/ethereum && npm run generate` and commit both files",
        written.len(),
        committed.len()
    );
    assert!(
        std::fs::read(&expected).expect("generated expectation")
            == std::fs::read(data_path(ARCHIVE_EXPECTED)).expect("checked-in expectation"),
        "generate.js wrote a different expectation file: regenerate both with `cd examples/ethereum && npm run \
         generate` and commit them"
    );
}

fn field<'a>(value: &'a Value, name: &str) -> &'a Value {
    value
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {value}"))
}

fn text<'a>(value: &'a Value, name: &str) -> &'a str {
    field(value, name)
        .as_str()
        .unwrap_or_else(|| panic!("{name} is not a string in {value}"))
}

fn number(value: &Value, name: &str) -> u64 {
    hardhat::quantity(field(value, name)).expect("quantity")
}

/// The address in the last 20 bytes of a 32-byte topic.
fn topic_address(topic: &str) -> Address {
    hardhat::address(&format!("0x{}", &topic[26..])).expect("address topic")
}

/// Replays the archive's ERC-20 `Transfer` logs (three topics, successful transactions) into balances, as an
/// indexer of the archive would, and compares them with what `drive.js` read from the contracts.
#[test]
fn example_archive_holds_the_expected_balances() {
    let expected = Expected::from_json(
        &std::fs::read_to_string(data_path(ARCHIVE_EXPECTED)).expect("expectation"),
    )
    .expect("parse expectation");
    let archive = std::fs::read_to_string(data_path(ARCHIVE)).expect("archive");

    let mut balances: BTreeMap<Address, BTreeMap<Address, U256>> = BTreeMap::new();
    let mut supply: BTreeMap<Address, U256> = BTreeMap::new();
    let mut transfer_logs: BTreeMap<Address, u64> = BTreeMap::new();
    let (mut parent, mut blocks, mut empty_blocks, mut reverted, mut nft_logs, mut logs) =
        (String::new(), 0u64, 0, 0, 0, 0);
    for (i, line) in archive.lines().enumerate() {
        let entry: Value = serde_json::from_str(line).expect("archive line is JSON");
        let block = field(&entry, "block");
        assert_eq!(
            number(block, "number"),
            i as u64 + 1,
            "blocks run from 1 without gaps"
        );
        if i > 0 {
            assert_eq!(
                text(block, "parentHash"),
                parent,
                "block {} follows the one before",
                i + 1
            );
        }
        parent = text(block, "hash").to_string();
        blocks += 1;
        let txs = field(block, "transactions")
            .as_array()
            .expect("full transactions");
        let receipts = field(&entry, "receipts").as_array().expect("receipts");
        assert_eq!(
            txs.len(),
            receipts.len(),
            "one receipt per transaction in block {}",
            i + 1
        );
        empty_blocks += usize::from(txs.is_empty());
        for (tx, receipt) in txs.iter().zip(receipts) {
            assert_eq!(
                text(tx, "hash"),
                text(receipt, "transactionHash"),
                "receipts in transaction order"
            );
            let receipt_logs = field(receipt, "logs").as_array().expect("logs");
            logs += receipt_logs.len();
            if text(receipt, "status") != "0x1" {
                reverted += 1;
                assert!(
                    receipt_logs.is_empty(),
                    "a reverted transaction has no logs"
                );
                continue;
            }
            for log in receipt_logs {
                let topics: Vec<&str> = field(log, "topics")
                    .as_array()
                    .expect("topics")
                    .iter()
                    .map(|t| t.as_str().expect("topic"))
                    .collect();
                if topics.first() != Some(&TRANSFER_TOPIC) {
                    continue;
                }
                let token = hardhat::address(text(log, "address")).expect("log address");
                if topics.len() == 4 {
                    assert_eq!(
                        token, expected.collectible,
                        "only the ERC-721 logs four-topic transfers"
                    );
                    nft_logs += 1;
                    continue;
                }
                let (from, to) = (topic_address(topics[1]), topic_address(topics[2]));
                let data = hex::decode(&text(log, "data")[2..]).expect("log data");
                let amount = U256::from_big_endian(&data);
                *transfer_logs.entry(token).or_default() += 1;
                let held = balances.entry(token).or_default();
                if from == [0; 20] {
                    *supply.entry(token).or_default() += amount;
                } else {
                    let balance = held.entry(from).or_default();
                    *balance = balance.checked_sub(amount).expect("no transfer overdraws");
                }
                if to == [0; 20] {
                    let total = supply.entry(token).or_default();
                    *total = total
                        .checked_sub(amount)
                        .expect("no burn exceeds the supply");
                } else {
                    *held.entry(to).or_default() += amount;
                }
            }
        }
    }

    assert_eq!(blocks, expected.last_block);
    assert_eq!(expected.tokens.len(), 2);
    for token in &expected.tokens {
        assert_eq!(
            balances[&token.address], token.balances,
            "{} balances",
            token.symbol
        );
        assert_eq!(
            supply[&token.address], token.total_supply,
            "{} supply",
            token.symbol
        );
        assert_eq!(
            transfer_logs[&token.address], token.transfer_logs,
            "{} transfer logs",
            token.symbol
        );
    }
    // What the README promises the file exercises.
    assert!(empty_blocks > 0, "no empty block");
    assert!(reverted > 0, "no reverted transaction");
    assert!(nft_logs > 0, "no ERC-721 transfer");
    assert!(logs > 2_000, "only {logs} logs");
}
