//! Storage tests against a real RocksDB in a temporary directory.

use std::sync::Arc;

use cvm_consensus::wal::{Wal, WalEntry};
use cvm_consensus::{CommitCertificate, Height, Round, ValueId};
use cvm_runtime::state::{StateChanges, StateRoot, empty_root, prove_record, verify_record};
use cvm_runtime::{
    BlockContext, BlockExecutor, BlockOutcome, CvmEngine, EngineConfig, ExecutorConfig,
    SignedTransaction, Transaction, TxPayload, TxStatus,
};
use ed25519_dalek::SigningKey;
use manuscript_sdk::KvRecord;
use parity_scale_codec::Encode;
use tempfile::TempDir;

use super::keys::{CF_BLOCKS, CF_WAL, height_key};
use super::*;
use crate::chain::{Block, BlockBody, BlockHeader, PartSet};

const CHAIN: &str = "storage-test";

fn engine() -> Arc<CvmEngine> {
    CvmEngine::new(EngineConfig::default()).expect("engine")
}

fn exec_config() -> ExecutorConfig {
    ExecutorConfig {
        parallel: false,
        threads: 1,
        keep_records: true,
    }
}

fn certificate(block: &Block) -> CommitCertificate {
    CommitCertificate {
        height: Height(block.height()),
        round: Round(0),
        value_id: ValueId(block.hash()),
        signatures: Vec::new(),
    }
}

/// A block over `txs` with the given execution results, chained on `parent` (hash, time).
fn make_block(
    height: u64,
    parent_hash: [u8; 32],
    txs: Vec<SignedTransaction>,
    state_root: [u8; 32],
    receipts_root: [u8; 32],
) -> Block {
    let body = BlockBody {
        txs,
        last_commit: None,
    };
    let header = BlockHeader {
        chain_id: CHAIN.into(),
        height,
        time_ms: 1_000_000 * height,
        parent_hash,
        proposer: [9; 32],
        txs_root: body.txs_root(),
        tx_count: body.txs.len() as u32,
        state_root,
        receipts_root,
        fuel_used: 0,
        last_commit_hash: body.last_commit_hash(),
        parts: PartSet::from_body(&body, 64 * 1024).header(),
    };
    Block { header, body }
}

/// A chain executed over the storage's own node store and committed block by block.
struct TestChain {
    storage: Storage,
    executor: BlockExecutor,
    signer: SigningKey,
    nonce: u64,
    /// Whether commits are fsynced.
    durable: bool,
}

impl TestChain {
    fn new(storage: Storage, engine: Arc<CvmEngine>) -> Self {
        let executor =
            BlockExecutor::new(engine, storage.node_store(), exec_config()).expect("executor");
        // Resume the nonce from a restarted chain: this signer sends one tx per block.
        let nonce = storage.head().unwrap().map_or(0, |h| h.height);
        Self {
            storage,
            executor,
            signer: SigningKey::from_bytes(&[7; 32]),
            nonce,
            durable: true,
        }
    }

    fn tx(&mut self, payload: TxPayload) -> SignedTransaction {
        let tx = Transaction {
            chain_id: CHAIN.into(),
            signer: self.signer.verifying_key().to_bytes(),
            nonce: self.nonce,
            payload,
        };
        self.nonce += 1;
        tx.sign(&self.signer)
    }

    /// Executes `txs` on the head's state and commits the block.
    fn block(&mut self, txs: Vec<SignedTransaction>) -> (Block, BlockOutcome) {
        let head = self.storage.head().unwrap();
        let (height, parent_hash, parent_root) = match &head {
            Some(h) => (h.height + 1, h.block_hash, StateRoot::from(h.state_root)),
            None => (1, [0; 32], empty_root()),
        };
        let ctx = BlockContext {
            chain_id: CHAIN.into(),
            height,
            time_ms: 1_000_000 * height,
        };
        let outcome = self
            .executor
            .execute_block(parent_root, &ctx, &txs)
            .expect("block executes");
        let block = make_block(
            height,
            parent_hash,
            txs,
            outcome.state_root.0,
            outcome.receipts_root.0,
        );
        self.storage
            .commit_block_with(
                &CommittedBlock {
                    block: &block,
                    certificate: &certificate(&block),
                    changes: &outcome.changes,
                    receipts: &outcome.receipts,
                },
                self.durable,
            )
            .expect("block commits");
        (block, outcome)
    }

