//! `cvm::block_time() -> i64`: the time of the block being executed.

use super::host_state::Ctx;
use super::metering::charge_cost;

/// The block's time, in milliseconds since the Unix epoch.
pub(super) fn block_time(mut caller: Ctx<'_>) -> wasmtime::Result<i64> {
    charge_cost(&mut caller, "block_time", |f| f.block_info, 0)?;
    Ok(caller.data().block.time_ms as i64)
}
