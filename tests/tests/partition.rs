//! A network partition on the real stack: four validators split 2/2 by refusing each other's connections (peer
//! blocking through the test node's hooks: libp2p's block list, driven by a file per node). Neither side may
//! finalize; once healed, all converge on one chain.

use std::time::Duration;

use cvm_tests::checks::compare_chains;
use cvm_tests::localnet::LocalNet;

const WAIT: Duration = Duration::from_secs(90);

#[test]
fn two_two_split_finalizes_nothing_and_heals_into_one_chain() {
    let mut net = LocalNet::new(4, 0);
    net.start_all();
    net.wait_all(3, WAIT);
    net.partition(&[&[0, 1], &[2, 3]]);
    // A height already precommitted by three may still complete on one side; after that, no new height.
    std::thread::sleep(Duration::from_secs(2));
    let split: Vec<u64> = (0..4).map(|i| net.status(i).unwrap().height).collect();
    std::thread::sleep(Duration::from_secs(5));
    let later: Vec<u64> = (0..4).map(|i| net.status(i).unwrap().height).collect();
    // A node may still fetch, from its own side, a height the other side of it had finalized before the
    // split; what must not happen is a height above everything finalized before.
    let before = *split.iter().max().unwrap();
    assert!(
        later.iter().all(|h| *h <= before),
        "a side of a 2/2 split finalized a new height: {split:?} -> {later:?}"
    );
    for i in 0..4 {
        assert!(
            net.status(i).unwrap().peers.count <= 1,
            "node{i} still talks across the partition"
        );
    }

    net.heal();
    let top = *later.iter().max().unwrap();
    net.wait_all(top + 3, WAIT);
    let end = (0..4).map(|i| net.status(i).unwrap().height).min().unwrap();
    for i in 0..4 {
        net.stop(i);
    }
    let homes: Vec<&std::path::Path> = net.nodes.iter().map(|n| n.home.as_path()).collect();
    let report = compare_chains(&homes);
    assert!(report.forks.is_empty(), "{report:?}");
    assert!(report.lost_blocks.is_empty(), "{report:?}");
    assert!(report.common_height >= end);
}
