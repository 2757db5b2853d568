//! The follow loop. Blocks come from the node's change feed (`GET /feed?from=<cursor + 1>`): one stream serves the
//! blocks a chain is ahead by and then each block as it finalizes, resumable by height, so catching up and
//! following live are one path and a live block is written as soon as it is final, without polling. Each block is
//! checked (the next height, its parent the last block written, certificate and proofs against the genesis)
//! before anything of it is written. While behind the node's tip, blocks are gathered into one transaction (up to
//! `batch_blocks` blocks or `batch_rows` changes; pending rows are written into the open transaction once
//! `flush_rows` are held) which also moves the cursor; at the tip every block commits on its own. A lost connection (a node
//! restart) is retried with backoff from the last block verified.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::check::{check_block, proven_code_hash};
use super::config::{Observer, Progress, SinkConfig};
use super::cursor::{self, Cursor};
use super::db::Db;
use super::error::SinkError;
use super::manuscripts::Manuscript;
use super::rows::{Pending, Written};
use super::schema::TableSpec;
use crate::api_client::{Client, ClientError};
use crate::block_changes::BlockChanges;
use crate::feed_client::{Feed, FeedError, FeedQuery};
use crate::verify::Trust;

/// How often the node's tip is asked again once a run is at the tip it knew.
const TIP_RECHECK: Duration = Duration::from_secs(1);

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A `(manuscript, dataset)` pair.
type DatasetId = (String, String);

struct Follower<'a> {
    config: &'a SinkConfig,
    client: Client,
    /// The genesis validators, reached across set changes with the node's headers.
    trust: Trust,
    db: &'a mut Db,
    observer: &'a mut dyn Observer,
    /// `None`: every dataset.
    selection: Option<BTreeSet<DatasetId>>,
    /// What the cursor row says the tables cover.
    label: String,
    manuscripts: HashMap<String, Manuscript>,
    tables: BTreeMap<DatasetId, TableSpec>,
    pending: BTreeMap<DatasetId, Pending>,
    /// The last block committed.
    committed: Cursor,
    /// The last block verified and added to the open transaction (`committed` when none is open).
    last: Cursor,
    in_transaction: bool,
    batch_blocks: u64,
    batch_changes: usize,
    tip: u64,
    /// When `tip` was last asked.
    tip_seen: Instant,
    /// Time spent waiting for the feed's next block.
    feed_time: Duration,
    start: u64,
    /// When the first block arrived: the catch-up's clock.
    started_at: Option<Instant>,
    rows: u64,
    db_time: Duration,
    caught_up: bool,
}

/// Follows `config.node` into `db` until `config.until` is written (for ever without it); returns the cursor.
/// Bad input (an unreachable node at the start, an unknown dataset, another chain's database, a table whose
/// columns no longer match the types) and a block that does not verify stop it with the error; a connection lost
/// later is retried.
pub fn run(
    config: &SinkConfig,
    db: &mut Db,
    observer: &mut dyn Observer,
) -> Result<Cursor, SinkError> {
    let client = Client::new(&config.node);
    let status = client.status()?;
    if status.chain_id != config.genesis.chain_id {
        return Err(SinkError::OtherChain {
            node: status.chain_id,
            genesis: config.genesis.chain_id.clone(),
        });
    }
    let selection = config
        .datasets
        .as_ref()
        .map(|names| {
            names
                .iter()
                .map(|name| match name.split_once('/') {
                    Some((m, d)) if !m.is_empty() && !d.is_empty() && !d.contains('/') => {
                        Ok((m.to_string(), d.to_string()))
                    }
                    _ => Err(SinkError::BadDatasetName(name.clone())),
                })
                .collect::<Result<BTreeSet<_>, _>>()
        })
        .transpose()?;
    let label = selection.as_ref().map_or_else(
        || "*".to_string(),
        |s| {
            s.iter()
                .map(|(m, d)| format!("{m}/{d}"))
                .collect::<Vec<_>>()
                .join(",")
        },
    );
    let chain_id = config.genesis.chain_id.clone();
    let stored = cursor::read(db.client(), &chain_id)?;
    let fresh = stored.is_none();
    let committed = match stored {
        Some((_, stored)) if stored != label => {
            return Err(SinkError::OtherDatasets {
                stored,
                asked: label,
            });
        }
        Some((cursor, _)) => cursor,
        None => Cursor::start(&chain_id),
    };
    let trust = Trust::genesis(&config.genesis)
        .map_err(|e| SinkError::Refused {
            height: 0,
            cause: format!("the genesis file: {e}"),
        })?
        .with_source(Box::new(Client::new(&config.node)), false);
    let mut follower = Follower {
        config,
        client,
        trust,
        db,
        observer,
        selection,
        label,
        manuscripts: HashMap::new(),
        tables: BTreeMap::new(),
        pending: BTreeMap::new(),
        last: committed.clone(),
        committed,
        in_transaction: false,
        batch_blocks: 0,
        batch_changes: 0,
        tip: status.height,
        tip_seen: Instant::now(),
        feed_time: Duration::ZERO,
        start: 0,
        started_at: None,
        rows: 0,
        db_time: Duration::ZERO,
        caught_up: false,
    };
    follower.prepare(fresh)?;
    follower.follow()
}

