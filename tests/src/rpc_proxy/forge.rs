//! A forged chain that verifies: from a chosen block on, every block with logs has its first log's data changed
//! and its receipts root recomputed, and every block whose parent changed names the forged parent, so each forged
//! block hashes to what it claims, its receipts match its header and it links to the one before it. Only the
//! hashes tell the forged chain from the real one, as with an endpoint following another chain.
//!
//! Headers are re-encoded and receipts roots recomputed with alloy (through the node's own JSON-RPC shapes), as
//! the node checks them; answers are patched field by field, so everything else is served as the real node
//! answered it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::B256;
use alloy_trie::root::ordered_trie_root_encoded;
use anyhow::{Context, Result, anyhow, bail};
use cvm_host::sources::ethereum::{RpcBlock, RpcReceipt};
use serde_json::{Value, json};

use super::alter::flip_last_hex_digit;
use crate::hardhat::{quantity, rpc_call};

/// One block of the forged chain, and what forging changed in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForgedBlock {
    /// Its number.
    pub number: u64,
    /// The real block's hash.
    pub real_hash: B256,
    /// Its hash on the forged chain: the real one when neither it nor a block before it changed.
    pub hash: B256,
    /// The parent it names on the forged chain.
    pub parent_hash: B256,
    /// Its receipts root on the forged chain.
    pub receipts_root: B256,
    altered: Option<AlteredLog>,
}

/// The log whose data forging changed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct AlteredLog {
    /// The transaction (and receipt) it belongs to.
    transaction_index: u64,
    /// Its index within that receipt's logs.
    log: usize,
    /// Its data on the forged chain (`0x` hex).
    data: String,
}

impl ForgedBlock {
    /// Whether it differs from the real block.
    pub fn is_forged(&self) -> bool {
        self.hash != self.real_hash
    }

    /// Whether one of its logs carries other data than the real block's.
    pub fn has_altered_log(&self) -> bool {
        self.altered.is_some()
    }
}

fn hex_value(hash: B256) -> Value {
    Value::String(format!("{hash:#x}"))
}

fn set(object: &mut Value, field: &str, value: Value) {
    if let Some(object) = object.as_object_mut() {
        object.insert(field.to_string(), value);
    }
}

/// Forges the block `block` (an `eth_getBlockByNumber(n, true)` result) with its `receipts` (in transaction
/// order): its first log's data changes (when it has a log) and it names `parent` as its parent (`None`: the
/// real one).
pub fn forge(block: &Value, receipts: &[Value], parent: Option<B256>) -> Result<ForgedBlock> {
    let rpc: RpcBlock = serde_json::from_value(block.clone()).context("parsing the block")?;
    let mut header = rpc.header;
    let real_hash = header.hash_slow();
    if real_hash != rpc.hash {
        bail!(
            "block {} claims hash {} but its header hashes to {real_hash}",
            header.number,
            rpc.hash
        );
    }
    let altered = receipts.iter().enumerate().find_map(|(i, receipt)| {
        let data = receipt.get("logs")?.get(0)?.get("data")?.as_str()?;
        Some(AlteredLog {
            transaction_index: i as u64,
            log: 0,
            data: flip_last_hex_digit(data),
        })
    });
    if let Some(altered) = &altered {
        let mut changed = receipts.to_vec();
        let index = altered.transaction_index as usize;
        changed[index]["logs"][altered.log]["data"] = Value::String(altered.data.clone());
        header.receipts_root = receipts_root(&changed)?;
    }
    if let Some(parent) = parent {
        header.parent_hash = parent;
    }
    Ok(ForgedBlock {
        number: header.number,
        real_hash,
        hash: header.hash_slow(),
        parent_hash: header.parent_hash,
        receipts_root: header.receipts_root,
        altered,
    })
}

