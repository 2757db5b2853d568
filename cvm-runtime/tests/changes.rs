//! A block's dataset changes are exactly the records whose value differs between the parent's and the block's
//! state, in a deterministic order, and each dataset's changes prove against the block's root at once.

mod common;

use std::collections::BTreeMap;

use common::{Chain, assert_deployed, engine, erc20_records};
use cvm_runtime::DatasetChanges;
use cvm_runtime::state::{
    H256, ManuscriptMeta, ProofError, RECORD_PREFIX, StateRoot, TrieView, decoded, manuscript_key,
    prove_record_set, verify_record_set,
};

type Records = BTreeMap<(String, String, Vec<u8>), Vec<u8>>;

/// Every dataset record of `manuscripts` at `root`, walked key by key.
fn records_at(chain: &Chain, root: StateRoot, manuscripts: &[&str]) -> Records {
    let main = TrieView::new(chain.store.clone(), root);
    let mut out = Records::new();
    for name in manuscripts {
        let meta: Option<ManuscriptMeta> = decoded(&main, &manuscript_key(name)).unwrap();
        let Some(meta) = meta else { continue };
        let child = TrieView::new(chain.store.clone(), H256::from(meta.child_root));
        let mut from = RECORD_PREFIX.to_vec();
        let mut exclusive = false;
        while let Some(key) = child.next_key(RECORD_PREFIX, &from, exclusive).unwrap() {
            let rest = &key[RECORD_PREFIX.len()..];
            let slash = rest.iter().position(|b| *b == b'/').unwrap();
            let dataset = String::from_utf8(rest[..slash].to_vec()).unwrap();
            let value = child.get(&key).unwrap().unwrap();
            out.insert(
                (name.to_string(), dataset, rest[slash + 1..].to_vec()),
                value,
            );
            from = key;
            exclusive = true;
        }
    }
    out
}

/// The changes between two record maps, as the executor lists them.
fn diff(before: &Records, after: &Records) -> Vec<DatasetChanges> {
    let mut out: BTreeMap<(String, String), DatasetChanges> = BTreeMap::new();
    fn entry<'a>(
        out: &'a mut BTreeMap<(String, String), DatasetChanges>,
        m: &str,
        d: &str,
    ) -> &'a mut DatasetChanges {
        out.entry((m.into(), d.into()))
            .or_insert_with(|| DatasetChanges {
                manuscript: m.into(),
                dataset: d.into(),
                written: Vec::new(),
                removed: Vec::new(),
            })
    }
    for ((m, d, k), v) in after {
        if before.get(&(m.clone(), d.clone(), k.clone())) != Some(v) {
            entry(&mut out, m, d).written.push(k.clone());
        }
    }
    for (m, d, k) in before.keys() {
        if !after.contains_key(&(m.clone(), d.clone(), k.clone())) {
            entry(&mut out, m, d).removed.push(k.clone());
        }
    }
    out.into_values().collect()
}

const MANUSCRIPTS: [&str; 2] = ["erc20-transfers", "token-volume"];

fn deployed(parallel: bool) -> Chain {
    let mut chain = Chain::new(engine(), parallel);
    assert_deployed(&chain.deploy(manuscript_fixtures::ERC20_TRANSFERS, 10_000_000));
    assert_deployed(&chain.deploy(manuscript_fixtures::TOKEN_VOLUME, 10_000_000));
    chain
}

/// Ingests `batches` one block each; returns each block's listed changes after checking them against the diff.
fn ingest_checked(chain: &mut Chain, batches: &[Vec<Vec<u8>>]) -> Vec<Vec<DatasetChanges>> {
    let mut listed = Vec::new();
    for batch in batches {
        let before = records_at(chain, chain.root, &MANUSCRIPTS);
        let outcome = chain.ingest("ethereum.logs", batch.clone());
        let after = records_at(chain, chain.root, &MANUSCRIPTS);
        // Keyed datasets list what differs; the append-only `transfers` (no `d/` records; tests/append_only.rs)
        // lists what the block appended.
        let keyed: Vec<DatasetChanges> = outcome
            .dataset_changes
            .iter()
            .filter(|c| c.dataset != "transfers")
            .cloned()
            .collect();
        assert_eq!(keyed, diff(&before, &after));
        listed.push(outcome.dataset_changes);
    }
    listed
}

