//! The SDK's native mock host and the real CVM agree: the same manuscript over the example data produces the
//! same dataset records natively (`cargo test` for authors) and as wasm in a block.

use std::collections::BTreeMap;
use std::sync::Arc;

use cvm_runtime::state::{
    MemoryNodeStore, NodeStore, prove_appended_record, prove_record, verify_record,
};
use cvm_runtime::{
    BlockContext, BlockExecutor, CvmEngine, EngineConfig, ExecutorConfig, Transaction, TxPayload,
};
use manuscript_sdk::EthLog;
use manuscript_sdk::testing::MockHost;
use parity_scale_codec::Encode;

type Datasets = BTreeMap<(String, Vec<u8>), Vec<u8>>;

fn logs() -> Vec<EthLog> {
    let text = std::fs::read_to_string(manuscript_fixtures::erc20_logs_path()).unwrap();
    manuscript_sdk::sources::json::read_jsonl_or_array(&text)
        .unwrap()
        .iter()
        .map(|v| EthLog::from_json(v).unwrap())
        .collect()
}

#[test]
fn erc20_and_token_volume_give_the_same_records_natively_and_in_the_cvm() {
    let logs = logs();
    let time_ms = 1_700_000_000_000;

    // Native, through the mock host.
    let mut native = Datasets::new();
    for (name, datasets) in [
        ("erc20", vec!["transfers", "balances", "supply"]),
        ("volume", vec!["hourly_volume"]),
    ] {
        let mut host = MockHost::new().with_block(2, time_ms);
        for log in &logs {
            let outcome = match name {
                "erc20" => host.process(&erc20_transfers::MANUSCRIPT, log),
                _ => host.process(&token_volume::MANUSCRIPT, log),
            };
            assert!(outcome.is_success(), "{name}: {outcome:?}");
        }
        for ds in datasets {
            for (k, v) in host.dataset(ds) {
                native.insert((ds.to_string(), k), v);
            }
        }
    }

    // In the CVM, in one block after the deploy block.
    let engine = CvmEngine::new(EngineConfig::default()).unwrap();
    let store = Arc::new(MemoryNodeStore::new());
    let executor = BlockExecutor::new(engine, store.clone(), ExecutorConfig::default()).unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let signer = key.verifying_key().to_bytes();
    let tx = |nonce, payload| {
        Transaction {
            chain_id: "it".into(),
            signer,
            nonce,
            payload,
        }
        .sign(&key)
    };
    let deploy = |nonce, wasm: &[u8]| {
        tx(
            nonce,
            TxPayload::Deploy {
                wasm: wasm.to_vec(),
                fuel_limit_per_record: 10_000_000,
                sources: Vec::new(),
            },
        )
    };
    let genesis_root = cvm_tests::sources::genesis_root(&*store, &[3; 32]);
    let genesis = executor
        .execute_block(
            genesis_root,
            &BlockContext {
                chain_id: "it".into(),
                height: 1,
                time_ms,
            },
            &[
                deploy(0, manuscript_fixtures::ERC20_TRANSFERS),
                deploy(1, manuscript_fixtures::TOKEN_VOLUME),
            ],
        )
        .unwrap();
    store.commit(&genesis.changes).unwrap();
    let records = logs.iter().map(Encode::encode).collect();
    let ingest = tx(
        2,
        TxPayload::Ingest {
            source: "ethereum.logs".into(),
            records,
        },
    );
    let block = executor
        .execute_block(
            genesis.state_root,
            &BlockContext {
                chain_id: "it".into(),
                height: 2,
                time_ms,
            },
            &[ingest],
        )
        .unwrap();
    store.commit(&block.changes).unwrap();
    let mut cvm = Datasets::new();
    for r in &block.records {
        cvm.insert(
            (r.record.dataset.clone(), r.record.key.clone()),
            r.record.value.clone(),
        );
    }

    assert!(
        native.len() > 1000,
        "the example data yields many records: {}",
        native.len()
    );
    assert_eq!(native.len(), cvm.len());
    assert!(native == cvm, "native and CVM datasets differ");

    // And every final record is provable against the block's state root.
    for ((dataset, key), value) in cvm.iter().step_by(97) {
        let manuscript = if dataset == "hourly_volume" {
            "token-volume"
        } else {
            "erc20-transfers"
        };
        // `transfers` is append-only: its records are proven with the block that appended them (this one).
        let proof = if dataset == "transfers" {
            prove_appended_record(&*store, block.state_root, manuscript, dataset, 2, key)
        } else {
            prove_record(&*store, block.state_root, manuscript, dataset, key)
        }
        .unwrap();
        assert_eq!(
            verify_record(&block.state_root, &proof).unwrap().as_ref(),
            Some(value)
        );
    }
}
