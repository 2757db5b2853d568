//! Typed schemas of the standard sources. A source id names the record type its records decode
//! to (SCALE): [`ETHEREUM_LOGS`] carries [`EthLog`], [`KV`] carries [`KvRecord`].
//! With the `json` feature, [`json`] turns the usual JSON shapes into these records.

mod eth;
#[cfg(feature = "json")]
pub mod json;
mod kv;

pub use eth::{
    Address, EthLog, Hash32, TRANSFER_TOPIC, ZERO_ADDRESS, address_topic, topic_to_address,
};
pub use kv::KvRecord;

/// Source id of Ethereum logs ([`EthLog`] records).
pub const ETHEREUM_LOGS: &str = "ethereum.logs";
/// Source id of generic key/value records ([`KvRecord`]).
pub const KV: &str = "kv";
