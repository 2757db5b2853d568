use super::*;
use crate::validators::types::ValidatorChange;

const CHAIN: &str = "test-chain";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn public(seed: u8) -> [u8; 32] {
    key(seed).verifying_key().to_bytes()
}

/// Four validators (seeds 1–4) of power 10 each, after `seq` updates.
fn four(seq: u64) -> ValidatorState {
    let mut members: Vec<Member> = (1..=4)
        .map(|s| Member {
            key: public(s),
            power: 10,
        })
        .collect();
    members.sort();
    ValidatorState { members, seq }
}

fn change(seed: u8, power: u64) -> ValidatorChange {
    ValidatorChange {
        key: public(seed),
        power,
    }
}

fn update(seq: u64, changes: Vec<ValidatorChange>) -> ValidatorSetUpdate {
    ValidatorSetUpdate { seq, changes }
}

fn approvals(seeds: &[u8], update: &ValidatorSetUpdate) -> Vec<Approval> {
    seeds
        .iter()
        .map(|s| approve(&key(*s), CHAIN, update))
        .collect()
}

#[test]
fn a_joiner_approved_by_more_than_two_thirds_joins() {
    let set = four(7);
    let join = update(7, vec![change(5, 4)]);
    let next = check_update(&set, CHAIN, &join, &approvals(&[1, 2, 3, 5], &join)).unwrap();
    assert_eq!(next.seq, 8);
    assert_eq!(next.members.len(), 5);
    assert_eq!(next.power_of(&public(5)), Some(4));
    assert!(
        next.members.windows(2).all(|w| w[0].key < w[1].key),
        "sorted"
    );
    assert_eq!(next.total_power(), 44);
}

#[test]
fn removal_power_change_and_rotation() {
    let set = four(0);
    let remove = update(0, vec![change(4, 0)]);
    let next = check_update(&set, CHAIN, &remove, &approvals(&[1, 2, 3], &remove)).unwrap();
    assert_eq!(next.power_of(&public(4)), None);
    assert_eq!(next.members.len(), 3);

    let repower = update(0, vec![change(1, 25)]);
    let next = check_update(&set, CHAIN, &repower, &approvals(&[1, 2, 4], &repower)).unwrap();
    assert_eq!(next.power_of(&public(1)), Some(25));

    // A rotation: the old key leaves, the new one joins with the same power and proves it holds its key.
    let rotate = update(0, vec![change(2, 0), change(9, 10)]);
    let next = check_update(&set, CHAIN, &rotate, &approvals(&[1, 2, 3, 9], &rotate)).unwrap();
    assert_eq!(next.power_of(&public(2)), None);
    assert_eq!(next.power_of(&public(9)), Some(10));
    assert_eq!(next.total_power(), 40);
}

#[test]
fn two_thirds_exactly_is_not_enough() {
    let mut set = four(0);
    set.members.truncate(3);
    let repower = update(0, vec![change(1, 20)]);
    let approved: Vec<u8> = set
        .members
        .iter()
        .take(2)
        .map(|m| (1..=4).find(|s| public(*s) == m.key).unwrap())
        .collect();
    assert_eq!(
        check_update(&set, CHAIN, &repower, &approvals(&approved, &repower)),
        Err(UpdateRefusal::NotEnoughPower {
            approved: 20,
            total: 30
        })
    );
    let set = four(0);
    assert_eq!(
        check_update(&set, CHAIN, &repower, &approvals(&[1, 2], &repower)),
        Err(UpdateRefusal::NotEnoughPower {
            approved: 20,
            total: 40
        })
    );
}

