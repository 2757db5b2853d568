//! Faults a test network injects into its own nodes, compiled only with the `test-hooks` feature (the `cvm`
//! binary built for release has none of this; its config rejects a `[test]` section as an unknown field).
//!
//! - `byzantine`: this validator misbehaves in one of the ways the reliability tests need: it equivocates
//!   (a second proposal and a conflicting vote for everything it signs), proposes blocks with a wrong state
//!   root, floods far-future votes, or goes silent.
//! - `record_messages`: every consensus message this node sends or receives with a valid signature is appended
//!   to a file, so a test can scan every vote seen on the network for double signing.
//! - `blocked_peers_file`: a file of peer ids (one per line) the node refuses to talk to, re-read twice a second;
//!   a test cuts the network into partitions by writing it and heals it by emptying it.
//!
//! Without the feature, [`TestHooks`] is an empty type whose methods do nothing.

#[cfg(feature = "test-hooks")]
pub use enabled::*;

#[cfg(not(feature = "test-hooks"))]
pub use disabled::*;

#[cfg(not(feature = "test-hooks"))]
mod disabled {
    use cvm_consensus::{SignedProposal, SignedVote};

    use super::super::wire::ConsensusMessage;
    use crate::chain::BlockHeader;
    use crate::network::NetworkHandle;

    /// No hooks in this build.
    #[derive(Default)]
    pub struct TestHooks;

    impl TestHooks {
        #[inline]
        pub fn outgoing(&mut self, message: ConsensusMessage) -> Vec<ConsensusMessage> {
            vec![message]
        }
        #[inline]
        pub fn sends_parts(&self) -> bool {
            true
        }
        #[inline]
        pub fn tamper_built(&mut self, _header: &mut BlockHeader) {}
        #[inline]
        pub fn observed_vote(&mut self, _vote: &SignedVote) {}
        #[inline]
        pub fn observed_proposal(&mut self, _proposal: &SignedProposal<BlockHeader>) {}
        #[inline]
        pub fn tick(&mut self, _height: u64, _net: &NetworkHandle) {}
    }
}

#[cfg(feature = "test-hooks")]
mod enabled {
    use std::io::Write;
    use std::path::PathBuf;

    use cvm_consensus::{
        ChainId, Ed25519Signer, Height, Round, SignedProposal, SignedVote, Vote, VoteKind,
    };
    use parity_scale_codec::Encode;
    use serde::{Deserialize, Serialize};
    use tracing::{info, warn};

    use super::super::wire::{ConsensusEnvelope, ConsensusMessage};
    use crate::chain::BlockHeader;
    use crate::network::{NetworkHandle, Topic};

    /// Far-future votes a flooding validator sends per tick (twice a second).
    const FLOOD_PER_TICK: usize = 200;

