//! The gossip and sync attack loop: a burst of every attack each period, built from what the adversary heard.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::Semaphore;

use super::attacks::{Forge, Gossip, sync_flood_request};
use super::peer::{Peer, payload_id};
use super::sent::SharedSentLog;

/// How often the adversary sends a burst of each attack.
const BURST_PERIOD: Duration = Duration::from_millis(100);
/// Sync requests the adversary keeps outstanding at once.
const SYNC_IN_FLIGHT: usize = 64;

/// The adversary's gossip and sync attacks, and what they sent.
#[derive(Clone)]
pub(super) struct GossipAttacker {
    pub(super) adversary: Arc<Peer>,
    /// The validator the adversary joined through (the target of its sync requests).
    pub(super) entry: libp2p::PeerId,
    pub(super) chain_id: String,
    pub(super) part_size: usize,
    pub(super) sent: SharedSentLog,
    pub(super) sync_sent: Arc<AtomicU64>,
}

/// Runs every gossip and sync attack until `stop`.
pub(super) async fn attack_loop(attacker: GossipAttacker, seed: u64, stop: Arc<AtomicBool>) {
    let GossipAttacker {
        adversary,
        entry,
        chain_id,
        part_size,
        sent,
        sync_sent,
    } = attacker;
    let mut rng = StdRng::seed_from_u64(seed);
    let in_flight = Arc::new(Semaphore::new(SYNC_IN_FLIGHT));
    let mut tick = tokio::time::interval(BURST_PERIOD);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let (height, consensus, parts) = {
            let heard = adversary.heard();
            (
                heard.height,
                heard.consensus.iter().cloned().collect::<Vec<_>>(),
                heard.parts.iter().cloned().collect::<Vec<_>>(),
            )
        };
        let mut forge = Forge {
            rng: &mut rng,
            chain_id: &chain_id,
            part_size,
            height,
            consensus: &consensus,
            parts: &parts,
        };
        let mut burst: Vec<Gossip> = Vec::new();
        burst.extend((0..2).filter_map(|_| forge.proposal_round_max()));
        burst.extend(forge.junk_parts(12));
        burst.extend((0..4).filter_map(|_| forge.future_proposal()));
        burst.extend((0..8).filter_map(|_| forge.replay()));
        burst.extend((0..8).filter_map(|_| forge.mutation()));
        burst.extend((0..30).map(|i| forge.gapped_tx(2 + i)));
        burst.extend((0..30).map(|_| forge.junk_tx()));
        for gossip in burst {
            let id = payload_id(&gossip.data);
            // Noted before it leaves: the observer may hear it back before `publish` returns.
            sent.lock()
                .unwrap_or_else(|p| p.into_inner())
                .kinds
                .insert(id, (gossip.attack, gossip.topic));
            let published = adversary.handle.publish(gossip.topic, gossip.data).await;
            let mut sent = sent.lock().unwrap_or_else(|p| p.into_inner());
            if published.is_ok() {
                *sent.counts.entry(gossip.attack).or_default() += 1;
            } else {
                sent.kinds.remove(&id);
            }
        }
        while let Ok(permit) = in_flight.clone().try_acquire_owned() {
            let handle = adversary.handle.clone();
            sync_sent.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let _ = handle.request(entry, sync_flood_request()).await;
                drop(permit);
            });
        }
    }
}
