//! The JSON-RPC shapes convert into the block's canonical encodings, and a JSON that does not encode to the
//! hashes it claims is refused with the block and the part named.

use serde_json::{Value, json};

use super::data_dir;
use crate::sources::ethereum::{
    ArchiveLine, ConvertError, EthBlockData, EthVerifyError, RpcBlock, RpcReceipt,
    header_only_check, verify_block,
};

/// Mainnet block 2,000,004 (Homestead) as `eth_getBlockByNumber(n, true)` answers it: four legacy
/// transactions, two of them signed before EIP-155 (no chain id).
fn homestead() -> Value {
    let text = std::fs::read_to_string(data_dir().join("mainnet-2000004-homestead.rpc.json"))
        .expect("vector");
    serde_json::from_str(&text).expect("JSON")
}

fn convert(block: Value, receipts: Option<Vec<Value>>) -> Result<EthBlockData, ConvertError> {
    let block: RpcBlock = serde_json::from_value(block).map_err(|e| ConvertError::Json {
        what: "block".into(),
        reason: e.to_string(),
    })?;
    let receipts = receipts.map(|r| {
        r.into_iter()
            .map(|r| serde_json::from_value::<RpcReceipt>(r).expect("receipt JSON"))
            .collect()
    });
    EthBlockData::from_rpc(block, receipts)
}

#[test]
fn a_homestead_block_converts_and_its_transactions_root_matches() {
    let data = convert(homestead(), None).expect("converts");
    let header = header_only_check(&data).expect("header");
    assert_eq!(header.number, 2_000_004);
    assert_eq!(
        hex::encode(header.hash),
        "7250d1dc6c4b7c1a51f13fb02a92cc60ab1b9592e457ad60813356c656593cc2"
    );
    assert_eq!(data.transactions.len(), 4);
    // The transactions root is checked first: without receipts the block fails only for lack of them.
    assert!(matches!(
        verify_block(&data),
        Err(EthVerifyError::ReceiptsMissing {
            number: 2_000_004,
            ..
        })
    ));
}

#[test]
fn an_altered_transaction_is_named() {
    let mut block = homestead();
    block["transactions"][2]["value"] = json!("0x1");
    match convert(block, None) {
        Err(ConvertError::TransactionHash { number, index, .. }) => {
            assert_eq!((number, index), (2_000_004, 2))
        }
        other => panic!("expected a transaction hash mismatch, got {other:?}"),
    }
}

#[test]
fn an_altered_header_is_named() {
    let mut block = homestead();
    block["gasUsed"] = json!("0x495dc");
    let error = convert(block, None).expect_err("refused");
    assert!(
        matches!(
            error,
            ConvertError::HeaderHash {
                number: 2_000_004,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("does not encode"), "{error}");
}

#[test]
fn a_block_without_full_transactions_is_refused_with_what_to_ask_for() {
    let mut block = homestead();
    let hashes: Vec<Value> = block["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .map(|tx| tx["hash"].clone())
        .collect();
    block["transactions"] = Value::Array(hashes);
    let line = json!({"block": block, "receipts": null}).to_string();
    let error = ArchiveLine::parse(&line).expect_err("refused");
    assert!(
        error.to_string().contains("eth_getBlockByNumber(n, true)"),
        "{error}"
    );
}

#[test]
fn receipts_must_match_the_transactions_in_number() {
    match convert(homestead(), Some(Vec::new())) {
        Err(ConvertError::ReceiptCount {
            number,
            transactions,
            receipts,
        }) => assert_eq!((number, transactions, receipts), (2_000_004, 4, 0)),
        other => panic!("expected a receipt count mismatch, got {other:?}"),
    }
}

/// Block 2 of the hardhat archive: four transactions with receipts.
fn hardhat_block_2() -> (Value, Vec<Value>) {
    let text = std::fs::read_to_string(data_dir().join("hardhat-erc20.jsonl")).expect("archive");
    let line: Value = serde_json::from_str(text.lines().nth(1).expect("line 2")).expect("JSON");
    let receipts = line["receipts"].as_array().expect("receipts").clone();
    (line["block"].clone(), receipts)
}

#[test]
fn receipts_convert_and_verify_in_transaction_order() {
    let (block, receipts) = hardhat_block_2();
    let data = convert(block, Some(receipts)).expect("converts");
    assert_eq!(verify_block(&data).expect("verifies").logs.len(), 3);
}

#[test]
fn receipts_out_of_transaction_order_are_named() {
    let (block, mut receipts) = hardhat_block_2();
    receipts.swap(0, 1);
    match convert(block, Some(receipts)) {
        Err(ConvertError::ReceiptOrder { number, index, .. }) => {
            assert_eq!((number, index), (2, 0))
        }
        other => panic!("expected a receipt order error, got {other:?}"),
    }
}
