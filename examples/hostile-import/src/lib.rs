//! # hostile-import
//!
//! A manuscript that imports `fd_write` from module `wasi_snapshot_preview1` and calls it to
//! print each record's key to stdout. Everything else is a normal SDK manuscript (source `kv`,
//! no dataset), so the only thing wrong with its wasm is the forbidden import: the CVM must
//! reject it at deploy (`ABI.md`: no imports outside module `cvm`).
//!
//! Natively (tests) the call is a no-op stand-in, so the crate still builds on the host.
#![no_std]
// Deliberately hostile: declaring and calling the forbidden WASI import is FFI, so this crate needs `unsafe`.
#![allow(unsafe_code)]

use manuscript_sdk::prelude::*;

#[cfg(target_arch = "wasm32")]
mod wasi {
    /// `__wasi_ciovec_t`.
    #[repr(C)]
    pub struct Ciovec {
        pub buf: *const u8,
        pub buf_len: usize,
    }

    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        pub fn fd_write(fd: i32, iovs: *const Ciovec, iovs_len: usize, nwritten: *mut usize)
        -> i32;
    }
}

/// Writes `bytes` to file descriptor 1 through WASI; returns the WASI errno (0 natively).
pub fn write_stdout(bytes: &[u8]) -> i32 {
    #[cfg(target_arch = "wasm32")]
    {
        let iov = wasi::Ciovec {
            buf: bytes.as_ptr(),
            buf_len: bytes.len(),
        };
        let mut written = 0usize;
        // SAFETY: iov points at a live buffer; `written` is a valid out-pointer.
        unsafe { wasi::fd_write(1, &iov, 1, &mut written) }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = bytes;
        0
    }
}

#[manuscript(name = "hostile-import", sources("kv"), datasets())]
fn process(ctx: &mut Context, record: KvRecord) -> Result<(), Error> {
    let errno = write_stdout(&record.key);
    ensure!(errno == 0, "fd_write failed with errno {errno}");
    ctx.debug("wrote the key to stdout");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use manuscript_sdk::testing::MockHost;

    #[test]
    fn native_stand_in_succeeds_and_manifest_has_no_dataset() {
        let mut host = MockHost::new();
        host.process(&MANUSCRIPT, &KvRecord::new("k", "v"))
            .expect_success();
        assert_eq!(host.logs().len(), 1);
        let m = MANUSCRIPT.manifest();
        assert_eq!((m.name.as_str(), m.datasets.len()), ("hostile-import", 0));
    }
}
