//! What the chain is made of, independent of how it is stored or gossiped: blocks and their parts, genesis, the
//! node's configuration and keys, and which validator set signs which height.

pub mod block;
pub mod body;
pub mod config;
pub mod genesis;
pub mod keys;
pub mod light_block;
pub mod parts;
pub mod source_commitment;
pub mod source_json;
pub mod validator_schedule;

pub use block::{Block, BlockHash, BlockHeader, block_time_ok};
pub use body::{BlockBody, offence_of};
pub use config::NodeConfig;
pub use genesis::{Genesis, GenesisValidator};
pub use keys::{AccountKey, NodeKey, ValidatorKey};
pub use light_block::LightBlock;
pub use parts::{Part, PartError, PartSet, PartSetBuilder, PartSetHeader};
pub use source_commitment::SourceCommitment;
pub use validator_schedule::{ValidatorSchedule, membership_hash};
