//! Change feeds on a live network: four validators, erc20-transfers deployed, logs ingested block after block
//! while a feed follows. The feed sends one event per final block, every one verifies against the genesis and
//! equals `GET /blocks/{h}/changes`; a feed dropped half way and resumed from the next height misses nothing and
//! repeats nothing; `cvm query watch --genesis` prints every change; bad requests are refused naming the problem.
//! Prints the feed's latency after finality (arrival at the client after the serving node reports the height).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cvm_host::block_changes::{BlockChanges, ChangeJson, verify_changes};
use cvm_host::chain::Genesis;
use cvm_host::feed_client::{Feed, FeedError, FeedQuery};
use cvm_host::verify::Trust;
use cvm_tests::chaos::deploy_erc20;
use cvm_tests::datasets::{example_logs, ingest};
use cvm_tests::localnet::LocalNet;

const WAIT: Duration = Duration::from_secs(90);
const IDLE: Duration = Duration::from_secs(45);
const MANUSCRIPT: &str = "erc20-transfers";

fn query(dataset: Option<&str>, from: u64) -> FeedQuery {
    FeedQuery {
        manuscript: Some(MANUSCRIPT.into()),
        dataset: dataset.map(String::from),
        from: Some(from),
    }
}

/// Blocks `from..=until` from a feed opened at `from`.
fn read(base: &str, dataset: Option<&str>, from: u64, until: u64) -> Vec<BlockChanges> {
    let mut feed = Feed::open(base, &query(dataset, from), IDLE).expect("feed opens");
    (from..=until)
        .map(|_| feed.next_block().expect("a block's changes"))
        .collect()
}

