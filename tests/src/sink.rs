//! Harness of the PostgreSQL sink tests: `cvm sink postgres` as a child process, a chain's datasets read through
//! the node's pages, the sink's tables read back, and the comparison of the two at one height.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cvm_host::api_client::{Client, PageRequest};

use crate::chaos::deploy_erc20;
use crate::datasets::{example_logs, ingest};
use crate::localnet::cvm_binary;

/// erc20-transfers' datasets and the tables the sink keeps them in.
pub const ERC20_TABLES: [(&str, &str); 3] = [
    ("transfers", "erc20_transfers__transfers"),
    ("balances", "erc20_transfers__balances"),
    ("supply", "erc20_transfers__supply"),
];

/// A record key → its value.
pub type Records = BTreeMap<Vec<u8>, Vec<u8>>;

/// Deploys erc20-transfers (when `deploy`) and ingests example logs `logs` in transactions of `chunk`, each
/// submitted after the one before is committed (so their records spread over many blocks); returns the height of
/// the last ingest.
pub fn ingest_erc20(
    client: &Client,
    chain_id: &str,
    deploy: bool,
    logs: std::ops::Range<usize>,
    chunk: usize,
) -> u64 {
    if deploy {
        deploy_erc20(client, chain_id);
    }
    let records = example_logs();
    ingest(
        client,
        chain_id,
        &records[logs],
        chunk,
        true,
        Duration::from_secs(120),
    )
}

/// The whole dataset at `height`, through the node's pages.
pub fn dataset_at(client: &Client, manuscript: &str, dataset: &str, height: u64) -> Records {
    let mut records = Records::new();
    let mut request = PageRequest {
        limit: Some(1000),
        height: Some(height),
        ..PageRequest::default()
    };
    loop {
        let page = client
            .records_page(manuscript, dataset, &request)
            .expect("a page");
        records.extend(page.records.into_iter().map(|r| (r.key, r.value)));
        let Some(next) = page.next else {
            return records;
        };
        request = PageRequest {
            cursor: Some(next.to_text()),
            height: None,
            ..request
        };
    }
}

/// The cursor's height and each table's rows (key → raw value), read in one snapshot; checks every row's height
/// is at most the cursor's and its state root 32 bytes.
pub fn tables(db: &mut ::postgres::Client, tables: &[&str]) -> (u64, Vec<Records>) {
    let mut tx = db
        .build_transaction()
        .isolation_level(::postgres::IsolationLevel::RepeatableRead)
        .start()
        .expect("snapshot");
    let cursor: i64 = tx
        .query_opt("SELECT height FROM cvm_sink_cursor", &[])
        .expect("read the cursor")
        .map_or(0, |row| row.get(0));
    let mut all = Vec::new();
    for table in tables {
        let mut records = Records::new();
        for row in tx
            .query(
                &format!("SELECT record_key, record_value, height, state_root FROM \"{table}\""),
                &[],
            )
            .expect("read a table")
        {
            let height: i64 = row.get(2);
            let root: Vec<u8> = row.get(3);
            assert!(
                height <= cursor,
                "{table}: a row of height {height} > cursor {cursor}"
            );
            assert_eq!(root.len(), 32, "{table}: state root");
            records.insert(row.get(0), row.get(1));
        }
        all.push(records);
    }
    tx.commit().expect("end the snapshot");
    (u64::try_from(cursor).expect("height"), all)
}

/// Asserts that the sink's erc20-transfers tables hold exactly the datasets at the cursor's height; returns it.
pub fn assert_tables_equal_datasets(db: &mut ::postgres::Client, client: &Client) -> u64 {
    let names: Vec<&str> = ERC20_TABLES.iter().map(|(_, t)| *t).collect();
    let (height, rows) = tables(db, &names);
    assert!(height > 0, "the sink wrote nothing");
    for ((dataset, table), rows) in ERC20_TABLES.iter().zip(rows) {
        let expected = dataset_at(client, "erc20-transfers", dataset, height);
        assert!(!expected.is_empty(), "{dataset} is empty at {height}");
        assert_eq!(
            rows.len(),
            expected.len(),
            "{table} vs {dataset} at height {height}"
        );
        assert!(
            rows == expected,
            "{table} differs from {dataset} at {height}"
        );
    }
    height
}

/// The sink's cursor height (0 before it wrote one).
pub fn cursor(db: &mut ::postgres::Client) -> u64 {
    db.query_opt("SELECT height FROM cvm_sink_cursor", &[])
        .ok()
        .flatten()
        .map_or(0, |row| u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// A `cvm sink postgres` process, its stderr in a file; killed when dropped.
pub struct SinkProc {
    child: Child,
    log: PathBuf,
}

impl SinkProc {
    /// Starts `cvm sink postgres <args>`, its output into `log`.
    pub fn start(args: &[&str], log: &Path) -> SinkProc {
        let file = std::fs::File::create(log).expect("sink log");
        let child = Command::new(cvm_binary())
            .args(["sink", "postgres"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone log"))
            .stderr(file)
            .spawn()
            .expect("spawn cvm sink postgres");
        SinkProc {
            child,
            log: log.to_path_buf(),
        }
    }

    /// What it printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for it to exit; `(success, output)`.
    pub fn wait(mut self, timeout: Duration) -> (bool, String) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status.success(), self.output());
            }
            assert!(
                start.elapsed() < timeout,
                "the sink did not exit within {timeout:?}: {}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SinkProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `cvm sink postgres <args>` to its end; `(success, output)`.
pub fn sink_once(args: &[&str], log: &Path) -> (bool, String) {
    SinkProc::start(args, log).wait(Duration::from_secs(300))
}

/// Polls `check` every few milliseconds until it holds, failing after `timeout` with `what`.
pub fn wait_until(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}
