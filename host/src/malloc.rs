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

/// Heap bytes held by live allocations (glibc's count, including blocks mapped on their own). Against the
/// resident size it tells live data from what the allocator keeps around (fragmentation, per-thread heaps,
/// wasm memories and thread stacks are outside it). The allocator's free bytes are not reported: after
/// `malloc_trim` most of them are no longer resident, so the figure would mislead. `None` off glibc.
pub fn heap_in_use() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads the allocator's counters (taking each arena's lock).
        let info = unsafe { libc::mallinfo2() };
        Some((info.uordblks + info.hblkhd) as u64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    None
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
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn heap_in_use_counts_a_live_allocation() {
        let before = super::heap_in_use().expect("glibc");
        // Large against what other tests running alongside allocate and free meanwhile; zeroed, so mapped
        // without being touched.
        let block = std::hint::black_box(vec![0u8; 256 << 20]);
        let during = super::heap_in_use().expect("glibc");
        drop(block);
        let after = super::heap_in_use().expect("glibc");
        assert!(during >= before + (192 << 20), "{before} -> {during}");
        assert!(after + (192 << 20) <= during, "{during} -> {after}");
    }

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
