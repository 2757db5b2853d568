//! Hostile manuscripts on a running network: four validators as real processes run the erc20 example next to
//! the `hostile` manuscript, whose records (interleaved with the erc20 ones, in the same blocks) loop forever,
//! bomb memory, recurse without end, panic in storms, emit too much or too large, and write huge state.
//!
//! Checked over the API only, as a user would: every hostile record's receipt names its cause; the chain keeps
//! committing at a bounded block interval on every node; the erc20 records (with proofs) equal those computed
//! natively without hostile traffic; every node holds the same state root at every height; the nodes' memory
//! stays bounded.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cvm_host::api_client::Client;
use cvm_host::chain::Genesis;
use cvm_host::records::{Schema, encode_records};
use cvm_host::rpc::json::{InvocationJson, ReceiptJson, ReceiptOutcomeJson};
use cvm_host::verify::{Trust, verify_bundle};
use cvm_runtime::{FailureReason, FuelSchedule, Limits, TxPayload};
use cvm_tests::chaos::{dev_key, sign};
use cvm_tests::localnet::LocalNet;
use manuscript_sdk::KvRecord;
use manuscript_sdk::testing::MockHost;
use parity_scale_codec::Encode;

const WAIT: Duration = Duration::from_secs(60);
/// The hostile manuscript's budget per record (what its deploy asks for).
const HOSTILE_FUEL: u64 = 20_000_000;
const ERC20_FUEL: u64 = 10_000_000;
/// erc20 example logs ingested, in batches of `ERC20_BATCH`, each batch followed by one hostile transaction.
const ERC20_LOGS: usize = 2_000;
const ERC20_BATCH: usize = 100;
/// Pause between submitting one (erc20, hostile) pair and the next, to spread them over many blocks.
const PAIR_SPACING: Duration = Duration::from_millis(150);
/// Records of each behaviour in every hostile transaction.
const EACH: usize = 2;
/// Panic records in the one panic-storm transaction.
const PANIC_STORM: usize = 300;
/// Liveness bound on the time between consecutive blocks while hostile records run. Not a performance goal:
/// generous enough for a loaded two-core machine, far below "stalled".
const MAX_BLOCK_GAP_MS: u64 = 5_000;
/// Memory bound: a node's resident set may grow this much over the whole hostile run. It legitimately holds a
/// 16 MiB wasm memory per executor thread, caches and the erc20 state (measured growth: ~15 MiB); keeping the
/// 38 memory bombs' 16 MiB each, or the huge-state writes, would add over 600 MiB.
const MAX_RSS_GROWTH_KIB: u64 = 256 * 1024;

/// Watches every node's height from outside; the longest wall-clock time any node went without committing.
struct HeightWatch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<Duration>>,
}

impl HeightWatch {
    fn start(net: &LocalNet) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let urls: Vec<String> = net.nodes.iter().map(|n| n.rpc_url.clone()).collect();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let clients: Vec<Client> = urls
                .iter()
                .map(|u| Client::with_timeout(u, Duration::from_secs(2)))
                .collect();
            let now = Instant::now();
            let mut last = vec![(0u64, now); clients.len()];
            let mut worst = vec![Duration::ZERO; clients.len()];
            while !flag.load(Ordering::Relaxed) {
                for (i, c) in clients.iter().enumerate() {
                    if let Ok(s) = c.status()
                        && s.height > last[i].0
                    {
                        last[i] = (s.height, Instant::now());
                    }
                    worst[i] = worst[i].max(last[i].1.elapsed());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            worst
        });
        HeightWatch { stop, thread }
    }

    fn finish(self) -> Vec<Duration> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("height watch thread")
    }
}

/// The records of hostile transaction `j`: `EACH` of every behaviour, interleaved (`ok` first and last).
fn hostile_records(j: usize) -> Vec<(String, String)> {
    let mut records = Vec::new();
    for k in 0..EACH {
        for behaviour in hostile::BEHAVIOURS {
            records.push((behaviour.to_string(), format!("{behaviour}-{j}-{k}")));
        }
    }
    records.push(("ok".into(), format!("ok-{j}-last")));
    records
}

fn encode_kv(records: &[(String, String)]) -> Vec<Vec<u8>> {
    records
        .iter()
        .map(|(k, v)| KvRecord::new(k.as_str(), v.as_str()).encode())
        .collect()
}

