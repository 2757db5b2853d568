//! erc20-transfers against the mock host, one hand-made log at a time.

use erc20_transfers::{
    BALANCES, BalanceRecord, MANUSCRIPT, SUPPLY, SignedAmount, StateKey, SupplyRecord, TRANSFERS,
    Transfer, parse_transfer_key, transfer_key,
};
use manuscript_sdk::prelude::*;
use manuscript_sdk::sources::address_topic;
use manuscript_sdk::testing::{LogChain, MockHost};

const TOKEN: Address = [0x70; 20];
const OTHER_TOKEN: Address = [0x71; 20];
const ALICE: Address = [0xa1; 20];
const BOB: Address = [0xb0; 20];
const CAROL: Address = [0xc0; 20];
const ZERO: Address = [0; 20];

fn u(value: u64) -> U256 {
    U256::from(value)
}

fn chain() -> LogChain {
    LogChain::starting_at(1_000, 1_700_000_000)
}

fn process(host: &mut MockHost, log: &EthLog) {
    host.process(&MANUSCRIPT, log).expect_success();
}

fn balance(host: &MockHost, token: Address, holder: Address) -> Option<BalanceRecord> {
    host.get(&StateKey::Balance(token, holder))
}

fn supply(host: &MockHost, token: Address) -> Option<SupplyRecord> {
    host.get(&StateKey::Token(token))
}

#[test]
fn mint_then_transfer_updates_state_and_all_three_datasets() {
    let mut host = MockHost::new();
    let mut chain = chain();
    process(
        &mut host,
        &chain.erc20_transfer(TOKEN, ZERO, ALICE, u(1_000)),
    );
    let transfer = chain.next_block().erc20_transfer(TOKEN, ALICE, BOB, u(250));
    process(&mut host, &transfer);

    let record = |net, transfers| BalanceRecord {
        net_flow: SignedAmount::positive(u(net)),
        transfers,
        since: 1_000,
    };
    assert_eq!(balance(&host, TOKEN, ALICE), Some(record(750, 2)));
    assert_eq!(balance(&host, TOKEN, BOB), Some(record(250, 1)));
    assert_eq!(
        balance(&host, TOKEN, ZERO),
        None,
        "the zero address is not a holder"
    );
    let token = SupplyRecord {
        net_minted: SignedAmount::positive(u(1_000)),
        transfers: 2,
        since: 1_000,
    };
    assert_eq!(supply(&host, TOKEN), Some(token.clone()));
    assert_eq!(host.get::<_, u64>(&StateKey::Since), Some(1_000));

    let transfers = host.dataset_as::<[u8; 12], Transfer>(TRANSFERS);
    assert_eq!(transfers.len(), 2);
    assert_eq!(parse_transfer_key(&transfers[1].0), (1_001, 0));
    assert_eq!(
        transfers[1].1,
        Transfer {
            token: TOKEN,
            from: ALICE,
            to: BOB,
            value: u(250),
            transaction_hash: transfer.transaction_hash,
        }
    );
    assert_eq!(
        host.dataset_as::<(Address, Address), BalanceRecord>(BALANCES),
        vec![
            ((TOKEN, ALICE), record(750, 2)),
            ((TOKEN, BOB), record(250, 1))
        ]
    );
    assert_eq!(
        host.dataset_as::<Address, SupplyRecord>(SUPPLY),
        vec![(TOKEN, token)]
    );
}

/// Mainnet block 483,920 (2015-11-03, hash 0x246e…c6ae): its two logs, both transfers of token 0xf4ec…95dd, as a
/// JSON-RPC endpoint returns them, with `blockTimestamp` from the block's header. Their senders' earlier history
/// is not in the source.
fn mainnet_block_483920() -> Vec<EthLog> {
    let block = r#"
        {"address": "0xf4eced2f682ce333f96f2d8966c613ded8fc95dd",
         "topics": ["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
                    "0x0000000000000000000000001b63142628311395ceafeea5667e7c9026c862ca",
                    "0x000000000000000000000000ac4df82fe37ea2187bc8c011a23d743b4f39019a"],
         "data": "0x00000000000000000000000000000000000000000000000000000000000186a0",
         "blockNumber": "0x76250",
         "blockHash": "0x246edb4b351d93c27926f4649bcf6c24366e2a7c7c718dc9158eea20c03bc6ae",
         "blockTimestamp": "0x5638c858",
         "transactionHash": "0x04cbcb236043d8fb7839e07bbc7f5eed692fb2ca55d897f1101eac3e3ad4fab8",
         "transactionIndex": "0x0", "logIndex": "0x0", "removed": false}
        {"address": "0xf4eced2f682ce333f96f2d8966c613ded8fc95dd",
         "topics": ["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
                    "0x0000000000000000000000009b22a80d5c7b3374a05b446081f97d0a34079e7f",
                    "0x00000000000000000000000066f183060253cfbe45beff1e6e7ebbe318c81e56"],
         "data": "0x0000000000000000000000000000000000000000000000000000000000030d40",
         "blockNumber": "0x76250",
         "blockHash": "0x246edb4b351d93c27926f4649bcf6c24366e2a7c7c718dc9158eea20c03bc6ae",
         "blockTimestamp": "0x5638c858",
         "transactionHash": "0xcea6f89720cc1d2f46cc7a935463ae0b99dd5fad9c91bb7357de5421511cee49",
         "transactionIndex": "0x1", "logIndex": "0x1", "removed": false}
    "#;
    serde_json::Deserializer::from_str(block)
        .into_iter::<serde_json::Value>()
        .map(|v| EthLog::from_json(&v.unwrap()).unwrap())
        .collect()
}

