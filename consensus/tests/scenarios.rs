//! One test per rule of Algorithm 1 ("The latest gossip on BFT consensus"), named after its
//! lines. Each builds inputs by hand and asserts the exact effects.

mod common;

use common::*;
use cvm_consensus::*;

fn bcast(v: SignedVote) -> Effect<TestValue> {
    Effect::BroadcastVote(v)
}

#[test]
fn l11_l21_start_round_non_proposer_schedules_propose_timeout() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (d, fx) = f.started(me);
    assert_eq!(
        fx,
        vec![
            Effect::PersistToWal(WalEntry::StartHeight {
                height: H1,
                validators: f.set.clone()
            }),
            f.schedule(TimeoutKind::Propose, 0),
        ]
    );
    assert_eq!((d.round(), d.step()), (r(0), Step::Propose));
}

#[test]
fn l11_l18_l19_proposer_asks_for_value_then_proposes_and_prevotes_it() {
    let f = Fixture::new(4);
    let me = f.proposer(0);
    let (mut d, fx) = f.started(me);
    assert_eq!(
        no_wal(fx),
        vec![
            Effect::RequestValue {
                height: H1,
                round: r(0),
                timeout: ms(3000)
            },
            f.schedule(TimeoutKind::Propose, 0),
        ]
    );
    let fx = d
        .handle(Input::ProposeValue {
            height: H1,
            round: r(0),
            value: TestValue(7),
        })
        .unwrap();
    let proposal = f.proposal(0, 7, None);
    let prevote = f.prevote(me, 0, id(7));
    // WAL before every broadcast; the own proposal goes straight through L22.
    assert_eq!(
        fx,
        vec![
            Effect::PersistToWal(WalEntry::ProposeValue {
                height: H1,
                round: r(0),
                value: TestValue(7)
            }),
            Effect::PersistToWal(WalEntry::Signed(SignedMessage::Proposal(proposal.clone()))),
            Effect::BroadcastProposal(proposal),
            Effect::PersistToWal(WalEntry::Signed(SignedMessage::Vote(prevote))),
            bcast(prevote),
        ]
    );
    // A second value for the same round is not proposed.
    assert!(
        feed(
            &mut d,
            Input::ProposeValue {
                height: H1,
                round: r(0),
                value: TestValue(8)
            }
        )
        .is_empty()
    );
}

#[test]
fn l22_l24_prevote_for_valid_proposal_after_host_validation() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    let p = f.proposal(0, 5, None);
    assert_eq!(
        feed(&mut d, Input::Proposal(p.clone())),
        vec![Effect::ValidateValue {
            height: H1,
            round: r(0),
            value: TestValue(5)
        }]
    );
    assert_eq!(feed(&mut d, valid(5)), vec![bcast(f.prevote(me, 0, id(5)))]);
    assert_eq!(d.step(), Step::Prevote);
}

#[test]
fn l22_l26_prevote_nil_for_invalid_proposal() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    feed(&mut d, Input::Proposal(f.proposal(0, 5, None)));
    assert_eq!(
        feed(&mut d, invalid(5)),
        vec![bcast(f.prevote(me, 0, None))]
    );
}

/// Drives `me` (not proposer of round 0) to lock on value `v` in round 0.
fn locked_in_round_0(f: &Fixture, me: usize, v: u64) -> Driver<TestValue> {
    let (mut d, _) = f.started(me);
    feed_all(&mut d, [Input::Proposal(f.proposal(0, v, None)), valid(v)]);
    let others = f.others(me);
    let fx = feed_all(
        &mut d,
        others[..2]
            .iter()
            .map(|o| Input::Vote(f.prevote(*o, 0, id(v)))),
    );
    assert_eq!(
        fx,
        vec![
            f.schedule(TimeoutKind::Prevote, 0),
            bcast(f.precommit(me, 0, id(v)))
        ]
    );
    assert_eq!(d.round_state().locked_round, Some(r(0)));
    d
}

/// Moves from `round` to `round + 1` through 2f+1 nil precommits and the precommit timeout.
fn next_round(
    f: &Fixture,
    d: &mut Driver<TestValue>,
    me: usize,
    round: u32,
) -> Vec<Effect<TestValue>> {
    let mut fx = feed_all(
        d,
        f.others(me)
            .iter()
            .map(|o| Input::Vote(f.precommit(*o, round, None))),
    );
    fx.extend(feed(
        d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Precommit, round)),
    ));
    assert_eq!(d.round(), r(round + 1));
    fx
}

#[test]
fn l22_l26_prevote_nil_when_locked_on_another_value() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0, 1]);
    let mut d = locked_in_round_0(&f, me, 1);
    next_round(&f, &mut d, me, 0);
    feed(&mut d, Input::Proposal(f.proposal(1, 2, None)));
    assert_eq!(feed(&mut d, valid(2)), vec![bcast(f.prevote(me, 1, None))]);
}

