//! Publishes the client transactions the mempool's gossip window releases (see
//! [`GossipWindow`](super::mempool::GossipWindow) for why they are paced).

use std::time::Instant;

use parking_lot::Mutex;

use super::mempool::{Mempool, TxHash};
use crate::network::{NetworkHandle, Topic};

/// Publishes the client transactions due from `pool`. `fresh` is a transaction just admitted with the bytes it
/// came in: published as they are when due, rather than encoded again.
pub fn publish_due(
    pool: &Mutex<Mempool>,
    net: &NetworkHandle,
    mut fresh: Option<(TxHash, Vec<u8>)>,
) {
    let due: Vec<Vec<u8>> = {
        let mut pool = pool.lock();
        let hashes = pool.gossip_due(Instant::now());
        hashes
            .into_iter()
            .filter_map(|hash| match fresh.take_if(|(h, _)| *h == hash) {
                Some((_, bytes)) => Some(bytes),
                None => pool.encoded(&hash),
            })
            .collect()
    };
    for bytes in due {
        if let Err(e) = net.try_publish(Topic::Transactions, bytes) {
            tracing::debug!(error = %e, "transaction gossip");
        }
    }
}
