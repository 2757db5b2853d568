//! Real mainnet blocks: every fork's header layout hashes to the known block hash, and full blocks (before and
//! after Byzantium) verify with the logs their receipts hold.

use alloy_consensus::Header;
use alloy_primitives::keccak256;
use alloy_rlp::Decodable;

use super::Vector;
use crate::sources::ethereum::{EthVerifyError, header_only_check, verify_block, verify_block_as};

#[test]
fn every_fork_header_hashes_to_the_known_block_hash() {
    let vectors = Vector::all();
    let forks: Vec<&str> = vectors.iter().map(|v| v.fork.as_str()).collect();
    // Homestead's vector is a JSON-RPC block (tests/rpc.rs).
    for fork in [
        "frontier",
        "byzantium",
        "london",
        "paris",
        "shanghai",
        "cancun",
        "prague",
    ] {
        assert!(forks.contains(&fork), "no {fork} vector among {forks:?}");
    }
    for v in &vectors {
        let header =
            header_only_check(&v.data()).unwrap_or_else(|e| panic!("{} {}: {e}", v.fork, v.number));
        assert_eq!(header.hash, v.hash(), "{} block {}", v.fork, v.number);
        assert_eq!(header.number, v.number, "{} block {}", v.fork, v.number);
    }
}

/// The optional header fields each fork added are present exactly from that fork on: the vectors exercise
/// every layout alloy's `Header` decodes.
#[test]
fn header_layouts_follow_the_forks() {
    for v in Vector::all() {
        let rlp = v.data().header_rlp;
        let header = Header::decode(&mut rlp.as_slice()).expect("header");
        let from = |fork_number: u64| v.number >= fork_number;
        let name = format!("{} block {}", v.fork, v.number);
        assert_eq!(
            header.base_fee_per_gas.is_some(),
            from(12_965_000),
            "{name}: base fee (London)"
        );
        assert_eq!(
            header.difficulty.is_zero(),
            from(15_537_394),
            "{name}: zero difficulty (Paris)"
        );
        assert_eq!(
            header.withdrawals_root.is_some(),
            from(17_034_870),
            "{name}: withdrawals root (Shanghai)"
        );
        assert_eq!(
            header.blob_gas_used.is_some(),
            from(19_426_587),
            "{name}: blob gas (Cancun)"
        );
        assert_eq!(
            header.requests_hash.is_some(),
            from(22_431_084),
            "{name}: requests hash (Prague)"
        );
    }
}

/// (file, transactions, logs): full blocks before Byzantium (post-state receipts) and after it (status
/// receipts, typed transactions, blob-era header).
const FULL_BLOCKS: [(&str, usize, usize); 4] = [
    ("mainnet-48712-frontier.json", 5, 0),
    ("mainnet-7000000-byzantium.json", 38, 130),
    ("mainnet-15537393-london.json", 1, 1),
    ("mainnet-19463337-cancun.json", 8, 37),
];

#[test]
fn full_mainnet_blocks_verify_with_their_logs() {
    for (file, transactions, logs) in FULL_BLOCKS {
        let v = Vector::load(file);
        let data = v.data();
        let block = verify_as_known(&v);
        assert_eq!(data.transactions.len(), transactions, "{file}");
        assert_eq!(block.logs.len(), logs, "{file}");
        assert_eq!((block.number, block.hash), (v.number, v.hash()), "{file}");
        let header = header_only_check(&data).expect("header");
        assert_eq!(block.receipts_root, header.receipts_root);
        for (i, log) in block.logs.iter().enumerate() {
            assert_eq!(
                log.log_index as usize, i,
                "{file}: log indices count within the block"
            );
            assert_eq!((log.block_number, log.block_hash), (v.number, v.hash()));
            assert_eq!(log.block_timestamp, block.timestamp);
            let tx = &data.transactions[log.transaction_index as usize];
            assert_eq!(
                log.transaction_hash,
                keccak256(tx).0,
                "{file}: log {i}'s transaction"
            );
        }
        let indices: Vec<u32> = block.logs.iter().map(|l| l.transaction_index).collect();
        assert!(indices.is_sorted(), "{file}: logs in transaction order");
    }
}

fn verify_as_known(v: &Vector) -> crate::sources::ethereum::VerifiedEthBlock {
    verify_block_as(&v.data(), v.hash()).unwrap_or_else(|e| panic!("{} {}: {e}", v.fork, v.number))
}

/// Block 7,000,000's first log is the ERC-20 Transfer of its second transaction (`transfer(0x7030…49f1,
/// 0x68155a43676e0000)` sent to token 0x8ad6…6660): the log's fields match the call that caused it.
#[test]
fn a_byzantium_log_matches_the_call_that_emitted_it() {
    let v = Vector::load("mainnet-7000000-byzantium.json");
    let block = verify_as_known(&v);
    let first = &block.logs[0];
    let hex = |s: &str| hex::decode(s).expect("hex");
    assert_eq!(first.transaction_index, 1);
    assert_eq!(
        first.address.as_slice(),
        hex("8ad6739649f1fbf079882c14d27862d5c2206660")
    );
    assert_eq!(
        first.topics[0].as_slice(),
        hex("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")
    );
    assert_eq!(
        first.topics[2][12..],
        hex("703052a1ef835dd5842190e53896672b8f9249f1")
    );
    assert_eq!(first.data[24..], hex("68155a43676e0000"));
    assert_eq!(block.timestamp, 0x5c2d3688);
}

#[test]
fn header_only_blocks_need_their_receipts_for_full_verification() {
    let v = Vector::load("mainnet-22431084-prague.json");
    let data = v.data();
    assert_eq!(header_only_check(&data).expect("header").hash, v.hash());
    match verify_block(&data) {
        Err(EthVerifyError::TransactionsRoot { number, .. }) => assert_eq!(number, v.number),
        other => {
            panic!("expected a transactions root mismatch (no transactions held), got {other:?}")
        }
    }
}
