//! Tests of Ethereum source verification on real mainnet blocks of every fork (`host/tests/data/ethereum`,
//! provenance in its README) and on tampered copies of them, and of the JSON-RPC conversion and the archive.

mod archive;
mod mainnet;
mod rpc;
mod tamper;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::EthBlockData;
use crate::hex_text::{from_hex, from_hex32};

/// Where the test vectors live.
pub(super) fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ethereum")
}

/// One mainnet block: its header RLP, and its transactions and receipts when the vector has them.
#[derive(Debug, Deserialize)]
pub(super) struct Vector {
    pub fork: String,
    pub number: u64,
    pub hash: String,
    pub header_rlp: String,
    pub transactions: Option<Vec<String>>,
    pub receipts: Option<Vec<String>>,
}

impl Vector {
    pub fn load(file: &str) -> Vector {
        let text = std::fs::read_to_string(data_dir().join(file)).expect("test vector");
        serde_json::from_str(&text).expect("test vector JSON")
    }

    /// Every `mainnet-<number>-<fork>.json`, in block order.
    pub fn all() -> Vec<Vector> {
        let mut vectors: Vec<Vector> = std::fs::read_dir(data_dir())
            .expect("test data directory")
            .map(|e| {
                e.expect("directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| {
                name.starts_with("mainnet-")
                    && name.ends_with(".json")
                    && !name.ends_with(".rpc.json")
            })
            .map(|name| Vector::load(&name))
            .collect();
        vectors.sort_by_key(|v| v.number);
        vectors
    }

    pub fn hash(&self) -> [u8; 32] {
        from_hex32(&self.hash).expect("vector hash")
    }

    pub fn data(&self) -> EthBlockData {
        let list = |items: &Option<Vec<String>>| {
            items.as_ref().map(|items| {
                items
                    .iter()
                    .map(|t| from_hex(t).expect("hex"))
                    .collect::<Vec<_>>()
            })
        };
        EthBlockData {
            header_rlp: from_hex(&self.header_rlp).expect("header hex"),
            transactions: list(&self.transactions).unwrap_or_default(),
            receipts: list(&self.receipts),
        }
    }
}