/// The receipts root of `receipts` (JSON-RPC receipts in transaction order): the ordered trie of their EIP-2718
/// encodings.
fn receipts_root(receipts: &[Value]) -> Result<B256> {
    let encoded = receipts
        .iter()
        .enumerate()
        .map(|(i, receipt)| {
            let receipt: RpcReceipt = serde_json::from_value(receipt.clone())
                .with_context(|| format!("parsing receipt {i}"))?;
            Ok(receipt.envelope.encoded_2718())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ordered_trie_root_encoded(&encoded))
}

/// Makes `block` (a block object of any JSON-RPC answer, with full transactions or their hashes) the forged one.
pub fn patch_block(block: &mut Value, forged: &ForgedBlock) {
    if !forged.is_forged() {
        return;
    }
    set(block, "hash", hex_value(forged.hash));
    set(block, "parentHash", hex_value(forged.parent_hash));
    set(block, "receiptsRoot", hex_value(forged.receipts_root));
    if let Some(txs) = block.get_mut("transactions").and_then(Value::as_array_mut) {
        for tx in txs.iter_mut().filter(|tx| tx.is_object()) {
            set(tx, "blockHash", hex_value(forged.hash));
        }
    }
}

/// Makes `receipt` (an `eth_getTransactionReceipt` result of the block `forged`) the forged chain's.
pub fn patch_receipt(receipt: &mut Value, forged: &ForgedBlock) {
    if !forged.is_forged() {
        return;
    }
    set(receipt, "blockHash", hex_value(forged.hash));
    let index = receipt
        .get("transactionIndex")
        .and_then(|i| quantity(i).ok());
    let Some(logs) = receipt.get_mut("logs").and_then(Value::as_array_mut) else {
        return;
    };
    for log in logs.iter_mut() {
        set(log, "blockHash", hex_value(forged.hash));
    }
    if let Some(altered) = &forged.altered
        && index == Some(altered.transaction_index)
        && let Some(log) = logs.get_mut(altered.log)
    {
        set(log, "data", Value::String(altered.data.clone()));
    }
}

struct ForgeState {
    from: u64,
    blocks: BTreeMap<u64, ForgedBlock>,
}

/// The forged chain of one upstream node, forged from a block number on and computed as blocks are asked for.
/// The upstream must not reorganise (a hardhat node does not): forged blocks are kept.
pub struct Forger {
    upstream: String,
    state: Mutex<ForgeState>,
}

impl Forger {
    /// A forger over the JSON-RPC node at `upstream`, forging from block `from` on.
    pub fn new(upstream: &str, from: u64) -> Self {
        Self {
            upstream: upstream.to_string(),
            state: Mutex::new(ForgeState {
                from,
                blocks: BTreeMap::new(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ForgeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forges from block `from` on (blocks below it are served as they are).
    pub fn start_at(&self, from: u64) {
        let mut state = self.state();
        if state.from != from {
            state.from = from;
            state.blocks.clear();
        }
    }

    /// The first forged block's number.
    pub fn from(&self) -> u64 {
        self.state().from
    }

    /// Block `number` (at least [`Self::from`]) as the forged chain has it, forging it and the blocks before it
    /// not forged yet. Blocks the upstream asks: one call per block and per transaction.
    pub fn block(&self, number: u64) -> Result<ForgedBlock> {
        let from = self.from();
        if number < from {
            bail!("block {number} is before the forged chain's first block {from}");
        }
        // Walk down to a block already forged (its hash is the parent of the next) or to `from` (whose parent is
        // real), then forge upwards.
        let mut todo = Vec::new();
        let mut parent = None;
        let mut n = number;
        loop {
            if let Some(held) = self.state().blocks.get(&n) {
                parent = Some(held.hash);
                break;
            }
            todo.push(n);
            if n == from {
                break;
            }
            n -= 1;
        }
        let mut last = None;
        for n in todo.into_iter().rev() {
            let (block, receipts) = self.fetch(n)?;
            let forged = forge(&block, &receipts, parent)?;
            parent = Some(forged.hash);
            let mut state = self.state();
            // Forging may have restarted elsewhere meanwhile: keep only what belongs to the current chain.
            if state.from == from {
                state.blocks.insert(n, forged.clone());
            }
            last = Some(forged);
        }
        match last {
            Some(forged) => Ok(forged),
            None => self
                .state()
                .blocks
                .get(&number)
                .cloned()
                .ok_or_else(|| anyhow!("block {number} was forged for another start")),
        }
    }

    /// The real block `number` with full transactions and its receipts in transaction order.
    fn fetch(&self, number: u64) -> Result<(Value, Vec<Value>)> {
        let block = rpc_call(
            &self.upstream,
            "eth_getBlockByNumber",
            json!([format!("{number:#x}"), true]),
        )?;
        if block.is_null() {
            bail!("the upstream node has no block {number}");
        }
        let receipts = block["transactions"]
            .as_array()
            .ok_or_else(|| anyhow!("block {number} has no transactions array"))?
            .iter()
            .map(|tx| {
                rpc_call(
                    &self.upstream,
                    "eth_getTransactionReceipt",
                    json!([tx["hash"]]),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((block, receipts))
    }

    /// Rewrites a JSON-RPC answer (one or a batch): blocks and receipts numbered from the first forged block on
    /// become the forged chain's.
    pub fn rewrite(&self, answer: &mut Value) -> Result<()> {
        match answer {
            Value::Array(answers) => answers.iter_mut().try_for_each(|a| self.rewrite_one(a)),
            answer => self.rewrite_one(answer),
        }
    }

    fn rewrite_one(&self, answer: &mut Value) -> Result<()> {
        let Some(result) = answer.get_mut("result").filter(|r| r.is_object()) else {
            return Ok(());
        };
        let is_block = result.get("parentHash").is_some();
        let is_receipt = result.get("transactionHash").is_some() && result.get("logs").is_some();
        let number = match (is_block, is_receipt) {
            (true, _) => result.get("number"),
            (false, true) => result.get("blockNumber"),
            (false, false) => None,
        };
        let Some(number) = number.and_then(|n| quantity(n).ok()) else {
            return Ok(());
        };
        if number < self.from() {
            return Ok(());
        }
        let forged = self.block(number)?;
        if is_block {
            patch_block(result, &forged);
        } else {
            patch_receipt(result, &forged);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use cvm_host::sources::ethereum::{RawRpcBlock, VerifiedEthBlock, verify_block};

    use super::*;

    /// The example archive's lines: real hardhat blocks with their receipts.
    fn archive() -> Vec<(Value, Vec<Value>)> {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/data/ethereum-local.jsonl");
        std::fs::read_to_string(path)
            .expect("read the example archive")
            .lines()
            .map(|line| {
                let mut line: Value = serde_json::from_str(line).expect("json");
                let receipts = match line["receipts"].take() {
                    Value::Array(receipts) => receipts,
                    _ => Vec::new(),
                };
                (line["block"].take(), receipts)
            })
            .collect()
    }

    /// `block` and its `receipts` converted and verified as a node does.
    fn verified(block: Value, receipts: Vec<Value>) -> VerifiedEthBlock {
        let data = RawRpcBlock { block, receipts }
            .into_block_data()
            .expect("the answer converts");
        verify_block(&data).expect("the block verifies")
    }

    /// `block` and its receipts patched as `forged` says, converted and verified.
    fn served(block: &Value, receipts: &[Value], forged: &ForgedBlock) -> VerifiedEthBlock {
        let mut block = block.clone();
        patch_block(&mut block, forged);
        let receipts = receipts
            .iter()
            .map(|r| {
                let mut r = r.clone();
                patch_receipt(&mut r, forged);
                r
            })
            .collect();
        verified(block, receipts)
    }

    #[test]
    fn a_forged_chain_verifies_links_and_differs_from_the_real_one() {
        let chain = archive();
        let first = chain
            .iter()
            .position(|(_, receipts)| receipts.iter().any(|r| r["logs"][0].is_object()))
            .expect("a block with a log");
        let (block, receipts) = &chain[first];
        let real = verified(block.clone(), receipts.clone());

        let forged = forge(block, receipts, None).expect("forge");
        assert!(forged.is_forged() && forged.has_altered_log());
        let verified = served(block, receipts, &forged);
        assert_eq!(verified.hash, forged.hash.0);
        assert_ne!(verified.hash, real.hash);
        assert_ne!(verified.receipts_root, real.receipts_root);
        assert_eq!(verified.parent_hash, real.parent_hash);
        let data = |b: &VerifiedEthBlock| b.logs.iter().map(|l| l.data.clone()).collect::<Vec<_>>();
        let (forged_data, real_data) = (data(&verified), data(&real));
        assert_eq!(forged_data.len(), real_data.len());
        assert_ne!(forged_data[0], real_data[0]);
        assert_eq!(forged_data[1..], real_data[1..]);
        assert!(verified.logs.iter().all(|l| l.block_hash == verified.hash));

        // The next block links to the forged one and is another block too, logs or none.
        let (next, next_receipts) = &chain[first + 1];
        let relinked = forge(next, next_receipts, Some(forged.hash)).expect("forge");
        let verified_next = served(next, next_receipts, &relinked);
        assert_eq!(verified_next.parent_hash, verified.hash);
        assert_ne!(B256::from(verified_next.hash), relinked.real_hash);
    }

    #[test]
    fn a_block_without_logs_and_with_its_real_parent_stays_real() {
        let chain = archive();
        let (block, receipts) = chain
            .iter()
            .find(|(_, receipts)| receipts.iter().all(|r| r["logs"][0].is_null()))
            .expect("a block without logs");
        let forged = forge(block, receipts, None).expect("forge");
        assert!(!forged.is_forged());
        let mut patched = block.clone();
        patch_block(&mut patched, &forged);
        assert_eq!(&patched, block);
    }

    #[test]
    fn a_block_that_lies_about_its_hash_is_not_forged_further() {
        let (mut block, receipts) = archive().swap_remove(0);
        block["hash"] = Value::String(format!("{:#x}", B256::repeat_byte(7)));
        let error = forge(&block, &receipts, None).expect_err("refused");
        assert!(error.to_string().contains("hashes to"), "{error}");
    }
}
