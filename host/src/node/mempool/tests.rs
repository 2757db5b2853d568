//! Admission, reaping and pruning, and the gossip window as the pool drives it.

use std::sync::Arc;

use cvm_runtime::{SignedTransaction, Transaction, TxPayload, VerifiedTxs};
use ed25519_dalek::SigningKey;
use parity_scale_codec::Encode;
use parking_lot::Mutex;

use super::test_txs::ingest_tx;
use super::*;

fn tx(key: &SigningKey, nonce: u64, chain: &str) -> SignedTransaction {
    ingest_tx(key, nonce, chain)
}

fn pool() -> Mempool {
    Mempool::new("c".into(), 4, 10_000, 1_000)
}

#[test]
fn client_transactions_are_gossiped_within_the_window_and_relayed_ones_not_at_all() {
    let key = SigningKey::from_bytes(&[7; 32]);
    let txs: Vec<_> = (0..4).map(|n| tx(&key, n, "c")).collect();
    let size = txs[0].encode().len();
    // Room for two transactions in flight.
    let mut pool = Mempool::new("c".into(), 10, 10_000, 1_000).with_gossip_window(2 * size);
    let hashes: Vec<TxHash> = txs
        .iter()
        .map(|t| pool.admit(&t.encode(), |_| 0).unwrap())
        .collect();
    let now = std::time::Instant::now();
    assert_eq!(pool.gossip_due(now), hashes[..2]);
    assert!(pool.gossip_due(now).is_empty());
    assert_eq!(pool.gossip_waiting(), 2);
    // What is published is the transaction's encoding: it decodes to the same id.
    let bytes = pool.encoded(&hashes[0]).unwrap();
    assert_eq!(
        SignedTransaction::decode_bytes(&bytes).unwrap().hash(),
        hashes[0]
    );
    // A block commits the first three (this node proposed the third before it was gossiped): the fourth
    // is due, the third never.
    pool.update(&hashes[..3], |_| 3);
    assert_eq!(pool.gossip_due(now), hashes[3..]);
    assert_eq!(pool.gossip_waiting(), 0);

    // Relayed transactions were gossiped by their origin; gossipsub forwards them, not the pool.
    let other = SigningKey::from_bytes(&[8; 32]);
    let mut pool = Mempool::new("c".into(), 10, 10_000, 1_000).with_gossip_window(2 * size);
    pool.admit_from(Origin::Relayed, &tx(&other, 0, "c").encode(), |_| 0)
        .unwrap();
    assert!(pool.gossip_due(now).is_empty());
    assert_eq!(pool.gossip_waiting(), 0);
}

#[test]
fn admission_records_valid_signatures_for_execution_and_not_invalid_ones() {
    let key = SigningKey::from_bytes(&[1; 32]);
    let verified = Arc::new(VerifiedTxs::new());
    let mut pool = pool().with_verified_txs(verified.clone());
    let t0 = tx(&key, 0, "c");
    pool.admit(&t0.encode(), |_| 0).unwrap();
    assert_eq!(verified.checks(), 1);
    // What block execution then asks: answered without a second check.
    verified.verify(&t0, &t0.hash()).unwrap();
    assert_eq!(verified.checks(), 1);
    let mut bad = tx(&key, 1, "c");
    bad.signature[0] ^= 1;
    assert!(matches!(
        pool.admit(&bad.encode(), |_| 0),
        Err(AdmitError::BadSignature(_))
    ));
    assert!(verified.verify(&bad, &bad.hash()).is_err());
    assert_eq!(verified.checks(), 3);
}

