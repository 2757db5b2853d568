//! WAL format (torn tail vs corrupt middle), the file-backed WAL, and crash recovery: a
//! restarted node rebuilds its state and never signs a conflicting message.

mod common;

use std::fs::OpenOptions;
use std::io::Write;

use common::*;
use cvm_consensus::wal::{decode_entries, decode_records, encode_record};
use cvm_consensus::*;

fn entries(f: &Fixture) -> Vec<WalEntry<TestValue>> {
    vec![
        WalEntry::StartHeight {
            height: H1,
            validators: f.set.clone(),
        },
        WalEntry::Proposal(f.proposal(0, 1, None)),
        WalEntry::Vote(f.prevote(1, 0, id(1))),
        WalEntry::Timeout(f.timeout(TimeoutKind::Propose, 0)),
    ]
}

fn write_all(f: &Fixture, path: &std::path::Path) {
    let (mut wal, got) = FileWal::open::<TestValue>(path).unwrap();
    assert!(got.is_empty());
    for e in entries(f) {
        Wal::<TestValue>::append(&mut wal, &e).unwrap();
    }
    Wal::<TestValue>::sync(&mut wal).unwrap();
}

#[test]
fn file_wal_roundtrip() {
    let f = Fixture::new(4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal");
    write_all(&f, &path);
    let (_, got) = FileWal::open::<TestValue>(&path).unwrap();
    assert_eq!(got, entries(&f));
}

#[test]
fn torn_tail_is_truncated_and_the_log_stays_usable() {
    let f = Fixture::new(4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal");
    write_all(&f, &path);
    let full = std::fs::metadata(&path).unwrap().len();
    let last = encode_record(&parity_scale_codec::Encode::encode(&entries(&f)[3])).len() as u64;
    // Every cut inside the last record leaves the first three entries.
    for cut in [1, 4, 8, last - 1] {
        write_all(&f, &dir.path().join(format!("w{cut}")));
        let p = dir.path().join(format!("w{cut}"));
        OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(full - cut)
            .unwrap();
        let (mut wal, got) = FileWal::open::<TestValue>(&p).unwrap();
        assert_eq!(got, entries(&f)[..3], "cut {cut}");
        assert_eq!(
            std::fs::metadata(&p).unwrap().len(),
            full - last,
            "torn bytes removed"
        );
        // Appending after recovery yields a clean log.
        Wal::<TestValue>::append(&mut wal, &entries(&f)[3]).unwrap();
        drop(wal);
        assert_eq!(FileWal::open::<TestValue>(&p).unwrap().1, entries(&f));
    }
}

#[test]
fn bad_crc_on_the_last_record_is_a_torn_tail() {
    let f = Fixture::new(4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal");
    write_all(&f, &path);
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let (_, got) = FileWal::open::<TestValue>(&path).unwrap();
    assert_eq!(got, entries(&f)[..3]);
}

#[test]
fn corrupt_middle_is_refused_loudly() {
    let f = Fixture::new(4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal");
    write_all(&f, &path);
    let mut bytes = std::fs::read(&path).unwrap();
    // Flip a payload byte of the first record.
    bytes[10] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    match FileWal::open::<TestValue>(&path) {
        Err(WalError::Corrupt { offset, .. }) => assert_eq!(offset, 0),
        other => panic!("expected corruption error, got {:?}", other.map(|(_, e)| e)),
    }
    // The file is left untouched for inspection.
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn absurd_length_is_corruption_not_a_torn_tail() {
    let mut bytes = encode_record(b"hello");
    let mut bogus = vec![0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0];
    bogus.extend_from_slice(b"x");
    bytes.extend_from_slice(&bogus);
    assert!(matches!(
        decode_records(&bytes),
        Err(WalError::Corrupt { offset: 13, .. })
    ));
    // A short header at the end is a torn tail.
    let mut torn = encode_record(b"hello");
    torn.extend_from_slice(&[1, 0, 0]);
    let d = decode_records(&torn).unwrap();
    assert_eq!((d.payloads, d.valid_len), (vec![&b"hello"[..]], 13));
}

#[test]
fn undecodable_record_is_an_error() {
    let bytes = encode_record(&[0xee, 1, 2]);
    assert!(matches!(
        decode_entries::<TestValue>(&bytes),
        Err(WalError::Decode { offset: 0, .. })
    ));
}

/// Runs a driver, appending every `PersistToWal` record to a file WAL, as a host would.
fn run_with_wal(
    d: &mut Driver<TestValue>,
    wal: &mut FileWal,
    input: Input<TestValue>,
) -> Vec<Effect<TestValue>> {
    let fx = d.handle(input).unwrap();
    for e in &fx {
        if let Effect::PersistToWal(entry) = e {
            Wal::<TestValue>::append(wal, entry).unwrap();
        }
    }
    Wal::<TestValue>::sync(wal).unwrap();
    no_wal(fx)
}

#[test]
fn restart_rebuilds_lock_and_never_signs_a_conflicting_vote() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0, 1]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal");
    let o = f.others(me);
    {
        let (mut wal, _) = FileWal::open::<TestValue>(&path).unwrap();
        let mut d = f.driver(me);
        run_with_wal(
            &mut d,
            &mut wal,
            Input::StartHeight {
                height: H1,
                validators: f.set.clone(),
            },
        );
        run_with_wal(&mut d, &mut wal, Input::Proposal(f.proposal(0, 1, None)));
        run_with_wal(&mut d, &mut wal, valid(1));
        for x in &o[..2] {
            run_with_wal(&mut d, &mut wal, Input::Vote(f.prevote(*x, 0, id(1))));
        }
        assert_eq!(d.round_state().locked_value, id(1));
        // Crash: the driver is dropped; a torn half-record is left at the end of the file.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[40, 0, 0, 0, 1, 2]).unwrap();
    }
    let (mut wal, entries) = FileWal::open::<TestValue>(&path).unwrap();
    let mut d = f.driver(me);
    let fx = d.replay(entries).unwrap();
    // State is back: round 0, precommit step, locked on 1.
    assert_eq!((d.round(), d.step()), (r(0), Step::Precommit));
    assert_eq!(d.round_state().locked_value, id(1));
    assert_eq!(d.round_state().locked_round, Some(r(0)));
    // The replay re-sends what we had signed (same signatures).
    assert!(fx.contains(&Effect::BroadcastVote(f.prevote(me, 0, id(1)))));
    assert!(fx.contains(&Effect::BroadcastVote(f.precommit(me, 0, id(1)))));
    // Timeouts of round 0 cannot make us sign a nil prevote or precommit now.
    let after = run_with_wal(
        &mut d,
        &mut wal,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, 0)),
    );
    assert!(after.is_empty());
    let after = run_with_wal(
        &mut d,
        &mut wal,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Prevote, 0)),
    );
    assert!(after.is_empty());
    // Round 1 proposes another value: the restored lock makes us prevote nil.
    run_with_wal(
        &mut d,
        &mut wal,
        Input::TimeoutElapsed(f.timeout(TimeoutKind::Precommit, 0)),
    );
    run_with_wal(&mut d, &mut wal, Input::Proposal(f.proposal(1, 2, None)));
    let fx = run_with_wal(&mut d, &mut wal, valid(2));
    assert_eq!(fx, vec![Effect::BroadcastVote(f.prevote(me, 1, None))]);
}

