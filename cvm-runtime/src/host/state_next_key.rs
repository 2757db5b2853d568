//! `cvm::state_next_key(prefix_ptr, prefix_len, after_ptr, after_len, out_ptr, out_cap) -> i32`: iterates state
//! keys in order.

use super::guest_memory::{check_len, copy_out, read_state_key};
use super::host_state::Ctx;
use super::metering::{charge, charge_cost};
use super::trap::node_fault;
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
    let (next, skipped) = caller
        .data()
        .state
        .next_key(&prefix, after.as_deref())
        .map_err(node_fault)?;
    // Each key shadowed by a deletion costs another seek: charge the base price again for it.
    let price = caller.data().fuel.state_next_key;
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
