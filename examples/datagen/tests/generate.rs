//! Determinism and shape of the generated logs.

use datagen::{BLOCK_INTERVAL, Config, event_topic, generate, to_jsonl};
use std::collections::BTreeSet;

fn quantity(s: &str) -> u64 {
    u64::from_str_radix(s.strip_prefix("0x").expect("0x prefix"), 16).expect("hex quantity")
}

#[test]
fn defaults_reproduce_the_committed_file() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/erc20-logs.jsonl");
    let committed = std::fs::read_to_string(path).expect("examples/data/erc20-logs.jsonl");
    let regenerated = to_jsonl(&generate(&Config::default()));
    assert!(
        committed == regenerated,
        "examples/data/erc20-logs.jsonl is stale: run `cargo run -p datagen -- --out examples/data/erc20-logs.jsonl`"
    );
}

#[test]
fn seeds_and_counts_are_honoured() {
    let a = generate(&Config {
        count: 300,
        seed: 1,
    });
    let b = generate(&Config {
        count: 300,
        seed: 2,
    });
    assert_eq!(a.len(), 300);
    assert_ne!(a, b);
    assert_eq!(
        a,
        generate(&Config {
            count: 300,
            seed: 1
        })
    );
    assert!(generate(&Config { count: 0, seed: 1 }).is_empty());
}

#[test]
fn erc20_transfer_topic_matches_the_manuscript() {
    assert_eq!(
        event_topic("Transfer(address,address,uint256)"),
        erc20_transfers::TRANSFER_TOPIC
    );
}

#[test]
fn chain_order_and_mix_of_logs() {
    let logs = generate(&Config::default());
    let transfer = format!(
        "0x{}",
        hex::encode(event_topic("Transfer(address,address,uint256)"))
    );
    let approval = format!(
        "0x{}",
        hex::encode(event_topic("Approval(address,address,uint256)"))
    );
    let zero_value = format!("0x{}", "0".repeat(64));
    let mut previous: Option<(u64, u64, u64, String)> = None;
    let (mut erc20, mut erc721, mut approvals, mut zero_values) = (0, 0, 0, 0);
    let mut tokens = BTreeSet::new();
    for log in &logs {
        let (block, time, index) = (
            quantity(&log.block_number),
            quantity(&log.block_timestamp),
            quantity(&log.log_index),
        );
        assert_eq!(log.block_hash.len(), 66);
        if let Some((pb, pt, pi, ph)) = &previous {
            assert!(
                block > *pb && index == 0 || block == *pb && index == pi + 1,
                "{log:?}"
            );
            assert_eq!(time - pt, (block - pb) * BLOCK_INTERVAL);
            assert_eq!(block == *pb, log.block_hash == *ph, "one hash per block");
        }
        previous = Some((block, time, index, log.block_hash.clone()));
        assert_eq!(log.address.len(), 42);
        match (
            log.topics[0] == transfer,
            log.topics[0] == approval,
            log.topics.len(),
        ) {
            (true, _, 3) if log.data == zero_value => zero_values += 1,
            (true, _, 3) => {
                erc20 += 1;
                tokens.insert(log.address.clone());
                assert_eq!(log.data.len(), 66);
            }
            (true, _, 4) => erc721 += 1,
            (_, true, 3) => approvals += 1,
            other => panic!("unexpected log kind {other:?}"),
        }
    }
    assert_eq!(tokens.len(), datagen::TOKENS);
    assert!(erc20 > 4_000, "{erc20}");
    assert!(
        erc721 > 100 && approvals > 100 && zero_values > 10,
        "{erc721} {approvals} {zero_values}"
    );
}