impl Follower<'_> {
    /// Proves the selected manuscripts, creates or checks their tables and (`fresh`: in a database without one)
    /// writes the cursor row, in one transaction.
    fn prepare(&mut self, fresh: bool) -> Result<(), SinkError> {
        let wanted: Vec<DatasetId> = match &self.selection {
            Some(selection) => selection.iter().cloned().collect(),
            None => self
                .client
                .manuscripts()?
                .into_iter()
                .flat_map(|m| {
                    let name = m.name;
                    m.datasets.into_iter().map(move |d| (name.clone(), d))
                })
                .collect(),
        };
        for (manuscript, dataset) in &wanted {
            if !self.manuscripts.contains_key(manuscript) {
                let proven = Manuscript::proven(&self.client, &self.trust, manuscript, dataset)?;
                self.manuscripts.insert(manuscript.clone(), proven);
            }
            let declared = &self.manuscripts[manuscript].datasets;
            if !declared.contains(dataset) {
                return Err(SinkError::UnknownDataset(
                    format!("{manuscript}/{dataset}"),
                    format!("manuscript {manuscript} declares [{}]", declared.join(", ")),
                ));
            }
        }
        self.db.begin()?;
        for id in wanted {
            self.table(&id)?;
        }
        if fresh {
            cursor::write(self.db.client(), &self.committed, &self.label)?;
        }
        self.db.commit()?;
        self.start = self.committed.height;
        let tables: Vec<TableSpec> = self.tables.values().cloned().collect();
        self.observer
            .started(self.committed.height, self.tip, &tables);
        Ok(())
    }

    /// The table of `id`, created (or checked) in the open transaction the first time it is needed.
    fn table(&mut self, id: &DatasetId) -> Result<&TableSpec, SinkError> {
        if !self.tables.contains_key(id) {
            let types = self.manuscripts.get(&id.0).and_then(|m| m.types.clone());
            let append_only = self
                .manuscripts
                .get(&id.0)
                .is_some_and(|m| m.append_only.contains(&id.1));
            let spec = TableSpec::new(&id.0, &id.1, types.as_deref(), append_only)?;
            self.db.ensure_table(&spec)?;
            tracing::info!(table = %spec.table, dataset = %format!("{}/{}", id.0, id.1), "table ready");
            self.tables.insert(id.clone(), spec);
        }
        Ok(&self.tables[id])
    }

    fn selects(&self, manuscript: &str, dataset: &str) -> bool {
        self.selection
            .as_ref()
            .is_none_or(|s| s.contains(&(manuscript.to_string(), dataset.to_string())))
    }

    /// The feed's filter: one manuscript (and dataset) when the selection allows it.
    fn query(&self, from: u64) -> FeedQuery {
        let mut query = FeedQuery {
            from: Some(from),
            ..FeedQuery::default()
        };
        if let Some(selection) = &self.selection {
            let manuscripts: BTreeSet<&String> = selection.iter().map(|(m, _)| m).collect();
            if let [only] = manuscripts.into_iter().collect::<Vec<_>>()[..] {
                query.manuscript = Some(only.clone());
                if let [(_, dataset)] = selection.iter().collect::<Vec<_>>()[..] {
                    query.dataset = Some(dataset.clone());
                }
            }
        }
        query
    }

    fn done(&self) -> bool {
        self.config
            .until
            .is_some_and(|until| self.committed.height >= until)
    }

    fn follow(mut self) -> Result<Cursor, SinkError> {
        let mut backoff = Duration::from_secs(1);
        while !self.done() {
            let cause = match self.stream(&mut backoff) {
                Ok(()) => continue,
                Err(Interrupt::Fatal(e)) => return Err(e),
                Err(Interrupt::Connection(cause)) => cause,
            };
            // What verified before the connection went is kept.
            if self.in_transaction {
                self.commit().map_err(|e| match e {
                    Interrupt::Fatal(e) => e,
                    Interrupt::Connection(c) => SinkError::Connect(c),
                })?;
            }
            self.observer.reconnecting(&cause, backoff);
            tracing::warn!(%cause, wait = ?backoff, "feed connection lost; reconnecting");
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        Ok(self.committed)
    }

    /// One feed connection, from the block after the last verified one until it ends or the run is done.
    fn stream(&mut self, backoff: &mut Duration) -> Result<(), Interrupt> {
        let from = self.last.height + 1;
        let status = self.client.status().map_err(connection)?;
        self.tip = status.height;
        self.tip_seen = Instant::now();
        if status.height + 1 < from {
            return Err(Interrupt::Connection(format!(
                "the node is at height {}, behind the sink's cursor {}; waiting for it",
                status.height, self.last.height
            )));
        }
        let mut feed = Feed::open(&self.config.node, &self.query(from), self.config.idle).map_err(
            |e| match e {
                FeedError::Client(e) => connection(e),
                other => Interrupt::Connection(other.to_string()),
            },
        )?;
        while !self.done() {
            let waited = Instant::now();
            let block = feed
                .next_block()
                .map_err(|e| Interrupt::Connection(e.to_string()))?;
            if self.started_at.is_some() {
                self.feed_time += waited.elapsed();
            }
            *backoff = Duration::from_secs(1);
            self.block(block)?;
        }
        Ok(())
    }

    /// Checks one block and adds its changes to the open transaction; commits when the batch is full or the
    /// block is the node's tip.
    fn block(&mut self, block: BlockChanges) -> Result<(), Interrupt> {
        let height = block.height;
        self.started_at.get_or_insert_with(Instant::now);
        check_block(&self.last, &block, &self.trust).map_err(fatal)?;
        if !self.in_transaction {
            self.db.begin().map_err(fatal)?;
            self.in_transaction = true;
        }
        let state_root = block.header.state_root;
        for set in &block.datasets {
            if !self.selects(&set.manuscript, &set.dataset) {
                continue;
            }
            // Without metadata the manuscript does not exist and the proof holds only absences.
            let Some(meta) = &set.manuscript_meta else {
                continue;
            };
            self.check_code(height, &set.manuscript, meta)?;
            let id = (set.manuscript.clone(), set.dataset.clone());
            self.table(&id).map_err(fatal)?;
            let pending = self.pending.entry(id).or_default();
            // An appended record is named by its block's height and its key, as pages name it.
            let appended_at = set.appended.as_ref().map(|a| a.height.to_be_bytes());
            for (key, value) in &set.entries {
                let key = match appended_at {
                    Some(height) => [&height[..], key].concat(),
                    None => key.clone(),
                };
                pending.change(
                    &key,
                    value.as_ref().map(|value| Written {
                        height,
                        state_root,
                        value: value.clone(),
                    }),
                );
            }
            self.batch_changes += set.entries.len();
        }
        self.last = Cursor {
            chain_id: self.committed.chain_id.clone(),
            height,
            block_hash: block.header.hash(),
            state_root,
        };
        self.batch_blocks += 1;
        let held: usize = self.pending.values().map(Pending::len).sum();
        if held >= self.config.flush_rows.max(1) {
            self.flush().map_err(fatal)?;
        }
        if height >= self.tip && self.tip_seen.elapsed() >= TIP_RECHECK {
            // At the tip seen: look again, the chain may have moved on while this run caught up (at most once a
            // second, so following a fast chain live costs no request per block).
            self.tip = self
                .client
                .status()
                .map_or(self.tip, |s| s.height)
                .max(height);
            self.tip_seen = Instant::now();
        }
        let live = height >= self.tip;
        let last = self.config.until.is_some_and(|u| height >= u);
        if live
            || last
            || self.batch_blocks >= self.config.batch_blocks
            || self.batch_changes >= self.config.batch_rows
        {
            self.commit()?;
        }
        if (live || last) && !self.caught_up {
            self.caught_up = true;
            let progress = self.progress();
            self.observer.caught_up(
                &progress,
                progress.height - progress.start,
                self.started_at.map_or(Duration::ZERO, |t| t.elapsed()),
            );
        }
        Ok(())
    }

    /// Refuses a set whose proven metadata names other code than the types in use were read from; reads the
    /// types of a manuscript seen for the first time.
    fn check_code(&mut self, height: u64, name: &str, meta: &[u8]) -> Result<(), Interrupt> {
        let known = self.manuscripts.get(name).map(|m| m.code_hash);
        proven_code_hash(height, name, meta, known).map_err(fatal)?;
        if known.is_some() {
            return Ok(());
        }
        let proven = Manuscript::from_meta(&self.client, name, meta).map_err(|e| match e {
            SinkError::Node(e) => connection(e),
            other => fatal(other),
        })?;
        self.manuscripts.insert(name.to_string(), proven);
        Ok(())
    }

    /// Writes every pending change into the open transaction.
    fn flush(&mut self) -> Result<(), SinkError> {
        let start = Instant::now();
        for (id, pending) in &mut self.pending {
            if pending.is_empty() {
                continue;
            }
            let spec = &self.tables[id];
            let types = self.manuscripts.get(&id.0).and_then(|m| m.types.clone());
            self.rows += self.db.write(spec, types.as_deref(), pending)? as u64;
        }
        self.db_time += start.elapsed();
        Ok(())
    }

    /// Writes what is pending and the cursor of the last block, and commits.
    fn commit(&mut self) -> Result<(), Interrupt> {
        self.flush().map_err(fatal)?;
        let start = Instant::now();
        cursor::write(self.db.client(), &self.last, &self.label).map_err(fatal)?;
        self.db.commit().map_err(fatal)?;
        self.db_time += start.elapsed();
        self.in_transaction = false;
        self.committed = self.last.clone();
        self.batch_blocks = 0;
        self.batch_changes = 0;
        let progress = self.progress();
        self.observer.committed(&progress);
        Ok(())
    }

    fn progress(&self) -> Progress {
        Progress {
            height: self.committed.height,
            tip: self.tip.max(self.committed.height),
            start: self.start,
            rows: self.rows,
            db_time: self.db_time,
            feed_time: self.feed_time,
        }
    }
}

/// Why a feed connection stopped.
enum Interrupt {
    /// Stop the run.
    Fatal(SinkError),
    /// Reconnect.
    Connection(String),
}

fn fatal(e: impl Into<SinkError>) -> Interrupt {
    Interrupt::Fatal(e.into())
}

/// A client error: a refusal by the node (4xx) stops the run, anything else is retried.
fn connection(e: ClientError) -> Interrupt {
    match e {
        ClientError::Api { status, .. } if (400..500).contains(&status) => fatal(e),
        other => Interrupt::Connection(other.to_string()),
    }
}
