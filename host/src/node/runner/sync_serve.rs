//! Block sync, as the side that answers: our height, stored blocks with their commit certificates, and the
//! source data committed blocks ingest.
//!
//! A height is answered on the loop (one number). Blocks, bodies of committed blocks and source blocks are read
//! on a blocking thread, never on the loop, and only within the serving budget
//! ([`ServeBudget`](super::sync_budget::ServeBudget)): a request past it gets a "busy" answer at once, unread.

use std::time::Instant;

use parity_scale_codec::{Decode, Encode};
use tracing::trace;

use super::state::Runner;
use crate::chain::PartSetHeader;
use crate::network::{
    MAX_SOURCE_BLOCKS_PER_REQUEST, ReplyHandle, SourceBlocksReply, SyncRequest, SyncResponse,
    SyncedBlock,
};
use crate::sources::ethereum::EthBlockData;
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
            SyncRequest::SourceBlocks { hashes } => {
                let limit = self.shared.net.max_message_bytes().saturating_sub(1024);
                Box::new(move |storage| read_source_blocks(storage, &hashes, limit))
            }
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
        let synced = SyncedBlock { block, certificate };
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

/// The stored data of the source blocks `hashes` names (at most [`MAX_SOURCE_BLOCKS_PER_REQUEST`]), for the
/// longest prefix within `limit` bytes, `None` for one not stored here; and the answer's size. One block alone
/// above `limit` is an error saying so.
fn read_source_blocks(
    storage: &Storage,
    hashes: &[[u8; 32]],
    limit: usize,
) -> (SyncResponse, usize) {
    if hashes.len() > MAX_SOURCE_BLOCKS_PER_REQUEST {
        let error = format!(
            "{} source blocks asked for; ask for at most {MAX_SOURCE_BLOCKS_PER_REQUEST} at a time",
            hashes.len()
        );
        return (SyncResponse::Error(error), 0);
    }
    let mut blocks = Vec::with_capacity(hashes.len());
    let mut bytes = 0usize;
    for hash in hashes {
        let data = match storage.source_block(hash) {
            Ok(Some(stored)) => EthBlockData::decode(&mut &stored[..]).ok(),
            _ => None,
        };
        let size = 1 + data.as_ref().map_or(0, Encode::encoded_size);
        if bytes + size > limit {
            if blocks.is_empty() {
                let error = format!(
                    "source block 0x{} is {size} bytes, above this node's message limit of {limit} bytes; \
                     ask a peer with a larger [p2p] max_message_bytes",
                    hex::encode(hash)
                );
                return (SyncResponse::Error(error), 0);
            }
            break;
        }
        bytes += size;
        blocks.push(data);
    }
    (SyncResponse::SourceBlocks(SourceBlocksReply(blocks)), bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(tx_bytes: usize) -> EthBlockData {
        EthBlockData {
            header_rlp: vec![(tx_bytes / 1000) as u8; 100],
            transactions: vec![vec![7; tx_bytes]],
            receipts: None,
        }
    }

    #[test]
    fn source_blocks_are_answered_by_hash_within_the_limit_and_the_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("storage");
        let blocks = [data(1_000), data(2_000), data(3_000)];
        for b in &blocks {
            storage
                .put_source_block(&b.hash(), &b.encode())
                .expect("store");
        }
        let unknown = [9; 32];
        let hashes = [
            blocks[0].hash(),
            unknown,
            blocks[1].hash(),
            blocks[2].hash(),
        ];
        let (SyncResponse::SourceBlocks(all), bytes) =
            read_source_blocks(&storage, &hashes, 1 << 20)
        else {
            panic!("expected source blocks");
        };
        let expected = [Some(&blocks[0]), None, Some(&blocks[1]), Some(&blocks[2])];
        assert!(
            all.0.iter().map(Option::as_ref).eq(expected),
            "each stored block, none for the unknown one"
        );
        assert!(bytes >= 6_000);
        // Within 4,000 bytes: the prefix that fits.
        let (SyncResponse::SourceBlocks(cut), _) = read_source_blocks(&storage, &hashes, 4_000)
        else {
            panic!("expected source blocks");
        };
        assert_eq!(cut.0.len(), 3);
        // The first alone above the limit: an error saying so.
        let (answer, _) = read_source_blocks(&storage, &hashes[3..], 2_000);
        assert!(
            matches!(&answer, SyncResponse::Error(e) if e.contains("above this node's message limit")),
            "{answer:?}"
        );
        // More hashes than a request may carry: refused unread.
        let many = vec![unknown; MAX_SOURCE_BLOCKS_PER_REQUEST + 1];
        let (answer, bytes) = read_source_blocks(&storage, &many, 1 << 20);
        assert!(
            matches!(&answer, SyncResponse::Error(e) if e.contains("at most 16")),
            "{answer:?}"
        );
        assert_eq!(bytes, 0);
    }
}
