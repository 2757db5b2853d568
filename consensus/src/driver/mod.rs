//! The driver: the engine's only interface to a host.
//!
//! The host feeds [`Input`]s and executes the returned [`Effect`]s **in order**. The driver
//! verifies signatures (through the host's [`SignatureVerifier`]), tallies votes, buffers
//! messages for the near future, evaluates the `upon` rules of Algorithm 1 against its
//! stores and runs the pure [`RoundState`] transitions. It does no I/O and reads no clock.
//!
//! Contract for the host:
//! - No signed message may leave unless its WAL record is durable. Every effect list puts
//!   the `PersistToWal` of a message we signed before its `Broadcast*` (a re-broadcast's
//!   record is in an earlier list, or in the WAL being replayed); every `PersistToWal`
//!   record must be durable (appended and fsynced) before any later `Broadcast*` effect of
//!   the same list is executed. Records can be written without fsync and synced once before
//!   the first broadcast that follows them. If a WAL append or sync fails, the host must
//!   drop the rest of the effect list (and stop signing until the WAL works again).
//! - Relay a proposal or vote only if [`Driver::handle_with_outcome`] says
//!   [`Admission::Accepted`] or [`Admission::Buffered`]: duplicates (including an
//!   equivocator's votes beyond what is counted) and rejected messages must not be relayed.
//! - Proposals for a later height are kept without a signature check (the proposer of that
//!   height is not known before its validator set is): the host passes them in only after
//!   checking them against that height's proposer, or drops them. Votes for a later height
//!   take room only if signed by a member of the current set.
//! - Check the height and round windows before computing anything from a message's round
//!   (a proposer for round `u32::MAX` is refused by the driver before any lookup).
//! - After a crash, reopen the WAL and call [`Driver::replay`] with its entries before
//!   feeding new inputs; execute the effects it returns (all idempotent).
//! - `ScheduleTimeout` asks for `Input::TimeoutElapsed` after the duration; stale timeouts
//!   are harmless. `RequestValue` is answered by `Input::ProposeValue`, `ValidateValue` by
//!   `Input::ValidityVerdict`. After `Decide`, commit the value and send `StartHeight` for
//!   the next height.
//!
//! Layout, each part using only the ones before it:
//! - `io`: [`Config`], [`Input`], [`Effect`];
//! - `slots`: the sign-once slots; `future`: the buffer of future-height messages;
//!   `validity`: the host's verdicts and the rounds they hold for;
//! - this module: the [`Driver`]'s state and read-only accessors;
//! - `effects`: running a transition and turning its outputs into effects (signing included);
//! - `rules`: the `upon` conditions of Algorithm 1, one function per rule;
//! - `gossip`: proposals and votes from the network; `handlers`: [`Driver::handle`] and the
//!   host's other inputs; `replay`: [`Driver::replay`] after a restart.

mod effects;
mod future;
mod gossip;
mod handlers;
mod io;
mod replay;
mod rules;
mod slots;
mod validity;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::crypto::{SignatureVerifier, Signer};
use crate::messages::{SignedMessage, SignedProposal};
use crate::state_machine::RoundState;
use crate::types::{Height, Round, Step, ValidatorId, Value};
use crate::validator::{ValidatorIndex, ValidatorSet};
use crate::vote_keeper::VoteKeeper;

use self::future::FutureBuffer;
pub use self::io::{Admission, Config, Effect, Input};
use self::slots::Slot;
use self::validity::Validity;

/// One validator's consensus engine for a sequence of heights (see the module docs for the
/// host's contract).
pub struct Driver<V: Value> {
    config: Config,
    signer: Arc<dyn Signer>,
    verifier: Arc<dyn SignatureVerifier>,
    my_id: ValidatorId,

    height: Height,
    /// Whether `StartHeight` for `height` was received.
    height_known: bool,
    validators: Option<ValidatorSet>,
    my_index: Option<ValidatorIndex>,
    state: RoundState<V>,
    keeper: Option<VoteKeeper>,
    /// Proposals per round, in order of arrival.
    proposals: BTreeMap<Round, Vec<SignedProposal<V>>>,
    validity: Validity,
    proposer_cache: BTreeMap<Round, ValidatorIndex>,
    /// Everything we signed at this height: never sign a second, different message for a
    /// (height, round, slot).
    signed: BTreeMap<Slot, SignedMessage<V>>,
    future: FutureBuffer<V>,
    decided_heights: u64,
    /// Round 0 of this height waits for a begin (`Config::hold_round_zero`): the host's
    /// `Input::BeginRoundZero`, or a proposal or vote of this height.
    awaiting_begin: bool,
    /// Round 0 of this height waits for the block interval's `NewHeight` timer.
    pausing: bool,
    replaying: bool,
    /// While replaying: the slots whose `Signed` record is in the WAL being replayed.
    durable_signed: BTreeSet<Slot>,
    effects: Vec<Effect<V>>,
}

impl<V: Value> Driver<V> {
    /// A driver that has not started a height yet; messages it receives before the first
    /// `Input::StartHeight` are refused (there is no validator set to check them against).
    pub fn new(
        config: Config,
        signer: Arc<dyn Signer>,
        verifier: Arc<dyn SignatureVerifier>,
    ) -> Self {
        let my_id = signer.validator_id();
        Driver {
            config,
            signer,
            verifier,
            my_id,
            height: Height(0),
            height_known: false,
            validators: None,
            my_index: None,
            state: RoundState::new(Height(0)),
            keeper: None,
            proposals: BTreeMap::new(),
            validity: Validity::default(),
            proposer_cache: BTreeMap::new(),
            signed: BTreeMap::new(),
            future: FutureBuffer::new(),
            decided_heights: 0,
            awaiting_begin: false,
            pausing: false,
            replaying: false,
            durable_signed: BTreeSet::new(),
            effects: Vec::new(),
        }
    }

    /// The current height (0 before the first `StartHeight`).
    pub fn height(&self) -> Height {
        self.height
    }

    /// The current round of the current height.
    pub fn round(&self) -> Round {
        self.state.round
    }

    /// The current step of the current round.
    pub fn step(&self) -> Step {
        self.state.step
    }

    /// The round state (locked/valid value and round, decision).
    pub fn round_state(&self) -> &RoundState<V> {
        &self.state
    }

    /// The validators of the current height, once it started.
    pub fn validators(&self) -> Option<&ValidatorSet> {
        self.validators.as_ref()
    }

    /// The votes of the current height, once it started.
    pub fn vote_keeper(&self) -> Option<&VoteKeeper> {
        self.keeper.as_ref()
    }

    /// The configuration the driver was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether round 0 of the current height is held until it begins (see
    /// `Config::hold_round_zero`): the host then sends `Input::BeginRoundZero` once it has
    /// work or its idle interval passed.
    pub fn awaiting_begin(&self) -> bool {
        self.height_known && self.state.step == Step::NewHeight && self.awaiting_begin
    }

    /// Number of messages waiting for a future height.
    pub fn buffered_messages(&self) -> usize {
        self.future.len()
    }
}
