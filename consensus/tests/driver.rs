//! Driver behaviour around the rules: evidence, duplicates, buffering, signature checks,
//! catch-up commits, block interval and batch verification.

mod common;

use common::*;
use cvm_consensus::*;

#[test]
fn equivocating_votes_yield_verifiable_evidence_once() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    let x = f.others(me)[0];
    let a = f.prevote(x, 0, id(1));
    let b = f.prevote(x, 0, None);
    assert!(feed(&mut d, Input::Vote(a)).is_empty());
    let fx = feed(&mut d, Input::Vote(b));
    assert_eq!(
        fx,
        vec![Effect::ReportEvidence(DuplicateVoteEvidence::new(a, b))]
    );
    let Effect::ReportEvidence(ev) = &fx[0] else {
        unreachable!()
    };
    ev.verify(&f.set, &f.chain, &Ed25519Verifier).unwrap();
    // A third conflicting vote from the same validator reports nothing new.
    assert!(feed(&mut d, Input::Vote(f.prevote(x, 0, id(2)))).is_empty());
    // Precommits are another slot: a new offence.
    feed(&mut d, Input::Vote(f.precommit(x, 0, id(1))));
    assert_eq!(feed(&mut d, Input::Vote(f.precommit(x, 0, id(3)))).len(), 1);
}

#[test]
fn evidence_verification_rejects_forgeries() {
    let f = Fixture::new(4);
    let a = f.prevote(0, 0, id(1));
    let b = f.prevote(0, 0, None);
    let v = Ed25519Verifier;
    assert_eq!(
        DuplicateVoteEvidence::new(a, a).verify(&f.set, &f.chain, &v),
        Err(EvidenceError::SameValue)
    );
    assert_eq!(
        DuplicateVoteEvidence::new(a, f.prevote(1, 0, None)).verify(&f.set, &f.chain, &v),
        Err(EvidenceError::DifferentValidators)
    );
    assert_eq!(
        DuplicateVoteEvidence::new(a, f.prevote(0, 1, None)).verify(&f.set, &f.chain, &v),
        Err(EvidenceError::DifferentSlots)
    );
    let mut forged = b;
    forged.signature.0[0] ^= 1;
    assert_eq!(
        DuplicateVoteEvidence::new(a, forged).verify(&f.set, &f.chain, &v),
        Err(EvidenceError::InvalidSignature)
    );
    // Signed for another chain: invalid here.
    assert_eq!(
        DuplicateVoteEvidence::new(a, b).verify(&f.set, &ChainId::new("other"), &v),
        Err(EvidenceError::InvalidSignature)
    );
    DuplicateVoteEvidence::new(a, b)
        .verify(&f.set, &f.chain, &v)
        .unwrap();
}

#[test]
fn duplicate_votes_are_ignored() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    let v = f.prevote(f.others(me)[0], 0, id(1));
    let first = d.handle(Input::Vote(v)).unwrap();
    assert_eq!(first, vec![Effect::PersistToWal(WalEntry::Vote(v))]);
    assert!(d.handle(Input::Vote(v)).unwrap().is_empty());
    assert_eq!(
        d.vote_keeper()
            .unwrap()
            .tally(r(0), VoteKind::Prevote)
            .total_power(),
        1
    );
}

#[test]
fn bad_signatures_wrong_proposer_and_other_chains_are_dropped() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    let mut v = f.prevote(f.others(me)[0], 0, id(1));
    v.signature.0[5] ^= 0x40;
    assert!(d.handle(Input::Vote(v)).unwrap().is_empty());
    // Proposal signed by a validator that is not the proposer of round 0.
    let not_proposer = f.others(f.proposer(0))[0];
    let p = Proposal {
        height: H1,
        round: r(0),
        value: TestValue(1),
        pol_round: None,
    }
    .sign(&f.chain, f.signers[not_proposer].as_ref());
    assert!(d.handle(Input::Proposal(p)).unwrap().is_empty());
    // Signed by the proposer, but its valid round is not below its round.
    assert!(
        d.handle(Input::Proposal(f.proposal(0, 1, Some(0))))
            .unwrap()
            .is_empty()
    );
    // Valid signature, but for another chain id.
    let other = Vote::new(VoteKind::Prevote, H1, r(0), id(1), f.vid(f.others(me)[0])).sign(
        &ChainId::new("other-chain"),
        f.signers[f.others(me)[0]].as_ref(),
    );
    assert!(d.handle(Input::Vote(other)).unwrap().is_empty());
    // A vote from outside the validator set.
    let outsider = Ed25519Signer::from_seed([99; 32]);
    let o = Vote::new(VoteKind::Prevote, H1, r(0), None, outsider.validator_id())
        .sign(&f.chain, &outsider);
    assert!(d.handle(Input::Vote(o)).unwrap().is_empty());
    assert_eq!(
        d.vote_keeper()
            .unwrap()
            .tally(r(0), VoteKind::Prevote)
            .total_power(),
        0
    );
}

