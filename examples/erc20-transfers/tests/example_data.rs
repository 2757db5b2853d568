//! Runs the whole example data file through the mock host and checks the datasets against a reference computed
//! independently from the JSON. The data starts at the tokens' deployment (every token's first logs are mints),
//! so net flows are balances and net minted amounts are supplies.

use erc20_transfers::{
    BALANCES, BalanceRecord, MANUSCRIPT, SUPPLY, SignedAmount, StateKey, SupplyRecord, TRANSFERS,
    Transfer, parse_transfer_key,
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

fn block_number(v: &Value) -> u64 {
    u64::from_str_radix(&v["blockNumber"].as_str().unwrap()[2..], 16).unwrap()
}

/// What the tokens' own ledgers hold after the file, straight from the JSON.
#[derive(Default)]
struct Reference {
    /// Per token: transfers and total supply.
    tokens: BTreeMap<Address, (u64, U256)>,
    /// Per (token, holder): transfers taken part in and balance.
    holders: BTreeMap<(Address, Address), (u64, U256)>,
    transfers: u64,
}

fn reference(values: &[Value]) -> Reference {
    let mut r = Reference::default();
    for v in values {
        let topics: Vec<&str> = v["topics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        if topics.len() != 3 || topics[0] != TRANSFER_TOPIC_HEX {
            continue;
        }
        let token = address(v["address"].as_str().unwrap());
        let value = U256::from_big_endian(&hex_bytes(v["data"].as_str().unwrap()));
        let (from, to) = (address(topics[1]), address(topics[2]));
        r.transfers += 1;
        let t = r.tokens.entry(token).or_default();
        t.0 += 1;
        if from == [0; 20] {
            t.1 += value;
        } else {
            let h = r.holders.entry((token, from)).or_default();
            h.0 += 1;
            h.1 =
                h.1.checked_sub(value)
                    .expect("the example data never overdraws");
        }
        if to == [0; 20] {
            t.1 -= value;
        } else {
            let h = r.holders.entry((token, to)).or_default();
            if from != to {
                h.0 += 1;
            }
            h.1 += value;
        }
    }
    r
}

#[test]
fn whole_file_gives_the_ledgers_balances_and_supplies() {
    let values = load();
    assert!(values.len() >= 1_000, "{} logs", values.len());
    let mut host = MockHost::new();
    for v in &values {
        let log = EthLog::from_json(v).expect("valid JSON-RPC log");
        host.set_block(log.block_number, log.block_timestamp * 1000);
        let outcome = host.process(&MANUSCRIPT, &log);
        assert!(
            outcome.is_success(),
            "block {} log {}: {outcome:?}",
            log.block_number,
            log.log_index
        );
    }
    let since = block_number(&values[0]);
    let expected = reference(&values);
    assert_eq!(expected.tokens.len(), 8);
    assert!(
        expected.holders.len() > 8 * 50,
        "{} holders",
        expected.holders.len()
    );

    let supply = host.dataset_as::<Address, SupplyRecord>(SUPPLY);
    let supply_expected: Vec<(Address, SupplyRecord)> = expected
        .tokens
        .iter()
        .map(|(token, (transfers, total))| {
            let record = SupplyRecord {
                net_minted: SignedAmount::positive(*total),
                transfers: *transfers,
                since,
            };
            (*token, record)
        })
        .collect();
    assert_eq!(supply, supply_expected);

    let balances = host.dataset_as::<(Address, Address), BalanceRecord>(BALANCES);
    let balances_expected: Vec<((Address, Address), BalanceRecord)> = expected
        .holders
        .iter()
        .map(|(key, (transfers, balance))| {
            let record = BalanceRecord {
                net_flow: SignedAmount::positive(*balance),
                transfers: *transfers,
                since,
            };
            (*key, record)
        })
        .collect();
    assert_eq!(balances, balances_expected);
    // The dataset holds what state holds.
    for ((token, holder), record) in &balances {
        assert_eq!(
            host.get::<_, BalanceRecord>(&StateKey::Balance(*token, *holder))
                .as_ref(),
            Some(record)
        );
    }

    // One `transfers` record per transfer, in chain order.
    let transfers = host.dataset_as::<[u8; 12], Transfer>(TRANSFERS);
    assert_eq!(transfers.len() as u64, expected.transfers);
    let positions: Vec<(u64, u32)> = transfers
        .iter()
        .map(|(k, _)| parse_transfer_key(k))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
}
