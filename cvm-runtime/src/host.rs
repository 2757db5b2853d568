//! The `cvm` host functions (manuscript-sdk/ABI.md, "Imports") and the per-store state they work on.
//! Every function charges fuel from the [`FuelSchedule`] before doing its work.

use std::sync::Arc;

use wasmtime::{Caller, Linker, Memory, ResourceLimiter};

use crate::exec::overlay::{ManuscriptOverlay, OverlayKey, overlay_key};
use crate::fuel::{FuelSchedule, HostCost};
use crate::limits::Limits;
use crate::state::{STATE_PREFIX, record_key_parts};

/// Height and time of the block being executed, as manuscripts see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockInfo {
    pub height: u64,
    /// Milliseconds since the Unix epoch, from the block header.
    pub time_ms: u64,
}

/// A record a manuscript emitted into one of its datasets.
#[derive(Debug, Clone, PartialEq, Eq, parity_scale_codec::Encode, parity_scale_codec::Decode)]
pub struct EmittedRecord {
    pub dataset: String,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// A log line from a manuscript. Not part of consensus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    fn from_abi(level: i32) -> Self {
        match level {
            i32::MIN..=0 => Self::Error,
            1 => Self::Warn,
            2 => Self::Info,
            3 => Self::Debug,
            _ => Self::Trace,
        }
    }
}

/// Why a host function (or the memory limiter) stopped an invocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostTrap {
    /// A host function's price is above the fuel left: names the call, so a receipt tells a huge write or emit
    /// from a long computation (which ends in wasmtime's own out-of-fuel trap).
    #[error("out of fuel in {call}: the call costs {cost}, {left} left")]
    OutOfFuel {
        call: &'static str,
        cost: u64,
        left: u64,
    },
    #[error("memory access out of bounds: {0}")]
    OutOfBounds(&'static str),
    #[error("panicked at {file}:{line}:{column}: {message}")]
    Panic {
        message: String,
        file: String,
        line: u32,
        column: u32,
    },
    #[error("{what} of {len} bytes is above the {max}-byte limit")]
    TooLarge {
        what: &'static str,
        len: u64,
        max: u64,
    },
    #[error("emit into dataset {0:?}, which the manifest does not declare")]
    UndeclaredDataset(String),
    #[error("more than {0} records emitted in one invocation")]
    TooManyEmits(u32),
    #[error("memory limit exceeded: the manuscript asked for {desired} bytes, the cap is {max}")]
    MemoryLimit { desired: u64, max: u64 },
    #[error("table limit exceeded: {desired} elements asked, the cap is {max}")]
    TableLimit { desired: u64, max: u64 },
    /// Not the manuscript's fault: this node cannot read its state. Aborts the whole block.
    #[error("node state unavailable: {0}")]
    NodeFault(String),
}

