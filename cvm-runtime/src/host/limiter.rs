//! Caps on linear memory and table growth.

use wasmtime::ResourceLimiter;

use super::trap::HostTrap;

/// Caps linear memory and table growth; a breach traps with a named reason instead of returning -1, so the
/// receipt says what happened.
pub(crate) struct Limiter {
    pub(super) max_memory: u64,
    pub(super) max_table: u64,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.max_memory {
            return Err(HostTrap::MemoryLimit {
                desired: desired as u64,
                max: self.max_memory,
            }
            .into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.max_table {
            return Err(HostTrap::TableLimit {
                desired: desired as u64,
                max: self.max_table,
            }
            .into());
        }
        Ok(true)
    }
}
