//! One Ethereum source as this node sees it through its own endpoint: the blocks after the committed head that
//! the endpoint has past the confirmation depth, fetched ahead, verified and linked, ready for a proposal or for
//! checking one. A background thread keeps it filled.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use cvm_runtime::sources::{Confirmations, EthereumSource, SourceHead};
use parking_lot::Mutex;
use tokio::sync::Notify;
use tracing::{error, warn};

use super::ethereum::{EthBlockData, SourceEndpoint, verify_block};
use super::pulled::PulledBlock;
use crate::chain::SourceCommitment;

/// Why a committed source block's data is not usable here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum SourceDataError {
    #[error("source {source_name}: block {number} is not available from this node's endpoint yet")]
    NotYet { source_name: String, number: u64 },
    #[error(
        "source {source_name}: this node has no endpoint configured; add [sources.{source_name}] (rpc or archive) to config.toml to validate blocks that ingest it"
    )]
    NoEndpoint { source_name: String },
    #[error("source {source_name}: the endpoint cannot be read: {reason}")]
    Endpoint { source_name: String, reason: String },
    #[error(
        "source {source_name}: block {number} is 0x{ours} at this node's endpoint, the block names 0x{theirs}"
    )]
    Conflict {
        source_name: String,
        number: u64,
        ours: String,
        theirs: String,
    },
    #[error(
        "source {source_name}: block {number} from this node's endpoint does not verify: {reason}"
    )]
    Invalid {
        source_name: String,
        number: u64,
        reason: String,
    },
    #[error(
        "source {source_name}: block {number}'s receipts root differs from the one the block names"
    )]
    ReceiptsRoot { source_name: String, number: u64 },
}

impl SourceDataError {
    /// Whether asking again later may succeed (this node lacks the data), as opposed to the block naming data
    /// this node's endpoint contradicts.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::NotYet { .. } | Self::NoEndpoint { .. } | Self::Endpoint { .. }
        )
    }
}

/// What a feed last saw, for status and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedStatus {
    /// The committed head (none before the first block is ingested).
    pub head: Option<SourceHead>,
    /// The endpoint's latest block number, when last asked.
    pub endpoint_latest: Option<u64>,
    /// The highest block past the confirmation rule at the endpoint.
    pub safe_tip: Option<u64>,
    /// Blocks fetched, verified and waiting to be ingested.
    pub ready: usize,
    /// The last error reading or verifying the endpoint's data, if the last attempt failed.
    pub last_error: Option<String>,
    /// Committed blocks the endpoint later showed with another hash.
    pub conflicts: u64,
}

struct FeedState {
    head: Option<SourceHead>,
    ready: BTreeMap<u64, PulledBlock>,
    status: FeedStatus,
}

/// One Ethereum source read through this node's endpoint.
pub struct SourceFeed {
    name: String,
    def: EthereumSource,
    endpoint: Arc<dyn SourceEndpoint>,
    /// Blocks fetched ahead: enough for a few chain blocks at the source's budget.
    window: usize,
    /// Logs fetched ahead, likewise: blocks well under the budget's `max_logs` would otherwise fill the block
    /// window with many chain blocks' worth of verified logs held in memory.
    window_logs: usize,
    state: Mutex<FeedState>,
    /// Told when blocks become ready after none were.
    work: Arc<Notify>,
}

impl SourceFeed {
    /// A feed for source `name` starting after `head` (its committed head; `None` before its first block).
    pub fn new(
        name: String,
        def: EthereumSource,
        endpoint: Arc<dyn SourceEndpoint>,
        head: Option<SourceHead>,
        work: Arc<Notify>,
    ) -> Self {
        let window = (def.budget.max_blocks as usize)
            .saturating_mul(4)
            .clamp(4, 4096);
        let window_logs = (def.budget.max_logs as usize).saturating_mul(4);
        Self {
            name,
            def,
            endpoint,
            window,
            window_logs,
            state: Mutex::new(FeedState {
                head,
                ready: BTreeMap::new(),
                status: FeedStatus {
                    head,
                    ..FeedStatus::default()
                },
            }),
            work,
        }
    }

    /// The source's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its registration.
    pub fn def(&self) -> &EthereumSource {
        &self.def
    }

