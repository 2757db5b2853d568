//! erc20-transfers against the mock host, one hand-made log at a time.

use erc20_transfers::{
    BALANCES, BalanceRecord, MANUSCRIPT, StateKey, TRANSFER_TOPIC, TRANSFERS, Transfer,
    parse_transfer_key, transfer_key,
};
use manuscript_sdk::prelude::*;
use manuscript_sdk::testing::{MockHost, Outcome};

const TOKEN: Address = [0x70; 20];
const ALICE: Address = [0xa1; 20];
const BOB: Address = [0xb0; 20];
const ZERO: Address = [0; 20];

fn topic(address: Address) -> Hash32 {
    let mut t = [0u8; 32];
    t[12..].copy_from_slice(&address);
    t
}

fn amount(value: u64) -> Vec<u8> {
    let mut data = vec![0u8; 32];
    U256::from(value).write_as_big_endian(&mut data);
    data
}

fn transfer_log(block: u64, log_index: u32, from: Address, to: Address, value: u64) -> EthLog {
    EthLog {
        address: TOKEN,
        topics: vec![TRANSFER_TOPIC, topic(from), topic(to)],
        data: amount(value),
        block_number: block,
        block_timestamp: Some(1_700_000_000 + block * 12),
        transaction_hash: [block as u8; 32],
        transaction_index: 0,
        log_index,
        removed: false,
    }
}

fn balance(host: &MockHost, holder: Address) -> U256 {
    host.get(&StateKey::Balance(TOKEN, holder))
        .unwrap_or_default()
}

#[test]
fn mint_then_transfer_updates_balances_counts_and_datasets() {
    let mut host = MockHost::new();
    host.process(&MANUSCRIPT, &transfer_log(10, 0, ZERO, ALICE, 1_000))
        .expect_success();
    host.process(&MANUSCRIPT, &transfer_log(10, 3, ALICE, BOB, 250))
        .expect_success();

    assert_eq!(balance(&host, ALICE), U256::from(750));
    assert_eq!(balance(&host, BOB), U256::from(250));
    assert_eq!(
        balance(&host, ZERO),
        U256::zero(),
        "a mint does not debit the zero address"
    );
    assert_eq!(
        host.get::<_, U256>(&StateKey::Supply(TOKEN)),
        Some(U256::from(1_000))
    );
    assert_eq!(
        host.get::<_, u64>(&StateKey::TokenTransfers(TOKEN)),
        Some(2)
    );
    assert_eq!(
        host.get::<_, u64>(&StateKey::HolderTransfers(TOKEN, ALICE)),
        Some(2)
    );
    assert_eq!(
        host.get::<_, u64>(&StateKey::HolderTransfers(TOKEN, BOB)),
        Some(1)
    );

    let transfers = host.dataset_as::<[u8; 12], Transfer>(TRANSFERS);
    assert_eq!(transfers.len(), 2);
    assert_eq!(parse_transfer_key(&transfers[1].0), (10, 3));
    assert_eq!(
        transfers[1].1,
        Transfer {
            token: TOKEN,
            from: ALICE,
            to: BOB,
            value: U256::from(250),
            transaction_hash: [10; 32]
        }
    );
    let balances = host.dataset_as::<(Address, Address), BalanceRecord>(BALANCES);
    assert_eq!(
        balances,
        vec![
            (
                (TOKEN, ALICE),
                BalanceRecord {
                    balance: U256::from(750),
                    transfers: 2
                }
            ),
            (
                (TOKEN, BOB),
                BalanceRecord {
                    balance: U256::from(250),
                    transfers: 1
                }
            ),
        ]
    );
}

#[test]
fn transfer_keys_sort_in_chain_order() {
    let keys = [
        (1u64, 500u32),
        (2, 0),
        (2, 1),
        (256, 0),
        (u64::MAX, u32::MAX),
    ];
    let encoded: Vec<[u8; 12]> = keys.iter().map(|&(b, i)| transfer_key(b, i)).collect();
    assert!(encoded.windows(2).all(|w| w[0] < w[1]));
    for (k, e) in keys.iter().zip(&encoded) {
        assert_eq!(parse_transfer_key(e), *k);
    }
}

