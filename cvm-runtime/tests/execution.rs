//! Transaction-level behaviour of block execution: every rejection path, deploy rules, ingest limits.

mod common;

use common::{CHAIN, Chain, assert_deployed, engine, key, kv};
use cvm_runtime::{BlockContext, SignedTransaction, Transaction, TxPayload, TxStatus};

fn status(chain: &mut Chain, tx: SignedTransaction) -> TxStatus {
    chain.block(&[tx]).receipts.remove(0).status
}

fn rejected_with(status: &TxStatus, needle: &str) {
    match status {
        TxStatus::Rejected { reason } => {
            assert!(reason.contains(needle), "{reason:?} lacks {needle:?}")
        }
        other => panic!("expected a rejection containing {needle:?}, got {other:?}"),
    }
}

fn failed_with(status: &TxStatus, needle: &str) {
    match status {
        TxStatus::Failed { reason } => {
            assert!(reason.contains(needle), "{reason:?} lacks {needle:?}")
        }
        other => panic!("expected a failure containing {needle:?}, got {other:?}"),
    }
}

#[test]
fn wrong_chain_is_rejected_without_consuming_the_nonce() {
    let mut chain = Chain::new(engine(), false);
    let signer = chain.signer.clone();
    let tx = Transaction {
        chain_id: "other-chain".into(),
        signer: signer.verifying_key().to_bytes(),
        nonce: 0,
        payload: TxPayload::Ingest {
            source: "kv".into(),
            records: Default::default(),
        },
    }
    .sign(&signer);
    let before = chain.root;
    rejected_with(&status(&mut chain, tx), "wrong chain id");
    assert_eq!(
        chain.root, before,
        "a rejected transaction changes no state"
    );
    // Nonce 0 is still available.
    let ok = chain.tx(TxPayload::Ingest {
        source: "kv".into(),
        records: Default::default(),
    });
    assert!(matches!(status(&mut chain, ok), TxStatus::Ingested { .. }));
}

#[test]
fn a_signature_found_valid_before_is_not_checked_again_and_an_invalid_one_always_is() {
    let mut chain = Chain::new(engine(), false);
    let verified = chain.executor.verified_txs();
    let admitted = chain.tx(TxPayload::Ingest {
        source: "kv".into(),
        records: Default::default(),
    });
    // As the mempool does at admission.
    verified.verify(&admitted, &admitted.hash()).unwrap();
    assert_eq!(verified.checks(), 1);
    assert!(matches!(
        status(&mut chain, admitted),
        TxStatus::Ingested { .. }
    ));
    assert_eq!(
        verified.checks(),
        1,
        "executing an admitted tx checks nothing"
    );
    let unseen = chain.tx(TxPayload::Ingest {
        source: "kv".into(),
        records: Default::default(),
    });
    assert!(matches!(
        status(&mut chain, unseen),
        TxStatus::Ingested { .. }
    ));
    assert_eq!(verified.checks(), 2);
    let mut forged = chain.tx(TxPayload::Ingest {
        source: "kv".into(),
        records: Default::default(),
    });
    forged.signature[0] ^= 1;
    for checks in [3, 4] {
        rejected_with(&status(&mut chain, forged.clone()), "invalid signature");
        assert_eq!(
            verified.checks(),
            checks,
            "an invalid signature is not remembered"
        );
    }
}

#[test]
fn bad_signature_is_rejected() {
    let mut chain = Chain::new(engine(), false);
    let mut tx = chain.tx(TxPayload::Ingest {
        source: "kv".into(),
        records: vec![kv("a", "b")].into(),
    });
    tx.signature[0] ^= 1;
    rejected_with(&status(&mut chain, tx), "invalid signature");
    // Signed by another key than the one it names.
    let mut tx = Transaction {
        chain_id: CHAIN.into(),
        signer: key(1).verifying_key().to_bytes(),
        nonce: 0,
        payload: TxPayload::Ingest {
            source: "kv".into(),
            records: Default::default(),
        },
    }
    .sign(&key(2));
    rejected_with(&status(&mut chain, tx.clone()), "invalid signature");
    tx.tx.signer = [0xff; 32];
    let s = status(&mut chain, tx);
    assert!(matches!(s, TxStatus::Rejected { .. }), "{s:?}");
}