    /// Keeps the feed filled every `poll` until the feed is dropped.
    pub fn spawn_prefetch(self: &Arc<Self>, poll: Duration) {
        let weak: Weak<Self> = Arc::downgrade(self);
        let name = format!("source-{}", self.name);
        let spawned = std::thread::Builder::new().name(name).spawn(move || {
            while let Some(feed) = weak.upgrade() {
                feed.prefetch();
                drop(feed);
                std::thread::sleep(poll);
            }
        });
        if let Err(e) = spawned {
            error!(source = %self.name, error = %e, "cannot start the source's prefetch thread");
        }
    }

    /// The block after which the next one must link: the last ready block, else the committed head.
    fn next_after(state: &FeedState, start: &SourceHead) -> (u64, Option<[u8; 32]>) {
        match state.ready.last_key_value() {
            Some((number, block)) => (number + 1, Some(block.verified.hash)),
            None => match state.head {
                Some(head) => (head.number + 1, Some(head.hash)),
                None => (start.number, None),
            },
        }
    }

    /// The highest block number the confirmation rule lets in, as the endpoint shows it now.
    fn safe_tip(&self) -> Result<(u64, Option<u64>), String> {
        let latest = self.endpoint.latest().map_err(|e| e.to_string())?;
        let tip = match self.def.confirmations {
            Confirmations::Depth(depth) => latest.checked_sub(depth),
            Confirmations::Finalized => self.endpoint.finalized().map_err(|e| e.to_string())?,
        };
        Ok((latest, tip))
    }

    /// Whether the blocks fetched ahead fill the window (in blocks, or in logs past the first block).
    fn window_full(&self, state: &FeedState) -> bool {
        let logs: usize = state.ready.values().map(PulledBlock::log_count).sum();
        state.ready.len() >= self.window || (!state.ready.is_empty() && logs >= self.window_logs)
    }

    /// Fetches, verifies and links the blocks after the last ready one, up to the safe tip and the window.
    pub fn prefetch(&self) {
        let (latest, tip) = match self.safe_tip() {
            Ok(t) => t,
            Err(reason) => {
                self.fail(format!("endpoint: {reason}"));
                return;
            }
        };
        {
            let mut state = self.state.lock();
            state.status.endpoint_latest = Some(latest);
            state.status.safe_tip = tip;
        }
        let Some(tip) = tip else { return };
        loop {
            let (number, parent) = {
                let state = self.state.lock();
                if self.window_full(&state) {
                    return;
                }
                Self::next_after(&state, &self.def.start)
            };
            if number > tip {
                self.state.lock().status.last_error = None;
                return;
            }
            match self.fetch_checked(number) {
                Ok(Some(block)) => {
                    let mut state = self.state.lock();
                    if Self::next_after(&state, &self.def.start) != (number, parent) {
                        // A commit moved the head while the block was fetched (a conflict may have dropped the
                        // blocks it was fetched to follow): look again from where the feed stands now.
                        continue;
                    }
                    let links = match parent {
                        Some(parent) => block.verified.parent_hash == parent,
                        None => block.verified.hash == self.def.start.hash,
                    };
                    if !links {
                        // The endpoint's chain moved under the blocks fetched ahead (a reorganisation deeper than
                        // the confirmation depth, or another chain): start again from the committed head. An
                        // endpoint on another chain stays there: say so once, not at every poll.
                        let reason = format!(
                            "block {number} does not link to block {}",
                            number.saturating_sub(1)
                        );
                        if state.status.last_error.as_ref() != Some(&reason) {
                            warn!(
                                source = %self.name,
                                number,
                                "endpoint's block does not link to the previous one; fetching again from the head"
                            );
                        }
                        state.ready.clear();
                        state.status.ready = 0;
                        state.status.last_error = Some(reason);
                        return;
                    }
                    let was_idle = state.ready.is_empty();
                    state.ready.insert(number, block);
                    state.status.ready = state.ready.len();
                    if was_idle {
                        self.work.notify_one();
                    }
                }
                Ok(None) => return,
                Err(reason) => {
                    self.fail(reason.to_string());
                    return;
                }
            }
        }
    }

