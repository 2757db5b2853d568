//! The source data of a batch of synced blocks: what is not stored here is fetched from peers
//! (`node::source_fetch`: content-addressed, verified against the blocks' commitments) and stored before the batch
//! is applied; a peer that answers with data that does not decode or verify is benched at once.

use std::collections::HashSet;
use std::time::Instant;

use parity_scale_codec::Encode;
use tracing::warn;

use super::events::LoopEvent;
use super::state::Runner;
use crate::chain::SourceCommitment;
use crate::network::SyncedBlock;
use crate::node::source_fetch::fetch_sources;

impl Runner {
    /// The source data a batch's blocks ingest is fetched (what is not stored here yet), then the batch applied
    /// ([`LoopEvent::SyncSources`]). No other sync request goes out meanwhile.
    pub(super) fn fetch_batch_sources(
        &mut self,
        peer: libp2p::PeerId,
        blocks: Vec<SyncedBlock>,
        commitments: Vec<SourceCommitment>,
    ) {
        self.sync.in_flight = true;
        let now = Instant::now();
        // The peer that served the blocks first, then the others that are not benched.
        let mut peers = vec![peer];
        peers.extend(
            self.peers
                .iter()
                .filter(|p| **p != peer && self.sync.askable(p, now))
                .copied(),
        );
        let net = self.shared.net.clone();
        let app = self.shared.app.clone();
        let tx = self.shared.events_tx.clone();
        tokio::spawn(async move {
            let storage = app.storage().clone();
            let wanted = tokio::task::spawn_blocking(move || {
                commitments
                    .into_iter()
                    .filter(|c| !matches!(storage.source_block(&c.hash), Ok(Some(_))))
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
            let fetch = fetch_sources(&net, &peers, wanted).await;
            let storage = app.storage().clone();
            let blocks_fetched = fetch.blocks;
            let mut missing: HashSet<[u8; 32]> = fetch.missing.iter().map(|c| c.hash).collect();
            let stored = tokio::task::spawn_blocking(move || {
                let mut failed = Vec::new();
                for block in &blocks_fetched {
                    let hash = block.verified.hash;
                    if let Err(e) = storage.put_source_block(&hash, &block.data.encode()) {
                        warn!(error = %e, "cannot store a synced source block");
                        failed.push(hash);
                    }
                }
                failed
            })
            .await
            .unwrap_or_default();
            missing.extend(stored);
            let _ = tx.send(LoopEvent::SyncSources {
                peer,
                blocks,
                missing,
                bad_peers: fetch.bad_peers,
            });
        });
    }

    /// A batch whose source data was fetched: peers that sent bad data are benched, then the batch is applied.
    pub(super) fn on_sync_sources(
        &mut self,
        peer: libp2p::PeerId,
        blocks: Vec<SyncedBlock>,
        missing: HashSet<[u8; 32]>,
        bad_peers: Vec<(libp2p::PeerId, String)>,
    ) {
        self.sync.in_flight = false;
        let now = Instant::now();
        for (bad, reason) in bad_peers {
            warn!(peer = %bad, %reason, "peer sent source data that is not what the chain committed; not asked for a while");
            self.sync.bench(bad, now);
        }
        if !missing.is_empty() {
            warn!(
                missing = missing.len(),
                "no peer had all the source data of the synced blocks; the batch stops before the first block missing it"
            );
        }
        self.apply_batch(peer, blocks, missing);
    }
}