fn hex_address(s: &str) -> Address {
    let bytes: Vec<u8> = (0..20)
        .map(|i| u8::from_str_radix(&s[2 + 2 * i..4 + 2 * i], 16).unwrap())
        .collect();
    bytes.try_into().unwrap()
}

#[test]
fn a_source_starting_mid_chain_records_every_transfer_and_net_flows() {
    let logs = mainnet_block_483920();
    let token = hex_address("0xf4eced2f682ce333f96f2d8966c613ded8fc95dd");
    let sends = [
        (
            hex_address("0x1b63142628311395ceafeea5667e7c9026c862ca"),
            hex_address("0xac4df82fe37ea2187bc8c011a23d743b4f39019a"),
            100_000,
        ),
        (
            hex_address("0x9b22a80d5c7b3374a05b446081f97d0a34079e7f"),
            hex_address("0x66f183060253cfbe45beff1e6e7ebbe318c81e56"),
            200_000,
        ),
    ];
    let mut host = MockHost::new();
    for log in &logs {
        let outcome = host.process(&MANUSCRIPT, log);
        assert!(
            outcome.is_success(),
            "a sender never seen before is not an error: {outcome:?}"
        );
    }

    let transfers = host.dataset_as::<[u8; 12], Transfer>(TRANSFERS);
    assert_eq!(transfers.len(), 2, "both transfers are recorded");
    for ((key, transfer), (log, (from, to, value))) in transfers.iter().zip(logs.iter().zip(sends))
    {
        assert_eq!(parse_transfer_key(key), (483_920, log.log_index));
        assert_eq!(
            *transfer,
            Transfer {
                token,
                from,
                to,
                value: u(value),
                transaction_hash: log.transaction_hash,
            }
        );
        let sender = balance(&host, token, from).unwrap();
        assert_eq!(sender.net_flow, SignedAmount::negative(u(value)));
        assert_eq!(sender.net_flow.to_string(), format!("-{value}"));
        assert_eq!(sender.net_flow.unsigned(), None);
        assert_eq!((sender.transfers, sender.since), (1, 483_920));
        let recipient = balance(&host, token, to).unwrap();
        assert_eq!(recipient.net_flow, SignedAmount::positive(u(value)));
        assert_eq!((recipient.transfers, recipient.since), (1, 483_920));
    }
    assert_eq!(
        supply(&host, token),
        Some(SupplyRecord {
            net_minted: SignedAmount::ZERO,
            transfers: 2,
            since: 483_920,
        })
    );
    assert!(host.logs().is_empty(), "{:?}", host.logs());
}

