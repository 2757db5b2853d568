//! One simulated validator: its driver, WAL and block store, and what its Byzantine
//! behaviour needs to remember.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cvm_consensus::wal::{MemWal, decode_entries};
use cvm_consensus::{
    CommitCertificate, Config, Driver, DriverError, Ed25519Signer, Effect, Height, Input,
    SignatureVerifier, SignedMessage, ValidatorSet, Value,
};

use crate::amnesia::{self, Memory};
use crate::byzantine::Behaviour;
use crate::value::SimValue;

pub(crate) struct Node {
    pub(crate) behaviour: Behaviour,
    pub(crate) signer: Arc<Ed25519Signer>,
    verifier: Arc<dyn SignatureVerifier>,
    config: Config,
    pub(crate) driver: Driver<SimValue>,
    pub(crate) wal: MemWal,
    /// The host's block store: survives crashes.
    pub(crate) decided: BTreeMap<Height, (SimValue, CommitCertificate)>,
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
            wal: MemWal::default(),
            decided: BTreeMap::new(),
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
        let (entries, _) = decode_entries::<SimValue>(&self.wal.bytes)
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
