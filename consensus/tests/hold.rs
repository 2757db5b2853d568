//! `Config::hold_round_zero`: round 0 of a height waits for the host's begin (it has work, or
//! its idle interval passed) or for a proposal or vote of that height from a validator; rounds
//! after 0, catch-up commits and the WAL replay are unaffected.

mod common;

use common::*;
use cvm_consensus::*;

fn held_config(f: &Fixture) -> Config {
    let mut cfg = f.config();
    cfg.hold_round_zero = true;
    cfg
}

/// A held driver for `me` at height 1, with its start effects.
fn held(f: &Fixture, me: usize) -> (Driver<TestValue>, Vec<Effect<TestValue>>) {
    let mut d = f.driver_with(me, held_config(f));
    let fx = d
        .handle(Input::StartHeight {
            height: H1,
            validators: f.set.clone(),
        })
        .unwrap();
    (d, fx)
}

fn begin(height: u64) -> Input<TestValue> {
    Input::BeginRoundZero {
        height: Height(height),
    }
}

#[test]
fn a_held_height_starts_round_zero_only_on_the_hosts_begin() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, fx) = held(&f, me);
    assert_eq!(no_wal(fx), vec![], "no propose timer while held");
    assert!(d.awaiting_begin());
    assert_eq!(d.step(), Step::NewHeight);
    // A begin for another height does nothing (and is not logged).
    assert!(d.handle(begin(2)).unwrap().is_empty());
    assert!(d.awaiting_begin());
    let fx = d.handle(begin(1)).unwrap();
    assert_eq!(
        fx,
        vec![
            Effect::PersistToWal(WalEntry::BeginRoundZero { height: H1 }),
            f.schedule(TimeoutKind::Propose, 0),
        ]
    );
    assert!(!d.awaiting_begin());
    assert_eq!((d.round(), d.step()), (r(0), Step::Propose));
    // A second begin is no input at all.
    assert!(d.handle(begin(1)).unwrap().is_empty());
}

#[test]
fn the_proposer_asks_for_its_value_when_it_begins() {
    let f = Fixture::new(4);
    let me = f.proposer(0);
    let (mut d, fx) = held(&f, me);
    assert!(!fx.iter().any(|e| matches!(e, Effect::RequestValue { .. })));
    let fx = feed(&mut d, begin(1));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::RequestValue { height, round, .. } if *height == H1 && *round == r(0))),
        "{fx:?}"
    );
}

#[test]
fn a_vote_or_proposal_of_the_height_begins_round_zero() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let other = f.others(me)[0];
    // A nil prevote: another validator's propose timer ran out, so it began.
    let (mut d, _) = held(&f, me);
    let fx = feed(&mut d, Input::Vote(f.prevote(other, 0, None)));
    assert_eq!(fx, vec![f.schedule(TimeoutKind::Propose, 0)]);
    assert!(!d.awaiting_begin());

    // The proposer's proposal: round 0 begins and, the value valid, this node prevotes it.
    let (mut d, _) = held(&f, me);
    let fx = feed(&mut d, Input::Proposal(f.proposal(0, 7, None)));
    assert_eq!(d.step(), Step::Propose);
    assert!(fx.contains(&f.schedule(TimeoutKind::Propose, 0)), "{fx:?}");
    let fx = feed(&mut d, valid(7));
    assert_eq!(fx, vec![Effect::BroadcastVote(f.prevote(me, 0, id(7)))]);
}

#[test]
fn a_refused_message_begins_nothing() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = held(&f, me);
    let mut forged = f.prevote(f.others(me)[0], 0, None);
    forged.signature.0[3] ^= 1;
    assert!(matches!(
        d.handle_with_outcome(Input::Vote(forged)).unwrap().1,
        Admission::Rejected(_)
    ));
    assert!(d.awaiting_begin());
    // Not signed by round 0's proposer.
    let wrong = Proposal {
        height: H1,
        round: r(0),
        value: TestValue(1),
        pol_round: None,
    }
    .sign(&f.chain, f.signers[me].as_ref());
    assert!(matches!(
        d.handle_with_outcome(Input::Proposal(wrong)).unwrap().1,
        Admission::Rejected(_)
    ));
    assert!(d.awaiting_begin());
    // A vote of the next height is buffered for it: this height still waits.
    let ahead = Vote::new(
        VoteKind::Prevote,
        Height(2),
        r(0),
        None,
        f.vid(f.others(me)[0]),
    )
    .sign(&f.chain, f.signers[f.others(me)[0]].as_ref());
    assert_eq!(
        d.handle_with_outcome(Input::Vote(ahead)).unwrap().1,
        Admission::Buffered
    );
    assert!(d.awaiting_begin());
    // And a duplicate of a message that began nothing (it was refused) still begins nothing.
    assert!(matches!(
        d.handle_with_outcome(Input::Vote(forged)).unwrap().1,
        Admission::Rejected(_)
    ));
    assert!(d.awaiting_begin());
}

#[test]
fn a_vote_buffered_for_the_next_height_begins_it_when_it_starts() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = held(&f, me);
    feed(&mut d, begin(1));
    let o = f.others(me);
    let next = f.set.next_height();
    // Someone already at height 2 prevoted there.
    let early = Vote::new(VoteKind::Prevote, Height(2), r(0), None, f.vid(o[0]))
        .sign(&f.chain, f.signers[o[0]].as_ref());
    feed(&mut d, Input::Vote(early));
    let precommits: Vec<SignedVote> = o.iter().map(|x| f.precommit(*x, 0, id(1))).collect();
    let cert = CommitCertificate::from_precommits(H1, r(0), TestValue(1).id(), &f.set, &precommits);
    feed(
        &mut d,
        Input::Commit {
            value: TestValue(1),
            certificate: cert,
        },
    );
    feed(
        &mut d,
        Input::StartHeight {
            height: Height(2),
            validators: next,
        },
    );
    assert!(!d.awaiting_begin());
    assert_eq!((d.height(), d.step()), (Height(2), Step::Propose));
}

