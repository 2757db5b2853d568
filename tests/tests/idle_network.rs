//! Four validators as real processes on a chain with an idle interval (genesis `idle_block_interval_ms`): without
//! work they make a block about once per interval, and a transaction is finalized without waiting for it.

use std::time::{Duration, Instant};

use cvm_runtime::TxPayload;
use cvm_tests::chaos::{dev_key, sign};
use cvm_tests::localnet::LocalNet;

const WAIT: Duration = Duration::from_secs(90);
const IDLE_MS: u64 = 2_000;
/// How long the idle network is watched.
const IDLE_WATCH: Duration = Duration::from_secs(10);

#[test]
fn an_idle_network_makes_blocks_at_its_interval_and_a_transaction_at_once() {
    let mut net = LocalNet::with_idle_interval(4, 0, IDLE_MS);
    net.start_all();
    net.wait_all(1, WAIT);
    let client = net.nodes[0].client();

    // Idle: about one height per interval (5 in 10 s), where a chain without the interval makes hundreds.
    let from = net.status(0).expect("status").height;
    std::thread::sleep(IDLE_WATCH);
    let to = net.status(0).expect("status").height;
    let made = to - from;
    eprintln!("idle: {made} heights in {IDLE_WATCH:?} with a {IDLE_MS} ms interval");
    assert!(made <= 7, "{made} heights in {IDLE_WATCH:?}");
    assert!(
        made >= 2,
        "idle blocks stopped: {made} heights in {IDLE_WATCH:?}"
    );
    // Every node waited for the deadline: no idle block is less than the interval after its parent (the nodes
    // share this machine's clock, so the deadline is the same instant for all).
    for h in from + 1..=to {
        let gap = block_time(&client, h) - block_time(&client, h - 1);
        assert!(gap >= IDLE_MS, "height {h} came {gap} ms after its parent");
    }

    // Work: submitted right after a block, the transaction's block does not wait for the next idle deadline.
    let key = dev_key();
    let nonce = client.account_nonce(key.public_key()).expect("nonce");
    let tx = sign(
        &net.chain_id,
        &key,
        nonce,
        TxPayload::Ingest {
            source: "ethereum.logs".into(),
            records: Default::default(),
        },
    );
    let parent = next_height(&net);
    let submitted = Instant::now();
    let hash = client.submit_tx(&tx).expect("submit");
    let (height, _) = client.wait_for_tx(hash, WAIT).expect("committed");
    eprintln!(
        "transaction final at height {height}, {:?} after submit",
        submitted.elapsed()
    );
    assert_eq!(
        height,
        parent + 1,
        "the transaction's block is the next one"
    );
    let gap = block_time(&client, height) - block_time(&client, parent);
    assert!(
        gap < IDLE_MS / 2,
        "the transaction's block came {gap} ms after its parent: it waited for the idle deadline"
    );
    // All four hold it: each node's height began for the transaction, or for its proposer's messages.
    net.wait_all(height, WAIT);
}

fn block_time(client: &cvm_host::api_client::Client, height: u64) -> u64 {
    client.block(Some(height)).expect("block").header.time_ms
}

/// Waits for node 0's next commit and returns its height.
fn next_height(net: &LocalNet) -> u64 {
    let now = net.status(0).expect("status").height;
    let deadline = Instant::now() + WAIT;
    loop {
        let h = net.status(0).expect("status").height;
        if h > now {
            return h;
        }
        assert!(Instant::now() < deadline, "no block after height {now}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
