//! Committing blocks: read back, refusals that write nothing, unsynced commits, memory, receipts.

use super::*;

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

/// Each block's dataset changes are stored with it and read back after a reopen; a deploy changes none.
#[test]
fn dataset_changes_are_stored_at_commit_and_survive_reopen() {
    let dir = TempDir::new().unwrap();
    let blocks = {
        let storage = Storage::open(dir.path()).unwrap();
        three_blocks(&storage, engine())
    };
    let storage = Storage::open(dir.path()).unwrap();
    for (block, outcome) in &blocks {
        assert_eq!(
            storage.dataset_changes(block.height()).unwrap().as_ref(),
            Some(&outcome.dataset_changes)
        );
    }
    assert!(blocks[0].1.dataset_changes.is_empty());
    let counts = &blocks[1].1.dataset_changes;
    assert_eq!(counts.len(), 1);
    assert_eq!(
        (counts[0].manuscript.as_str(), counts[0].dataset.as_str()),
        ("wat-counter", "counts")
    );
    assert!(counts[0].written.contains(&b"key:a".to_vec()));
    assert!(counts[0].removed.is_empty());
    assert_eq!(storage.dataset_changes(4).unwrap(), None);
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
            source_blocks: &[],
            dataset_changes: &[],
            validators: None,
            jailed: &[],
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
            source_blocks: &[],
            dataset_changes: &[],
            validators: None,
            jailed: &[],
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
                source_blocks: &[],
                dataset_changes: &[],
                validators: None,
                jailed: &[],
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
            source_blocks: &[],
            dataset_changes: &[],
            validators: None,
            jailed: &[],
        })
        .unwrap_err();
    assert!(
        matches!(err, StorageError::InvalidCommit { height: 3, .. }),
        "{err}"
    );
}
