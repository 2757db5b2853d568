//! Prints the size of dataset page proofs by page size, for a keyed and an append-only dataset of the same
//! records, shaped like erc20-transfers' transfers (44-byte keys, 150-byte values), pages taken from the middle of
//! the dataset: `cargo run -p cvm-runtime --example page_proof_sizes [RECORDS] [PER_BLOCK]` (defaults 100,000
//! records, appended 1,000 per block).
//!
//! The sizes are the whole `PageProof`: the manuscript's main-trie entry and metadata, the child-trie range, and
//! for an append-only page the range of block entries and each block tree's range.

use std::collections::BTreeMap;

use cvm_runtime::state::{
    H256, ManuscriptMeta, MemoryNodeStore, NodeStore, OverlayDb, PageQuery, append_key, blake2_256,
    build_append_tree, empty_root, manuscript_key, prove_page, record_key, verify_page,
};
use parity_scale_codec::Encode;

const MANUSCRIPT: &str = "erc20-transfers";
const DATASET: &str = "transfers";

fn record(i: u32) -> (Vec<u8>, Vec<u8>) {
    let mut key = blake2_256(&i.to_le_bytes()).to_vec();
    key.extend_from_slice(&u64::from(i).to_be_bytes());
    key.extend_from_slice(&i.to_be_bytes());
    (key, vec![(i % 251) as u8; 150])
}

fn apply(store: &MemoryNodeStore, entries: &BTreeMap<Vec<u8>, Vec<u8>>) -> H256 {
    let mut overlay = OverlayDb::new(store);
    let root = overlay
        .apply(
            empty_root(),
            entries
                .iter()
                .map(|(k, v)| (k.as_slice(), Some(v.as_slice()))),
        )
        .expect("build the trie");
    store.commit(&overlay.into_changes()).expect("commit");
    root
}

/// A state whose manuscript holds `child` as its child trie, declaring `DATASET` (append-only or not).
fn with_manuscript(
    store: &MemoryNodeStore,
    child: &BTreeMap<Vec<u8>, Vec<u8>>,
    append_only: bool,
) -> H256 {
    let child_root = apply(store, child);
    let meta = ManuscriptMeta {
        name: MANUSCRIPT.into(),
        code_hash: [1; 32],
        sources: vec!["ethereum".into()],
        slots: vec!["ethereum".into()],
        datasets: vec![DATASET.into(), "balances".into(), "supply".into()],
        fuel_limit_per_record: 1_000_000,
        child_root: child_root.to_fixed_bytes(),
        deployed_at: 1,
        deployer: [2; 32],
        append_only: if append_only {
            vec![DATASET.into()]
        } else {
            vec![]
        },
    };
    apply(
        store,
        &BTreeMap::from([(manuscript_key(MANUSCRIPT), meta.encode())]),
    )
}

fn keyed(n: u32) -> (MemoryNodeStore, H256) {
    let store = MemoryNodeStore::new();
    let child = (0..n)
        .map(|i| {
            let (key, value) = record(i);
            (record_key(DATASET, &key), value)
        })
        .collect();
    let root = with_manuscript(&store, &child, false);
    (store, root)
}

fn append_only(n: u32, per_block: u32) -> (MemoryNodeStore, H256) {
    let store = MemoryNodeStore::new();
    let mut child = BTreeMap::new();
    for (height, first) in (0..n).step_by(per_block as usize).enumerate() {
        let records: BTreeMap<Vec<u8>, Vec<u8>> =
            (first..(first + per_block).min(n)).map(record).collect();
        let mut overlay = OverlayDb::new(&store);
        let block = build_append_tree(
            &mut overlay,
            records.iter().map(|(k, v)| (k.as_slice(), v.as_slice())),
        );
        store.commit(&overlay.into_changes()).expect("commit");
        child.insert(append_key(DATASET, height as u64 + 1), block.encode());
    }
    let root = with_manuscript(&store, &child, true);
    (store, root)
}

/// (record bytes, proof bytes) of a page of `limit` records starting at `start`.
fn page(store: &MemoryNodeStore, root: H256, start: Vec<u8>, limit: u32) -> (usize, usize) {
    let query = PageQuery {
        manuscript: MANUSCRIPT.into(),
        dataset: DATASET.into(),
        prefix: vec![],
        start,
        limit,
    };
    let (served, records, proof) = prove_page(store, root, &query, usize::MAX).expect("prove");
    assert_eq!(
        served, limit,
        "the dataset holds a full page from the start"
    );
    let verified = verify_page(&root, &query.with_limit(served), &proof).expect("verify");
    assert_eq!(verified, records);
    let record_bytes = records.records.iter().map(|(k, v)| k.len() + v.len()).sum();
    (record_bytes, proof.encode().len())
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse().ok());
    let n: u32 = args.next().flatten().unwrap_or(100_000);
    let per_block: u32 = args.next().flatten().unwrap_or(1_000).max(1);
    let (keyed_store, keyed_root) = keyed(n);
    let (append_store, append_root) = append_only(n, per_block);
    let middle_height = u64::from(n.div_ceil(per_block) / 2 + 1);
    println!(
        "dataset: {n} records of 44-byte keys and 150-byte values; append-only: {per_block} per block"
    );
    println!(
        "page records | keyed: record bytes | proof bytes | proof/records | append-only: record bytes | proof bytes | proof/records"
    );
    for limit in [1u32, 10, 100, 1000] {
        let (k_records, k_proof) = page(&keyed_store, keyed_root, vec![0x80], limit);
        let start = [&middle_height.to_be_bytes()[..], &[0x80]].concat();
        let (a_records, a_proof) = page(&append_store, append_root, start, limit);
        println!(
            "{limit:>12} | {k_records:>19} | {k_proof:>11} | {:>13.2} | {a_records:>25} | {a_proof:>11} | {:>13.2}",
            k_proof as f64 / k_records as f64,
            a_proof as f64 / a_records as f64,
        );
    }
}
