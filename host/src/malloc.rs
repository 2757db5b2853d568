//! Process-wide allocator housekeeping for glibc.
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
