//! Section `calibration`: how much time one unit of fuel stands for, by what it pays for.
//!
//! Fuel is the CVM's only bound on a block's execution time, so it is sound only if a unit of fuel costs about
//! the same time whatever it pays for: plain wasm instructions (1 unit each) or host functions (`base + per_byte
//! × bytes` from the [`FuelSchedule`]). If a host function is cheap in fuel but slow, a manuscript can make blocks
//! slow within its fuel limit.
//!
//! Method: a hand-written manuscript (`calibration.wat`) runs one loop per record (arithmetic, memory, calls,
//! bulk memory, or one host function with small or large payloads). Each case runs as a real block
//! ([`BlockExecutor`](cvm_runtime::BlockExecutor) over a state of 3 × `M` keys, so the trie commit of the writes
//! is included) at two loop counts; the difference gives time and fuel (from the receipt) per iteration, free of
//! the fixed per-block cost. Host-function costs are split into base and per-byte parts from the small and large
//! payloads, and converted into the fuel that would make them cost the plain-wasm time per unit: the suggested
//! schedule. It is printed, never applied: the schedule is part of consensus.

use std::hint::black_box;
use std::path::Path;

use cvm_runtime::{
    FuelSchedule, HostCost, InvocationOutcome, SignedTransaction, TxPayload, TxStatus,
};
use plotters::prelude::*;

use crate::support::{MemChain, engine};
use crate::{Bench, Goal, Opts, Row, fmt_num, markdown_table};

const SECTION: &str = "calibration";
const SOURCE: &str = "calib";
/// The calibration manuscript (also used by the `cvm` section for a compute-only comparison with wasmi).
pub const WAT: &str = include_str!("calibration.wat");
/// Its source id and its dataset.
pub const CALIB_SOURCE: &str = SOURCE;
pub const CALIB_DATASET: &str = "d";
/// The op of calibration.wat that runs the integer arithmetic loop.
pub const OP_ARITHMETIC: u32 = 1;

/// Large payload of the per-byte cases.
const LARGE: u32 = 16 * 1024;

/// What an op of calibration.wat exercises.
#[derive(Clone, Copy)]
enum Kind {
    /// Plain wasm instructions, part of the reference time per fuel.
    Wasm,
    /// Bulk memory (`memory.copy`/`memory.fill`): wasmtime charges 1 fuel per byte on top of the instruction.
    Bulk,
    /// One call of the host function per iteration, with this many bytes charged per call.
    Host(fn(&FuelSchedule) -> HostCost, u64),
}

struct Case {
    name: &'static str,
    /// The host function (or the instruction class) the case belongs to, for the suggested schedule.
    function: &'static str,
    kind: Kind,
    op: u32,
    /// Loop counts of the two runs whose difference is measured.
    n: (u32, u32),
    a: u32,
    b: u32,
}

impl Case {
    /// Other loop counts, for calls too cheap to stand out of the per-block cost at the default counts.
    fn runs(mut self, n: (u32, u32)) -> Self {
        self.n = n;
        self
    }
}

/// What a case measured, per loop iteration.
struct Measured {
    name: &'static str,
    function: &'static str,
    kind: Kind,
    ns: f64,
    fuel: f64,
}

impl Measured {
    fn ns_per_fuel(&self) -> f64 {
        self.ns / self.fuel
    }
}

const TAG_SMALL: u32 = b'a' as u32;
const TAG_LARGE: u32 = b'b' as u32;
const TAG_ABSENT: u32 = b'c' as u32;

