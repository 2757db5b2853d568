//! `cvm sink postgres`: follow a node into PostgreSQL, with a progress bar while catching up.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::ProgressBar;

use crate::api_client::DEFAULT_NODE_URL;
use crate::chain::Genesis;
use crate::sink::schema::TableSpec;
use crate::sink::{Db, Observer, Progress, SinkConfig};

#[derive(Debug, Args)]
pub struct PostgresArgs {
    /// The database: postgres://user[:password]@host[:port]/database (or a libpq key=value string).
    #[arg(long)]
    pub url: String,
    /// The node's HTTP API.
    #[arg(long, default_value = DEFAULT_NODE_URL)]
    pub node: String,
    /// The chain's genesis file: every block is verified against its validators.
    #[arg(long)]
    pub genesis: PathBuf,
    /// Datasets to keep, as manuscript/dataset, comma separated (default: every dataset of every manuscript,
    /// including manuscripts deployed later).
    #[arg(long, value_delimiter = ',')]
    pub datasets: Option<Vec<String>>,
    /// Most blocks per transaction while catching up.
    #[arg(long, default_value_t = 1000)]
    pub batch_blocks: u64,
    /// A catching-up transaction commits once it holds this many changes.
    #[arg(long, default_value_t = 50_000)]
    pub batch_rows: usize,
    /// Pending changes are written into the open transaction once this many are held.
    #[arg(long, default_value_t = 10_000)]
    pub flush_rows: usize,
    /// Stop after writing this height (default: follow for ever).
    #[arg(long)]
    pub until: Option<u64>,
}

/// The progress bar while catching up, and one line per event after.
struct Shown {
    bar: ProgressBar,
}

impl Observer for Shown {
    fn started(&mut self, from: u64, tip: u64, tables: &[TableSpec]) {
        for t in tables {
            eprintln!("table {} <- {}/{}", t.table, t.manuscript, t.dataset());
        }
        eprintln!("resuming after height {from}; the node is at {tip}");
        self.bar.set_length(tip.saturating_sub(from));
    }

    fn committed(&mut self, p: &Progress) {
        self.bar.set_length(p.tip.saturating_sub(p.start));
        self.bar.set_position(p.height - p.start);
        tracing::info!(height = p.height, rows = p.rows, "committed");
    }

    fn caught_up(&mut self, p: &Progress, blocks: u64, elapsed: Duration) {
        self.bar.finish_and_clear();
        let secs = elapsed.as_secs_f64().max(1e-9);
        eprintln!(
            "caught up at height {}: {blocks} blocks, {} rows in {:.2} s ({:.0} rows/s, {:.0} blocks/s; \
             {:.0} % of the time in PostgreSQL, {:.0} % waiting for the node)",
            p.height,
            p.rows,
            secs,
            p.rows as f64 / secs,
            blocks as f64 / secs,
            100.0 * p.db_time.as_secs_f64() / secs,
            100.0 * p.feed_time.as_secs_f64() / secs
        );
    }

    fn reconnecting(&mut self, cause: &str, wait: Duration) {
        self.bar
            .suspend(|| eprintln!("feed lost ({cause}); reconnecting in {wait:?}"));
    }
}

pub fn run(args: &PostgresArgs) -> anyhow::Result<()> {
    let genesis = Genesis::load(&args.genesis)
        .with_context(|| format!("reading the genesis file {}", args.genesis.display()))?;
    let mut config = SinkConfig::new(&args.node, genesis);
    config.datasets = args.datasets.clone();
    config.batch_blocks = args.batch_blocks.max(1);
    config.batch_rows = args.batch_rows.max(1);
    config.flush_rows = args.flush_rows.max(1);
    config.until = args.until;
    let mut db = Db::connect(&args.url)?;
    let mut shown = Shown {
        bar: crate::progress::bar("catching up"),
    };
    let cursor = crate::sink::run(&config, &mut db, &mut shown)?;
    eprintln!(
        "stopped after height {} ({})",
        cursor.height,
        crate::hex_text::to_hex(cursor.block_hash)
    );
    Ok(())
}
