//! Block sync, as the side that answers: our height, and stored blocks with their commit certificates.
//!
//! A height is answered on the loop (one number). Blocks, and bodies of committed blocks, are read on a blocking thread, never on the loop, and
//! only within the serving budget ([`ServeBudget`](super::sync_budget::ServeBudget)): a request past it gets a
//! "busy" answer at once, unread.

use std::time::Instant;

use parity_scale_codec::Encode;
use tracing::trace;

use super::state::Runner;
use crate::chain::PartSetHeader;
use crate::network::{ReplyHandle, SyncRequest, SyncResponse, SyncedBlock};
use crate::storage::Storage;

/// Blocks sent in one sync response at most (the asking side asks for as many).
pub(super) const SYNC_BATCH: u32 = 64;

/// What to send to a sync request and its size, made on a blocking thread.
type Answer = Box<dyn FnOnce(&Storage) -> (SyncResponse, usize) + Send>;

impl Runner {
    pub(super) fn on_sync_request(
        &mut self,
        peer: libp2p::PeerId,
        request: SyncRequest,
        reply: ReplyHandle,
    ) {
        if let SyncRequest::Status = request {
            let height = self.committed_height();
            let _ = self
                .shared
                .net
                .try_respond(reply, SyncResponse::Status { height });
            return;
        }
        let budget = self.sync.serving.clone();
        if let Err(busy) = budget.lock().start(peer, Instant::now()) {
            trace!(%peer, %busy, "sync request refused");
            let _ = self
                .shared
                .net
                .try_respond(reply, SyncResponse::Error(busy.to_string()));
            return;
        }
        let answer: Answer = match request {
            SyncRequest::Blocks { from, max } => {
                let last = self.committed_height();
                let limit = self.shared.net.max_message_bytes().saturating_sub(1024);
                Box::new(move |storage| read_blocks(storage, from, max, last, limit))
            }
            // A body still being decided is in memory; a committed one is read like blocks are.
            SyncRequest::Body { height, parts } => match self.bodies.parts.body(&parts).cloned() {
                Some(body) => Box::new(move |_| {
                    let bytes = body.encoded_size();
                    (SyncResponse::Body(body), bytes)
                }),
                None => Box::new(move |storage| {
                    let response = stored_body(storage, height, parts);
                    let bytes = response.encoded_size();
                    (response, bytes)
                }),
            },
            SyncRequest::Status => return, // answered above
        };
        let app = self.shared.app.clone();
        let net = self.shared.net.clone();
        tokio::task::spawn_blocking(move || {
            let (response, bytes) = answer(app.storage());
            let _ = net.try_respond(reply, response);
            budget.lock().done(peer, bytes);
            trace!(%peer, bytes, "sync request answered");
        });
    }
}

/// The stored body of the block at `height`, if its part set is `parts`.
fn stored_body(storage: &Storage, height: u64, parts: PartSetHeader) -> SyncResponse {
    match storage.block(height) {
        Ok(Some(block)) if block.header.parts == parts => SyncResponse::Body(block.body),
        _ => SyncResponse::Error(format!(
            "no body for part set 0x{} at height {height} here; ask another peer",
            hex::encode(parts.root)
        )),
    }
}

/// Up to `max` (at most [`SYNC_BATCH`]) stored blocks from `from` to `last`, within `limit` bytes, and their size.
fn read_blocks(
    storage: &Storage,
    from: u64,
    max: u32,
    last: u64,
    limit: usize,
) -> (SyncResponse, usize) {
    let mut blocks = Vec::new();
    let mut bytes = 0usize;
    let mut h = from.max(1);
    while h <= last && blocks.len() < max.min(SYNC_BATCH) as usize {
        let (Ok(Some(block)), Ok(Some(certificate))) = (storage.block(h), storage.commit(h)) else {
            break;
        };
        let mut sources = Vec::with_capacity(block.body.source_blocks.len());
        for commitment in &block.body.source_blocks {
            match storage.source_block(&commitment.hash) {
                Ok(Some(data)) => sources.push(data),
                _ => {
                    let error = format!(
                        "source {} block {} of height {h} is not stored here; ask another peer",
                        commitment.source, commitment.number
                    );
                    return (SyncResponse::Error(error), bytes);
                }
            }
        }
        let synced = SyncedBlock {
            block,
            certificate,
            sources,
        };
        let size = synced.encoded_size();
        if bytes + size > limit && !blocks.is_empty() {
            break;
        }
        if size > limit {
            let error = format!("block {h} exceeds the message limit");
            return (SyncResponse::Error(error), bytes);
        }
        bytes += size;
        blocks.push(synced);
        h += 1;
    }
    (SyncResponse::Blocks(blocks), bytes)
}
