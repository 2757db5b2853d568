//! The adversary peer: a libp2p node with no validator key that joins a running 4-validator network through one
//! validator and sends every gossip, sync and HTTP attack of the hardening issue, plus random mutations of real
//! captured messages, in attack windows alternating with quiet ones.
//!
//! The run measures what an operator would: heights per second in quiet and attack windows of the same run,
//! every validator's resident memory, forks, lost blocks and double signs afterwards, and whether anything the
//! adversary sent travelled beyond one hop (an observer peer, connected to the same validator as the adversary
//! and to no other, sees exactly what that validator relayed) unless it was valid.

pub mod attacks;
mod gossip_attacker;
pub mod http;
pub mod peer;
mod priority;
pub mod relay;
mod report;
mod run;
pub mod sent;
mod watch;

pub use priority::lower_priority;
pub use report::{AdversaryConfig, AdversaryReport};
pub use run::adversary_run;
