//! Runs the whole example data file through the mock host and checks invariants computed
//! independently from the JSON.

use erc20_transfers::{
    BALANCES, BalanceRecord, MANUSCRIPT, StateKey, TRANSFERS, Transfer, parse_transfer_key,
};
use manuscript_sdk::prelude::*;
use manuscript_sdk::sources::json::read_jsonl_or_array;
use manuscript_sdk::testing::MockHost;
use serde_json::Value;
use std::collections::BTreeMap;

const TRANSFER_TOPIC_HEX: &str =
    "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

fn load() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/erc20-logs.jsonl");
    read_jsonl_or_array(&std::fs::read_to_string(path).expect("example data"))
        .expect("valid JSON Lines")
}

fn hex_bytes(s: &str) -> Vec<u8> {
    s.strip_prefix("0x")
        .unwrap()
        .as_bytes()
        .chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect()
}

fn address(s: &str) -> Address {
    let bytes = hex_bytes(s);
    bytes[bytes.len() - 20..].try_into().unwrap()
}

/// Per token: (valid ERC-20 transfers, minted - burned), straight from the JSON.
fn expected(values: &[Value]) -> (BTreeMap<Address, u64>, BTreeMap<Address, U256>, u64) {
    let (mut counts, mut supply, mut total) = (BTreeMap::new(), BTreeMap::new(), 0);
    for v in values {
        let topics: Vec<&str> = v["topics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        if v["removed"] == true || topics.len() != 3 || topics[0] != TRANSFER_TOPIC_HEX {
            continue;
        }
        let token = address(v["address"].as_str().unwrap());
        let value = U256::from_big_endian(&hex_bytes(v["data"].as_str().unwrap()));
        *counts.entry(token).or_insert(0) += 1;
        total += 1;
        let s = supply.entry(token).or_insert_with(U256::zero);
        if address(topics[1]) == [0; 20] {
            *s += value;
        }
        if address(topics[2]) == [0; 20] {
            *s -= value;
        }
    }
    (counts, supply, total)
}

#[test]
fn whole_file_invariants() {
    let values = load();
    assert!(values.len() >= 1_000, "{} logs", values.len());
    let mut host = MockHost::new();
    for v in &values {
        let log = EthLog::from_json(v).expect("valid eth_getLogs object");
        host.set_block(log.block_number, log.block_timestamp.unwrap() * 1000);
        let outcome = host.process(&MANUSCRIPT, &log);
        assert!(
            outcome.is_success(),
            "block {} log {}: {outcome:?}",
            log.block_number,
            log.log_index
        );
    }

    let (counts, supply, total) = expected(&values);
    assert_eq!(counts.len(), 8);
    for (token, count) in &counts {
        assert_eq!(
            host.get::<_, u64>(&StateKey::TokenTransfers(*token)),
            Some(*count)
        );
        assert_eq!(
            host.get::<_, U256>(&StateKey::Supply(*token)).as_ref(),
            supply.get(token)
        );
        let balances: Vec<((u8, Address, Address), U256)> =
            host.get_prefix(&(StateKey::BALANCE_TAG, *token));
        assert!(balances.len() > 50, "token has {} holders", balances.len());
        let sum = balances.iter().fold(U256::zero(), |acc, (_, b)| acc + b);
        assert_eq!(sum, supply[token], "sum of balances == minted - burned");
        assert!(
            balances
                .iter()
                .all(|((_, _, holder), _)| *holder != [0; 20])
        );
    }

    // One `transfers` record per valid transfer, in chain order.
    let transfers = host.dataset_as::<[u8; 12], Transfer>(TRANSFERS);
    assert_eq!(transfers.len() as u64, total);
    let positions: Vec<(u64, u32)> = transfers
        .iter()
        .map(|(k, _)| parse_transfer_key(k))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));

    // The `balances` dataset holds the latest balance of every holder in state.
    let balances = host.dataset_as::<(Address, Address), BalanceRecord>(BALANCES);
    for ((token, holder), record) in &balances {
        assert_eq!(
            host.get::<_, U256>(&StateKey::Balance(*token, *holder)),
            Some(record.balance)
        );
        assert_eq!(
            host.get::<_, u64>(&StateKey::HolderTransfers(*token, *holder)),
            Some(record.transfers)
        );
    }
    assert_eq!(
        balances.len(),
        host.state()
            .keys()
            .filter(|k| k[0] == StateKey::BALANCE_TAG)
            .count()
    );
}