#[test]
fn future_heights_are_buffered_within_bound_and_past_heights_dropped() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    let x = f.others(me)[0];
    let at = |h: u64| {
        Vote::new(VoteKind::Prevote, Height(h), r(0), None, f.vid(x))
            .sign(&f.chain, f.signers[x].as_ref())
    };
    assert!(d.handle(Input::Vote(at(2))).unwrap().is_empty());
    assert!(d.handle(Input::Vote(at(3))).unwrap().is_empty());
    // max_future_heights = 2: height 4 is too far ahead.
    assert!(d.handle(Input::Vote(at(4))).unwrap().is_empty());
    assert_eq!(d.buffered_messages(), 2);
    let fx = d
        .handle(Input::StartHeight {
            height: Height(2),
            validators: f.set.next_height(),
        })
        .unwrap();
    // The buffered height-2 vote is processed (and logged) when height 2 starts.
    assert!(fx.contains(&Effect::PersistToWal(WalEntry::Vote(at(2)))));
    assert_eq!(d.buffered_messages(), 1);
    // Height 1 is now the past.
    assert!(d.handle(Input::Vote(at(1))).unwrap().is_empty());
    assert_eq!(
        d.handle(Input::StartHeight {
            height: Height(2),
            validators: f.set.clone()
        }),
        Err(DriverError::HeightNotIncreasing {
            current: Height(2),
            requested: Height(2)
        })
    );
}

#[test]
fn buffer_is_capped() {
    let f = Fixture::new(4);
    let mut cfg = f.config();
    cfg.max_buffered_messages = 3;
    let me = f.non_proposer(&[0]);
    let mut d = f.driver_with(me, cfg);
    d.handle(Input::StartHeight {
        height: H1,
        validators: f.set.clone(),
    })
    .unwrap();
    for (i, x) in f.others(me).into_iter().enumerate() {
        for round in 0..2 {
            let v = Vote::new(VoteKind::Prevote, Height(2), r(round), None, f.vid(x))
                .sign(&f.chain, f.signers[x].as_ref());
            d.handle(Input::Vote(v)).unwrap();
        }
        assert_eq!(d.buffered_messages(), ((i + 1) * 2).min(3));
    }
}

#[test]
fn rounds_too_far_ahead_are_dropped() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    let o = f.others(me);
    let far = d.config().max_future_rounds + 1;
    for x in &o[..2] {
        assert!(
            d.handle(Input::Vote(f.prevote(*x, far, None)))
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(
        d.round(),
        r(0),
        "f+1 votes beyond the window must not skip rounds"
    );
}

#[test]
fn commit_certificate_from_peers_decides_and_forgeries_are_rejected() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let precommits: Vec<SignedVote> = f
        .others(me)
        .iter()
        .map(|x| f.precommit(*x, 2, id(3)))
        .collect();
    let cert = CommitCertificate::from_precommits(H1, r(2), TestValue(3).id(), &f.set, &precommits);
    // Forged: one signature broken.
    let (mut d, _) = f.started(me);
    let mut bad = cert.clone();
    bad.signatures[1].signature.0[0] ^= 1;
    assert!(
        feed(
            &mut d,
            Input::Commit {
                value: TestValue(3),
                certificate: bad
            }
        )
        .is_empty()
    );
    // Value does not match the certificate.
    assert!(
        feed(
            &mut d,
            Input::Commit {
                value: TestValue(4),
                certificate: cert.clone()
            }
        )
        .is_empty()
    );
    assert_eq!(
        feed(
            &mut d,
            Input::Commit {
                value: TestValue(3),
                certificate: cert.clone()
            }
        ),
        vec![Effect::Decide {
            value: TestValue(3),
            certificate: cert
        }]
    );
    assert_eq!(d.step(), Step::Commit);
}