    fn deploy_counter(&mut self) -> (Block, BlockOutcome) {
        let wasm = wat::parse_str(manuscript_fixtures::WAT_COUNTER).expect("counter.wat parses");
        let tx = self.tx(TxPayload::Deploy {
            wasm,
            fuel_limit_per_record: 10_000_000,
        });
        self.block(vec![tx])
    }

    fn ingest(&mut self, keys: &[&str]) -> (Block, BlockOutcome) {
        let records = keys
            .iter()
            .map(|k| KvRecord::new(k, "v").encode())
            .collect();
        let tx = self.tx(TxPayload::Ingest {
            source: "kv".into(),
            records,
        });
        self.block(vec![tx])
    }
}

/// Deploys the counter and ingests two batches: heights 1, 2, 3.
fn three_blocks(storage: &Storage, engine: Arc<CvmEngine>) -> Vec<(Block, BlockOutcome)> {
    let mut chain = TestChain::new(storage.clone(), engine);
    let deploy = chain.deploy_counter();
    assert!(
        matches!(deploy.1.receipts[0].status, TxStatus::Deployed { .. }),
        "deploy failed: {:?}",
        deploy.1.receipts[0].status
    );
    let b2 = chain.ingest(&["a", "b"]);
    let b3 = chain.ingest(&["b", "c"]);
    vec![deploy, b2, b3]
}

fn u64_le(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("8 bytes"))
}

#[test]
fn commit_read_back_and_resume_after_reopen() {
    let dir = TempDir::new().unwrap();
    let engine = engine();
    let blocks = {
        let storage = Storage::open(dir.path()).unwrap();
        assert_eq!(storage.head().unwrap(), None);
        three_blocks(&storage, engine.clone())
    };

    let storage = Storage::open(dir.path()).unwrap();
    let head = storage.head().unwrap().expect("head after reopen");
    let (b3, o3) = &blocks[2];
    assert_eq!(
        head,
        ChainHead {
            height: 3,
            block_hash: b3.hash(),
            state_root: o3.state_root.0,
            time_ms: 3_000_000,
        }
    );
    for (block, outcome) in &blocks {
        let h = block.height();
        assert_eq!(storage.block(h).unwrap().as_ref(), Some(block));
        assert_eq!(
            storage.block_by_hash(&block.hash()).unwrap().as_ref(),
            Some(block)
        );
        assert_eq!(storage.header(h).unwrap().as_ref(), Some(&block.header));
        assert_eq!(storage.commit(h).unwrap(), Some(certificate(block)));
        let tx_hash = block.body.txs[0].hash();
        let stored = storage.receipt(&tx_hash).unwrap().expect("receipt");
        assert_eq!((stored.height, stored.index), (h, 0));
        assert_eq!(stored.receipt, outcome.receipts[0]);
    }
    assert_eq!(storage.block(4).unwrap(), None);
    assert_eq!(storage.block_by_hash(&[1; 32]).unwrap(), None);
    assert_eq!(storage.receipt(&[1; 32]).unwrap(), None);

    // The state at the head is readable from the reopened trie CF: prove a record against the stored root.
    let store = storage.node_store();
    let proof = prove_record(&*store, o3.state_root, "wat-counter", "counts", b"key:b").unwrap();
    let value = verify_record(&o3.state_root, &proof)
        .unwrap()
        .expect("record b");
    assert_eq!(u64_le(&value), 2, "b was counted twice");

    // Restart resumes: the next block executes on the stored root and commits at height 4.
    let mut chain = TestChain::new(storage.clone(), engine);
    let (b4, o4) = chain.ingest(&["a"]);
    assert_eq!(b4.height(), 4);
    assert!(matches!(o4.receipts[0].status, TxStatus::Ingested { .. }));
    assert_eq!(storage.head().unwrap().unwrap().block_hash, b4.hash());
    let proof = prove_record(&*store, o4.state_root, "wat-counter", "counts", b"count").unwrap();
    assert_eq!(
        u64_le(&verify_record(&o4.state_root, &proof).unwrap().unwrap()),
        5
    );
}

