//! [`NetworkConfig`]: what the network task needs to start, built from a node's `[p2p]` section and key.

use libp2p::Multiaddr;
use libp2p::identity::Keypair;

use super::error::NetworkError;
use crate::chain::NodeKey;
use crate::chain::config::P2pConfig;

/// Everything the network task needs to start.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// The node's libp2p identity; its peer id is what other nodes put in their peer lists.
    pub keypair: Keypair,
    /// Where to listen, e.g. `/ip4/127.0.0.1/tcp/26656` (`tcp/0` picks a free port: see
    /// [`NetworkHandle::listen_addrs`]).
    pub listen: Multiaddr,
    /// Static peers, each ending in `/p2p/<peer id>`; kept connected for as long as the node runs.
    pub peers: Vec<Multiaddr>,
    /// Largest gossip payload and largest sync response, in bytes.
    pub max_message_bytes: usize,
    /// Names the gossip topics and the sync protocol, so nodes of two chains never exchange messages.
    pub chain_id: String,
}

impl NetworkConfig {
    /// The config for a node from its `[p2p]` section and key file.
    pub fn from_p2p(p2p: &P2pConfig, key: &NodeKey, chain_id: &str) -> Result<Self, NetworkError> {
        let parse = |s: &str| {
            s.parse::<Multiaddr>()
                .map_err(|e| NetworkError::Config(format!("`{s}` is not a multiaddr: {e}")))
        };
        Ok(Self {
            keypair: key.keypair(),
            listen: parse(&p2p.listen)?,
            peers: p2p
                .peers
                .iter()
                .map(|p| parse(p))
                .collect::<Result<_, _>>()?,
            max_message_bytes: p2p.max_message_bytes,
            chain_id: chain_id.to_owned(),
        })
    }
}
