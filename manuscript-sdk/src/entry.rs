//! The entry point shared by wasm and native runs: [`Manuscript`] pairs a manifest with the
//! author's function and implements `cvm_process`'s decode → call → status logic once. On wasm32
//! this module also provides the `cvm_alloc` export.

use crate::context::{Context, Level};
use crate::error::Error;
use crate::manifest::Manifest;
use parity_scale_codec::{Decode, DecodeAll};

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
        let record = match R::decode_all(&mut &record[..]) {
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
/// [`Manuscript::invoke`] and releases the input buffers.
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
    let record = unsafe { guest_slice(record_ptr, record_len) };
    let status = match core::str::from_utf8(source) {
        Ok(source) => manuscript.invoke(source, record),
        Err(_) => status::DECODE_FAILED,
    };
    inputs::release_all();
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

/// The buffers handed out by `cvm_alloc`. The host uses them only for the inputs of the next
/// `cvm_process` call, so they are freed when that call returns (ABI.md, "Memory ownership").
#[cfg(target_arch = "wasm32")]
mod inputs {
    use alloc::alloc::{Layout, alloc, dealloc};
    use alloc::vec::Vec;
    use core::cell::UnsafeCell;

    /// Alignment of `cvm_alloc` buffers: enough for any scalar the host might place.
    const ALIGN: usize = 8;

    struct Buffers(UnsafeCell<Vec<(usize, usize)>>);
    // SAFETY: wasm32-unknown-unknown manuscripts are single-threaded.
    unsafe impl Sync for Buffers {}

    static BUFFERS: Buffers = Buffers(UnsafeCell::new(Vec::new()));

    #[allow(clippy::mut_from_ref)]
    fn buffers() -> &'static mut Vec<(usize, usize)> {
        // SAFETY: single-threaded, and no caller holds the reference across another call.
        unsafe { &mut *BUFFERS.0.get() }
    }

    /// Allocates `len` bytes for the host; 0 when out of memory.
    #[unsafe(no_mangle)]
    pub extern "C" fn cvm_alloc(len: i32) -> i32 {
        let len = len as u32 as usize;
        if len == 0 {
            return ALIGN as i32;
        }
        let Ok(layout) = Layout::from_size_align(len, ALIGN) else {
            return 0;
        };
        let list = buffers();
        if list.try_reserve(1).is_err() {
            return 0;
        }
        // SAFETY: layout has a non-zero size.
        let ptr = unsafe { alloc(layout) };
        if ptr.is_null() {
            return 0;
        }
        list.push((ptr as usize, len));
        ptr as usize as i32
    }

    /// Frees every buffer handed out by `cvm_alloc`.
    pub(super) fn release_all() {
        for (ptr, len) in buffers().drain(..) {
            // SAFETY: allocated above with exactly this layout, freed once (drained).
            unsafe {
                dealloc(
                    ptr as *mut u8,
                    Layout::from_size_align_unchecked(len, ALIGN),
                )
            };
        }
    }
}
