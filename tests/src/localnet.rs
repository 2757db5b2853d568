//! A network of `cvm` node processes on loopback for integration tests. Nodes are killed when the harness drops.

// Stopping a node cleanly (SIGTERM) and reading the clock-tick rate need libc: std has neither.
#![allow(unsafe_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cvm_host::api_client::Client;
use cvm_host::chain::NodeKey;
use cvm_host::home::testnet::{TestnetSpec, generate};
use cvm_host::node::wire::ConsensusMessage;
use cvm_host::rpc::node_api::StatusInfo;
use parity_scale_codec::Decode;

/// Where each node's test hooks record consensus messages and read the peers to refuse (relative to its home).
const MESSAGES_FILE: &str = "consensus-messages.log";
const BLOCKED_PEERS_FILE: &str = "blocked-peers";

/// The secret of the account that deploys and feeds manuscripts in network tests (`chaos::dev_key`), the
/// publisher of every test source.
pub const DEV_SECRET: [u8; 32] = [42; 32];

/// Networks share two cores: run one at a time.
static ONE_NETWORK: Mutex<()> = Mutex::new(());

/// The node binary these tests run: `cvm-test-node`, the `cvm` CLI with this crate's fault hooks
/// ([`crate::faults`]). Cargo builds it, fresh, with the integration tests of this crate.
pub fn cvm_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/cvm-test-node
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir");
    let bin = dir.join("cvm-test-node");
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test -p cvm-tests`, which builds it",
        bin.display()
    );
    bin
}

/// A base port such that `count` consecutive ports are free now and were not handed to another network of
/// this process: tests run in parallel, and a range that looks free only because its network has a node
/// stopped must not be given out again (the stopped node could not restart on its port).
fn free_base_port(count: u16) -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let seed = std::process::id() as u16;
    for attempt in 0..200u16 {
        // Below Linux's ephemeral range (32768..), where outgoing connections would take our ports.
        let base = 20_000 + ((seed.wrapping_mul(7).wrapping_add(attempt * 97)) % 600) * 20;
        if handed_out.contains(&base) {
            continue;
        }
        if (0..count).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            handed_out.push(base);
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

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Resident memory of the running process, from /proc.
    pub fn rss_kib(&self) -> Option<u64> {
        self.proc_status_kib("VmRSS:")
    }

    /// Peak resident memory of the running process since it started (VmHWM).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.proc_status_kib("VmHWM:")
    }

    /// Bytes the running process has written to files so far (`write_bytes` of /proc/<pid>/io: counted as pages
    /// are dirtied, so the page cache does not hide them; sockets are not included).
    pub fn bytes_written(&self) -> Option<u64> {
        let io = std::fs::read_to_string(format!("/proc/{}/io", self.pid()?)).ok()?;
        io.lines()
            .find_map(|l| l.strip_prefix("write_bytes:"))
            .and_then(|v| v.trim().parse().ok())
    }

    /// CPU time (user + system) the running process has used so far, from /proc/<pid>/stat.
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()?)).ok()?;
        // Fields after the command name (which may hold spaces) start at state, field 3; utime and stime are
        // fields 14 and 15, in clock ticks.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Some(Duration::from_secs_f64(ticks as f64 / hz as f64))
    }

    /// A `kB` field of /proc/<pid>/status.
    fn proc_status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// The libp2p peer id of this node.
    pub fn peer_id(&self) -> libp2p::PeerId {
        NodeKey::load(&self.home.join("config/node_key.json"))
            .expect("node key")
            .peer_id()
    }

    /// Every consensus message this node sent or received, as recorded by its test hooks (a torn last record,
    /// from a SIGKILL mid-write, is skipped).
    pub fn recorded_messages(&self) -> Vec<ConsensusMessage> {
        let bytes = std::fs::read(self.home.join(MESSAGES_FILE)).unwrap_or_default();
        let mut out = Vec::new();
        let mut rest = &bytes[..];
        while rest.len() >= 4 {
            let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
            if rest.len() < 4 + len {
                break;
            }
            if let Ok(m) = ConsensusMessage::decode(&mut &rest[4..4 + len]) {
                out.push(m);
            }
            rest = &rest[4 + len..];
        }
        out
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
    /// Generates homes for `validators` + `full_nodes` (none started), on a chain that makes a block at every
    /// height (genesis `idle_block_interval_ms` 0): tests and benchmarks wait for heights and measure consensus
    /// at its full rate.
    pub fn new(validators: usize, full_nodes: usize) -> Self {
        Self::with_idle_interval(validators, full_nodes, 0)
    }

    /// [`Self::new`] on a chain whose heights without work wait `idle_block_interval_ms` after the last block.
    pub fn with_idle_interval(
        validators: usize,
        full_nodes: usize,
        idle_block_interval_ms: u64,
    ) -> Self {
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
            idle_block_interval_ms,
            sources: crate::sources::test_sources(&DEV_SECRET),
        };
        let nodes: Vec<NodeProc> = generate(&spec)
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
        for node in &nodes {
            append_faults(
                &node.home,
                &format!(
                    "record_messages = {:?}\nblocked_peers_file = {:?}\n",
                    node.home.join(MESSAGES_FILE),
                    node.home.join(BLOCKED_PEERS_FILE)
                ),
            );
        }
        LocalNet {
            _guard: guard,
            dir,
            nodes,
            chain_id,
            binary: cvm_binary(),
        }
    }

    /// Names where node `i` reads source `name` (before it starts): `endpoint` is the `[sources.<name>]` line,
    /// `archive = "<path>"` or `rpc = "<url>"`.
    pub fn set_source_endpoint(&self, i: usize, name: &str, endpoint: &str) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(self.nodes[i].home.join("config/config.toml"))
            .expect("open config.toml");
        writeln!(file, "\n[sources.{name}]\n{endpoint}").expect("append a source endpoint");
    }

    /// The governance key file of the network (it may register sources).
    pub fn governance_key(&self) -> PathBuf {
        cvm_host::home::testnet::governance_key_path(self.dir.path())
    }

    /// Adds a `key = value` line to node `i`'s faults (before it starts), e.g. `byzantine = "silent"`.
    pub fn set_test_option(&self, i: usize, line: &str) {
        append_faults(&self.nodes[i].home, &format!("{line}\n"));
    }

    /// Cuts the network into `groups` (node indices); nodes in different groups refuse each other's
    /// connections. Nodes in no group keep talking to everyone.
    pub fn partition(&self, groups: &[&[usize]]) {
        let peer_ids: Vec<String> = self.nodes.iter().map(|n| n.peer_id().to_string()).collect();
        for (g, group) in groups.iter().enumerate() {
            let others: Vec<&str> = groups
                .iter()
                .enumerate()
                .filter(|(o, _)| *o != g)
                .flat_map(|(_, other)| other.iter().map(|&j| peer_ids[j].as_str()))
                .collect();
            for &i in group.iter() {
                write_atomically(
                    &self.nodes[i].home.join(BLOCKED_PEERS_FILE),
                    &others.join("\n"),
                );
            }
        }
    }

    /// Undoes [`partition`](Self::partition).
    pub fn heal(&self) {
        for node in &self.nodes {
            write_atomically(&node.home.join(BLOCKED_PEERS_FILE), "");
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
            // SAFETY: kill(2) takes plain integers and touches no memory of this process; the pid is our own
            // child's, not yet reaped (waited for only below), so it cannot name another process.
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
        self.wait_height_polling(i, height, timeout, Duration::from_millis(100))
    }

    /// Waits until every node has committed `height` (see [`Self::wait_height`]).
    pub fn wait_all(&self, height: u64, timeout: Duration) {
        for i in 0..self.nodes.len() {
            self.wait_height(i, height, timeout);
        }
    }

    /// [`Self::wait_height`] asking every `poll`: for a benchmark timing the wait, where a 100 ms poll would
    /// be a large part of the figure.
    pub fn wait_height_polling(
        &self,
        i: usize,
        height: u64,
        timeout: Duration,
        poll: Duration,
    ) -> StatusInfo {
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
            std::thread::sleep(poll);
        }
    }

    pub fn log_tail(&self, i: usize, lines: usize) -> String {
        let text = std::fs::read_to_string(self.nodes[i].log_path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The proposer (hex key) of each height of `heights`, as node 0 stores the headers.
    pub fn proposers(&self, heights: std::ops::RangeInclusive<u64>) -> Vec<String> {
        let client = self.nodes[0].client();
        heights
            .map(|h| client.block(Some(h)).expect("block").header.proposer)
            .collect()
    }

    /// Asserts `nodes` hold the same block hash and state root at every height up to `upto`.
    pub fn assert_same_chain(&self, nodes: &[usize], upto: u64) {
        for h in 1..=upto {
            let first = self.nodes[nodes[0]].client().block(Some(h)).expect("block");
            for &i in &nodes[1..] {
                let other = self.nodes[i].client().block(Some(h)).expect("block");
                assert_eq!(
                    other.hash, first.hash,
                    "block hash differs at height {h} on {}",
                    self.nodes[i].name
                );
                assert_eq!(
                    other.header.state_root, first.header.state_root,
                    "state root differs at height {h} on {}",
                    self.nodes[i].name
                );
            }
        }
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

/// Appends to a home's faults file (`crate::faults`), creating it.
fn append_faults(home: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(home.join(crate::faults::FAULTS_FILE))
        .expect("open the faults file");
    file.write_all(text.as_bytes()).expect("append faults");
}

fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

impl Drop for LocalNet {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        if std::thread::panicking() || std::env::var_os("CVM_KEEP_LOCALNET").is_some() {
            // Keep the homes and logs of a failed run (or when asked) for inspection.
            let kept = self.dir.path().to_path_buf();
            eprintln!("localnet homes kept at {}", kept.display());
            std::mem::forget(std::mem::replace(
                &mut self.dir,
                tempfile::tempdir().expect("tempdir"),
            ));
        }
    }
}
