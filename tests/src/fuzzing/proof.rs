//! Target `proof_verify`: record proofs as a light client receives them, checked by [`verify_record`] against
//! the root of a real state (built once: the `wat-counter` manuscript deployed and fed records through the real
//! [`BlockExecutor`]).
//!
//! First byte even: the rest is a SCALE [`RecordProof`]. First byte odd: one of the real proofs, mutated by the
//! rest (values replaced, proof nodes flipped, dropped, added or spliced in from another proof, key, dataset,
//! manuscript or metadata swapped).
//!
//! Asserted: verification never panics, and a proof that verifies states the truth: the value it returns is the
//! value the state holds for its (manuscript, dataset, key), and its manuscript metadata is the stored one.

use std::sync::{Arc, LazyLock};

use cvm_runtime::state::{
    H256, ManuscriptMeta, MemoryNodeStore, NodeStore, RecordProof, StateRoot, manuscript_key,
    prove_record, read_value, record_key, verify_record,
};
use cvm_runtime::{
    BlockContext, BlockExecutor, CvmEngine, EngineConfig, Transaction, TxPayload, TxStatus,
};
use ed25519_dalek::SigningKey;
use manuscript_sdk::KvRecord;
use parity_scale_codec::{Decode, DecodeAll, Encode};

use super::context::{CHAIN, Input, Reached};
use super::wasm::WAT_COUNTER;

const MAX_MUTATIONS: usize = 8;

struct Fixture {
    store: Arc<MemoryNodeStore>,
    root: StateRoot,
    /// Proofs of present records, absent records, an absent dataset and an absent manuscript.
    proofs: Vec<RecordProof>,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(build_fixture);

fn build_fixture() -> Fixture {
    let engine = CvmEngine::new(EngineConfig {
        pool_instances: 2,
        ..EngineConfig::default()
    })
    .expect("the CVM engine starts");
    let store = Arc::new(MemoryNodeStore::new());
    let executor = BlockExecutor::sequential(engine, store.clone());
    let key = SigningKey::from_bytes(&[9; 32]);
    let tx = |nonce, payload| {
        Transaction {
            chain_id: CHAIN.into(),
            signer: key.verifying_key().to_bytes(),
            nonce,
            payload,
        }
        .sign(&key)
    };
    let wasm = wat::parse_str(WAT_COUNTER).expect("counter.wat parses");
    let records = [("a", "1"), ("b", "2"), ("a", "3"), ("a/b", "4"), ("", "5")]
        .iter()
        .map(|(k, v)| KvRecord::new(*k, *v).encode())
        .collect();
    let txs = [
        tx(
            0,
            TxPayload::Deploy {
                wasm,
                fuel_limit_per_record: 1_000_000,
                sources: Vec::new(),
            },
        ),
        tx(
            1,
            TxPayload::Ingest {
                source: "kv".into(),
                records,
            },
        ),
    ];
    let ctx = BlockContext {
        chain_id: CHAIN.into(),
        height: 1,
        time_ms: 1_700_000_000_000,
    };
    let genesis = crate::sources::genesis_root(&*store, &[9; 32]);
    let outcome = executor
        .execute_block(genesis, &ctx, &txs)
        .expect("the block executes");
    assert!(
        matches!(outcome.receipts[0].status, TxStatus::Deployed { .. }),
        "deploy failed: {:?}",
        outcome.receipts[0].status
    );
    store.commit(&outcome.changes).expect("commit");
    let root = outcome.state_root;
    let proofs = [
        ("wat-counter", "counts", &b"count"[..]),
        ("wat-counter", "counts", b"a"),
        ("wat-counter", "counts", b"a/b"),
        ("wat-counter", "counts", b"never-seen"),
        ("wat-counter", "other", b"a"),
        ("no-such-manuscript", "counts", b"a"),
    ]
    .iter()
    .map(|(m, d, k)| prove_record(&*store, root, m, d, k).expect("proof builds"))
    .collect::<Vec<_>>();
    assert!(
        proofs.iter().any(|p| p.value.is_some()),
        "the counter emitted no record"
    );
    Fixture {
        store,
        root,
        proofs,
    }
}

/// What the state holds for the record a proof claims: (manuscript metadata, record value).
fn truth(f: &Fixture, proof: &RecordProof) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let store: &dyn NodeStore = &*f.store;
    let meta_bytes =
        read_value(store, f.root, &manuscript_key(&proof.manuscript)).expect("state readable");
    let Some(meta_bytes) = meta_bytes else {
        return (None, None);
    };
    let meta = ManuscriptMeta::decode(&mut &meta_bytes[..]).expect("stored metadata decodes");
    let value = read_value(
        store,
        H256::from(meta.child_root),
        &record_key(&proof.dataset, &proof.key),
    )
    .expect("state readable");
    (Some(meta_bytes), value)
}

