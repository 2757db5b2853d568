//! `cvm::state_set(key_ptr, key_len, val_ptr, val_len)`: writes a state value.

use super::guest_memory::{check_len, read, read_state_key};
use super::host_state::Ctx;
use super::metering::charge_cost;

/// Sets the key to the value in the invocation's writes (dropped if the invocation fails).
pub(super) fn state_set(
    mut caller: Ctx<'_>,
    key_ptr: i32,
    key_len: i32,
    val_ptr: i32,
    val_len: i32,
) -> wasmtime::Result<()> {
    charge_cost(
        &mut caller,
        "state_set",
        |f| f.state_set,
        (key_len as u32 as u64) + (val_len as u32 as u64),
    )?;
    let limits = caller.data().limits.clone();
    check_len(key_len, limits.max_key_len, "key")?;
    check_len(val_len, limits.max_value_len, "state value")?;
    let key = read_state_key(&caller, key_ptr, key_len, "key")?;
    let value = read(&caller, val_ptr, val_len, "value")?;
    caller.data_mut().state.set(key, value);
    Ok(())
}
