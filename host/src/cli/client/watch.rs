//! `cvm query watch`: follows dataset changes as blocks finalize, one JSON line per changed record (height,
//! manuscript, dataset, `written`/`removed`, key and value in hex and by their declared types). A dropped or
//! silent connection is reopened from the block after the last one printed, so nothing is missed or repeated; with
//! `--genesis` every block's changes are verified (finality and proofs) before any of them is printed.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use super::args::NodeArgs;
use crate::api_client::Client;
use crate::block_changes::{BlockChanges, ChangeJson, verify_changes};
use crate::chain::Genesis;
use crate::feed_client::{Feed, FeedError, FeedQuery};
use crate::verify::Trust;

/// Heartbeats come every 15 s: a connection silent for three of them is dead.
const IDLE: Duration = Duration::from_secs(45);
/// Pause before reopening a dropped feed.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Only this manuscript's datasets (default: every manuscript's).
    pub manuscript: Option<String>,
    /// Only this dataset of the manuscript.
    pub dataset: Option<String>,
    /// The first height to print (default: the next block to finalize). Resuming from a height prints every
    /// change from it on.
    #[arg(long)]
    pub from: Option<u64>,
    /// Stop after this height.
    #[arg(long)]
    pub until: Option<u64>,
    /// The chain's genesis file: verify each block's changes against it before printing them.
    #[arg(long)]
    pub genesis: Option<PathBuf>,
    #[command(flatten)]
    pub node: NodeArgs,
}

/// Prints `changes` as JSON lines.
fn print_block(changes: &BlockChanges, out: &mut dyn Write) -> anyhow::Result<()> {
    let shown = changes.shown.iter().flatten();
    let mut shown = shown.map(Some).chain(std::iter::repeat(None));
    for change in changes.changes() {
        let line = ChangeJson::new(changes.height, &change, shown.next().flatten());
        writeln!(out, "{}", serde_json::to_string(&line)?)?;
    }
    out.flush()?;
    Ok(())
}

pub fn run(a: &WatchArgs) -> anyhow::Result<()> {
    if a.dataset.is_some() && a.manuscript.is_none() {
        bail!("a dataset is watched within its manuscript: cvm query watch MANUSCRIPT DATASET");
    }
    let genesis = a.genesis.as_deref().map(Genesis::load).transpose()?;
    let trust = genesis
        .as_ref()
        .map(|g| {
            Trust::genesis(g)
                .map(|t| t.with_source(Box::new(Client::new(&a.node.node)), false))
                .map_err(anyhow::Error::msg)
        })
        .transpose()?;
    if genesis.is_none() {
        tracing::warn!("no --genesis: changes are printed as the node sends them, unverified");
    }
    let mut next = a.from;
    let stdout = std::io::stdout();
    loop {
        let query = FeedQuery {
            manuscript: a.manuscript.clone(),
            dataset: a.dataset.clone(),
            from: next,
        };
        let mut feed = match Feed::open(&a.node.node, &query, IDLE) {
            Ok(feed) => feed,
            Err(FeedError::Client(crate::api_client::ClientError::Unreachable { url, reason })) => {
                tracing::warn!(%url, %reason, "the node is unreachable; trying again");
                std::thread::sleep(RECONNECT_AFTER);
                continue;
            }
            Err(e) => return Err(e).context("opening the change feed"),
        };
        loop {
            let changes = match feed.next_block() {
                Ok(changes) => changes,
                Err(e @ (FeedError::Silent(_) | FeedError::Broken(_) | FeedError::Ended(_))) => {
                    tracing::warn!(error = %e, resume_from = ?next, "the feed dropped; resuming");
                    std::thread::sleep(RECONNECT_AFTER);
                    break;
                }
                Err(e) => return Err(e).context("reading the change feed"),
            };
            if next.is_some_and(|n| changes.height != n) {
                bail!(
                    "the feed sent block {} where block {} was due; nothing of it was printed",
                    changes.height,
                    next.unwrap_or_default()
                );
            }
            if let Some(trust) = &trust {
                verify_changes(&changes, trust).with_context(|| {
                    format!("block {}'s changes do not verify; stopping", changes.height)
                })?;
            }
            print_block(&changes, &mut stdout.lock())?;
            next = Some(changes.height + 1);
            if a.until.is_some_and(|until| changes.height >= until) {
                return Ok(());
            }
        }
    }
}