    fn fail(&self, reason: String) {
        let mut state = self.state.lock();
        if state.status.last_error.as_deref() != Some(reason.as_str()) {
            warn!(source = %self.name, %reason, "cannot read the source's endpoint");
        }
        state.status.last_error = Some(reason);
    }

    /// Block `number` from the endpoint, verified.
    fn fetch_checked(&self, number: u64) -> Result<Option<PulledBlock>, SourceDataError> {
        let data = self
            .endpoint
            .block(number)
            .map_err(|e| SourceDataError::Endpoint {
                source_name: self.name.clone(),
                reason: e.to_string(),
            })?;
        let Some(data) = data else { return Ok(None) };
        self.checked(number, data).map(Some)
    }

    fn checked(&self, number: u64, data: EthBlockData) -> Result<PulledBlock, SourceDataError> {
        let verified = verify_block(&data).map_err(|e| SourceDataError::Invalid {
            source_name: self.name.clone(),
            number,
            reason: e.to_string(),
        })?;
        if verified.number != number {
            return Err(SourceDataError::Invalid {
                source_name: self.name.clone(),
                number,
                reason: format!("the endpoint answered with block {}", verified.number),
            });
        }
        Ok(PulledBlock {
            source: self.name.clone(),
            data: Arc::new(data),
            verified: Arc::new(verified),
        })
    }

    /// The ready blocks a proposal may take: in order, at most the budget's blocks, and logs within its
    /// `max_logs` (the first block is always allowed, or a block above the budget would stall the source).
    pub fn proposal(&self) -> Vec<PulledBlock> {
        let state = self.state.lock();
        let mut taken = Vec::new();
        let mut logs = 0usize;
        for block in state.ready.values() {
            if taken.len() >= self.def.budget.max_blocks as usize {
                break;
            }
            let with = logs + block.log_count();
            if !taken.is_empty() && with > self.def.budget.max_logs as usize {
                break;
            }
            logs = with;
            taken.push(block.clone());
        }
        taken
    }

    /// Whether blocks past the head are ready to ingest.
    pub fn has_ready(&self) -> bool {
        !self.state.lock().ready.is_empty()
    }

    /// The data behind `commitment` as this node's endpoint has it.
    pub fn resolve(&self, commitment: &SourceCommitment) -> Result<PulledBlock, SourceDataError> {
        let held = self.state.lock().ready.get(&commitment.number).cloned();
        let block = match held {
            Some(block) => block,
            None => {
                self.fetch_checked(commitment.number)?
                    .ok_or_else(|| SourceDataError::NotYet {
                        source_name: self.name.clone(),
                        number: commitment.number,
                    })?
            }
        };
        if block.verified.hash != commitment.hash {
            return Err(SourceDataError::Conflict {
                source_name: self.name.clone(),
                number: commitment.number,
                ours: hex::encode(block.verified.hash),
                theirs: hex::encode(commitment.hash),
            });
        }
        if block.verified.receipts_root != commitment.receipts_root {
            return Err(SourceDataError::ReceiptsRoot {
                source_name: self.name.clone(),
                number: commitment.number,
            });
        }
        Ok(block)
    }

    /// The chain committed up to `head`: drops what is ingested and checks it against what the endpoint showed.
    /// Returns true when the endpoint had shown another block at a committed number.
    pub fn committed(&self, head: SourceHead) -> bool {
        let mut state = self.state.lock();
        let conflict = state
            .ready
            .get(&head.number)
            .is_some_and(|b| b.verified.hash != head.hash);
        if conflict {
            state.status.conflicts += 1;
            error!(
                source = %self.name,
                number = head.number,
                committed = %hex::encode(head.hash),
                "THIS NODE'S ENDPOINT SHOWS ANOTHER BLOCK AT A COMMITTED NUMBER: the finalized chain stands; check the endpoint (wrong chain, or a reorganisation deeper than the source's confirmation depth)"
            );
            state.ready.clear();
        } else {
            state.ready = state.ready.split_off(&(head.number + 1));
        }
        state.head = Some(head);
        state.status.head = Some(head);
        state.status.ready = state.ready.len();
        conflict
    }

    /// What the feed last saw.
    pub fn status(&self) -> FeedStatus {
        self.state.lock().status.clone()
    }
}

#[cfg(test)]
mod tests;