fn invocations(receipt: &ReceiptJson) -> &[InvocationJson] {
    match &receipt.outcome {
        ReceiptOutcomeJson::Ingested {
            subscribers,
            invocations,
        } => {
            assert_eq!(*subscribers, 1, "one subscriber per source: {receipt:?}");
            invocations
        }
        other => panic!("expected an ingested receipt, got {other:?}"),
    }
}

/// Asserts that the receipt of a hostile record names its cause.
fn assert_hostile_invocation(behaviour: &str, inv: &InvocationJson) {
    let limits = Limits::default();
    let (reason, needles): (FailureReason, Vec<String>) = match behaviour {
        "ok" => {
            assert!(inv.ok, "ok record failed: {inv:?}");
            assert_eq!(inv.records_emitted, 1, "{inv:?}");
            return;
        }
        "error" => (
            FailureReason::ManuscriptError,
            vec![hostile::ERROR_MESSAGE.into()],
        ),
        "panic" => (
            FailureReason::Panic,
            vec!["panicked at".into(), hostile::PANIC_MESSAGE.into()],
        ),
        "loop" => (FailureReason::OutOfFuel, vec!["fuel".into()]),
        "memory" => (
            FailureReason::MemoryLimit,
            vec!["memory limit".into(), limits.max_memory_bytes.to_string()],
        ),
        "recursion" => (FailureReason::StackOverflow, vec!["stack".into()]),
        "huge-emit" => (
            FailureReason::HostLimit,
            vec![
                "record value".into(),
                hostile::HUGE_EMIT_LEN.to_string(),
                limits.max_value_len.to_string(),
            ],
        ),
        "emit-storm" => (
            FailureReason::HostLimit,
            vec![format!(
                "more than {} records emitted",
                limits.max_emits_per_invocation
            )],
        ),
        "undeclared-dataset" => (
            FailureReason::HostLimit,
            vec![format!("{:?}", hostile::UNDECLARED_DATASET)],
        ),
        // The runtime bounds writes by fuel per byte: the write that does not fit names its price.
        "huge-state" => (
            FailureReason::OutOfFuel,
            vec![format!(
                "out of fuel in state_set: the call costs {}",
                FuelSchedule::default()
                    .state_set
                    .cost(8 + hostile::HUGE_STATE_VALUE_LEN as u64)
            )],
        ),
        other => panic!("unknown behaviour {other}"),
    };
    assert!(!inv.ok, "{behaviour} must fail: {inv:?}");
    assert_eq!(
        inv.failure.as_deref(),
        Some(reason.as_str()),
        "{behaviour}: {inv:?}"
    );
    let message = inv.message.as_deref().unwrap_or_default();
    for needle in &needles {
        assert!(
            message.contains(needle.as_str()),
            "{behaviour}: message {message:?} lacks {needle:?}"
        );
    }
    assert_eq!(
        inv.records_emitted, 0,
        "{behaviour}: a failed invocation emits nothing"
    );
    if matches!(behaviour, "loop" | "huge-state") {
        assert_eq!(
            inv.fuel_used, HOSTILE_FUEL,
            "{behaviour} burns exactly its budget, no more"
        );
    }
    assert!(inv.fuel_used <= HOSTILE_FUEL, "{behaviour}: {inv:?}");
}

/// erc20's keyed datasets computed natively (SDK mock host) from the same encoded records, without hostile
/// traffic. (`transfers` is append-only: a record is looked up with the block that appended it, which the native
/// run does not know; tests/tests/append_only.rs pages it.)
fn erc20_reference(records: &[Vec<u8>]) -> BTreeMap<(String, Vec<u8>), Vec<u8>> {
    let mut host = MockHost::new();
    for record in records {
        let outcome = host.process_raw(&erc20_transfers::MANUSCRIPT, "ethereum.logs", record);
        assert!(outcome.is_success(), "{outcome:?}");
    }
    let mut out = BTreeMap::new();
    for ds in [erc20_transfers::BALANCES, erc20_transfers::SUPPLY] {
        for (k, v) in host.dataset(ds) {
            out.insert((ds.to_string(), k), v);
        }
    }
    out
}