#[test]
fn admits_in_nonce_order_and_rejects_with_reasons() {
    let key = SigningKey::from_bytes(&[1; 32]);
    let mut pool = pool();
    let t0 = tx(&key, 0, "c").encode();
    pool.admit(&t0, |_| 0).unwrap();
    assert!(matches!(
        pool.admit(&t0, |_| 0),
        Err(AdmitError::Duplicate(_))
    ));
    let e = pool.admit(&tx(&key, 5, "c").encode(), |_| 0).unwrap_err();
    assert_eq!(
        e,
        AdmitError::WrongNonce {
            expected: 1,
            found: 5
        }
    );
    let e = pool
        .admit(&tx(&key, 1, "other").encode(), |_| 0)
        .unwrap_err();
    assert!(matches!(e, AdmitError::WrongChain { .. }));
    let mut bad = tx(&key, 1, "c");
    bad.signature[0] ^= 1;
    assert!(matches!(
        pool.admit(&bad.encode(), |_| 0),
        Err(AdmitError::BadSignature(_))
    ));
    assert!(matches!(
        pool.admit(&[1, 2, 3], |_| 0),
        Err(AdmitError::Undecodable(_))
    ));
    assert!(matches!(
        pool.admit(&vec![0; 2000], |_| 0),
        Err(AdmitError::TooLarge { .. })
    ));
    pool.admit(&tx(&key, 1, "c").encode(), |_| 0).unwrap();
    assert_eq!(pool.len(), 2);
}

#[test]
fn full_pool_rejects() {
    let mut pool = pool();
    for i in 0..4u8 {
        let key = SigningKey::from_bytes(&[i + 1; 32]);
        pool.admit(&tx(&key, 0, "c").encode(), |_| 0).unwrap();
    }
    let key = SigningKey::from_bytes(&[9; 32]);
    assert!(matches!(
        pool.admit(&tx(&key, 0, "c").encode(), |_| 0),
        Err(AdmitError::Full { .. })
    ));
}

#[test]
fn checks_run_apart_from_the_pool_and_a_full_pool_refuses_before_them() {
    let key = SigningKey::from_bytes(&[3; 32]);
    let mut pool = Mempool::new("c".into(), 2, 10_000, 1_000);
    let check = pool.check.clone();
    let t0 = check.check(&tx(&key, 0, "c").encode()).expect("valid");
    assert!(matches!(
        check.check(&tx(&key, 0, "other").encode()),
        Err(AdmitError::WrongChain { .. })
    ));
    assert!(matches!(
        check.check(&[0xff; 3]),
        Err(AdmitError::Undecodable(_))
    ));
    assert!(pool.is_empty(), "checking admits nothing");
    let again = check.check(&tx(&key, 0, "c").encode()).unwrap();
    pool.admit_checked(Origin::Client, t0, |_| 0).unwrap();
    assert!(matches!(
        pool.admit_checked(Origin::Client, again, |_| 0),
        Err(AdmitError::Duplicate(_))
    ));
    pool.admit(&tx(&key, 1, "c").encode(), |_| 0).unwrap();
    // Two transactions: full by count, whatever the bytes would have been.
    assert!(matches!(
        pool.has_room_for(1),
        Err(AdmitError::Full { txs: 2, .. })
    ));
    // Shared behind its lock, a full pool answers "full" before looking at the bytes.
    let shared = Mutex::new(pool);
    assert!(matches!(
        Mempool::admit_shared(&shared, Origin::Relayed, &[0xff; 3], |_| 0),
        Err(AdmitError::Full { txs: 2, .. })
    ));
}

