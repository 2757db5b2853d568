//! Block sync, as the side that asks: learn how far peers are, fetch the blocks this node is missing in
//! pipelined batches (with the source data they ingest, `sync_sources`), verify their certificates and commit
//! them. What a peer claims counts only while it delivers (`sync_claims`).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cvm_consensus::{CommitCertificate, Input};
use tracing::{debug, warn};

use super::events::LoopEvent;
use super::state::Runner;
use super::sync_serve::SYNC_BATCH;
use crate::chain::SourceCommitment;
use crate::network::{SyncRequest, SyncResponse, SyncedBlock};

impl Runner {
    /// Drops the claims of peers that did not back them, then asks a random peer (not benched) how far it is.
    pub(super) fn ask_random_peer(&mut self) {
        let now = Instant::now();
        self.sync.expire(self.committed_height(), now);
        self.publish_status();
        let askable: Vec<libp2p::PeerId> = self
            .peers
            .iter()
            .filter(|p| self.sync.askable(p, now))
            .copied()
            .collect();
        if askable.is_empty() {
            return;
        }
        let pick = rand::random::<usize>() % askable.len();
        self.ask_status(askable[pick]);
    }

    /// Asks `peer` how far it is, unless a sync request is already out or the peer is benched.
    pub(super) fn ask_status(&mut self, peer: libp2p::PeerId) {
        if self.sync.askable(&peer, Instant::now()) {
            self.sync_request(peer, SyncRequest::Status);
        }
    }

    pub(super) fn on_sync_status(&mut self, peer: libp2p::PeerId, height: u64) {
        self.sync.in_flight = false;
        let committed = self.committed_height();
        if self.sync.claim(peer, height, committed, Instant::now())
            && height > committed
            && self.should_fetch(height)
        {
            self.fetch_blocks(peer, committed + 1);
        }
        self.publish_status();
    }

    pub(super) fn on_sync_blocks(&mut self, peer: libp2p::PeerId, blocks: Vec<SyncedBlock>) {
        self.sync.in_flight = false;
        let committed = self.committed_height();
        let commitments: Vec<SourceCommitment> = blocks
            .iter()
            .filter(|b| b.block.header.height > committed)
            .flat_map(|b| b.block.body.source_blocks.iter().cloned())
            .collect();
        if commitments.is_empty() {
            self.apply_batch(peer, blocks, HashSet::new());
        } else {
            self.fetch_batch_sources(peer, blocks, commitments);
        }
    }

    /// Applies a batch whose source data is stored except `missing`, asking for the next one first.
    pub(super) fn apply_batch(
        &mut self,
        peer: libp2p::PeerId,
        blocks: Vec<SyncedBlock>,
        missing: HashSet<[u8; 32]>,
    ) {
        // The next batch is asked for before this one is applied, so the peer reads and sends it while we verify
        // and commit. Should this batch fail part way, the next one does not follow on and is dropped; the
        // request after it starts again from our committed height.
        let heights = blocks
            .first()
            .zip(blocks.last())
            .map(|(first, last)| (first.block.header.height, last.block.header.height));
        if let Some(next) = next_batch_from(self.committed_height(), heights)
            && self.sync.claimed(&peer) >= next
        {
            self.fetch_blocks(peer, next);
        }
        let before = self.committed_height();
        self.apply_synced(blocks, &missing);
        if self.committed_height() > before {
            self.sync.delivered(peer, Instant::now());
        }
    }

    /// Behind by more than the height in progress, or the current height is stuck while a peer has it.
    fn should_fetch(&self, peer_height: u64) -> bool {
        let committed = self.committed_height();
        peer_height > committed + 1
            || self.commits.pending_decision.is_some()
            || self.commits.height_started.elapsed() > Duration::from_secs(2)
    }

    /// Asks `peer` for the blocks from height `from` on, unless a sync request is already out.
    fn fetch_blocks(&mut self, peer: libp2p::PeerId, from: u64) {
        self.sync_request(
            peer,
            SyncRequest::Blocks {
                from,
                max: SYNC_BATCH,
            },
        );
    }

