//! HTTP attacks on a node's API: connections that never finish their headers (slowloris) and more concurrent
//! requests than the API serves at once.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use cvm_host::api_client::Client;

/// Connections the slowloris keeps open at once.
const SLOW_CONNECTIONS: usize = 64;
/// Threads of the request flood: each keeps one request open, so this many are in flight at once.
const FLOOD_THREADS: usize = 16;
/// Pause between one thread's requests: the flood tests concurrency, not the attacker's own CPU.
const FLOOD_PAUSE: Duration = Duration::from_millis(20);

/// Counters of the HTTP attacks.
#[derive(Default)]
pub struct HttpCounters {
    /// Slow connections opened.
    pub slow_opened: AtomicU64,
    /// Slow connections the server closed before they finished their headers.
    pub slow_cut: AtomicU64,
    /// Flood requests sent.
    pub flood_sent: AtomicU64,
    /// Flood requests answered with an error status (the API refusing work) or not at all.
    pub flood_refused: AtomicU64,
}

/// The HTTP attacks, running until stopped.
pub struct HttpAttack {
    stop: Arc<AtomicBool>,
    pub counters: Arc<HttpCounters>,
    threads: Vec<JoinHandle<()>>,
}

impl HttpAttack {
    pub fn start(rpc_url: &str) -> HttpAttack {
        let addr: SocketAddr = rpc_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("rpc url is http://ip:port");
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(HttpCounters::default());
        let mut threads = Vec::new();
        {
            let (stop, counters) = (stop.clone(), counters.clone());
            threads.push(std::thread::spawn(move || {
                super::priority::lower_priority();
                slowloris(addr, &stop, &counters)
            }));
        }
        for _ in 0..FLOOD_THREADS {
            let (stop, counters) = (stop.clone(), counters.clone());
            let client = Client::with_timeout(rpc_url, Duration::from_secs(5));
            threads.push(std::thread::spawn(move || {
                super::priority::lower_priority();
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(FLOOD_PAUSE);
                    counters.flood_sent.fetch_add(1, Ordering::Relaxed);
                    if client.manuscripts().is_err() {
                        counters.flood_refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        HttpAttack {
            stop,
            counters,
            threads,
        }
    }

    pub fn stop(self) -> Arc<HttpCounters> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
        self.counters
    }
}

/// Keeps [`SLOW_CONNECTIONS`] connections sending one header byte every 500 ms; a connection the server closes
/// is counted and replaced.
fn slowloris(addr: SocketAddr, stop: &AtomicBool, counters: &HttpCounters) {
    let open = |counters: &HttpCounters| -> Option<TcpStream> {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        s.set_nonblocking(true).ok()?;
        s.write_all(b"GET /status HTTP/1.1\r\nHost: node\r\nX-Slow: ")
            .ok()?;
        counters.slow_opened.fetch_add(1, Ordering::Relaxed);
        Some(s)
    };
    let mut conns: Vec<TcpStream> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        while conns.len() < SLOW_CONNECTIONS {
            match open(counters) {
                Some(s) => conns.push(s),
                None => break,
            }
        }
        conns.retain_mut(|s| {
            let mut buf = [0u8; 256];
            let closed = match s.read(&mut buf) {
                Ok(_) => true, // EOF or a response (a timeout answer): the server ended it.
                Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
            } || s.write_all(b"a").is_err();
            if closed {
                counters.slow_cut.fetch_add(1, Ordering::Relaxed);
            }
            !closed
        });
        std::thread::sleep(Duration::from_millis(500));
    }
}
