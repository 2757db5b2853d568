//! The JSON-RPC source endpoint against a real hardhat node: ERC-20 style logs from legacy, EIP-2930 and
//! EIP-1559 transactions, several per block, an empty block and a Prague header all convert and verify, and
//! an archive written from the node's answers serves the same blocks. With `CVM_WRITE_ETH_ARCHIVE=<path>` the
//! archive is also written there (how `tests/data/ethereum/hardhat-erc20.jsonl` was made).

mod hardhat;

use std::io::Write;

use cvm_host::sources::ethereum::{
    ArchiveEndpoint, EndpointError, JsonRpcConfig, JsonRpcEndpoint, SourceEndpoint, verify_block,
};
use serde_json::{Value, json};

use hardhat::Hardhat;

/// Runtime: `LOG3(Transfer, caller, calldata[0..32]) with data calldata[32..64]`, an ERC-20 Transfer from
/// the sender to the first argument of the amount in the second. Init code returns it.
const INIT_CODE: &str = "0x6032600c60003960326000f3\
    6020602060003760003533\
    7fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef\
    60206000a300";
const TRANSFER: &str = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

fn word(hex_address_or_amount: &str) -> String {
    format!("{:0>64}", hex_address_or_amount.trim_start_matches("0x"))
}

fn transfer_call(to: &str, amount: u64) -> String {
    format!("0x{}{}", word(to), word(&format!("{amount:x}")))
}

/// Sends `tx` and returns its hash.
fn send(node: &Hardhat, tx: Value) -> String {
    node.rpc("eth_sendTransaction", json!([tx]))
        .as_str()
        .expect("a transaction hash")
        .to_string()
}

/// A transfer as expected in a block: (transaction index, from, to, amount).
type Transfer = (u32, String, String, u64);

struct Activity {
    token: String,
    /// Per block, its transfers in block order: (transaction index, from, to, amount).
    transfers: Vec<(u64, Vec<Transfer>)>,
    latest: u64,
}

/// Block 1 deploys the token; block 2 holds four transactions (three transfers, one plain payment); block 3
/// is empty; block 4 holds two transfers. Hardhat orders a block's transactions by fee, so the expected order
/// is read back from the receipts.
fn drive(node: &Hardhat) -> Activity {
    let accounts: Vec<String> =
        serde_json::from_value(node.rpc("eth_accounts", json!([]))).expect("accounts");
    let deploy = send(
        node,
        json!({"from": accounts[0], "data": INIT_CODE, "gas": "0x100000"}),
    );
    let receipt = node.rpc("eth_getTransactionReceipt", json!([deploy]));
    let token = receipt["contractAddress"]
        .as_str()
        .expect("deployed")
        .to_string();
    assert_eq!(receipt["blockNumber"], json!("0x1"));

    let call = |from: &str, to: &str, amount: u64| json!({"from": from, "to": token, "data": transfer_call(to, amount), "gas": "0x20000"});
    let a = |i: usize| accounts[i].clone();
    node.rpc("evm_setAutomine", json!([false]));
    let mut legacy = call(&a(0), &a(1), 5);
    legacy["gasPrice"] = json!("0x77359400");
    let mut access_list = call(&a(1), &a(2), 7);
    access_list["gasPrice"] = json!("0x77359400");
    access_list["accessList"] = json!([{"address": token, "storageKeys": []}]);
    let block2 = vec![
        (send(node, legacy), a(0), a(1), 5),
        (send(node, access_list), a(1), a(2), 7),
        (send(node, call(&a(3), &a(0), 0)), a(3), a(0), 0),
    ];
    send(node, json!({"from": a(2), "to": a(3), "value": "0x1000"}));
    node.rpc("evm_mine", json!([]));
    node.rpc("evm_mine", json!([]));
    let block4 = vec![
        (send(node, call(&a(4), &a(4), 11)), a(4), a(4), 11),
        (
            send(node, call(&a(5), &a(6), u64::MAX)),
            a(5),
            a(6),
            u64::MAX,
        ),
    ];
    node.rpc("evm_mine", json!([]));
    node.rpc("evm_setAutomine", json!([true]));

    let in_block_order = |sent: Vec<(String, String, String, u64)>| {
        let mut placed: Vec<Transfer> = sent
            .into_iter()
            .map(|(hash, from, to, amount)| {
                let receipt = node.rpc("eth_getTransactionReceipt", json!([hash]));
                let index = receipt["transactionIndex"].as_str().expect("index");
                let index =
                    u32::from_str_radix(index.trim_start_matches("0x"), 16).expect("hex index");
                (index, from, to, amount)
            })
            .collect();
        placed.sort_by_key(|t| t.0);
        placed
    };
    Activity {
        transfers: vec![
            (2, in_block_order(block2)),
            (3, vec![]),
            (4, in_block_order(block4)),
        ],
        token,
        latest: 4,
    }
}

