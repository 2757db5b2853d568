//! The fuel price of host functions and deploys. Wasm instructions cost 1 unit each (wasmtime's metering); every host
//! function charges `base + per_byte × bytes` before it works, so no host call is free. Part of consensus.

use parity_scale_codec::{Decode, Encode};

/// A deploy's fixed price: its state writes and a compilation's setup.
const DEPLOY_BASE: u64 = 1_000_000;
/// A deploy's price per byte of wasm. Compiling costs about 2 µs per byte on the reference machine (the example
/// manuscripts: 2.1–2.3 µs/byte), about 20,000 units at plain wasm's rate; charging that would leave a block
/// room for one 50 KB module. At 2,000 a block holds at most `max_block_fuel / 2,000` bytes of wasm (500 KB,
/// about 1 s of compilation, with the default budget), which bounds a block's compile time, and a module is
/// compiled once per node (then cached).
const DEPLOY_PER_BYTE: u64 = 2_000;

/// Price of one host function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct HostCost {
    /// Charged on every call.
    pub base: u64,
    /// Charged per byte the call reads or writes.
    pub per_byte: u64,
}

impl HostCost {
    /// The price `base + per_byte × bytes`.
    pub const fn new(base: u64, per_byte: u64) -> Self {
        Self { base, per_byte }
    }

    /// Cost of a call touching `bytes` bytes, saturating (a huge length must not wrap into a cheap call).
    pub fn cost(&self, bytes: u64) -> u64 {
        self.base
            .saturating_add(self.per_byte.saturating_mul(bytes))
    }
}

/// Fuel prices of every host function in the `cvm` import module (manuscript-sdk/ABI.md, "Fuel").
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct FuelSchedule {
    /// `state_get`, per key and value byte.
    pub state_get: HostCost,
    /// `state_set`, per key and value byte.
    pub state_set: HostCost,
    /// `state_remove`, per key byte.
    pub state_remove: HostCost,
    /// `state_next_key`, per prefix, key and returned byte; the base again per deleted key skipped.
    pub state_next_key: HostCost,
    /// `emit`, per dataset name, key and value byte.
    pub emit: HostCost,
    /// `block_height` and `block_time`.
    pub block_info: HostCost,
    /// `log`, per message byte.
    pub log: HostCost,
    /// `abort`, per message and file name byte.
    pub abort: HostCost,
    /// A `Deploy` transaction, per byte of wasm: pays for validating and compiling it.
    pub deploy: HostCost,
}

impl Default for FuelSchedule {
    /// Calibrated so that a unit of fuel stands for about plain wasm's time (≈ 0.04–0.2 ns per unit on the
    /// reference machine) whatever it pays for: `cargo bench -p cvm-tests --bench perf -- --only calibration`
    /// measures each host function and prints the schedule that would match plain wasm exactly
    /// (docs/BENCHMARKS.md). No host function may cost more time per unit than the slowest plain wasm (indirect
    /// calls): `max_block_fuel` bounds a block's time only if that holds, and a host call priced below its time
    /// would let a loop of them hold a block for seconds.
    fn default() -> Self {
        Self {
            state_get: HostCost::new(21_000, 1),
            state_set: HostCost::new(14_000, 12),
            state_remove: HostCost::new(11_000, 1),
            state_next_key: HostCost::new(47_000, 3),
            emit: HostCost::new(17_000, 16),
            block_info: HostCost::new(100, 0),
            log: HostCost::new(1_500, 4),
            abort: HostCost::new(93_000, 1),
            deploy: HostCost::new(DEPLOY_BASE, DEPLOY_PER_BYTE),
        }
    }
}