pub fn proof_verify(data: &[u8]) -> Reached {
    let proof = match data.split_first() {
        None => return "empty",
        Some((mode, rest)) if mode & 1 == 0 => match RecordProof::decode_all(&mut &rest[..]) {
            Ok(proof) => {
                assert_eq!(proof.encode(), rest, "non-canonical record proof");
                proof
            }
            Err(_) => return "undecodable",
        },
        Some((_, rest)) => mutated(&mut Input::new(rest)),
    };
    check(&proof)
}

fn check(proof: &RecordProof) -> Reached {
    let f = &*FIXTURE;
    let Ok(value) = verify_record(&f.root, proof) else {
        return "rejected";
    };
    let (meta, true_value) = truth(f, proof);
    assert_eq!(
        value, true_value,
        "a proof verified for a value the state does not hold"
    );
    assert_eq!(
        proof.manuscript_meta, meta,
        "a proof verified with manuscript metadata the state does not hold"
    );
    if value.is_some() {
        "verified_present"
    } else {
        "verified_absent"
    }
}

fn mutated(input: &mut Input<'_>) -> RecordProof {
    let proofs = &FIXTURE.proofs;
    let mut proof = proofs[usize::from(input.u8()) % proofs.len()].clone();
    for _ in 0..MAX_MUTATIONS {
        if input.is_empty() {
            break;
        }
        let op = input.u8();
        let other = &proofs[usize::from(op >> 4) % proofs.len()];
        match op % 10 {
            0 => {
                let len = usize::from(input.u8() % 16);
                proof.value = (len > 0).then(|| input.take(len - 1).to_vec());
            }
            1 | 2 => {
                let nodes = if op % 10 == 1 {
                    &mut proof.main_proof
                } else {
                    &mut proof.child_proof
                };
                if !nodes.is_empty() {
                    let i = usize::from(input.u8()) % nodes.len();
                    let node = &mut nodes[i];
                    if !node.is_empty() {
                        let j = usize::from(input.u16()) % node.len();
                        node[j] ^= 1 << (input.u8() % 8);
                    }
                }
            }
            3 => {
                let nodes = if op & 0x10 == 0 {
                    &mut proof.main_proof
                } else {
                    &mut proof.child_proof
                };
                if !nodes.is_empty() {
                    let i = usize::from(input.u8()) % nodes.len();
                    nodes.remove(i);
                }
            }
            4 => {
                // Splice in a real node from another proof.
                let from = [&other.main_proof, &other.child_proof][usize::from(op >> 7)];
                if !from.is_empty() {
                    let node = from[usize::from(input.u8()) % from.len()].clone();
                    let to = if input.u8() & 1 == 0 {
                        &mut proof.main_proof
                    } else {
                        &mut proof.child_proof
                    };
                    let at = usize::from(input.u8()) % (to.len() + 1);
                    to.insert(at, node);
                }
            }
            5 => {
                let len = usize::from(input.u8() % 12);
                proof.key = input.take(len).to_vec();
            }
            6 => {
                let len = usize::from(input.u8() % 12);
                proof.dataset = String::from_utf8_lossy(input.take(len)).into_owned();
            }
            7 => {
                proof.manuscript = other.manuscript.clone();
                proof.main_proof = other.main_proof.clone();
            }
            8 => proof.manuscript_meta = other.manuscript_meta.clone(),
            _ => {
                proof.child_proof = other.child_proof.clone();
                proof.value = other.value.clone();
            }
        }
    }
    proof
}

pub(super) fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = FIXTURE
        .proofs
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("proof-{i}"), [vec![0], p.encode()].concat()))
        .collect();
    seeds.extend([
        ("mutate-value".into(), vec![1, 1, 0, 3, b'x', b'y']),
        ("mutate-splice".into(), vec![1, 0, 0x14, 0, 1, 0]),
        (
            "mutate-dataset".into(),
            vec![1, 2, 6, 7, b'c', b'o', b'u', b'n', b't', b's', b'/'],
        ),
        ("mutate-node".into(), vec![1, 1, 2, 0, 5, 0, 3]),
    ]);
    seeds
}