#[test]
fn approvals_are_checked_one_by_one() {
    let set = four(3);
    let join = update(3, vec![change(5, 10)]);
    let hex = |s: u8| hex::encode(public(s));
    assert_eq!(
        check_update(&set, CHAIN, &join, &approvals(&[1, 2, 3], &join)),
        Err(UpdateRefusal::JoinerDidNotApprove(hex(5)))
    );
    assert_eq!(
        check_update(&set, CHAIN, &join, &approvals(&[1, 2, 6, 5], &join)),
        Err(UpdateRefusal::StrangerApproval(hex(6)))
    );
    assert_eq!(
        check_update(&set, CHAIN, &join, &approvals(&[1, 2, 2, 5], &join)),
        Err(UpdateRefusal::DuplicateApproval(hex(2)))
    );
    let mut other_chain = approvals(&[1, 2, 3, 5], &join);
    other_chain[1] = approve(&key(2), "another-chain", &join);
    assert_eq!(
        check_update(&set, CHAIN, &join, &other_chain),
        Err(UpdateRefusal::BadApproval(hex(2)))
    );
    // An approval of another update (a different power) is not one of this update.
    let other = update(3, vec![change(5, 11)]);
    let mut mixed = approvals(&[1, 2, 5], &join);
    mixed.extend(approvals(&[3], &other));
    assert_eq!(
        check_update(&set, CHAIN, &join, &mixed),
        Err(UpdateRefusal::BadApproval(hex(3)))
    );
    assert_eq!(
        check_update(&set, CHAIN, &join, &approvals(&[1, 2, 3, 4, 5, 5], &join)),
        Err(UpdateRefusal::TooManyApprovals(6))
    );
}

#[test]
fn an_approval_is_good_for_one_position_only() {
    let set = four(3);
    let stale = update(2, vec![change(1, 5)]);
    assert_eq!(
        check_update(&set, CHAIN, &stale, &approvals(&[1, 2, 3, 4], &stale)),
        Err(UpdateRefusal::Seq {
            expected: 3,
            found: 2
        })
    );
    let applied = update(3, vec![change(1, 5)]);
    let next = check_update(&set, CHAIN, &applied, &approvals(&[1, 2, 3], &applied)).unwrap();
    // The same update and approvals again: the set moved on.
    assert_eq!(
        check_update(&next, CHAIN, &applied, &approvals(&[1, 2, 3], &applied)),
        Err(UpdateRefusal::Seq {
            expected: 4,
            found: 3
        })
    );
}

/// A 32-byte string that is not an ed25519 public key.
fn not_a_key() -> [u8; 32] {
    (0..=255u8)
        .map(|b| [b; 32])
        .find(|k| VerifyingKey::from_bytes(k).is_err())
        .expect("some byte pattern is not a curve point")
}

#[test]
fn malformed_change_sets_are_refused_before_any_signature() {
    let set = four(0);
    let refused = |changes: Vec<ValidatorChange>| apply_update(&set, &update(0, changes));
    assert_eq!(refused(vec![]), Err(UpdateRefusal::ChangeCount(0)));
    let many: Vec<ValidatorChange> = (0..65u8).map(|s| change(100 + s, 1)).collect();
    assert_eq!(refused(many), Err(UpdateRefusal::ChangeCount(65)));
    assert_eq!(
        refused(vec![change(1, 3), change(1, 4)]),
        Err(UpdateRefusal::DuplicateChange(hex::encode(public(1))))
    );
    assert_eq!(
        refused(vec![change(7, 0)]),
        Err(UpdateRefusal::NotAMember(hex::encode(public(7))))
    );
    assert_eq!(
        refused((1..=4).map(|s| change(s, 0)).collect()),
        Err(UpdateRefusal::EmptySet)
    );
    let bad = not_a_key();
    assert_eq!(
        refused(vec![ValidatorChange { key: bad, power: 1 }]),
        Err(UpdateRefusal::BadKey(hex::encode(bad)))
    );
    assert_eq!(
        refused(vec![change(1, MAX_TOTAL_POWER)]),
        Err(UpdateRefusal::TotalPower(u128::from(MAX_TOTAL_POWER) + 30))
    );
    let crowd = ValidatorState {
        members: (0..MAX_VALIDATORS as u8)
            .map(|s| Member {
                key: public(s.wrapping_add(10)),
                power: 1,
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        seq: 0,
    };
    assert_eq!(
        apply_update(&crowd, &update(0, vec![change(200, 1)])),
        Err(UpdateRefusal::TooManyValidators(MAX_VALIDATORS + 1))
    );
    assert_eq!(
        check_update(
            &ValidatorState::default(),
            CHAIN,
            &update(0, vec![change(1, 1)]),
            &[]
        ),
        Err(UpdateRefusal::NoSet)
    );
}
