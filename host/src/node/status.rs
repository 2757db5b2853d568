//! A snapshot of the node's progress, written by the event loop and read by the API.

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug, Default)]
pub struct NodeStatus {
    pub chain_id: String,
    pub moniker: String,
    /// Last committed height.
    pub height: u64,
    pub latest_block_hash: [u8; 32],
    pub state_root: [u8; 32],
    pub latest_block_time_ms: u64,
    /// Height and round consensus is working on.
    pub consensus_height: u64,
    pub round: u32,
    pub peers: Vec<String>,
    pub best_peer_height: u64,
    pub syncing: bool,
    /// Own validator key, when this node signs.
    pub validator: Option<[u8; 32]>,
    /// Set when the node stopped signing after a fatal error (disk, divergence).
    pub halted: Option<String>,
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
