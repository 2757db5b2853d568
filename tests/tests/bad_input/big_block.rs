//! A block well above the old 4 MiB `max_message_bytes` (sync sends a block in one message) reaches a validator
//! that was down when it was committed. Before the node required `max_message_bytes` above `max_block_bytes`,
//! such a validator stayed one height behind for good.

use cvm_host::chain::config::HomeLayout;
use cvm_host::chain::{Genesis, NodeConfig};
use cvm_tests::localnet::LocalNet;

use crate::support::*;

/// One transaction this large makes a block larger than 4 MiB.
const RECORD_BYTES: usize = 5_000_000;

#[test]
fn a_validator_that_missed_a_large_block_catches_up() {
    let mut net = LocalNet::new(4, 0);
    // Room for the large transaction: in every genesis (identically), and in node0's API body limit.
    for node in &net.nodes {
        let home = HomeLayout::new(&node.home);
        let mut genesis = Genesis::load(&home.genesis()).unwrap();
        genesis.params.max_tx_bytes = 6 * 1024 * 1024;
        std::fs::write(home.genesis(), genesis.to_json()).unwrap();
        let mut config = NodeConfig::load(&home.config()).unwrap();
        config.rpc.max_body_bytes = 16 * 1024 * 1024;
        std::fs::write(home.config(), config.to_toml()).unwrap();
    }
    net.start_all();
    for i in 0..4 {
        net.wait_height(i, 2, WAIT);
    }
    net.stop(3);
    let client = net.nodes[0].client();
    let key = dev_key();
    let nonce = client.account_nonce(key.public_key()).unwrap();
    let tx = sign(
        &net.chain_id,
        &key,
        nonce,
        ingest(vec![vec![7; RECORD_BYTES]]),
    );
    let hash = client.submit_tx(&tx).expect("submit");
    let (height, _) = client
        .wait_for_tx(hash, WAIT)
        .expect("committed by three of four");

    net.start(3);
    let target = net.status(0).unwrap().height.max(height);
    net.wait_height(3, target, WAIT);
    assert_same_chain(&net, &[0, 3], target);
}
