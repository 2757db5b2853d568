//! The thread-local invocation the native `sys` bindings talk to. Mirrors the CVM's host
//! functions: same raw signatures, limits and host-function fuel schedule (`ABI.md`), with
//! a copy-on-write overlay so a failed invocation's writes can be discarded.
//!
//! Its functions take the raw pointers the wasm imports take, so those that dereference them are unsafe.
#![allow(unsafe_code)]

use super::recorded::{Emitted, LogLine};
use crate::block_env::{BlockInfo, Level};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::string::String;
use std::vec::Vec;
use std::{format, slice};

/// Default limits of `ABI.md`.
pub(crate) const MAX_KEY_LEN: usize = 1024;
pub(crate) const MAX_VALUE_LEN: usize = 65_536;
pub(crate) const MAX_DATASET_LEN: usize = 64;
pub(crate) const MAX_LOG_LEN: usize = 4096;
pub(crate) const MAX_EMITS: usize = 1024;

/// Host-function fuel: `(base, per byte)` from the default `FuelSchedule`.
pub(crate) mod fuel {
    pub const STATE_GET: (u64, u64) = (21_000, 1);
    pub const STATE_SET: (u64, u64) = (14_000, 12);
    pub const STATE_REMOVE: (u64, u64) = (11_000, 1);
    pub const STATE_NEXT_KEY: (u64, u64) = (47_000, 3);
    pub const EMIT: (u64, u64) = (17_000, 16);
    pub const BLOCK: (u64, u64) = (100, 0);
    pub const LOG: (u64, u64) = (1_500, 4);
}

/// A trap raised by the mock host (the payload of the unwinding panic).
#[derive(Debug)]
pub(crate) struct Trap(pub String);

fn trap(message: String) -> ! {
    std::panic::panic_any(Trap(message))
}

/// One invocation's view of the host.
pub(crate) struct Invocation {
    pub base: BTreeMap<Vec<u8>, Vec<u8>>,
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    pub emitted: Vec<Emitted>,
    pub logs: Vec<LogLine>,
    pub block: BlockInfo,
    /// Datasets the manifest declares; `None` accepts any valid name.
    pub datasets: Option<Vec<String>>,
    /// Those of them that are append-only.
    pub append_only: Vec<String>,
    /// `(dataset, key)` already appended in this block by kept invocations.
    pub appended_in_block: BTreeSet<(String, Vec<u8>)>,
    pub fuel_limit: Option<u64>,
    pub fuel_used: u64,
}

impl Invocation {
    fn charge(&mut self, (base, per_byte): (u64, u64), bytes: usize) {
        let cost = base + per_byte * bytes as u64;
        self.fuel_used += cost;
        if let Some(limit) = self.fuel_limit
            && self.fuel_used > limit
        {
            self.fuel_used = limit;
            trap("out of fuel".into());
        }
    }

    fn get(&self, key: &[u8]) -> Option<&Vec<u8>> {
        match self.writes.get(key) {
            Some(write) => write.as_ref(),
            None => self.base.get(key),
        }
    }

    /// Smallest key with `prefix` strictly greater than `after` (or the smallest with `prefix`).
    fn next_key(&self, prefix: &[u8], after: Option<&[u8]>) -> Option<Vec<u8>> {
        let lower = match after {
            Some(a) if a >= prefix => Bound::Excluded(a.to_vec()),
            _ => Bound::Included(prefix.to_vec()),
        };
        let range = (lower, Bound::Unbounded);
        let written = self
            .writes
            .range::<Vec<u8>, _>(range.clone())
            .take_while(|(k, _)| k.starts_with(prefix))
            .find(|(_, v)| v.is_some())
            .map(|(k, _)| k);
        let stored = self
            .base
            .range::<Vec<u8>, _>(range)
            .take_while(|(k, _)| k.starts_with(prefix))
            .find(|(k, _)| !matches!(self.writes.get(*k), Some(None)))
            .map(|(k, _)| k);
        match (written, stored) {
            (Some(a), Some(b)) => Some(a.min(b).clone()),
            (a, b) => a.or(b).cloned(),
        }
    }
}

