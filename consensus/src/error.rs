//! Error types of the crate.

use thiserror::Error;

use crate::types::{Height, Round, ValidatorId, VoteKind};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ValidatorSetError {
    #[error("validator set is empty")]
    Empty,
    #[error("validator {0:?} appears twice")]
    Duplicate(ValidatorId),
    #[error("validator {0:?} has zero voting power")]
    ZeroPower(ValidatorId),
    #[error("total voting power exceeds the maximum")]
    TotalPowerTooLarge,
    #[error("validator {0:?} is not a valid ed25519 public key")]
    BadKey(ValidatorId),
}

/// Why a commit certificate was rejected.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CertificateError {
    #[error("signer index {0} is not in the validator set")]
    UnknownSigner(u32),
    #[error("signer index {0} appears more than once")]
    DuplicateSigner(u32),
    #[error("signature of signer index {0} is invalid")]
    InvalidSignature(u32),
    #[error("signers hold {signed} of {total} voting power, not more than 2/3")]
    InsufficientPower { signed: u64, total: u64 },
    #[error("certificate is for height {found:?}, expected {expected:?}")]
    WrongHeight { expected: Height, found: Height },
}

/// Why duplicate-vote evidence was rejected.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EvidenceError {
    #[error("the two votes are from different validators")]
    DifferentValidators,
    #[error("the two votes are for different (height, round, kind)")]
    DifferentSlots,
    #[error("the two votes are for the same value")]
    SameValue,
    #[error("validator {0:?} is not in the validator set")]
    UnknownValidator(ValidatorId),
    #[error("a signature is invalid")]
    InvalidSignature,
}

/// Why an incoming message was not used by the driver. Not fatal: the driver logs and drops.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MessageError {
    #[error("message for past height {0:?}")]
    PastHeight(Height),
    #[error("message for height {0:?} too far ahead")]
    TooFarAhead(Height),
    #[error("message for round {0:?} too far ahead")]
    RoundTooFarAhead(Round),
    #[error("sender {0:?} is not a validator at this height")]
    UnknownValidator(ValidatorId),
    #[error("proposal not signed by the proposer of round {0:?}")]
    WrongProposer(Round),
    #[error("proposal of round {round:?} carries valid round {pol_round:?}, not below it")]
    InvalidPolRound { round: Round, pol_round: Round },
    #[error("invalid signature on {0}")]
    InvalidSignature(&'static str),
    #[error("duplicate {0:?}")]
    Duplicate(VoteKind),
    #[error("future-message buffer is full")]
    BufferFull,
}

/// Driver input that cannot be applied.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DriverError {
    #[error("cannot start height {requested:?}: current height is {current:?}")]
    HeightNotIncreasing { current: Height, requested: Height },
    #[error("WAL replay: {0}")]
    Replay(String),
}

/// WAL errors. A corrupt record in the middle of the log is never skipped silently.
#[derive(Debug, Error)]
pub enum WalError {
    #[error("WAL I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("WAL corrupt at byte offset {offset}: {reason}")]
    Corrupt { offset: u64, reason: String },
    #[error("WAL record at byte offset {offset} does not decode: {source}")]
    Decode {
        offset: u64,
        source: parity_scale_codec::Error,
    },
}
