//! The libp2p behaviours the node runs and how each is configured: connection limits, gossipsub (validated,
//! scored), identify, and the sync request-response protocol.

use std::collections::HashMap;
use std::time::Duration;

use cvm_runtime::state::blake2_256;
use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{allow_block_list, connection_limits, gossipsub, identify, request_response};

use super::codec::{SyncCodec, protocol_name};
use super::config::NetworkConfig;
use super::error::NetworkError;
use super::topic::{Topic, protocol_version};

/// Room for gossipsub's envelope (topic and protobuf framing; unsigned, see `Behaviour::new`) on top of the
/// application payload, so a payload of exactly `max_message_bytes` can still be sent.
pub const GOSSIP_ENVELOPE_BYTES: usize = 1024;

/// How long a sync request may take before the requester gives up.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Gossipsub heartbeat: short, for LAN and loopback networks of a few validators.
const HEARTBEAT: Duration = Duration::from_millis(250);

/// Established connections accepted in total and per peer (two per peer tolerates simultaneous dials).
const MAX_ESTABLISHED: u32 = 128;
const MAX_ESTABLISHED_PER_PEER: u32 = 2;
const MAX_PENDING: u32 = 64;

/// Message ids a node names in one IHAVE or IWANT (gossipsub's default).
const MAX_CONTROL_IDS: usize = 5000;
/// Bytes a message id takes in a control message: the 32-byte hash (see [`message_id`]) and its protobuf tag and
/// length.
const CONTROL_ID_BYTES: usize = 32 + 2;
/// The rest of a control message: topic name, framing of the nested messages.
const CONTROL_OVERHEAD_BYTES: usize = 4096;
/// The control bytes accepted in one RPC: room for the largest IHAVE or IWANT a node sends. gossipsub's default
/// (16 KiB, about 480 ids) is far below what its default [`MAX_CONTROL_IDS`] produces. At a hundred heights a
/// second, the IHAVE of the last three heartbeats names over a thousand messages. The receiver then drops the
/// whole inbound stream, and in gossipsub 0.50 that one drop leaves the connection deaf in that direction until
/// it is replaced (`tests::a_peer_that_stops_taking_gossip_gets_a_fresh_connection`), which can stall the network
/// for tens of seconds.
const MAX_CONTROL_BYTES: usize = MAX_CONTROL_IDS * CONTROL_ID_BYTES + CONTROL_OVERHEAD_BYTES;

#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Peers refused at the connection level (see `NetworkHandle::set_blocked_peers`).
    pub blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub limits: connection_limits::Behaviour,
    pub gossipsub: gossipsub::Behaviour,
    pub identify: identify::Behaviour,
    pub sync: request_response::Behaviour<SyncCodec>,
}

