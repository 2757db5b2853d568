//! The pass keeps what a module computes, meters every frame, and fails deep recursion at a depth and fuel
//! that do not depend on the native stack.

use std::sync::Arc;

use super::*;
use crate::limits::Limits;
use crate::receipt::{FailureReason, InvocationOutcome};
use crate::state::{MemoryNodeStore, empty_root};
use crate::validate::{ValidationError, allowed_features, validate};
use crate::{BlockInfo, CvmEngine, EngineConfig, InvocationResult, ManuscriptRunner};

/// A manuscript whose `cvm_process` runs `body` (which leaves an i32 status), with `funcs` beside it.
fn manuscript(funcs: &str, body: &str) -> Vec<u8> {
    let manifest = crate::test_wat::manifest_string("probe");
    wat::parse_str(format!(
        r#"(module
            (@custom "cvm_manifest" "{manifest}")
            (import "cvm" "block_height" (func $height (result i64)))
            (memory (export "memory") 1)
            (func (export "cvm_alloc") (param i32) (result i32) i32.const 1024)
            (func (export "cvm_process") (param i32 i32 i32 i32) (result i32) {body})
            {funcs})"#
    ))
    .expect("valid WAT")
}

fn run(max_wasm_stack: u32, wasm: &[u8], fuel: u64) -> InvocationResult {
    let engine = CvmEngine::new(EngineConfig {
        limits: Limits {
            max_wasm_stack,
            ..Limits::default()
        },
        pool_instances: 2,
        ..EngineConfig::default()
    })
    .expect("engine");
    let compiled = engine.load(wasm).expect("loads");
    let store = Arc::new(MemoryNodeStore::new());
    let mut runner =
        ManuscriptRunner::standalone(engine, compiled, BlockInfo::default(), store, empty_root());
    runner.process("s", b"r", fuel).expect("runs")
}

const RECURSE: &str = r#"
    (func $down (param $n i32) (result i32)
        (local $a i64) (local $b i64)
        local.get $n
        i32.const 1
        i32.add
        call $down
        i32.const 1
        i32.add)"#;

#[test]
fn deep_recursion_stops_at_the_same_depth_and_fuel_whatever_the_native_stack() {
    let wasm = manuscript(RECURSE, "i32.const 0 call $down");
    let native = native_stack_needed() as u32;
    let small = run(native, &wasm, 100_000_000);
    let large = run(2 * native, &wasm, 100_000_000);
    assert!(
        matches!(
            &small.outcome,
            InvocationOutcome::Failed {
                reason: FailureReason::StackOverflow,
                message,
            } if message.contains("stack units")
        ),
        "{:?}",
        small.outcome
    );
    assert_eq!(small.outcome, large.outcome);
    assert_eq!(small.fuel_used, large.fuel_used);
}

/// A manuscript whose `cvm_process` calls `$count` `depth` times deep, then returns 0.
fn nested(depth: u32) -> Vec<u8> {
    let funcs = format!(
        r#"
        (func $count (param $n i32)
            local.get $n
            i32.const {depth}
            i32.eq
            if
                return
            end
            local.get $n
            i32.const 1
            i32.add
            call $count)"#
    );
    manuscript(&funcs, "i32.const 1 call $count i32.const 0")
}

#[test]
fn recursion_depth_is_the_limit_over_the_frame_cost() {
    // Costs: locals (parameters included) + highest operand stack + overhead. cvm_alloc: 1 + 1; cvm_process:
    // 4 + 1; $count: 1 + 2.
    let costs = analyse(&nested(1), allowed_features())
        .expect("analyses")
        .costs;
    let (alloc, process, count) = (
        2 + FRAME_OVERHEAD_UNITS,
        5 + FRAME_OVERHEAD_UNITS,
        3 + FRAME_OVERHEAD_UNITS,
    );
    assert_eq!(costs, vec![alloc, process, count]);
    let deepest = (MAX_STACK_UNITS - process) / count;
    let fits = run(
        Limits::default().max_wasm_stack,
        &nested(deepest),
        100_000_000,
    );
    assert_eq!(fits.outcome, InvocationOutcome::Ok);
    let over = run(
        Limits::default().max_wasm_stack,
        &nested(deepest + 1),
        100_000_000,
    );
    assert!(
        matches!(
            over.outcome,
            InvocationOutcome::Failed {
                reason: FailureReason::StackOverflow,
                ..
            }
        ),
        "{:?}",
        over.outcome
    );
}

