//! The host's validity verdicts: a `false` can be transient (clock drift, a storage error),
//! so it holds for the round it was asked in only; a `true` holds for the height.

mod common;

use common::*;
use cvm_consensus::*;

fn asks(fx: &[Effect<TestValue>], round: u32, value: u64) -> bool {
    fx.contains(&Effect::ValidateValue {
        height: H1,
        round: r(round),
        value: TestValue(value),
    })
}

/// Round 0: the host refuses value 1 (its clock is behind, say) and everyone moves on.
/// Round 1 proposes value 1 again: the engine asks again, the host now accepts, and the
/// height is decided.
#[test]
fn invalid_verdict_flipping_to_valid_in_a_later_round_leads_to_a_decision() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0, 1]);
    let (mut d, _) = f.started(me);
    let o = f.others(me);
    let fx = d.handle(Input::Proposal(f.proposal(0, 1, None))).unwrap();
    assert!(asks(&fx, 0, 1));
    let fx = feed(&mut d, invalid(1));
    assert_eq!(fx, vec![Effect::BroadcastVote(f.prevote(me, 0, None))]);
    feed_all(
        &mut d,
        o.iter().map(|x| Input::Vote(f.prevote(*x, 0, None))),
    );
    feed_all(
        &mut d,
        o.iter().map(|x| Input::Vote(f.precommit(*x, 0, None))),
    );
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Precommit, 0)),
    );
    assert_eq!(d.round(), r(1));

    let fx = d.handle(Input::Proposal(f.proposal(1, 1, None))).unwrap();
    assert!(
        asks(&fx, 1, 1),
        "a stale `false` must be asked again: {fx:?}"
    );
    let fx = feed(&mut d, valid(1));
    assert_eq!(fx, vec![Effect::BroadcastVote(f.prevote(me, 1, id(1)))]);
    feed_all(
        &mut d,
        o.iter().map(|x| Input::Vote(f.prevote(*x, 1, id(1)))),
    );
    let fx = feed_all(
        &mut d,
        o.iter().map(|x| Input::Vote(f.precommit(*x, 1, id(1)))),
    );
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Decide { value, .. } if *value == TestValue(1))),
        "{fx:?}"
    );
}

/// Within the round it was asked in, a `false` stands: no second question, nil prevote.
#[test]
fn invalid_verdict_holds_within_its_round_and_valid_for_the_height() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0, 1]);
    let (mut d, _) = f.started(me);
    d.handle(Input::Proposal(f.proposal(0, 1, None))).unwrap();
    feed(&mut d, invalid(1));
    // A second verdict for the same question changes nothing.
    assert!(d.handle(valid(1)).unwrap().is_empty());
    assert_eq!(
        d.vote_keeper()
            .unwrap()
            .tally(r(0), VoteKind::Prevote)
            .get(&f.vid(me))
            .map(|v| v.vote.value),
        Some(None)
    );
    // Value 2 is valid in round 0; proposed again in round 1 it is not asked again.
    let (mut d, _) = f.started(me);
    d.handle(Input::Proposal(f.proposal(0, 2, None))).unwrap();
    feed(&mut d, valid(2));
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Prevote, 0)),
    );
    let o = f.others(me);
    feed_all(
        &mut d,
        o.iter().map(|x| Input::Vote(f.precommit(*x, 0, None))),
    );
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Precommit, 0)),
    );
    let fx = d.handle(Input::Proposal(f.proposal(1, 2, None))).unwrap();
    assert!(!asks(&fx, 1, 2), "{fx:?}");
}

/// Everyone else decided value 1 in round 0 while our host refused it: in the next round
/// the engine asks again (L49 needs valid(v)), and decides once the host accepts.
#[test]
fn refused_value_with_a_precommit_quorum_is_asked_again_in_the_next_round() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0, 1]);
    let (mut d, _) = f.started(me);
    let o = f.others(me);
    d.handle(Input::Proposal(f.proposal(0, 1, None))).unwrap();
    feed(&mut d, invalid(1));
    feed_all(
        &mut d,
        o.iter().map(|x| Input::Vote(f.prevote(*x, 0, id(1)))),
    );
    let fx = d
        .handle(Input::Votes(
            o.iter().map(|x| f.precommit(*x, 0, id(1))).collect(),
        ))
        .unwrap();
    assert!(!asks(&fx, 0, 1), "same round: the `false` stands");
    let fx = d
        .handle(Input::TimeoutElapsed(f.timeout(TimeoutKind::Precommit, 0)))
        .unwrap();
    assert!(asks(&fx, 1, 1), "{fx:?}");
    let fx = feed(&mut d, valid(1));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Decide { value, .. } if *value == TestValue(1))),
        "{fx:?}"
    );
}
