//! The validator node: opens storage, starts the CVM, libp2p and the HTTP API, and runs the consensus event loop
//! until asked to stop.
//!
//! - [`setup`]: what a node loads from its home; [`builder`]: starting it, step by step; [`running`]: a started
//!   node.
//! - [`runner`]: the event loop, one file per kind of input it handles.
//! - [`app`]: block building, validation by re-execution (evidence included), atomic commit.
//! - [`evidence_pool`]: duplicate-vote evidence waiting for a block, one piece per offender.
//! - [`mempool`]: admission-checked pending transactions and the gossip window over them; [`tx_gossip`]:
//!   publishing the client transactions the window releases.
//! - [`parts_pool`]: block bodies arriving as Merkle-proven parts, assembled for the roots signed proposals name;
//!   [`body_fetch`]: a body asked of peers by request when its parts do not come.
//! - [`source_fetch`]: the source data of synced blocks asked of peers, verified against the blocks'
//!   commitments.
//! - [`wire`]: gossip message formats.
//! - [`backend`]: the read and submit surface behind the HTTP API and the embedding API.
//! - [`hooks`]: the seam through which a test network injects faults (none in the `cvm` binary).
//! - [`memory`]: heap trimming and memory gauges, off the event loop.

pub mod app;
pub mod backend;
pub mod body_fetch;
pub mod builder;
pub mod evidence_pool;
pub mod hooks;
pub mod memory;
pub mod mempool;
pub mod parts_pool;
mod records_page;
pub mod runner;
pub mod running;
pub mod setup;
pub mod source_fetch;
pub mod status;
#[cfg(test)]
mod test_peers;
pub mod tx_gossip;
pub mod wire;

pub use app::App;
pub use backend::NodeBackend;
pub use builder::{NodeBuilder, start};
pub use hooks::{MakeHooks, NoHooks, NodeHooks, no_hooks};
pub use mempool::Mempool;
pub use runner::{LoopEvent, Runner};
pub use running::RunningNode;
pub use setup::{NodeSetup, sync_margin};
pub use status::NodeStatus;
