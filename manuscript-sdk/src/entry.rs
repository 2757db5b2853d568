//! The entry point shared by wasm and native runs: [`Manuscript`] pairs a manifest with the
//! author's function and implements `cvm_process`'s decode → call → status logic once. On wasm32
//! this module also provides the `cvm_alloc` export.
//!
//! Unsafe (wasm32 only): reading the inputs the host placed in linear memory, and the `cvm_alloc` buffer pool.
#![allow(unsafe_code)]

use crate::block_env::Level;
use crate::context::Context;
use crate::error::Error;
use crate::manifest::Manifest;
use parity_scale_codec::Decode;

/// Status codes returned by `cvm_process` (`ABI.md`).
pub mod status {
    /// Success: the invocation's writes are kept.
    pub const OK: i32 = 0;
    /// The record could not be decoded.
    pub const DECODE_FAILED: i32 = 1;
    /// The manuscript returned an error (logged at level error first).
    pub const ERROR: i32 = 2;
}

/// A manuscript: its manifest plus the function that processes one record of type `R`.
/// `#[manuscript]` generates one as `pub const MANUSCRIPT`.
pub struct Manuscript<R> {
    manifest: &'static [u8],
    handler: fn(&mut Context, R) -> Result<(), Error>,
}

impl<R> Clone for Manuscript<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Manuscript<R> {}

impl<R> core::fmt::Debug for Manuscript<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Manuscript")
            .field("manifest", &Manifest::decode_section(self.manifest))
            .finish_non_exhaustive()
    }
}

impl<R: Decode> Manuscript<R> {
    /// Pairs SCALE-encoded manifest bytes with a handler. Prefer `#[manuscript]`, which validates
    /// the manifest at compile time.
    pub const fn new(
        manifest: &'static [u8],
        handler: fn(&mut Context, R) -> Result<(), Error>,
    ) -> Self {
        Manuscript { manifest, handler }
    }

    /// The content of the `cvm_manifest` section.
    pub const fn manifest_bytes(&self) -> &'static [u8] {
        self.manifest
    }

    /// The decoded manifest.
    ///
    /// # Panics
    /// If the bytes are not a valid manifest (impossible for one built by `#[manuscript]`).
    pub fn manifest(&self) -> Manifest {
        match Manifest::decode_section(self.manifest) {
            Ok(m) => m,
            Err(e) => panic!("invalid manuscript manifest: {e}"),
        }
    }

    /// The author's function.
    pub fn handler(&self) -> fn(&mut Context, R) -> Result<(), Error> {
        self.handler
    }

    /// Processes one SCALE-encoded record of `source`, returning a [`status`] code: what
    /// `cvm_process` does. Must run with a host present (the CVM, or a `testing::MockHost`).
    pub fn invoke(&self, source: &str, record: &[u8]) -> i32 {
        let mut ctx = Context::new(source);
        let record = match crate::scratch::decode_all::<R>(record) {
            Ok(r) => r,
            Err(e) => {
                ctx.log(Level::Error, format_args!("record decode failed: {e}"));
                return status::DECODE_FAILED;
            }
        };
        match (self.handler)(&mut ctx, record) {
            Ok(()) => status::OK,
            Err(e) => {
                ctx.log(Level::Error, &e);
                status::ERROR
            }
        }
    }
}

/// `cvm_process` for `#[manuscript]`: reads the inputs out of linear memory, runs
/// [`Manuscript::invoke`] and returns the input buffers to the SDK for the next call.
///
/// # Safety
/// The pointer/length pairs must describe readable guest memory (the host guarantees it).
#[cfg(target_arch = "wasm32")]
pub unsafe fn process_ptrs<R: Decode>(
    manuscript: &Manuscript<R>,
    source_ptr: i32,
    source_len: i32,
    record_ptr: i32,
    record_len: i32,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let source = unsafe { guest_slice(source_ptr, source_len) };
    // SAFETY: forwarded from the caller.
    let record = unsafe { guest_slice(record_ptr, record_len) };
    let status = match core::str::from_utf8(source) {
        Ok(source) => manuscript.invoke(source, record),
        Err(_) => status::DECODE_FAILED,
    };
    inputs::end_call();
    status
}

