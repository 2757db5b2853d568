//! A manuscript that does not instantiate fails its invocations with a receipt; the block executes.

mod common;

use common::{Chain, assert_deployed, engine, invocations, kv, wat_manuscript};
use cvm_runtime::state::{
    ManuscriptMeta, NodeStore, OverlayDb, blake2_256, code_key, empty_root, manuscript_key,
    source_key,
};
use cvm_runtime::{FailureReason, InvocationOutcome, ValidatedCode};
use manuscript_sdk::manifest::Manifest;
use parity_scale_codec::Encode;

const FUEL: u64 = 1_000_000;

/// A module whose data segment lies past its two-page memory: it traps when instantiated.
fn broken_wasm() -> Vec<u8> {
    wat_manuscript("broken", "", r#"(data (i32.const 131070) "0123")"#)
}

/// Puts `wasm` in state as manuscript `broken`, subscribed to `kv` after `ok`, without deploy-time validation
/// (as code deployed under older rules would be).
fn store_unvalidated(chain: &mut Chain, wasm: &[u8]) {
    let code_hash = blake2_256(wasm);
    let manuscript = ManuscriptMeta {
        name: "broken".into(),
        code_hash,
        sources: vec!["kv".into()],
        slots: vec!["kv".into()],
        datasets: vec!["out".into()],
        fuel_limit_per_record: FUEL,
        child_root: empty_root().to_fixed_bytes(),
        deployed_at: chain.height,
        deployer: [0; 32],
        append_only: Vec::new(),
    };
    let subscribers = vec!["ok".to_string(), "broken".to_string()].encode();
    let (code, meta, source) = (
        code_key(&code_hash),
        manuscript_key("broken"),
        source_key("kv"),
    );
    let meta_bytes = manuscript.encode();
    let mut db = OverlayDb::new(&*chain.store);
    let root = db
        .apply(
            chain.root,
            [
                (code.as_slice(), Some(wasm)),
                (meta.as_slice(), Some(meta_bytes.as_slice())),
                (source.as_slice(), Some(subscribers.as_slice())),
            ],
        )
        .expect("state writes");
    chain.store.commit(&db.into_changes()).expect("commit");
    chain.root = root;
}

#[test]
fn a_data_segment_outside_initial_memory_fails_the_deploy_with_a_receipt() {
    let mut chain = Chain::new(engine(), false);
    match chain.deploy(&broken_wasm(), FUEL) {
        cvm_runtime::TxStatus::Failed { reason } => {
            assert!(reason.contains("data segment 1"), "{reason}")
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn an_instantiation_failure_of_a_stored_module_is_a_failure_receipt() {
    let wasm = broken_wasm();
    let mut outcomes = Vec::new();
    // Warm: the module is compiled in the cache (bypassing validation), so it fails at instantiation. Cold:
    // it fails at loading. Both nodes must agree on receipts and root.
    for warm in [true, false] {
        let engine = engine();
        let mut chain = Chain::new(engine.clone(), true);
        assert_deployed(&chain.deploy(&wat_manuscript("ok", "", ""), FUEL));
        store_unvalidated(&mut chain, &wasm);
        if warm {
            let validated = ValidatedCode {
                code_hash: blake2_256(&wasm),
                manifest: Manifest::new("broken", ["kv"], ["out"]),
            };
            engine
                .compile(validated, &wasm)
                .expect("compiles without validation");
        }
        let outcome = chain.ingest("kv", vec![kv("a", "1"), kv("b", "2")]);
        let receipts = invocations(&outcome);
        assert_eq!(receipts.len(), 4);
        assert!(
            receipts[..2].iter().all(|r| r.outcome.is_ok()),
            "{receipts:?}"
        );
        for r in &receipts[2..] {
            assert_eq!(r.manuscript, "broken");
            assert!(
                matches!(
                    r.outcome,
                    InvocationOutcome::Failed {
                        reason: FailureReason::Instantiation,
                        ..
                    }
                ),
                "{r:?}"
            );
            assert_eq!(r.fuel_used, 0);
        }
        // The chain goes on.
        let next = chain.ingest("kv", vec![kv("c", "3")]);
        assert!(invocations(&next)[0].outcome.is_ok());
        outcomes.push((outcome.state_root, outcome.receipts, next.state_root));
    }
    assert_eq!(outcomes[0], outcomes[1], "warm and cold caches disagree");
}
