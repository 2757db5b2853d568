//! Tampered copies of real blocks are refused, each with an error naming the block and what differs.

use alloy_consensus::{Header, ReceiptEnvelope};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{B256, Bytes, Log};
use alloy_rlp::{Decodable, Encodable};
use alloy_trie::root::ordered_trie_root_encoded;

use super::Vector;
use crate::sources::ethereum::{EthBlockData, EthVerifyError, verify_block, verify_block_as};

/// Block 7,000,000: 38 transactions and their receipts with logs.
fn byzantium() -> (Vector, EthBlockData) {
    let v = Vector::load("mainnet-7000000-byzantium.json");
    let data = v.data();
    (v, data)
}

/// The index of the first receipt with a log, and that receipt with its first log's data changed.
fn receipt_with_changed_log(data: &EthBlockData) -> (usize, Vec<u8>) {
    let receipts = data.receipts.as_ref().expect("receipts");
    for (i, raw) in receipts.iter().enumerate() {
        let mut receipt = ReceiptEnvelope::<Log>::decode_2718_exact(raw).expect("receipt");
        if receipt.logs().is_empty() {
            continue;
        }
        let log = &mut receipt
            .as_receipt_with_bloom_mut()
            .expect("receipt")
            .receipt
            .logs[0];
        let mut bytes = log.data.data.to_vec();
        bytes[31] ^= 1;
        log.data = alloy_primitives::LogData::new_unchecked(
            log.data.topics().to_vec(),
            Bytes::from(bytes),
        );
        return (i, receipt.encoded_2718());
    }
    panic!("no receipt with a log");
}

#[test]
fn a_changed_log_breaks_the_receipts_root() {
    let (v, mut data) = byzantium();
    let (i, changed) = receipt_with_changed_log(&data);
    data.receipts.as_mut().expect("receipts")[i] = changed;
    match verify_block(&data) {
        Err(EthVerifyError::ReceiptsRoot { number, hash, .. }) => {
            assert_eq!((number, hash.0), (v.number, v.hash()));
        }
        other => panic!("expected a receipts root mismatch, got {other:?}"),
    }
    let message = verify_block(&data).expect_err("refused").to_string();
    assert!(message.starts_with("block 7000000 0x17aa4118"), "{message}");
    assert!(message.contains("receipts root"), "{message}");
}

