//! Whether a gossip payload is one honest nodes may relay: the test of "nothing the adversary sends travels
//! beyond one hop unless it is valid".

use std::collections::HashSet;

use cvm_consensus::{ChainId, Ed25519Verifier};
use cvm_host::chain::{BlockHeader, PartSetBuilder};
use cvm_host::network::Topic;
use cvm_host::node::wire::{self, ConsensusEnvelope, ConsensusMessage, PartMessage};
use cvm_runtime::SignedTransaction;
use ed25519_dalek::VerifyingKey;

/// What an honest relay may be checked against.
pub struct RelayRules {
    pub chain_id: ChainId,
    pub validators: Vec<[u8; 32]>,
    pub part_size: usize,
}

impl RelayRules {
    fn validator_key(&self, key: &[u8; 32]) -> Option<VerifyingKey> {
        self.validators
            .contains(key)
            .then(|| VerifyingKey::from_bytes(key).ok())
            .flatten()
    }

    /// Whether a validator signed `p` as the proposer its header names.
    pub fn proposal_is_signed(&self, p: &cvm_consensus::SignedProposal<BlockHeader>) -> bool {
        self.validator_key(&p.proposal.value.proposer)
            .is_some_and(|key| p.verify(&self.chain_id, &key, &Ed25519Verifier))
    }

    /// Whether `data` on `topic` is valid on its own: signed by a validator (consensus), a part proven against
    /// a root a signed proposal names (parts), a transaction whose signature verifies.
    pub fn is_valid(&self, topic: Topic, data: &[u8], signed_roots: &HashSet<[u8; 32]>) -> bool {
        match topic {
            Topic::Consensus => match wire::decode::<ConsensusEnvelope>(data) {
                Ok(e) => match &e.message {
                    ConsensusMessage::Proposal(p) => self.proposal_is_signed(p),
                    ConsensusMessage::Vote(v) => self
                        .validator_key(&v.vote.validator.0)
                        .is_some_and(|key| v.verify(&self.chain_id, &key, &Ed25519Verifier)),
                    ConsensusMessage::Evidence(e) => [&e.vote_a, &e.vote_b].iter().all(|v| {
                        self.validator_key(&v.vote.validator.0)
                            .is_some_and(|key| v.verify(&self.chain_id, &key, &Ed25519Verifier))
                    }),
                },
                Err(_) => false,
            },
            Topic::ProposalParts => match wire::decode::<PartMessage>(data) {
                Ok(m) => {
                    signed_roots.contains(&m.parts.root)
                        && PartSetBuilder::new(m.parts, self.part_size)
                            .and_then(|mut b| b.add(m.part))
                            .is_ok()
                }
                Err(_) => false,
            },
            Topic::Transactions => {
                SignedTransaction::decode_bytes(data).is_ok_and(|tx| tx.verify_signature().is_ok())
            }
        }
    }
}

impl RelayRules {
    /// What a payload is, for a failure report.
    pub fn describe(&self, topic: Topic, data: &[u8]) -> String {
        match topic {
            Topic::Consensus => match wire::decode::<ConsensusEnvelope>(data) {
                Ok(e) => format!("{:?}", e.message),
                Err(e) => format!("undecodable ({e})"),
            },
            Topic::ProposalParts => match wire::decode::<PartMessage>(data) {
                Ok(m) => format!(
                    "part {} of {} at height {} round {} root 0x{} ({} bytes, proof {} long)",
                    m.part.index,
                    m.parts.total,
                    m.height,
                    m.round,
                    hex_prefix(&m.parts.root),
                    m.part.bytes.len(),
                    m.part.proof.len()
                ),
                Err(e) => format!("undecodable ({e})"),
            },
            Topic::Transactions => match SignedTransaction::decode_bytes(data) {
                Ok(tx) => format!("tx nonce {} ({:?})", tx.tx.nonce, tx.verify_signature()),
                Err(e) => format!("undecodable ({e})"),
            },
        }
    }
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes[..4].iter().map(|b| format!("{b:02x}")).collect()
}
