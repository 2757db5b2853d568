//! Safety checks over a test network's results: one chain everywhere (no forks, no lost heights, equal state
//! roots) read straight from each node's RocksDB, and no double signing in any consensus message seen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cvm_consensus::{ChainId, Ed25519Verifier, SignedProposal, SignedVote, ValueId};
use cvm_host::chain::config::HomeLayout;
use cvm_host::chain::{BlockHeader, Genesis};
use cvm_host::node::wire::ConsensusMessage;
use cvm_host::storage::Storage;
use ed25519_dalek::VerifyingKey;

/// What [`compare_chains`] found across nodes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// The highest height every node holds.
    pub common_height: u64,
    /// Heights at which two nodes hold different blocks (or state roots).
    pub forks: Vec<u64>,
    /// (node, height) pairs missing below that node's head, or a commit certificate missing.
    pub lost_blocks: Vec<(usize, u64)>,
}

/// Opens each stopped node's database (read-write open, nothing written) and compares every height.
pub fn compare_chains(homes: &[&Path]) -> ChainReport {
    let stores: Vec<Storage> = homes
        .iter()
        .map(|h| Storage::open(HomeLayout::new(*h).db()).expect("open a stopped node's database"))
        .collect();
    let heads: Vec<u64> = stores
        .iter()
        .map(|s| s.head().expect("read head").map(|h| h.height).unwrap_or(0))
        .collect();
    let mut report = ChainReport {
        common_height: heads.iter().copied().min().unwrap_or(0),
        ..ChainReport::default()
    };
    let top = heads.iter().copied().max().unwrap_or(0);
    for height in 1..=top {
        let mut seen: Option<BlockHeader> = None;
        for (i, store) in stores.iter().enumerate() {
            if height > heads[i] {
                continue;
            }
            let header = store.header(height).expect("read header");
            let cert = store.commit(height).expect("read commit");
            let Some(header) = header else {
                report.lost_blocks.push((i, height));
                continue;
            };
            if cert.is_none_or(|c| c.value_id.0 != header.hash()) {
                report.lost_blocks.push((i, height));
            }
            match &seen {
                None => seen = Some(header),
                Some(first) => {
                    if first.hash() != header.hash() || first.state_root != header.state_root {
                        report.forks.push(height);
                    }
                }
            }
        }
    }
    report.forks.dedup();
    report
}

/// One validator signing two different things for the same slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoubleSign {
    pub validator: String,
    pub height: u64,
    pub round: u32,
    pub what: &'static str,
}

/// (validator, height, round, kind): one vote allowed.
type VoteSlot = ([u8; 32], u64, u32, cvm_consensus::VoteKind);
/// (proposer, height, round): one proposal allowed.
type ProposalSlot = ([u8; 32], u64, u32);

/// Scans every recorded consensus message (from all nodes) for a validator that signed two different votes of
/// one kind, or two different proposals, for the same (height, round). Only validly signed messages count.
pub fn find_double_signs(genesis: &Path, messages: &[ConsensusMessage]) -> Vec<DoubleSign> {
    let genesis = Genesis::load(genesis).expect("genesis");
    let chain_id = ChainId::new(genesis.chain_id.clone());
    let keys: Vec<([u8; 32], VerifyingKey)> = genesis
        .validator_ids()
        .expect("validators")
        .into_iter()
        .map(|(id, _)| (id.0, VerifyingKey::from_bytes(&id.0).expect("genesis key")))
        .collect();
    let mut votes: BTreeMap<VoteSlot, BTreeSet<Option<ValueId>>> = BTreeMap::new();
    let mut proposals: BTreeMap<ProposalSlot, BTreeSet<(ValueId, Option<u32>)>> = BTreeMap::new();
    let verify_vote = |v: &SignedVote| {
        keys.iter()
            .find(|(id, _)| *id == v.vote.validator.0)
            .is_some_and(|(_, key)| v.verify(&chain_id, key, &Ed25519Verifier))
    };
    let signer_of = |p: &SignedProposal<BlockHeader>| {
        keys.iter()
            .find(|(_, key)| p.verify(&chain_id, key, &Ed25519Verifier))
            .map(|(id, _)| *id)
    };
    for message in messages {
        match message {
            ConsensusMessage::Vote(v) if verify_vote(v) => {
                votes
                    .entry((
                        v.vote.validator.0,
                        v.vote.height.0,
                        v.vote.round.0,
                        v.vote.kind,
                    ))
                    .or_default()
                    .insert(v.vote.value);
            }
            ConsensusMessage::Vote(_) | ConsensusMessage::Evidence(_) => {}
            ConsensusMessage::Proposal(p) => {
                if let Some(signer) = signer_of(p) {
                    use cvm_consensus::Value;
                    proposals
                        .entry((signer, p.proposal.height.0, p.proposal.round.0))
                        .or_default()
                        .insert((p.proposal.value.id(), p.proposal.pol_round.map(|r| r.0)));
                }
            }
        }
    }
    let mut found = Vec::new();
    for ((validator, height, round, kind), values) in votes {
        if values.len() > 1 {
            found.push(DoubleSign {
                validator: hex(&validator),
                height,
                round,
                what: match kind {
                    cvm_consensus::VoteKind::Prevote => "prevote",
                    cvm_consensus::VoteKind::Precommit => "precommit",
                },
            });
        }
    }
    for ((validator, height, round), values) in proposals {
        if values.len() > 1 {
            found.push(DoubleSign {
                validator: hex(&validator),
                height,
                round,
                what: "proposal",
            });
        }
    }
    found
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the safety checks found once a network stopped.
#[derive(Debug, Clone)]
pub struct SafetyReport {
    pub chain: ChainReport,
    pub double_signs: Vec<DoubleSign>,
    /// Consensus messages scanned for double signs.
    pub messages_scanned: usize,
}

impl SafetyReport {
    /// Panics naming them if the nodes stored forked chains or any validator signed twice.
    pub fn assert_no_fork_or_double_sign(&self) {
        assert!(self.chain.forks.is_empty(), "forks: {:?}", self.chain.forks);
        assert!(self.double_signs.is_empty(), "double signs");
    }
}

/// Stops every node of `net` and checks what they stored and signed.
pub fn stop_and_check(net: &mut crate::localnet::LocalNet) -> SafetyReport {
    for i in 0..net.nodes.len() {
        net.stop(i);
    }
    let homes: Vec<&Path> = net.nodes.iter().map(|n| n.home.as_path()).collect();
    let chain = compare_chains(&homes);
    let messages: Vec<_> = net
        .nodes
        .iter()
        .flat_map(|n| n.recorded_messages())
        .collect();
    let double_signs = find_double_signs(&net.genesis_path(), &messages);
    SafetyReport {
        chain,
        double_signs,
        messages_scanned: messages.len(),
    }
}

/// A run's seed: the environment variable `var` if set, else the clock's seconds (tests print it, so a run can
/// be repeated).
pub fn seed_from_env(var: &str) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_secs()
        })
}