/// A small deterministic stream (an LCG): which holder sends what to whom.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn from_the_token_deployment_net_flows_are_the_balances() {
    let holders: Vec<Address> = (1..=12u8).map(|i| [i; 20]).collect();
    // The reference: the token's own ledger, which refuses overdraws.
    let mut ledger = vec![0u128; holders.len()];
    let mut total_supply = 0u128;
    let mut counts = vec![0u64; holders.len()];
    let mut chain = chain();
    let mut host = MockHost::new();
    let mut rng = Lcg(7);
    for step in 0..600 {
        if rng.below(3) == 0 {
            chain.next_block();
        }
        let log = match (step < 10, rng.below(20)) {
            (true, _) | (false, 0) => {
                let (to, value) = (rng.below(12) as usize, 1 + rng.below(1_000_000) as u128);
                ledger[to] += value;
                total_supply += value;
                counts[to] += 1;
                chain.erc20_transfer(TOKEN, ZERO, holders[to], U256::from(value))
            }
            (false, kind) => {
                let from = rng.below(12) as usize;
                let value = match rng.below(10) {
                    0 => ledger[from],
                    _ => u128::from(rng.below(1 + (ledger[from] / 3) as u64)),
                };
                ledger[from] -= value;
                counts[from] += 1;
                if kind == 1 {
                    total_supply -= value;
                    chain.erc20_transfer(TOKEN, holders[from], ZERO, U256::from(value))
                } else {
                    let to = rng.below(12) as usize;
                    ledger[to] += value;
                    if to != from {
                        counts[to] += 1;
                    }
                    chain.erc20_transfer(TOKEN, holders[from], holders[to], U256::from(value))
                }
            }
        };
        process(&mut host, &log);
    }

    let balances = host.dataset_as::<(Address, Address), BalanceRecord>(BALANCES);
    assert_eq!(balances.len(), holders.len());
    for ((token, holder), record) in balances {
        let i = holders.iter().position(|h| *h == holder).unwrap();
        assert_eq!(token, TOKEN);
        assert_eq!(
            record.net_flow,
            SignedAmount::positive(U256::from(ledger[i])),
            "holder {i}"
        );
        assert_eq!(record.transfers, counts[i], "holder {i}");
        assert_eq!(record.since, 1_000);
    }
    let token = supply(&host, TOKEN).unwrap();
    assert_eq!(token.net_minted.unsigned(), Some(U256::from(total_supply)));
    assert_eq!(token.transfers, 600);
    assert_eq!(host.dataset(TRANSFERS).len(), 600);
}

#[test]
fn since_is_the_first_transfer_block_for_every_token() {
    let mut host = MockHost::new();
    let mut chain = chain();
    // A log that is not a transfer does not fix `since`.
    let approval = chain.log(TOKEN, vec![[0x8c; 32], address_topic(&ALICE)], vec![0; 32]);
    process(&mut host, &approval);
    assert_eq!(host.get::<_, u64>(&StateKey::Since), None);
    process(
        &mut host,
        &chain.next_block().erc20_transfer(TOKEN, ALICE, BOB, u(5)),
    );
    process(
        &mut host,
        &chain
            .skip_blocks(50)
            .erc20_transfer(OTHER_TOKEN, ZERO, CAROL, u(9)),
    );
    assert_eq!(balance(&host, TOKEN, BOB).unwrap().since, 1_001);
    assert_eq!(balance(&host, OTHER_TOKEN, CAROL).unwrap().since, 1_001);
    assert_eq!(supply(&host, OTHER_TOKEN).unwrap().since, 1_001);
}

#[test]
fn net_flow_goes_negative_and_back() {
    let mut host = MockHost::new();
    let mut chain = chain();
    process(&mut host, &chain.erc20_transfer(TOKEN, ALICE, BOB, u(30)));
    assert_eq!(
        balance(&host, TOKEN, ALICE).unwrap().net_flow,
        SignedAmount::negative(u(30))
    );
    process(&mut host, &chain.erc20_transfer(TOKEN, BOB, ALICE, u(30)));
    assert_eq!(
        balance(&host, TOKEN, ALICE).unwrap().net_flow,
        SignedAmount::ZERO
    );
    process(&mut host, &chain.erc20_transfer(TOKEN, BOB, ALICE, u(45)));
    assert_eq!(
        balance(&host, TOKEN, ALICE).unwrap().net_flow,
        SignedAmount::positive(u(45))
    );
    assert_eq!(
        balance(&host, TOKEN, BOB).unwrap().net_flow,
        SignedAmount::negative(u(45))
    );
}

#[test]
fn burns_lower_net_minted_without_crediting_zero() {
    let mut host = MockHost::new();
    let mut chain = chain();
    process(&mut host, &chain.erc20_transfer(TOKEN, ZERO, ALICE, u(100)));
    process(&mut host, &chain.erc20_transfer(TOKEN, ALICE, ZERO, u(40)));
    assert_eq!(
        balance(&host, TOKEN, ALICE).unwrap().net_flow,
        SignedAmount::positive(u(60))
    );
    assert_eq!(balance(&host, TOKEN, ZERO), None);
    assert_eq!(
        supply(&host, TOKEN).unwrap().net_minted,
        SignedAmount::positive(u(60))
    );
    // Burning what was minted before `since`: the net minted amount goes negative.
    process(&mut host, &chain.erc20_transfer(TOKEN, BOB, ZERO, u(100)));
    assert_eq!(
        supply(&host, TOKEN).unwrap().net_minted,
        SignedAmount::negative(u(40))
    );
    // A log from and to the zero address changes no amount.
    process(&mut host, &chain.erc20_transfer(TOKEN, ZERO, ZERO, u(7)));
    let token = supply(&host, TOKEN).unwrap();
    assert_eq!(
        (token.net_minted, token.transfers),
        (SignedAmount::negative(u(40)), 4)
    );
}

