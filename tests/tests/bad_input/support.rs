//! What the bad-input tests share: transactions, running `cvm` with a deadline, raw HTTP, generated homes,
//! node processes started with their own environment, and chain comparison.

// A file-descriptor limit for the child needs setrlimit between fork and exec (`pre_exec`).
#![allow(unsafe_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use cvm_host::home::testnet::{TestnetSpec, generate};
use cvm_runtime::TxPayload;
pub use cvm_tests::chaos::{dev_key, sign};
use cvm_tests::localnet::{LocalNet, cvm_binary};

pub const WAIT: Duration = Duration::from_secs(60);

pub fn ingest(records: Vec<Vec<u8>>) -> TxPayload {
    TxPayload::Ingest {
        source: "bad-input".into(),
        records: records.into(),
    }
}

/// Output of a process that must not have panicked.
pub fn assert_no_panic(output: &str) {
    for bad in ["panicked", "stack backtrace", "RUST_BACKTRACE"] {
        assert!(!output.contains(bad), "{bad:?} in output:\n{output}");
    }
}

/// Runs `command` to completion with stdout and stderr collected; kills it and fails after `timeout`.
pub fn run_with_timeout(mut command: Command, timeout: Duration) -> (ExitStatus, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            let mut text = out_reader.join().unwrap_or_default();
            text.push_str(&err_reader.join().unwrap_or_default());
            panic!("still running after {timeout:?}; output:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut text = out_reader.join().unwrap_or_default();
    text.push_str(&err_reader.join().unwrap_or_default());
    (status, text)
}

/// `cvm start --home <home>` that is expected to refuse: returns its combined output after checking that it
/// exited non-zero without a panic. `RUST_BACKTRACE=1` makes any panic print a backtrace the check would see.
pub fn start_refused(home: &Path) -> String {
    let mut command = Command::new(cvm_binary());
    command
        .args(["start", "--home"])
        .arg(home)
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "1");
    let (status, output) = run_with_timeout(command, Duration::from_secs(30));
    assert!(
        !status.success(),
        "cvm start should refuse {}:\n{output}",
        home.display()
    );
    assert_eq!(status.code(), Some(1), "a clean error exit: {output}");
    assert_no_panic(&output);
    output
}

/// One raw HTTP/1.1 exchange on a fresh connection (so malformed requests can be sent as they are).
/// Returns the status code (0 if the server closed without answering) and the body.
pub fn raw_http(rpc_url: &str, request: &[u8]) -> (u16, String) {
    let addr = rpc_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect to the API");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).expect("send request");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

pub fn request(method: &str, path: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: node\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The `error` of a JSON error body (also for chunked bodies: the JSON object is found inside).
pub fn error_field(body: &str) -> String {
    let start = body
        .find('{')
        .unwrap_or_else(|| panic!("no JSON in {body:?}"));
    let end = body
        .rfind('}')
        .unwrap_or_else(|| panic!("no JSON in {body:?}"));
    let v: serde_json::Value =
        serde_json::from_str(&body[start..=end]).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field in {v}"))
        .to_string()
}

/// A fresh two-validator home set (not started) in `dir`.
pub fn homes(dir: &Path) -> Vec<PathBuf> {
    let spec = TestnetSpec {
        validators: 2,
        full_nodes: 0,
        chain_id: "bad-files".into(),
        output: dir.to_path_buf(),
        // Nothing binds: every case fails before the network starts.
        base_port: 1,
        block_interval_ms: 0,
        idle_block_interval_ms: 0,
        sources: cvm_tests::sources::test_sources(&cvm_tests::localnet::DEV_SECRET),
    };
    generate(&spec)
        .expect("generate")
        .into_iter()
        .map(|n| n.home)
        .collect()
}

/// A `cvm start` process this test runs itself (not through [`LocalNet::start`]), so it can have its own log
/// filter and, optionally, a file size limit. Its output goes through pipes into `<home>/node.log`. Killed on
/// drop.
pub struct OwnNode {
    child: Child,
    copiers: Vec<std::thread::JoinHandle<()>>,
}

impl OwnNode {
    /// Starts the node of `home` with `RUST_LOG=<log>`.
    ///
    /// With `file_limit`, every file write past that many bytes fails, as if the disk were full: RLIMIT_FSIZE,
    /// with SIGXFSZ ignored so the write returns EFBIG instead of killing the process (an ignored disposition
    /// survives exec). Pipes are not subject to the limit, so the log still gets everything.
    pub fn start(home: &Path, log: &str, file_limit: Option<u64>) -> OwnNode {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(cvm_binary());
        command
            .args(["start", "--home"])
            .arg(home)
            .env("RUST_LOG", log)
            .env("RUST_BACKTRACE", "1")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(limit) = file_limit {
            // SAFETY: only async-signal-safe calls (setrlimit, signal) between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let rl = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &rl) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    if libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = command.spawn().expect("spawn cvm start");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("node.log"))
            .expect("node log");
        let stdout: Box<dyn Read + Send> = Box::new(child.stdout.take().expect("stdout"));
        let stderr: Box<dyn Read + Send> = Box::new(child.stderr.take().expect("stderr"));
        let copiers = [stdout, stderr]
            .into_iter()
            .map(|mut pipe| {
                let mut log = log.try_clone().expect("clone log");
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut pipe, &mut log);
                })
            })
            .collect();
        OwnNode { child, copiers }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits up to `timeout` for the process to exit by itself; once it has, its log is complete.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                for copier in self.copiers.drain(..) {
                    let _ = copier.join();
                }
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

impl Drop for OwnNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `text` without ANSI colour sequences (in case a logger colours its output anyway).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Every listed node has the same block hash at every height up to `upto`.
pub fn assert_same_chain(net: &LocalNet, nodes: &[usize], upto: u64) {
    for h in 1..=upto {
        let reference = net.nodes[nodes[0]].client().block(Some(h)).expect("block");
        for &i in &nodes[1..] {
            let other = net.nodes[i].client().block(Some(h)).expect("block");
            assert_eq!(
                other.hash, reference.hash,
                "height {h} on {}",
                net.nodes[i].name
            );
        }
    }
}
