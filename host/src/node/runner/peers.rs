//! Peers connecting and leaving.

use tracing::debug;

use super::state::Runner;

impl Runner {
    pub(super) fn on_peer_connected(&mut self, peer: libp2p::PeerId) {
        debug!(%peer, "peer connected");
        self.peers.insert(peer);
        self.publish_peers();
        self.resend_own();
        // A node starting behind learns so now rather than at its next sync tick.
        self.ask_status(peer);
    }

    pub(super) fn on_peer_disconnected(&mut self, peer: libp2p::PeerId) {
        debug!(%peer, "peer disconnected");
        self.peers.remove(&peer);
        self.sync.forget(&peer, std::time::Instant::now());
        self.publish_peers();
    }

    fn publish_peers(&self) {
        self.shared.metrics.set_peers(self.peers.len());
        self.shared.status.write().peers = self.peers.iter().map(|p| p.to_string()).collect();
    }
}