#[test]
fn feeds_resume_without_gaps_verify_and_watch_prints_every_change() {
    let mut net = LocalNet::new(4, 0);
    net.start_all();
    net.wait_all(2, WAIT);
    let client = net.nodes[0].client();
    deploy_erc20(&client, &net.chain_id);
    let first = client.status().expect("status").height + 1;
    let base = net.nodes[0].rpc_url.clone();

    // When each height became final on node 0, and when its feed event arrived there.
    let done = Arc::new(AtomicBool::new(false));
    let final_at = {
        let (client, done) = (net.nodes[0].client(), done.clone());
        std::thread::spawn(move || {
            let mut seen = BTreeMap::new();
            while !done.load(Ordering::Relaxed) {
                let height = client.status().expect("status").height;
                seen.entry(height).or_insert_with(Instant::now);
                std::thread::sleep(Duration::from_millis(1));
            }
            seen
        })
    };
    let live = {
        let (base, done) = (base.clone(), done.clone());
        std::thread::spawn(move || {
            let mut feed = Feed::open(&base, &query(None, first), IDLE).expect("feed opens");
            let mut blocks = Vec::new();
            while !done.load(Ordering::Relaxed) {
                match feed.next_block() {
                    Ok(changes) => blocks.push((changes, Instant::now())),
                    Err(FeedError::Silent(_)) => break,
                    Err(e) => panic!("the live feed broke: {e}"),
                }
            }
            blocks
        })
    };
    // One ingest per block or so: 300 logs in transactions of 50, each after the one before has committed.
    let logs = example_logs();
    let last = ingest(&client, &net.chain_id, &logs[..300], 50, true, WAIT);
    net.wait_height(0, last + 1, WAIT);
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Ordering::Relaxed);
    let final_at = final_at.join().expect("poller");
    // The live reader stops at its next event (a block or a heartbeat); blocks keep coming.
    let live: Vec<(BlockChanges, Instant)> = live.join().expect("live feed");
    let live: Vec<_> = live.into_iter().filter(|(c, _)| c.height <= last).collect();

    // One event per final block, in order, each verifying and equal to the per-block answer.
    let heights: Vec<u64> = live.iter().map(|(c, _)| c.height).collect();
    assert_eq!(heights, (first..=last).collect::<Vec<_>>());
    let trust =
        Trust::genesis(&Genesis::load(&net.genesis_path()).expect("genesis")).expect("trust");
    let mut written = 0;
    for (changes, _) in &live {
        verify_changes(changes, &trust).expect("the feed's changes verify");
        let answer = net.nodes[3]
            .client()
            .changes(changes.height, Some(MANUSCRIPT), None)
            .expect("block changes");
        assert_eq!(
            answer.datasets, changes.datasets,
            "height {}",
            changes.height
        );
        written += changes.changes().filter(|c| c.value.is_some()).count();
    }
    assert!(written >= 300, "{written} records written");
    let with_changes = live.iter().filter(|(c, _)| !c.datasets.is_empty()).count();
    assert!(with_changes >= 3, "{with_changes} blocks with changes");

    // Dropped half way, resumed from the next height: the same blocks, none missing, none repeated.
    let middle = first + (last - first) / 2;
    let mut resumed = read(&base, Some("balances"), first, middle);
    resumed.extend(read(&base, Some("balances"), middle + 1, last));
    let whole = read(&base, Some("balances"), first, last);
    assert_eq!(resumed, whole);
    let balances: usize = whole.iter().map(|c| c.changes().count()).sum();
    assert!(balances > 0);

    // `cvm query watch` prints every change of the range, verified.
    let genesis_path = net.genesis_path();
    let (ok, out) = net.cvm(&[
        "query",
        "watch",
        MANUSCRIPT,
        "balances",
        "--from",
        &first.to_string(),
        "--until",
        &last.to_string(),
        "--genesis",
        genesis_path.to_str().unwrap(),
        "--node",
        &net.nodes[2].rpc_url,
    ]);
    assert!(ok, "{out}");
    let printed: Vec<ChangeJson> = out
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a change line"))
        .collect();
    assert_eq!(printed.len(), balances, "{out}");
    let expected: Vec<(u64, String)> = whole
        .iter()
        .flat_map(|c| {
            c.changes()
                .map(|ch| (c.height, cvm_host::hex_text::to_hex(ch.key)))
                .collect::<Vec<_>>()
        })
        .collect();
    let got: Vec<(u64, String)> = printed.iter().map(|c| (c.height, c.key.clone())).collect();
    assert_eq!(got, expected);
    assert!(
        printed
            .iter()
            .all(|c| c.dataset == "balances" && c.value_json["transfers"].is_u64()),
        "typed values: {out}"
    );

    // Refused, naming the problem.
    let refused = |q: FeedQuery, naming: &str| match Feed::open(&base, &q, IDLE) {
        Ok(_) => panic!("opened a feed for {q:?}"),
        Err(e) => assert!(e.to_string().contains(naming), "expected {naming:?} in {e}"),
    };
    refused(
        FeedQuery {
            manuscript: Some("no-such-manuscript".into()),
            ..FeedQuery::default()
        },
        "no-such-manuscript",
    );
    refused(query(None, last + 1_000), "is beyond the next block");
    let (ok, out) = net.cvm(&[
        "query",
        "watch",
        "--node",
        &base,
        "--from",
        "1",
        "--until",
        "1",
        "--genesis",
        "/nonexistent/genesis.json",
    ]);
    assert!(!ok && out.contains("/nonexistent/genesis.json"), "{out}");

    // The latency figure: a block's event at the client after node 0 first reported the height as final.
    let mut latencies: Vec<f64> = live
        .iter()
        .filter_map(|(c, arrived)| {
            let seen = final_at.get(&c.height)?;
            Some(arrived.saturating_duration_since(*seen).as_secs_f64() * 1e3)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    if let (Some(p50), Some(max)) = (latencies.get(latencies.len() / 2), latencies.last()) {
        println!(
            "[feed] latency after finality on the serving node, {} blocks: p50 {p50:.1} ms, max {max:.1} ms",
            latencies.len()
        );
    }
}
