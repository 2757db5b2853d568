//! `cvm::state_remove(key_ptr, key_len)`: deletes a state value.

use super::guest_memory::{check_len, read_state_key};
use super::host_state::Ctx;
use super::metering::charge_cost;

/// Removes the key in the invocation's writes (dropped if the invocation fails).
pub(super) fn state_remove(
    mut caller: Ctx<'_>,
    key_ptr: i32,
    key_len: i32,
) -> wasmtime::Result<()> {
    charge_cost(
        &mut caller,
        "state_remove",
        |f| f.state_remove,
        key_len as u32 as u64,
    )?;
    check_len(key_len, caller.data().limits.max_key_len, "key")?;
    let key = read_state_key(&caller, key_ptr, key_len, "key")?;
    caller.data_mut().state.remove(key);
    Ok(())
}