#[test]
fn refused_commits_write_nothing() {
    let dir = TempDir::new().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let node = ([5u8; 32], b"a node".to_vec());
    let changes = StateChanges {
        nodes: vec![node.clone()],
    };
    let commit = |block: &Block, cert: &CommitCertificate| {
        storage.commit_block(&CommittedBlock {
            block,
            certificate: cert,
            changes: &changes,
            receipts: &[],
        })
    };
    let assert_nothing_written = |height: u64| {
        assert_eq!(storage.block(height).unwrap(), None);
        assert_eq!(storage.commit(height).unwrap(), None);
        assert_eq!(storage.node_store().get_node(&node.0).unwrap(), None);
    };

    // An empty database starts at height 1.
    let b2 = make_block(2, [0; 32], vec![], [0; 32], [0; 32]);
    let err = commit(&b2, &certificate(&b2)).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::NotNextHeight {
                height: 2,
                expected: 1
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert_nothing_written(2);
    assert_eq!(storage.head().unwrap(), None);

    // A certificate for another block is refused.
    let b1 = make_block(1, [0; 32], vec![], [0; 32], [0; 32]);
    let err = commit(&b1, &certificate(&b2)).unwrap_err();
    assert!(
        matches!(err, StorageError::InvalidCommit { height: 1, .. }),
        "{err}"
    );
    assert_nothing_written(1);

    storage
        .commit_block(&CommittedBlock {
            block: &b1,
            certificate: &certificate(&b1),
            changes: &StateChanges::default(),
            receipts: &[],
        })
        .unwrap();
    let head = storage.head().unwrap().unwrap();
    assert_eq!(head.height, 1);

    // Gap, repeat, wrong parent: all refused, head unchanged.
    let b3 = make_block(3, b1.hash(), vec![], [0; 32], [0; 32]);
    let err = commit(&b3, &certificate(&b3)).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::NotNextHeight {
                height: 3,
                expected: 2
            }
        ),
        "{err}"
    );
    assert_nothing_written(3);
    let err = commit(&b1, &certificate(&b1)).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::NotNextHeight {
                height: 1,
                expected: 2
            }
        ),
        "{err}"
    );
    let orphan = make_block(2, [7; 32], vec![], [0; 32], [0; 32]);
    let err = commit(&orphan, &certificate(&orphan)).unwrap_err();
    assert!(
        matches!(err, StorageError::InvalidCommit { height: 2, .. }),
        "{err}"
    );
    assert_nothing_written(2);
    assert_eq!(storage.head().unwrap(), Some(head));
}

/// Catch-up commits without fsync: the blocks are readable at once and a process restart keeps them (RocksDB's
/// log is written; only a machine crash before the batch's `sync` could lose its tail).
#[test]
fn memory_reports_memtables_and_the_node_cache_after_commits() {
    let dir = TempDir::new().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let empty = storage.memory().expect("memory of an empty database");
    assert_eq!(empty.trie_node_cache, 0);
    let mut chain = TestChain::new(storage.clone(), engine());
    chain.deploy_counter();
    chain.ingest(&["a", "b"]);
    let loaded = storage.memory().expect("memory after commits");
    assert!(
        loaded.memtables > empty.memtables,
        "{empty:?} -> {loaded:?}"
    );
    assert!(loaded.trie_node_cache > 0, "{loaded:?}");
}

#[test]
fn unsynced_commits_are_readable_and_survive_a_process_restart() {
    let dir = TempDir::new().unwrap();
    let engine = engine();
    let (b2, o2) = {
        let storage = Storage::open(dir.path()).unwrap();
        let mut chain = TestChain::new(storage.clone(), engine.clone());
        chain.durable = false;
        chain.deploy_counter();
        let last = chain.ingest(&["a", "b"]);
        assert_eq!(storage.head().unwrap().map(|h| h.height), Some(2));
        last
    };
    let storage = Storage::open(dir.path()).unwrap();
    let head = storage.head().unwrap().expect("head after reopen");
    assert_eq!((head.height, head.block_hash), (2, b2.hash()));
    assert_eq!(head.state_root, o2.state_root.0);
    storage.sync().expect("sync");
    // The state of the last unsynced block is complete: the next block executes on it.
    let mut chain = TestChain::new(storage.clone(), engine);
    chain.ingest(&["c"]);
    assert_eq!(storage.head().unwrap().map(|h| h.height), Some(3));
}