fn address_bytes(hex_address: &str) -> Vec<u8> {
    hex::decode(hex_address.trim_start_matches("0x")).expect("address hex")
}

#[test]
fn json_rpc_endpoint_fetches_and_verifies_hardhat_blocks() {
    let Some(node) = Hardhat::start() else { return };
    let activity = drive(&node);
    let endpoint = JsonRpcEndpoint::new(node.url());

    assert_eq!(endpoint.chain_id().expect("chain id"), 31337);
    assert_eq!(endpoint.latest().expect("latest"), activity.latest);
    let finalized = endpoint.finalized().expect("finalized");
    assert!(
        finalized.is_none_or(|f| f <= activity.latest),
        "{finalized:?}"
    );
    assert!(
        endpoint
            .block(activity.latest + 10)
            .expect("asks")
            .is_none()
    );

    let deploy =
        verify_block(&endpoint.block(1).expect("block 1").expect("present")).expect("verifies");
    assert!(deploy.logs.is_empty());
    for (number, transfers) in &activity.transfers {
        let data = endpoint.block(*number).expect("fetches").expect("present");
        let block = verify_block(&data).unwrap_or_else(|e| panic!("block {number}: {e}"));
        assert_eq!(block.number, *number);
        assert_eq!(block.logs.len(), transfers.len(), "block {number}");
        for (i, (log, (tx_index, from, to, amount))) in block.logs.iter().zip(transfers).enumerate()
        {
            assert_eq!(log.address.as_slice(), address_bytes(&activity.token));
            assert_eq!(hex::encode(log.topics[0]), TRANSFER);
            assert_eq!(log.topics[1][12..], address_bytes(from));
            assert_eq!(log.topics[2][12..], address_bytes(to));
            assert_eq!(
                log.data,
                hex::decode(word(&format!("{amount:x}"))).expect("hex")
            );
            assert_eq!(
                (log.transaction_index, log.log_index),
                (*tx_index, i as u32)
            );
            assert_eq!(
                (log.block_number, log.block_hash),
                (block.number, block.hash)
            );
            assert_eq!(log.block_timestamp, block.timestamp);
        }
    }
    // The example project pins hardfork cancun: the header carries the Cancun fields (blob gas, the parent
    // beacon root), which the conversion encodes (Prague's requests hash is covered by the mainnet vectors).
    let latest = node.rpc("eth_getBlockByNumber", json!(["latest", false]));
    assert!(
        latest
            .get("parentBeaconBlockRoot")
            .is_some_and(|h| h.is_string()),
        "{latest}"
    );
}

#[test]
fn an_archive_written_from_the_node_serves_the_same_blocks() {
    let Some(node) = Hardhat::start() else { return };
    let activity = drive(&node);
    let endpoint = JsonRpcEndpoint::new(node.url());
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    for number in 1..=activity.latest {
        let raw = endpoint
            .raw_block(number)
            .expect("fetches")
            .expect("present");
        writeln!(file, "{}", raw.to_archive_line()).expect("write");
    }
    file.flush().expect("flush");
    let archive = ArchiveEndpoint::open(file.path(), 31337).expect("opens");
    assert_eq!(archive.range(), Some((1, activity.latest)));
    assert_eq!(
        archive.latest().expect("latest"),
        endpoint.latest().expect("latest")
    );
    for number in 1..=activity.latest {
        assert_eq!(
            archive.block(number).expect("reads"),
            endpoint.block(number).expect("fetches"),
            "block {number}"
        );
    }
    if let Some(path) = std::env::var_os("CVM_WRITE_ETH_ARCHIVE") {
        std::fs::copy(file.path(), &path).expect("archive copied");
    }
}

#[test]
fn an_answer_over_the_size_limit_is_refused_with_the_limit_named() {
    let Some(node) = Hardhat::start() else { return };
    drive(&node);
    let endpoint = JsonRpcEndpoint::with_config(
        node.url(),
        JsonRpcConfig {
            max_response_bytes: 300,
            ..JsonRpcConfig::default()
        },
    );
    match endpoint.block(2) {
        Err(error @ EndpointError::BadAnswer { .. }) => {
            let message = error.to_string();
            assert!(message.contains("eth_getBlockByNumber"), "{message}");
            assert!(message.contains("larger than 300 bytes"), "{message}");
        }
        other => panic!("expected an over-limit answer, got {other:?}"),
    }
}
