//! `ValidatorSet::update_with_change_set` against CometBFT's `types/validator_set_test.go`
//! (same cases, same expected sets and errors) and hand-derived priority vectors, plus a
//! property test of the invariants CometBFT keeps across changes.
//!
//! CometBFT names validators "v1", "v2", ...; here `v(k)` is the k-th smallest of a pool of
//! ed25519 ids, so the names sort as CometBFT's addresses do. CometBFT orders a set by power
//! and ours by id, so sets are compared by `membership()` (sorted by id).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use cvm_consensus::validator::MAX_TOTAL_VOTING_POWER as MAX;
use cvm_consensus::*;
use proptest::prelude::*;

/// (validator k, power) pairs, CometBFT's `[]testVal`.
type Vals = &'static [(usize, u64)];
/// An owned start set (CometBFT's `testValSet(n, power)` builds one).
type Start = Vec<(usize, u64)>;

fn pool() -> &'static [ValidatorId] {
    static POOL: OnceLock<Vec<ValidatorId>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut ids: Vec<ValidatorId> = (0..40u8)
            .map(|i| Ed25519Signer::from_seed([i + 1; 32]).validator_id())
            .collect();
        ids.sort();
        ids
    })
}

/// CometBFT's "v{k}" (k from 1).
fn v(k: usize) -> ValidatorId {
    pool()[k - 1]
}

fn set(vals: &[(usize, u64)]) -> ValidatorSet {
    ValidatorSet::new(vals.iter().map(|(k, p)| (v(*k), *p))).expect("valid set")
}

/// CometBFT's `testValSet(n, power)`.
fn equal(n: usize, power: u64) -> Vec<(usize, u64)> {
    (1..=n).map(|k| (k, power)).collect()
}

fn changes(vals: &[(usize, u64)]) -> Vec<ValidatorUpdate> {
    vals.iter()
        .map(|(k, p)| ValidatorUpdate {
            id: v(*k),
            voting_power: *p,
        })
        .collect()
}

fn membership(vals: &[(usize, u64)]) -> Vec<(ValidatorId, u64)> {
    let mut m: Vec<(ValidatorId, u64)> = vals.iter().map(|(k, p)| (v(*k), *p)).collect();
    m.sort();
    m
}

fn priorities(set: &ValidatorSet) -> Vec<i64> {
    set.validators()
        .iter()
        .map(|v| v.proposer_priority)
        .collect()
}

/// CometBFT's `verifyValidatorSet`: priorities centred (sum within (-n, n)) and within the
/// window (max - min <= 2 × total).
fn assert_scaled_and_centred(set: &ValidatorSet) {
    assert_centred_within(set, 2);
}

/// Priorities centred, spread at most `window` × total. The increment that follows a
/// rescale keeps the sum and widens the spread by less than the total, so a set after
/// `next_height()` is within 3 × total (CometBFT rescales before each increment).
fn assert_centred_within(set: &ValidatorSet, window: i128) {
    let n = set.len() as i128;
    let p = priorities(set);
    let sum: i128 = p.iter().map(|x| i128::from(*x)).sum();
    assert!(sum > -n && sum < n, "priority sum {sum} for {n} validators");
    let spread = i128::from(*p.iter().max().unwrap()) - i128::from(*p.iter().min().unwrap());
    assert!(
        spread <= window * i128::from(set.total_power()),
        "spread {spread} over window of total {}",
        set.total_power()
    );
    let total: u64 = set.validators().iter().map(|v| v.voting_power).sum();
    assert_eq!(total, set.total_power());
}

/// CometBFT's `executeValSetErrTestCase`: the error, and the set unchanged.
fn refused(start: &[(usize, u64)], update: &[(usize, u64)]) -> ValidatorSetError {
    let s = set(start);
    let before = s.clone();
    let err = s.update_with_change_set(&changes(update)).unwrap_err();
    assert_eq!(s, before);
    err
}

