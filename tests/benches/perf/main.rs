//! `cargo bench -p cvm-tests --bench perf [-- OPTIONS]`: every performance figure of the project, measured in one
//! process run, printed at the end as one Markdown table per section with each ratio computed from two
//! measurements of this same run (so machine load affects both sides alike).
//!
//! Sections (each a module with its own doc comment saying what it measures and why):
//! - `cvm`: erc20 throughput native vs CVM (fuel on/off) vs the wasmi interpreter, instantiation, compile vs
//!   disk cache, trie commits, record proofs;
//! - `calibration`: time per unit of fuel for wasm instructions and for each host function, with suggested
//!   `FuelSchedule` values (printed only: the schedule is part of consensus);
//! - `consensus-sim`: heights/s of the consensus simulation, n = 4 and n = 100, with and without signatures;
//! - `network`: a real 4-validator network on loopback.
//!
//! Options (after `--`): `--only SECTION[,SECTION...]`, `--secs SECONDS` (measuring time per case, default 2),
//! `--plot PATH.svg` (the fuel calibration chart), `--quick` (smaller sizes: a smoke run).

mod calibration;
mod consensus_sim;
mod cvm;
mod network;
mod support;
mod wasmi_peer;

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Section names, in the order they run and print.
const SECTIONS: [&str; 4] = ["cvm", "calibration", "consensus-sim", "network"];

const USAGE: &str = "usage: cargo bench -p cvm-tests --bench perf -- [--only SECTION,...] [--secs SECONDS] \
[--plot PATH.svg] [--quick]\nsections: cvm, calibration, consensus-sim, network";

/// Command-line options, shared by every section.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Sections to run; `None`: all.
    pub only: Option<Vec<String>>,
    /// Measuring time of one case, in seconds.
    pub secs: f64,
    /// Where to write the fuel calibration chart (SVG).
    pub plot: Option<PathBuf>,
    /// Smaller sizes and fewer repetitions: checks that every case runs, figures are rough.
    pub quick: bool,
}

impl Opts {
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut opts = Opts {
            only: None,
            secs: 2.0,
            plot: None,
            quick: false,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                // `cargo bench` appends `--bench`.
                "--bench" => {}
                "--quick" => opts.quick = true,
                "--only" => {
                    let list: Vec<String> = value("--only")?
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect();
                    if let Some(unknown) = list.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
                        return Err(format!("unknown section {unknown:?}"));
                    }
                    opts.only = Some(list);
                }
                "--secs" => {
                    let secs: f64 = value("--secs")?
                        .parse()
                        .map_err(|e| format!("--secs: {e}"))?;
                    if !(secs > 0.0 && secs.is_finite()) {
                        return Err("--secs must be a positive number".into());
                    }
                    opts.secs = secs;
                }
                "--plot" => {
                    let path = PathBuf::from(value("--plot")?);
                    if path.extension().and_then(|e| e.to_str()) != Some("svg") {
                        return Err(format!(
                            "--plot {}: only SVG is written (plotters' PNG backend needs system fonts); \
                             convert the SVG if you need a PNG",
                            path.display()
                        ));
                    }
                    opts.plot = Some(path);
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(opts)
    }

    /// Whether `section` was asked for.
    pub fn wants(&self, section: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|s| s == section))
    }

    /// Nanoseconds per item of `f`, which processes `items` items per call, over the measuring time.
    pub fn measure(&self, items: u64, f: impl FnMut()) -> f64 {
        measure(self.secs, items, f)
    }

    /// Like [`Opts::measure`] for several cases at once, measured in alternating slices so that a change of
    /// machine load hits every case alike (the ratios between them are what matters).
    pub fn measure_side_by_side(&self, cases: &mut [(u64, &mut dyn FnMut())]) -> Vec<f64> {
        measure_side_by_side(self.secs * cases.len() as f64, cases)
    }
}

/// Number of slices a measurement is cut into; the best slice is kept (scheduler noise only ever slows down).
const SLICES: u32 = 5;

