use super::*;
use crate::chain::PartSet;

const PART: usize = 1024;
/// 65 parts at most per body: a peer may buffer 65 unvouched parts, all peers 260.
const MAX_BLOCK: u64 = 64 * 1024;

fn pool() -> PartsPool<u32> {
    PartsPool::new(PART, MAX_BLOCK)
}

/// A decodable body of about `parts` parts, distinct per `seed`.
fn body_set(seed: u8, parts: usize) -> (BlockBody, PartSet) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    let tx = cvm_runtime::Transaction {
        chain_id: "c".into(),
        signer: key.verifying_key().to_bytes(),
        nonce: 0,
        payload: cvm_runtime::TxPayload::Ingest {
            source: "s".into(),
            records: vec![vec![seed; parts.saturating_sub(1) * PART]].into(),
        },
    }
    .sign(&key);
    let body = BlockBody {
        source_blocks: Vec::new(),
        txs: vec![tx],
        last_commit: None,
        evidence: Vec::new(),
    };
    let set = PartSet::from_body(&body, PART);
    (body, set)
}

/// One valid-proof part of a junk set: the kind of part anyone can make for a root of their own.
fn junk(seed: u32) -> (PartSetHeader, Part) {
    let bytes: Vec<u8> = (0..3 * PART).map(|i| (i as u32 ^ seed) as u8).collect();
    let set = PartSet::from_bytes(&bytes, PART);
    (set.header(), set.parts()[0].clone())
}

#[test]
fn junk_part_sets_for_roots_no_proposal_names_cannot_displace_the_proposers_parts() {
    let mut pool = pool();
    let stranger = PeerId::random();
    let honest = PeerId::random();
    // Far more junk sets at the height than the pool tracks sets for, each with one part that proves.
    for seed in 0..64 {
        let (header, part) = junk(seed);
        assert_eq!(
            pool.add(5, stranger, seed, (5, 0), header, part),
            Ok(PartOutcome::Buffered),
            "a part no signed proposal vouches for is neither assembled nor relayed"
        );
    }
    let body = BlockBody::default();
    let set = PartSet::from_body(&body, PART);
    pool.vouch((5, 0), 5, 0, set.header());
    for part in set.parts() {
        assert_eq!(
            pool.add(5, honest, 1000, (5, 0), set.header(), part.clone()),
            Ok(PartOutcome::Completed),
            "the proposer's parts are assembled (and relayed: verdict Accept) whatever junk came first"
        );
    }
    assert_eq!(pool.body(&set.header()), Some(&body));
    // Junk keeps arriving after the proposal: still only buffered.
    let (header, part) = junk(999);
    assert_eq!(
        pool.add(5, stranger, 999, (5, 0), header, part),
        Ok(PartOutcome::Buffered)
    );
}

#[test]
fn a_junk_part_claiming_a_signed_part_set_is_rejected() {
    let mut pool = pool();
    let (_, set) = body_set(1, 3);
    pool.vouch((5, 0), 5, 0, set.header());
    let (_, junk_part) = junk(7);
    assert!(
        pool.add(5, PeerId::random(), 1, (5, 0), set.header(), junk_part)
            .is_err(),
        "it does not prove against the root the proposer signed: verdict Reject"
    );
}