#[test]
fn wrong_nonce_is_rejected() {
    let mut chain = Chain::new(engine(), false);
    chain.nonce = 5;
    let tx = chain.tx(TxPayload::Ingest {
        source: "kv".into(),
        records: Default::default(),
    });
    rejected_with(&status(&mut chain, tx), "next nonce is 0");
    chain.nonce = 0;
    let first = chain.tx(TxPayload::Ingest {
        source: "kv".into(),
        records: Default::default(),
    });
    let replay = first.clone();
    assert!(matches!(
        status(&mut chain, first),
        TxStatus::Ingested { .. }
    ));
    rejected_with(&status(&mut chain, replay), "wrong nonce 0");
}

#[test]
fn deploy_rules() {
    let mut chain = Chain::new(engine(), false);
    let counter = wat::parse_str(manuscript_fixtures::WAT_COUNTER).unwrap();
    failed_with(&chain.deploy(&counter, 0), "fuel_limit_per_record");
    failed_with(&chain.deploy(&counter, u64::MAX), "fuel_limit_per_record");
    failed_with(&chain.deploy(b"\0asm garbage", 1000), "invalid wasm");
    assert_deployed(&chain.deploy(&counter, 1_000_000));
    failed_with(&chain.deploy(&counter, 1_000_000), "already deployed");
}

#[test]
fn ingest_limits_fail_the_transaction() {
    let mut chain = Chain::new(engine(), false);
    let limits = chain.executor.engine().limits().clone();
    let too_long = vec![0u8; limits.max_record_len as usize + 1];
    let tx = chain.tx(TxPayload::Ingest {
        source: "kv".into(),
        records: vec![too_long].into(),
    });
    failed_with(&status(&mut chain, tx), "record 0 is");
    let many = vec![Vec::new(); limits.max_records_per_ingest as usize + 1];
    let tx = chain.tx(TxPayload::Ingest {
        source: "kv".into(),
        records: many.into(),
    });
    failed_with(&status(&mut chain, tx), "records in one ingest");
}

#[test]
fn ingest_without_subscribers_is_a_no_op() {
    let mut chain = Chain::new(engine(), false);
    let before = chain.root;
    // `s` is registered, and no manuscript reads it.
    let outcome = chain.ingest("s", vec![kv("a", "b")]);
    assert!(
        matches!(&outcome.receipts[0].status, TxStatus::Ingested { subscribers: 0, invocations } if invocations.is_empty())
    );
    assert_ne!(
        chain.root, before,
        "only the nonce and the source's head changed"
    );
}

#[test]
fn executing_does_not_write_the_store() {
    let mut chain = Chain::new(engine(), false);
    let counter = wat::parse_str(manuscript_fixtures::WAT_COUNTER).unwrap();
    assert_deployed(&chain.deploy(&counter, 1_000_000));
    let nodes_before = chain.store.len();
    let tx = chain.tx(TxPayload::Ingest {
        source: "kv".into(),
        records: vec![kv("a", "b")].into(),
    });
    let ctx = BlockContext {
        chain_id: CHAIN.into(),
        height: 99,
        time_ms: 0,
    };
    let a = chain
        .executor
        .execute_block(chain.root, &ctx, std::slice::from_ref(&tx))
        .unwrap();
    let b = chain
        .executor
        .execute_block(chain.root, &ctx, std::slice::from_ref(&tx))
        .unwrap();
    assert_eq!(
        chain.store.len(),
        nodes_before,
        "validation has no side effects"
    );
    assert_eq!(a.state_root, b.state_root);
    assert_eq!(a.receipts_root, b.receipts_root);
    assert!(!a.changes.nodes.is_empty());
}

#[test]
fn transactions_decode_strictly() {
    let mut chain = Chain::new(engine(), false);
    let tx = chain.tx(TxPayload::Ingest {
        source: "kv".into(),
        records: Default::default(),
    });
    let mut bytes = parity_scale_codec::Encode::encode(&tx);
    assert_eq!(SignedTransaction::decode_bytes(&bytes).unwrap(), tx);
    bytes.push(0);
    assert!(
        SignedTransaction::decode_bytes(&bytes).is_err(),
        "trailing bytes are refused"
    );
    assert!(SignedTransaction::decode_bytes(&[1, 2, 3]).is_err());
}
