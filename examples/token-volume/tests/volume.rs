//! token-volume against the mock host.

use manuscript_sdk::prelude::*;
use manuscript_sdk::sources::json::read_jsonl_or_array;
use manuscript_sdk::testing::{LogChain, MockHost};
use std::collections::BTreeMap;
use token_volume::{HOURLY_VOLUME, HourlyVolume, MANUSCRIPT, bucket_key, erc20_value};

const TOKEN: Address = [0x70; 20];

/// A transfer of `value` in a block stamped `timestamp`.
fn log(timestamp: u64, value: u64) -> EthLog {
    LogChain::starting_at(1, timestamp).erc20_transfer(TOKEN, [1; 20], [2; 20], U256::from(value))
}

#[test]
fn buckets_by_hour_and_sums() {
    let mut host = MockHost::new();
    for (t, v) in [(7200, 5), (10_799, 7), (10_800, 11)] {
        host.process(&MANUSCRIPT, &log(t, v)).expect_success();
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
fn buckets_by_the_source_block_time_not_the_cvm_block_time() {
    let mut host = MockHost::new().with_block(1, 9 * 3600 * 1000);
    host.process(&MANUSCRIPT, &log(5 * 3600 + 1, 3))
        .expect_success();
    let buckets = host.dataset_as::<(Address, [u8; 8]), HourlyVolume>(HOURLY_VOLUME);
    assert_eq!(buckets.len(), 1);
    assert_eq!(buckets[0].0, bucket_key(&TOKEN, 5));
}

#[test]
fn skips_non_erc20_logs() {
    let mut host = MockHost::new();
    let mut nft = log(0, 1);
    nft.topics.push([3; 32]);
    let mut short = log(0, 1);
    short.data.pop();
    let mut approval = log(0, 1);
    approval.topics[0] = [0x8c; 32];
    for l in [nft, short, approval] {
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
