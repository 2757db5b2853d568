//! The local network's processes, shared by both modes of `cvm localnet`: where the homes go, starting one
//! `cvm start` per home and stopping them all, Ctrl-C, and waiting for the first block.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::api_client::Client;
use crate::home::testnet::TestnetNode;

/// The validator processes; dropping it stops them all (SIGTERM, then SIGKILL after 10 s).
pub(super) struct Nodes {
    children: Vec<Child>,
}

// Sending a signal to our own children needs libc's `kill`: std only offers SIGKILL, not a clean stop.
#[allow(unsafe_code)]
impl Drop for Nodes {
    fn drop(&mut self) {
        for child in &mut self.children {
            // SAFETY: kill(2) takes plain integers and touches no memory of this process; the pid is our own
            // child's, not yet reaped (waited for only below), so it cannot name another process.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for child in &mut self.children {
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

/// Where the node homes go: `--dir`, or a temporary directory removed when this is dropped.
pub(super) struct HomesDir {
    pub(super) path: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl HomesDir {
    pub(super) fn choose(dir: Option<&PathBuf>) -> anyhow::Result<Self> {
        Ok(match dir {
            Some(d) => HomesDir {
                path: d.clone(),
                _temp: None,
            },
            None => {
                let temp = tempfile::tempdir()?;
                HomesDir {
                    path: temp.path().to_path_buf(),
                    _temp: Some(temp),
                }
            }
        })
    }
}

/// Starts `cvm start` for each home, logging to its `node.log`.
fn start_nodes(nodes: &[TestnetNode]) -> anyhow::Result<Nodes> {
    let exe = std::env::current_exe()?;
    let mut running = Nodes {
        children: Vec::new(),
    };
    for node in nodes {
        let log = std::fs::File::create(node.home.join("node.log"))?;
        let child = Command::new(&exe)
            .args(["start", "--home"])
            .arg(&node.home)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start a node process")?;
        running.children.push(child);
    }
    Ok(running)
}

/// A flag set once Ctrl-C is pressed.
fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc_handler(move || stop.store(true, Ordering::SeqCst));
    }
    stop
}

/// Waits until the network has committed a block: `Ok(false)` if stopped first, an error after 60 s.
fn wait_for_first_block(client: &Client, stop: &AtomicBool, dir: &Path) -> anyhow::Result<bool> {
    let started = Instant::now();
    while client.status().map(|s| s.height).unwrap_or(0) < 1 {
        if stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "the network did not produce a block in 60 s; see the logs in {}",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(true)
}

/// A running local network. Fields drop in order: the processes stop before a temporary home directory goes.
pub(super) struct LocalNetwork {
    /// The nodes' homes and addresses.
    pub(super) nodes: Vec<TestnetNode>,
    /// A client of the first validator.
    pub(super) client: Client,
    /// Set once Ctrl-C is pressed.
    pub(super) stop: Arc<AtomicBool>,
    _running: Nodes,
    /// Where the homes and logs are.
    pub(super) homes: HomesDir,
}

/// Writes the homes with `make_homes` (under `dir`, or a temporary directory), starts one `cvm start` per home
/// and waits for the first block; `None` when Ctrl-C came first. `what` follows "started N validators" in the
/// line telling the user where the logs are.
pub(super) fn start_local_network(
    dir: Option<&PathBuf>,
    what: &str,
    make_homes: impl FnOnce(&Path) -> anyhow::Result<Vec<TestnetNode>>,
) -> anyhow::Result<Option<LocalNetwork>> {
    let homes = HomesDir::choose(dir)?;
    let nodes = make_homes(&homes.path)?;
    let running = start_nodes(&nodes)?;
    eprintln!(
        "started {} validators{what}; homes and logs in {}",
        nodes.len(),
        homes.path.display()
    );
    let stop = stop_on_ctrl_c();
    let client = Client::with_timeout(&nodes[0].rpc_url, Duration::from_secs(10));
    if !wait_for_first_block(&client, &stop, &homes.path)? {
        return Ok(None);
    }
    Ok(Some(LocalNetwork {
        nodes,
        client,
        stop,
        _running: running,
        homes,
    }))
}

/// Runs `f` on a thread of its own once Ctrl-C arrives.
pub(super) fn ctrlc_handler(f: impl Fn() + Send + 'static) {
    std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(_) => return,
        };
        rt.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
        f();
    });
}
