//! Tendermint BFT consensus engine for the CVM chain.
//!
//! Validators agree on one value per [`Height`] (a block, so a state root) with instant
//! finality while less than a third of the voting power is faulty, Byzantine included. The
//! engine implements Algorithm 1 of "The latest gossip on BFT consensus" (Buchman, Kwon,
//! Milosevic) as a pure core: inputs in, effects out; no threads, sockets, clock or disk.
//!
//! Main types:
//! - [`Driver`]: the host-facing engine. Takes [`Input`]s (start height, signed proposal or
//!   vote, timeout elapsed, value from the host, validity verdict, commit from others) and
//!   returns [`Effect`]s (persist to WAL, broadcast, schedule timeout, request or validate a
//!   value, decide with a [`CommitCertificate`], report evidence). See [`driver`] for the
//!   contract a host must follow, notably: WAL records are durable before any later
//!   broadcast in the same effect list.
//! - [`RoundState`]: the paper's state machine; each `upon` rule is one named transition.
//! - [`VoteKeeper`]: tallies votes by power per (round, kind), detects equivocation and
//!   yields [`DuplicateVoteEvidence`].
//! - [`ValidatorSet`]: ed25519 keys and power, with CometBFT's weighted round-robin
//!   proposer selection.
//! - [`Proposal`], [`Vote`] and their signed forms; signed bytes include the [`ChainId`].
//! - [`CommitCertificate`]: >2/3 of the power precommitting one value id, verifiable alone.
//! - [`wal`]: length + CRC framed records, torn-tail tolerant, with a file-backed [`FileWal`].
//!
//! The engine is generic over the [`Value`] it decides and never looks inside it. Its
//! network simulation with Byzantine validators is the separate crate `cvm-consensus-sim`.
//!
//! Modules, each using only those listed before it:
//! - [`types`]: heights, rounds, steps, ids and the [`Value`] trait;
//! - [`error`]: the error types;
//! - [`crypto`]: the [`Signer`] and [`SignatureVerifier`] seams and their ed25519 versions;
//! - [`validator`]: validator sets and proposer selection;
//! - [`validator_update`]: validator-set changes (CometBFT's `UpdateWithChangeSet`);
//! - [`messages`]: proposals and votes, their sign bytes and signatures;
//! - [`certificate`]: commit certificates; [`evidence`]: duplicate-vote evidence;
//! - [`vote_keeper`]: the vote tally;
//! - [`state_machine`]: the round state and the rules' transitions;
//! - [`timeouts`]: timers and their durations;
//! - [`wal`]: the write-ahead log;
//! - [`driver`]: the host-facing engine over all of the above.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::unwrap_used)]

pub mod certificate;
pub mod crypto;
pub mod driver;
pub mod error;
pub mod evidence;
pub mod messages;
pub mod state_machine;
pub mod timeouts;
pub mod types;
pub mod validator;
pub mod validator_update;
pub mod vote_keeper;
pub mod wal;

pub use certificate::{CommitCertificate, CommitSig, TrustLevel};
pub use crypto::{
    CachingVerifier, Ed25519Signer, Ed25519Verifier, SignatureBytes, SignatureVerifier, Signer,
    VerifyItem,
};
pub use driver::{Admission, Config, Driver, Effect, Input};
pub use error::{
    CertificateError, DriverError, EvidenceError, MessageError, ValidatorSetError, WalError,
};
pub use evidence::DuplicateVoteEvidence;
pub use messages::{Proposal, SignedMessage, SignedProposal, SignedVote, Vote};
pub use state_machine::{RoundState, TimeoutKind};
pub use timeouts::{Timeout, TimeoutConfig};
pub use types::{ChainId, Height, Round, Step, ValidatorId, Value, ValueId, VoteKind};
pub use validator::{Validator, ValidatorIndex, ValidatorSet};
pub use validator_update::ValidatorUpdate;
pub use vote_keeper::{AddVote, Tally, VoteKeeper};
pub use wal::{FileWal, MemWal, Wal, WalEntry};
