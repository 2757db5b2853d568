//! Deterministic, seeded simulation of the consensus engine (`cvm-consensus`): N validators
//! run real [`Driver`](cvm_consensus::Driver)s with real ed25519 signatures over a
//! simulated network with partial synchrony, some of them Byzantine, while safety and
//! liveness are checked.
//!
//! Main items:
//! - [`run`] a [`SimConfig`] (validators' [`Behaviour`]s, [`NetworkModel`], timers,
//!   [`Verification`]) to a [`SimReport`], or a [`SimFailure`] with the command that
//!   replays it; [`SimConfig::named`] gives the built-in Byzantine mixes for N = 4 and 7.
//! - [`Invariants`]: agreement, validity, no equivocation by a correct validator, valid
//!   certificates, and evidence only against Byzantine validators.
//! - [`byzantine`]: equivocating proposer, double voter, silent, amnesia, replayer and
//!   colluders backing two values; the amnesiac forgets by being rebuilt as a fresh driver
//!   from what it had heard.
//! - [`Adversity`]: unequal voting power, crashes at arbitrary points that lose part of an
//!   unsynced WAL tail, hosts whose verdicts drift with time, and the bound on decisions a
//!   node may take by block sync alone.
//! - [`SetChanges`]: validator-set changes decided by the application at random heights,
//!   applied two heights later (CometBFT's semantics) by every node.
//! - [`AcceptAllVerifier`]: no signature checks, for benchmarks that measure their cost.
//!
//! Modules, each using only those listed before it: `value` ([`SimValue`]), `byzantine`,
//! `network` (events and delivery), `host` (timers and host answers as inputs),
//! `invariants`, `config`, `verifier`, `report`, `amnesia`, `durable` (a WAL that loses
//! its unsynced tail), `application` (the validator-set changes the application decides),
//! `node` (one validator), `simulation` (the event loop, with
//! `execute` for effects and crashes and `collusion` for colluders).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::unwrap_used)]

mod amnesia;
mod application;
pub mod byzantine;
mod config;
mod durable;
mod host;
pub mod invariants;
pub mod network;
mod node;
mod report;
mod simulation;
pub mod value;
mod verifier;

pub use byzantine::Behaviour;
pub use config::{Adversity, MAX_SYNC_STREAK, SetChanges, SimConfig, Verification};
pub use invariants::Invariants;
pub use network::{Event, EventQueue, NetMsg, NetworkModel};
pub use report::{SimFailure, SimReport};
pub use simulation::run;
pub use value::SimValue;
pub use verifier::AcceptAllVerifier;
