//! Source data the node pulls instead of taking it from transactions: each registered Ethereum source is read
//! from this node's own endpoint (a JSON-RPC node or an archive file), verified with the chain's own
//! cryptography, held ahead for proposals ([`SourceHub::proposal`]) and for checking others'
//! ([`SourceHub::resolve`]), and stored with the blocks that ingest it for sync and replay.

pub mod endpoint;
pub mod ethereum;
pub mod feed;
pub mod hub;
pub mod pulled;

pub use feed::{FeedStatus, SourceDataError, SourceFeed};
pub use hub::{SourceHub, SourceStatus};
pub use pulled::PulledBlock;
