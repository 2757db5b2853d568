//! What a run is asked to do ([`SinkConfig`]) and what it tells as it goes ([`Observer`], [`Progress`]).

use std::time::Duration;

use super::schema::TableSpec;
use crate::chain::Genesis;

/// What to sink from where, and how.
#[derive(Clone, Debug)]
pub struct SinkConfig {
    /// The node's HTTP API base URL.
    pub node: String,
    /// The chain's genesis (its validators verify every block).
    pub genesis: Genesis,
    /// `manuscript/dataset` names to keep tables for; `None`: every dataset of every manuscript, including
    /// manuscripts deployed later.
    pub datasets: Option<Vec<String>>,
    /// Most blocks written in one transaction while catching up.
    pub batch_blocks: u64,
    /// A batch's transaction commits once it holds this many changes.
    pub batch_rows: usize,
    /// Pending changes are written into the open transaction once this many are held (the rest at commit);
    /// a key changed again before that costs one row.
    pub flush_rows: usize,
    /// Stop after writing this height (`None`: follow for ever).
    pub until: Option<u64>,
    /// A feed connection silent this long is dead (the node sends a heartbeat every 15 s).
    pub idle: Duration,
}

impl SinkConfig {
    /// Defaults for `node` and `genesis`: every dataset, batches of up to 1,000 blocks or 50,000 changes written
    /// 10,000 at a time.
    pub fn new(node: &str, genesis: Genesis) -> SinkConfig {
        SinkConfig {
            node: node.to_string(),
            genesis,
            datasets: None,
            batch_blocks: 1000,
            batch_rows: 50_000,
            flush_rows: 10_000,
            until: None,
            idle: Duration::from_secs(60),
        }
    }
}

/// Where a run is, after each committed transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The last block written.
    pub height: u64,
    /// The node's last final height as last seen.
    pub tip: u64,
    /// The height the run started after.
    pub start: u64,
    /// Rows written or deleted since the start.
    pub rows: u64,
    /// Time spent in PostgreSQL (writes and commits) since the first block.
    pub db_time: Duration,
    /// Time spent waiting for the node's feed since the first block.
    pub feed_time: Duration,
}

/// What a run tells as it goes (the command line shows a progress bar from it).
pub trait Observer {
    /// The tables are ready and the run resumes after `from` (the cursor).
    fn started(&mut self, from: u64, tip: u64, tables: &[TableSpec]);
    /// A transaction committed.
    fn committed(&mut self, progress: &Progress);
    /// The run reached the node's tip (or `until`): `progress.rows` rows over `blocks` blocks in `elapsed` since
    /// its first block arrived.
    fn caught_up(&mut self, progress: &Progress, blocks: u64, elapsed: Duration);
    /// The feed connection ended; the run reconnects after `wait`.
    fn reconnecting(&mut self, cause: &str, wait: Duration);
}