#[test]
fn reap_respects_limits_and_update_drops_included_and_stale() {
    let a = SigningKey::from_bytes(&[1; 32]);
    let b = SigningKey::from_bytes(&[2; 32]);
    let mut pool = Mempool::new("c".into(), 100, 100_000, 1_000);
    let txs = [tx(&a, 0, "c"), tx(&b, 0, "c"), tx(&a, 1, "c")];
    for t in &txs {
        pool.admit(&t.encode(), |_| 0).unwrap();
    }
    assert_eq!(pool.reap(usize::MAX, 100, |_| 0), txs.to_vec());
    assert_eq!(pool.reap(usize::MAX, 2, |_| 0), txs[..2].to_vec());
    let one = txs[0].encode().len();
    assert_eq!(pool.reap(one, 100, |_| 0), txs[..1].to_vec());
    // One record each: a budget of 2 records takes two transactions; a budget of 0 still takes the first.
    assert_eq!(
        pool.reap_within(usize::MAX, 100, 2, |_| 0),
        txs[..2].to_vec()
    );
    assert_eq!(
        pool.reap_within(usize::MAX, 100, 0, |_| 0),
        txs[..1].to_vec()
    );
    // Block included a's nonce 0 only; b's committed nonce moved on by another node's tx.
    pool.update(&[txs[0].hash()], |_| 1);
    assert_eq!(pool.len(), 1);
    assert!(pool.contains(&txs[2].hash()));
    assert_eq!(pool.next_nonce(&a.verifying_key().to_bytes(), 1), 2);
}

#[test]
fn relayed_transactions_may_arrive_out_of_order_and_wait_for_the_gap() {
    let a = SigningKey::from_bytes(&[1; 32]);
    let b = SigningKey::from_bytes(&[2; 32]);
    let mut pool = Mempool::new("c".into(), 100, 100_000, 1_000);
    let a_txs: Vec<_> = (0..4).map(|n| tx(&a, n, "c")).collect();
    let b0 = tx(&b, 0, "c");
    let relay_at = |pool: &mut Mempool, t: &SignedTransaction, committed: u64| {
        pool.admit_from(Origin::Relayed, &t.encode(), |_| committed)
    };
    let relay = |pool: &mut Mempool, t: &SignedTransaction| relay_at(pool, t, 0);
    // a's 2 and 3 arrive before its 0 and 1; a client could not do that.
    relay(&mut pool, &a_txs[2]).unwrap();
    relay(&mut pool, &a_txs[3]).unwrap();
    assert!(matches!(
        pool.admit(&tx(&a, 5, "c").encode(), |_| 0),
        Err(AdmitError::WrongNonce {
            expected: 0,
            found: 5
        })
    ));
    relay(&mut pool, &b0).unwrap();
    assert_eq!(pool.next_nonce(&a.verifying_key().to_bytes(), 0), 0);
    assert_eq!(
        pool.reap(usize::MAX, 100, |_| 0),
        vec![b0.clone()],
        "a waits for its nonce 0"
    );
    relay(&mut pool, &a_txs[0]).unwrap();
    assert_eq!(
        pool.reap(usize::MAX, 100, |_| 0),
        vec![b0.clone(), a_txs[0].clone()],
        "a's 2 and 3 still wait for 1"
    );
    relay(&mut pool, &a_txs[1]).unwrap();
    assert_eq!(pool.next_nonce(&a.verifying_key().to_bytes(), 0), 4);
    // Arrival order, except that a's 2 and 3 (which came first) follow a's 1 at once.
    assert_eq!(
        pool.reap(usize::MAX, 100, |_| 0),
        [vec![b0.clone()], a_txs.clone()].concat()
    );
    // A nonce already pending, a stale one and one beyond the window are refused.
    let other_2 = Transaction {
        chain_id: "c".into(),
        signer: a.verifying_key().to_bytes(),
        nonce: 2,
        payload: TxPayload::Ingest {
            source: "other".into(),
            records: Default::default(),
        },
    }
    .sign(&a);
    assert!(relay(&mut pool, &other_2).is_err());
    pool.update(&[a_txs[0].hash()], |_| 1);
    assert!(relay_at(&mut pool, &a_txs[0], 1).is_err(), "stale");
    assert!(relay_at(&mut pool, &tx(&a, 4 + RELAY_NONCE_WINDOW, "c"), 1).is_err());
    assert!(
        relay_at(&mut pool, &tx(&a, 4, "c"), 1).is_ok(),
        "next after the pending run"
    );
    // A gap left after a commit does not drop what waits behind it.
    let mut gapped = Mempool::new("c".into(), 100, 100_000, 1_000);
    relay_at(&mut gapped, &a_txs[3], 1).unwrap();
    gapped.update(&[], |_| 1);
    assert_eq!(gapped.len(), 1);
    assert!(gapped.reap(usize::MAX, 100, |_| 1).is_empty());
}

