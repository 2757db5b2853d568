//! `cvm::log(level, ptr, len)`: a log line, kept with the invocation's result within the store's
//! [`LogPolicy`](super::LogPolicy) (not part of consensus).

use super::guest_memory::{memory, slice};
use super::host_state::{Ctx, LogLevel, LogLine};
use super::metering::charge_cost;

/// Charges for the whole message, then keeps it cut at the log length limit if the policy has room for it.
/// The message's bounds are checked whether or not it is kept (an out-of-bounds message traps on every node);
/// an error-level message is remembered whatever the policy, since a failure receipt quotes it.
pub(super) fn log(mut caller: Ctx<'_>, level: i32, ptr: i32, len: i32) -> wasmtime::Result<()> {
    charge_cost(&mut caller, "log", |f| f.log, len as u32 as u64)?;
    let shown = (len as u32).min(caller.data().limits.max_log_len);
    let level = LogLevel::from_abi(level);
    let data = caller.data();
    let policy = data.log_policy;
    let keep = policy.keep
        && (data.logs.len() as u32) < policy.max_lines_per_invocation
        && data.log_bytes.saturating_add(shown) <= policy.max_bytes_per_invocation;
    let message = {
        let bytes = slice(
            memory(&caller)?.data(&caller),
            ptr,
            shown as i32,
            "log message",
        )?;
        (keep || level == LogLevel::Error).then(|| String::from_utf8_lossy(bytes).into_owned())
    };
    let data = caller.data_mut();
    if level == LogLevel::Error {
        data.last_error.clone_from(&message);
    }
    match message {
        Some(message) if keep => {
            data.log_bytes += shown;
            data.logs.push(LogLine { level, message });
        }
        _ => data.logs_dropped = data.logs_dropped.saturating_add(1),
    }
    Ok(())
}