#[test]
fn l22_l24_prevote_for_the_locked_value_when_reproposed_without_valid_round() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0, 1]);
    let mut d = locked_in_round_0(&f, me, 1);
    next_round(&f, &mut d, me, 0);
    // Value 1 is already known valid: no second validation request.
    assert_eq!(
        feed(&mut d, Input::Proposal(f.proposal(1, 1, None))),
        vec![bcast(f.prevote(me, 1, id(1)))]
    );
}

#[test]
fn l28_l30_unlock_on_polka_newer_than_lock() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0, 1, 2]);
    let mut d = locked_in_round_0(&f, me, 1);
    next_round(&f, &mut d, me, 0);
    // Round 1: we never see its proposal; the others form a polka for value 2.
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, 1)),
    );
    for o in f.others(me) {
        feed(&mut d, Input::Vote(f.prevote(o, 1, id(2))));
    }
    // We precommitted nil on timeout, then a round change.
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Prevote, 1)),
    );
    next_round(&f, &mut d, me, 1);
    // Round 2 re-proposes 2 with valid round 1 >= our locked round 0: prevote it.
    feed(&mut d, Input::Proposal(f.proposal(2, 2, Some(1))));
    assert_eq!(feed(&mut d, valid(2)), vec![bcast(f.prevote(me, 2, id(2)))]);
}

#[test]
fn l28_l32_prevote_nil_when_locked_after_the_valid_round() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0, 1, 2]);
    let (mut d, _) = f.started(me);
    let others = f.others(me);
    // Round 0: a polka for 2 that we see only as prevotes (no proposal, we prevote nil).
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, 0)),
    );
    for o in &others {
        feed(&mut d, Input::Vote(f.prevote(*o, 0, id(2))));
    }
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Prevote, 0)),
    );
    next_round(&f, &mut d, me, 0);
    // Round 1: lock on 1.
    feed_all(&mut d, [Input::Proposal(f.proposal(1, 1, None)), valid(1)]);
    let fx = feed_all(
        &mut d,
        others[..2]
            .iter()
            .map(|o| Input::Vote(f.prevote(*o, 1, id(1)))),
    );
    assert!(fx.contains(&bcast(f.precommit(me, 1, id(1)))));
    next_round(&f, &mut d, me, 1);
    // Round 2 re-proposes 2 with valid round 0 < locked round 1: prevote nil.
    feed(&mut d, Input::Proposal(f.proposal(2, 2, Some(0))));
    assert_eq!(feed(&mut d, valid(2)), vec![bcast(f.prevote(me, 2, None))]);
}

#[test]
fn l28_waits_for_the_polka_of_the_valid_round() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0, 1]);
    let (mut d, _) = f.started(me);
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, 0)),
    );
    next_round(&f, &mut d, me, 0);
    feed(&mut d, Input::Proposal(f.proposal(1, 3, Some(0))));
    // Valid, but no polka for 3 in round 0 known: no prevote yet.
    assert!(feed(&mut d, valid(3)).is_empty());
    let others = f.others(me);
    assert!(feed(&mut d, Input::Vote(f.prevote(others[0], 0, id(3)))).is_empty());
    assert!(feed(&mut d, Input::Vote(f.prevote(others[1], 0, id(3)))).is_empty());
    assert_eq!(
        feed(&mut d, Input::Vote(f.prevote(others[2], 0, id(3)))),
        vec![bcast(f.prevote(me, 1, id(3)))]
    );
}

#[test]
fn l34_l35_polka_any_schedules_prevote_timeout_once() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, 0)),
    );
    let o = f.others(me);
    assert!(feed(&mut d, Input::Vote(f.prevote(o[0], 0, id(1)))).is_empty());
    assert_eq!(
        feed(&mut d, Input::Vote(f.prevote(o[1], 0, id(2)))),
        vec![f.schedule(TimeoutKind::Prevote, 0)]
    );
    // "for the first time": a fourth prevote schedules nothing more.
    assert!(feed(&mut d, Input::Vote(f.prevote(o[2], 0, id(3)))).is_empty());
}

#[test]
fn l36_l43_lock_and_precommit_on_polka_for_proposal() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let d = locked_in_round_0(&f, me, 9);
    let st = d.round_state();
    assert_eq!(st.locked_value, id(9));
    assert_eq!(st.valid_value, Some(TestValue(9)));
    assert_eq!(st.valid_round, Some(r(0)));
    assert_eq!(d.step(), Step::Precommit);
}

