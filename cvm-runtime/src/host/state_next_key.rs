//! `cvm::state_next_key(prefix_ptr, prefix_len, after_ptr, after_len, out_ptr, out_cap) -> i32`: iterates state
//! keys in order.

use super::guest_memory::{check_len, copy_out, read_state_key};
use super::host_state::Ctx;
use super::metering::{charge, charge_cost};
use super::trap::node_fault;
use crate::overlay::KeyWalk;
use crate::state::STATE_PREFIX;

/// Copies the first key with the prefix after `after` (from the start when `after_len` is negative) into the
/// guest's buffer; returns its full length, or -1 when there is none.
pub(super) fn state_next_key(
    mut caller: Ctx<'_>,
    prefix_ptr: i32,
    prefix_len: i32,
    after_ptr: i32,
    after_len: i32,
    out_ptr: i32,
    out_cap: i32,
) -> wasmtime::Result<i32> {
    let after_bytes = if after_len < 0 { 0 } else { after_len as u64 };
    charge_cost(
        &mut caller,
        "state_next_key",
        |f| f.state_next_key,
        prefix_len as u32 as u64 + after_bytes,
    )?;
    let max_key = caller.data().limits.max_key_len;
    check_len(prefix_len, max_key, "prefix")?;
    let prefix = read_state_key(&caller, prefix_ptr, prefix_len, "prefix")?;
    let after = if after_len < 0 {
        None
    } else {
        check_len(after_len, max_key, "key")?;
        Some(read_state_key(&caller, after_ptr, after_len, "key")?)
    };
    // Each key shadowed by a deletion costs another seek, priced at the base again. The walk may skip only as
    // many as the fuel left pays for, so a scan over many deleted keys stops when its fuel runs out instead of
    // doing the whole walk and charging for it afterwards.
    let price = caller.data().fuel.state_next_key;
    let max_skips = if caller.data().metered && price.base > 0 {
        caller.get_fuel()? / price.base
    } else {
        u64::MAX
    };
    let walk = caller
        .data()
        .state
        .next_key(&prefix, after.as_deref(), max_skips)
        .map_err(node_fault)?;
    let (next, skipped) = match walk {
        KeyWalk::Done { next, skipped } => (next, skipped),
        KeyWalk::Unpaid { skipped } => (None, skipped),
    };
    // Out of fuel for an unfinished walk: it met more deleted keys than the fuel left pays for.
    charge(
        &mut caller,
        "state_next_key",
        skipped.saturating_mul(price.base),
    )?;
    let per_byte = price.per_byte;
    match next {
        None => Ok(-1),
        Some(key) => copy_out(
            &mut caller,
            &key[STATE_PREFIX.len()..],
            out_ptr,
            out_cap,
            "state_next_key",
            per_byte,
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::fuel::{FuelSchedule, HostCost};
    use crate::overlay::walk_steps;
    use crate::receipt::{FailureReason, InvocationOutcome};
    use crate::state::{MemoryNodeStore, empty_root};
    use crate::{BlockInfo, CvmEngine, EngineConfig, ManuscriptRunner};

    const MARKERS: u32 = 5_000;

    /// A one-byte record deletes keys 0..MARKERS (4-byte keys, none of which exist); a longer one scans once.
    fn scanner() -> Vec<u8> {
        let manifest = crate::test_wat::manifest_string("scanner");
        wat::parse_str(format!(
            r#"(module
                (@custom "cvm_manifest" "{manifest}")
                (import "cvm" "state_remove" (func $remove (param i32 i32)))
                (import "cvm" "state_next_key" (func $next (param i32 i32 i32 i32 i32 i32) (result i32)))
                (memory (export "memory") 1)
                (func (export "cvm_alloc") (param i32) (result i32) i32.const 1024)
                (func (export "cvm_process") (param i32 i32 i32 i32) (result i32) (local $i i32)
                    local.get 3
                    i32.const 1
                    i32.eq
                    if
                        loop
                            i32.const 0
                            local.get $i
                            i32.store
                            i32.const 0
                            i32.const 4
                            call $remove
                            local.get $i
                            i32.const 1
                            i32.add
                            local.tee $i
                            i32.const {MARKERS}
                            i32.lt_u
                            br_if 0
                        end
                    else
                        i32.const 0
                        i32.const 0
                        i32.const 0
                        i32.const -1
                        i32.const 64
                        i32.const 16
                        call $next
                        drop
                    end
                    i32.const 0))"#
        ))
        .expect("valid WAT")
    }

    #[test]
    fn a_scan_over_many_deleted_keys_pays_per_key_walked() {
        let fuel = FuelSchedule {
            state_remove: HostCost::new(1, 0),
            ..FuelSchedule::default()
        };
        let price = fuel.state_next_key.base;
        let engine = CvmEngine::new(EngineConfig {
            fuel,
            ..EngineConfig::default()
        })
        .expect("engine");
        let compiled = engine.load(&scanner()).expect("loads");
        let store = Arc::new(MemoryNodeStore::new());
        let mut runner = ManuscriptRunner::standalone(
            engine,
            compiled,
            BlockInfo::default(),
            store,
            empty_root(),
        );
        let deleted = runner.process("s", b"d", 1_000_000_000).expect("runs");
        assert!(deleted.outcome.is_ok(), "{:?}", deleted.outcome);

        // Fuel for the call and ten skipped keys (and a little wasm), against thousands of deleted keys.
        let paid_skips = 10;
        let before = walk_steps::taken();
        let scan = runner
            .process("s", b"scan", price * (1 + paid_skips) + 1_000)
            .expect("runs");
        let walked = walk_steps::taken() - before;
        assert!(
            matches!(
                scan.outcome,
                InvocationOutcome::Failed {
                    reason: FailureReason::OutOfFuel,
                    ..
                }
            ),
            "{:?}",
            scan.outcome
        );
        assert!(
            walked <= paid_skips + 1,
            "the walk visited {walked} keys with fuel for {paid_skips} (of {MARKERS} deleted keys)"
        );

        // With fuel for all of them the walk completes, paying the base price per deleted key.
        let full = runner
            .process("s", b"scan", price * (2 + u64::from(MARKERS)) + 10_000)
            .expect("runs");
        assert!(full.outcome.is_ok(), "{:?}", full.outcome);
        assert!(full.fuel_used >= price * (1 + u64::from(MARKERS)));
    }
}