#[test]
fn a_ready_transaction_is_work_and_signals_it_and_a_gapped_one_is_neither() {
    use futures::FutureExt;
    let a = SigningKey::from_bytes(&[3; 32]);
    let signal = Arc::new(tokio::sync::Notify::new());
    let mut pool = Mempool::new("c".into(), 100, 100_000, 1_000).with_ready_signal(signal.clone());
    let signalled = || signal.notified().now_or_never().is_some();
    assert!(!pool.has_ready());
    let txs: Vec<_> = (0..2).map(|n| tx(&a, n, "c")).collect();
    // Nonce 1 first: it waits behind the gap at 0, so no block could take it.
    pool.admit_from(Origin::Relayed, &txs[1].encode(), |_| 0)
        .unwrap();
    assert!(!pool.has_ready());
    assert!(!signalled());
    // A refused transaction signals nothing either.
    assert!(pool.admit(&tx(&a, 7, "c").encode(), |_| 0).is_err());
    assert!(!signalled());
    // Nonce 0 fills the gap: both are ready, and the loop is told once.
    pool.admit_from(Origin::Relayed, &txs[0].encode(), |_| 0)
        .unwrap();
    assert!(pool.has_ready());
    assert!(signalled());
    assert!(!signalled(), "one permit, taken");
    // Committed: nothing left to do.
    pool.update(&[txs[0].hash(), txs[1].hash()], |_| 2);
    assert!(!pool.has_ready());
    // A client's transaction at the next nonce is work at once.
    pool.admit(&tx(&a, 2, "c").encode(), |_| 2).unwrap();
    assert!(pool.has_ready() && signalled());
}

/// A 32-byte value that is not an ed25519 public key (found by search, so the test does not depend on a
/// hand-picked constant).
fn not_a_public_key() -> [u8; 32] {
    (0..=255u8)
        .map(|b| [b; 32])
        .find(|k| ed25519_dalek::VerifyingKey::from_bytes(k).is_err())
        .expect("some repeated byte is not a curve point")
}