#[test]
fn l36_l42_polka_after_precommit_step_sets_valid_value_without_locking() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    let o = f.others(me);
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, 0)),
    );
    feed_all(
        &mut d,
        o[..2].iter().map(|x| Input::Vote(f.prevote(*x, 0, id(4)))),
    );
    assert_eq!(
        feed(
            &mut d,
            Input::TimeoutElapsed(f.timeout(TimeoutKind::Prevote, 0))
        ),
        vec![bcast(f.precommit(me, 0, None))]
    );
    // The late proposal and the third prevote complete a polka while in precommit step.
    feed_all(&mut d, [Input::Proposal(f.proposal(0, 4, None)), valid(4)]);
    assert!(feed(&mut d, Input::Vote(f.prevote(o[2], 0, id(4)))).is_empty());
    let st = d.round_state();
    assert_eq!(
        (st.valid_value.clone(), st.valid_round),
        (Some(TestValue(4)), Some(r(0)))
    );
    assert_eq!(st.locked_round, None);
}

#[test]
fn l44_l46_polka_nil_precommits_nil() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    assert_eq!(
        feed(
            &mut d,
            Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, 0))
        ),
        vec![bcast(f.prevote(me, 0, None))]
    );
    let o = f.others(me);
    assert_eq!(
        feed(&mut d, Input::Vote(f.prevote(o[0], 0, None))),
        Vec::<Effect<TestValue>>::new()
    );
    assert_eq!(
        feed(&mut d, Input::Vote(f.prevote(o[1], 0, None))),
        vec![
            f.schedule(TimeoutKind::Prevote, 0),
            bcast(f.precommit(me, 0, None))
        ]
    );
}

#[test]
fn l47_l48_precommit_any_schedules_precommit_timeout_once() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    let o = f.others(me);
    assert!(feed(&mut d, Input::Vote(f.precommit(o[0], 0, id(1)))).is_empty());
    assert!(feed(&mut d, Input::Vote(f.precommit(o[1], 0, None))).is_empty());
    assert_eq!(
        feed(&mut d, Input::Vote(f.precommit(o[2], 0, id(2)))),
        vec![f.schedule(TimeoutKind::Precommit, 0)]
    );
    assert_eq!(d.step(), Step::Propose, "L47 does not change the step");
}

#[test]
fn l49_l54_decide_on_proposal_and_precommit_quorum() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    let o = f.others(me);
    feed_all(&mut d, [Input::Proposal(f.proposal(0, 6, None)), valid(6)]);
    feed_all(
        &mut d,
        o[..2]
            .iter()
            .map(|x| Input::Vote(f.precommit(*x, 0, id(6)))),
    );
    let fx = feed(&mut d, Input::Vote(f.precommit(o[2], 0, id(6))));
    let [Effect::Decide { value, certificate }] = fx.as_slice() else {
        panic!("expected one Decide, got {fx:?}");
    };
    assert_eq!(value, &TestValue(6));
    assert_eq!((certificate.height, certificate.round), (H1, r(0)));
    assert_eq!(certificate.signatures.len(), 3);
    certificate
        .verify(&f.set, &f.chain, &Ed25519Verifier)
        .unwrap();
    assert_eq!(d.step(), Step::Commit);
    // Nothing fires after the decision.
    assert!(
        feed(
            &mut d,
            Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, 0))
        )
        .is_empty()
    );
}

#[test]
fn l49_decide_for_a_past_round() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0, 1, 2]);
    let (mut d, _) = f.started(me);
    // Rounds 0 and 1 pass on timeouts alone (we saw none of their messages).
    for round in 0..2 {
        feed(
            &mut d,
            Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, round)),
        );
        feed(
            &mut d,
            Input::TimeoutElapsed(f.timeout(TimeoutKind::Prevote, round)),
        );
        feed(
            &mut d,
            Input::TimeoutElapsed(f.timeout(TimeoutKind::Precommit, round)),
        );
    }
    assert_eq!(d.round(), r(2));
    // Round 0's proposal and precommits arrive late: decide for round 0 while in round 2.
    let o = f.others(me);
    feed_all(&mut d, [Input::Proposal(f.proposal(0, 8, None)), valid(8)]);
    feed_all(
        &mut d,
        o[..2]
            .iter()
            .map(|x| Input::Vote(f.precommit(*x, 0, id(8)))),
    );
    let fx = feed(&mut d, Input::Vote(f.precommit(o[2], 0, id(8))));
    assert!(
        matches!(fx.as_slice(), [Effect::Decide { value, certificate }] if *value == TestValue(8) && certificate.round == r(0)),
        "{fx:?}"
    );
}

#[test]
fn l49_no_decision_without_the_proposal() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    let fx = feed_all(
        &mut d,
        f.others(me)
            .iter()
            .map(|x| Input::Vote(f.precommit(*x, 0, id(8)))),
    );
    assert_eq!(fx, vec![f.schedule(TimeoutKind::Precommit, 0)]);
    assert!(d.round_state().decision.is_none());
}

