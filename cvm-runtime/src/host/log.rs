//! `cvm::log(level, ptr, len)`: a log line, kept with the invocation's result (not part of consensus).

use super::guest_memory::read;
use super::host_state::{Ctx, LogLevel, LogLine};
use super::metering::charge_cost;

/// Keeps the message, cut at the log length limit (the whole length is charged).
pub(super) fn log(mut caller: Ctx<'_>, level: i32, ptr: i32, len: i32) -> wasmtime::Result<()> {
    charge_cost(&mut caller, "log", |f| f.log, len as u32 as u64)?;
    let shown = (len as u32).min(caller.data().limits.max_log_len) as i32;
    let message = String::from_utf8_lossy(&read(&caller, ptr, shown, "log message")?).into_owned();
    caller.data_mut().logs.push(LogLine {
        level: LogLevel::from_abi(level),
        message,
    });
    Ok(())
}