#[test]
fn self_transfer_keeps_the_net_flow_and_counts_once() {
    let mut host = MockHost::new();
    let mut chain = chain();
    process(&mut host, &chain.erc20_transfer(TOKEN, ZERO, ALICE, u(100)));
    // More than the holder received since `since`: its earlier balance may cover it.
    process(
        &mut host,
        &chain.erc20_transfer(TOKEN, ALICE, ALICE, u(170)),
    );
    let alice = balance(&host, TOKEN, ALICE).unwrap();
    assert_eq!(
        (alice.net_flow, alice.transfers),
        (SignedAmount::positive(u(100)), 2)
    );
    assert_eq!(host.dataset(TRANSFERS).len(), 2);
}

#[test]
fn amounts_beyond_the_range_are_recorded_not_counted() {
    let mut host = MockHost::new();
    let mut chain = chain();
    process(
        &mut host,
        &chain.erc20_transfer(TOKEN, ZERO, ALICE, U256::MAX),
    );
    // The net minted amount would pass 2^256 - 1.
    let mint = chain.erc20_transfer(TOKEN, ZERO, BOB, u(1));
    process(&mut host, &mint);
    // Bob's net flow would pass -(2^256 - 1) (a ledger-less contract: Carol never held anything).
    process(
        &mut host,
        &chain.erc20_transfer(TOKEN, BOB, CAROL, U256::MAX),
    );
    let overdrawn = chain.erc20_transfer(TOKEN, BOB, CAROL, u(1));
    process(&mut host, &overdrawn);
    // Carol's net flow would pass 2^256 - 1.
    let overfull = chain.erc20_transfer(TOKEN, ALICE, CAROL, u(1));
    let before = host.state().clone();
    process(&mut host, &overfull);

    assert_eq!(
        host.dataset(TRANSFERS).len(),
        5,
        "every transfer is recorded"
    );
    assert_eq!(host.state(), &before, "the last transfer changed no state");
    let bob = balance(&host, TOKEN, BOB).unwrap();
    assert_eq!(
        (bob.net_flow, bob.transfers),
        (SignedAmount::negative(U256::MAX), 1)
    );
    let token = supply(&host, TOKEN).unwrap();
    assert_eq!(
        (token.net_minted, token.transfers),
        (SignedAmount::positive(U256::MAX), 2)
    );
    let warnings: Vec<_> = host
        .logs()
        .iter()
        .filter(|l| l.level == Level::Warn)
        .map(|l| l.message.clone())
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    for (warning, log) in warnings.iter().zip([&mint, &overdrawn, &overfull]) {
        assert!(
            warning.contains(&format!(
                "at block {} log {}",
                log.block_number, log.log_index
            )) && warning.contains(&Hex(&TOKEN).to_string())
                && warning.contains("recorded, not counted"),
            "{warning}"
        );
    }
}

#[test]
fn non_transfers_are_skipped() {
    let mut host = MockHost::new();
    let mut chain = chain();
    process(&mut host, &chain.erc20_transfer(TOKEN, ZERO, ALICE, u(100)));
    let state_before = host.state().clone();

    let mut erc721 = chain.erc20_transfer(TOKEN, ALICE, BOB, u(0));
    erc721.topics.push(address_topic(&[7; 20]));
    erc721.data.clear();
    let mut approval = chain.erc20_transfer(TOKEN, ALICE, BOB, u(5));
    approval.topics[0] = [0x8c; 32];
    let mut short_data = chain.erc20_transfer(TOKEN, ALICE, BOB, u(5));
    short_data.data.truncate(31);
    let mut no_topics = chain.erc20_transfer(TOKEN, ALICE, BOB, u(5));
    no_topics.topics.clear();

    for log in [erc721, approval, short_data, no_topics] {
        process(&mut host, &log);
    }
    assert_eq!(host.state(), &state_before);
    assert_eq!(host.dataset(TRANSFERS).len(), 1);
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
fn manifest_describes_the_manuscript() {
    let m = MANUSCRIPT.manifest();
    assert_eq!(m.name, "erc20-transfers");
    assert_eq!(m.sources, vec!["ethereum.logs"]);
    assert_eq!(m.datasets, vec![TRANSFERS, BALANCES, SUPPLY]);
}
