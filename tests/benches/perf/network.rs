//! Section `network`: a real network of `cvm-test-node` processes on loopback (tests/src/localnet.rs: libp2p
//! sockets, RocksDB homes, the bench profile's binary), measured from outside over the HTTP API as a user sees it.
//!
//! - empty blocks: heights/s and the time per height (p50/p99, from consecutive header times);
//! - catch-up: a fresh full node syncing the chain (blocks/s);
//! - end to end, on the pull path: an Ethereum source registered by governance and erc20-transfers deployed
//!   bound to it, every validator reading a local archive of ERC-20 transfers (generated before the network
//!   starts, `cvm_tests::eth_archive`: real-format blocks, binary archive format) and fetching, verifying and
//!   ingesting its blocks itself. Records/s finalized (from the deploy's commit to the source's head at the
//!   archive's last block) and each validator's CPU per finalized record (from just before the registration, so
//!   the feeds' prefetching and the deploy's compilation count), both against executing the same records with the
//!   CVM in this process; each validator's peak RSS (VmHWM). Also what reading and verifying an archive block
//!   costs per log in each archive format.
//! - append-only against keyed, same run: a second pass over the same archive file, on a fresh network of its own
//!   (so neither pass pays for the other's state or RocksDB compactions), with `erc20-transfers-keyed` (the same
//!   code with `transfers` keyed). Per pass: each validator's CPU and bytes written to storage (/proc/<pid>/io) per
//!   finalized record.

use std::path::Path;
use std::time::{Duration, Instant};

use cvm_host::chain::AccountKey;
use cvm_host::rpc::json::ReceiptOutcomeJson;
use cvm_host::sources::ethereum::archive::ArchiveFormat;
use cvm_host::sources::ethereum::{ArchiveEndpoint, SourceEndpoint, verify_block};
use cvm_runtime::sources::{Confirmations, EthereumSource, SourceBudget, SourceDef, SourceKind};
use cvm_runtime::{SignedTransaction, Transaction, TxPayload};
use cvm_tests::eth_archive::{Archive, ArchiveSpec, write_archive};
use cvm_tests::localnet::LocalNet;

use crate::cvm::{ERC20, ERC20_KEYED, cvm_pass};
use crate::support::engine;
use crate::{Bench, Goal, Opts, Row};

const SECTION: &str = "network";
const WAIT: Duration = Duration::from_secs(300);
const VALIDATORS: usize = 4;
const FULL_NODE: usize = VALIDATORS;
/// The Ethereum source of the end-to-end phase.
const SOURCE: &str = "ethereum-bench";
/// Its registration's chain id (the archive's transactions carry it too).
const SOURCE_CHAIN_ID: u64 = 1;
/// What one chain block may carry of the source: at most this many source blocks, and logs (past the first
/// block) within `MAX_LOGS`. erc20-transfers spends ~196,000 fuel per log of this archive, so `max_block_fuel`
/// (10^9) holds ~5,000 logs: a block's logs stay below that, or the proposer would find a source block out of
/// fuel and execute the block again without it.
const MAX_BLOCKS: u32 = 64;
const MAX_LOGS: u32 = 4_800;

pub fn run(bench: &mut Bench, opts: &Opts) {
    // The archive lives beside the networks, so that the keyed pass's network reads the same file.
    let archive_dir = tempfile::tempdir().expect("a directory for the archive");
    let spec = ArchiveSpec {
        logs: if opts.quick { 10_000 } else { 100_000 },
        chain_id: SOURCE_CHAIN_ID,
        ..ArchiveSpec::default()
    };
    let path = archive_dir.path().join("ethereum-bench.cvmeth");
    let generating = Instant::now();
    let archive = write_archive(&spec, &path, ArchiveFormat::Binary).expect("write the archive");
    eprintln!(
        "archive: {} blocks, {} logs, {:.0} MB, generated in {:.1} s",
        archive.blocks,
        archive.records.len(),
        archive.bytes as f64 / 1e6,
        generating.elapsed().as_secs_f64()
    );
    let mut net = network(1, &path);
    empty_blocks(bench, opts, &net);
    catch_up(bench, &mut net);
    archive_formats(bench, opts, &net.dir.path().join("formats"));
    let in_process = in_process(bench, opts, &archive);
    let append_only = pull_pass(&net, &archive, ERC20);
    end_to_end(bench, &net, &archive, in_process, &append_only);
    drop(net);
    // The same archive with `transfers` keyed, on a fresh network of its own: neither pass pays for the other's
    // state or RocksDB compactions.
    let keyed_net = network(0, &path);
    let keyed = pull_pass(&keyed_net, &archive, ERC20_KEYED);
    drop(keyed_net);
    append_only_vs_keyed(bench, &archive, &append_only, &keyed);
}

