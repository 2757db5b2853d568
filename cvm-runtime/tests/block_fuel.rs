//! The block's fuel budget (`max_block_fuel`) is enforced while executing: an ingest that runs out of it fails as
//! a whole, its writes undone and its nonce consumed, and so does every ingest after it in the block; a block's
//! fuel never exceeds the budget, whatever its transactions ask for.

mod common;

use common::{Chain, assert_deployed, engine, invocations, kv};
use cvm_runtime::{SignedTransaction, TxPayload, TxStatus};
use parity_scale_codec::Encode;

const FUEL: u64 = 20_000_000;
const BUDGET: u64 = 50_000_000;

fn hostile_chain(parallel: bool) -> Chain {
    let mut chain = Chain::new(engine(), parallel);
    assert_deployed(&chain.deploy(manuscript_fixtures::HOSTILE, FUEL));
    chain
}

fn ingest(chain: &mut Chain, records: &[(&str, &str)]) -> SignedTransaction {
    chain.tx(TxPayload::Ingest {
        source: "hostile".into(),
        records: records.iter().map(|(k, v)| kv(k, v)).collect(),
    })
}

fn assert_budget_failure(status: &TxStatus) {
    match status {
        TxStatus::Failed { reason } => assert!(reason.contains("fuel budget"), "{reason}"),
        other => panic!("expected a fuel-budget failure, got {other:?}"),
    }
}

/// The hostile manuscript's `ok` counter as the next `ok` record emits it.
fn next_count(chain: &mut Chain) -> Vec<u8> {
    let outcome = chain.ingest("hostile", vec![kv("ok", "probe")]);
    outcome.records[0].record.value.clone()
}

#[test]
fn ingest_over_the_budget_fails_whole_and_later_ingests_too() {
    for parallel in [false, true] {
        let mut chain = hostile_chain(parallel);
        let fits = ingest(&mut chain, &[("ok", "1"), ("ok", "2")]);
        let too_much = ingest(
            &mut chain,
            &[("ok", "3"), ("loop", "a"), ("loop", "b"), ("loop", "c")],
        );
        let after = ingest(&mut chain, &[("ok", "4")]);
        let outcome = chain.block_within(&[fits, too_much, after], BUDGET);

        assert!(matches!(
            outcome.receipts[0].status,
            TxStatus::Ingested { .. }
        ));
        assert_budget_failure(&outcome.receipts[1].status);
        assert_budget_failure(&outcome.receipts[2].status);
        assert_eq!(outcome.fuel_exhausted_at, Some(1));
        assert!(outcome.fuel_used <= BUDGET, "{}", outcome.fuel_used);
        assert_eq!(
            outcome.fuel_used, BUDGET,
            "the failed ingest pays for what it burned"
        );
        // Only the first transaction's two records count; the failed one's `ok` was undone, its emits dropped.
        assert_eq!(outcome.records.len(), 2);
        assert_eq!(next_count(&mut chain), 3u64.encode());
        // Nonces were consumed: the account's next transaction is accepted.
        let next = ingest(&mut chain, &[("ok", "5")]);
        let outcome = chain.block(&[next]);
        assert!(matches!(
            outcome.receipts[0].status,
            TxStatus::Ingested { .. }
        ));
    }
}

#[test]
fn one_transaction_alone_over_the_budget_fails_at_index_zero() {
    let mut chain = hostile_chain(true);
    let tx = ingest(&mut chain, &[("loop", "a"), ("loop", "b")]);
    let outcome = chain.block_within(&[tx], 30_000_000);
    assert_budget_failure(&outcome.receipts[0].status);
    assert_eq!(outcome.fuel_exhausted_at, Some(0));
    assert_eq!(outcome.fuel_used, 30_000_000);
    assert!(invocations(&outcome).is_empty());
}

#[test]
fn within_the_budget_nothing_changes() {
    let mut a = hostile_chain(true);
    let mut b = hostile_chain(true);
    let records = [("ok", "1"), ("loop", "x"), ("ok", "2")];
    let (ta, tb) = (ingest(&mut a, &records), ingest(&mut b, &records));
    let limited = a.block_within(&[ta], BUDGET);
    let unlimited = b.block(&[tb]);
    assert_eq!(limited.fuel_exhausted_at, None);
    assert_eq!(limited.state_root, unlimited.state_root);
    assert_eq!(limited.receipts_root, unlimited.receipts_root);
    assert_eq!(limited.fuel_used, unlimited.fuel_used);
}

#[test]
fn the_budget_outcome_is_the_same_sequential_and_parallel() {
    let run = |parallel| {
        let mut chain = hostile_chain(parallel);
        let txs = [
            ingest(&mut chain, &[("ok", "1"), ("loop", "a")]),
            ingest(&mut chain, &[("loop", "b"), ("loop", "c")]),
        ];
        let outcome = chain.block_within(&txs, BUDGET);
        (outcome.state_root, outcome.receipts_root, outcome.fuel_used)
    };
    assert_eq!(run(false), run(true));
}