impl Behaviour {
    pub fn new(keypair: &Keypair, config: &NetworkConfig) -> Result<Self, NetworkError> {
        let limits = connection_limits::ConnectionLimits::default()
            .with_max_pending_incoming(Some(MAX_PENDING))
            .with_max_pending_outgoing(Some(MAX_PENDING))
            .with_max_established(Some(MAX_ESTABLISHED))
            .with_max_established_per_peer(Some(MAX_ESTABLISHED_PER_PEER));

        // Unsigned envelopes: every payload carries its own proof (validator signatures on consensus messages,
        // client signatures on transactions, Merkle proofs on block parts), and gossipsub verified an envelope
        // signature (SHA-512 over the whole payload) on every copy received, duplicates included.
        let mut gossipsub = gossipsub::Behaviour::new(
            gossipsub::MessageAuthenticity::Anonymous,
            gossipsub_config(config.max_message_bytes)?,
        )
        .map_err(|e| NetworkError::Config(format!("gossipsub: {e}")))?;
        gossipsub
            .with_peer_score(
                score_params(&config.chain_id),
                gossipsub::PeerScoreThresholds::default(),
            )
            .map_err(|e| NetworkError::Config(format!("gossipsub peer scoring: {e}")))?;
        for topic in Topic::ALL {
            gossipsub
                .subscribe(&topic.ident(&config.chain_id))
                .map_err(|e| NetworkError::Config(format!("subscribing to {topic:?}: {e}")))?;
        }

        let identify = identify::Behaviour::new(
            identify::Config::new(protocol_version(&config.chain_id), keypair.public())
                .with_agent_version(format!("cvm/{}", env!("CARGO_PKG_VERSION"))),
        );

        let protocol = protocol_name(&config.chain_id).map_err(NetworkError::Config)?;
        let sync = request_response::Behaviour::with_codec(
            SyncCodec::new(config.max_message_bytes),
            [(protocol, request_response::ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(REQUEST_TIMEOUT),
        );

        Ok(Self {
            blocked: allow_block_list::Behaviour::default(),
            limits: connection_limits::Behaviour::new(limits),
            gossipsub,
            identify,
            sync,
        })
    }
}

/// Message ids are the hash of the payload, so the same data relayed along two paths is delivered once.
fn message_id(message: &gossipsub::Message) -> gossipsub::MessageId {
    gossipsub::MessageId::from(blake2_256(&message.data).to_vec())
}

fn gossipsub_config(max_message_bytes: usize) -> Result<gossipsub::Config, NetworkError> {
    gossipsub::ConfigBuilder::default()
        .max_transmit_size(max_message_bytes + GOSSIP_ENVELOPE_BYTES)
        .message_id_fn(message_id)
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        .max_control_messages_sent(MAX_CONTROL_IDS)
        .max_control_message_size(MAX_CONTROL_BYTES)
        // A mesh that works with 2 to 10 validators.
        .mesh_n_low(1)
        .mesh_n(3)
        .mesh_n_high(6)
        .mesh_outbound_min(0)
        .gossip_lazy(3)
        .flood_publish(true)
        .heartbeat_interval(HEARTBEAT)
        .heartbeat_initial_delay(Duration::from_millis(50))
        .build()
        .map_err(|e| NetworkError::Config(format!("gossipsub: {e}")))
}

/// Scoring that punishes what `report(.., Verdict::Reject)` flags and little else: with a handful of validators
/// and bursty traffic, delivery-rate penalties would only hurt honest peers.
fn score_params(chain_id: &str) -> gossipsub::PeerScoreParams {
    let topic = gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 100.0,
        first_message_deliveries_weight: 0.5,
        first_message_deliveries_decay: 0.9,
        first_message_deliveries_cap: 100.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -5.0,
        invalid_message_deliveries_decay: 0.9,
        ..Default::default()
    };
    let topics: HashMap<_, _> = Topic::ALL
        .iter()
        .map(|t| (t.ident(chain_id).hash(), topic.clone()))
        .collect();
    gossipsub::PeerScoreParams {
        topics,
        // Validators may well share an address (loopback tests, one host per operator).
        ip_colocation_factor_weight: 0.0,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_ihave_or_iwant_a_node_sends_fits_what_every_node_accepts() {
        let config = gossipsub_config(1 << 20).expect("valid config");
        // Chain ids are at most 64 characters.
        let longest_chain_id = "x".repeat(64);
        let longest_topic = Topic::ALL
            .iter()
            .map(|t| t.ident(&longest_chain_id).hash().as_str().len())
            .max()
            .expect("topics");
        let largest = config.max_control_messages_sent() * CONTROL_ID_BYTES + longest_topic + 16;
        assert!(
            largest <= config.max_control_message_size(),
            "an IHAVE of {} ids takes {largest} bytes, over the {} accepted",
            config.max_control_messages_sent(),
            config.max_control_message_size()
        );
        // The id size assumed above is the one `message_id` produces.
        let message = gossipsub::Message {
            source: None,
            data: b"payload".to_vec(),
            sequence_number: None,
            topic: Topic::Consensus.ident("c").hash(),
        };
        assert_eq!(message_id(&message).0.len() + 2, CONTROL_ID_BYTES);
    }
}