fn cases(m: u32) -> Vec<Case> {
    let wasm = |name, op| Case {
        name,
        function: "wasm",
        kind: Kind::Wasm,
        op,
        n: (100_000, 1_000_000),
        a: 0,
        b: 0,
    };
    let bulk = |name, op| Case {
        name,
        function: "bulk memory",
        kind: Kind::Bulk,
        op,
        n: (100, 1_000),
        a: 65_536,
        b: 0,
    };
    // Host cases: n up to m (each key used once per run) and at most 1,000 (emits per invocation are capped).
    let n = (m / 10, m);
    let host = |name, function, cost: fn(&FuelSchedule) -> HostCost, bytes, op, a, b| Case {
        name,
        function,
        kind: Kind::Host(cost, bytes),
        op,
        n,
        a,
        b,
    };
    let large = u64::from(LARGE);
    vec![
        wasm("arithmetic loop (i64 mul/add/xor/rotl)", OP_ARITHMETIC),
        wasm("memory loads and stores", 2),
        wasm("direct calls", 3),
        wasm("indirect calls", 4),
        bulk("memory.copy of 64 KiB", 5),
        bulk("memory.fill of 64 KiB", 6),
        host(
            "state_get: 5 B key, 32 B value",
            "state_get",
            |f| f.state_get,
            5 + 32,
            10,
            TAG_SMALL,
            m,
        ),
        host(
            "state_get: 5 B key, 16 KiB value",
            "state_get",
            |f| f.state_get,
            5 + large,
            10,
            TAG_LARGE,
            m,
        ),
        host(
            "state_get: absent key",
            "state_get (absent)",
            |f| f.state_get,
            5,
            10,
            TAG_ABSENT,
            m,
        ),
        host(
            "state_set: new key, 32 B value",
            "state_set",
            |f| f.state_set,
            5 + 32,
            12,
            32,
            10_000_000,
        ),
        host(
            "state_set: new key, 16 KiB value",
            "state_set",
            |f| f.state_set,
            5 + large,
            12,
            LARGE,
            10_000_000,
        ),
        host(
            "state_remove: existing key",
            "state_remove",
            |f| f.state_remove,
            5,
            13,
            0,
            m,
        ),
        host(
            "state_next_key: 1 B prefix, 5 B keys",
            "state_next_key",
            |f| f.state_next_key,
            1 + 5 + 5,
            14,
            0,
            0,
        ),
        host(
            "state_next_key: 1019 B prefix, 1023 B keys",
            "state_next_key",
            |f| f.state_next_key,
            1019 + 1023 + 1023,
            14,
            1,
            0,
        ),
        host(
            "emit: 5 B key, 32 B value",
            "emit",
            |f| f.emit,
            1 + 5 + 32,
            15,
            32,
            0,
        ),
        host(
            "emit: 5 B key, 16 KiB value",
            "emit",
            |f| f.emit,
            1 + 5 + large,
            15,
            LARGE,
            0,
        ),
        host(
            "block_height",
            "block_height/time",
            |f| f.block_info,
            0,
            16,
            0,
            0,
        )
        .runs((10 * m, 100 * m)),
        host("log: 16 B", "log", |f| f.log, 16, 17, 16, 0).runs((m, 10 * m)),
        host("log: 4 KiB", "log", |f| f.log, 4096, 17, 4096, 0),
    ]
}

