//! `cvm::state_get(key_ptr, key_len, out_ptr, out_cap) -> i32`: reads a state value into the guest's buffer.

use super::guest_memory::{check_len, copy_out, read_state_key};
use super::host_state::Ctx;
use super::metering::charge_cost;
use super::trap::node_fault;

/// Copies as much of the value as fits; returns its full length, or -1 when the key is not set.
pub(super) fn state_get(
    mut caller: Ctx<'_>,
    key_ptr: i32,
    key_len: i32,
    out_ptr: i32,
    out_cap: i32,
) -> wasmtime::Result<i32> {
    charge_cost(
        &mut caller,
        "state_get",
        |f| f.state_get,
        key_len as u32 as u64,
    )?;
    check_len(key_len, caller.data().limits.max_key_len, "key")?;
    let key = read_state_key(&caller, key_ptr, key_len, "key")?;
    match caller.data().state.get(&key).map_err(node_fault)? {
        None => Ok(-1),
        Some(value) => {
            let per_byte = caller.data().fuel.state_get.per_byte;
            copy_out(&mut caller, &value, out_ptr, out_cap, "state_get", per_byte)
        }
    }
}
