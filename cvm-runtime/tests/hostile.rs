//! Hostile manuscripts: every attack ends in a failure receipt naming the reason, the writes of the failed
//! invocation are discarded, the next record runs normally, and the process neither crashes nor hangs.

mod common;

use common::{Chain, assert_deployed, engine, invocations, kv};
use cvm_runtime::state::{prove_record, verify_record};
use cvm_runtime::{CvmEngine, EngineConfig, FailureReason, InvocationOutcome, Limits};
use parity_scale_codec::Encode;

const FUEL: u64 = 20_000_000;

fn run_mode(mode: &str) -> (Vec<cvm_runtime::InvocationReceipt>, Chain) {
    let mut chain = Chain::new(engine(), true);
    assert_deployed(&chain.deploy(manuscript_fixtures::HOSTILE, FUEL));
    // The attack, then a normal record: the instance must be replaced and work again.
    let outcome = chain.ingest("hostile", vec![kv(mode, "x"), kv("ok", "after")]);
    (invocations(&outcome), chain)
}

fn assert_failed(mode: &str, expected: FailureReason, message_contains: &str) {
    let (receipts, chain) = run_mode(mode);
    assert_eq!(receipts.len(), 2);
    match &receipts[0].outcome {
        InvocationOutcome::Failed { reason, message } => {
            assert_eq!(*reason, expected, "{mode}: {message}");
            assert!(
                message.contains(message_contains),
                "{mode}: message {message:?} lacks {message_contains:?}"
            );
        }
        InvocationOutcome::Ok => panic!("{mode} should have failed"),
    }
    assert_eq!(
        receipts[0].records_emitted, 0,
        "a failed invocation emits nothing"
    );
    assert!(
        receipts[1].outcome.is_ok(),
        "{mode}: the next record must succeed: {:?}",
        receipts[1].outcome
    );
    // Nothing the failed invocation wrote survived; the successful one's record did (keys are SCALE-encoded).
    let record = |key: &str| {
        let proof = prove_record(
            &*chain.store,
            chain.root,
            "hostile",
            "out",
            &key.as_bytes().to_vec().encode(),
        )
        .unwrap();
        verify_record(&chain.root, &proof).unwrap()
    };
    assert_eq!(
        record("after"),
        Some(1u64.encode()),
        "{mode}: the control record is committed, counted once"
    );
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    assert_failed("loop", FailureReason::OutOfFuel, "fuel");
    let (receipts, _) = run_mode("loop");
    assert_eq!(
        receipts[0].fuel_used, FUEL,
        "the loop burns exactly its whole budget"
    );
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
    assert_failed("memory", FailureReason::MemoryLimit, "memory limit");
}

#[test]
fn deep_recursion_overflows_the_stack() {
    assert_failed("recursion", FailureReason::StackOverflow, "stack");
}

/// The hostile manuscript's recursion (rustc's code, not hand-written) under two native stack sizes: the
/// deterministic limit stops it first in both, at the same point, so the receipts agree to the unit of fuel.
#[test]
fn deep_recursion_fails_the_same_whatever_the_native_stack() {
    let run = |max_wasm_stack: u64| {
        let engine = CvmEngine::new(EngineConfig {
            limits: Limits {
                max_wasm_stack: max_wasm_stack as u32,
                ..Limits::default()
            },
            ..EngineConfig::default()
        })
        .expect("engine");
        let mut chain = Chain::new(engine, false);
        assert_deployed(&chain.deploy(manuscript_fixtures::HOSTILE, FUEL));
        invocations(&chain.ingest("hostile", vec![kv("recursion", "x")])).remove(0)
    };
    let needed = cvm_runtime::stack_limit::native_stack_needed();
    let small = run(needed);
    let large = run(needed * 3 / 2);
    assert!(
        matches!(
            &small.outcome,
            InvocationOutcome::Failed {
                reason: FailureReason::StackOverflow,
                ..
            }
        ),
        "{:?}",
        small.outcome
    );
    assert_eq!(small, large, "receipts, fuel included, agree");
}

#[test]
fn panic_reaches_the_host_with_message_and_location() {
    assert_failed("panic", FailureReason::Panic, "panicked at ");
    let (receipts, _) = run_mode("panic");
    let InvocationOutcome::Failed { message, .. } = &receipts[0].outcome else {
        unreachable!()
    };
    assert!(
        message.contains(".rs:"),
        "panic location missing: {message}"
    );
}

#[test]
fn returned_error_is_a_manuscript_error() {
    assert_failed("error", FailureReason::ManuscriptError, "");
}

#[test]
fn oversized_emit_is_a_host_limit() {
    assert_failed("huge-emit", FailureReason::HostLimit, "record value");
}

#[test]
fn emit_into_an_undeclared_dataset_is_a_host_limit() {
    assert_failed(
        "undeclared-dataset",
        FailureReason::HostLimit,
        "emit into dataset \"secret\", which the manifest does not declare",
    );
}

#[test]
fn emit_storm_is_a_host_limit() {
    assert_failed("emit-storm", FailureReason::HostLimit, "records emitted");
}

#[test]
fn huge_state_writes_run_out_of_fuel() {
    assert_failed("huge-state", FailureReason::OutOfFuel, "fuel");
}

#[test]
fn undecodable_record_is_a_decode_failure() {
    let mut chain = Chain::new(engine(), false);
    assert_deployed(&chain.deploy(manuscript_fixtures::HOSTILE, FUEL));
    let receipts = invocations(&chain.ingest("hostile", vec![vec![0xff, 0xff, 0xff]]));
    assert!(matches!(
        &receipts[0].outcome,
        InvocationOutcome::Failed {
            reason: FailureReason::RecordDecode,
            ..
        }
    ));
}

#[test]
fn forbidden_import_is_rejected_at_deploy() {
    let mut chain = Chain::new(engine(), false);
    match chain.deploy(manuscript_fixtures::HOSTILE_IMPORT, FUEL) {
        cvm_runtime::TxStatus::Failed { reason } => {
            assert!(reason.contains("wasi_snapshot_preview1"), "{reason}")
        }
        other => panic!("expected a failed deploy, got {other:?}"),
    }
}

#[test]
fn hostile_manuscript_does_not_disturb_a_neighbour() {
    // wat-counter subscribes to "kv"; hostile to "hostile": each keeps its own results.
    let mut chain = Chain::new(engine(), true);
    let counter = wat::parse_str(manuscript_fixtures::WAT_COUNTER).unwrap();
    assert_deployed(&chain.deploy(&counter, FUEL));
    assert_deployed(&chain.deploy(manuscript_fixtures::HOSTILE, FUEL));
    let a = chain.tx(cvm_runtime::TxPayload::Ingest {
        source: "hostile".into(),
        records: vec![kv("loop", "")].into(),
    });
    let b = chain.tx(cvm_runtime::TxPayload::Ingest {
        source: "kv".into(),
        records: vec![kv("k", "v"), kv("k", "v")].into(),
    });
    let outcome = chain.block(&[a, b]);
    let receipts = invocations(&outcome);
    assert!(!receipts[0].outcome.is_ok());
    assert!(
        receipts[1..].iter().all(|r| r.outcome.is_ok()),
        "{receipts:?}"
    );
}
