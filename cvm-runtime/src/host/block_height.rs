//! `cvm::block_height() -> i64`: the height of the block being executed.

use super::host_state::Ctx;
use super::metering::charge_cost;

/// The block's height.
pub(super) fn block_height(mut caller: Ctx<'_>) -> wasmtime::Result<i64> {
    charge_cost(&mut caller, "block_height", |f| f.block_info, 0)?;
    Ok(caller.data().block.height as i64)
}