#[test]
fn changes_equal_the_records_that_differ_between_parent_and_child() {
    let records = erc20_records();
    let mut chain = deployed(false);
    let batches: Vec<Vec<Vec<u8>>> = records.chunks(400).take(3).map(<[_]>::to_vec).collect();
    let listed = ingest_checked(&mut chain, &batches);
    assert!(
        listed.iter().all(|b| !b.is_empty()),
        "every batch changes records"
    );
    // The same logs again: transfers are appended again (a new block's records), balances and volumes move.
    let again = ingest_checked(&mut chain, &batches[..1]);
    let appended = |changes: &[DatasetChanges]| {
        changes
            .iter()
            .find(|c| c.dataset == "transfers")
            .map(|c| c.written.clone())
    };
    assert_eq!(appended(&again[0]), appended(&listed[0]));
    assert!(again[0].iter().any(|c| c.dataset == "balances"));
    // A block touching no manuscript changes nothing.
    let empty = chain.block(&[]);
    assert!(empty.dataset_changes.is_empty());
}

#[test]
fn changes_are_the_same_sequential_and_parallel() {
    let records = erc20_records();
    let batches: Vec<Vec<Vec<u8>>> = records.chunks(500).take(2).map(<[_]>::to_vec).collect();
    let mut sequential = deployed(false);
    let mut parallel = deployed(true);
    for batch in batches {
        let a = sequential.ingest("ethereum.logs", batch.clone());
        let b = parallel.ingest("ethereum.logs", batch);
        assert_eq!(a.state_root, b.state_root);
        assert_eq!(a.dataset_changes, b.dataset_changes);
    }
}

#[test]
fn a_record_set_proof_verifies_and_refuses_tampering() {
    let records = erc20_records();
    let mut chain = deployed(false);
    let outcome = chain.ingest("ethereum.logs", records[..200].to_vec());
    let changes = outcome
        .dataset_changes
        .iter()
        .find(|c| c.dataset == "balances")
        .expect("balances changed");
    let mut keys = changes.written.clone();
    keys.push(b"never-written".to_vec());
    let proof = prove_record_set(
        &*chain.store,
        chain.root,
        "erc20-transfers",
        "balances",
        &keys,
    )
    .unwrap();
    assert_eq!(verify_record_set(&chain.root, &proof), Ok(()));
    assert_eq!(proof.entries.len(), keys.len());
    assert!(
        proof
            .entries
            .iter()
            .any(|(k, v)| k == b"never-written" && v.is_none())
    );
    // A changed value, a dropped absence, a reorder, another root, another dataset: each refused.
    let mut bad = proof.clone();
    let written = bad.entries.iter_mut().find(|(_, v)| v.is_some()).unwrap();
    written.1.as_mut().unwrap()[0] ^= 1;
    assert!(matches!(
        verify_record_set(&chain.root, &bad),
        Err(ProofError::ChildProof(_))
    ));
    let mut bad = proof.clone();
    let absent = bad.entries.iter_mut().find(|(_, v)| v.is_none()).unwrap();
    absent.1 = Some(vec![1]);
    assert!(verify_record_set(&chain.root, &bad).is_err());
    let mut bad = proof.clone();
    bad.entries.swap(0, 1);
    assert!(matches!(
        verify_record_set(&chain.root, &bad),
        Err(ProofError::ChildProof(_))
    ));
    let parent = {
        let mut c = deployed(false);
        c.ingest("ethereum.logs", records[..100].to_vec());
        c.root
    };
    assert!(matches!(
        verify_record_set(&parent, &proof),
        Err(ProofError::MainProof(_))
    ));
    let mut bad = proof.clone();
    bad.dataset = "nope".into();
    assert!(matches!(
        verify_record_set(&chain.root, &bad),
        Err(ProofError::UndeclaredDataset { .. })
    ));
}
