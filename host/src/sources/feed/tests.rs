//! The feed against the example archive (real hardhat blocks), with the endpoint held inside a fetch where a
//! test needs the chain to commit meanwhile.

use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, channel};

use cvm_runtime::sources::SourceBudget;

use super::*;
use crate::sources::ethereum::{ArchiveEndpoint, ArchiveLine, EndpointError, header_only_check};

/// The example archive and its first block's head.
fn archive() -> (ArchiveEndpoint, SourceHead) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/ethereum-local.jsonl");
    let text = std::fs::read_to_string(&path).expect("read the example archive");
    let line = ArchiveLine::parse(text.lines().next().expect("a first line")).expect("parse");
    let first = verify_block(&line.into_block_data().expect("convert")).expect("verifies");
    let head = SourceHead {
        number: first.number,
        hash: first.hash,
    };
    (
        ArchiveEndpoint::open(&path, 31337).expect("the example archive"),
        head,
    )
}

/// The archive, except that the first fetch of block `held` waits: it says so on `entered` and goes on once
/// `release` is told.
struct Held {
    archive: ArchiveEndpoint,
    held: u64,
    gate: Mutex<Option<(Sender<()>, Receiver<()>)>>,
}

impl SourceEndpoint for Held {
    fn chain_id(&self) -> Result<u64, EndpointError> {
        self.archive.chain_id()
    }
    fn latest(&self) -> Result<u64, EndpointError> {
        self.archive.latest()
    }
    fn finalized(&self) -> Result<Option<u64>, EndpointError> {
        self.archive.finalized()
    }
    fn block(&self, number: u64) -> Result<Option<EthBlockData>, EndpointError> {
        if number == self.held
            && let Some((entered, release)) = self.gate.lock().take()
        {
            entered.send(()).expect("the test waits");
            release.recv().expect("the test releases");
        }
        self.archive.block(number)
    }
}

#[test]
fn a_block_fetched_while_a_conflict_dropped_its_parent_is_not_kept() {
    let (archive, start) = archive();
    let (entered_tx, entered) = channel();
    let (release, release_rx) = channel();
    let endpoint = Held {
        archive,
        held: start.number + 2,
        gate: Mutex::new(Some((entered_tx, release_rx))),
    };
    let def = EthereumSource {
        chain_id: 31337,
        start,
        confirmations: Confirmations::Depth(0),
        budget: SourceBudget {
            max_blocks: 1,
            max_logs: 1000,
        },
    };
    let feed = Arc::new(SourceFeed::new(
        "eth".into(),
        def,
        Arc::new(endpoint),
        None,
        Arc::new(Notify::new()),
    ));
    let prefetching = {
        let feed = feed.clone();
        std::thread::spawn(move || feed.prefetch())
    };
    // Blocks start and start + 1 are ready; start + 2 is being fetched to follow start + 1.
    entered.recv().expect("the fetch of start + 2 began");
    assert_eq!(feed.status().ready, 2);
    // The chain commits another block at `start` than the endpoint's: everything fetched ahead goes.
    let other = SourceHead {
        number: start.number,
        hash: [0xee; 32],
    };
    assert!(feed.committed(other), "a conflict");
    release.send(()).expect("release the fetch");
    prefetching.join().expect("prefetch");

    // start + 2 followed a block that is gone: it is not kept, and nothing the endpoint has follows the head.
    assert!(feed.proposal().is_empty(), "{:?}", feed.status());
    let status = feed.status();
    assert_eq!(status.conflicts, 1);
    assert_eq!(
        status.last_error.as_deref(),
        Some(
            format!(
                "block {} does not link to block {}",
                start.number + 1,
                start.number
            )
            .as_str()
        )
    );
}

/// A feed over the hardhat archive (blocks 1 to 4 with 0, 3, 0 and 2 logs) from block 1.
fn hardhat_feed(max_blocks: u32, max_logs: u32) -> SourceFeed {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ethereum/hardhat-erc20.jsonl");
    let endpoint = ArchiveEndpoint::open(&path, 31337).expect("opens");
    let first =
        header_only_check(&endpoint.block(1).expect("reads").expect("present")).expect("header");
    let def = EthereumSource {
        chain_id: 31337,
        start: SourceHead {
            number: 1,
            hash: first.hash,
        },
        confirmations: Confirmations::Depth(0),
        budget: SourceBudget {
            max_blocks,
            max_logs,
        },
    };
    SourceFeed::new(
        "s".into(),
        def,
        Arc::new(endpoint),
        None,
        Arc::new(Notify::new()),
    )
}

fn ready(feed: &SourceFeed) -> Vec<u64> {
    feed.state.lock().ready.keys().copied().collect()
}

#[test]
fn prefetching_fills_the_window_up_to_the_tip() {
    let feed = hardhat_feed(16, 4000);
    feed.prefetch();
    assert_eq!(ready(&feed), [1, 2, 3, 4]);
    assert_eq!(feed.status().last_error, None);
}

#[test]
fn committing_drops_the_blocks_ingested() {
    let feed = hardhat_feed(1, 4000);
    feed.prefetch();
    assert_eq!(ready(&feed), [1, 2, 3, 4]);
    let hash = feed.state.lock().ready[&1].verified.hash;
    feed.committed(SourceHead { number: 1, hash });
    assert_eq!(ready(&feed), [2, 3, 4]);
}

#[test]
fn prefetching_stops_at_four_budgets_of_logs() {
    // max_logs 1: at most 4 logs ahead, so block 4 (logs 5 in all) is the last fetched, and it waits for
    // the window to drain.
    let feed = hardhat_feed(16, 1);
    feed.prefetch();
    assert_eq!(ready(&feed), [1, 2, 3, 4]);
    // max_logs 0: one block at a time.
    let feed = hardhat_feed(16, 0);
    feed.prefetch();
    assert_eq!(ready(&feed), [1]);
    let hash = feed.state.lock().ready[&1].verified.hash;
    feed.committed(SourceHead { number: 1, hash });
    feed.prefetch();
    assert_eq!(ready(&feed), [2]);
}