/// A record of calibration.wat: run `op` for `n` iterations with arguments `a`, `b`.
pub fn record(op: u32, n: u32, a: u32, b: u32) -> Vec<u8> {
    [op, n, a, b].iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The calibration manuscript deployed on a chain holding `m` keys of each kind.
fn setup(m: u32) -> MemChain {
    let wasm = wat::parse_str(WAT).expect("calibration.wat parses");
    let mut chain = MemChain::new(engine(true));
    chain.deploy(&wasm);
    let outcome = chain.ingest(SOURCE, vec![record(19, m, LARGE, 0)]);
    assert_ok(&outcome.receipts[0].status, "setup");
    chain
}

/// Invocation outcomes of an ingest receipt.
fn invocations(status: &TxStatus) -> Vec<&InvocationOutcome> {
    match status {
        TxStatus::Ingested { invocations, .. } => invocations.iter().map(|i| &i.outcome).collect(),
        other => panic!("ingest not applied: {other:?}"),
    }
}

fn assert_ok(status: &TxStatus, what: &str) {
    for outcome in invocations(status) {
        assert!(outcome.is_ok(), "{what}: {outcome:?}");
    }
}

/// Time (ns) of executing the block with `tx` on the chain's head, and the fuel it used.
fn block_cost(chain: &MemChain, opts: &Opts, txs: [&SignedTransaction; 2]) -> [(f64, f64); 2] {
    let ctx = chain.next_context();
    let run = |tx: &SignedTransaction| {
        chain
            .executor
            .execute_block(chain.root, &ctx, std::slice::from_ref(tx))
            .expect("block executes")
    };
    let fuel = txs.map(|tx| run(tx).fuel_used as f64);
    let mut first = || {
        black_box(run(txs[0]));
    };
    let mut second = || {
        black_box(run(txs[1]));
    };
    let ns = crate::measure_side_by_side(opts.secs, &mut [(1, &mut first), (1, &mut second)]);
    [(ns[0], fuel[0]), (ns[1], fuel[1])]
}

fn measure_case(chain: &MemChain, opts: &Opts, case: &Case) -> Measured {
    let txs = [case.n.0, case.n.1].map(|n| {
        chain.tx(TxPayload::Ingest {
            source: SOURCE.into(),
            records: vec![record(case.op, n, case.a, case.b)].into(),
        })
    });
    for tx in &txs {
        let outcome = chain
            .executor
            .execute_block(chain.root, &chain.next_context(), std::slice::from_ref(tx))
            .expect("block executes");
        assert_ok(&outcome.receipts[0].status, case.name);
    }
    let [(t1, f1), (t2, f2)] = block_cost(chain, opts, [&txs[0], &txs[1]]);
    let iterations = f64::from(case.n.1 - case.n.0);
    Measured {
        name: case.name,
        function: case.function,
        kind: case.kind,
        ns: (t2 - t1) / iterations,
        fuel: (f2 - f1) / iterations,
    }
}

/// `abort` ends the invocation, so it is measured per record: `r` aborting records against `r` no-op records
/// in one ingest. The difference includes the trap, the discarded writes and the next record's fresh instance.
fn measure_abort(chain: &MemChain, opts: &Opts, r: u32) -> Measured {
    let msg = 16;
    let txs = [0, 18].map(|op| {
        chain.tx(TxPayload::Ingest {
            source: SOURCE.into(),
            records: vec![record(op, 0, msg, 0); r as usize].into(),
        })
    });
    let outcome = chain
        .executor
        .execute_block(
            chain.root,
            &chain.next_context(),
            std::slice::from_ref(&txs[1]),
        )
        .expect("block executes");
    assert!(
        invocations(&outcome.receipts[0].status)
            .iter()
            .all(|o| !o.is_ok()),
        "abort traps"
    );
    let [(t0, f0), (t1, f1)] = block_cost(chain, opts, [&txs[0], &txs[1]]);
    Measured {
        name: "abort: 16 B message (per record: trap + next instance)",
        function: "abort",
        kind: Kind::Host(|f| f.abort, u64::from(msg)),
        ns: (t1 - t0) / f64::from(r),
        fuel: (f1 - f0) / f64::from(r),
    }
}

/// Two significant digits.
fn round2(v: f64) -> f64 {
    if v <= 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(v.log10().floor() as i32 - 1);
    (v / scale).round() * scale
}

/// Current and suggested price of one host function.
struct Suggestion {
    function: &'static str,
    current: HostCost,
    base: f64,
    per_byte: Option<f64>,
}

/// Fits `base + per_byte × bytes` nanoseconds to the cases of each host function (small and large payloads),
/// net of the loop's own wasm instructions, and converts it to fuel at `reference` ns per fuel.
fn suggest(measured: &[Measured], reference: f64) -> Vec<Suggestion> {
    let schedule = FuelSchedule::default();
    let mut out: Vec<Suggestion> = Vec::new();
    let mut functions: Vec<&'static str> = Vec::new();
    for m in measured {
        if matches!(m.kind, Kind::Host(..)) && !functions.contains(&m.function) {
            functions.push(m.function);
        }
    }
    for function in functions {
        let group: Vec<(&Measured, HostCost, u64)> = measured
            .iter()
            .filter(|m| m.function == function)
            .filter_map(|m| match m.kind {
                Kind::Host(cost, bytes) => Some((m, cost(&schedule), bytes)),
                _ => None,
            })
            .collect();
        let (small, cost, small_bytes) = group[0];
        // Fuel per iteration beyond the host charge: the loop's wasm instructions, priced at the reference.
        let loop_ns = (small.fuel - cost.cost(small_bytes) as f64).max(0.0) * reference;
        let per_byte_ns = group
            .iter()
            .skip(1)
            .find(|(_, _, bytes)| *bytes > small_bytes)
            .map(|(large, _, bytes)| {
                ((large.ns - small.ns) / (*bytes - small_bytes) as f64).max(0.0)
            });
        let base_ns =
            (small.ns - loop_ns - per_byte_ns.unwrap_or(0.0) * small_bytes as f64).max(0.0);
        out.push(Suggestion {
            function,
            current: cost,
            base: round2(base_ns / reference),
            per_byte: per_byte_ns.map(|ns| round2(ns / reference)),
        });
    }
    out
}

/// A block within its fuel budget must execute well inside the 2 s propose timeout, on every validator.
const WORST_BLOCK_MS: f64 = 500.0;

pub fn run(bench: &mut Bench, opts: &Opts) {
    let m = if opts.quick { 200 } else { 1_000 };
    let chain = setup(m);
    let mut measured: Vec<Measured> = Vec::new();
    for case in cases(m) {
        let mut case = case;
        if opts.quick && matches!(case.kind, Kind::Wasm) {
            case.n = (10_000, 100_000);
        }
        let result = measure_case(&chain, opts, &case);
        eprintln!(
            "[calibration] {}: {:.1} ns, {:.0} fuel per iteration",
            result.name, result.ns, result.fuel
        );
        measured.push(result);
    }
    measured.push(measure_abort(
        &chain,
        opts,
        if opts.quick { 20 } else { 100 },
    ));

    let plain: Vec<f64> = measured
        .iter()
        .filter(|m| matches!(m.kind, Kind::Wasm))
        .map(Measured::ns_per_fuel)
        .collect();
    let reference = plain.iter().sum::<f64>() / plain.len() as f64;
    for m in &measured {
        bench.row(
            Row::new(SECTION, m.name, m.ns_per_fuel(), "ns/fuel").baseline("plain wasm", reference),
        );
    }
    // What the schedule is for: a block's fuel budget bounds its execution time whatever the manuscripts
    // call. The slowest operation per unit of fuel decides the worst block.
    let max_block_fuel = cvm_host::chain::genesis::ChainParams::default().max_block_fuel;
    let slowest = measured
        .iter()
        .max_by(|a, b| a.ns_per_fuel().total_cmp(&b.ns_per_fuel()))
        .expect("cases measured");
    bench.row(
        Row::new(
            SECTION,
            format!(
                "worst block: max_block_fuel ({max_block_fuel:.0e}) spent on the slowest operation ({})",
                slowest.name
            ),
            slowest.ns_per_fuel() * max_block_fuel as f64 / 1e6,
            "ms",
        )
        .baseline("plain wasm", reference * max_block_fuel as f64 / 1e6)
        .goal(Goal::AtMost(WORST_BLOCK_MS)),
    );

    let detail: Vec<Vec<String>> = measured
        .iter()
        .map(|m| {
            vec![
                m.name.to_string(),
                fmt_num(m.ns),
                fmt_num(m.fuel),
                format!("{:.3}", m.ns_per_fuel()),
                format!("{}×", fmt_num(m.ns_per_fuel() / reference)),
            ]
        })
        .collect();
    bench.note(
        SECTION,
        format!(
            "Per call (per loop iteration, loop instructions included; abort: per record). Plain-wasm reference: \
             {reference:.3} ns per fuel (mean of the 4 instruction mixes). Host-call cases run in real blocks over \
             {m} keys of each kind, trie commit of their writes included.\n\n{}",
            markdown_table(
                &["operation", "ns/call", "fuel/call", "ns per fuel", "× plain wasm"],
                &detail
            )
        ),
    );

    let suggestions = suggest(&measured, reference);
    let rows: Vec<Vec<String>> = suggestions
        .iter()
        .map(|s| {
            vec![
                s.function.to_string(),
                fmt_num(s.current.base as f64),
                s.current.per_byte.to_string(),
                fmt_num(s.base),
                s.per_byte.map(fmt_num).unwrap_or_else(|| "–".into()),
            ]
        })
        .collect();
    bench.note(
        SECTION,
        format!(
            "Suggested FuelSchedule (\"now\" is the schedule in force; changing it is a consensus change): the \
             fuel that makes each host function cost {reference:.3} ns per unit like plain wasm, from `ns = base + per_byte × bytes` fitted to the small and \
             large cases. Per-byte prices below 1 need a coarser unit (e.g. per 16 bytes) since `HostCost` holds \
             integers.\n\n{}",
            markdown_table(
                &[
                    "host function",
                    "base now",
                    "per byte now",
                    "base suggested",
                    "per byte suggested"
                ],
                &rows
            )
        ),
    );

    if let Some(path) = &opts.plot {
        match plot(path, &measured, reference) {
            Ok(()) => bench.note(SECTION, format!("Chart: {}", path.display())),
            Err(e) => eprintln!("[calibration] cannot write {}: {e}", path.display()),
        }
    }
}

/// Horizontal bar chart of ns per fuel by operation (log scale), with the plain-wasm reference as a line.
fn plot(path: &Path, measured: &[Measured], reference: f64) -> Result<(), String> {
    let n = measured.len();
    let values: Vec<f64> = measured.iter().map(Measured::ns_per_fuel).collect();
    let lo = values.iter().copied().fold(reference, f64::min) / 2.0;
    let hi = values.iter().copied().fold(reference, f64::max) * 2.0;
    let root = SVGBackend::new(path, (1100, 34 * n as u32 + 140)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "CVM fuel calibration: nanoseconds per unit of fuel",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(360)
        .build_cartesian_2d((lo..hi).log_scale(), (0..n).into_segmented())
        .map_err(|e| e.to_string())?;
    // Segment 0 is at the bottom: list the cases top-down in measuring order.
    let row = |i: usize| n - 1 - i;
    let labels: Vec<&str> = measured.iter().rev().map(|m| m.name).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).copied().unwrap_or("").to_string(),
            _ => String::new(),
        })
        .x_desc("ns per unit of fuel (log scale); line: plain wasm reference")
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(measured.iter().enumerate().map(|(i, m)| {
            let color = match m.kind {
                Kind::Wasm => BLUE,
                Kind::Bulk => MAGENTA,
                Kind::Host(..) => RED,
            };
            let mut bar = Rectangle::new(
                [
                    (lo, SegmentValue::Exact(row(i))),
                    (m.ns_per_fuel(), SegmentValue::Exact(row(i) + 1)),
                ],
                color.mix(0.6).filled(),
            );
            bar.set_margin(4, 4, 0, 0);
            bar
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![
                (reference, SegmentValue::Exact(0)),
                (reference, SegmentValue::Exact(n)),
            ],
            BLACK.stroke_width(2),
        )))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