/// Rewriting the header's receipts root to match a changed log makes a block consistent in itself, but it is
/// a different block: its hash is not the one committed to.
#[test]
fn a_changed_log_with_a_rewritten_header_is_another_block() {
    let (v, mut data) = byzantium();
    let (i, changed) = receipt_with_changed_log(&data);
    let receipts = data.receipts.as_mut().expect("receipts");
    receipts[i] = changed;
    let mut header = Header::decode(&mut data.header_rlp.as_slice()).expect("header");
    header.receipts_root = ordered_trie_root_encoded(receipts);
    data.header_rlp.clear();
    header.encode(&mut data.header_rlp);

    let forged = verify_block(&data).expect("consistent in itself");
    assert_ne!(forged.hash, v.hash());
    match verify_block_as(&data, v.hash()) {
        Err(EthVerifyError::HashMismatch {
            number,
            expected,
            computed,
        }) => {
            assert_eq!(number, v.number);
            assert_eq!(expected, B256::from(v.hash()));
            assert_eq!(computed, B256::from(forged.hash));
        }
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
}

#[test]
fn a_dropped_receipt_is_named() {
    let (v, mut data) = byzantium();
    data.receipts.as_mut().expect("receipts").remove(5);
    match verify_block(&data) {
        Err(EthVerifyError::ReceiptCount {
            number,
            transactions,
            receipts,
            ..
        }) => assert_eq!((number, transactions, receipts), (v.number, 38, 37)),
        other => panic!("expected a receipt count mismatch, got {other:?}"),
    }
}

#[test]
fn a_dropped_transaction_and_its_receipt_break_both_roots() {
    let (v, mut data) = byzantium();
    data.transactions.remove(5);
    data.receipts.as_mut().expect("receipts").remove(5);
    match verify_block(&data) {
        Err(EthVerifyError::TransactionsRoot { number, count, .. }) => {
            assert_eq!((number, count), (v.number, 37))
        }
        other => panic!("expected a transactions root mismatch, got {other:?}"),
    }
}

#[test]
fn reordered_transactions_break_the_transactions_root() {
    let (v, mut data) = byzantium();
    data.transactions.swap(1, 2);
    data.receipts.as_mut().expect("receipts").swap(1, 2);
    match verify_block(&data) {
        Err(EthVerifyError::TransactionsRoot {
            number,
            header,
            computed,
            ..
        }) => {
            assert_eq!(number, v.number);
            assert_ne!(header, computed);
        }
        other => panic!("expected a transactions root mismatch, got {other:?}"),
    }
}

#[test]
fn reordered_receipts_break_the_receipts_root() {
    let (v, mut data) = byzantium();
    data.receipts.as_mut().expect("receipts").swap(1, 2);
    assert!(matches!(
        verify_block(&data),
        Err(EthVerifyError::ReceiptsRoot { number, .. }) if number == v.number
    ));
}

/// Pre-Byzantium receipts carry a post-state root: changing it breaks the receipts root.
#[test]
fn a_changed_post_state_receipt_is_refused() {
    let v = Vector::load("mainnet-48712-frontier.json");
    let mut data = v.data();
    verify_block(&data).expect("the real block verifies");
    let receipts = data.receipts.as_mut().expect("receipts");
    // A legacy receipt is an RLP list whose first item is the 32-byte post-state root: flip one of its bytes.
    let receipt = &mut receipts[0];
    assert!(
        matches!(receipt[..4], [0xf9, _, _, 0xa0]),
        "list header then a 32-byte string"
    );
    receipt[10] ^= 0xff;
    assert!(matches!(
        verify_block(&data),
        Err(EthVerifyError::ReceiptsRoot { number: 48712, .. })
    ));
}

#[test]
fn missing_receipts_are_named_unless_the_header_says_there_are_none() {
    let (v, mut data) = byzantium();
    data.receipts = None;
    assert!(matches!(
        verify_block(&data),
        Err(EthVerifyError::ReceiptsMissing { number, .. }) if number == v.number
    ));
    let empty = Vector::load("mainnet-1-frontier.json").data();
    assert_eq!(empty.receipts, None);
    let block = verify_block(&empty).expect("block 1 has no transactions and so no receipts");
    assert!(block.logs.is_empty());
}

#[test]
fn bytes_after_the_header_are_refused() {
    let (_, mut data) = byzantium();
    data.header_rlp.push(0);
    let message = verify_block(&data).expect_err("refused").to_string();
    assert!(message.contains("1 bytes follow the header"), "{message}");
}

#[test]
fn a_receipt_that_does_not_decode_is_named() {
    // A block whose receipts root commits to a byte string that is no receipt: build the header to match.
    let (_, mut data) = byzantium();
    let receipts = data.receipts.as_mut().expect("receipts");
    receipts[3] = vec![0x7f, 1, 2, 3];
    let mut header = Header::decode(&mut data.header_rlp.as_slice()).expect("header");
    header.receipts_root = ordered_trie_root_encoded(receipts);
    data.header_rlp.clear();
    header.encode(&mut data.header_rlp);
    match verify_block(&data) {
        Err(EthVerifyError::Receipt { number, index, .. }) => {
            assert_eq!((number, index), (7_000_000, 3))
        }
        other => panic!("expected an undecodable receipt, got {other:?}"),
    }
}

#[test]
fn block_data_scale_roundtrip() {
    use parity_scale_codec::{Decode, Encode};
    let (_, data) = byzantium();
    let bytes = data.encode();
    assert_eq!(
        EthBlockData::decode(&mut bytes.as_slice()).expect("decodes"),
        data
    );
    assert_eq!(
        data.hash(),
        Vector::load("mainnet-7000000-byzantium.json").hash()
    );
}