/// Caps linear memory and table growth; a breach traps with a named reason instead of returning -1, so the
/// receipt says what happened.
pub(crate) struct Limiter {
    max_memory: u64,
    max_table: u64,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.max_memory {
            return Err(HostTrap::MemoryLimit {
                desired: desired as u64,
                max: self.max_memory,
            }
            .into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.max_table {
            return Err(HostTrap::TableLimit {
                desired: desired as u64,
                max: self.max_table,
            }
            .into());
        }
        Ok(true)
    }
}

/// Everything one store's host functions need. Owned (stores are `'static`), moved in and out per transaction.
pub struct HostState {
    pub(crate) limiter: Limiter,
    pub(crate) memory: Option<Memory>,
    pub(crate) fuel: Arc<FuelSchedule>,
    pub(crate) limits: Arc<Limits>,
    pub(crate) block: BlockInfo,
    pub(crate) datasets: Arc<[String]>,
    pub(crate) state: ManuscriptOverlay,
    /// Records emitted by the running invocation, when `keep_emitted` (their trie writes are in `state` either
    /// way).
    pub(crate) emitted: Vec<EmittedRecord>,
    pub(crate) keep_emitted: bool,
    pub(crate) emitted_count: u32,
    pub(crate) logs: Vec<LogLine>,
    pub(crate) metered: bool,
}

impl HostState {
    pub(crate) fn new(
        fuel: Arc<FuelSchedule>,
        limits: Arc<Limits>,
        block: BlockInfo,
        datasets: Arc<[String]>,
        state: ManuscriptOverlay,
    ) -> Self {
        Self {
            limiter: Limiter {
                max_memory: limits.max_memory_bytes,
                max_table: u64::from(limits.max_table_elements),
            },
            memory: None,
            fuel,
            limits,
            block,
            datasets,
            state,
            emitted: Vec::new(),
            keep_emitted: true,
            emitted_count: 0,
            logs: Vec::new(),
            metered: true,
        }
    }
}

type Ctx<'a> = Caller<'a, HostState>;

fn charge(caller: &mut Ctx<'_>, call: &'static str, amount: u64) -> wasmtime::Result<()> {
    if !caller.data().metered {
        return Ok(());
    }
    let left = caller.get_fuel()?;
    if left < amount {
        caller.set_fuel(0)?;
        return Err(HostTrap::OutOfFuel {
            call,
            cost: amount,
            left,
        }
        .into());
    }
    caller.set_fuel(left - amount)?;
    Ok(())
}

fn charge_cost(
    caller: &mut Ctx<'_>,
    call: &'static str,
    cost: impl Fn(&FuelSchedule) -> HostCost,
    bytes: u64,
) -> wasmtime::Result<()> {
    let amount = cost(&caller.data().fuel).cost(bytes);
    charge(caller, call, amount)
}

fn memory(caller: &Ctx<'_>) -> wasmtime::Result<Memory> {
    caller
        .data()
        .memory
        .ok_or_else(|| HostTrap::OutOfBounds("no memory export").into())
}

/// The guest bytes at `(ptr, len)`, borrowed from its memory.
fn slice<'m>(
    memory: &'m [u8],
    ptr: i32,
    len: i32,
    what: &'static str,
) -> wasmtime::Result<&'m [u8]> {
    let start = ptr as u32 as usize;
    let end = start
        .checked_add(len as u32 as usize)
        .ok_or(HostTrap::OutOfBounds(what))?;
    Ok(memory.get(start..end).ok_or(HostTrap::OutOfBounds(what))?)
}

fn read(caller: &Ctx<'_>, ptr: i32, len: i32, what: &'static str) -> wasmtime::Result<Vec<u8>> {
    Ok(slice(memory(caller)?.data(caller), ptr, len, what)?.to_vec())
}

/// The child-trie key of the guest's state key at `(ptr, len)`, built straight from guest memory.
fn read_state_key(
    caller: &Ctx<'_>,
    ptr: i32,
    len: i32,
    what: &'static str,
) -> wasmtime::Result<OverlayKey> {
    Ok(overlay_key(&[
        STATE_PREFIX,
        slice(memory(caller)?.data(caller), ptr, len, what)?,
    ]))
}

fn write(caller: &mut Ctx<'_>, ptr: i32, bytes: &[u8], what: &'static str) -> wasmtime::Result<()> {
    let mem = memory(caller)?;
    let start = ptr as u32 as usize;
    let end = start
        .checked_add(bytes.len())
        .ok_or(HostTrap::OutOfBounds(what))?;
    mem.data_mut(caller)
        .get_mut(start..end)
        .ok_or(HostTrap::OutOfBounds(what))?
        .copy_from_slice(bytes);
    Ok(())
}

fn check_len(len: i32, max: u32, what: &'static str) -> wasmtime::Result<()> {
    let len = len as u32;
    if len > max {
        return Err(HostTrap::TooLarge {
            what,
            len: u64::from(len),
            max: u64::from(max),
        }
        .into());
    }
    Ok(())
}

fn node_fault(e: impl std::fmt::Display) -> wasmtime::Error {
    HostTrap::NodeFault(e.to_string()).into()
}

/// Copies `value` into `(out_ptr, out_cap)`, charging for the bytes copied; returns the full length.
fn copy_out(
    caller: &mut Ctx<'_>,
    value: &[u8],
    out_ptr: i32,
    out_cap: i32,
    call: &'static str,
    per_byte: u64,
) -> wasmtime::Result<i32> {
    let copied = value.len().min(out_cap as u32 as usize);
    charge(caller, call, per_byte.saturating_mul(copied as u64))?;
    write(caller, out_ptr, &value[..copied], "output buffer")?;
    Ok(value.len() as i32)
}

