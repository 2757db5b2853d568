//! What the host tells a manuscript about where it runs: the block being executed, and the log levels it
//! accepts. Below both the typed [`crate::Context`] and the native mock host, which share these types.

use parity_scale_codec::{Decode, Encode};

/// The block being executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Encode, Decode)]
pub struct BlockInfo {
    /// Block height.
    pub height: u64,
    /// Block time from the header, milliseconds since the Unix epoch.
    pub time_ms: u64,
}

impl BlockInfo {
    /// Block time in whole seconds since the Unix epoch.
    pub fn time_secs(&self) -> u64 {
        self.time_ms / 1000
    }
}

/// Log level, as passed to the host's `log` (`0` error … `4` trace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i32)]
pub enum Level {
    /// 0
    Error = 0,
    /// 1
    Warn = 1,
    /// 2
    Info = 2,
    /// 3
    Debug = 3,
    /// 4
    Trace = 4,
}

impl Level {
    /// The level of an ABI level code, if it is one.
    pub fn from_code(code: i32) -> Option<Level> {
        Some(match code {
            0 => Level::Error,
            1 => Level::Warn,
            2 => Level::Info,
            3 => Level::Debug,
            4 => Level::Trace,
            _ => return None,
        })
    }
}
