//! Compiled modules in memory, bounded by count and bytes, least recently used evicted first.

use std::collections::HashMap;

struct Entry<V> {
    value: V,
    bytes: u64,
    last_used: u64,
}

/// An LRU map from code hash to a shared compiled module (`V` clones cheaply). Eviction scans for the oldest entry: it runs only after a
/// compilation or a disk load, which cost far more than a scan of `max_entries` entries.
pub(super) struct MemoryCache<V> {
    entries: HashMap<[u8; 32], Entry<V>>,
    bytes: u64,
    clock: u64,
    max_entries: usize,
    max_bytes: u64,
}

impl<V: Clone> MemoryCache<V> {
    pub(super) fn new(max_entries: usize, max_bytes: u64) -> Self {
        Self {
            entries: HashMap::new(),
            bytes: 0,
            clock: 0,
            max_entries,
            max_bytes,
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// The module, marked as just used.
    pub(super) fn get(&mut self, code_hash: &[u8; 32]) -> Option<V> {
        let now = self.tick();
        let entry = self.entries.get_mut(code_hash)?;
        entry.last_used = now;
        Some(entry.value.clone())
    }

    /// Adds a module of `bytes` bytes, then evicts the least recently used until within bounds (the new one too
    /// if it alone is above them; its holders keep it). Returns how many were evicted.
    pub(super) fn insert(&mut self, code_hash: [u8; 32], value: V, bytes: u64) -> u64 {
        let last_used = self.tick();
        if let Some(old) = self.entries.insert(
            code_hash,
            Entry {
                value,
                bytes,
                last_used,
            },
        ) {
            self.bytes -= old.bytes;
        }
        self.bytes += bytes;
        let mut evicted = 0;
        while self.entries.len() > self.max_entries || self.bytes > self.max_bytes {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(hash, _)| *hash)
            else {
                break;
            };
            if let Some(entry) = self.entries.remove(&oldest) {
                self.bytes -= entry.bytes;
                evicted += 1;
            }
        }
        evicted
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// Entries held, and their bytes.
    pub(super) fn usage(&self) -> (usize, u64) {
        (self.entries.len(), self.bytes)
    }
}
