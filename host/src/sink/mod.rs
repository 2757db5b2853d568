//! The PostgreSQL sink (`cvm sink postgres`): follows a node's finalized blocks through its change feed and keeps
//! one table per dataset, each block's changes written only after its commit certificate and change proofs verify
//! against the genesis validators.
//!
//! - `config`: what a run is asked to do ([`SinkConfig`]) and what it tells ([`Observer`]).
//! - [`check`]: what a block must pass before anything of it is written.
//! - [`schema`]: a dataset's table and columns from its declared types.
//! - [`rows`]: pending changes per dataset and their encoding into column arrays.
//! - [`cursor`]: the `cvm_sink_cursor` row (last block written, in the same transaction as its rows).
//! - [`db`]: the connection, table creation and checks, writes.
//! - [`manuscripts`]: proven code hashes and the types read from that code.
//! - `follow`: the loop: catch up in batches, then follow live, reconnecting after a node restart.

pub mod check;
mod config;
pub mod cursor;
pub mod db;
mod error;
mod follow;
pub mod manuscripts;
pub mod rows;
pub mod schema;

pub use config::{Observer, Progress, SinkConfig};
pub use cursor::Cursor;
pub use db::Db;
pub use error::SinkError;
pub use follow::run;