/// Nanoseconds per item of `f` (which processes `items` items per call): one warm-up call, then the best of
/// [`SLICES`] slices of `secs / SLICES` each (at least one call per slice).
pub fn measure(secs: f64, items: u64, f: impl FnMut()) -> f64 {
    let mut f = f;
    measure_side_by_side(secs, &mut [(items, &mut f)])[0]
}

/// Best-of-slices nanoseconds per item for each case, the cases taking turns slice by slice; `secs` is the
/// total time.
pub fn measure_side_by_side(secs: f64, cases: &mut [(u64, &mut dyn FnMut())]) -> Vec<f64> {
    for (_, f) in cases.iter_mut() {
        f(); // warm-up: caches, lazy initialisation, instance pool
    }
    let slice = Duration::from_secs_f64(secs / f64::from(SLICES) / cases.len().max(1) as f64);
    let mut best = vec![f64::MAX; cases.len()];
    for _ in 0..SLICES {
        for ((items, f), best) in cases.iter_mut().zip(&mut best) {
            let start = Instant::now();
            let mut calls = 0u64;
            while calls == 0 || start.elapsed() < slice {
                f();
                calls += 1;
            }
            let ns = start.elapsed().as_nanos() as f64 / (calls * (*items).max(1)) as f64;
            *best = best.min(ns);
        }
    }
    best
}

/// A target for a row: on its value, or on its ratio to the row's baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    AtLeast(f64),
    AtMost(f64),
    RatioAtLeast(f64),
    RatioAtMost(f64),
}

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Row {
    /// Section name (one of [`SECTIONS`]): the table the row goes to.
    pub section: &'static str,
    pub name: String,
    pub value: f64,
    /// Unit of `value`, e.g. `records/s`, `µs`, `ns/fuel`.
    pub unit: &'static str,
    /// A figure measured in the same run to compare with: (short name, value in the same unit). The table
    /// shows `value / baseline`.
    pub baseline: Option<(String, f64)>,
    pub goal: Option<Goal>,
}

impl Row {
    pub fn new(
        section: &'static str,
        name: impl Into<String>,
        value: f64,
        unit: &'static str,
    ) -> Self {
        Row {
            section,
            name: name.into(),
            value,
            unit,
            baseline: None,
            goal: None,
        }
    }

    pub fn baseline(mut self, name: impl Into<String>, value: f64) -> Self {
        self.baseline = Some((name.into(), value));
        self
    }

    pub fn goal(mut self, goal: Goal) -> Self {
        self.goal = Some(goal);
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        self.baseline
            .as_ref()
            .filter(|(_, b)| *b != 0.0)
            .map(|(_, b)| self.value / b)
    }

    /// Whether the goal is met; `None` without a goal (or without the baseline a ratio goal needs).
    pub fn met(&self) -> Option<bool> {
        match self.goal? {
            Goal::AtLeast(x) => Some(self.value >= x),
            Goal::AtMost(x) => Some(self.value <= x),
            Goal::RatioAtLeast(x) => self.ratio().map(|r| r >= x),
            Goal::RatioAtMost(x) => self.ratio().map(|r| r <= x),
        }
    }
}

/// Collects the rows and notes of every section and prints them as tables at the end.
#[derive(Default)]
pub struct Bench {
    rows: Vec<Row>,
    notes: Vec<(&'static str, String)>,
}

impl Bench {
    /// Records a row (and shows it at once on stderr, as progress).
    pub fn row(&mut self, row: Row) {
        let ratio = row
            .ratio()
            .map(|r| format!(" ({} {})", fmt_ratio(r), row.baseline.as_ref().unwrap().0))
            .unwrap_or_default();
        eprintln!(
            "[{}] {}: {} {}{ratio}",
            row.section,
            row.name,
            fmt_num(row.value),
            row.unit
        );
        self.rows.push(row);
    }

    /// Text printed under the section's table (e.g. a detailed breakdown).
    pub fn note(&mut self, section: &'static str, text: impl Into<String>) {
        self.notes.push((section, text.into()));
    }