#[test]
fn the_block_interval_and_the_hold_both_pass_before_round_zero() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let mut cfg = held_config(&f);
    cfg.timeouts.block_interval = Some(ms(500));
    let mut d = f.driver_with(me, cfg);
    feed(
        &mut d,
        Input::StartHeight {
            height: H1,
            validators: f.set.clone(),
        },
    );
    feed(&mut d, begin(1));
    let o = f.others(me);
    let precommits: Vec<SignedVote> = o.iter().map(|x| f.precommit(*x, 0, id(1))).collect();
    let cert = CommitCertificate::from_precommits(H1, r(0), TestValue(1).id(), &f.set, &precommits);
    feed(
        &mut d,
        Input::Commit {
            value: TestValue(1),
            certificate: cert,
        },
    );
    let h2 = Height(2);
    let pause = Timeout {
        height: h2,
        round: r(0),
        kind: TimeoutKind::NewHeight,
    };
    let start = || Input::StartHeight {
        height: h2,
        validators: f.set.next_height(),
    };
    let mut begun_first = f.driver_with(me, d.config().clone());
    // Work first: round 0 still waits for the pause.
    let fx = feed(&mut d, start());
    assert_eq!(
        fx,
        vec![Effect::ScheduleTimeout {
            timeout: pause,
            duration: ms(500)
        }]
    );
    feed(&mut d, begin(2));
    assert_eq!(d.step(), Step::NewHeight);
    feed(&mut d, Input::TimeoutElapsed(pause));
    assert_eq!((d.height(), d.step()), (h2, Step::Propose));

    // The pause first: round 0 still waits for the begin.
    feed(
        &mut begun_first,
        Input::StartHeight {
            height: H1,
            validators: f.set.clone(),
        },
    );
    feed(&mut begun_first, begin(1));
    let precommits: Vec<SignedVote> = o.iter().map(|x| f.precommit(*x, 0, id(1))).collect();
    let cert = CommitCertificate::from_precommits(H1, r(0), TestValue(1).id(), &f.set, &precommits);
    feed(
        &mut begun_first,
        Input::Commit {
            value: TestValue(1),
            certificate: cert,
        },
    );
    feed(&mut begun_first, start());
    feed(&mut begun_first, Input::TimeoutElapsed(pause));
    assert!(begun_first.awaiting_begin());
    feed(&mut begun_first, begin(2));
    assert_eq!(begun_first.step(), Step::Propose);
}

#[test]
fn a_held_height_still_takes_a_catch_up_commit() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = held(&f, me);
    let precommits: Vec<SignedVote> = f
        .others(me)
        .iter()
        .map(|x| f.precommit(*x, 0, id(4)))
        .collect();
    let cert = CommitCertificate::from_precommits(H1, r(0), TestValue(4).id(), &f.set, &precommits);
    let fx = feed(
        &mut d,
        Input::Commit {
            value: TestValue(4),
            certificate: cert.clone(),
        },
    );
    assert_eq!(
        fx,
        vec![Effect::Decide {
            value: TestValue(4),
            certificate: cert
        }]
    );
}

#[test]
fn later_rounds_are_not_held() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0, 1]);
    let (mut d, _) = held(&f, me);
    feed(&mut d, begin(1));
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, 0)),
    );
    let o = f.others(me);
    for x in &o {
        feed(&mut d, Input::Vote(f.prevote(*x, 0, None)));
    }
    feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Prevote, 0)),
    );
    for x in &o {
        feed(&mut d, Input::Vote(f.precommit(*x, 0, None)));
    }
    let fx = feed(
        &mut d,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Precommit, 0)),
    );
    assert_eq!((d.round(), d.step()), (r(1), Step::Propose));
    assert!(fx.contains(&f.schedule(TimeoutKind::Propose, 1)), "{fx:?}");
    assert!(!d.awaiting_begin());
}

#[test]
fn replay_restores_whether_round_zero_began() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let start = WalEntry::StartHeight {
        height: H1,
        validators: f.set.clone(),
    };
    // Crashed while held: still held after the replay.
    let mut d = f.driver_with(me, held_config(&f));
    d.replay(vec![start.clone()]).unwrap();
    assert!(d.awaiting_begin());
    // Crashed after the host's begin: round 0 again, and its timer.
    let mut d = f.driver_with(me, held_config(&f));
    let fx = d
        .replay(vec![start.clone(), WalEntry::BeginRoundZero { height: H1 }])
        .unwrap();
    assert_eq!(d.step(), Step::Propose);
    assert_eq!(fx, vec![f.schedule(TimeoutKind::Propose, 0)]);
    // Crashed after a peer's vote began it: the vote's record begins it again.
    let mut d = f.driver_with(me, held_config(&f));
    d.replay(vec![
        start,
        WalEntry::Vote(f.prevote(f.others(me)[0], 0, None)),
    ])
    .unwrap();
    assert_eq!(d.step(), Step::Propose);
}

#[test]
fn without_the_hold_round_zero_starts_at_once() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (d, fx) = f.started(me);
    assert_eq!(no_wal(fx), vec![f.schedule(TimeoutKind::Propose, 0)]);
    assert!(!d.awaiting_begin());
}
