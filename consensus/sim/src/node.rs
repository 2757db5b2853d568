//! One simulated validator: its driver, WAL and block store, and what its Byzantine
//! behaviour needs to remember.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cvm_consensus::{
    CommitCertificate, Config, Driver, DriverError, Ed25519Signer, Effect, Height, Input,
    SignatureVerifier, SignedMessage, ValidatorId, ValidatorSet, Value,
};

use crate::amnesia::{self, Memory};
use crate::byzantine::Behaviour;
use crate::durable::DurableWal;
use crate::value::SimValue;

pub(crate) struct Node {
    pub(crate) behaviour: Behaviour,
    pub(crate) signer: Arc<Ed25519Signer>,
    verifier: Arc<dyn SignatureVerifier>,
    config: Config,
    pub(crate) driver: Driver<SimValue>,
    pub(crate) wal: DurableWal,
    /// Crash after part of the next effect list.
    pub(crate) crash_armed: bool,
    /// Consecutive decisions taken by block sync, and the longest such streak.
    pub(crate) sync_streak: u64,
    pub(crate) max_sync_streak: u64,
    /// How long after a value's proposal this node's host starts accepting it (its clock
    /// lags: a fresh block's time looks like the future).
    pub(crate) verdict_lag_ms: u64,
    /// Values its driver asked the host to validate at this height.
    pub(crate) asked: BTreeSet<cvm_consensus::ValueId>,
    /// The host's block store: survives crashes.
    pub(crate) decided: BTreeMap<Height, (SimValue, CommitCertificate)>,
    /// `sets[h]`: the validator set of height `h`, as this node computed it (two heights
    /// beyond its last decision); kept with the block store.
    pub(crate) sets: Vec<ValidatorSet>,
    pub(crate) incarnation: u32,
    pub(crate) down: bool,
    pub(crate) sync_asked: BTreeSet<(usize, Height)>,
    /// Replayer: messages seen so far (bounded).
    pub(crate) seen: Vec<SignedMessage<SimValue>>,
    /// Amnesia: what it heard, to be fed again when it forgets.
    memory: Memory,
}

impl Node {
    pub(crate) fn new(
        behaviour: Behaviour,
        signer: Arc<Ed25519Signer>,
        verifier: Arc<dyn SignatureVerifier>,
        config: Config,
    ) -> Self {
        Node {
            behaviour,
            driver: Driver::new(config.clone(), signer.clone(), verifier.clone()),
            signer,
            verifier,
            config,
            wal: DurableWal::default(),
            crash_armed: false,
            sync_streak: 0,
            max_sync_streak: 0,
            verdict_lag_ms: 0,
            asked: BTreeSet::new(),
            decided: BTreeMap::new(),
            sets: Vec::new(),
            incarnation: 0,
            down: false,
            sync_asked: BTreeSet::new(),
            seen: Vec::new(),
            memory: Memory::default(),
        }
    }

    /// A driver with this node's key, verifier and configuration, and no state.
    fn fresh_driver(&self) -> Driver<SimValue> {
        Driver::new(
            self.config.clone(),
            self.signer.clone(),
            self.verifier.clone(),
        )
    }

    /// Feeds `input` to the driver. An amnesiac that would carry a lock into a later round
    /// forgets everything instead, and acts on what its fresh driver does.
    pub(crate) fn handle(
        &mut self,
        input: Input<SimValue>,
    ) -> Result<Vec<Effect<SimValue>>, DriverError> {
        if self.behaviour != Behaviour::Amnesia {
            return self.driver.handle(input);
        }
        self.memory.hear(&input);
        let mut effects = self.driver.handle(input)?;
        if amnesia::holds_earlier_lock(&self.driver) {
            let (driver, rejoined) = self.memory.rejoin(&self.driver, self.fresh_driver())?;
            self.driver = driver;
            effects = rejoined;
        }
        self.memory.said(&effects);
        Ok(effects)
    }

    /// Rebuilds a crashed node from its WAL bytes and its block store: replays the WAL, or,
    /// if it crashed between heights, starts the height after its last commit (nothing to do
    /// past `last_height`). `sets[h]` is the validator set of height `h`; `index` names the
    /// node in errors.
    pub(crate) fn restart(
        &mut self,
        index: usize,
        sets: &[ValidatorSet],
        last_height: u64,
    ) -> Result<Vec<Effect<SimValue>>, String> {
        let entries = self
            .wal
            .recover()
            .map_err(|e| format!("WAL unreadable: {e}"))?;
        self.down = false;
        self.driver = self.fresh_driver();
        let effects = if entries.is_empty() {
            let next = self.decided.keys().last().map_or(Height(1), |h| h.next());
            if next.0 > last_height {
                return Ok(Vec::new());
            }
            let validators = sets[next.0 as usize].clone();
            self.driver.handle(Input::StartHeight {
                height: next,
                validators,
            })
        } else {
            self.driver.replay(entries)
        };
        effects.map_err(|e| format!("restart of node {index}: {e}"))
    }