#[test]
fn val_set_updates_duplicate_entries() {
    use ValidatorSetError::DuplicateChange as Dup;
    let cases: &[(Start, Vals, usize)] = &[
        (equal(2, 10), &[(1, 11), (1, 22)], 1),
        (equal(2, 10), &[(2, 11), (2, 22)], 2),
        (equal(2, 10), &[(1, 11), (2, 22), (1, 12)], 1),
        (equal(3, 10), &[(1, 11), (3, 22), (1, 12)], 1),
        (equal(2, 10), &[(1, 0), (1, 0)], 1),
        (equal(2, 10), &[(2, 0), (2, 0)], 2),
        (equal(2, 10), &[(1, 0), (2, 0), (1, 0)], 1),
        (equal(3, 10), &[(1, 0), (3, 0), (1, 0)], 1),
        (equal(2, 10), &[(1, 0), (2, 20), (1, 30)], 1),
        (equal(2, 10), &[(1, 0), (2, 20), (2, 30), (1, 0)], 1),
        (equal(3, 10), &[(1, 0), (3, 5), (2, 20), (2, 30), (1, 0)], 1),
    ];
    for (i, (start, update, dup)) in cases.iter().enumerate() {
        assert_eq!(refused(start, update), Dup(v(*dup)), "case {i}");
    }
}

#[test]
fn val_set_updates_overflows() {
    use ValidatorSetError::{ChangePowerTooLarge, TotalPowerTooLarge};
    // Go's math.MaxInt64 is above the cap; so is anything above MAX.
    let big = i64::MAX as u64;
    assert_eq!(
        refused(&equal(2, 10), &[(1, big)]),
        ChangePowerTooLarge {
            id: v(1),
            power: big
        }
    );
    assert_eq!(
        refused(&equal(2, 10), &[(2, big)]),
        ChangePowerTooLarge {
            id: v(2),
            power: big
        }
    );
    assert_eq!(
        refused(&equal(1, MAX), &[(2, big)]),
        ChangePowerTooLarge {
            id: v(2),
            power: big
        }
    );
    assert_eq!(refused(&equal(1, MAX - 1), &[(2, 5)]), TotalPowerTooLarge);
    assert_eq!(
        refused(&equal(2, MAX / 3), &[(3, MAX / 2)]),
        TotalPowerTooLarge
    );
    assert_eq!(refused(&equal(1, MAX), &[(2, MAX)]), TotalPowerTooLarge);
    // The cap itself is allowed for one change.
    assert_eq!(
        refused(&equal(1, 1), &[(2, MAX + 1)]),
        ChangePowerTooLarge {
            id: v(2),
            power: MAX + 1
        }
    );
}

#[test]
fn val_set_updates_other_errors() {
    // Negative powers (CometBFT's first two cases) cannot be expressed: powers are u64.
    assert_eq!(
        refused(&equal(2, 10), &[(3, 0)]),
        ValidatorSetError::RemovesNonMember(v(3))
    );
    assert_eq!(
        refused(&[(1, 10), (2, 20), (3, 30)], &[(1, 0), (2, 0), (3, 0)]),
        ValidatorSetError::ChangeEmptiesSet
    );
    // TestEmptySet: deleting every member is refused. CometBFT counts removals before
    // checking membership, so removing one member and one stranger from a set of two is
    // refused as emptying it.
    assert_eq!(
        refused(&equal(2, 100), &[(1, 0), (3, 0)]),
        ValidatorSetError::ChangeEmptiesSet
    );
    // A joining id that is not an ed25519 key.
    let s = set(&equal(2, 10));
    // About half of the y coordinates are not on the curve.
    let bad = (0u8..=255)
        .map(|i| {
            let mut b = [0u8; 32];
            b[0] = i;
            ValidatorId(b)
        })
        .find(|id| ed25519_dalek::VerifyingKey::from_bytes(&id.0).is_err())
        .expect("a y coordinate off the curve");
    assert_eq!(
        s.update_with_change_set(&[ValidatorUpdate {
            id: bad,
            voting_power: 1
        }]),
        Err(ValidatorSetError::BadKey(bad))
    );
}

#[test]
fn val_set_updates_basic_tests_execute() {
    let cases: &[(Start, Vals, Vals)] = &[
        (equal(2, 10), &[], &[(1, 10), (2, 10)]),
        (equal(2, 10), &[(2, 22), (1, 11)], &[(2, 22), (1, 11)]),
        (
            vec![(2, 20), (1, 10)],
            &[(4, 40), (3, 30)],
            &[(4, 40), (3, 30), (2, 20), (1, 10)],
        ),
        (
            vec![(3, 20), (1, 10)],
            &[(2, 30)],
            &[(2, 30), (3, 20), (1, 10)],
        ),
        (
            vec![(3, 20), (2, 10)],
            &[(1, 30)],
            &[(1, 30), (3, 20), (2, 10)],
        ),
        (
            vec![(3, 30), (2, 20), (1, 10)],
            &[(2, 0)],
            &[(3, 30), (1, 10)],
        ),
    ];
    for (i, (start, update, expected)) in cases.iter().enumerate() {
        let s = set(start);
        let updated = s.update_with_change_set(&changes(update)).unwrap();
        assert_eq!(updated.membership(), membership(expected), "case {i}");
        assert_scaled_and_centred(&updated);
    }
    // No changes: the same set, priorities untouched.
    let s = set(&equal(2, 10));
    assert_eq!(s.update_with_change_set(&[]).unwrap(), s);
}