#[test]
fn l55_l56_round_skip_on_f_plus_one_messages_of_a_higher_round() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0, 3]);
    let (mut d, _) = f.started(me);
    let o = f.others(me);
    // One validator (1/4 of the power) is not f+1.
    assert!(feed(&mut d, Input::Vote(f.prevote(o[0], 3, None))).is_empty());
    assert_eq!(d.round(), r(0));
    // Two (1/2) are: jump to round 3.
    assert_eq!(
        feed(&mut d, Input::Vote(f.precommit(o[1], 3, None))),
        vec![f.schedule(TimeoutKind::Propose, 3)]
    );
    assert_eq!((d.round(), d.step()), (r(3), Step::Propose));
}

#[test]
fn l57_l60_timeout_propose_prevotes_nil() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    assert_eq!(
        feed(
            &mut d,
            Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, 0))
        ),
        vec![bcast(f.prevote(me, 0, None))]
    );
    // Stale or repeated timeouts do nothing.
    assert!(
        feed(
            &mut d,
            Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, 0))
        )
        .is_empty()
    );
}

#[test]
fn l61_l64_timeout_prevote_precommits_nil() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, 0)),
    );
    assert_eq!(
        feed(
            &mut d,
            Input::TimeoutElapsed(f.timeout(TimeoutKind::Prevote, 0))
        ),
        vec![bcast(f.precommit(me, 0, None))]
    );
}

#[test]
fn l65_l67_timeout_precommit_starts_next_round() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0, 1]);
    let (mut d, _) = f.started(me);
    assert_eq!(
        feed(
            &mut d,
            Input::TimeoutElapsed(f.timeout(TimeoutKind::Precommit, 0))
        ),
        vec![f.schedule(TimeoutKind::Propose, 1)]
    );
    assert_eq!(d.round(), r(1));
    // Timeouts grow per round.
    assert_eq!(
        TimeoutConfig::default().duration(TimeoutKind::Propose, r(1)),
        ms(3500)
    );
}

/// Hidden lock: some validators locked on v in round 0 while we only learn of the polka
/// after precommitting nil. L36 still records v as validValue, so as proposer of round 1
/// we re-propose v with validRound 0 (L15–16) instead of a fresh value, which lets the
/// locked validators prevote it.
#[test]
fn hidden_lock_is_revealed_through_valid_round() {
    let f = Fixture::new(4);
    let me = f.proposer(1);
    assert_ne!(me, f.proposer(0));
    let (mut d, _) = f.started(me);
    let o = f.others(me);
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, 0)),
    );
    feed_all(
        &mut d,
        o[..2].iter().map(|x| Input::Vote(f.prevote(*x, 0, id(5)))),
    );
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Prevote, 0)),
    );
    assert_eq!(d.step(), Step::Precommit);
    feed_all(&mut d, [Input::Proposal(f.proposal(0, 5, None)), valid(5)]);
    feed(&mut d, Input::Vote(f.prevote(o[2], 0, id(5))));
    assert_eq!(d.round_state().locked_round, None);
    let fx = next_round(&f, &mut d, me, 0);
    let reproposal = Proposal {
        height: H1,
        round: r(1),
        value: TestValue(5),
        pol_round: Some(r(0)),
    }
    .sign(&f.chain, f.signers[me].as_ref());
    assert_eq!(
        fx,
        vec![
            f.schedule(TimeoutKind::Precommit, 0),
            Effect::BroadcastProposal(reproposal),
            // Our own proposal passes L28 at once: we hold the round-0 polka.
            bcast(f.prevote(me, 1, id(5))),
        ]
    );
}

#[test]
fn wal_record_precedes_every_broadcast() {
    let f = Fixture::new(4);
    let me = f.proposer(0);
    let (mut d, _) = f.started(me);
    let mut all = d
        .handle(Input::ProposeValue {
            height: H1,
            round: r(0),
            value: TestValue(1),
        })
        .unwrap();
    for o in f.others(me) {
        all.extend(d.handle(Input::Vote(f.prevote(o, 0, id(1)))).unwrap());
    }
    let mut broadcasts = 0;
    for (i, e) in all.iter().enumerate() {
        let sent = match e {
            Effect::BroadcastProposal(p) => SignedMessage::Proposal(p.clone()),
            Effect::BroadcastVote(v) => SignedMessage::Vote(*v),
            _ => continue,
        };
        broadcasts += 1;
        assert!(i > 0);
        assert_eq!(all[i - 1], Effect::PersistToWal(WalEntry::Signed(sent)));
    }
    assert_eq!(broadcasts, 3, "proposal, prevote, precommit");
}
