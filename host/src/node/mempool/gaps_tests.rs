//! Transactions relayed ahead of a gap: per-sender cap, bounded share, eviction by age and for ready ones.

use std::time::{Duration, Instant};

use cvm_runtime::SignedTransaction;
use ed25519_dalek::SigningKey;
use parity_scale_codec::Encode;

use super::test_txs::ingest_tx;
use super::*;

fn tx(key: &SigningKey, nonce: u64) -> SignedTransaction {
    ingest_tx(key, nonce, "c")
}

fn key(i: u32) -> SigningKey {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    seed[31] = 1;
    SigningKey::from_bytes(&seed)
}

fn relay(pool: &mut Mempool, t: &SignedTransaction) -> Result<TxHash, AdmitError> {
    pool.admit_from(Origin::Relayed, &t.encode(), |_| 0)
}

#[test]
fn ten_thousand_gapped_transactions_from_fresh_keys_do_not_fill_the_mempool() {
    let mut pool = Mempool::new("c".into(), 1_000, 10_000_000, 1_000);
    let mut admitted = 0;
    for i in 0..10_000 {
        if relay(&mut pool, &tx(&key(i), 1)).is_ok() {
            admitted += 1;
        }
    }
    assert_eq!(
        admitted,
        1_000 / 4,
        "the gapped share is a quarter of the pool"
    );
    assert_eq!(pool.gapped_len(), 250);
    // Ready transactions still fill the pool: the gapped ones make room for them, oldest first.
    for i in 0..1_000 {
        let client = key(100_000 + i);
        pool.admit(&tx(&client, 0).encode(), |_| 0)
            .unwrap_or_else(|e| panic!("ready transaction {i} refused: {e}"));
    }
    assert_eq!(pool.len(), 1_000);
    assert_eq!(
        pool.gapped_len(),
        0,
        "every gapped one gave way to a ready one"
    );
    // A full pool of ready transactions refuses the next with "full".
    assert!(matches!(
        pool.admit(&tx(&key(200_000), 0).encode(), |_| 0),
        Err(AdmitError::Full { .. })
    ));
}

#[test]
fn a_sender_may_have_only_a_few_transactions_waiting_behind_a_gap() {
    let mut pool = Mempool::new("c".into(), 1_000, 10_000_000, 1_000);
    let a = key(1);
    for n in 1..=MAX_GAPPED_PER_SENDER as u64 {
        relay(&mut pool, &tx(&a, n)).unwrap();
    }
    let over = relay(&mut pool, &tx(&a, MAX_GAPPED_PER_SENDER as u64 + 1));
    assert!(
        matches!(over, Err(AdmitError::SenderGapFull { waiting, max })
            if waiting == MAX_GAPPED_PER_SENDER && max == MAX_GAPPED_PER_SENDER),
        "{over:?}"
    );
    assert!(
        over.unwrap_err()
            .to_string()
            .contains("send the missing nonce first")
    );
    // Another sender is not affected; and the gap filling makes a's run ready, freeing its cap.
    relay(&mut pool, &tx(&key(2), 1)).unwrap();
    relay(&mut pool, &tx(&a, 0)).unwrap();
    assert_eq!(pool.gapped_len(), 1, "only the other sender's waits");
    assert_eq!(
        pool.next_nonce(&a.verifying_key().to_bytes(), 0),
        MAX_GAPPED_PER_SENDER as u64 + 1
    );
    relay(&mut pool, &tx(&a, MAX_GAPPED_PER_SENDER as u64 + 2)).unwrap();
    // Beyond the nonce window: refused whatever the caps.
    let far = MAX_GAPPED_PER_SENDER as u64 + 1 + RELAY_NONCE_WINDOW;
    assert!(matches!(
        relay(&mut pool, &tx(&key(3), far)),
        Err(AdmitError::WrongNonce { .. })
    ));
}

#[test]
fn gapped_transactions_age_out_and_a_commit_that_fills_the_gap_keeps_them() {
    let mut pool = Mempool::new("c".into(), 100, 1_000_000, 1_000);
    let (a, b) = (key(1), key(2));
    let a2 = relay(&mut pool, &tx(&a, 2)).unwrap();
    let b1 = relay(&mut pool, &tx(&b, 1)).unwrap();
    assert_eq!(pool.gapped_len(), 2);
    // A commit moves a's nonce to 2: its transaction is ready, no longer gapped, and does not age out.
    pool.update(&[], |k| {
        if *k == a.verifying_key().to_bytes() {
            2
        } else {
            0
        }
    });
    assert_eq!(pool.gapped_len(), 1);
    pool.expire_gapped(Instant::now() + GAPPED_TTL - Duration::from_secs(1));
    assert!(pool.contains(&b1), "not yet old");
    pool.expire_gapped(Instant::now() + GAPPED_TTL + Duration::from_secs(1));
    assert!(!pool.contains(&b1), "waited too long behind its gap");
    assert!(pool.contains(&a2));
    assert_eq!((pool.len(), pool.gapped_len()), (1, 0));
}

#[test]
fn a_ready_transaction_evicts_the_oldest_gapped_one_and_a_gapped_one_evicts_nothing() {
    let mut pool = Mempool::new("c".into(), 4, 1_000_000, 1_000);
    let gapped = relay(&mut pool, &tx(&key(1), 1)).unwrap();
    for i in 10..13 {
        pool.admit(&tx(&key(i), 0).encode(), |_| 0).unwrap();
    }
    // Full: a gapped transaction does not push out ready ones.
    assert!(matches!(
        relay(&mut pool, &tx(&key(2), 1)),
        Err(AdmitError::GapShareFull { .. } | AdmitError::Full { .. })
    ));
    let ready = pool.admit(&tx(&key(13), 0).encode(), |_| 0).unwrap();
    assert!(pool.contains(&ready) && !pool.contains(&gapped));
    assert_eq!(pool.len(), 4);
}