std::thread_local! {
    static ACTIVE: RefCell<Option<Invocation>> = const { RefCell::new(None) };
}

/// Installs `invocation` for the duration of `f` and hands it back (also after a panic).
pub(crate) fn with_invocation<T>(
    invocation: Invocation,
    f: impl FnOnce() -> T,
) -> (Invocation, std::thread::Result<T>) {
    ACTIVE.with(|a| {
        let mut slot = a.borrow_mut();
        assert!(
            slot.is_none(),
            "a MockHost invocation is already running on this thread"
        );
        *slot = Some(invocation);
    });
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let invocation = ACTIVE
        .with(|a| a.borrow_mut().take())
        .expect("invocation vanished");
    (invocation, result)
}

fn with<T>(f: impl FnOnce(&mut Invocation) -> T) -> T {
    ACTIVE.with(|a| {
        let mut slot = a.borrow_mut();
        let invocation = slot.as_mut().unwrap_or_else(|| {
            panic!("no CVM host: run manuscript code through manuscript_sdk::testing::MockHost")
        });
        f(invocation)
    })
}

/// # Safety
/// `ptr..ptr+len` must be readable (or `len == 0`).
unsafe fn input<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: per the contract above.
        unsafe { slice::from_raw_parts(ptr, len) }
    }
}

/// # Safety
/// `out..out+cap` must be writable.
unsafe fn output(bytes: &[u8], out: *mut u8, cap: usize) -> i32 {
    let n = bytes.len().min(cap);
    if n > 0 {
        // SAFETY: per the contract above; `bytes` is host memory, disjoint from `out`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, n) };
    }
    bytes.len() as i32
}

fn check_key(key: &[u8]) {
    if key.len() > MAX_KEY_LEN {
        trap(format!(
            "key length {} exceeds the limit of {MAX_KEY_LEN} bytes",
            key.len()
        ));
    }
}

fn check_value(value: &[u8]) {
    if value.len() > MAX_VALUE_LEN {
        trap(format!(
            "value length {} exceeds the limit of {MAX_VALUE_LEN} bytes",
            value.len()
        ));
    }
}

pub(crate) unsafe fn state_get(
    key_ptr: *const u8,
    key_len: usize,
    out_ptr: *mut u8,
    out_cap: usize,
) -> i32 {
    // SAFETY: forwarded from the caller (the SDK's `sys`).
    let key = unsafe { input(key_ptr, key_len) };
    with(|inv| {
        let found = inv.get(key).cloned();
        let copied = found.as_ref().map_or(0, |v| v.len().min(out_cap));
        inv.charge(fuel::STATE_GET, key.len() + copied);
        check_key(key);
        match found {
            // SAFETY: forwarded from the caller.
            Some(v) => unsafe { output(&v, out_ptr, out_cap) },
            None => -1,
        }
    })
}

pub(crate) unsafe fn state_set(
    key_ptr: *const u8,
    key_len: usize,
    val_ptr: *const u8,
    val_len: usize,
) {
    // SAFETY: forwarded from the caller.
    let (key, value) = unsafe { (input(key_ptr, key_len), input(val_ptr, val_len)) };
    with(|inv| {
        inv.charge(fuel::STATE_SET, key.len() + value.len());
        check_key(key);
        check_value(value);
        inv.writes.insert(key.to_vec(), Some(value.to_vec()));
    })
}

pub(crate) unsafe fn state_remove(key_ptr: *const u8, key_len: usize) {
    // SAFETY: forwarded from the caller.
    let key = unsafe { input(key_ptr, key_len) };
    with(|inv| {
        inv.charge(fuel::STATE_REMOVE, key.len());
        check_key(key);
        inv.writes.insert(key.to_vec(), None);
    })
}