/// Links every `cvm` import. Signatures must match `validate::HOST_IMPORTS`.
pub(crate) fn link_host_functions(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "cvm",
        "state_get",
        |mut caller: Ctx<'_>,
         key_ptr: i32,
         key_len: i32,
         out_ptr: i32,
         out_cap: i32|
         -> wasmtime::Result<i32> {
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
        },
    )?;
    linker.func_wrap(
        "cvm",
        "state_set",
        |mut caller: Ctx<'_>,
         key_ptr: i32,
         key_len: i32,
         val_ptr: i32,
         val_len: i32|
         -> wasmtime::Result<()> {
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
        },
    )?;
    linker.func_wrap(
        "cvm",
        "state_remove",
        |mut caller: Ctx<'_>, key_ptr: i32, key_len: i32| -> wasmtime::Result<()> {
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
        },
    )?;
    linker.func_wrap(
        "cvm",
        "state_next_key",
        |mut caller: Ctx<'_>,
         prefix_ptr: i32,
         prefix_len: i32,
         after_ptr: i32,
         after_len: i32,
         out_ptr: i32,
         out_cap: i32|
         -> wasmtime::Result<i32> {
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
                    &key[crate::state::STATE_PREFIX.len()..],
                    out_ptr,
                    out_cap,
                    "state_next_key",
                    per_byte,
                ),
            }
        },
    )?;
    linker.func_wrap(
        "cvm",
        "emit",
        |mut caller: Ctx<'_>,
         ds_ptr: i32,
         ds_len: i32,
         key_ptr: i32,
         key_len: i32,
         val_ptr: i32,
         val_len: i32|
         -> wasmtime::Result<()> {
            let bytes = [ds_len, key_len, val_len]
                .iter()
                .map(|l| *l as u32 as u64)
                .sum();
            charge_cost(&mut caller, "emit", |f| f.emit, bytes)?;
            let limits = caller.data().limits.clone();
            check_len(ds_len, limits.max_dataset_name_len, "dataset name")?;
            check_len(key_len, limits.max_key_len, "record key")?;
            check_len(val_len, limits.max_value_len, "record value")?;
            if caller.data().emitted_count >= limits.max_emits_per_invocation {
                return Err(HostTrap::TooManyEmits(limits.max_emits_per_invocation).into());
            }
            // Straight from guest memory: a record costs the two allocations the overlay keeps (its trie key
            // and value), plus a copy only when the caller asked for the records themselves.
            let mem = memory(&caller)?.data(&caller);
            let name = slice(mem, ds_ptr, ds_len, "dataset name")?;
            let Some(dataset) = caller.data().datasets.iter().find(|d| d.as_bytes() == name) else {
                let name = std::str::from_utf8(name).unwrap_or("<invalid utf-8>");
                return Err(HostTrap::UndeclaredDataset(name.into()).into());
            };
            let key = slice(mem, key_ptr, key_len, "record key")?;
            let value = slice(mem, val_ptr, val_len, "record value")?.to_vec();
            let trie_key = overlay_key(&record_key_parts(dataset, key));
            let kept = caller.data().keep_emitted.then(|| EmittedRecord {
                dataset: dataset.clone(),
                key: key.to_vec(),
                value: value.clone(),
            });
            let data = caller.data_mut();
            data.state.set(trie_key, value);
            data.emitted_count += 1;
            data.emitted.extend(kept);
            Ok(())
        },
    )?;
    linker.func_wrap(
        "cvm",
        "block_height",
        |mut caller: Ctx<'_>| -> wasmtime::Result<i64> {
            charge_cost(&mut caller, "block_height", |f| f.block_info, 0)?;
            Ok(caller.data().block.height as i64)
        },
    )?;
    linker.func_wrap(
        "cvm",
        "block_time",
        |mut caller: Ctx<'_>| -> wasmtime::Result<i64> {
            charge_cost(&mut caller, "block_time", |f| f.block_info, 0)?;
            Ok(caller.data().block.time_ms as i64)
        },
    )?;
    linker.func_wrap(
        "cvm",
        "log",
        |mut caller: Ctx<'_>, level: i32, ptr: i32, len: i32| -> wasmtime::Result<()> {
            charge_cost(&mut caller, "log", |f| f.log, len as u32 as u64)?;
            let shown = (len as u32).min(caller.data().limits.max_log_len) as i32;
            let message =
                String::from_utf8_lossy(&read(&caller, ptr, shown, "log message")?).into_owned();
            caller.data_mut().logs.push(LogLine {
                level: LogLevel::from_abi(level),
                message,
            });
            Ok(())
        },
    )?;
    linker.func_wrap(
        "cvm",
        "abort",
        |mut caller: Ctx<'_>,
         msg_ptr: i32,
         msg_len: i32,
         file_ptr: i32,
         file_len: i32,
         line: i32,
         column: i32|
         -> wasmtime::Result<()> {
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
        },
    )?;
    Ok(())
}
