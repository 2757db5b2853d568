//! The Fabric-shaped embedding API: an in-process single-validator node orders transactions and hands back the
//! finalized blocks in order; a refused transaction is an error at `order`; `configure` changes the validator set
//! from two heights after its block; `halt` stops the node.

use std::time::Duration;

use cvm_host::chain::config::HomeLayout;
use cvm_host::chain::source_json::SourceJson;
use cvm_host::chain::{Genesis, NodeConfig, ValidatorKey};
use cvm_host::node::NodeSetup;
use cvm_host::ordering::{Chain, NodeChain, OrderError};
use cvm_runtime::validators::{ValidatorChange, ValidatorSetUpdate, approve};
use cvm_runtime::{Transaction, TxPayload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_transactions_into_finalized_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("node");
    cvm_host::home::init(&home, "order-test", "solo").unwrap();
    // Loopback ports chosen by the OS so tests never collide.
    let layout = HomeLayout::new(&home);
    let mut config = NodeConfig::load(&layout.config()).unwrap();
    config.p2p.listen = "/ip4/127.0.0.1/tcp/0".into();
    config.rpc.listen = "127.0.0.1:0".parse().unwrap();
    std::fs::write(layout.config(), config.to_toml()).unwrap();
    let key = ValidatorKey::generate();
    // The chain takes the test's ingests into `kv`, a signed source the key publishes to.
    let mut genesis = Genesis::load(&layout.genesis()).unwrap();
    genesis.sources.push(SourceJson::Signed {
        name: "kv".into(),
        publishers: vec![hex::encode(key.public_key())],
    });
    std::fs::write(layout.genesis(), genesis.to_json()).unwrap();

    let mut chain = NodeChain::new(NodeSetup::load(&home).unwrap());
    let tx = |nonce| {
        Transaction {
            chain_id: "order-test".into(),
            signer: key.public_key(),
            nonce,
            payload: TxPayload::Ingest {
                source: "kv".into(),
                records: vec![vec![nonce as u8]].into(),
            },
        }
        .sign(&key.0)
    };
    assert!(matches!(chain.order(&tx(0)), Err(OrderError::NotStarted)));
    chain.start().await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), chain.wait_ready())
        .await
        .unwrap()
        .unwrap();
    let mut blocks = chain.blocks().unwrap();
    let hashes = [chain.order(&tx(0)).unwrap(), chain.order(&tx(1)).unwrap()];
    let refused = chain.order(&tx(5)).unwrap_err();
    assert!(refused.to_string().contains("nonce"), "{refused}");
    // A key that does not publish to the source hears why at once.
    let stranger = ValidatorKey::generate();
    let foreign = Transaction {
        chain_id: "order-test".into(),
        signer: stranger.public_key(),
        nonce: 0,
        payload: TxPayload::Ingest {
            source: "kv".into(),
            records: vec![vec![1]].into(),
        },
    }
    .sign(&stranger.0);
    let refused = chain.order(&foreign).unwrap_err().to_string();
    assert!(
        refused.contains("is not a publisher of source kv"),
        "{refused}"
    );

    let mut ordered = Vec::new();
    let mut last_height = 0;
    while ordered.len() < 2 {
        let block = tokio::time::timeout(Duration::from_secs(30), blocks.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(
            block.header.height > last_height,
            "blocks arrive in height order"
        );
        last_height = block.header.height;
        ordered.extend(block.body.txs.iter().map(|t| t.hash()));
    }
    assert_eq!(
        ordered,
        hashes.to_vec(),
        "transactions finalized in submission order"
    );

    // Configure: the validator doubles its power, approving the update with its own key (all of the power).
    let validator = ValidatorKey::load(&layout.validator_key()).unwrap();
    let app = chain.node().unwrap().app.clone();
    let power = app.validator_set(1).unwrap().total_power();
    let update = ValidatorSetUpdate {
        seq: 0,
        changes: vec![ValidatorChange {
            key: validator.public_key(),
            power: power * 2,
        }],
    };
    let config_tx = |seq: u64| {
        let update = ValidatorSetUpdate {
            seq,
            ..update.clone()
        };
        Transaction {
            chain_id: "order-test".into(),
            signer: key.public_key(),
            nonce: 2,
            payload: TxPayload::UpdateValidators {
                approvals: vec![approve(&validator.0, "order-test", &update)],
                update,
            },
        }
        .sign(&key.0)
    };
    let e = chain.configure(&tx(2), 0).unwrap_err().to_string();
    assert!(e.contains("only an UpdateValidators transaction"), "{e}");
    let e = chain.configure(&config_tx(0), 1).unwrap_err().to_string();
    assert!(e.contains("built at position 0, not 1"), "{e}");
    let configured = chain.configure(&config_tx(0), 0).unwrap();
    let height = loop {
        let block = tokio::time::timeout(Duration::from_secs(30), blocks.recv())
            .await
            .unwrap()
            .unwrap();
        if block.body.txs.iter().any(|t| t.hash() == configured) {
            break block.header.height;
        }
    };
    // In force two heights later, not before.
    while app.validator_schedule().head < height {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.validator_set(height + 1).unwrap().total_power(), power);
    assert_eq!(
        app.validator_set(height + 2).unwrap().total_power(),
        power * 2
    );
    chain.halt().await;
}