#[test]
fn a_strangers_unvouched_parts_are_bounded_per_peer_and_cannot_push_out_an_honest_peers() {
    let mut pool = pool();
    let per_peer = pool.max_unvouched_per_peer();
    const HONEST: u32 = u32::MAX;
    // An honest peer relays a body's parts before its proposal arrives; the body is within the share of the
    // buffer each of the nine peers below keeps (260 / 9 parts).
    let honest = PeerId::random();
    let (_, set) = body_set(3, 20);
    assert!(set.parts().len() <= pool.max_unvouched() / 9);
    for part in set.parts() {
        assert_eq!(
            pool.add(5, honest, HONEST, (5, 1), set.header(), part.clone()),
            Ok(PartOutcome::Buffered)
        );
    }
    // Strangers each push twice their share.
    let strangers: Vec<PeerId> = (0..8).map(|_| PeerId::random()).collect();
    let mut seed = 0;
    for stranger in &strangers {
        for _ in 0..2 * per_peer {
            seed += 1;
            let (header, part) = junk(seed);
            pool.add(5, *stranger, seed, (5, 0), header, part)
                .expect("a junk part proves against its own root");
        }
    }
    assert!(
        pool.unvouched_held() <= pool.max_unvouched(),
        "{} parts held",
        pool.unvouched_held()
    );
    let released = pool.take_released();
    assert!(
        released
            .iter()
            .all(|(ticket, peer)| *peer != honest && *ticket != HONEST),
        "the strangers pushed out only their own parts"
    );
    for stranger in &strangers {
        assert!(pool.unvouched.get(stranger).map_or(0, VecDeque::len) <= per_peer);
    }
    // The proposal arrives: every buffered honest part is assembled, and reported for relay.
    let drained = pool.vouch((5, 1), 5, 1, set.header());
    assert_eq!(drained.len(), set.parts().len());
    assert!(
        drained
            .iter()
            .all(|(ticket, peer, _)| *ticket == HONEST && *peer == honest)
    );
    assert_eq!(
        drained.last().map(|d| &d.2),
        Some(&Ok(PartOutcome::Completed))
    );
    assert!(pool.body(&set.header()).is_some());
    // The strangers' parts never get a relay verdict; they go (Ignore) with their height.
    pool.prune(5);
    assert_eq!(pool.unvouched_held(), 0);
    assert!(
        pool.take_released()
            .iter()
            .all(|(_, peer)| strangers.contains(peer))
    );
}

#[test]
fn completed_bodies_are_bounded() {
    let mut pool = pool();
    let proposer_peer = PeerId::random();
    for i in 0..(MAX_BODIES as u8 + 5) {
        let (_, set) = body_set(i, 1);
        pool.vouch((5, u32::from(i)), 5, u32::from(i), set.header());
        let outcome = pool.add(
            5,
            proposer_peer,
            0,
            (5, u32::from(i)),
            set.header(),
            set.parts()[0].clone(),
        );
        assert!(outcome.is_ok(), "{outcome:?}");
        pool.insert_body(
            6,
            PartSet::from_bytes(&[i; 9], PART).header(),
            BlockBody::default(),
        );
    }
    assert_eq!(pool.bodies_held(), MAX_BODIES);
}

#[test]
fn a_faulty_proposer_of_future_rounds_cannot_push_out_the_round_in_progress() {
    let mut pool = pool();
    let (body, set) = (
        BlockBody::default(),
        PartSet::from_body(&BlockBody::default(), PART),
    );
    pool.vouch((5, 3), 5, 3, set.header());
    for round in 4..40 {
        let (header, _) = junk(round);
        pool.vouch((5, 3), 5, round, header);
    }
    assert_eq!(
        pool.add(
            5,
            PeerId::random(),
            0,
            (5, 3),
            set.header(),
            set.parts()[0].clone()
        ),
        Ok(PartOutcome::Completed)
    );
    assert_eq!(pool.body(&set.header()), Some(&body));
}

#[test]
fn parts_outside_the_height_window_or_with_bad_proofs_are_refused() {
    let mut pool = pool();
    let peer = PeerId::random();
    let set = PartSet::from_body(&BlockBody::default(), PART);
    assert_eq!(
        pool.add(5, peer, 0, (9, 0), set.header(), set.parts()[0].clone()),
        Ok(PartOutcome::Ignored)
    );
    assert_eq!(
        pool.add(5, peer, 0, (4, 0), set.header(), set.parts()[0].clone()),
        Ok(PartOutcome::Ignored)
    );
    let other = PartSet::from_bytes(&[7u8; 3000], PART);
    let mut bad = other.parts()[1].clone();
    bad.bytes[0] ^= 1;
    assert!(
        pool.add(5, peer, 0, (6, 0), other.header(), bad).is_err(),
        "a part that does not prove against its own root is refused even unvouched"
    );
    let huge = PartSetHeader {
        total: 10_000,
        root: [1; 32],
    };
    assert!(matches!(
        pool.add(5, peer, 0, (6, 0), huge, other.parts()[0].clone()),
        Err(PartError::TooManyParts(_))
    ));
    pool.insert_body(5, set.header(), BlockBody::default());
    pool.insert_body(6, other.header(), BlockBody::default());
    pool.prune(5);
    assert_eq!(
        pool.bodies_held(),
        1,
        "the height-5 body goes with its height"
    );
    pool.prune(6);
    assert_eq!(pool.bodies_held(), 0);
}