    /// The rows recorded so far.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Every section's table and notes, in Markdown.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for section in SECTIONS {
            let rows: Vec<&Row> = self.rows.iter().filter(|r| r.section == section).collect();
            let notes: Vec<&String> = self
                .notes
                .iter()
                .filter(|(s, _)| *s == section)
                .map(|(_, n)| n)
                .collect();
            if rows.is_empty() && notes.is_empty() {
                continue;
            }
            out.push_str(&format!("\n### {section}\n\n"));
            if !rows.is_empty() {
                let cells: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.name.clone(),
                            format!("{} {}", fmt_num(r.value), r.unit),
                            match (&r.baseline, r.ratio()) {
                                (Some((name, _)), Some(ratio)) => {
                                    format!("{} {name}", fmt_ratio(ratio))
                                }
                                _ => String::new(),
                            },
                            r.goal.map(|g| fmt_goal(g, r.unit)).unwrap_or_default(),
                            match r.met() {
                                Some(true) => "yes".into(),
                                Some(false) => "**no**".into(),
                                None => String::new(),
                            },
                        ]
                    })
                    .collect();
                out.push_str(&markdown_table(
                    &["case", "value", "ratio (same run)", "goal", "met"],
                    &cells,
                ));
            }
            for note in notes {
                out.push('\n');
                out.push_str(note);
                if !note.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
        let goals: Vec<bool> = self.rows.iter().filter_map(Row::met).collect();
        out.push_str(&format!(
            "\nGoals met: {} of {}.\n",
            goals.iter().filter(|m| **m).count(),
            goals.len()
        ));
        out
    }
}

/// A Markdown table with aligned columns (numbers right-aligned when a column is all numbers).
pub fn markdown_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let width = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let numeric: Vec<bool> = (0..headers.len())
        .map(|c| {
            rows.iter().all(|r| {
                r.get(c).is_some_and(|cell| {
                    cell.chars()
                        .next()
                        .is_some_and(|ch| ch.is_ascii_digit() || ch == '-' || ch == '+')
                })
            })
        })
        .collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut s = String::from("|");
        for (c, cell) in cells.enumerate() {
            let pad = " ".repeat(widths[c] - width(cell));
            if numeric[c] {
                s.push_str(&format!(" {pad}{cell} |"));
            } else {
                s.push_str(&format!(" {cell}{pad} |"));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(&mut headers.iter().copied());
    out.push('|');
    for (c, w) in widths.iter().enumerate() {
        if numeric[c] {
            out.push_str(&format!("{}:|", "-".repeat(w + 1)));
        } else {
            out.push_str(&format!("{}|", "-".repeat(w + 2)));
        }
    }
    out.push('\n');
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// A number with about 3 significant digits (all the integer digits above 1000).
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        let int = format!("{:.0}", a);
        let mut grouped = String::new();
        for (i, ch) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        if v < 0.0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{v:.3}")
    }
}

pub fn fmt_ratio(r: f64) -> String {
    format!("{}×", fmt_num(r))
}

fn fmt_goal(goal: Goal, unit: &str) -> String {
    match goal {
        // Goals are round numbers: print them as written.
        Goal::AtLeast(x) => format!("≥ {x} {unit}"),
        Goal::AtMost(x) => format!("≤ {x} {unit}"),
        Goal::RatioAtLeast(x) => format!("≥ {x}×"),
        Goal::RatioAtMost(x) => format!("≤ {x}×"),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        return; // test discovery (`cargo test --benches -- --list`): nothing to list
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return;
    }
    let opts = match Opts::parse(args) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("perf: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load_before = load_average();
    let started = Instant::now();
    let mut bench = Bench::default();
    type Section = fn(&mut Bench, &Opts);
    let sections: [(&str, Section); 4] = [
        ("cvm", cvm::run),
        ("calibration", calibration::run),
        ("consensus-sim", consensus_sim::run),
        ("network", network::run),
    ];
    for (name, run) in sections {
        if opts.wants(name) {
            eprintln!("== {name}");
            run(&mut bench, &opts);
        }
    }
    println!(
        "\n## Performance figures\n\n{} cores, load average {} before and {} after, {:.0} s in all, {} s per case{}.",
        cores,
        load_before,
        load_average(),
        started.elapsed().as_secs_f64(),
        opts.secs,
        if opts.quick { ", --quick sizes" } else { "" }
    );
    print!("{}", bench.report());
}
