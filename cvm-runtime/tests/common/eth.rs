//! An Ethereum source for runtime tests: its definition, linked source blocks, and deploys bound to it.

use cvm_runtime::sources::{
    Confirmations, EthereumSource, SourceBlock, SourceBudget, SourceDef, SourceHead, SourceKind,
};
use cvm_runtime::{TxPayload, TxStatus};

use super::{Chain, kv};

pub const FUEL: u64 = 10_000_000;
pub const ETH: &str = "eth-main";
pub const START: u64 = 100;

pub fn hash(n: u64) -> [u8; 32] {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&n.to_le_bytes());
    h[31] = 0xee;
    h
}

pub fn ethereum(max_blocks: u32, max_logs: u32) -> SourceDef {
    SourceDef {
        name: ETH.into(),
        kind: SourceKind::Ethereum(EthereumSource {
            chain_id: 1,
            start: SourceHead {
                number: START,
                hash: hash(START),
            },
            confirmations: Confirmations::Finalized,
            budget: SourceBudget {
                max_blocks,
                max_logs,
            },
        }),
    }
}

/// Source block `n` of [`ETH`], linked to `n - 1`, with `logs` records.
pub fn eth_block(n: u64, logs: usize) -> SourceBlock {
    SourceBlock {
        source: ETH.into(),
        number: n,
        hash: hash(n),
        parent_hash: hash(n - 1),
        records: (0..logs).map(|i| kv(&format!("{n}-{i}"), "v")).collect(),
    }
}

pub fn deploy_bound(chain: &mut Chain, wasm: Vec<u8>, sources: &[&str]) -> TxStatus {
    let tx = chain.tx(TxPayload::Deploy {
        wasm,
        fuel_limit_per_record: FUEL,
        sources: sources.iter().map(|s| s.to_string()).collect(),
    });
    chain.block(&[tx]).receipts.remove(0).status
}