#[test]
fn val_set_updates_order_independence_tests_execute() {
    let cases: &[(Vals, Vals)] = &[
        (
            &[(4, 40), (3, 30), (2, 10), (1, 10)],
            &[(4, 44), (3, 33), (2, 22), (1, 11)],
        ),
        (&[(2, 20), (1, 10)], &[(3, 30), (4, 40), (5, 50), (6, 60)]),
        (
            &[(4, 40), (3, 30), (2, 20), (1, 10)],
            &[(1, 0), (3, 0), (4, 0)],
        ),
        (
            &[(4, 40), (3, 30), (2, 20), (1, 10)],
            &[(1, 0), (3, 0), (2, 22), (5, 50), (4, 44)],
        ),
    ];
    for (i, (start, update)) in cases.iter().enumerate() {
        // Priorities that are not all equal, so order would show.
        let s = set(start).next_height().next_height();
        let expected = s.update_with_change_set(&changes(update)).unwrap();
        let mut perm = changes(update);
        // Every rotation and its reverse.
        for r in 0..perm.len() {
            perm.rotate_left(1);
            for p in [perm.clone(), perm.iter().rev().copied().collect()] {
                let got = s.update_with_change_set(&p).unwrap();
                assert_eq!(got, expected, "case {i} rotation {r}");
                assert_scaled_and_centred(&got);
            }
        }
    }
}

#[test]
fn val_set_apply_updates_tests_execute() {
    let cases: &[(Vals, Vals, Vals)] = &[
        (
            &[(4, 44), (5, 55)],
            &[(1, 11)],
            &[(1, 11), (4, 44), (5, 55)],
        ),
        (
            &[(4, 44), (5, 55)],
            &[(6, 66)],
            &[(4, 44), (5, 55), (6, 66)],
        ),
        (
            &[(4, 44), (6, 66)],
            &[(5, 55)],
            &[(4, 44), (5, 55), (6, 66)],
        ),
        (
            &[(4, 44), (6, 66), (9, 99)],
            &[(5, 55), (7, 77), (8, 88)],
            &[(4, 44), (5, 55), (6, 66), (7, 77), (8, 88), (9, 99)],
        ),
        (&[(1, 111), (2, 22)], &[(1, 11)], &[(1, 11), (2, 22)]),
        (&[(1, 11), (2, 222)], &[(2, 22)], &[(1, 11), (2, 22)]),
        (
            &[(1, 11), (2, 222), (3, 33)],
            &[(2, 22)],
            &[(1, 11), (2, 22), (3, 33)],
        ),
        (
            &[(1, 111), (2, 222), (3, 333)],
            &[(1, 11), (2, 22), (3, 33)],
            &[(1, 11), (2, 22), (3, 33)],
        ),
        (
            &[(1, 111), (2, 22)],
            &[(1, 11), (3, 33), (4, 44)],
            &[(1, 11), (2, 22), (3, 33), (4, 44)],
        ),
    ];
    for (i, (start, update, expected)) in cases.iter().enumerate() {
        let updated = set(start).update_with_change_set(&changes(update)).unwrap();
        assert_eq!(updated.membership(), membership(expected), "case {i}");
        assert_scaled_and_centred(&updated);
    }
}

