//! Host bindings. On wasm32 these are the `cvm` imports of `ABI.md`; on other targets the same
//! raw functions are served by the thread-local mock host of [`crate::testing`], so manuscript
//! code (and the buffer handling below) runs unchanged under `cargo test`.
//!
//! The imports taking pointers are unsafe to call: the host writes into `state_get`'s and `state_next_key`'s
//! output buffers, and the native mock reads and writes through every pointer it is given. The wrappers below
//! pass live slices only. `block_height` and `block_time` take no pointers and are declared safe.
#![allow(unsafe_code)]

use alloc::vec::Vec;

#[cfg(target_arch = "wasm32")]
pub(crate) mod raw {
    #[link(wasm_import_module = "cvm")]
    unsafe extern "C" {
        pub fn state_get(
            key_ptr: *const u8,
            key_len: usize,
            out_ptr: *mut u8,
            out_cap: usize,
        ) -> i32;
        pub fn state_set(key_ptr: *const u8, key_len: usize, val_ptr: *const u8, val_len: usize);
        pub fn state_remove(key_ptr: *const u8, key_len: usize);
        pub fn state_next_key(
            prefix_ptr: *const u8,
            prefix_len: usize,
            after_ptr: *const u8,
            after_len: i32,
            out_ptr: *mut u8,
            out_cap: usize,
        ) -> i32;
        pub fn emit(
            dataset_ptr: *const u8,
            dataset_len: usize,
            key_ptr: *const u8,
            key_len: usize,
            val_ptr: *const u8,
            val_len: usize,
        );
        pub safe fn block_height() -> i64;
        pub safe fn block_time() -> i64;
        pub fn log(level: i32, msg_ptr: *const u8, msg_len: usize);
        pub fn abort(
            msg_ptr: *const u8,
            msg_len: usize,
            file_ptr: *const u8,
            file_len: usize,
            line: u32,
            column: u32,
        ) -> !;
    }
}

#[cfg(not(target_arch = "wasm32"))]
use crate::testing::mock as raw;

/// First guess for the size of a key returned by `state_next_key` (the default key limit).
const INITIAL_KEY_CAP: usize = 1024;

/// Passes the value under `key` to `f` (from a stack buffer when it is small); `None` if absent.
pub(crate) fn state_get_with<R>(key: &[u8], f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    // SAFETY: key is a live slice; out points to `cap` writable bytes.
    crate::scratch::with_host_bytes(
        |out, cap| unsafe { raw::state_get(key.as_ptr(), key.len(), out, cap) },
        f,
    )
}

pub(crate) fn state_set(key: &[u8], value: &[u8]) {
    // SAFETY: both are live slices.
    unsafe { raw::state_set(key.as_ptr(), key.len(), value.as_ptr(), value.len()) }
}

pub(crate) fn state_remove(key: &[u8]) {
    // SAFETY: key is a live slice.
    unsafe { raw::state_remove(key.as_ptr(), key.len()) }
}

pub(crate) fn state_next_key(prefix: &[u8], after: Option<&[u8]>) -> Option<Vec<u8>> {
    let (after_ptr, after_len) = match after {
        Some(a) => (a.as_ptr(), a.len() as i32),
        None => (core::ptr::null(), -1),
    };
    // SAFETY: prefix and after are live slices; out points to `cap` writable bytes.
    crate::scratch::read_to_vec(INITIAL_KEY_CAP, |out, cap| unsafe {
        raw::state_next_key(
            prefix.as_ptr(),
            prefix.len(),
            after_ptr,
            after_len,
            out,
            cap,
        )
    })
}

pub(crate) fn emit(dataset: &str, key: &[u8], value: &[u8]) {
    // SAFETY: all three are live slices.
    unsafe {
        raw::emit(
            dataset.as_ptr(),
            dataset.len(),
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
        )
    }
}

pub(crate) fn block_height() -> u64 {
    raw::block_height() as u64
}

pub(crate) fn block_time() -> u64 {
    raw::block_time() as u64
}

pub(crate) fn log(level: i32, message: &str) {
    // SAFETY: message is a live slice.
    unsafe { raw::log(level, message.as_ptr(), message.len()) }
}

/// Traps with `panicked at FILE:LINE:COLUMN: MSG`.
#[cfg(target_arch = "wasm32")]
pub(crate) fn abort(message: &[u8], file: &str, line: u32, column: u32) -> ! {
    // SAFETY: both are live slices; the call does not return.
    unsafe {
        raw::abort(
            message.as_ptr(),
            message.len(),
            file.as_ptr(),
            file.len(),
            line,
            column,
        )
    }
}
