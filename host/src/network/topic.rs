//! The gossip [`Topic`]s and the wire version their names (and the identify protocol version) carry.

use libp2p::gossipsub;

/// A gossip topic. Its wire name includes the chain id, e.g. `/cvm/<chain id>/consensus/1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Proposals (headers) and votes.
    Consensus,
    /// Signed transactions from mempools.
    Transactions,
    /// Merkle-proven parts of proposed block bodies.
    ProposalParts,
}

/// The gossip wire version, in every topic name: nodes of different versions do not share topics, so neither
/// scores the other down for messages it cannot accept. 2: envelopes are unsigned (gossipsub `Anonymous`).
const GOSSIP_VERSION: u32 = 2;

/// What a node announces through identify; a peer announcing anything else runs another chain or wire version.
pub(super) fn protocol_version(chain_id: &str) -> String {
    format!("/cvm/{chain_id}/{GOSSIP_VERSION}")
}

impl Topic {
    /// Every topic, in the order nodes subscribe.
    pub const ALL: [Topic; 3] = [Topic::Consensus, Topic::Transactions, Topic::ProposalParts];

    /// The topic's name on the wire for `chain_id`.
    pub fn name(self, chain_id: &str) -> String {
        let kind = match self {
            Topic::Consensus => "consensus",
            Topic::Transactions => "transactions",
            Topic::ProposalParts => "proposal-parts",
        };
        format!("/cvm/{chain_id}/{kind}/{GOSSIP_VERSION}")
    }

    pub(super) fn ident(self, chain_id: &str) -> gossipsub::IdentTopic {
        gossipsub::IdentTopic::new(self.name(chain_id))
    }
}
