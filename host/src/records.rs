//! Input files to source records: JSON (Lines or array) parsed with the SDK's schemas and SCALE-encoded, the
//! exact bytes an `Ingest` transaction carries.

use std::path::Path;

use anyhow::{Context, bail};
use manuscript_sdk::sources::json::read_jsonl_or_array;
use manuscript_sdk::{EthLog, KvRecord};
use parity_scale_codec::Encode;

/// The record schema of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Schema {
    /// `eth-log` for `ethereum.*` sources, `kv` otherwise.
    Auto,
    /// An Ethereum log in the JSON shape of `eth_getLogs`.
    EthLog,
    /// `{"key": string, "value": string or any JSON}`.
    Kv,
}

impl Schema {
    /// `Auto` settled for `source`; other schemas unchanged.
    pub fn resolve(self, source: &str) -> Schema {
        match self {
            Schema::Auto if source.starts_with("ethereum.") => Schema::EthLog,
            Schema::Auto => Schema::Kv,
            other => other,
        }
    }
}

/// Reads `path` and encodes every record with `schema` (resolved for `source`).
pub fn read_records(path: &Path, source: &str, schema: Schema) -> anyhow::Result<Vec<Vec<u8>>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the input file {}", path.display()))?;
    encode_records(&text, source, schema).with_context(|| format!("in {}", path.display()))
}

/// Encodes each record of JSON Lines or a JSON array `text` with `schema` (resolved for `source`).
pub fn encode_records(text: &str, source: &str, schema: Schema) -> anyhow::Result<Vec<Vec<u8>>> {
    let values = read_jsonl_or_array(text)
        .map_err(|e| anyhow::anyhow!("{e}: expected JSON Lines or a JSON array"))?;
    if values.is_empty() {
        bail!("no records in the input: expected JSON Lines or a JSON array of records");
    }
    let schema = schema.resolve(source);
    values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let encoded = match schema {
                Schema::EthLog => EthLog::from_json(value).map(|r| r.encode()),
                Schema::Kv | Schema::Auto => KvRecord::from_json(value).map(|r| r.encode()),
            };
            encoded.map_err(|e| {
                anyhow::anyhow!("record {} is not a valid {schema:?} record: {e}", i + 1)
            })
        })
        .collect()
}