/// TestValSetUpdatePriorityOrderTests' fixed cases: after elections, the joining validators
/// have the lowest priorities, all equal.
#[test]
fn val_set_update_priority_order_tests() {
    let cases: &[(Vals, Vals, Vals)] = &[
        (&[(3, 1000), (1, 1), (2, 1)], &[(3, 0)], &[(1, 1), (2, 1)]),
        (&[(3, 1000), (2, 10), (1, 1)], &[(3, 0)], &[(2, 10), (1, 1)]),
        (
            &[(3, 1000), (2, 2), (1, 1)],
            &[(5, 50), (4, 40), (2, 1), (3, 0)],
            &[(5, 50), (4, 40), (1, 1), (2, 1)],
        ),
    ];
    for (i, (start, update, expected)) in cases.iter().enumerate() {
        for elections in [1u32, 7, 123, 4999] {
            let mut s = set(start);
            for _ in 0..elections {
                s = s.next_height();
            }
            let updated = s.update_with_change_set(&changes(update)).unwrap();
            assert_eq!(updated.membership(), membership(expected), "case {i}");
            assert_scaled_and_centred(&updated);
            let joined: Vec<i64> = updated
                .validators()
                .iter()
                .filter(|v| s.index_of(&v.id).is_none())
                .map(|v| v.proposer_priority)
                .collect();
            let stayed = updated
                .validators()
                .iter()
                .filter(|v| s.index_of(&v.id).is_some())
                .map(|v| v.proposer_priority);
            if let Some(first) = joined.first() {
                assert!(joined.iter().all(|p| p == first), "case {i}: {joined:?}");
                for p in stayed {
                    assert!(p > *first, "case {i}: member at {p}, joined at {first}");
                }
            }
        }
    }
}

#[test]
fn val_set_update_overflow_related() {
    let h = MAX / 2;
    let q = MAX / 4;
    // (start, changes, expected)
    type Case = (Vec<(usize, u64)>, Vec<(usize, u64)>, Vec<(usize, u64)>);
    let cases: Vec<Case> = vec![
        (
            vec![(2, MAX - 1), (1, 1)],
            vec![(1, MAX - 1), (2, 1)],
            vec![(1, MAX - 1), (2, 1)],
        ),
        // Refused unless the decrease (v2) is applied before the increase.
        (
            vec![(2, MAX - 1), (1, 1)],
            vec![(1, h - 1), (2, h)],
            vec![(2, h), (1, h - 1)],
        ),
        (
            vec![(1, MAX - 2), (2, 1), (3, 1)],
            vec![(4, MAX - 2), (1, 0)],
            vec![(4, MAX - 2), (2, 1), (3, 1)],
        ),
        (
            vec![(1, q), (2, q), (3, q), (4, q)],
            vec![(5, 3), (1, h - 2), (3, h - 3), (4, 2), (2, 0)],
            vec![(1, h - 2), (3, h - 3), (5, 3), (4, 2)],
        ),
    ];
    for (i, (start, update, expected)) in cases.iter().enumerate() {
        let updated = set(start).update_with_change_set(&changes(update)).unwrap();
        assert_eq!(updated.membership(), membership(expected), "case {i}");
        assert_scaled_and_centred(&updated);
        assert_centred_within(&updated.next_height(), 3);
    }
    // Eight validators at the cap and one at 8: refused, set unchanged.
    let mut update: Vec<(usize, u64)> = (1..=8).map(|k| (k, MAX)).collect();
    update.push((9, 8));
    assert_eq!(
        refused(&equal(9, 1), &update),
        ValidatorSetError::TotalPowerTooLarge
    );
}

/// Hand-derived from CometBFT's algorithm.
#[test]
fn priorities_of_joining_and_rescaled_validators() {
    // {v1: 10, v2: 10}: NewValidatorSet gives [-10, 10] (v1 proposed on the tie).
    let s = set(&equal(2, 10));
    assert_eq!(priorities(&s), [-10, 10]);
    // v3 joins with 30: tvp = 50, priority -(50 + 50 >> 3) = -56. No rescale (spread 66 <=
    // 100); average floor(-56 / 3) = -19, so [9, 29, -37].
    let u = s.update_with_change_set(&changes(&[(3, 30)])).unwrap();
    assert_eq!(priorities(&u), [9, 29, -37]);
    assert_eq!(u.proposer_id(Round(0)), v(2));
    // IncrementProposerPriority(1): +power [19, 39, -7], v2 highest pays 50.
    let next = u.next_height();
    assert_eq!(priorities(&next), [19, -11, -7]);
    assert_eq!(next.proposer_id(Round(0)), v(2));

    // {v1: 100, v2: 100} -> [-100, 100]; both drop to small powers: the spread 200 is
    // divided by ceil(200 / window), truncating toward zero.
    let s = set(&equal(2, 100));
    assert_eq!(priorities(&s), [-100, 100]);
    let u = s
        .update_with_change_set(&changes(&[(1, 1), (2, 2)]))
        .unwrap();
    // Window 6: ratio (200 + 5) / 6 = 34; -100 / 34 = -2 (not -3), 100 / 34 = 2.
    assert_eq!(priorities(&u), [-2, 2]);
    let u = s
        .update_with_change_set(&changes(&[(1, 1), (2, 1)]))
        .unwrap();
    // Window 4: ratio 203 / 4 = 50.
    assert_eq!(priorities(&u), [-2, 2]);
    assert_eq!(priorities(&u.next_height()), [-1, 1]);

    // Removing the heavy validator: {v3: 1000, v1: 1, v2: 1} -> [1, 1, -2]; without v3,
    // [1, 1] centred to [0, 0], then v1 wins the tie.
    let s = set(&[(3, 1000), (1, 1), (2, 1)]);
    assert_eq!(priorities(&s), [1, 1, -2]);
    let u = s.update_with_change_set(&changes(&[(3, 0)])).unwrap();
    assert_eq!(priorities(&u), [0, 0]);
    let next = u.next_height();
    assert_eq!(priorities(&next), [-1, 1]);
    assert_eq!(next.proposer_id(Round(0)), v(1));
}