    /// The `[test]` section of config.toml.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct TestHooksConfig {
        pub byzantine: Option<Byzantine>,
        /// Append every consensus message sent or received to this file (length-prefixed SCALE).
        pub record_messages: Option<PathBuf>,
        /// Peer ids to refuse, one per line; re-read twice a second.
        pub blocked_peers_file: Option<PathBuf>,
    }

    impl TestHooksConfig {
        pub fn is_empty(&self) -> bool {
            *self == Self::default()
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum Byzantine {
        /// Signs a second, conflicting proposal and vote for everything it signs.
        Equivocate,
        /// Proposes blocks whose header carries a wrong state root.
        BadStateRoot,
        /// Floods validly signed votes for far-future heights and rounds.
        FutureFlood,
        /// Sends no consensus messages or block parts at all.
        Silent,
    }

    pub struct TestHooks {
        byzantine: Option<Byzantine>,
        signer: Option<Ed25519Signer>,
        validator: [u8; 32],
        chain_id: ChainId,
        record: Option<std::fs::File>,
        blocked_peers_file: Option<PathBuf>,
        blocked_peers: Option<String>,
        nonce: u64,
    }

    impl Default for TestHooks {
        fn default() -> Self {
            Self {
                byzantine: None,
                signer: None,
                validator: [0; 32],
                chain_id: ChainId::new(String::new()),
                record: None,
                blocked_peers_file: None,
                blocked_peers: None,
                nonce: 0,
            }
        }
    }

    impl TestHooks {
        pub fn new(
            config: &TestHooksConfig,
            chain_id: &str,
            validator_key: Option<&crate::chain::ValidatorKey>,
        ) -> std::io::Result<Self> {
            let record = match &config.record_messages {
                Some(path) => Some(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)?,
                ),
                None => None,
            };
            if let Some(mode) = config.byzantine {
                warn!(?mode, "TEST BUILD: this validator is Byzantine");
            }
            Ok(Self {
                byzantine: config.byzantine.filter(|_| validator_key.is_some()),
                signer: validator_key.map(|k| k.signer()),
                validator: validator_key.map(|k| k.public_key()).unwrap_or([0; 32]),
                chain_id: ChainId::new(chain_id.to_string()),
                record,
                blocked_peers_file: config.blocked_peers_file.clone(),
                blocked_peers: None,
                nonce: 0,
            })
        }

        /// What actually goes out for a message the engine asked to broadcast.
        pub fn outgoing(&mut self, message: ConsensusMessage) -> Vec<ConsensusMessage> {
            let out = match self.byzantine {
                Some(Byzantine::Silent) => Vec::new(),
                Some(Byzantine::Equivocate) => {
                    let conflicting = self.conflicting(&message);
                    vec![message, conflicting]
                }
                _ => vec![message],
            };
            for m in &out {
                self.observed(m);
            }
            out
        }

        pub fn sends_parts(&self) -> bool {
            self.byzantine != Some(Byzantine::Silent)
        }

        /// A block this node built, before it is proposed.
        pub fn tamper_built(&mut self, header: &mut BlockHeader) {
            if self.byzantine == Some(Byzantine::BadStateRoot) {
                header.state_root[0] ^= 0xff;
                info!(
                    height = header.height,
                    "TEST BUILD: proposing a wrong state root"
                );
            }
        }

        pub fn observed_vote(&mut self, vote: &SignedVote) {
            self.observed(&ConsensusMessage::Vote(*vote));
        }

        pub fn observed_proposal(&mut self, proposal: &SignedProposal<BlockHeader>) {
            if self.record.is_some() {
                self.observed(&ConsensusMessage::Proposal(Box::new(proposal.clone())));
            }
        }

        /// A consensus message sent by this node or received (votes with a valid signature).
        fn observed(&mut self, message: &ConsensusMessage) {
            if let Some(file) = &mut self.record {
                let bytes = message.encode();
                let mut framed = (bytes.len() as u32).to_le_bytes().to_vec();
                framed.extend_from_slice(&bytes);
                if let Err(e) = file.write_all(&framed) {
                    warn!(error = %e, "cannot record a consensus message");
                }
            }
        }

        /// Called twice a second with the height in progress.
        pub fn tick(&mut self, height: u64, net: &NetworkHandle) {
            self.poll_blocked_peers(net);
            if self.byzantine == Some(Byzantine::FutureFlood) {
                self.flood(height, net);
            }
        }

        fn conflicting(&mut self, message: &ConsensusMessage) -> ConsensusMessage {
            let signer = self
                .signer
                .as_ref()
                .expect("a Byzantine node is a validator");
            match message {
                ConsensusMessage::Vote(v) => {
                    let value = match v.vote.value {
                        Some(_) => None,
                        None => Some(cvm_consensus::ValueId(rand::random())),
                    };
                    ConsensusMessage::Vote(Vote { value, ..v.vote }.sign(&self.chain_id, signer))
                }
                ConsensusMessage::Proposal(p) => {
                    let mut proposal = p.proposal.clone();
                    proposal.value.time_ms += 1;
                    ConsensusMessage::Proposal(Box::new(proposal.sign(&self.chain_id, signer)))
                }
            }
        }

        fn flood(&mut self, height: u64, net: &NetworkHandle) {
            let Some(signer) = &self.signer else { return };
            for i in 0..FLOOD_PER_TICK {
                self.nonce += 1;
                // Half within the engine's buffering window (next heights, absurd rounds), half far beyond.
                let (h, r) = if i % 2 == 0 {
                    (height + 1 + (self.nonce % 2), rand::random::<u32>() >> 1)
                } else {
                    (
                        height + 3 + rand::random::<u64>() % 1_000_000,
                        rand::random::<u32>() >> 1,
                    )
                };
                let kind = if i % 3 == 0 {
                    VoteKind::Precommit
                } else {
                    VoteKind::Prevote
                };
                let vote = Vote::new(
                    kind,
                    Height(h),
                    Round(r),
                    Some(cvm_consensus::ValueId(rand::random())),
                    cvm_consensus::ValidatorId(self.validator),
                )
                .sign(&self.chain_id, signer);
                let envelope = ConsensusEnvelope {
                    resend: self.nonce as u32,
                    message: ConsensusMessage::Vote(vote),
                };
                let _ = net.try_publish(Topic::Consensus, envelope.encode());
            }
        }

        fn poll_blocked_peers(&mut self, net: &NetworkHandle) {
            let Some(path) = &self.blocked_peers_file else {
                return;
            };
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if self.blocked_peers.as_deref() == Some(text.as_str()) {
                return;
            }
            let peers: Vec<libp2p::PeerId> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .filter_map(|l| match l.parse() {
                    Ok(p) => Some(p),
                    Err(e) => {
                        warn!(line = l, error = %e, "blocked peers file: not a peer id");
                        None
                    }
                })
                .collect();
            info!(count = peers.len(), "TEST BUILD: blocked peers changed");
            let _ = net.set_blocked_peers(peers);
            self.blocked_peers = Some(text);
        }
    }
}