#[test]
fn replay_refuses_to_sign_differently_from_the_wal() {
    // The WAL says we prevoted nil in round 0 (e.g. written by an older binary); replaying
    // inputs that would now make us prevote value 1 must not produce that second prevote.
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let nil = f.prevote(me, 0, None);
    let entries = vec![
        WalEntry::StartHeight {
            height: H1,
            validators: f.set.clone(),
        },
        WalEntry::Signed(SignedMessage::Vote(nil)),
        WalEntry::Proposal(f.proposal(0, 1, None)),
        WalEntry::ValidityVerdict {
            height: H1,
            value_id: TestValue(1).id(),
            valid: true,
        },
    ];
    let mut d = f.driver(me);
    let fx = d.replay(entries).unwrap();
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::BroadcastVote(v) if v.vote.kind == VoteKind::Prevote && v.vote.value.is_some())),
        "{fx:?}"
    );
    // And live inputs cannot make it sign either: the slot is taken.
    let fx = d
        .handle(Input::TimeoutElapsed(f.timeout(TimeoutKind::Propose, 0)))
        .unwrap();
    assert!(fx.iter().all(|e| !matches!(e, Effect::BroadcastVote(v) if v.vote.kind == VoteKind::Prevote && v.vote != nil.vote)));
}

#[test]
fn clear_empties_the_file() {
    let f = Fixture::new(4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal");
    write_all(&f, &path);
    let (mut wal, got) = FileWal::open::<TestValue>(&path).unwrap();
    assert_eq!(got.len(), 4);
    Wal::<TestValue>::clear(&mut wal).unwrap();
    Wal::<TestValue>::append(&mut wal, &entries(&f)[0]).unwrap();
    drop(wal);
    assert_eq!(
        FileWal::open::<TestValue>(&path).unwrap().1,
        entries(&f)[..1]
    );
}

/// A crash after an input's record was durable but before the record of what it made us
/// sign: replaying signs again, and that message must get its WAL record before it leaves.
#[test]
fn replay_persists_what_it_signs_before_broadcasting_it() {
    let f = Fixture::new(4);
    let me = f.non_proposer(&[0]);
    let (mut d, _) = f.started(me);
    let mut durable = Vec::new();
    for input in [Input::Proposal(f.proposal(0, 1, None)), valid(1)] {
        for e in d.handle(input).unwrap() {
            // The unsynced tail is lost: keep input records, drop what we signed.
            if let Effect::PersistToWal(entry) = e
                && !matches!(entry, WalEntry::Signed(_))
            {
                durable.push(entry);
            }
        }
    }
    let mut entries = vec![WalEntry::StartHeight {
        height: H1,
        validators: f.set.clone(),
    }];
    entries.extend(durable);
    let mut restarted = f.driver(me);
    let fx = restarted.replay(entries).unwrap();
    let prevote = f.prevote(me, 0, id(1));
    let sent = fx
        .iter()
        .position(|e| *e == Effect::BroadcastVote(prevote))
        .expect("the replay prevotes again");
    let logged = fx
        .iter()
        .position(|e| *e == Effect::PersistToWal(WalEntry::Signed(SignedMessage::Vote(prevote))));
    assert!(
        logged.is_some_and(|l| l < sent),
        "broadcast without a WAL record first: {fx:?}"
    );
}
