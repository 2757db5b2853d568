//! The fuel price of host functions. Wasm instructions cost 1 unit each (wasmtime's metering); every host
//! function charges `base + per_byte × bytes` before it works, so no host call is free. Part of consensus.

use parity_scale_codec::{Decode, Encode};

/// Price of one host function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct HostCost {
    pub base: u64,
    pub per_byte: u64,
}

impl HostCost {
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
    pub state_get: HostCost,
    pub state_set: HostCost,
    pub state_remove: HostCost,
    pub state_next_key: HostCost,
    pub emit: HostCost,
    pub block_info: HostCost,
    pub log: HostCost,
    pub abort: HostCost,
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
        }
    }
}
