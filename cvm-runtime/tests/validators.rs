//! `UpdateValidators` through the block executor: the set the state records, the change set the outcome hands to
//! consensus, and failures that leave the set alone; jailing an offender.

mod common;

use common::{CHAIN, Chain, engine, key};
use cvm_runtime::validators::{
    JailRecord, Member, Offence, OffenceRefusal, ValidatorChange, ValidatorSetUpdate,
    ValidatorState, approve, check_offence, jail_record, validator_state,
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

fn offence(seed: u8, height: u64) -> Offence {
    Offence {
        validator: public(seed),
        height,
    }
}

#[test]
fn an_offender_is_jailed_once_per_offence_and_its_removal_is_handed_to_consensus() {
    let mut chain = chain();
    // The block also re-powers the offender: jailing comes last, so the offender leaves anyway.
    let repower = update_tx(&mut chain, 0, vec![change(2, 20)], &[1, 2, 3, 4]);
    let outcome = chain.block_with_offences(&[repower], &[offence(2, 1)]);
    assert!(matches!(
        outcome.receipts[0].status,
        TxStatus::ValidatorsUpdated { seq: 0, .. }
    ));
    assert_eq!(outcome.jailed, vec![public(2)]);
    assert_eq!(outcome.validator_changes, vec![change(2, 0)]);
    let after = set(&chain);
    assert_eq!((after.members.len(), after.seq), (3, 2), "{after:?}");
    assert_eq!(after.power_of(&public(2)), None);
    assert_eq!(
        jail_record(&chain.view(), &public(2)).unwrap(),
        Some(JailRecord {
            offence_height: 1,
            jailed_at: 1,
            removed: true
        })
    );

    // Offences up to height 2 (the last height whose set still holds it) are covered, a later one is not.
    let covered = check_offence(&chain.view(), &offence(2, 2)).unwrap();
    assert!(
        matches!(
            covered,
            Err(OffenceRefusal::AlreadyJailed {
                jailed_at: 1,
                covered: 2,
                ..
            })
        ),
        "{covered:?}"
    );
    assert_eq!(
        check_offence(&chain.view(), &offence(2, 3)).unwrap(),
        Ok(())
    );

    // A covered offence in a block changes nothing; so does a second one of the same validator.
    let root = chain.root;
    let outcome = chain.block_with_offences(&[], &[offence(2, 1)]);
    assert!(outcome.jailed.is_empty() && outcome.validator_changes.is_empty());
    assert_eq!(chain.root, root);
    let outcome = chain.block_with_offences(&[], &[offence(3, 2), offence(3, 2)]);
    assert_eq!(outcome.jailed, vec![public(3)]);
    assert_eq!(set(&chain).members.len(), 2);

    // An update approved for the membership before the jailing is refused: its seq is taken.
    let stale = update_tx(&mut chain, 1, vec![change(5, 7)], &[1, 4, 5]);
    let outcome = chain.block(&[stale]);
    let TxStatus::Failed { reason } = &outcome.receipts[0].status else {
        panic!("{:?}", outcome.receipts[0].status);
    };
    assert!(reason.contains("update seq 1 is not the next"), "{reason}");
}

#[test]
fn the_last_validator_is_never_jailed_out_of_the_set() {
    let members = [Member {
        key: public(1),
        power: 10,
    }];
    let mut chain = Chain::with_validators(engine(), &members);
    let outcome = chain.block_with_offences(&[], &[offence(1, 1)]);
    assert!(outcome.jailed.is_empty() && outcome.validator_changes.is_empty());
    assert_eq!(set(&chain).members.len(), 1);
    let record = jail_record(&chain.view(), &public(1))
        .unwrap()
        .expect("recorded");
    assert!(!record.removed);
}

#[test]
fn jailing_gives_the_same_root_on_every_executor() {
    let run = || {
        let mut chain = chain();
        let outcome = chain.block_with_offences(&[], &[offence(4, 1), offence(1, 1)]);
        (
            outcome.state_root,
            outcome.validator_changes,
            outcome.jailed,
        )
    };
    assert_eq!(run(), run());
}