#[test]
fn hostile_manuscripts_do_not_stall_the_chain_or_touch_other_results() {
    let started = Instant::now();
    let mut net = LocalNet::new(4, 0);
    net.start_all();
    net.wait_all(2, WAIT);
    let client = net.nodes[0].client();
    let key = dev_key();
    let chain_id = net.chain_id.clone();

    // Deploy both manuscripts.
    let mut nonce = client.account_nonce(key.public_key()).expect("nonce");
    let mut deploy_hashes = Vec::new();
    for (wasm, fuel) in [
        (manuscript_fixtures::ERC20_TRANSFERS, ERC20_FUEL),
        (manuscript_fixtures::HOSTILE, HOSTILE_FUEL),
    ] {
        let tx = sign(
            &chain_id,
            &key,
            nonce,
            TxPayload::Deploy {
                wasm: wasm.to_vec(),
                fuel_limit_per_record: fuel,
                sources: Vec::new(),
            },
        );
        deploy_hashes.push(client.submit_tx(&tx).expect("submit deploy"));
        nonce += 1;
    }
    for (hash, name) in deploy_hashes
        .into_iter()
        .zip(["erc20-transfers", "hostile"])
    {
        let (_, receipt) = client.wait_for_tx(hash, WAIT).expect("deploy committed");
        assert!(
            matches!(&receipt.outcome, ReceiptOutcomeJson::Deployed { manuscript, .. } if manuscript == name),
            "deploy receipt: {receipt:?}"
        );
    }

    let rss = |net: &LocalNet| -> Vec<u64> {
        net.nodes
            .iter()
            .map(|n| n.rss_kib().expect("node process memory"))
            .collect()
    };
    let rss_before = rss(&net);

    // Sign everything first, then submit back to back so erc20 and hostile transactions share blocks.
    let text =
        std::fs::read_to_string(manuscript_fixtures::erc20_logs_path()).expect("example data");
    let erc20 = encode_records(&text, "ethereum.logs", Schema::Auto).expect("encode logs");
    let erc20 = &erc20[..ERC20_LOGS];
    let mut txs = Vec::new(); // (tx, Some(hostile records) | None for erc20)
    for (j, chunk) in erc20.chunks(ERC20_BATCH).enumerate() {
        let tx = sign(
            &chain_id,
            &key,
            nonce,
            TxPayload::Ingest {
                source: "ethereum.logs".into(),
                records: chunk.iter().collect(),
            },
        );
        txs.push((tx, None));
        nonce += 1;
        let records = if j == ERC20_LOGS / ERC20_BATCH / 2 {
            // The panic storm: many panics in one transaction, with controls around them.
            let mut r = vec![("ok".to_string(), format!("ok-{j}-storm-first"))];
            r.extend((0..PANIC_STORM).map(|k| ("panic".to_string(), format!("panic-{j}-{k}"))));
            r.push(("ok".into(), format!("ok-{j}-storm-last")));
            r
        } else {
            hostile_records(j)
        };
        let tx = sign(
            &chain_id,
            &key,
            nonce,
            TxPayload::Ingest {
                source: "hostile".into(),
                records: encode_kv(&records).into(),
            },
        );
        txs.push((tx, Some(records)));
        nonce += 1;
    }
    let watch = HeightWatch::start(&net);
    let submitted = Instant::now();
    // Each erc20 batch and its hostile transaction back to back (same block), pairs a little apart (many blocks).
    let mut hashes = Vec::new();
    for pair in txs.chunks(2) {
        for (tx, _) in pair {
            hashes.push(client.submit_tx(tx).expect("submit ingest"));
        }
        std::thread::sleep(PAIR_SPACING);
    }
    let mut committed = Vec::new(); // (height, receipt)
    for hash in &hashes {
        committed.push(client.wait_for_tx(*hash, WAIT).expect("ingest committed"));
    }
    let processing = submitted.elapsed();
    let last = committed.iter().map(|(h, _)| *h).max().unwrap();
    let first = committed.iter().map(|(h, _)| *h).min().unwrap();
    // Every node keeps committing past the hostile blocks.
    net.wait_all(last + 2, WAIT);
    let worst_wall = watch.finish();
    let rss_after = rss(&net);

    // Receipts carry the reasons; erc20 invocations all succeed.
    let mut ok_values = Vec::new(); // emitted `out` keys of successful `ok` records, in execution order
    let mut hostile_heights = BTreeSet::new();
    let mut erc20_heights = BTreeSet::new();
    let mut examples = BTreeMap::new(); // behaviour -> (failure, message) of its first record
    for ((_, records), (height, receipt)) in txs.iter().zip(&committed) {
        let invs = invocations(receipt);
        match records {
            None => {
                erc20_heights.insert(*height);
                assert_eq!(invs.len(), ERC20_BATCH);
                for inv in invs {
                    assert_eq!(inv.manuscript, "erc20-transfers");
                    assert!(inv.ok, "erc20 invocation failed: {inv:?}");
                }
            }
            Some(records) => {
                hostile_heights.insert(*height);
                assert_eq!(invs.len(), records.len(), "one invocation per record");
                for (index, ((behaviour, value), inv)) in records.iter().zip(invs).enumerate() {
                    assert_eq!(inv.record_index as usize, index);
                    assert_eq!(inv.manuscript, "hostile");
                    assert_hostile_invocation(behaviour, inv);
                    examples
                        .entry(behaviour.clone())
                        .or_insert_with(|| (inv.failure.clone(), inv.message.clone()));
                    if behaviour == "ok" {
                        ok_values.push(value.clone());
                    }
                }
            }
        }
    }
    for (behaviour, (failure, message)) in &examples {
        eprintln!("receipt of {behaviour:>10}: failure {failure:?}, message {message:?}");
    }
    let shared: Vec<u64> = hostile_heights
        .intersection(&erc20_heights)
        .copied()
        .collect();
    eprintln!(
        "hostile txs at heights {hostile_heights:?}; erc20 txs at {erc20_heights:?}; shared blocks {shared:?}"
    );
    assert!(
        !shared.is_empty(),
        "at least one block carries both erc20 and hostile records"
    );

    // The chain kept its block interval: consecutive header times stay bounded through the hostile blocks.
    let mut calm_gap = 0; // before any hostile record, for comparison
    for h in 3..first {
        let (a, b) = (client.block(Some(h - 1)), client.block(Some(h)));
        calm_gap =
            calm_gap.max(b.expect("block").header.time_ms - a.expect("block").header.time_ms);
    }
    let mut max_gap = 0;
    let mut hostile_fuel = Vec::new();
    let mut prev = client.block(Some(first - 1)).expect("block").header;
    for h in first..=last + 1 {
        let header = client.block(Some(h)).expect("block").header;
        max_gap = max_gap.max(header.time_ms - prev.time_ms);
        if hostile_heights.contains(&h) {
            hostile_fuel.push((h, header.fuel_used));
        }
        prev = header;
    }
    eprintln!(
        "{} txs ({} hostile records) committed in {processing:?} over heights {first}..={last}; \
         max block gap {max_gap} ms \
         (before: {calm_gap} ms); longest wall time without a commit per node {worst_wall:?}",
        txs.len(),
        txs.iter()
            .filter_map(|(_, r)| r.as_ref().map(Vec::len))
            .sum::<usize>(),
    );
    eprintln!("fuel used by blocks with hostile records (height, fuel): {hostile_fuel:?}");
    assert!(
        max_gap <= MAX_BLOCK_GAP_MS,
        "a block took {max_gap} ms after its parent"
    );
    for (i, w) in worst_wall.iter().enumerate() {
        assert!(
            *w <= Duration::from_millis(MAX_BLOCK_GAP_MS + 1_000),
            "node{i} went {w:?} without committing"
        );
    }

    // Same chain everywhere.
    for h in 1..=last + 1 {
        let reference = net.nodes[0].client().block(Some(h)).expect("block");
        for i in 1..4 {
            let other = net.nodes[i].client().block(Some(h)).expect("block");
            assert_eq!(other.hash, reference.hash, "block {h} differs on node{i}");
            assert_eq!(
                other.header.state_root, reference.header.state_root,
                "state root at {h} differs on node{i}"
            );
        }
    }

    // Other manuscripts' results are untouched: erc20 records equal the native ones, with proofs that verify.
    let trust =
        Trust::genesis(&Genesis::load(&net.genesis_path()).expect("genesis")).expect("trust");
    let reference = erc20_reference(erc20);
    assert!(reference.len() > 24, "{}", reference.len());
    let step = reference.len() / 24;
    for (n, ((dataset, k), v)) in reference.iter().step_by(step).enumerate() {
        let bundle = net.nodes[n % 4]
            .client()
            .record("erc20-transfers", dataset, k, Some(last))
            .expect("record");
        let verdict = verify_bundle(&bundle, &trust).expect("proof verifies");
        assert_eq!(
            verdict.value.as_ref(),
            Some(v),
            "{dataset} record {} differs from the native result",
            hex(k)
        );
    }
    // The hostile manuscript's own successful records survived its failures, counted once each, in order.
    for (n, value) in ok_values.iter().enumerate() {
        if n % 7 != 0 && n + 1 != ok_values.len() {
            continue;
        }
        let bundle = net.nodes[n % 4]
            .client()
            .record(
                "hostile",
                "out",
                &value.as_bytes().to_vec().encode(),
                Some(last),
            )
            .expect("record");
        let verdict = verify_bundle(&bundle, &trust).expect("proof verifies");
        assert_eq!(
            verdict.value,
            Some((n as u64 + 1).encode()),
            "ok record {value}"
        );
    }

    // Huge state: the runtime's bound is fuel per byte written, so one invocation can stage at most
    // budget / per_byte bytes (all discarded on failure); the node's memory stays bounded.
    let per_byte = FuelSchedule::default().state_set.per_byte;
    eprintln!(
        "huge-state: at most {} KiB staged per invocation before fuel runs out ({} fuel, {} per byte)",
        HOSTILE_FUEL / per_byte / 1024,
        HOSTILE_FUEL,
        per_byte
    );
    for (i, (before, after)) in rss_before.iter().zip(&rss_after).enumerate() {
        eprintln!(
            "node{i}: VmRSS {} MiB before, {} MiB after",
            before / 1024,
            after / 1024
        );
        assert!(
            after.saturating_sub(*before) <= MAX_RSS_GROWTH_KIB,
            "node{i} grew from {before} KiB to {after} KiB"
        );
    }
    eprintln!("whole test: {:?}", started.elapsed());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A manuscript may ask for `max_fuel_per_record` per record, so one transaction of loop records may ask for
/// many times the block's fuel budget. Before the budget was enforced while executing, such a transaction took
/// each node many seconds, longer than the propose timeout, and stalled the chain (measured: ~52 s for one
/// block with 20 loops at 1e9 fuel; above `max_block_fuel` it was retried at every height forever). Now the
/// block's budget caps execution: the transaction fails with a reason naming the budget, its nonce is consumed,
/// and the next transaction commits right after.
#[test]
fn one_max_fuel_transaction_does_not_stall_the_chain() {
    let mut net = LocalNet::new(4, 0);
    net.start_all();
    net.wait_all(2, WAIT);
    let client = net.nodes[0].client();
    let key = dev_key();
    let fuel = Limits::default().max_fuel_per_record;
    let deploy = sign(
        &net.chain_id,
        &key,
        0,
        TxPayload::Deploy {
            wasm: manuscript_fixtures::HOSTILE.to_vec(),
            fuel_limit_per_record: fuel,
            sources: Vec::new(),
        },
    );
    let hash = client.submit_tx(&deploy).expect("submit deploy");
    let (deployed, _) = client.wait_for_tx(hash, WAIT).expect("deploy committed");
    let loops = 20;
    let records = (0..loops)
        .map(|i| KvRecord::new("loop", i.to_string()).encode())
        .collect();
    let tx = sign(
        &net.chain_id,
        &key,
        1,
        TxPayload::Ingest {
            source: "hostile".into(),
            records,
        },
    );
    let hash = client.submit_tx(&tx).expect("submit ingest");
    let (height, receipt) = client
        .wait_for_tx(hash, Duration::from_secs(30))
        .expect("the loop transaction commits");
    match &receipt.outcome {
        ReceiptOutcomeJson::Failed { reason } => {
            assert!(reason.contains("fuel budget"), "{reason}")
        }
        other => panic!("expected the block's fuel budget to fail it, got {other:?}"),
    }
    let max_block_fuel = cvm_host::chain::genesis::ChainParams::default().max_block_fuel;
    assert!(receipt.fuel_used <= max_block_fuel, "{receipt:?}");
    let next = sign(
        &net.chain_id,
        &key,
        2,
        TxPayload::Ingest {
            source: "hostile".into(),
            records: vec![KvRecord::new("ok", "after").encode()].into(),
        },
    );
    let hash = client.submit_tx(&next).expect("submit the next ingest");
    let (after, receipt) = client
        .wait_for_tx(hash, Duration::from_secs(30))
        .expect("the next transaction commits");
    assert!(invocations(&receipt)[0].ok, "{receipt:?}");
    let mut prev = client.block(Some(deployed)).expect("block").header.time_ms;
    for h in deployed + 1..=after.max(height) {
        let time = client.block(Some(h)).expect("block").header.time_ms;
        assert!(
            time - prev <= MAX_BLOCK_GAP_MS,
            "block {h} came {} ms after its parent",
            time - prev
        );
        prev = time;
    }
}