/// Every refusal at admission: the variant, words of its message, and a pool left exactly as it was.
#[test]
fn every_refusal_is_named_and_leaves_the_pool_unchanged() {
    let key = SigningKey::from_bytes(&[1; 32]);
    let mut pool = pool();
    // The account's committed nonce is 3; nonce 3 is admitted first.
    let committed = |_: &[u8; 32]| 3;
    pool.admit(&tx(&key, 3, "c").encode(), committed).unwrap();
    let before = (pool.len(), pool.bytes());

    let valid = tx(&key, 4, "c");
    let encoded = valid.encode();
    // The payload's enum tag follows chain id, signer and nonce.
    let tag_at = (&valid.tx.chain_id, valid.tx.signer, valid.tx.nonce)
        .encode()
        .len();
    let mut unknown_kind = encoded.clone();
    unknown_kind[tag_at] = 7;
    let mut trailing = encoded.clone();
    trailing.push(0);
    let mut bad_sig = valid.clone();
    bad_sig.signature[10] ^= 0x40;
    let mut bad_signer = valid.clone();
    bad_signer.tx.signer = not_a_public_key();
    let other_payload_at_3 = Transaction {
        chain_id: "c".into(),
        signer: key.verifying_key().to_bytes(),
        nonce: 3,
        payload: TxPayload::Ingest {
            source: "other".into(),
            records: Default::default(),
        },
    }
    .sign(&key)
    .encode();
    let oversized = Transaction {
        chain_id: "c".into(),
        signer: key.verifying_key().to_bytes(),
        nonce: 4,
        payload: TxPayload::Ingest {
            source: "s".into(),
            records: vec![vec![0; 1_000]].into(),
        },
    }
    .sign(&key)
    .encode();

    let cases: Vec<(&str, Vec<u8>, &str, &[&str])> = vec![
        (
            "nonce too low",
            tx(&key, 1, "c").encode(),
            "wrong_nonce",
            &["expected 4, found 1"],
        ),
        (
            "pending nonce reused",
            other_payload_at_3,
            "wrong_nonce",
            &["expected 4, found 3"],
        ),
        (
            "nonce gap",
            tx(&key, 6, "c").encode(),
            "wrong_nonce",
            &["expected 4, found 6"],
        ),
        (
            "wrong chain id",
            tx(&key, 4, "other").encode(),
            "wrong_chain",
            &["\"other\"", "\"c\""],
        ),
        (
            "bad signature",
            bad_sig.encode(),
            "bad_signature",
            &["invalid signature"],
        ),
        (
            "signer not a key",
            bad_signer.encode(),
            "bad_signature",
            &["not a valid ed25519 public key"],
        ),
        (
            "oversized",
            oversized,
            "too_large",
            &["max_tx_bytes of 1000", "smaller batches"],
        ),
        (
            "unknown payload kind",
            unknown_kind,
            "undecodable",
            &["TxPayload", "not valid SCALE"],
        ),
        (
            "trailing bytes",
            trailing,
            "undecodable",
            &["not valid SCALE"],
        ),
        (
            "truncated",
            encoded[..encoded.len() - 1].to_vec(),
            "undecodable",
            &["not valid SCALE"],
        ),
        ("empty", vec![], "undecodable", &["not valid SCALE"]),
        (
            "garbage",
            b"\xff\xff\xff\xff garbage".to_vec(),
            "undecodable",
            &["not valid SCALE"],
        ),
    ];
    for (what, input, class, needles) in cases {
        let e = pool.admit(&input, committed).unwrap_err();
        assert_eq!(e.class(), class, "{what}: {e}");
        let msg = e.to_string();
        for needle in needles {
            assert!(msg.contains(needle), "{what}: {msg:?} lacks {needle:?}");
        }
        assert_eq!(
            (pool.len(), pool.bytes()),
            before,
            "{what} changed the pool"
        );
    }
    // The valid next transaction still goes in after all that.
    pool.admit(&encoded, committed).unwrap();
    assert_eq!(pool.len(), 2);
}

#[test]
fn a_transaction_its_rules_refuse_is_refused_with_their_reason_and_not_held() {
    let publisher = SigningKey::from_bytes(&[7; 32]);
    let stranger = SigningKey::from_bytes(&[8; 32]);
    let allowed = publisher.verifying_key().to_bytes();
    let mut pool = pool().with_payload_rules(Arc::new(move |tx: &SignedTransaction| {
        if tx.tx.signer == allowed {
            Ok(())
        } else {
            Err("key is not a publisher of source s".into())
        }
    }));
    let refused = pool
        .admit(&tx(&stranger, 0, "c").encode(), |_| 0)
        .unwrap_err();
    assert_eq!(
        refused,
        AdmitError::Refused("key is not a publisher of source s".into())
    );
    assert_eq!(refused.class(), "refused");
    assert!(pool.is_empty());
    // Rules run only on well-signed transactions: a forged one is still a bad signature.
    let mut forged = tx(&stranger, 0, "c");
    forged.signature[0] ^= 1;
    assert!(matches!(
        pool.admit(&forged.encode(), |_| 0),
        Err(AdmitError::BadSignature(_))
    ));
    assert!(pool.admit(&tx(&publisher, 0, "c").encode(), |_| 0).is_ok());
    assert_eq!(pool.len(), 1);
}
