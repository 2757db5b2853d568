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

    /// The part-set roots named by validly signed proposals among `consensus` payloads.
    pub fn signed_roots(&self, consensus: &[Vec<u8>]) -> HashSet<[u8; 32]> {
        consensus
            .iter()
            .filter_map(|d| wire::decode::<ConsensusEnvelope>(d).ok())
            .filter_map(|e| match e.message {
                ConsensusMessage::Proposal(p) => self
                    .proposal_is_signed(&p)
                    .then_some(p.proposal.value.parts.root),
                ConsensusMessage::Vote(_) => None,
            })
            .collect()
    }

    fn proposal_is_signed(&self, p: &cvm_consensus::SignedProposal<BlockHeader>) -> bool {
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
