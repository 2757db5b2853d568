//! Shared fixture: four validators of power 1, hand-built signed messages.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use cvm_consensus::*;
use parity_scale_codec::{Decode, Encode};
use sha2::{Digest, Sha256};

/// A value whose id is the hash of its encoding.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct TestValue(pub u64);

impl Value for TestValue {
    fn id(&self) -> ValueId {
        ValueId(Sha256::digest(self.encode()).into())
    }
}

pub const H1: Height = Height(1);

pub fn r(n: u32) -> Round {
    Round(n)
}

pub fn id(v: u64) -> Option<ValueId> {
    Some(TestValue(v).id())
}

pub struct Fixture {
    pub signers: Vec<Arc<Ed25519Signer>>,
    pub set: ValidatorSet,
    pub chain: ChainId,
}

impl Fixture {
    pub fn new(n: u8) -> Self {
        let mut signers: Vec<Arc<Ed25519Signer>> = (0..n)
            .map(|i| Arc::new(Ed25519Signer::from_seed([i + 1; 32])))
            .collect();
        signers.sort_by_key(|s| s.validator_id());
        let set = ValidatorSet::new(signers.iter().map(|s| (s.validator_id(), 1))).unwrap();
        Fixture {
            signers,
            set,
            chain: ChainId::new("test-chain"),
        }
    }

    pub fn config(&self) -> Config {
        Config::new(self.chain.clone())
    }

    pub fn driver(&self, me: usize) -> Driver<TestValue> {
        self.driver_with(me, self.config())
    }

    pub fn driver_with(&self, me: usize, config: Config) -> Driver<TestValue> {
        Driver::new(config, self.signers[me].clone(), Arc::new(Ed25519Verifier))
    }

    /// A started driver for validator `me` at height 1; returns it with the start effects.
    pub fn started(&self, me: usize) -> (Driver<TestValue>, Vec<Effect<TestValue>>) {
        let mut d = self.driver(me);
        let fx = d
            .handle(Input::StartHeight {
                height: H1,
                validators: self.set.clone(),
            })
            .unwrap();
        (d, fx)
    }

    pub fn proposer(&self, round: u32) -> usize {
        self.set.proposer(Round(round)) as usize
    }

    /// A validator that proposes in none of `rounds`.
    pub fn non_proposer(&self, rounds: &[u32]) -> usize {
        (0..self.signers.len())
            .find(|i| rounds.iter().all(|r| self.proposer(*r) != *i))
            .unwrap()
    }

    /// Validators other than `me`, in index order.
    pub fn others(&self, me: usize) -> Vec<usize> {
        (0..self.signers.len()).filter(|i| *i != me).collect()
    }

    pub fn vid(&self, who: usize) -> ValidatorId {
        self.signers[who].validator_id()
    }

    pub fn vote(
        &self,
        who: usize,
        kind: VoteKind,
        round: u32,
        value: Option<ValueId>,
    ) -> SignedVote {
        Vote::new(kind, H1, Round(round), value, self.vid(who))
            .sign(&self.chain, self.signers[who].as_ref())
    }

    pub fn prevote(&self, who: usize, round: u32, value: Option<ValueId>) -> SignedVote {
        self.vote(who, VoteKind::Prevote, round, value)
    }

    pub fn precommit(&self, who: usize, round: u32, value: Option<ValueId>) -> SignedVote {
        self.vote(who, VoteKind::Precommit, round, value)
    }

    pub fn proposal(
        &self,
        round: u32,
        value: u64,
        pol_round: Option<u32>,
    ) -> SignedProposal<TestValue> {
        Proposal {
            height: H1,
            round: Round(round),
            value: TestValue(value),
            pol_round: pol_round.map(Round),
        }
        .sign(&self.chain, self.signers[self.proposer(round)].as_ref())
    }

    pub fn timeout(&self, kind: TimeoutKind, round: u32) -> Timeout {
        Timeout {
            height: H1,
            round: Round(round),
            kind,
        }
    }

    pub fn schedule(&self, kind: TimeoutKind, round: u32) -> Effect<TestValue> {
        Effect::ScheduleTimeout {
            timeout: self.timeout(kind, round),
            duration: TimeoutConfig::default().duration(kind, Round(round)),
        }
    }
}

/// Effects without the WAL records (asserted separately).
pub fn no_wal(effects: Vec<Effect<TestValue>>) -> Vec<Effect<TestValue>> {
    effects
        .into_iter()
        .filter(|e| !matches!(e, Effect::PersistToWal(_)))
        .collect()
}

pub fn feed(d: &mut Driver<TestValue>, input: Input<TestValue>) -> Vec<Effect<TestValue>> {
    no_wal(d.handle(input).unwrap())
}

pub fn feed_all(
    d: &mut Driver<TestValue>,
    inputs: impl IntoIterator<Item = Input<TestValue>>,
) -> Vec<Effect<TestValue>> {
    inputs.into_iter().flat_map(|i| feed(d, i)).collect()
}

pub fn valid(value: u64) -> Input<TestValue> {
    Input::ValidityVerdict {
        height: H1,
        value_id: TestValue(value).id(),
        valid: true,
    }
}

pub fn invalid(value: u64) -> Input<TestValue> {
    Input::ValidityVerdict {
        height: H1,
        value_id: TestValue(value).id(),
        valid: false,
    }
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
