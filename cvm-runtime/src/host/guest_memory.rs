//! Reading and writing the guest's linear memory at the `(ptr, len)` pairs host functions receive.

use wasmtime::Memory;

use super::host_state::Ctx;
use super::metering::charge;
use super::trap::HostTrap;
use crate::overlay::{OverlayKey, overlay_key};
use crate::state::STATE_PREFIX;

/// The guest's exported memory.
pub(super) fn memory(caller: &Ctx<'_>) -> wasmtime::Result<Memory> {
    caller
        .data()
        .memory
        .ok_or_else(|| HostTrap::OutOfBounds("no memory export").into())
}

/// The guest bytes at `(ptr, len)`, borrowed from its memory.
pub(super) fn slice<'m>(
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

/// A copy of the guest bytes at `(ptr, len)`.
pub(super) fn read(
    caller: &Ctx<'_>,
    ptr: i32,
    len: i32,
    what: &'static str,
) -> wasmtime::Result<Vec<u8>> {
    Ok(slice(memory(caller)?.data(caller), ptr, len, what)?.to_vec())
}

/// The child-trie key of the guest's state key at `(ptr, len)`, built straight from guest memory.
pub(super) fn read_state_key(
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

/// Writes `bytes` into guest memory at `ptr`.
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

/// Traps when the guest-given length `len` (read as unsigned) is above `max`.
pub(super) fn check_len(len: i32, max: u32, what: &'static str) -> wasmtime::Result<()> {
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

/// Copies `value` into `(out_ptr, out_cap)`, charging for the bytes copied; returns the full length.
pub(super) fn copy_out(
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
