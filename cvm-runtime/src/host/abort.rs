//! `cvm::abort(msg_ptr, msg_len, file_ptr, file_len, line, column)`: the manuscript panicked.

use super::guest_memory::read;
use super::host_state::Ctx;
use super::metering::charge_cost;
use super::trap::HostTrap;

/// Always traps with [`HostTrap::Panic`], message and file cut at the log length limit.
pub(super) fn abort(
    mut caller: Ctx<'_>,
    msg_ptr: i32,
    msg_len: i32,
    file_ptr: i32,
    file_len: i32,
    line: i32,
    column: i32,
) -> wasmtime::Result<()> {
    charge_cost(
        &mut caller,
        "abort",
        |f| f.abort,
        msg_len as u32 as u64 + file_len as u32 as u64,
    )?;
    let max = caller.data().limits.max_log_len as i32;
    let message = String::from_utf8_lossy(&read(
        &caller,
        msg_ptr,
        msg_len.clamp(0, max),
        "panic message",
    )?)
    .into_owned();
    let file = String::from_utf8_lossy(&read(
        &caller,
        file_ptr,
        file_len.clamp(0, max),
        "file name",
    )?)
    .into_owned();
    Err(HostTrap::Panic {
        message,
        file,
        line: line as u32,
        column: column as u32,
    }
    .into())
}
