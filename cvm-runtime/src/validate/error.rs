//! The named reasons a wasm binary cannot be deployed.

/// Why a wasm binary cannot be deployed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The binary is above the code size limit.
    #[error(
        "code is {size} bytes, above the {max}-byte limit: strip debug info or build with the `manuscript` profile"
    )]
    CodeTooLarge {
        /// The binary's size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not valid wasm, or it uses a feature the CVM does not enable.
    #[error("invalid wasm: {0}")]
    InvalidWasm(String),
    /// It imports something other than a `cvm` host function.
    #[error(
        "import {module}::{name} is outside the CVM ABI: manuscripts may only import functions of module `cvm`"
    )]
    ForbiddenImport {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
    },
    /// It imports a `cvm` host function with another signature than the ABI's.
    #[error("import cvm::{name} has the wrong signature: expected {expected}")]
    ImportSignature {
        /// The host function.
        name: String,
        /// Its ABI signature.
        expected: &'static str,
    },
    /// It imports a memory, table or global.
    #[error("imports a {kind} ({module}::{name}); only functions may be imported")]
    NonFunctionImport {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
        /// What it imports.
        kind: &'static str,
    },
    /// An export the ABI requires is missing.
    #[error("missing export `{0}` required by the CVM ABI")]
    MissingExport(&'static str),
    /// An ABI export has the wrong kind or signature.
    #[error("export `{name}` has the wrong type: expected {expected}")]
    ExportSignature {
        /// The export.
        name: &'static str,
        /// What the ABI requires.
        expected: &'static str,
    },
    /// It defines more than one memory.
    #[error("defines {0} memories; a manuscript has exactly one")]
    MultipleMemories(u32),
    /// Its initial memory is above the memory cap.
    #[error("initial memory of {pages} pages is above the cap of {max} pages")]
    InitialMemoryTooLarge {
        /// The initial size in 64 KiB pages.
        pages: u64,
        /// The cap in pages.
        max: u64,
    },
    /// It defines more than one table (the instance pool gives each manuscript one).
    #[error("defines {0} tables; a manuscript has at most one")]
    MultipleTables(u32),
    /// Its initial table is above the table cap.
    #[error("initial table of {elements} elements is above the cap of {max}")]
    InitialTableTooLarge {
        /// The initial size in elements.
        elements: u64,
        /// The cap.
        max: u64,
    },
    /// An active data segment does not fit in the initial memory, so instantiation would trap.
    #[error(
        "data segment {index} covers bytes {offset}..{end}, outside the initial memory of {memory_bytes} bytes: \
         raise the initial memory or move the segment"
    )]
    DataSegmentOutOfBounds {
        /// The segment's index in the data section.
        index: u32,
        /// Its offset in memory.
        offset: u64,
        /// One past its last byte.
        end: u64,
        /// The initial memory's size in bytes.
        memory_bytes: u64,
    },
    /// An active element segment does not fit in the initial table, so instantiation would trap.
    #[error(
        "element segment {index} covers entries {offset}..{end}, outside the initial table of {table_elements} \
         elements: raise the initial table size or move the segment"
    )]
    ElementSegmentOutOfBounds {
        /// The segment's index in the element section.
        index: u32,
        /// Its offset in the table.
        offset: u64,
        /// One past its last entry.
        end: u64,
        /// The initial table's size in elements.
        table_elements: u64,
    },
    /// An active segment's offset is not a constant the CVM evaluates at deploy (`i32.const`).
    #[error("{kind} segment {index} has an offset that is not an `i32.const`")]
    SegmentOffset {
        /// `data` or `element`.
        kind: &'static str,
        /// The segment's index in its section.
        index: u32,
    },
    /// It has a start function.
    #[error("has a start function; manuscripts may not run code at instantiation")]
    StartFunction,
    /// A function's frame is above the stack limit's cap for one function.
    #[error(transparent)]
    StackFrame(#[from] crate::stack_limit::StackLimitError),
    /// It has no manifest section.
    #[error(
        "missing custom section `cvm_manifest`: build with manuscript-sdk's #[manuscript] macro or add it by hand"
    )]
    MissingManifest,
    /// It has more than one manifest section.
    #[error("more than one `cvm_manifest` section")]
    DuplicateManifest,
    /// Its `cvm_types` section is repeated, does not decode, is too large or types what the manifest does not
    /// declare (the message names the section and the problem).
    #[error("malformed dataset types: {0}")]
    MalformedTypes(String),
    /// Its manifest does not decode or breaks the naming rules.
    #[error("malformed manifest: {0}")]
    MalformedManifest(String),
    /// Its manifest subscribes to more sources than the limit.
    #[error("the manifest lists {count} sources; the limit is {max}")]
    TooManySources {
        /// Sources listed.
        count: usize,
        /// The limit.
        max: u32,
    },
    /// Its manifest declares more datasets than the limit.
    #[error("the manifest lists {count} datasets; the limit is {max}")]
    TooManyDatasets {
        /// Datasets listed.
        count: usize,
        /// The limit.
        max: u32,
    },
    /// A name in its manifest is longer than the limit.
    #[error("the manifest's {what} {name:?}… is {len} bytes; the limit is {max}")]
    ManifestNameTooLong {
        /// `manuscript name`, `source id` or `dataset name`.
        what: &'static str,
        /// The name's start.
        name: String,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: u32,
    },
    /// Its manifest is for another ABI version.
    #[error("built for ABI version {found}; this CVM supports version {supported}")]
    UnsupportedAbiVersion {
        /// The manifest's ABI version.
        found: u32,
        /// The version this CVM runs.
        supported: u32,
    },
}

/// Invalid wasm, with the parser's reason.
pub(super) fn invalid(e: impl std::fmt::Display) -> ValidationError {
    ValidationError::InvalidWasm(e.to_string())
}
