//! The gossip and sync attacks the adversary peer sends, each built from what the peer heard (current height,
//! captured proposals, votes and parts) so it lands where an honest node would look.

use cvm_consensus::{Round, SignatureBytes};
use cvm_host::chain::PartSet;
use cvm_host::network::{SyncRequest, Topic};
use cvm_host::node::wire::{self, ConsensusEnvelope, ConsensusMessage, PartMessage};
use cvm_runtime::{Transaction, TxPayload};
use ed25519_dalek::SigningKey;
use parity_scale_codec::Encode;
use rand::Rng;
use rand::rngs::StdRng;

/// One kind of attack, as counted in the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attack {
    /// A proposal at the current height for round `u32::MAX` (finding 1: proposer walk before the window check).
    ProposalRoundMax,
    /// Part sets for the next heights whose roots no signed proposal names (finding 2: junk parts crowd out the
    /// proposer's).
    JunkParts,
    /// Proposals for future heights with a signature that does not verify (finding 3).
    FutureProposals,
    /// Captured votes and proposals re-sent with a new `resend` nonce (finding 4: replays as new gossip).
    Replays,
    /// Sync: a status claiming height `u64::MAX` (answered to every status request) (finding 7).
    StatusLie,
    /// Sync: requests for every block from height 1, as many as the peer may have outstanding (finding 7).
    SyncFlood,
    /// Validly signed transactions from fresh keys, far ahead of their account's nonce (finding 8).
    GappedTxs,
    /// Undecodable or badly signed transactions on the transaction topic (finding 9: floods the loop).
    JunkTxs,
    /// Captured messages with random bytes flipped, cut or appended.
    Mutations,
    /// HTTP: connections that send their headers a byte at a time (finding 10).
    Slowloris,
    /// HTTP: more concurrent requests than the API serves at once (finding 10).
    HttpFlood,
}

impl Attack {
    pub const ALL: [Attack; 11] = [
        Attack::ProposalRoundMax,
        Attack::JunkParts,
        Attack::FutureProposals,
        Attack::Replays,
        Attack::StatusLie,
        Attack::SyncFlood,
        Attack::GappedTxs,
        Attack::JunkTxs,
        Attack::Mutations,
        Attack::Slowloris,
        Attack::HttpFlood,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Attack::ProposalRoundMax => "proposal_round_max",
            Attack::JunkParts => "junk_parts",
            Attack::FutureProposals => "future_proposals",
            Attack::Replays => "replays",
            Attack::StatusLie => "status_lie",
            Attack::SyncFlood => "sync_flood",
            Attack::GappedTxs => "gapped_txs",
            Attack::JunkTxs => "junk_txs",
            Attack::Mutations => "mutations",
            Attack::Slowloris => "slowloris",
            Attack::HttpFlood => "http_flood",
        }
    }

    /// Whether honest nodes may relay what this attack sends (it is valid: a relay is not a failure).
    pub fn may_be_relayed(self) -> bool {
        matches!(self, Attack::GappedTxs)
    }
}

/// A gossip message to publish.
pub struct Gossip {
    pub attack: Attack,
    pub topic: Topic,
    pub data: Vec<u8>,
}

/// Builds attack messages from what the peer heard.
pub struct Forge<'a> {
    pub rng: &'a mut StdRng,
    pub chain_id: &'a str,
    pub part_size: usize,
    /// The current height as heard.
    pub height: u64,
    pub consensus: &'a [Vec<u8>],
    pub parts: &'a [Vec<u8>],
}

