//! A network of `cvm` node processes on loopback for integration tests. Nodes are killed when the harness drops.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cvm_host::client::Client;
use cvm_host::ops::testnet::{TestnetSpec, generate};
use cvm_host::rpc::api::StatusInfo;

/// Networks share two cores: run one at a time.
static ONE_NETWORK: Mutex<()> = Mutex::new(());

/// The `cvm` binary built with this test (same profile and target dir).
pub fn cvm_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/cvm
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir");
    let bin = dir.join("cvm");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "cvm-host", "--bin", "cvm"])
            .status()
            .expect("run cargo build for the cvm binary");
        assert!(status.success(), "building the cvm binary failed");
    }
    bin
}

/// A base port such that `count` consecutive ports are free now.
fn free_base_port(count: u16) -> u16 {
    let seed = std::process::id() as u16;
    for attempt in 0..200u16 {
        let base = 20_000 + ((seed.wrapping_mul(7).wrapping_add(attempt * 97)) % 2_000) * 20;
        if (0..count).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no free port range on 127.0.0.1");
}

pub struct NodeProc {
    pub name: String,
    pub home: PathBuf,
    pub rpc_url: String,
    pub validator: bool,
    child: Option<Child>,
}

impl NodeProc {
    pub fn client(&self) -> Client {
        Client::with_timeout(&self.rpc_url, Duration::from_secs(5))
    }

    pub fn log_path(&self) -> PathBuf {
        self.home.join("node.log")
    }

    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => child.try_wait().ok().flatten().is_none(),
            None => false,
        }
    }
}

pub struct LocalNet {
    _guard: MutexGuard<'static, ()>,
    pub dir: tempfile::TempDir,
    pub nodes: Vec<NodeProc>,
    pub chain_id: String,
    binary: PathBuf,
}

impl LocalNet {
    /// Generates homes for `validators` + `full_nodes` (none started).
    pub fn new(validators: usize, full_nodes: usize) -> Self {
        let guard = ONE_NETWORK.lock().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::tempdir().expect("tempdir");
        let total = (validators + full_nodes) as u16;
        let chain_id = "cvm-it".to_string();
        let spec = TestnetSpec {
            validators,
            full_nodes,
            chain_id: chain_id.clone(),
            output: dir.path().to_path_buf(),
            base_port: free_base_port(2 * total),
            block_interval_ms: 0,
        };
        let nodes = generate(&spec)
            .expect("generate testnet")
            .into_iter()
            .map(|n| NodeProc {
                name: n.name,
                home: n.home,
                rpc_url: n.rpc_url,
                validator: n.validator,
                child: None,
            })
            .collect();
        LocalNet {
            _guard: guard,
            dir,
            nodes,
            chain_id,
            binary: cvm_binary(),
        }
    }

    pub fn genesis_path(&self) -> PathBuf {
        self.nodes[0].home.join("config/genesis.json")
    }

    pub fn start(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        assert!(node.child.is_none(), "{} already running", node.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.log_path())
            .expect("open node log");
        let child = Command::new(&self.binary)
            .args(["start", "--home"])
            .arg(&node.home)
            .env(
                "RUST_LOG",
                std::env::var("CVM_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log)
            .spawn()
            .expect("spawn cvm start");
        node.child = Some(child);
    }

    pub fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.start(i);
        }
    }

    /// SIGTERM, then wait for a clean exit (SIGKILL after 10 s).
    pub fn stop(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        if let Some(mut child) = node.child.take() {
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn status(&self, i: usize) -> Option<StatusInfo> {
        self.nodes[i].client().status().ok()
    }

    /// Waits until node `i` has committed `height`; panics with its log tail on timeout.
    pub fn wait_height(&self, i: usize, height: u64, timeout: Duration) -> StatusInfo {
        let start = Instant::now();
        loop {
            if let Some(s) = self.status(i)
                && s.height >= height
            {
                return s;
            }
            if start.elapsed() > timeout {
                panic!(
                    "{} did not reach height {height} in {timeout:?} (status {:?})\n--- log tail ---\n{}",
                    self.nodes[i].name,
                    self.status(i),
                    self.log_tail(i, 40)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log_tail(&self, i: usize, lines: usize) -> String {
        let text = std::fs::read_to_string(self.nodes[i].log_path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Runs the `cvm` binary with `args`; returns (success, stdout + stderr).
    pub fn cvm(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(&self.binary)
            .args(args)
            .output()
            .expect("run cvm");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }
}

impl Drop for LocalNet {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        if std::thread::panicking() {
            // Keep the homes and logs of a failed run for inspection.
            let kept = self.dir.path().to_path_buf();
            eprintln!("localnet homes kept at {}", kept.display());
            std::mem::forget(std::mem::replace(
                &mut self.dir,
                tempfile::tempdir().expect("tempdir"),
            ));
        }
    }
}