#[test]
fn node_store_commits_survive_reopen() {
    let dir = TempDir::new().unwrap();
    let changes = StateChanges {
        nodes: vec![([1; 32], b"one".to_vec()), ([2; 32], b"two".to_vec())],
    };
    {
        let storage = Storage::open(dir.path()).unwrap();
        storage.node_store().commit(&changes).unwrap();
    }
    let storage = Storage::open(dir.path()).unwrap();
    let store = storage.node_store();
    assert_eq!(store.get_node(&[1; 32]).unwrap(), Some(b"one".to_vec()));
    assert_eq!(store.get_node(&[2; 32]).unwrap(), Some(b"two".to_vec()));
    assert_eq!(store.get_node(&[3; 32]).unwrap(), None);
}

fn wal_entry(n: u64) -> WalEntry<u64> {
    WalEntry::ProposeValue {
        height: Height(n),
        round: Round(n as u32),
        value: n * 100,
    }
}

#[test]
fn wal_round_trip_across_reopen_and_clear() {
    let dir = TempDir::new().unwrap();
    {
        let storage = Storage::open(dir.path()).unwrap();
        let mut wal = storage.wal().unwrap();
        for n in 0..3 {
            Wal::<u64>::append(&mut wal, &wal_entry(n)).unwrap();
        }
        Wal::<u64>::sync(&mut wal).unwrap();
    }
    let storage = Storage::open(dir.path()).unwrap();
    let loaded: Vec<WalEntry<u64>> = storage.load_wal().unwrap();
    assert_eq!(loaded, (0..3).map(wal_entry).collect::<Vec<_>>());

    // Appends after a restart go after the stored records.
    let mut wal = storage.wal().unwrap();
    assert_eq!(wal.next_seq(), 3);
    Wal::<u64>::append(&mut wal, &wal_entry(3)).unwrap();
    Wal::<u64>::sync(&mut wal).unwrap();
    assert_eq!(
        storage.load_wal::<u64>().unwrap(),
        (0..4).map(wal_entry).collect::<Vec<_>>()
    );

    Wal::<u64>::clear(&mut wal).unwrap();
    assert!(storage.load_wal::<u64>().unwrap().is_empty());
    Wal::<u64>::append(&mut wal, &wal_entry(9)).unwrap();
    Wal::<u64>::sync(&mut wal).unwrap();
    drop(wal);
    drop(storage);
    let storage = Storage::open(dir.path()).unwrap();
    assert_eq!(storage.load_wal::<u64>().unwrap(), vec![wal_entry(9)]);
}

#[test]
fn undecodable_wal_record_names_its_sequence_number() {
    let dir = TempDir::new().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let mut wal = storage.wal().unwrap();
    Wal::<u64>::append(&mut wal, &wal_entry(0)).unwrap();
    let cf = storage.db.cf_handle(CF_WAL).unwrap();
    storage.db.put_cf(cf, height_key(1), [0xff, 0x00]).unwrap();
    let err = storage.load_wal::<u64>().unwrap_err();
    assert!(
        matches!(err, StorageError::WalDecode { seq: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("record #1"), "{err}");
}

#[test]
fn second_open_reports_the_held_lock() {
    let dir = TempDir::new().unwrap();
    let _first = Storage::open(dir.path()).unwrap();
    let err = Storage::open(dir.path()).unwrap_err();
    assert!(matches!(err, StorageError::Locked { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "another cvm node is using {}; stop it first",
            dir.path().display()
        )),
        "{text}"
    );
}

#[test]
fn unwritable_directory_reports_permission() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let parent = dir.path().join("ro");
    std::fs::create_dir(&parent).unwrap();
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o500)).unwrap();
    let probe = parent.join("probe");
    if std::fs::write(&probe, b"x").is_ok() {
        // Running as root: permissions do not bite, so the real open cannot fail this way.
        tracing::warn!(
            "skipping the permission assertion: this user can write a read-only directory"
        );
    } else {
        let err = Storage::open(parent.join("db")).unwrap_err();
        assert!(matches!(err, StorageError::Permission { .. }), "{err:?}");
        assert!(err.to_string().contains("permission denied"), "{err}");
    }
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn open_errors_are_classified_from_rocksdb_messages() {
    let path = std::path::PathBuf::from("/data/db");
    let classify = |msg: &str| StorageError::open_message(path.clone(), msg.to_string());
    assert!(matches!(
        classify("IO error: While lock file: /data/db/LOCK: Resource temporarily unavailable"),
        StorageError::Locked { .. }
    ));
    assert!(matches!(
        classify(
            "IO error: lock hold by current process, acquire time 1 acquiring thread 2: /data/db/LOCK: No locks available"
        ),
        StorageError::Locked { .. }
    ));
    assert!(matches!(
        classify("IO error: While mkdir if missing: /data/db: Permission denied"),
        StorageError::Permission { .. }
    ));
    assert!(matches!(
        classify("IO error: While open a file for lock: /data/db/LOCK: Permission denied"),
        StorageError::Permission { .. }
    ));
    assert!(matches!(
        classify("Corruption: bad block contents in file /data/db/000012.sst"),
        StorageError::Corruption { .. }
    ));
    assert!(matches!(
        classify("Invalid argument: something else"),
        StorageError::Open { .. }
    ));
}