#[test]
fn membership_is_sorted_by_id_with_powers() {
    let s = set(&[(3, 30), (1, 10), (2, 20)]);
    assert_eq!(s.membership(), vec![(v(1), 10), (v(2), 20), (v(3), 30)]);
}

#[test]
fn validator_update_scale_roundtrip() {
    use parity_scale_codec::{Decode, Encode};
    let u = ValidatorUpdate {
        id: v(1),
        voting_power: 7,
    };
    assert_eq!(ValidatorUpdate::decode(&mut &u.encode()[..]).unwrap(), u);
}

/// A change set over the pool: per id, none, a removal (0) or a power.
fn change_set() -> impl Strategy<Value = Vec<(usize, u64)>> {
    prop::collection::btree_map(1usize..=20, prop_oneof![Just(0u64), 1u64..1_000], 0..8)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Over a chain of heights with random change sets (CometBFT's `updateState`:
    /// `update_with_change_set(..)?.next_height()`), the result matches a model of the
    /// membership, priorities stay centred and within the window, joiners start level, and
    /// invalid change sets are refused naming the cause.
    #[test]
    fn change_sets_keep_cometbft_invariants(
        start in prop::collection::btree_map(1usize..=20, 1u64..1_000, 1..8),
        steps in prop::collection::vec((change_set(), 0u32..20), 1..12),
    ) {
        let start: Vec<(usize, u64)> = start.into_iter().collect();
        let mut model: BTreeMap<usize, u64> = start.iter().copied().collect();
        let mut s = set(&start);
        for (update, elections) in steps {
            for _ in 0..elections {
                s = s.next_height();
            }
            let removes_stranger = update.iter().any(|(k, p)| *p == 0 && !model.contains_key(k));
            let mut after = model.clone();
            for (k, p) in &update {
                if *p == 0 { after.remove(k); } else { after.insert(*k, *p); }
            }
            let removals = update.iter().filter(|(_, p)| *p == 0).count();
            let joins = update.iter().any(|(k, p)| *p > 0 && !model.contains_key(k));
            match s.update_with_change_set(&changes(&update)) {
                Ok(u) => {
                    prop_assert!(!removes_stranger && !after.is_empty());
                    let expected: Vec<(usize, u64)> = after.iter().map(|(k, p)| (*k, *p)).collect();
                    prop_assert_eq!(u.membership(), membership(&expected));
                    assert_scaled_and_centred(&u);
                    let joined: Vec<i64> = u.validators().iter()
                        .filter(|v| s.index_of(&v.id).is_none())
                        .map(|v| v.proposer_priority)
                        .collect();
                    prop_assert!(joined.windows(2).all(|w| w[0] == w[1]));
                    let next = u.next_height();
                    assert_centred_within(&next, 3);
                    s = next;
                    model = after;
                }
                Err(e) => {
                    let expected = if !joins && removals == model.len() {
                        ValidatorSetError::ChangeEmptiesSet
                    } else {
                        let stranger = update.iter()
                            .find(|(k, p)| *p == 0 && !model.contains_key(k))
                            .map(|(k, _)| *k);
                        prop_assert!(stranger.is_some(), "refused {:?}: {:?}", update, e);
                        ValidatorSetError::RemovesNonMember(v(stranger.unwrap_or_default()))
                    };
                    prop_assert_eq!(e, expected);
                }
            }
        }
    }
}