/// A started network of [`VALIDATORS`] validators (and `full_nodes` unstarted full nodes) whose validators read
/// the source [`SOURCE`] from the archive at `archive` (read by no one until the source is registered).
fn network(full_nodes: usize, archive: &Path) -> LocalNet {
    let mut net = LocalNet::new(VALIDATORS, full_nodes);
    for i in 0..VALIDATORS {
        net.set_source_endpoint(
            i,
            SOURCE,
            &format!("archive = {:?}", archive.display().to_string()),
        );
    }
    for i in 0..VALIDATORS {
        net.start(i);
    }
    for i in 0..VALIDATORS {
        net.wait_height(i, 2, WAIT);
    }
    net
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn empty_blocks(bench: &mut Bench, opts: &Opts, net: &LocalNet) {
    let heights: u64 = if opts.quick { 100 } else { 1000 };
    let from = net.status(0).expect("status").height;
    let started = Instant::now();
    net.wait_height(0, from + heights, WAIT);
    let secs = started.elapsed().as_secs_f64();
    let client = net.nodes[0].client();
    let times: Vec<u64> = (from..=from + heights)
        .map(|h| client.block(Some(h)).expect("block").header.time_ms)
        .collect();
    let mut intervals: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    intervals.sort_by(f64::total_cmp);
    let rate = heights as f64 / secs;
    let mut row = Row::new(
        SECTION,
        format!("{VALIDATORS} validators, empty blocks"),
        rate,
        "heights/s",
    );
    if let Some(sim) = find(bench, "consensus-sim", "n = 4, every node verifies") {
        row = row.baseline("simulation n = 4", sim);
    }
    bench.row(row);
    bench.row(
        Row::new(
            SECTION,
            "empty-block finality (time per height) p50",
            percentile(&intervals, 0.5),
            "ms",
        )
        .goal(Goal::AtMost(20.0)),
    );
    bench.row(Row::new(
        SECTION,
        "empty-block finality (time per height) p99",
        percentile(&intervals, 0.99),
        "ms",
    ));
}

fn catch_up(bench: &mut Bench, net: &mut LocalNet) {
    let target = net.status(0).expect("status").height;
    net.start(FULL_NODE);
    // From the first answer of its API (process and storage up), so start-up time is not counted.
    let deadline = Instant::now() + WAIT;
    let (started, from) = loop {
        if let Some(s) = net.status(FULL_NODE) {
            break (Instant::now(), s.height);
        }
        assert!(Instant::now() < deadline, "the full node did not start");
        std::thread::sleep(Duration::from_millis(5));
    };
    net.wait_height_polling(FULL_NODE, target, WAIT, Duration::from_millis(5));
    let secs = started.elapsed().as_secs_f64();
    net.stop(FULL_NODE);
    bench.row(
        Row::new(
            SECTION,
            format!("fresh full node syncs {} blocks", target - from),
            (target - from) as f64 / secs,
            "blocks/s",
        )
        .goal(Goal::AtLeast(1000.0)),
    );
}

/// Reading and verifying an archive block, per log, in each format: what a validator's feed spends before a
/// log reaches a manuscript. A smaller archive of the same kind of blocks, read whole each pass.
fn archive_formats(bench: &mut Bench, opts: &Opts, dir: &Path) {
    std::fs::create_dir_all(dir).expect("a directory for the format archives");
    let spec = ArchiveSpec {
        logs: if opts.quick { 2_000 } else { 10_000 },
        seed: 7,
        ..ArchiveSpec::default()
    };
    let json = write_archive(&spec, &dir.join("a.jsonl"), ArchiveFormat::JsonLines).expect("json");
    write_archive(&spec, &dir.join("a.cvmeth"), ArchiveFormat::Binary).expect("binary");
    let open = |name: &str| ArchiveEndpoint::open(&dir.join(name), SOURCE_CHAIN_ID).expect("opens");
    let (from_json, from_binary) = (open("a.jsonl"), open("a.cvmeth"));
    let read_all = |archive: &ArchiveEndpoint| {
        let (first, last) = archive.range().expect("blocks");
        for number in first..=last {
            let data = archive.block(number).expect("reads").expect("present");
            std::hint::black_box(verify_block(&data).expect("verifies"));
        }
    };
    let logs = json.records.len() as u64;
    let ns = opts.measure_side_by_side(&mut [
        (logs, &mut || read_all(&from_json)),
        (logs, &mut || read_all(&from_binary)),
    ]);
    bench.row(Row::new(
        SECTION,
        "pull: read + verify an archive block, per log (JSON Lines)",
        ns[0] / 1e3,
        "µs",
    ));
    bench.row(
        Row::new(
            SECTION,
            "pull: read + verify an archive block, per log (binary)",
            ns[1] / 1e3,
            "µs",
        )
        .baseline("JSON Lines", ns[0] / 1e3),
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Microseconds per record of erc20-transfers over the archive's own records in this process (the CVM with fuel,
/// fresh state each pass): what the end-to-end CPU per record is compared with.
fn in_process(bench: &mut Bench, opts: &Opts, archive: &Archive) -> f64 {
    let engine = engine(true);
    let code = engine.load(ERC20).expect("erc20 loads");
    let n = archive.records.len() as u64;
    let ns = opts.measure(n, || cvm_pass(&engine, &code, &archive.records));
    let us = ns / 1e3;
    bench.row(Row::new(
        SECTION,
        format!("erc20 CVM in-process over the archive's {n} records (fuel on)"),
        1e6 / us,
        "records/s",
    ));
    us
}

/// What one pass of the archive through the chain cost.
struct Pass {
    /// From the deploy's commit to the source's head at the archive's last block.
    secs: f64,
    /// CPU of all validators together, from just before the registration.
    cpu_secs: f64,
    /// Bytes all validators wrote to storage over the same span.
    write_bytes: u64,
    first_height: u64,
    last_height: u64,
}

/// Registers `source` (reading the archive), deploys `wasm` bound to it and waits until the source's head is the
/// archive's last block.
fn pull_pass(net: &LocalNet, archive: &Archive, wasm: &[u8]) -> Pass {
    let source = SOURCE;
    let client = net.nodes[0].client();
    let key = AccountKey::load(&net.governance_key()).expect("the governance key");
    let nonce = client.account_nonce(key.public_key()).expect("nonce");
    let register = TxPayload::RegisterSource {
        source: SourceDef {
            name: source.into(),
            kind: SourceKind::Ethereum(EthereumSource {
                chain_id: SOURCE_CHAIN_ID,
                start: archive.first,
                confirmations: Confirmations::Depth(0),
                budget: SourceBudget {
                    max_blocks: MAX_BLOCKS,
                    max_logs: MAX_LOGS,
                },
            }),
        },
    };
    let deploy = TxPayload::Deploy {
        wasm: wasm.to_vec(),
        fuel_limit_per_record: 10_000_000,
        sources: vec![source.into()],
    };
    let txs: Vec<SignedTransaction> = (nonce..)
        .zip([register, deploy])
        .map(|(nonce, payload)| {
            Transaction {
                chain_id: net.chain_id.clone(),
                signer: key.public_key(),
                nonce,
                payload,
            }
            .sign(&key.0)
        })
        .collect();
    let first_height = client.status().expect("status").height + 1;
    let cpu_before = validators_cpu(net);
    let written_before = validators_write_bytes(net);
    // Both in one go: consecutive nonces of one account are reaped in order, so the registration runs first and
    // the deploy finds the source registered (usually in the same block).
    let hashes: Vec<[u8; 32]> = txs
        .iter()
        .map(|tx| client.submit_tx(tx).expect("submit"))
        .collect();
    let deadline = Instant::now() + WAIT;
    for (hash, what) in hashes.iter().zip(["registration", "deploy"]) {
        loop {
            assert!(Instant::now() < deadline, "the {what} did not commit");
            match client.tx(*hash).expect("tx lookup") {
                cvm_host::rpc::json::TxLookupJson::Committed { receipt, .. } => {
                    assert!(
                        matches!(
                            receipt.outcome,
                            ReceiptOutcomeJson::SourceRegistered { .. }
                                | ReceiptOutcomeJson::Deployed { .. }
                        ),
                        "the {what} failed: {:?}",
                        receipt.outcome
                    );
                    break;
                }
                _ => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    }
    let started = Instant::now();
    loop {
        assert!(
            Instant::now() < deadline,
            "the source did not reach block {}\n{}",
            archive.last,
            net.log_tail(0, 30)
        );
        let head = client
            .sources()
            .expect("sources")
            .into_iter()
            .find(|s| s.definition.name() == source)
            .and_then(|s| s.head)
            .map(|h| h.number);
        if head.is_some_and(|h| h >= archive.last) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu_secs = validators_cpu(net) - cpu_before;
    let write_bytes = validators_write_bytes(net) - written_before;
    let last_height = client.status().expect("status").height;
    Pass {
        secs,
        cpu_secs,
        write_bytes,
        first_height,
        last_height,
    }
}

fn end_to_end(
    bench: &mut Bench,
    net: &LocalNet,
    archive: &Archive,
    in_process_us: f64,
    pass: &Pass,
) {
    let Pass {
        secs,
        cpu_secs,
        first_height,
        last_height,
        ..
    } = *pass;
    let total = archive.records.len();
    bench.row(
        Row::new(
            SECTION,
            format!("end to end (pull): {total} erc20 records finalized"),
            total as f64 / secs,
            "records/s",
        )
        .baseline("CVM in-process", 1e6 / in_process_us)
        .goal(Goal::AtLeast(50_000.0)),
    );
    // Wall-clock throughput on a shared 2-core machine swings between runs; the CPU each validator spends per
    // finalized record is the steadier figure for comparing changes.
    bench.row(
        Row::new(
            SECTION,
            "end to end (pull): CPU per finalized record, per validator (mean of 4)",
            cpu_secs * 1e6 / VALIDATORS as f64 / total as f64,
            "µs",
        )
        .baseline("CVM in-process", in_process_us)
        .goal(Goal::RatioAtMost(2.0)),
    );
    // In MB (10^6 bytes), the goal's unit: 150 MB is 143 MiB.
    let peaks: Vec<f64> = (0..VALIDATORS)
        .filter_map(|i| net.nodes[i].peak_rss_kib())
        .map(|k| k as f64 * 1024.0 / 1e6)
        .collect();
    bench.row(
        Row::new(
            SECTION,
            "peak RSS per validator (max of 4)",
            peaks.iter().copied().fold(0.0, f64::max),
            "MB",
        )
        .goal(Goal::AtMost(150.0)),
    );
    bench.note(
        SECTION,
        format!(
            "End to end: {} source blocks ({} to {}, {} logs, a {:.0} MB binary archive) in heights {}..={} ({:.1} \
             s); budget per height {MAX_BLOCKS} source blocks, {MAX_LOGS} logs. Peak RSS of each validator (VmHWM), \
             MB: {}.",
            archive.blocks,
            archive.first.number,
            archive.last,
            total,
            archive.bytes as f64 / 1e6,
            first_height,
            last_height,
            secs,
            peaks
                .iter()
                .map(|p| format!("{p:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
}

/// Append-only `transfers` against keyed, both passes over the same archive in this run.
fn append_only_vs_keyed(bench: &mut Bench, archive: &Archive, append_only: &Pass, keyed: &Pass) {
    let records = archive.records.len() as f64;
    let cpu_us = |p: &Pass| p.cpu_secs * 1e6 / VALIDATORS as f64 / records;
    let written = |p: &Pass| p.write_bytes as f64 / VALIDATORS as f64 / records;
    bench.row(Row::new(
        SECTION,
        "end to end (pull), transfers keyed: CPU per finalized record, per validator",
        cpu_us(keyed),
        "µs",
    ));
    bench.row(
        Row::new(
            SECTION,
            "end to end (pull), transfers append-only: CPU per finalized record, per validator",
            cpu_us(append_only),
            "µs",
        )
        .baseline("keyed", cpu_us(keyed)),
    );
    bench.row(
        Row::new(
            SECTION,
            "end to end (pull), transfers keyed: bytes written to disk per record, per validator",
            written(keyed),
            "B",
        )
        .baseline("archive bytes per record", archive.bytes as f64 / records),
    );
    bench.row(
        Row::new(
            SECTION,
            "end to end (pull), transfers append-only: bytes written to disk per record, per validator",
            written(append_only),
            "B",
        )
        .baseline("keyed", written(keyed)),
    );
    bench.note(
        SECTION,
        format!(
            "Append-only against keyed: the same {} logs from the same archive file, append-only on the main network \
             (heights {}..={}, {:.1} s), then keyed on a fresh network of its own (heights {}..={}, {:.1} s); bytes \
             written are /proc/<pid>/io write_bytes (RocksDB's log, flushes and compactions).",
            archive.records.len(),
            append_only.first_height,
            append_only.last_height,
            append_only.secs,
            keyed.first_height,
            keyed.last_height,
            keyed.secs,
        ),
    );
}

/// Bytes written to storage so far by all validators together.
fn validators_write_bytes(net: &LocalNet) -> u64 {
    (0..VALIDATORS)
        .map(|i| {
            net.nodes[i]
                .bytes_written()
                .expect("validator process running")
        })
        .sum()
}

/// CPU time used so far by all validators together, in seconds.
fn validators_cpu(net: &LocalNet) -> f64 {
    (0..VALIDATORS)
        .map(|i| {
            net.nodes[i]
                .cpu_time()
                .expect("validator process running")
                .as_secs_f64()
        })
        .sum()
}

/// A figure another section measured in this run (by section and the start of its row name).
fn find(bench: &Bench, section: &str, name_prefix: &str) -> Option<f64> {
    bench
        .rows()
        .iter()
        .find(|r| r.section == section && r.name.starts_with(name_prefix))
        .map(|r| r.value)
}
