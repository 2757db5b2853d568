//! # hostile
//!
//! A manuscript that misbehaves on request, for the runtime's tests. It subscribes to source
//! `hostile` ([`KvRecord`]s) and may emit into dataset `out`; the record's `key` selects the
//! behaviour (see [`BEHAVIOURS`]):
//!
//! | key | behaviour | expected CVM outcome |
//! |---|---|---|
//! | `ok` | increments state `count`, emits it to `out` under the record value | success (control) |
//! | `error` | returns an error | status 2, receipt names [`ERROR_MESSAGE`] |
//! | `panic` | panics with [`PANIC_MESSAGE`] | trap `panicked at src/lib.rs:…: hostile panic on request` |
//! | `loop` | spins forever | trap: out of fuel |
//! | `memory` | allocates and touches 64 KiB blocks forever | trap: the allocation failure panic at the memory cap (or out of fuel) |
//! | `recursion` | unbounded non-tail recursion | trap: stack overflow |
//! | `huge-emit` | emits a 70,000-byte value | trap: value length limit |
//! | `emit-storm` | emits 2,000 distinct records | trap: emitted records limit |
//! | `undeclared-dataset` | emits into dataset `secret`, which the manifest does not declare | trap: undeclared dataset |
//! | `huge-state` | writes 60 KiB values under new keys forever | trap: out of fuel |
//!
//! Any other key fails with status 2. Every behaviour is real: nothing is simulated.
#![no_std]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;
use core::hint::black_box;
use manuscript_sdk::prelude::*;

/// The record keys understood, in the order of the table above.
pub const BEHAVIOURS: [&str; 10] = [
    "ok",
    "error",
    "panic",
    "loop",
    "memory",
    "recursion",
    "huge-emit",
    "emit-storm",
    "undeclared-dataset",
    "huge-state",
];

/// The error returned for `error`.
pub const ERROR_MESSAGE: &str = "hostile error on request";
/// The panic message for `panic`.
pub const PANIC_MESSAGE: &str = "hostile panic on request";
/// Size of the value emitted by `huge-emit` (over the 65,536-byte limit).
pub const HUGE_EMIT_LEN: usize = 70_000;
/// Records emitted by `emit-storm` (over the 1,024 limit).
pub const EMIT_STORM_RECORDS: u32 = 2_000;
/// The dataset `undeclared-dataset` emits into (not in the manifest).
pub const UNDECLARED_DATASET: &str = "secret";
/// Size of each value written by `huge-state` (under the value limit).
pub const HUGE_STATE_VALUE_LEN: usize = 60 * 1024;
/// The state key of the `ok` counter.
pub const COUNT_KEY: &[u8; 5] = b"count";

#[manuscript(name = "hostile", sources("hostile"), datasets("out"))]
fn process(ctx: &mut Context, record: KvRecord) -> Result<(), Error> {
    match record.key.as_slice() {
        b"ok" => {
            let count = ctx.get::<_, u64>(COUNT_KEY)?.unwrap_or_default() + 1;
            ctx.set(COUNT_KEY, &count);
            ctx.emit("out", &record.value, &count);
            Ok(())
        }
        b"error" => Err(Error::msg(ERROR_MESSAGE)),
        b"panic" => panic!("{}", PANIC_MESSAGE),
        b"loop" => spin(),
        b"memory" => memory_bomb(),
        b"recursion" => {
            let depth = recurse(0);
            bail!("recursion returned at depth {depth}")
        }
        b"huge-emit" => {
            ctx.emit_raw("out", b"huge", &vec![0x5a; HUGE_EMIT_LEN]);
            Ok(())
        }
        b"emit-storm" => {
            for i in 0..EMIT_STORM_RECORDS {
                ctx.emit("out", &i, &i);
            }
            Ok(())
        }
        b"undeclared-dataset" => {
            ctx.emit_raw(UNDECLARED_DATASET, b"k", b"v");
            Ok(())
        }
        b"huge-state" => huge_state(ctx),
        other => bail!("unknown behaviour {:?}", Hex(other)),
    }
}

/// Busy work that never ends (the optimiser cannot see through `black_box`).
fn spin() -> ! {
    let mut x: u64 = 0;
    loop {
        x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
    }
}

/// Allocates 64 KiB blocks, writing into every page, and keeps them all until allocation fails
/// (which panics: `memory allocation of N bytes failed`).
fn memory_bomb() -> ! {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        // A non-zero fill is a real write of every byte (no calloc shortcut).
        let mut block = vec![0xa5u8; 64 * 1024];
        for page in block.chunks_mut(4096) {
            page[0] = black_box(blocks.len() as u8);
        }
        blocks.push(black_box(block));
    }
}

/// Recursion with work after the call (so it is not a tail call), whose result passes through
/// `black_box` (so it cannot be rewritten as a loop). Stops only if `black_box` says so, which
/// it never does. Its state lives in wasm locals, so it exhausts the wasm stack (512 KiB) long
/// before the 1 MiB shadow stack in linear memory.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    if black_box(depth) == u64::MAX {
        return depth;
    }
    let below = black_box(recurse(depth + 1));
    below.wrapping_mul(31).wrapping_add(depth)
}

/// Writes large values under fresh keys until the host stops it (fuel).
fn huge_state(ctx: &mut Context) -> Result<(), Error> {
    let value = vec![0xa5u8; HUGE_STATE_VALUE_LEN];
    let mut i: u64 = 0;
    loop {
        ctx.set_raw(&i.to_be_bytes(), &value);
        i = black_box(i + 1);
    }
}
