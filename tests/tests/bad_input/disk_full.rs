//! Disk full, simulated by a file size limit on one validator of four: the node stops cleanly when a storage
//! write fails, and its data survives for a restart.

use cvm_tests::localnet::LocalNet;

use crate::support::*;

/// Largest file the limited node may write. Above what a node writes to start and commit empty blocks, below
/// one block full of the large transactions the test sends.
const FILE_LIMIT: u64 = 4 * 1024 * 1024;

#[test]
fn disk_full_stops_a_validator_cleanly_and_its_data_survives() {
    let mut net = LocalNet::new(4, 0);
    for i in 0..3 {
        net.start(i);
    }
    let home3 = net.nodes[3].home.clone();
    let mut limited = OwnNode::start(&home3, "info", Some(FILE_LIMIT));
    for i in 0..4 {
        net.wait_height(i, 2, WAIT);
    }

    // Large transactions: a block holding them is a write bigger than the limit.
    let client = net.nodes[0].client();
    let key = dev_key();
    let nonce = client.account_nonce(key.public_key()).unwrap();
    let mut hashes = Vec::new();
    for i in 0..4u64 {
        let record = vec![i as u8; 1_500_000];
        let tx = sign(&net.chain_id, &key, nonce + i, ingest(vec![record]));
        hashes.push(client.submit_tx(&tx).expect("submit a large transaction"));
    }

    let status = limited.wait(WAIT).unwrap_or_else(|| {
        panic!(
            "the node kept running with failing writes:\n{}",
            net.log_tail(3, 40)
        )
    });
    let log = std::fs::read_to_string(net.nodes[3].log_path()).unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "a clean error exit, not {status:?}:\n{log}"
    );
    assert_no_panic(&log);
    assert!(
        log.contains("node halted") && log.contains("File too large"),
        "the exit names the failed storage write:\n{}",
        net.log_tail(3, 20)
    );

    // The others commit the transactions without it.
    let mut last = 0;
    for hash in &hashes {
        let (height, _) = client
            .wait_for_tx(*hash, WAIT)
            .expect("committed by three of four");
        last = last.max(height);
    }

    // Its data is intact: replay passes, and it restarts (no limit), catches up and agrees.
    let (ok, out) = net.cvm(&["replay", "--home", home3.to_str().unwrap()]);
    assert!(ok && out.contains("OK"), "{out}");
    drop(limited);
    net.start(3);
    let target = net.status(0).unwrap().height.max(last);
    net.wait_height(3, target, WAIT);
    assert_same_chain(&net, &[0, 3], target);
    for hash in &hashes {
        let (height, _) = net.nodes[3]
            .client()
            .wait_for_tx(*hash, WAIT)
            .expect("node3 has the transactions");
        assert!(height <= target);
    }
}
