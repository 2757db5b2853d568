//! Process-wide memory: allocator housekeeping for glibc, and the resident size the node reports.
//!
//! Committing a block frees tens of megabytes at once (the block's trie nodes, write batch, records and
//! receipts). glibc keeps freed memory in its heaps, and only returns what lies at the top of the main heap, so
//! a validator's resident size ratchets up to the sum of its per-thread heaps' high-water marks. `malloc_trim`
//! after each commit hands the free pages of every heap back.

// glibc's allocator is a C API: tuning, trimming and reading it are FFI calls.
#![allow(unsafe_code)]

/// Allocations at least this large get pages of their own, returned to the system when freed.
///
/// glibc starts at this threshold but raises it to the size of each such block freed (up to 32 MiB), so after a
/// few 150 KB transactions, block parts and write batches have come and gone, blocks of that size come from the
/// heaps instead, where the small allocations living around them keep their pages resident long after they are
/// freed. Fixing the threshold keeps every validator 15–20 MB lower under the benchmark's end-to-end load, for a
/// few percent of CPU (fresh pages are zeroed by the kernel).
pub const MMAP_THRESHOLD_BYTES: usize = 128 << 10;

/// Sets the allocator up for a long-running node: a fixed [`MMAP_THRESHOLD_BYTES`], unless the operator chose
/// one through glibc's environment (`MALLOC_MMAP_THRESHOLD_` or `GLIBC_TUNABLES`). Call once, at start.
pub fn configure_for_node() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let chosen = std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some()
            || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("mmap_threshold"));
        if !chosen {
            // SAFETY: mallopt only changes the allocator's parameters; it is safe to call at any time.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES as libc::c_int);
            }
        }
    }
}

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
    fn large_blocks_stay_mapped_on_their_own_after_configuring() {
        /// glibc's chunk header: the size word before the block has bit 1 set for a block mapped on its own.
        fn is_mapped(block: &[u8]) -> bool {
            // SAFETY: every glibc malloc block is preceded by its chunk's size word.
            let size_word = unsafe { *(block.as_ptr() as *const usize).sub(1) };
            size_word & 2 != 0
        }
        super::configure_for_node();
        // Freeing a large mapped block would raise glibc's own threshold above the next one's size.
        drop(std::hint::black_box(vec![1u8; 16 << 20]));
        let block = std::hint::black_box(vec![1u8; 4 * super::MMAP_THRESHOLD_BYTES]);
        assert!(is_mapped(&block));
    }

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
