//! A snapshot of the node's progress, written by the event loop and read by the API.

use std::time::{SystemTime, UNIX_EPOCH};

/// Where the node is: chain, heights, round, peers and sync state.
#[derive(Clone, Debug, Default)]
pub struct NodeStatus {
    /// The chain the node follows.
    pub chain_id: String,
    /// The node's name from its config.
    pub moniker: String,
    /// Last committed height.
    pub height: u64,
    /// Hash of the last committed block.
    pub latest_block_hash: [u8; 32],
    /// State root after the last committed block.
    pub state_root: [u8; 32],
    /// Header time of the last committed block.
    pub latest_block_time_ms: u64,
    /// Height and round consensus is working on.
    pub consensus_height: u64,
    /// Round at `consensus_height`.
    pub round: u32,
    /// Connected peers' ids.
    pub peers: Vec<String>,
    /// Highest height a peer reported.
    pub best_peer_height: u64,
    /// Whether the node is catching up by block sync rather than by consensus.
    pub syncing: bool,
    /// Own validator key, when this node signs.
    pub validator: Option<[u8; 32]>,
    /// Set when the node stopped signing after a fatal error (disk, divergence).
    pub halted: Option<String>,
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