    /// Whether `id` is in this node's validator set of `height`.
    pub(crate) fn is_member(&self, height: Height, id: &ValidatorId) -> bool {
        self.sets
            .get(height.0 as usize)
            .is_some_and(|s| s.index_of(id).is_some())
    }

    /// One line on where the node is, for liveness failures.
    pub(crate) fn describe(&self, index: usize) -> String {
        let st = self.driver.round_state();
        format!(
            "n{index}:{:?}@h{}r{}{:?} locked={:?}/{:?} valid={:?}/{:?}",
            self.behaviour,
            self.driver.height().0,
            self.driver.round().0,
            self.driver.step(),
            st.locked_round.map(|r| r.0),
            st.locked_value,
            st.valid_round.map(|r| r.0),
            st.valid_value.as_ref().map(|v| v.id()),
        )
    }
}

#[cfg(test)]
mod tests {
    use cvm_consensus::{
        ChainId, Ed25519Verifier, Proposal, Round, SignedVote, Signer, Timeout, TimeoutKind,
        ValueId, Vote, VoteKind,
    };

    use super::*;

    const H: Height = Height(1);

    fn value(nonce: u64) -> SimValue {
        SimValue {
            height: 1,
            round: 0,
            proposer: 0,
            nonce,
            valid: true,
        }
    }

    /// Locks on `a` in round 0, then sees `b` proposed in round 1: returns what the node
    /// broadcast.
    fn locked_then_offered_another(behaviour: Behaviour) -> Vec<SignedVote> {
        let signers: Vec<Arc<Ed25519Signer>> = (1..=4u8)
            .map(|i| Arc::new(Ed25519Signer::from_seed([i; 32])))
            .collect();
        let set = ValidatorSet::new(signers.iter().map(|s| (s.validator_id(), 1))).unwrap();
        let chain = ChainId::new("amnesia");
        let by_id = |id| signers.iter().find(|s| s.validator_id() == id).unwrap();
        let proposers = [set.proposer_id(Round(0)), set.proposer_id(Round(1))];
        let me = signers
            .iter()
            .find(|s| !proposers.contains(&s.validator_id()))
            .unwrap();
        let mut node = Node::new(
            behaviour,
            me.clone(),
            Arc::new(Ed25519Verifier),
            Config::new(chain.clone()),
        );
        let (a, b) = (value(1), value(2));
        let propose = |round: u32, v: &SimValue| {
            let p = Proposal {
                height: H,
                round: Round(round),
                value: v.clone(),
                pol_round: None,
            };
            Input::Proposal(p.sign(&chain, by_id(proposers[round as usize]).as_ref()))
        };
        let verdict = |v: &SimValue| Input::ValidityVerdict {
            height: H,
            value_id: v.id(),
            valid: true,
        };
        let mut inputs = vec![
            Input::StartHeight {
                height: H,
                validators: set.clone(),
            },
            propose(0, &a),
            verdict(&a),
        ];
        for s in signers
            .iter()
            .filter(|s| s.validator_id() != me.validator_id())
        {
            let v = Vote::new(
                VoteKind::Prevote,
                H,
                Round(0),
                Some(a.id()),
                s.validator_id(),
            );
            inputs.push(Input::Vote(v.sign(&chain, s.as_ref())));
        }
        // The precommit timer of round 0 moves it to round 1 still locked on `a`.
        inputs.push(Input::TimeoutElapsed(Timeout {
            height: H,
            round: Round(0),
            kind: TimeoutKind::Precommit,
        }));
        inputs.extend([propose(1, &b), verdict(&b)]);
        let mut sent = Vec::new();
        for input in inputs {
            for effect in node.handle(input).unwrap() {
                if let Effect::BroadcastVote(v) = effect {
                    sent.push(v);
                }
            }
        }
        let st = node.driver.round_state();
        assert_eq!((node.driver.round(), st.decision.clone()), (Round(1), None));
        sent
    }

    fn prevote_of_round_1(sent: &[SignedVote]) -> Option<Option<ValueId>> {
        sent.iter()
            .find(|v| v.vote.kind == VoteKind::Prevote && v.vote.round == Round(1))
            .map(|v| v.vote.value)
    }

    #[test]
    fn a_correct_validator_keeps_its_lock() {
        let sent = locked_then_offered_another(Behaviour::Correct);
        assert_eq!(prevote_of_round_1(&sent), Some(None));
    }

    #[test]
    fn an_amnesiac_forgets_its_lock_without_signing_twice() {
        let sent = locked_then_offered_another(Behaviour::Amnesia);
        let locked_on_a = sent.iter().any(|v| {
            v.vote.kind == VoteKind::Precommit && v.vote.round == Round(0) && v.vote.value.is_some()
        });
        assert!(locked_on_a, "it precommitted (locked) in round 0: {sent:?}");
        assert_eq!(prevote_of_round_1(&sent), Some(Some(value(2).id())));
        let mut slots: Vec<_> = sent.iter().map(|v| (v.vote.round, v.vote.kind)).collect();
        slots.sort();
        slots.dedup();
        assert_eq!(slots.len(), sent.len(), "one vote per slot: {sent:?}");
    }
}
