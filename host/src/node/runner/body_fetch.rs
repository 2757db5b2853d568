//! Bodies asked of peers: a proposal or decision whose parts have not come within `FETCH_AFTER` gets its body
//! by request, first from the peer that relayed the proposal, then from any connected peer.

use std::time::Instant;

use libp2p::PeerId;
use tracing::debug;

use super::body_wants::{FETCH_AFTER, MAX_ANNOUNCERS, MAX_WANTED, Wanted};
use super::events::LoopEvent;
use super::state::Runner;
use crate::chain::{BlockBody, PartSetHeader};
use crate::node::body_fetch::{BodyLimits, fetch_body};

impl Runner {
    /// Remembers that `peer` relayed a signed proposal naming part-set `root`: the first to ask for its body.
    pub(super) fn note_announcer(&mut self, root: [u8; 32], peer: PeerId) {
        let announcers = &mut self.bodies.fetches.announcers;
        if announcers.len() >= MAX_ANNOUNCERS {
            announcers.clear();
        }
        announcers.entry(root).or_insert(peer);
    }

    /// Asks for the body of the block at `height` with part set `parts` if its parts do not come soon.
    pub(super) fn want_body(&mut self, height: u64, parts: PartSetHeader) {
        if self.bodies.parts.body(&parts).is_some() {
            return;
        }
        let wanted = &mut self.bodies.fetches.wanted;
        if wanted.len() >= MAX_WANTED && !wanted.contains_key(&parts.root) {
            return;
        }
        wanted.entry(parts.root).or_insert(Wanted {
            height,
            parts,
            since: Instant::now(),
            in_flight: false,
        });
    }

    /// Starts the fetches that are due, and forgets bodies no longer wanted (here, or committed past).
    pub(super) fn fetch_wanted_bodies(&mut self) {
        let committed = self.committed_height();
        let Self { bodies, .. } = self;
        let pool = &bodies.parts;
        bodies
            .fetches
            .wanted
            .retain(|_, w| w.height > committed && pool.body(&w.parts).is_none());
        let now = Instant::now();
        let due: Vec<(u64, PartSetHeader)> = self
            .bodies
            .fetches
            .wanted
            .values_mut()
            .filter(|w| !w.in_flight && now.duration_since(w.since) >= FETCH_AFTER)
            .map(|w| {
                w.in_flight = true;
                (w.height, w.parts)
            })
            .collect();
        for (height, parts) in due {
            let mut peers: Vec<PeerId> = self.peers.iter().copied().collect();
            if let Some(first) = self.bodies.fetches.announcers.get(&parts.root) {
                peers.retain(|p| p != first);
                peers.insert(0, *first);
            }
            debug!(
                height,
                peers = peers.len(),
                "parts did not come; asking peers for the body"
            );
            let net = self.shared.net.clone();
            let tx = self.shared.events_tx.clone();
            let params = self.shared.app.params();
            let limits = BodyLimits {
                part_size: params.part_size as usize,
                max_block_bytes: params.max_block_bytes,
            };
            tokio::spawn(async move {
                let body = fetch_body(&net, &peers, height, parts, limits).await;
                let _ = tx.send(LoopEvent::BodyFetched {
                    height,
                    parts,
                    body,
                });
            });
        }
    }

    pub(super) fn on_body_fetched(
        &mut self,
        height: u64,
        parts: PartSetHeader,
        body: Option<BlockBody>,
    ) {
        let Some(body) = body else {
            if let Some(w) = self.bodies.fetches.wanted.get_mut(&parts.root) {
                w.in_flight = false;
                w.since = Instant::now();
            }
            return;
        };
        self.bodies.fetches.wanted.remove(&parts.root);
        if self.bodies.parts.body(&parts).is_some() || height <= self.committed_height() {
            return;
        }
        self.bodies.parts.insert_body(height, parts, body);
        self.on_body_ready(parts);
    }
}
