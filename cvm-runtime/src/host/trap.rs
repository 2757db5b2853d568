//! Why a host function (or the memory limiter) stopped an invocation.

/// Why a host function (or the memory limiter) stopped an invocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostTrap {
    /// A host function's price is above the fuel left: names the call, so a receipt tells a huge write or emit
    /// from a long computation (which ends in wasmtime's own out-of-fuel trap).
    #[error("out of fuel in {call}: the call costs {cost}, {left} left")]
    OutOfFuel {
        /// The host function that was called.
        call: &'static str,
        /// What the call would have cost.
        cost: u64,
        /// The fuel the invocation had left.
        left: u64,
    },
    /// A pointer and length given to a host function fall outside the guest's memory.
    #[error("memory access out of bounds: {0}")]
    OutOfBounds(&'static str),
    /// The manuscript panicked (the `abort` import).
    #[error("panicked at {file}:{line}:{column}: {message}")]
    Panic {
        /// The panic message, cut at the log length limit.
        message: String,
        /// The source file of the panic, cut at the log length limit.
        file: String,
        /// Line in `file`.
        line: u32,
        /// Column in `file`.
        column: u32,
    },
    /// A key, value or name passed to a host function is above its limit.
    #[error("{what} of {len} bytes is above the {max}-byte limit")]
    TooLarge {
        /// What was too large ("key", "record value", ...).
        what: &'static str,
        /// Its length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// An emit named a dataset the manifest does not declare.
    #[error("emit into dataset {0:?}, which the manifest does not declare")]
    UndeclaredDataset(String),
    /// An emit into an append-only dataset repeated a key already appended to it in the same block.
    #[error(
        "emit into append-only dataset {dataset:?} repeats key 0x{key} of this block: an append-only record is \
         written once (use a key of its own per record, or declare the dataset keyed)"
    )]
    DuplicateAppend {
        /// The dataset.
        dataset: String,
        /// The key, hex.
        key: String,
    },
    /// One invocation emitted more records than the limit.
    #[error("more than {0} records emitted in one invocation")]
    TooManyEmits(u32),
    /// Linear memory grew past the cap.
    #[error("memory limit exceeded: the manuscript asked for {desired} bytes, the cap is {max}")]
    MemoryLimit {
        /// The memory size asked for, in bytes.
        desired: u64,
        /// The cap, in bytes.
        max: u64,
    },
    /// A table grew past the cap.
    #[error("table limit exceeded: {desired} elements asked, the cap is {max}")]
    TableLimit {
        /// The table size asked for, in elements.
        desired: u64,
        /// The cap, in elements.
        max: u64,
    },
    /// The live frames took more than the deterministic stack limit (`stack_limit::MAX_STACK_UNITS`): unbounded or
    /// too deep recursion.
    #[error("stack overflow: call depth above the limit of {0} stack units")]
    StackOverflow(u32),
    /// Not the manuscript's fault: this node cannot read its state. Aborts the whole block.
    #[error("node state unavailable: {0}")]
    NodeFault(String),
}

/// A failure to read this node's state, as the trap that aborts the block.
pub(super) fn node_fault(e: impl std::fmt::Display) -> wasmtime::Error {
    HostTrap::NodeFault(e.to_string()).into()
}