#[test]
fn underflow_fails_and_keeps_state() {
    let mut host = MockHost::new();
    host.process(&MANUSCRIPT, &transfer_log(1, 0, ZERO, ALICE, 100))
        .expect_success();
    let outcome = host.process(&MANUSCRIPT, &transfer_log(2, 0, ALICE, BOB, 101));
    match &outcome {
        Outcome::Error(message) => {
            assert!(message.starts_with("insufficient balance"), "{message}")
        }
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(balance(&host, ALICE), U256::from(100));
    assert_eq!(balance(&host, BOB), U256::zero());
    assert_eq!(host.dataset(TRANSFERS).len(), 1);
    assert_eq!(
        host.get::<_, u64>(&StateKey::TokenTransfers(TOKEN)),
        Some(1)
    );
}

#[test]
fn burns_reduce_supply_without_crediting_zero() {
    let mut host = MockHost::new();
    host.process(&MANUSCRIPT, &transfer_log(1, 0, ZERO, ALICE, 100))
        .expect_success();
    host.process(&MANUSCRIPT, &transfer_log(2, 0, ALICE, ZERO, 40))
        .expect_success();
    assert_eq!(balance(&host, ALICE), U256::from(60));
    assert_eq!(balance(&host, ZERO), U256::zero());
    assert_eq!(
        host.get::<_, U256>(&StateKey::Supply(TOKEN)),
        Some(U256::from(60))
    );
}

#[test]
fn self_transfer_keeps_balance_and_counts_once() {
    let mut host = MockHost::new();
    host.process(&MANUSCRIPT, &transfer_log(1, 0, ZERO, ALICE, 100))
        .expect_success();
    host.process(&MANUSCRIPT, &transfer_log(2, 0, ALICE, ALICE, 70))
        .expect_success();
    assert_eq!(balance(&host, ALICE), U256::from(100));
    assert_eq!(
        host.get::<_, u64>(&StateKey::HolderTransfers(TOKEN, ALICE)),
        Some(2)
    );
    let outcome = host.process(&MANUSCRIPT, &transfer_log(3, 0, ALICE, ALICE, 101));
    assert!(matches!(outcome, Outcome::Error(_)), "{outcome:?}");
}

#[test]
fn non_transfers_are_skipped() {
    let mut host = MockHost::new();
    host.process(&MANUSCRIPT, &transfer_log(1, 0, ZERO, ALICE, 100))
        .expect_success();
    let state_before = host.state().clone();

    let mut erc721 = transfer_log(2, 0, ALICE, BOB, 0);
    erc721.topics.push(topic([7; 20]));
    erc721.data.clear();
    let mut approval = transfer_log(2, 1, ALICE, BOB, 5);
    approval.topics[0] = [0x8c; 32];
    let mut removed = transfer_log(2, 2, ALICE, BOB, 5);
    removed.removed = true;
    let mut short_data = transfer_log(2, 3, ALICE, BOB, 5);
    short_data.data.truncate(31);
    let mut no_topics = transfer_log(2, 4, ALICE, BOB, 5);
    no_topics.topics.clear();

    for log in [erc721, approval, removed, short_data, no_topics] {
        host.process(&MANUSCRIPT, &log).expect_success();
    }
    assert_eq!(host.state(), &state_before);
    assert_eq!(host.dataset(TRANSFERS).len(), 1);
}

#[test]
fn manifest_describes_the_manuscript() {
    let m = MANUSCRIPT.manifest();
    assert_eq!(m.name, "erc20-transfers");
    assert_eq!(m.sources, vec!["ethereum.logs"]);
    assert_eq!(m.datasets, vec![TRANSFERS, BALANCES]);
}
