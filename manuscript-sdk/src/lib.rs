//! # manuscript-sdk
//!
//! Everything a manuscript author touches to write a CVM data-transformation program in Rust.
//! A manuscript is an ordinary function over one typed source record, compiled to
//! `wasm32-unknown-unknown` and run by the CVM under fuel. The wire contract it implements is
//! `ABI.md` beside this crate.
//!
//! - [`manuscript`] (attribute macro): turns `fn(&mut Context, Record) -> Result<(), Error>` into the
//!   ABI exports and embeds the [`manifest::Manifest`] in the `cvm_manifest` custom section.
//! - [`Context`]: typed state (`get`/`set`/`remove`/`iter_prefix`), `emit` into datasets, block
//!   info and logging.
//! - [`sources`]: the record schemas of the standard sources ([`EthLog`], [`KvRecord`]), with JSON
//!   parsing behind the `json` feature.
//! - [`manifest`]: the self-description every manuscript carries (shared with the runtime).
//! - [`types`]: the key and value types of each dataset (`datasets("name": Key => Value)` in the macro,
//!   types deriving [`prelude::TypeInfo`]), so nodes show records with fields by name.
//! - [`testing`] (native targets only): [`testing::MockHost`], to unit-test a manuscript with plain
//!   `cargo test`, no wasm involved, and [`testing::LogChain`] to make Ethereum logs for it.
//!
//! ```
//! use manuscript_sdk::prelude::*;
//!
//! #[manuscript(name = "kv-counter", sources("kv"), datasets("counts"))]
//! fn process(ctx: &mut Context, record: KvRecord) -> Result<(), Error> {
//!     let count = ctx.get::<_, u64>(&record.key)?.unwrap_or_default() + 1;
//!     ctx.set(&record.key, &count);
//!     ctx.emit("counts", &record.key, &count);
//!     Ok(())
//! }
//!
//! let mut host = manuscript_sdk::testing::MockHost::new();
//! let record = KvRecord { key: b"a".to_vec(), value: vec![] };
//! assert!(host.process(&MANUSCRIPT, &record).is_success());
//! assert!(host.process(&MANUSCRIPT, &record).is_success());
//! assert_eq!(host.get::<_, u64>(&b"a".to_vec()), Some(2));
//! ```
//!
//! Datasets can declare their key and value types (`scale_info::TypeInfo`; the crate depends on `scale-info`
//! for the derive, as on `parity-scale-codec` for `Encode`):
//!
//! ```
//! use manuscript_sdk::prelude::*;
//!
//! #[derive(Encode, Decode, TypeInfo)]
//! pub struct Count { pub total: u64 }
//!
//! #[manuscript(name = "typed", sources("kv"), datasets("counts": Vec<u8> => Count, "raw"))]
//! fn process(ctx: &mut Context, record: KvRecord) -> Result<(), Error> {
//!     ctx.emit("counts", &record.key, &Count { total: 1 });
//!     Ok(())
//! }
//!
//! let types = dataset_types();
//! assert_eq!(types.datasets.len(), 1); // "raw" stays untyped: shown as hex
//! assert!(types.dataset("counts").is_some());
//! ```
//!
//! The manifest is checked at compile time:
//!
//! ```compile_fail
//! use manuscript_sdk::prelude::*;
//! #[manuscript(name = "Bad Name!", sources("kv"), datasets("out"))]
//! fn process(_ctx: &mut Context, _r: KvRecord) -> Result<(), Error> { Ok(()) }
//! ```
#![no_std]
#![warn(missing_docs)]
#![deny(clippy::unwrap_used)]
// Unsafe code is confined to the host boundary: `sys` (the imports), `entry` (the exports), `scratch` (buffers
// the host writes into) and `testing::mock` (the native host); each allows it for itself.
#![deny(unsafe_code)]

extern crate alloc;
#[cfg(any(feature = "std", not(target_arch = "wasm32")))]
extern crate std;

mod block_env;
#[cfg(feature = "build")]
pub mod build;
mod context;
mod entry;
mod error;
pub mod fmt;
pub mod manifest;
mod scratch;
pub mod sources;
mod sys;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod types;
#[cfg(target_arch = "wasm32")]
mod wasm_rt;

pub use block_env::{BlockInfo, Level};
pub use context::{Context, PrefixIter, RawPrefixIter};
pub use entry::{Manuscript, status};
pub use error::Error;
pub use manuscript_sdk_macros::manuscript;
pub use parity_scale_codec as codec;
pub use primitive_types::U256;
pub use scale_info;
pub use sources::{EthLog, KvRecord};

/// `Result` with the SDK's [`Error`] as the default error type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// The names most manuscripts need: `use manuscript_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::block_env::{BlockInfo, Level};
    pub use crate::context::Context;
    pub use crate::error::Error;
    pub use crate::fmt::Hex;
    pub use crate::manuscript;
    pub use crate::sources::{Address, EthLog, Hash32, KvRecord};
    pub use crate::{U256, bail, ensure};
    pub use parity_scale_codec::{Decode, Encode};
    pub use scale_info::TypeInfo;
}

/// Re-exports used by the SDK's macros; not part of the public API.
#[doc(hidden)]
pub mod __private {
    #[cfg(target_arch = "wasm32")]
    pub use crate::entry::process_ptrs;
    pub use alloc::format;
}