    /// Sends `request` to `peer` unless a sync request is already out; the answer comes back as a loop event
    /// (an answer of another kind than asked, an error or a timeout as `SyncFailed`).
    fn sync_request(&mut self, peer: libp2p::PeerId, request: SyncRequest) {
        if self.sync.in_flight {
            return;
        }
        self.sync.in_flight = true;
        let net = self.shared.net.clone();
        let tx = self.shared.events_tx.clone();
        let asked_status = matches!(request, SyncRequest::Status);
        tokio::spawn(async move {
            let event = match net.request(peer, request).await {
                Ok(SyncResponse::Status { height }) if asked_status => {
                    LoopEvent::SyncStatus { peer, height }
                }
                Ok(SyncResponse::Blocks(blocks)) if !asked_status => {
                    LoopEvent::SyncBlocks { peer, blocks }
                }
                other => {
                    debug!(?other, "sync request failed");
                    LoopEvent::SyncFailed
                }
            };
            let _ = tx.send(event);
        });
    }

    fn apply_synced(&mut self, blocks: Vec<SyncedBlock>, missing: &HashSet<[u8; 32]>) {
        let from = self.committed_height();
        // All the batch's certificate signatures in one ed25519 batch: the shared caching verifier then answers
        // each block's own certificate check from memory.
        let all_valid = CommitCertificate::verify_signatures_together(
            blocks.iter().map(|b| &b.certificate),
            &self.consensus.validators,
            self.shared.app.chain_id(),
            self.shared.verifier.as_ref(),
        );
        if !all_valid {
            debug!("a synced certificate carries an invalid signature; checking block by block");
        }
        self.commits.durable = false;
        self.apply_synced_batch(blocks, missing);
        self.commits.durable = true;
        if self.committed_height() > from
            && let Err(e) = self.shared.app.storage().sync()
        {
            self.halt(format!("cannot make synced blocks durable: {e}"));
        }
    }

    fn apply_synced_batch(&mut self, blocks: Vec<SyncedBlock>, missing: &HashSet<[u8; 32]>) {
        let part_size = self.shared.app.params().part_size as usize;
        for SyncedBlock { block, certificate } in blocks {
            let committed = self.committed_height();
            if block.header.height <= committed {
                continue;
            }
            if block.header.height != committed + 1 {
                break;
            }
            if certificate.value_id.0 != block.hash() || certificate.height.0 != block.header.height
            {
                warn!(
                    height = block.header.height,
                    "synced block does not match its certificate; dropped"
                );
                break;
            }
            if !block.body_matches_header(part_size) {
                warn!(
                    height = block.header.height,
                    "synced block body does not match its header; dropped"
                );
                break;
            }
            if let Some(c) = block
                .body
                .source_blocks
                .iter()
                .find(|c| missing.contains(&c.hash))
            {
                warn!(
                    height = block.header.height,
                    source = %c.source,
                    number = c.number,
                    "no peer served the source data this synced block ingests; it is asked for again"
                );
                break;
            }
            self.bodies.parts.insert_body(
                block.header.height,
                block.header.parts,
                block.body.clone(),
            );
            if let Some((header, cert)) = self.commits.pending_decision.clone()
                && header.hash() == block.hash()
            {
                if let Some(next) = self.decide(header, cert) {
                    self.feed(next);
                }
                continue;
            }
            // The driver verifies the certificate and decides; the commit path executes and stores.
            self.feed(Input::Commit {
                value: block.header,
                certificate,
            });
            if self.committed_height() != committed + 1 {
                warn!(
                    height = committed + 1,
                    "synced block was not committed; stopping this batch"
                );
                break;
            }
        }
    }
}

/// Where the sync request after a batch spanning `heights` (first, last) starts: after the batch when it follows
/// on from `committed` (it will be applied), else again from `committed` (a batch asked for before a failed one
/// was applied, or stale); none after an empty answer (the peer has nothing more).
fn next_batch_from(committed: u64, heights: Option<(u64, u64)>) -> Option<u64> {
    let (first, last) = heights?;
    Some(if first <= committed + 1 && last > committed {
        last + 1
    } else {
        committed + 1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_sync_batch_follows_a_batch_that_follows_on_and_restarts_otherwise() {
        assert_eq!(next_batch_from(10, Some((11, 74))), Some(75), "follows on");
        assert_eq!(
            next_batch_from(10, Some((5, 20))),
            Some(21),
            "overlaps what we have"
        );
        assert_eq!(
            next_batch_from(10, Some((75, 138))),
            Some(11),
            "asked for before a batch that failed part way: start again after what we committed"
        );
        assert_eq!(next_batch_from(10, Some((3, 9))), Some(11), "stale");
        assert_eq!(next_batch_from(10, None), None, "the peer has no more");
    }
}
