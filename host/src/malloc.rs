//! Process-wide memory: allocator housekeeping for glibc, and the resident size the node reports.
//!
//! Committing a block frees tens of megabytes at once (the block's trie nodes, write batch, records and
//! receipts). glibc keeps freed memory in its heaps, and only returns what lies at the top of the main heap, so
//! a validator's resident size ratchets up to the sum of its per-thread heaps' high-water marks. `malloc_trim`
//! after each commit hands the free pages of every heap back.

/// Returns free heap memory to the system. Call after freeing a lot (a block commit).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free; it is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The process's resident set size, in bytes (Linux; `None` elsewhere or if `/proc` is unreadable).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn resident_size_grows_with_touched_memory() {
        let before = super::resident_bytes().expect("statm");
        let block = vec![1u8; 64 << 20];
        let after = super::resident_bytes().expect("statm");
        assert!(after >= before + (32 << 20), "{before} -> {after}");
        drop(std::hint::black_box(block));
    }
}
