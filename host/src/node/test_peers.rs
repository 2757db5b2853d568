//! Real network nodes on loopback for the fetch tests: started with a message bound and chain id of the test's
//! choosing, and their dialable address.

use libp2p::Multiaddr;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;

use crate::network::{NetworkConfig, NetworkEvents, NetworkHandle, spawn};

/// A node with a fresh key listening on a free loopback port, dialing `peers`.
pub(super) async fn start_peer(
    peers: Vec<Multiaddr>,
    max_message_bytes: usize,
    chain_id: &str,
) -> (NetworkHandle, NetworkEvents) {
    spawn(NetworkConfig {
        keypair: Keypair::generate_ed25519(),
        listen: "/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr"),
        peers,
        max_message_bytes,
        chain_id: chain_id.into(),
    })
    .await
    .expect("network starts")
}

/// Where other nodes dial `net`: its first listen address with its peer id.
pub(super) async fn peer_addr(net: &NetworkHandle) -> Multiaddr {
    let addr = net
        .listen_addrs()
        .await
        .into_iter()
        .next()
        .expect("listens");
    addr.with(Protocol::P2p(net.local_peer_id()))
}