#[test]
fn block_interval_delays_round_zero_of_the_next_height() {
    let f = Fixture::new(4);
    let mut cfg = f.config();
    cfg.timeouts.block_interval = Some(ms(1000));
    let me = f.non_proposer(&[0]);
    let mut d = f.driver_with(me, cfg);
    // The first height starts at once.
    let fx = no_wal(
        d.handle(Input::StartHeight {
            height: H1,
            validators: f.set.clone(),
        })
        .unwrap(),
    );
    assert_eq!(fx, vec![f.schedule(TimeoutKind::Propose, 0)]);
    let precommits: Vec<SignedVote> = f
        .others(me)
        .iter()
        .map(|x| f.precommit(*x, 0, id(1)))
        .collect();
    let cert = CommitCertificate::from_precommits(H1, r(0), TestValue(1).id(), &f.set, &precommits);
    feed(
        &mut d,
        Input::Commit {
            value: TestValue(1),
            certificate: cert,
        },
    );
    let next = f.set.next_height();
    let fx = no_wal(
        d.handle(Input::StartHeight {
            height: Height(2),
            validators: next.clone(),
        })
        .unwrap(),
    );
    let wait = Timeout {
        height: Height(2),
        round: r(0),
        kind: TimeoutKind::NewHeight,
    };
    assert_eq!(
        fx,
        vec![Effect::ScheduleTimeout {
            timeout: wait,
            duration: ms(1000)
        }]
    );
    assert_eq!(d.step(), Step::NewHeight);
    let fx = feed(&mut d, Input::TimeoutElapsed(wait));
    assert_eq!(d.step(), Step::Propose);
    let me_proposes = next.proposer(r(0)) as usize == me;
    assert_eq!(
        fx.iter().any(|e| matches!(e, Effect::RequestValue { .. })),
        me_proposes
    );
}

#[test]
fn batch_votes_drop_only_the_bad_signature() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    let o = f.others(me);
    let mut votes: Vec<SignedVote> = o.iter().map(|x| f.prevote(*x, 0, None)).collect();
    votes[1].signature.0[9] ^= 2;
    d.handle(Input::Votes(votes)).unwrap();
    let tally = d.vote_keeper().unwrap().tally(r(0), VoteKind::Prevote);
    assert_eq!(tally.total_power(), 2);
    assert!(tally.get(&f.vid(o[1])).is_none());
}

#[test]
fn observer_decides_without_signing() {
    let f = Fixture::new(4);
    let outsider = std::sync::Arc::new(Ed25519Signer::from_seed([77; 32]));
    let mut d: Driver<TestValue> =
        Driver::new(f.config(), outsider, std::sync::Arc::new(Ed25519Verifier));
    d.handle(Input::StartHeight {
        height: H1,
        validators: f.set.clone(),
    })
    .unwrap();
    let mut fx = feed_all(&mut d, [Input::Proposal(f.proposal(0, 2, None)), valid(2)]);
    fx.extend(feed_all(
        &mut d,
        (0..3).map(|x| Input::Vote(f.precommit(x, 0, id(2)))),
    ));
    assert!(
        fx.iter()
            .all(|e| !matches!(e, Effect::BroadcastVote(_) | Effect::BroadcastProposal(_)))
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::Decide { .. })));
}