pub(crate) unsafe fn state_next_key(
    prefix_ptr: *const u8,
    prefix_len: usize,
    after_ptr: *const u8,
    after_len: i32,
    out_ptr: *mut u8,
    out_cap: usize,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let prefix = unsafe { input(prefix_ptr, prefix_len) };
    let after = (after_len >= 0).then(|| {
        // SAFETY: forwarded from the caller (a non-negative `after_len` comes with a live `after_ptr`).
        unsafe { input(after_ptr, after_len as usize) }
    });
    with(|inv| {
        let found = inv.next_key(prefix, after);
        let copied = found.as_ref().map_or(0, |k| k.len().min(out_cap));
        inv.charge(
            fuel::STATE_NEXT_KEY,
            prefix.len() + after.map_or(0, <[u8]>::len) + copied,
        );
        check_key(prefix);
        match found {
            // SAFETY: forwarded from the caller.
            Some(k) => unsafe { output(&k, out_ptr, out_cap) },
            None => -1,
        }
    })
}

pub(crate) unsafe fn emit(
    dataset_ptr: *const u8,
    dataset_len: usize,
    key_ptr: *const u8,
    key_len: usize,
    val_ptr: *const u8,
    val_len: usize,
) {
    // SAFETY: forwarded from the caller.
    let (dataset, key, value) = unsafe {
        (
            input(dataset_ptr, dataset_len),
            input(key_ptr, key_len),
            input(val_ptr, val_len),
        )
    };
    with(|inv| {
        inv.charge(fuel::EMIT, dataset.len() + key.len() + value.len());
        let Ok(dataset) = std::str::from_utf8(dataset) else {
            trap("dataset name is not valid UTF-8".into());
        };
        if dataset.len() > MAX_DATASET_LEN {
            trap(format!(
                "dataset name exceeds the limit of {MAX_DATASET_LEN} bytes"
            ));
        }
        if let Some(declared) = &inv.datasets
            && !declared.iter().any(|d| d == dataset)
        {
            trap(format!(
                "dataset {dataset:?} is not declared in the manifest"
            ));
        }
        check_key(key);
        check_value(value);
        if inv.append_only.iter().any(|d| d == dataset) {
            let repeated = inv
                .appended_in_block
                .contains(&(dataset.into(), key.to_vec()))
                || inv
                    .emitted
                    .iter()
                    .any(|e| e.dataset == dataset && e.key == key);
            if repeated {
                let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
                trap(format!(
                    "emit into append-only dataset {dataset:?} repeats key 0x{hex} of this block: an \
                     append-only record is written once (use a key of its own per record, or declare the \
                     dataset keyed)"
                ));
            }
        }
        if let Some(existing) = inv
            .emitted
            .iter_mut()
            .find(|e| e.dataset == dataset && e.key == key)
        {
            existing.value = value.to_vec();
            return;
        }
        if inv.emitted.len() >= MAX_EMITS {
            trap(format!(
                "more than {MAX_EMITS} records emitted in one invocation"
            ));
        }
        inv.emitted.push(Emitted {
            dataset: dataset.into(),
            key: key.to_vec(),
            value: value.to_vec(),
        });
    })
}

pub(crate) fn block_height() -> i64 {
    with(|inv| {
        inv.charge(fuel::BLOCK, 0);
        inv.block.height as i64
    })
}

pub(crate) fn block_time() -> i64 {
    with(|inv| {
        inv.charge(fuel::BLOCK, 0);
        inv.block.time_ms as i64
    })
}

pub(crate) unsafe fn log(level: i32, msg_ptr: *const u8, msg_len: usize) {
    // SAFETY: forwarded from the caller.
    let message = unsafe { input(msg_ptr, msg_len) };
    with(|inv| {
        inv.charge(fuel::LOG, message.len());
        let Some(level) = Level::from_code(level) else {
            trap(format!("invalid log level {level}"));
        };
        let kept = &message[..message.len().min(MAX_LOG_LEN)];
        inv.logs.push(LogLine {
            level,
            message: String::from_utf8_lossy(kept).into_owned(),
        });
    })
}