#[test]
fn replay_matches_and_reports_a_tampered_root() {
    let dir = TempDir::new().unwrap();
    let engine = engine();
    let storage = Storage::open(dir.path()).unwrap();
    let blocks = three_blocks(&storage, engine.clone());

    let mut seen = Vec::new();
    let report = replay(
        &storage,
        engine.clone(),
        exec_config(),
        CHAIN,
        &mut |h, total| seen.push((h, total)),
    )
    .unwrap();
    assert_eq!(report.heights, 3);
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert_eq!(seen, vec![(1, 3), (2, 3), (3, 3)]);

    // Tamper with the stored header of block 2.
    let mut tampered = blocks[1].0.clone();
    tampered.header.state_root = [0xee; 32];
    let cf = storage.db.cf_handle(CF_BLOCKS).unwrap();
    storage
        .db
        .put_cf(cf, height_key(2), tampered.encode())
        .unwrap();

    let report = replay(&storage, engine, exec_config(), CHAIN, &mut |_, _| {}).unwrap();
    assert_eq!(report.heights, 3);
    assert_eq!(
        report.mismatches,
        vec![Mismatch {
            height: 2,
            stored: [0xee; 32],
            computed: blocks[1].1.state_root.0,
            what: MismatchKind::StateRoot,
        }]
    );
}

#[test]
fn a_rejected_reinclusion_keeps_the_executed_receipt() {
    let dir = TempDir::new().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let key = SigningKey::from_bytes(&[3; 32]);
    let tx = Transaction {
        chain_id: CHAIN.into(),
        signer: key.verifying_key().to_bytes(),
        nonce: 0,
        payload: TxPayload::Ingest {
            source: "kv".into(),
            records: Default::default(),
        },
    }
    .sign(&key);
    let receipt = |status| cvm_runtime::TxReceipt {
        tx_hash: tx.hash(),
        status,
        fuel_used: 0,
    };
    let executed = receipt(TxStatus::Failed {
        reason: "ran".into(),
    });
    let rejected = receipt(TxStatus::Rejected {
        reason: "wrong nonce".into(),
    });
    let mut parent = [0; 32];
    for (height, r) in [(1, &executed), (2, &rejected)] {
        let block = make_block(height, parent, vec![tx.clone()], [0; 32], [0; 32]);
        storage
            .commit_block(&CommittedBlock {
                block: &block,
                certificate: &certificate(&block),
                changes: &StateChanges::default(),
                receipts: std::slice::from_ref(r),
            })
            .unwrap();
        parent = block.hash();
    }
    let stored = storage.receipt(&tx.hash()).unwrap().unwrap();
    assert_eq!((stored.height, &stored.receipt), (1, &executed));

    // A receipt count that does not match the transactions is refused.
    let block = make_block(3, parent, vec![tx.clone()], [0; 32], [0; 32]);
    let err = storage
        .commit_block(&CommittedBlock {
            block: &block,
            certificate: &certificate(&block),
            changes: &StateChanges::default(),
            receipts: &[],
        })
        .unwrap_err();
    assert!(
        matches!(err, StorageError::InvalidCommit { height: 3, .. }),
        "{err}"
    );
}