/// Ed25519 checks, counted (singles and batch items alike).
#[derive(Clone, Default)]
struct Counted(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Counted {
    fn checks(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl SignatureVerifier for Counted {
    fn verify(
        &self,
        key: &ed25519_dalek::VerifyingKey,
        message: &[u8],
        signature: &SignatureBytes,
    ) -> bool {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ed25519Verifier.verify(key, message, signature)
    }

    fn verify_batch(&self, items: &[VerifyItem<'_>]) -> bool {
        self.0
            .fetch_add(items.len(), std::sync::atomic::Ordering::Relaxed);
        Ed25519Verifier.verify_batch(items)
    }
}

#[test]
fn certificates_checked_together_are_answered_from_the_cache_and_a_forgery_is_still_found() {
    let f = Fixture::new(4);
    let certificate = |round: u32, signers: &[usize]| {
        let precommits: Vec<SignedVote> = signers
            .iter()
            .map(|x| f.precommit(*x, round, id(round as u64)))
            .collect();
        CommitCertificate::from_precommits(
            H1,
            r(round),
            TestValue(round as u64).id(),
            &f.set,
            &precommits,
        )
    };
    let certs: Vec<CommitCertificate> =
        (0..3).map(|round| certificate(round, &[0, 1, 2])).collect();

    let counted = Counted::default();
    let verifier = CachingVerifier::new(counted.clone());
    assert!(CommitCertificate::verify_signatures_together(
        &certs, &f.set, &f.chain, &verifier
    ));
    assert_eq!(counted.checks(), 9, "one batch of every signature");
    for cert in &certs {
        cert.verify(&f.set, &f.chain, &verifier).unwrap();
    }
    assert_eq!(
        counted.checks(),
        9,
        "each certificate answered from the cache"
    );

    // One forged signature: the joint check fails, and the certificates' own checks tell which is bad.
    let mut forged = certs.clone();
    forged[1].signatures[2].signature.0[0] ^= 1;
    let verifier = CachingVerifier::new(Counted::default());
    assert!(!CommitCertificate::verify_signatures_together(
        &forged, &f.set, &f.chain, &verifier
    ));
    forged[0].verify(&f.set, &f.chain, &verifier).unwrap();
    assert_eq!(
        forged[1].verify(&f.set, &f.chain, &verifier),
        Err(CertificateError::InvalidSignature(2))
    );
    forged[2].verify(&f.set, &f.chain, &verifier).unwrap();
}

/// An equivocator's votes beyond the keeper's per-slot cap: the same one fed twice must not
/// be verified, logged or acted on again, and the host must be told to drop it.
#[test]
fn over_cap_equivocation_vote_fed_twice_is_a_duplicate_without_effects() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    let x = f.others(me)[0];
    // The cap is 4 values per (round, kind): nil and values 1..=3 fill it.
    d.handle(Input::Vote(f.prevote(x, 0, None))).unwrap();
    for v in 1..=3 {
        d.handle(Input::Vote(f.prevote(x, 0, id(v)))).unwrap();
    }
    let over_cap = f.prevote(x, 0, id(9));
    let first = d.handle(Input::Vote(over_cap)).unwrap();
    assert!(first.is_empty(), "beyond the cap: no WAL record: {first:?}");
    let (second, outcome) = d.handle_with_outcome(Input::Vote(over_cap)).unwrap();
    assert!(second.is_empty(), "{second:?}");
    assert_eq!(outcome, Admission::Duplicate);
    // A vote seen before is a duplicate too; a new one is accepted.
    let (_, again) = d
        .handle_with_outcome(Input::Vote(f.prevote(x, 0, None)))
        .unwrap();
    assert_eq!(again, Admission::Duplicate);
    let (_, fresh) = d
        .handle_with_outcome(Input::Vote(f.prevote(f.others(me)[1], 0, None)))
        .unwrap();
    assert_eq!(fresh, Admission::Accepted);
}

/// A proposal whose round is `u32::MAX`, for the current or a later height, is refused by
/// the round window before any proposer is computed: no priority increment is spent on it,
/// even for a set whose priority cycle is far longer than any round.
#[test]
fn proposal_with_round_u32_max_is_refused_in_constant_time() {
    let f = Fixture::new(4);
    let powers = [1_000_000_007u64, 999_999_937, 3, 17];
    let set = ValidatorSet::new(
        f.signers
            .iter()
            .zip(powers)
            .map(|(s, p)| (s.validator_id(), p)),
    )
    .unwrap();
    let me = 0;
    let mut d = f.driver(me);
    d.handle(Input::StartHeight {
        height: H1,
        validators: set.clone(),
    })
    .unwrap();
    let forged_max = |height: u64| {
        Proposal {
            height: Height(height),
            round: Round(u32::MAX),
            value: TestValue(1),
            pol_round: None,
        }
        .sign(&f.chain, f.signers[1].as_ref())
    };
    let before = cvm_consensus::validator::priority_steps();
    let (fx, outcome) = d
        .handle_with_outcome(Input::Proposal(forged_max(1)))
        .unwrap();
    assert!(fx.is_empty());
    assert_eq!(
        outcome,
        Admission::Rejected(MessageError::RoundTooFarAhead(Round(u32::MAX)))
    );
    let (_, outcome) = d
        .handle_with_outcome(Input::Proposal(forged_max(2)))
        .unwrap();
    assert!(matches!(outcome, Admission::Rejected(_)), "{outcome:?}");
    // Starting height 2 (the proposer of its round 0 is computed, nothing more).
    d.handle(Input::StartHeight {
        height: Height(2),
        validators: set.next_height(),
    })
    .unwrap();
    let work = cvm_consensus::validator::priority_steps() - before;
    assert!(
        work <= 1,
        "{work} priority increments spent on a round-u32::MAX proposal"
    );
}

fn future_prevote(f: &Fixture, who: usize, round: u32) -> SignedVote {
    Vote::new(VoteKind::Prevote, Height(2), r(round), None, f.vid(who))
        .sign(&f.chain, f.signers[who].as_ref())
}

/// One validator floods the future buffer: it cannot push out what another validator
/// buffered within its share, and the other can still buffer.
#[test]
fn future_flood_from_one_sender_does_not_evict_another_senders_message() {
    let f = Fixture::new(4);
    let mut cfg = f.config();
    cfg.max_buffered_messages = 8; // a share of 2 per validator
    cfg.max_future_rounds = 100;
    let me = f.non_proposer(&[0]);
    let mut d = f.driver_with(me, cfg);
    d.handle(Input::StartHeight {
        height: H1,
        validators: f.set.clone(),
    })
    .unwrap();
    let o = f.others(me);
    let (flooder, honest, late) = (o[0], o[1], o[2]);
    let early = future_prevote(&f, honest, 0);
    assert_eq!(
        d.handle_with_outcome(Input::Vote(early)).unwrap().1,
        Admission::Buffered
    );
    for round in 0..50 {
        d.handle(Input::Vote(future_prevote(&f, flooder, round)))
            .unwrap();
    }
    assert_eq!(d.buffered_messages(), 8);
    // Another validator below its share still gets in, at the flooder's expense.
    assert_eq!(
        d.handle_with_outcome(Input::Vote(future_prevote(&f, late, 0)))
            .unwrap()
            .1,
        Admission::Buffered
    );
    let fx = d
        .handle(Input::StartHeight {
            height: Height(2),
            validators: f.set.next_height(),
        })
        .unwrap();
    assert!(
        fx.contains(&Effect::PersistToWal(WalEntry::Vote(early))),
        "the honest early vote survived the flood"
    );
}

/// Future-height votes with a bad signature, or from outside the set, take no room.
#[test]
fn unsigned_or_forged_future_messages_take_no_room() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    let x = f.others(me)[0];
    let mut forged = future_prevote(&f, x, 0);
    forged.signature.0[3] ^= 1;
    let (_, outcome) = d.handle_with_outcome(Input::Vote(forged)).unwrap();
    assert_eq!(
        outcome,
        Admission::Rejected(MessageError::InvalidSignature("vote"))
    );
    let mut unsigned = future_prevote(&f, x, 1);
    unsigned.signature = SignatureBytes([0; 64]);
    d.handle(Input::Vote(unsigned)).unwrap();
    let outsider = Ed25519Signer::from_seed([99; 32]);
    let o = Vote::new(
        VoteKind::Prevote,
        Height(2),
        r(0),
        None,
        outsider.validator_id(),
    )
    .sign(&f.chain, &outsider);
    d.handle(Input::Vote(o)).unwrap();
    assert_eq!(d.buffered_messages(), 0);
}
