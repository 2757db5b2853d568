//! Block sync, as the side that answers: our height, and stored blocks with their commit certificates.

use parity_scale_codec::Encode;
use tracing::trace;

use super::state::Runner;
use crate::network::{ReplyHandle, SyncRequest, SyncResponse, SyncedBlock};

/// Blocks sent in one sync response at most (the asking side asks for as many).
pub(super) const SYNC_BATCH: u32 = 64;

impl Runner {
    pub(super) fn on_sync_request(
        &mut self,
        peer: libp2p::PeerId,
        request: SyncRequest,
        reply: ReplyHandle,
    ) {
        let response = self.answer_sync(request);
        trace!(%peer, "sync request answered");
        let _ = self.shared.net.try_respond(reply, response);
    }

    fn answer_sync(&self, request: SyncRequest) -> SyncResponse {
        match request {
            SyncRequest::Status => SyncResponse::Status {
                height: self.committed_height(),
            },
            SyncRequest::Blocks { from, max } => {
                let storage = self.shared.app.storage();
                let mut blocks = Vec::new();
                let mut bytes = 0usize;
                let limit = self.shared.net.max_message_bytes().saturating_sub(1024);
                let last = self.committed_height();
                let mut h = from.max(1);
                while h <= last && blocks.len() < max.min(SYNC_BATCH) as usize {
                    let (Ok(Some(block)), Ok(Some(certificate))) =
                        (storage.block(h), storage.commit(h))
                    else {
                        break;
                    };
                    let synced = SyncedBlock { block, certificate };
                    let size = synced.encoded_size();
                    if bytes + size > limit && !blocks.is_empty() {
                        break;
                    }
                    if size > limit {
                        return SyncResponse::Error(format!("block {h} exceeds the message limit"));
                    }
                    bytes += size;
                    blocks.push(synced);
                    h += 1;
                }
                SyncResponse::Blocks(blocks)
            }
            SyncRequest::Body { height, parts } => self.answer_body(height, parts),
        }
    }
}