impl Forge<'_> {
    fn random_signature(&mut self) -> SignatureBytes {
        let mut bytes = [0u8; 64];
        self.rng.fill(&mut bytes[..]);
        SignatureBytes(bytes)
    }

    fn captured_proposal(&mut self) -> Option<ConsensusEnvelope> {
        let proposals: Vec<ConsensusEnvelope> = self
            .consensus
            .iter()
            .filter_map(|d| wire::decode::<ConsensusEnvelope>(d).ok())
            .filter(|e| matches!(e.message, ConsensusMessage::Proposal(_)))
            .collect();
        (!proposals.is_empty()).then(|| proposals[self.rng.gen_range(0..proposals.len())].clone())
    }

    fn envelope(message: ConsensusMessage, resend: u32) -> Vec<u8> {
        ConsensusEnvelope { resend, message }.encode()
    }

    /// A captured proposal moved to round `u32::MAX` of the current height (its signature no longer verifies).
    pub fn proposal_round_max(&mut self) -> Option<Gossip> {
        let mut envelope = self.captured_proposal()?;
        let ConsensusMessage::Proposal(p) = &mut envelope.message else {
            return None;
        };
        p.proposal.height = cvm_consensus::Height(self.height);
        p.proposal.round = Round(u32::MAX - self.rng.gen_range(0..1000));
        p.signature = self.random_signature();
        Some(Gossip {
            attack: Attack::ProposalRoundMax,
            topic: Topic::Consensus,
            data: Self::envelope(envelope.message, self.rng.r#gen()),
        })
    }

    /// A captured proposal moved 1–3 heights ahead, with a random signature.
    pub fn future_proposal(&mut self) -> Option<Gossip> {
        let mut envelope = self.captured_proposal()?;
        let ConsensusMessage::Proposal(p) = &mut envelope.message else {
            return None;
        };
        p.proposal.height = cvm_consensus::Height(self.height + self.rng.gen_range(1..=3));
        p.proposal.round = Round(self.rng.gen_range(0..4));
        p.signature = self.random_signature();
        Some(Gossip {
            attack: Attack::FutureProposals,
            topic: Topic::Consensus,
            data: Self::envelope(envelope.message, self.rng.r#gen()),
        })
    }

    /// One part with a valid proof from each of `sets` part sets of random bytes, for heights h..h+2.
    pub fn junk_parts(&mut self, sets: usize) -> Vec<Gossip> {
        (0..sets)
            .map(|i| {
                let mut bytes = vec![0u8; self.part_size * 2];
                self.rng.fill(&mut bytes[..]);
                let set = PartSet::from_bytes(&bytes, self.part_size);
                PartMessage {
                    height: self.height + (i % 3) as u64,
                    round: 0,
                    parts: set.header(),
                    part: set.parts()[0].clone(),
                    resend: 0,
                }
            })
            .map(|m| Gossip {
                attack: Attack::JunkParts,
                topic: Topic::ProposalParts,
                data: m.encode(),
            })
            .collect()
    }

    /// A captured consensus message or part re-sent with a fresh `resend` nonce: a new gossip id, the same
    /// signed content.
    pub fn replay(&mut self) -> Option<Gossip> {
        if self.rng.gen_bool(0.5) && !self.consensus.is_empty() {
            let data = &self.consensus[self.rng.gen_range(0..self.consensus.len())];
            let mut envelope = wire::decode::<ConsensusEnvelope>(data).ok()?;
            envelope.resend = self.rng.r#gen();
            Some(Gossip {
                attack: Attack::Replays,
                topic: Topic::Consensus,
                data: envelope.encode(),
            })
        } else if !self.parts.is_empty() {
            let data = &self.parts[self.rng.gen_range(0..self.parts.len())];
            let mut part = wire::decode::<PartMessage>(data).ok()?;
            part.resend = self.rng.r#gen();
            Some(Gossip {
                attack: Attack::Replays,
                topic: Topic::ProposalParts,
                data: part.encode(),
            })
        } else {
            None
        }
    }

    /// A captured message with bytes flipped, cut or appended.
    pub fn mutation(&mut self) -> Option<Gossip> {
        let (topic, pool) = if self.rng.gen_bool(0.5) {
            (Topic::Consensus, self.consensus)
        } else {
            (Topic::ProposalParts, self.parts)
        };
        if pool.is_empty() {
            return None;
        }
        let mut data = pool[self.rng.gen_range(0..pool.len())].clone();
        match self.rng.gen_range(0..4) {
            0 => {
                for _ in 0..self.rng.gen_range(1..4) {
                    let i = self.rng.gen_range(0..data.len());
                    data[i] ^= 1 << self.rng.gen_range(0..8);
                }
            }
            1 => data.truncate(self.rng.gen_range(0..data.len())),
            2 => data.extend((0..self.rng.gen_range(1..64)).map(|_| self.rng.r#gen::<u8>())),
            _ => {
                let i = self.rng.gen_range(0..data.len());
                data[i] = self.rng.r#gen();
            }
        }
        Some(Gossip {
            attack: Attack::Mutations,
            topic,
            data,
        })
    }

    /// A validly signed deploy from a fresh key, `ahead` nonces past the account's next one (nonce 0). A deploy,
    /// because anyone may send one: an ingest from a fresh key is refused at admission (it publishes to no source).
    pub fn gapped_tx(&mut self, ahead: u64) -> Gossip {
        let key = SigningKey::from_bytes(&self.rng.r#gen());
        let tx = Transaction {
            chain_id: self.chain_id.to_owned(),
            signer: key.verifying_key().to_bytes(),
            nonce: ahead,
            payload: TxPayload::Deploy {
                wasm: vec![0u8; 64],
                fuel_limit_per_record: 1,
                sources: Vec::new(),
            },
        }
        .sign(&key);
        Gossip {
            attack: Attack::GappedTxs,
            topic: Topic::Transactions,
            data: tx.encode(),
        }
    }

    /// Random bytes, or a transaction whose signature does not verify.
    pub fn junk_tx(&mut self) -> Gossip {
        let data = if self.rng.gen_bool(0.5) {
            (0..self.rng.gen_range(1..512))
                .map(|_| self.rng.r#gen::<u8>())
                .collect()
        } else {
            let mut tx = self.gapped_tx(0).data;
            let last = tx.len() - 1;
            tx[last] ^= 0x55;
            tx
        };
        Gossip {
            attack: Attack::JunkTxs,
            topic: Topic::Transactions,
            data,
        }
    }
}

/// The sync request of the flood: every block from height 1.
pub fn sync_flood_request() -> SyncRequest {
    SyncRequest::Blocks {
        from: 1,
        max: u32::MAX,
    }
}