#[test]
fn every_way_out_of_a_function_gives_its_frame_back() {
    // Returns, branches to the function's label, fallthrough and multi-value results, each many times over:
    // a frame not given back would pile up past the limit.
    let funcs = r#"
        (func $ret (param i32) (result i32)
            local.get 0
            if
                i32.const 7
                return
            end
            i32.const 8)
        (func $br (param i32) (result i32)
            i32.const 9
            local.get 0
            br_if 0
            drop
            i32.const 10)
        (func $pair (param i32) (result i32 i64)
            local.get 0
            i64.const 5
            local.get 0
            br_if 0
            return)
        (func $check (param $i i32) (result i32)
            local.get $i
            i32.const 1
            i32.and
            call $ret
            local.get $i
            i32.const 1
            i32.and
            call $br
            i32.add
            local.get $i
            call $pair
            i32.wrap_i64
            i32.add
            i32.add)"#;
    // Odd i: 7 + 9 + i + 5; even i: 8 + 10 + i + 5. Returns 0 when every check holds, 2 otherwise.
    let body = r#"
        (local $i i32) (local $bad i32)
        loop
            local.get $i
            call $check
            local.get $i
            i32.const 1
            i32.and
            if (result i32)
                local.get $i
                i32.const 21
                i32.add
            else
                local.get $i
                i32.const 23
                i32.add
            end
            i32.ne
            local.get $bad
            i32.or
            local.set $bad
            local.get $i
            i32.const 1
            i32.add
            local.tee $i
            i32.const 20000
            i32.lt_u
            br_if 0
        end
        local.get $bad
        i32.const 2
        i32.mul"#;
    let wasm = manuscript(funcs, body);
    let result = run(Limits::default().max_wasm_stack, &wasm, 100_000_000);
    assert_eq!(result.outcome, InvocationOutcome::Ok);
}

#[test]
fn a_function_with_a_frame_above_the_limit_is_rejected() {
    let funcs = format!(
        "(func $big (local {}) nop)",
        "i64 ".repeat(MAX_FRAME_UNITS as usize)
    );
    let wasm = manuscript(&funcs, "i32.const 0");
    assert!(matches!(
        validate(&wasm, &Limits::default()),
        Err(ValidationError::StackFrame(
            StackLimitError::FrameTooLarge { index: 3, .. }
        ))
    ));
    let engine = CvmEngine::new(EngineConfig::default()).expect("engine");
    let err = engine.load(&wasm).err().expect("rejected").to_string();
    assert!(err.contains("split it into smaller functions"), "{err}");
}

#[test]
fn the_example_manuscripts_instrument_to_valid_modules() {
    for (name, wasm) in manuscript_fixtures::all() {
        let out = instrument(wasm, allowed_features()).unwrap_or_else(|e| panic!("{name}: {e}"));
        wasmparser::Validator::new_with_features(allowed_features())
            .validate_all(&out)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            instrument(wasm, allowed_features()).expect("again"),
            out,
            "{name}: deterministic"
        );
    }
}

#[test]
fn a_malformed_name_section_does_not_stop_a_valid_module() {
    let mut wasm = manuscript("", "i32.const 0");
    // A custom section `name` whose content is not a name section: valid wasm, as validation sees it.
    wasm.extend_from_slice(&[0, 7, 4, b'n', b'a', b'm', b'e', 1, 0xff]);
    validate(&wasm, &Limits::default()).expect("valid");
    let out = instrument(&wasm, allowed_features()).expect("instruments");
    wasmparser::Validator::new_with_features(allowed_features())
        .validate_all(&out)
        .expect("valid output");
    assert_eq!(
        run(Limits::default().max_wasm_stack, &wasm, 1_000_000).outcome,
        InvocationOutcome::Ok
    );
}
