//! token-volume against the mock host.

use manuscript_sdk::prelude::*;
use manuscript_sdk::sources::json::read_jsonl_or_array;
use manuscript_sdk::testing::MockHost;
use std::collections::BTreeMap;
use token_volume::{
    HOURLY_VOLUME, HourlyVolume, MANUSCRIPT, TRANSFER_TOPIC, bucket_key, erc20_value,
};

const TOKEN: Address = [0x70; 20];

fn log(timestamp: Option<u64>, value: u64) -> EthLog {
    let mut data = vec![0u8; 32];
    U256::from(value).write_as_big_endian(&mut data);
    EthLog {
        address: TOKEN,
        topics: vec![TRANSFER_TOPIC, [1; 32], [2; 32]],
        data,
        block_number: 1,
        block_timestamp: timestamp,
        transaction_hash: [0; 32],
        transaction_index: 0,
        log_index: 0,
        removed: false,
    }
}

#[test]
fn buckets_by_hour_and_sums() {
    let mut host = MockHost::new();
    for (t, v) in [(7200, 5), (10_799, 7), (10_800, 11)] {
        host.process(&MANUSCRIPT, &log(Some(t), v)).expect_success();
    }
    let buckets = host.dataset_as::<(Address, [u8; 8]), HourlyVolume>(HOURLY_VOLUME);
    assert_eq!(
        buckets,
        vec![
            (
                bucket_key(&TOKEN, 2),
                HourlyVolume {
                    volume: U256::from(12),
                    transfers: 2
                }
            ),
            (
                bucket_key(&TOKEN, 3),
                HourlyVolume {
                    volume: U256::from(11),
                    transfers: 1
                }
            ),
        ]
    );
    assert_eq!(
        host.get(&bucket_key(&TOKEN, 2)),
        Some(HourlyVolume {
            volume: U256::from(12),
            transfers: 2
        })
    );
}

#[test]
fn missing_timestamp_falls_back_to_block_time() {
    let mut host = MockHost::new().with_block(1, 5 * 3600 * 1000 + 999);
    host.process(&MANUSCRIPT, &log(None, 3)).expect_success();
    assert_eq!(
        host.get::<_, HourlyVolume>(&bucket_key(&TOKEN, 5))
            .map(|b| b.transfers),
        Some(1)
    );
}

#[test]
fn skips_non_erc20_logs() {
    let mut host = MockHost::new();
    let mut removed = log(Some(0), 1);
    removed.removed = true;
    let mut nft = log(Some(0), 1);
    nft.topics.push([3; 32]);
    for l in [removed, nft] {
        assert_eq!(erc20_value(&l), None);
        host.process(&MANUSCRIPT, &l).expect_success();
    }
    assert!(host.state().is_empty());
}

#[test]
fn example_data_volume_adds_up() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/erc20-logs.jsonl");
    let values = read_jsonl_or_array(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut host = MockHost::new();
    let mut expected: BTreeMap<Address, (U256, u64)> = BTreeMap::new();
    for v in &values {
        let log = EthLog::from_json(v).unwrap();
        if let Some(value) = erc20_value(&log) {
            let e = expected.entry(log.address).or_default();
            e.0 += value;
            e.1 += 1;
        }
        host.process(&MANUSCRIPT, &log).expect_success();
    }
    let mut totals: BTreeMap<Address, (U256, u64)> = BTreeMap::new();
    let buckets = host.dataset_as::<(Address, [u8; 8]), HourlyVolume>(HOURLY_VOLUME);
    for ((token, _), bucket) in &buckets {
        let t = totals.entry(*token).or_default();
        t.0 += bucket.volume;
        t.1 += bucket.transfers;
    }
    assert_eq!(totals, expected);
    assert_eq!(expected.len(), 8);
    // The example data spans about a day of blocks.
    assert!(buckets.len() > 8 * 12, "{} buckets", buckets.len());
}
