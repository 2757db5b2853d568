//! What crosses the driver's boundary: its [`Config`], the [`Input`]s a host feeds and the
//! [`Effect`]s it executes.

use std::time::Duration;

use crate::certificate::CommitCertificate;
use crate::error::MessageError;
use crate::evidence::DuplicateVoteEvidence;
use crate::messages::{SignedProposal, SignedVote};
use crate::timeouts::{Timeout, TimeoutConfig};
use crate::types::{ChainId, Height, Round, ValueId};
use crate::validator::ValidatorSet;
use crate::wal::WalEntry;

/// Chain identity, timers and the bounds that keep a flood of messages from exhausting memory.
#[derive(Clone, Debug)]
pub struct Config {
    /// Included in every signed message, so signatures cannot be replayed on another chain.
    pub chain_id: ChainId,
    /// Step timers and the block interval.
    pub timeouts: TimeoutConfig,
    /// Messages up to this many heights ahead are buffered; further ones are dropped.
    pub max_future_heights: u64,
    /// Messages more than this many rounds ahead of the current round are dropped.
    pub max_future_rounds: u32,
    /// Cap on buffered future-height messages.
    pub max_buffered_messages: usize,
    /// Distinct proposals kept per round (more than one only from an equivocating proposer).
    pub max_proposals_per_round: usize,
    /// Round 0 of every height waits (after the block interval) for the host's
    /// `Input::BeginRoundZero` (it has work, or its idle interval passed) or for a proposal or
    /// vote of that height from a validator (another validator began). `false`: round 0
    /// starts after the block interval alone.
    pub hold_round_zero: bool,
}

impl Config {
    /// CometBFT's default timers and bounds that hold a few heights of traffic.
    pub fn new(chain_id: ChainId) -> Self {
        Config {
            chain_id,
            timeouts: TimeoutConfig::default(),
            max_future_heights: 2,
            max_future_rounds: 64,
            max_buffered_messages: 10_000,
            max_proposals_per_round: 4,
            hold_round_zero: false,
        }
    }
}

/// What the host tells the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input<V> {
    /// Start `height` with its validator set (priorities of round 0 of this height).
    StartHeight {
        /// Must be above every height started before.
        height: Height,
        /// The validators of `height`.
        validators: ValidatorSet,
    },
    /// A proposal received from the network.
    Proposal(SignedProposal<V>),
    /// A vote received from the network.
    Vote(SignedVote),
    /// Several votes at once, so their signatures can be checked in one batch.
    Votes(Vec<SignedVote>),
    /// A timer asked for by `Effect::ScheduleTimeout` expired.
    TimeoutElapsed(Timeout),
    /// Answer to `Effect::RequestValue`.
    ProposeValue {
        /// Height of the request.
        height: Height,
        /// Round of the request.
        round: Round,
        /// The value to propose.
        value: V,
    },
    /// Answer to `Effect::ValidateValue`.
    ValidityVerdict {
        /// Height of the request.
        height: Height,
        /// Id of the value that was checked.
        value_id: ValueId,
        /// Whether the host accepts the value.
        valid: bool,
    },
    /// Round 0 of `height` may begin (with `Config::hold_round_zero`): the host has work for a
    /// block, or its idle interval passed. Ignored for another height or once round 0 began.
    BeginRoundZero {
        /// The height whose round 0 may begin.
        height: Height,
    },
    /// A value decided by others, with its certificate (catch-up / block sync).
    Commit {
        /// The decided value.
        value: V,
        /// Proof that more than 2/3 of the power precommitted it.
        certificate: CommitCertificate,
    },
}

/// What the driver asks the host to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect<V> {
    /// Append to the WAL; durable before any later broadcast.
    PersistToWal(WalEntry<V>),
    /// Gossip our proposal (already signed through the host's `Signer`).
    BroadcastProposal(SignedProposal<V>),
    /// Gossip our vote (already signed through the host's `Signer`).
    BroadcastVote(SignedVote),
    /// Send `Input::TimeoutElapsed(timeout)` after `duration`.
    ScheduleTimeout {
        /// What to report back.
        timeout: Timeout,
        /// How long to wait.
        duration: Duration,
    },
    /// We propose at (height, round): build a value and answer with `ProposeValue`.
    RequestValue {
        /// Height to build for.
        height: Height,
        /// Round to build for.
        round: Round,
        /// The propose timer: a value arriving later is no longer proposed.
        timeout: Duration,
    },
    /// Check the value and answer with `ValidityVerdict`.
    ValidateValue {
        /// Height the value was proposed at.
        height: Height,
        /// Round the value was proposed in.
        round: Round,
        /// The value to check.
        value: V,
    },
    /// The height is decided: commit `value`, then start the next height.
    Decide {
        /// The decided value.
        value: V,
        /// The precommits that decided it.
        certificate: CommitCertificate,
    },
    /// A validator signed two different votes for one slot.
    ReportEvidence(DuplicateVoteEvidence),
}

/// What the driver made of a proposal or vote (see [`Driver::handle_with_outcome`]): tells
/// the host whether the message is worth relaying.
///
/// [`Driver::handle_with_outcome`]: super::Driver::handle_with_outcome
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// New and valid: used now. Relay it. (Also the outcome of every input that is not a
    /// single proposal or vote.)
    Accepted,
    /// For a height not started yet: kept until it starts. Relay it.
    Buffered,
    /// Seen before, or a further value of an equivocator beyond what is counted: nothing was
    /// done. Ignore it, do not relay.
    Duplicate,
    /// Not used (bad signature, outside the height or round window, no room): do not relay.
    Rejected(MessageError),
}