#[cfg(target_arch = "wasm32")]
unsafe fn guest_slice<'a>(ptr: i32, len: i32) -> &'a [u8] {
    let len = len as u32 as usize;
    if len == 0 {
        &[]
    } else {
        // SAFETY: the caller guarantees ptr..ptr+len is readable memory.
        unsafe { core::slice::from_raw_parts(ptr as u32 as usize as *const u8, len) }
    }
}

/// The buffers handed out by `cvm_alloc`. The host uses them only for the inputs of the next `cvm_process` call
/// (ABI.md, "Memory ownership"); the SDK keeps them for the inputs of the calls after it, since the host asks for
/// the same two (source id, record) for every record and a fresh pair cost two allocations and two frees each.
#[cfg(target_arch = "wasm32")]
mod inputs {
    use alloc::alloc::{Layout, alloc, dealloc};
    use alloc::vec::Vec;
    use core::cell::UnsafeCell;

    /// Alignment of `cvm_alloc` buffers: enough for any scalar the host might place.
    const ALIGN: usize = 8;
    /// Buffers larger than this are freed when their call returns rather than kept: a rare large record should
    /// not hold its memory for the rest of the instance's life.
    const KEEP_BYTES: usize = 64 << 10;

    /// `slots[..used]` are handed out for the current call; every slot is `(address, capacity)`.
    struct Pool {
        slots: Vec<(usize, usize)>,
        used: usize,
    }

    struct Buffers(UnsafeCell<Pool>);
    // SAFETY: wasm32-unknown-unknown manuscripts are single-threaded.
    unsafe impl Sync for Buffers {}

    static BUFFERS: Buffers = Buffers(UnsafeCell::new(Pool {
        slots: Vec::new(),
        used: 0,
    }));

    #[allow(clippy::mut_from_ref)]
    fn pool() -> &'static mut Pool {
        // SAFETY: single-threaded, and no caller holds the reference across another call.
        unsafe { &mut *BUFFERS.0.get() }
    }

    fn layout(capacity: usize) -> Layout {
        // SAFETY: ALIGN is a power of two and every capacity passed here came from a successful allocation.
        unsafe { Layout::from_size_align_unchecked(capacity, ALIGN) }
    }

    /// Allocates `len` bytes for the host; 0 when out of memory.
    #[unsafe(no_mangle)]
    pub extern "C" fn cvm_alloc(len: i32) -> i32 {
        let len = len as u32 as usize;
        if len == 0 {
            return ALIGN as i32;
        }
        if Layout::from_size_align(len, ALIGN).is_err() {
            return 0;
        }
        let pool = pool();
        let kept = pool.slots.get(pool.used).copied();
        if let Some((address, capacity)) = kept
            && capacity >= len
        {
            pool.used += 1;
            return address as i32;
        }
        if kept.is_none() && pool.slots.try_reserve(1).is_err() {
            return 0;
        }
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc(layout(len)) };
        if ptr.is_null() {
            return 0;
        }
        let slot = (ptr as usize, len);
        match kept {
            // Too small for this call: replaced by the new one.
            Some((address, capacity)) => {
                // SAFETY: allocated here with this layout and not handed out for the current call.
                unsafe { dealloc(address as *mut u8, layout(capacity)) };
                pool.slots[pool.used] = slot;
            }
            None => pool.slots.push(slot),
        }
        pool.used += 1;
        ptr as usize as i32
    }

    /// Ends the current call: its buffers become free for the next, except large ones, which are released.
    pub(super) fn end_call() {
        let pool = pool();
        pool.used = 0;
        pool.slots.retain(|&(address, capacity)| {
            if capacity <= KEEP_BYTES {
                return true;
            }
            // SAFETY: allocated in `cvm_alloc` with this layout; dropped from the pool here, so freed once.
            unsafe { dealloc(address as *mut u8, layout(capacity)) };
            false
        });
    }
}
