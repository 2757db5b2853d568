//! Error types of the crate.

use thiserror::Error;

use crate::types::{Height, Round, ValidatorId, VoteKind};

/// Why a validator set was rejected.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ValidatorSetError {
    /// No validators.
    #[error("validator set is empty")]
    Empty,
    /// A validator listed twice.
    #[error("validator {0:?} appears twice")]
    Duplicate(ValidatorId),
    /// A validator without voting power.
    #[error("validator {0:?} has zero voting power")]
    ZeroPower(ValidatorId),
    /// The powers add up past `MAX_TOTAL_VOTING_POWER`.
    #[error("total voting power exceeds the maximum")]
    TotalPowerTooLarge,
    /// An id that is not an ed25519 public key.
    #[error("validator {0:?} is not a valid ed25519 public key")]
    BadKey(ValidatorId),
    /// A change set naming one validator twice.
    #[error("change set names validator {0:?} more than once")]
    DuplicateChange(ValidatorId),
    /// A change whose power alone is above `MAX_TOTAL_VOTING_POWER`.
    #[error("change gives validator {id:?} power {power}, above the maximum total")]
    ChangePowerTooLarge {
        /// The validator changed.
        id: ValidatorId,
        /// The power asked for.
        power: u64,
    },
    /// A removal (power 0) of a validator that is not in the set.
    #[error("change removes validator {0:?}, which is not in the set")]
    RemovesNonMember(ValidatorId),
    /// A change set that would leave no validator.
    #[error("change set would leave the validator set empty")]
    ChangeEmptiesSet,
}

/// Why a commit certificate was rejected.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CertificateError {
    /// A signer index outside the set.
    #[error("signer index {0} is not in the validator set")]
    UnknownSigner(u32),
    /// A signer listed twice.
    #[error("signer index {0} appears more than once")]
    DuplicateSigner(u32),
    /// A signature that does not verify.
    #[error("signature of signer index {0} is invalid")]
    InvalidSignature(u32),
    /// Not more than 2/3 of the power signed.
    #[error("signers hold {signed} of {total} voting power, not more than 2/3")]
    InsufficientPower {
        /// Power of the valid signers.
        signed: u64,
        /// Power of the whole set.
        total: u64,
    },
    /// Signers trusted by the light client hold no more than the trust level of its set.
    #[error(
        "trusted signers hold {signed} of {total} trusted voting power, not more than {numerator}/{denominator}"
    )]
    InsufficientTrustedPower {
        /// Power, in the trusted set, of the signers that are members of it.
        signed: u64,
        /// Power of the whole trusted set.
        total: u64,
        /// The trust level's numerator.
        numerator: u64,
        /// The trust level's denominator.
        denominator: u64,
    },
    /// A trust level outside [1/3, 1] (or with a zero denominator).
    #[error("trust level {numerator}/{denominator} is not within [1/3, 1]")]
    InvalidTrustLevel {
        /// Its numerator.
        numerator: u64,
        /// Its denominator.
        denominator: u64,
    },
    /// A certificate for another height.
    #[error("certificate is for height {found:?}, expected {expected:?}")]
    WrongHeight {
        /// The height asked for.
        expected: Height,
        /// The certificate's height.
        found: Height,
    },
}

/// Why duplicate-vote evidence was rejected.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum EvidenceError {
    /// The votes are by two validators.
    #[error("the two votes are from different validators")]
    DifferentValidators,
    /// The votes are for two slots.
    #[error("the two votes are for different (height, round, kind)")]
    DifferentSlots,
    /// The votes agree: no equivocation.
    #[error("the two votes are for the same value")]
    SameValue,
    /// The signer is not in the set.
    #[error("validator {0:?} is not in the validator set")]
    UnknownValidator(ValidatorId),
    /// A signature does not verify.
    #[error("a signature is invalid")]
    InvalidSignature,
}

/// Why an incoming message was not used by the driver. Not fatal: the driver logs and drops.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum MessageError {
    /// For a height already finished.
    #[error("message for past height {0:?}")]
    PastHeight(Height),
    /// For a height beyond `max_future_heights`.
    #[error("message for height {0:?} too far ahead")]
    TooFarAhead(Height),
    /// For a round beyond `max_future_rounds`.
    #[error("message for round {0:?} too far ahead")]
    RoundTooFarAhead(Round),
    /// The signer is not in the set.
    #[error("sender {0:?} is not a validator at this height")]
    UnknownValidator(ValidatorId),
    /// Forged, or signed by someone other than the round's proposer.
    #[error("proposal not signed by the proposer of round {0:?}")]
    WrongProposer(Round),
    /// A valid round that is not below the proposal's round.
    #[error("proposal of round {round:?} carries valid round {pol_round:?}, not below it")]
    InvalidPolRound {
        /// The proposal's round.
        round: Round,
        /// Its valid round.
        pol_round: Round,
    },
    /// A signature that does not verify (of the named kind of message).
    #[error("invalid signature on {0}")]
    InvalidSignature(&'static str),
    /// A vote already counted.
    #[error("duplicate {0:?}")]
    Duplicate(VoteKind),
    /// Before the first height started: no validator set to check the signer against.
    #[error("no height started yet")]
    NotStarted,
    /// The future-message buffer (the sender's share of it) or a round's proposal store is
    /// full.
    #[error("future-message buffer is full")]
    BufferFull,
}

/// Driver input that cannot be applied.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DriverError {
    /// `StartHeight` for a height not above the current one.
    #[error("cannot start height {requested:?}: current height is {current:?}")]
    HeightNotIncreasing {
        /// The height the driver is at.
        current: Height,
        /// The height asked for.
        requested: Height,
    },
    /// The WAL contradicts what replaying it produced.
    #[error("WAL replay: {0}")]
    Replay(String),
}

/// WAL errors. A corrupt record in the middle of the log is never skipped silently.
#[derive(Debug, Error)]
pub enum WalError {
    /// Reading or writing the file failed.
    #[error("WAL I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A damaged record before the tail.
    #[error("WAL corrupt at byte offset {offset}: {reason}")]
    Corrupt {
        /// Where the record starts.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A record whose payload is not a valid entry.
    #[error("WAL record at byte offset {offset} does not decode: {source}")]
    Decode {
        /// Where the record starts.
        offset: u64,
        /// The decoder's complaint.
        source: parity_scale_codec::Error,
    },
}
