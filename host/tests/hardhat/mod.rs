//! A real hardhat node for tests: `npx hardhat node` on a free loopback port, run from the directory holding
//! hardhat (`CVM_HARDHAT_DIR`, else `examples/ethereum`), killed with its process group when dropped. Its log
//! is printed when a test using it fails.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct Hardhat {
    child: Child,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

fn project_dir() -> PathBuf {
    match std::env::var_os("CVM_HARDHAT_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/ethereum"),
    }
}

fn npx_present() -> bool {
    Command::new("npx")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Hardhat {
    /// A started node, or `None` (with a message) when `npx` is not installed.
    pub fn start() -> Option<Hardhat> {
        if !npx_present() {
            eprintln!(
                "SKIPPED: `npx` (Node.js) is not installed; install Node.js to run the hardhat tests"
            );
            return None;
        }
        let dir = project_dir();
        assert!(
            dir.join("node_modules/hardhat").is_dir(),
            "hardhat is not installed in {}: run scripts/setup.sh (npm ci in examples/ethereum) or set \
             CVM_HARDHAT_DIR to a directory where it is",
            dir.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let logs = tempfile::tempdir().expect("temp dir");
        let log = logs.path().join("hardhat.log");
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new("npx")
            .args([
                "hardhat",
                "node",
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ])
            .current_dir(&dir)
            .env("HARDHAT_DISABLE_TELEMETRY_PROMPT", "true")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("npx hardhat node starts");
        let node = Hardhat {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: logs,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        while node.try_rpc("eth_chainId", json!([])).is_err() {
            assert!(
                Instant::now() < deadline,
                "hardhat did not answer within 90 s; its log:\n{}",
                node.log_text()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        Some(node)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn try_rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut response = ureq::post(&self.url)
            .send_json(&body)
            .map_err(|e| e.to_string())?;
        let answer: Value = response.body_mut().read_json().map_err(|e| e.to_string())?;
        match answer.get("error") {
            Some(error) => Err(format!("{method}: {error}")),
            None => Ok(answer["result"].clone()),
        }
    }

    /// One JSON-RPC call; panics with the node's log on an error.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params)
            .unwrap_or_else(|e| panic!("{e}; hardhat log:\n{}", self.log_text()))
    }
}

impl Drop for Hardhat {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("hardhat log:\n{}", self.log_text());
        }
        // The child leads its own process group: npx and the node process it starts end together.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}
