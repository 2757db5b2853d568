//! Faults a test network injects into its own nodes, through the node's [`NodeHooks`] seam: the
//! `cvm-test-node` binary is the `cvm` command line with these hooks; the `cvm` binary has none of this.
//!
//! Each node reads its faults from `config/faults.toml` in its home (absent: an honest node):
//! - `byzantine`: this validator misbehaves in one of the ways the reliability tests need: it equivocates
//!   (a second proposal and a conflicting vote for everything it signs), proposes blocks with a wrong state
//!   root, floods far-future votes, or goes silent.
//! - `record_messages`: every consensus message this node sends or receives with a valid signature is appended
//!   to a file, so a test can scan every vote seen on the network for double signing.
//! - `blocked_peers_file`: a file of peer ids (one per line) the node refuses to talk to, re-read twice a second;
//!   a test cuts the network into partitions by writing it and heals it by emptying it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cvm_consensus::{
    ChainId, Ed25519Signer, Height, Round, SignedProposal, SignedVote, ValidatorId, ValueId, Vote,
    VoteKind,
};
use cvm_host::chain::BlockHeader;
use cvm_host::network::{NetworkHandle, Topic};
use cvm_host::node::wire::{ConsensusEnvelope, ConsensusMessage};
use cvm_host::node::{NodeHooks, NodeSetup};
use parity_scale_codec::Encode;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

/// The file in a node's home that holds its faults.
pub const FAULTS_FILE: &str = "config/faults.toml";

/// Far-future votes a flooding validator sends per tick (twice a second).
const FLOOD_PER_TICK: usize = 200;

/// A node's `config/faults.toml`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultsConfig {
    /// How this validator misbehaves, if it does.
    pub byzantine: Option<Byzantine>,
    /// Append every consensus message sent or received to this file (length-prefixed SCALE).
    pub record_messages: Option<PathBuf>,
    /// Peer ids to refuse, one per line; re-read twice a second.
    pub blocked_peers_file: Option<PathBuf>,
}

impl FaultsConfig {
    /// The faults of the node whose home is `home` (none when the file is absent).
    pub fn load(home: &Path) -> anyhow::Result<Self> {
        let path = home.join(FAULTS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }
}

/// The ways a Byzantine test validator misbehaves.
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

/// The [`cvm_host::node::MakeHooks`] of `cvm-test-node`: the faults of the node's home.
pub fn make_hooks(setup: &NodeSetup) -> anyhow::Result<Box<dyn NodeHooks>> {
    let config = FaultsConfig::load(&setup.home.root)?;
    Ok(Box::new(FaultHooks::new(&config, setup)?))
}

/// A node's injected faults.
pub struct FaultHooks {
    byzantine: Option<Byzantine>,
    signer: Option<Ed25519Signer>,
    validator: [u8; 32],
    chain_id: ChainId,
    record: Option<std::fs::File>,
    blocked_peers_file: Option<PathBuf>,
    blocked_peers: Option<String>,
    nonce: u64,
}

impl FaultHooks {
    /// The hooks for `config` on the node `setup` describes.
    pub fn new(config: &FaultsConfig, setup: &NodeSetup) -> anyhow::Result<Self> {
        let record = match &config.record_messages {
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| {
                        format!("cannot open the record_messages file {}", path.display())
                    })?,
            ),
            None => None,
        };
        if let Some(mode) = config.byzantine {
            warn!(?mode, "TEST NODE: this validator is Byzantine");
        }
        let key = setup.validator_key.as_ref();
        Ok(Self {
            byzantine: config.byzantine.filter(|_| key.is_some()),
            signer: key.map(|k| k.signer()),
            validator: key.map(|k| k.public_key()).unwrap_or([0; 32]),
            chain_id: ChainId::new(setup.genesis.chain_id.clone()),
            record,
            blocked_peers_file: config.blocked_peers_file.clone(),
            blocked_peers: None,
            nonce: 0,
        })
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

    fn conflicting(&mut self, message: &ConsensusMessage) -> ConsensusMessage {
        let signer = self
            .signer
            .as_ref()
            .expect("a Byzantine node is a validator");
        match message {
            ConsensusMessage::Vote(v) => {
                let value = match v.vote.value {
                    Some(_) => None,
                    None => Some(ValueId(rand::random())),
                };
                ConsensusMessage::Vote(Vote { value, ..v.vote }.sign(&self.chain_id, signer))
            }
            ConsensusMessage::Proposal(p) => {
                let mut proposal = p.proposal.clone();
                proposal.value.time_ms += 1;
                ConsensusMessage::Proposal(Box::new(proposal.sign(&self.chain_id, signer)))
            }
            ConsensusMessage::Evidence(e) => ConsensusMessage::Evidence(e.clone()),
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
                Some(ValueId(rand::random())),
                ValidatorId(self.validator),
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
        let peers: Vec<cvm_host::network::PeerId> = text
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
        info!(count = peers.len(), "TEST NODE: blocked peers changed");
        let _ = net.set_blocked_peers(peers);
        self.blocked_peers = Some(text);
    }
}

impl NodeHooks for FaultHooks {
    fn outgoing(&mut self, message: ConsensusMessage) -> Vec<ConsensusMessage> {
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

    fn sends_parts(&self) -> bool {
        self.byzantine != Some(Byzantine::Silent)
    }

    fn tamper_built(&mut self, header: &mut BlockHeader) {
        if self.byzantine == Some(Byzantine::BadStateRoot) {
            header.state_root[0] ^= 0xff;
            info!(
                height = header.height,
                "TEST NODE: proposing a wrong state root"
            );
        }
    }

    fn observed_vote(&mut self, vote: &SignedVote) {
        self.observed(&ConsensusMessage::Vote(*vote));
    }

    fn observed_proposal(&mut self, proposal: &SignedProposal<BlockHeader>) {
        if self.record.is_some() {
            self.observed(&ConsensusMessage::Proposal(Box::new(proposal.clone())));
        }
    }

    fn tick(&mut self, height: u64, net: &NetworkHandle) {
        self.poll_blocked_peers(net);
        if self.byzantine == Some(Byzantine::FutureFlood) {
            self.flood(height, net);
        }
    }
}
