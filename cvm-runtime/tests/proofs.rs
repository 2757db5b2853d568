//! Record proofs verify against the state root; tampering with the proof, the value or the root fails; absent
//! records and manuscripts are provable as absent.

mod common;

use common::{Chain, assert_deployed, engine, kv};
use cvm_runtime::state::{H256, ProofError, RecordProof, prove_record, verify_record};
use parity_scale_codec::{Decode, Encode};

fn chain_with_counts() -> Chain {
    let mut chain = Chain::new(engine(), false);
    let counter = wat::parse_str(manuscript_fixtures::WAT_COUNTER).unwrap();
    assert_deployed(&chain.deploy(&counter, 1_000_000));
    let outcome = chain.ingest("kv", vec![kv("a", "1"), kv("b", "2"), kv("a", "3")]);
    assert!(
        common::invocations(&outcome)
            .iter()
            .all(|r| r.outcome.is_ok())
    );
    chain
}

/// The key of one record the counter emitted.
fn some_record(chain: &Chain) -> (Vec<u8>, Vec<u8>) {
    let mut found = None;
    for key in [b"count".to_vec(), b"a".to_vec()] {
        let proof = prove_record(&*chain.store, chain.root, "wat-counter", "counts", &key).unwrap();
        if let Some(value) = proof.value.clone() {
            found = Some((key, value));
            break;
        }
    }
    found.expect("wat-counter emitted under key \"count\" or the record key")
}

#[test]
fn proof_of_an_existing_record_verifies() {
    let chain = chain_with_counts();
    let (key, value) = some_record(&chain);
    let proof = prove_record(&*chain.store, chain.root, "wat-counter", "counts", &key).unwrap();
    assert_eq!(verify_record(&chain.root, &proof), Ok(Some(value)));
    // The proof survives SCALE round-trip (what travels over the API).
    let decoded = RecordProof::decode(&mut &proof.encode()[..]).unwrap();
    assert_eq!(verify_record(&chain.root, &decoded).unwrap(), proof.value);
}

#[test]
fn absent_record_and_absent_manuscript_are_provable() {
    let chain = chain_with_counts();
    let proof = prove_record(
        &*chain.store,
        chain.root,
        "wat-counter",
        "counts",
        b"never-seen",
    )
    .unwrap();
    assert_eq!(proof.value, None);
    assert_eq!(verify_record(&chain.root, &proof), Ok(None));
    let proof = prove_record(
        &*chain.store,
        chain.root,
        "no-such-manuscript",
        "counts",
        b"a",
    )
    .unwrap();
    assert_eq!(proof.manuscript_meta, None);
    assert_eq!(verify_record(&chain.root, &proof), Ok(None));
}

#[test]
fn tampered_value_fails() {
    let chain = chain_with_counts();
    let (key, _) = some_record(&chain);
    let mut proof = prove_record(&*chain.store, chain.root, "wat-counter", "counts", &key).unwrap();
    proof.value.as_mut().unwrap()[0] ^= 1;
    assert!(matches!(
        verify_record(&chain.root, &proof),
        Err(ProofError::ChildProof(_))
    ));
}

#[test]
fn claiming_absence_of_a_present_record_fails() {
    let chain = chain_with_counts();
    let (key, _) = some_record(&chain);
    let mut proof = prove_record(&*chain.store, chain.root, "wat-counter", "counts", &key).unwrap();
    proof.value = None;
    assert!(verify_record(&chain.root, &proof).is_err());
}

#[test]
fn tampered_proof_nodes_fail() {
    let chain = chain_with_counts();
    let (key, _) = some_record(&chain);
    let proof = prove_record(&*chain.store, chain.root, "wat-counter", "counts", &key).unwrap();
    for (which, nodes) in [
        ("main", proof.main_proof.len()),
        ("child", proof.child_proof.len()),
    ] {
        for node in 0..nodes {
            let mut bad = proof.clone();
            let target = if which == "main" {
                &mut bad.main_proof[node]
            } else {
                &mut bad.child_proof[node]
            };
            let last = target.len() - 1;
            target[last] ^= 0x55;
            assert!(
                verify_record(&chain.root, &bad).is_err(),
                "flipped a byte of {which} node {node}"
            );
        }
    }
    let mut truncated = proof.clone();
    truncated.child_proof.clear();
    assert!(verify_record(&chain.root, &truncated).is_err());
}

#[test]
fn tampered_metadata_or_wrong_root_fails() {
    let chain = chain_with_counts();
    let (key, _) = some_record(&chain);
    let proof = prove_record(&*chain.store, chain.root, "wat-counter", "counts", &key).unwrap();
    let mut bad = proof.clone();
    bad.manuscript_meta.as_mut().unwrap()[1] ^= 1;
    assert!(matches!(
        verify_record(&chain.root, &bad),
        Err(ProofError::MainProof(_))
    ));
    assert!(verify_record(&H256::repeat_byte(7), &proof).is_err());
}

#[test]
fn proofs_at_an_old_root_still_verify() {
    let mut chain = chain_with_counts();
    let old_root = chain.root;
    let (key, value) = some_record(&chain);
    chain.ingest("kv", vec![kv("a", "again")]);
    assert_ne!(chain.root, old_root);
    let proof = prove_record(&*chain.store, old_root, "wat-counter", "counts", &key).unwrap();
    assert_eq!(verify_record(&old_root, &proof), Ok(Some(value)));
}

#[test]
fn a_record_proof_for_dataset_a_b_key_c_does_not_verify_as_dataset_a_key_b_c() {
    let chain = chain_with_counts();
    let (key, _) = some_record(&chain);
    // The record `key` of dataset "counts" has the child key `d/counts/<key>`; so would the record
    // `<key[1..]>` of a dataset "counts/<key[0]>", which the manuscript cannot have.
    let mut proof = prove_record(&*chain.store, chain.root, "wat-counter", "counts", &key).unwrap();
    let mut dataset = b"counts/".to_vec();
    dataset.push(key[0]);
    proof.dataset = String::from_utf8(dataset).unwrap();
    proof.key = key[1..].to_vec();
    let refused = verify_record(&chain.root, &proof);
    assert!(
        matches!(&refused, Err(ProofError::UndeclaredDataset { dataset, .. }) if *dataset == proof.dataset),
        "{refused:?}"
    );
    // A dataset the manuscript does not declare, even without a `/`, proves nothing either.
    let proof = prove_record(&*chain.store, chain.root, "wat-counter", "other", b"a").unwrap();
    assert!(matches!(
        verify_record(&chain.root, &proof),
        Err(ProofError::UndeclaredDataset { .. })
    ));
}
