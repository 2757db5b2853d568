//! Prints the size of dataset page proofs by page size, on a dataset of 100,000 records shaped like
//! erc20-transfers' transfers (44-byte keys, 150-byte values), pages taken from the middle of the dataset:
//! `cargo run -p cvm-runtime --example page_proof_sizes [RECORDS]`.

use std::collections::BTreeMap;

use cvm_runtime::state::{
    MemoryNodeStore, NodeStore, OverlayDb, RangeQuery, blake2_256, dataset_prefix, empty_root,
    prove_range, record_key, verify_range,
};
use parity_scale_codec::Encode;

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let records: BTreeMap<Vec<u8>, Vec<u8>> = (0..n)
        .map(|i| {
            let mut key = blake2_256(&i.to_le_bytes()).to_vec();
            key.extend_from_slice(&u64::from(i).to_be_bytes());
            key.extend_from_slice(&i.to_be_bytes());
            (record_key("transfers", &key), vec![(i % 251) as u8; 150])
        })
        .collect();
    let store = MemoryNodeStore::new();
    let mut overlay = OverlayDb::new(&store);
    let root = overlay
        .apply(
            empty_root(),
            records
                .iter()
                .map(|(k, v)| (k.as_slice(), Some(v.as_slice()))),
        )
        .expect("build the trie");
    store.commit(&overlay.into_changes()).expect("commit");
    println!("dataset: {n} records of 44-byte keys and 150-byte values");
    println!("page records | record bytes | proof bytes | proof / records | nodes");
    for limit in [1u32, 10, 100, 1000] {
        let prefix = dataset_prefix("transfers");
        let query = RangeQuery {
            start: [&prefix[..], &[0x80]].concat(),
            prefix,
            limit,
        };
        let (served, page, proof) = prove_range(&store, root, &query, usize::MAX).expect("prove");
        let served = RangeQuery {
            limit: served,
            ..query
        };
        assert_eq!(verify_range(&root, &proof, &served).expect("verify"), page);
        let record_bytes: usize = page.records.iter().map(|(k, v)| k.len() + v.len()).sum();
        let proof_bytes = proof.encode().len();
        println!(
            "{limit:>12} | {record_bytes:>12} | {proof_bytes:>11} | {:>15.2} | {:>5}",
            proof_bytes as f64 / record_bytes as f64,
            proof.nodes.len()
        );
    }
}
