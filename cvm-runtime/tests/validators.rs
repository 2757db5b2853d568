//! `UpdateValidators` through the block executor: the set the state records, the change set the outcome hands to
//! consensus, and failures that leave the set alone.

mod common;

use common::{CHAIN, Chain, engine, key};
use cvm_runtime::validators::{
    Member, ValidatorChange, ValidatorSetUpdate, ValidatorState, approve, validator_state,
};
use cvm_runtime::{TxPayload, TxStatus};

fn public(seed: u8) -> [u8; 32] {
    key(seed).verifying_key().to_bytes()
}

/// Validators 1–4, power 10 each.
fn chain() -> Chain {
    let members: Vec<Member> = (1..=4)
        .map(|s| Member {
            key: public(s),
            power: 10,
        })
        .collect();
    Chain::with_validators(engine(), &members)
}

fn update_tx(
    chain: &mut Chain,
    seq: u64,
    changes: Vec<ValidatorChange>,
    approvers: &[u8],
) -> cvm_runtime::SignedTransaction {
    let update = ValidatorSetUpdate { seq, changes };
    let approvals = approvers
        .iter()
        .map(|s| approve(&key(*s), CHAIN, &update))
        .collect();
    chain.tx(TxPayload::UpdateValidators { update, approvals })
}

fn change(seed: u8, power: u64) -> ValidatorChange {
    ValidatorChange {
        key: public(seed),
        power,
    }
}

fn set(chain: &Chain) -> ValidatorState {
    validator_state(&chain.view()).expect("read the set")
}

#[test]
fn genesis_records_the_first_set() {
    let chain = chain();
    let state = set(&chain);
    assert_eq!(state.seq, 0);
    assert_eq!(state.total_power(), 40);
    assert!(state.members.windows(2).all(|w| w[0].key < w[1].key));
}

#[test]
fn an_approved_update_is_recorded_and_handed_to_consensus() {
    let mut chain = chain();
    let join = update_tx(&mut chain, 0, vec![change(5, 7)], &[1, 2, 3, 5]);
    let outcome = chain.block(&[join]);
    assert_eq!(
        outcome.receipts[0].status,
        TxStatus::ValidatorsUpdated {
            seq: 0,
            effective_height: 3
        }
    );
    assert_eq!(outcome.validator_changes, vec![change(5, 7)]);
    let after = set(&chain);
    assert_eq!(
        (after.seq, after.members.len(), after.total_power()),
        (1, 5, 47)
    );

    // Two updates in one block: the outcome carries their net effect, each key once, in key order.
    let rotate = update_tx(
        &mut chain,
        1,
        vec![change(2, 0), change(9, 10)],
        &[1, 2, 3, 4, 9],
    );
    let repower = update_tx(
        &mut chain,
        2,
        vec![change(9, 12), change(5, 0)],
        &[1, 3, 4, 9],
    );
    let outcome = chain.block(&[rotate, repower]);
    assert!(
        outcome
            .receipts
            .iter()
            .all(|r| matches!(r.status, TxStatus::ValidatorsUpdated { .. })),
        "{:?}",
        outcome.receipts
    );
    let mut expected = vec![change(2, 0), change(5, 0), change(9, 12)];
    expected.sort_by_key(|c| c.key);
    assert_eq!(outcome.validator_changes, expected);
    let after = set(&chain);
    assert_eq!(after.seq, 3);
    assert_eq!(after.power_of(&public(9)), Some(12));
    assert_eq!(after.power_of(&public(2)), None);
}

#[test]
fn a_refused_update_fails_consumes_its_nonce_and_changes_nothing() {
    let mut chain = chain();
    let root = chain.root;
    let short = update_tx(&mut chain, 0, vec![change(5, 7)], &[1, 2, 5]);
    let outcome = chain.block(&[short]);
    let TxStatus::Failed { reason } = &outcome.receipts[0].status else {
        panic!("{:?}", outcome.receipts[0].status);
    };
    assert!(
        reason.contains("approvals hold 20 of 40 voting power"),
        "{reason}"
    );
    assert!(outcome.validator_changes.is_empty());
    assert_eq!(set(&chain).seq, 0);
    assert_ne!(chain.root, root, "the nonce moved");
    // The nonce is consumed: the next transaction uses the next one and applies.
    let join = update_tx(&mut chain, 0, vec![change(5, 7)], &[1, 2, 3, 5]);
    let outcome = chain.block(&[join]);
    assert!(matches!(
        outcome.receipts[0].status,
        TxStatus::ValidatorsUpdated { seq: 0, .. }
    ));
    // Its approvals replayed in a later transaction are for a position already taken.
    let replay = update_tx(&mut chain, 0, vec![change(5, 7)], &[1, 2, 3, 5]);
    let outcome = chain.block(&[replay]);
    let TxStatus::Failed { reason } = &outcome.receipts[0].status else {
        panic!("{:?}", outcome.receipts[0].status);
    };
    assert!(reason.contains("update seq 0 is not the next"), "{reason}");
}

#[test]
fn the_same_updates_give_the_same_root_on_every_executor() {
    let run = || {
        let mut chain = chain();
        let txs = [
            update_tx(&mut chain, 0, vec![change(5, 7)], &[1, 2, 3, 5]),
            update_tx(&mut chain, 1, vec![change(1, 3)], &[2, 3, 4, 5]),
        ];
        let outcome = chain.block(&txs);
        (
            outcome.state_root,
            outcome.receipts_root,
            outcome.validator_changes,
        )
    };
    assert_eq!(run(), run());
}
