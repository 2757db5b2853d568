//! `cvm query records`: pages of a dataset, printed as JSON lines or CSV, optionally saved as verifiable pages.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use super::args::NodeArgs;
use crate::api_client::{Client, PageRequest};
use crate::hex_text::{from_hex, to_hex};
use crate::record_page::RecordPage;

/// How records are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordsFormat {
    /// One JSON object per record: key, value (hex), key_json, value_json.
    Jsonl,
    /// A header line then one row per record: key,value,key_json,value_json (the last two as JSON text).
    Csv,
}

#[derive(Debug, Args)]
pub struct RecordsArgs {
    /// Manuscript name (as deployed).
    pub manuscript: String,
    /// One of the manuscript's datasets.
    pub dataset: String,
    /// Only record keys starting with these bytes (hex).
    #[arg(long)]
    pub prefix: Option<String>,
    /// The first record key (hex, inclusive).
    #[arg(long)]
    pub start: Option<String>,
    /// Continue after a page: its `next`.
    #[arg(long, conflicts_with = "start")]
    pub cursor: Option<String>,
    /// Records per page (the node caps it at 1000).
    #[arg(long)]
    pub limit: Option<u32>,
    /// Read at this height (default: the latest final; every page of `--all` is of the first page's height).
    #[arg(long)]
    pub height: Option<u64>,
    /// Follow the pages' cursors to the end of the range.
    #[arg(long)]
    pub all: bool,
    /// How to print the records.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: RecordsFormat,
    /// Also save the pages, proofs included, to this file (one page per line) for `cvm verify --page`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub node: NodeArgs,
}

fn key_arg(name: &str, text: Option<&str>) -> anyhow::Result<Option<Vec<u8>>> {
    text.map(|t| from_hex(t).map_err(|e| anyhow::anyhow!("--{name}: {e}")))
        .transpose()
}

/// Writes the records of `page` to `out` in `format`.
pub fn print_page(
    page: &RecordPage,
    format: RecordsFormat,
    csv: &mut Option<csv::Writer<Box<dyn Write>>>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    for r in &page.records {
        match format {
            RecordsFormat::Jsonl => {
                let line = serde_json::json!({
                    "key": to_hex(&r.key),
                    "value": to_hex(&r.value),
                    "key_json": r.key_json,
                    "value_json": r.value_json,
                });
                writeln!(out, "{line}")?;
            }
            RecordsFormat::Csv => {
                let writer = csv.get_or_insert_with(|| {
                    let mut w =
                        csv::Writer::from_writer(Box::new(std::io::stdout()) as Box<dyn Write>);
                    // The header: the writer is fresh, so this cannot fail on a partial row.
                    let _ = w.write_record(["key", "value", "key_json", "value_json"]);
                    w
                });
                writer.write_record([
                    to_hex(&r.key),
                    to_hex(&r.value),
                    r.key_json.to_string(),
                    r.value_json.to_string(),
                ])?;
            }
        }
    }
    Ok(())
}

/// Fetches the page (all pages with `--all`), prints the records and saves the pages.
pub fn run(a: &RecordsArgs) -> anyhow::Result<()> {
    let client = Client::new(&a.node.node);
    let mut request = PageRequest {
        prefix: key_arg("prefix", a.prefix.as_deref())?.unwrap_or_default(),
        start: key_arg("start", a.start.as_deref())?,
        cursor: a.cursor.clone(),
        limit: a.limit,
        height: a.height,
    };
    let mut saved = match &a.out {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => None,
    };
    let mut csv = None;
    let stdout = std::io::stdout();
    let (mut pages, mut records) = (0usize, 0usize);
    loop {
        let page = client.records_page(&a.manuscript, &a.dataset, &request)?;
        print_page(&page, a.format, &mut csv, &mut stdout.lock())?;
        if let Some(file) = &mut saved {
            writeln!(file, "{}", serde_json::to_string(&page)?)?;
        }
        pages += 1;
        records += page.records.len();
        let Some(next) = page.next.filter(|_| a.all) else {
            break;
        };
        request = PageRequest {
            start: None,
            cursor: Some(next.to_text()),
            height: None,
            ..request
        };
    }
    if let Some(mut w) = csv {
        w.flush()?;
    }
    if let (Some(path), Some(mut file)) = (&a.out, saved) {
        file.flush()?;
        if records == 0 && pages == 0 {
            bail!("no page saved");
        }
        eprintln!(
            "saved {pages} page(s), {records} records, to {}; check them with `cvm verify --genesis <genesis.json> --page {}`",
            path.display(),
            path.display()
        );
    }
    Ok(())
}
