//! Crash testing on real processes: four validators under a steady ingest load, SIGKILL to a random validator
//! at random moments (half of them just after a height was committed somewhere, to land inside the commit of the
//! next), restart, repeat; then every safety property is checked on what the nodes stored and signed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cvm_host::api_client::Client;
use cvm_host::chain::ValidatorKey;
use cvm_host::records::{Schema, encode_records};
use cvm_runtime::{SignedTransaction, Transaction, TxPayload};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::checks::{ChainReport, DoubleSign, stop_and_check};
use crate::localnet::LocalNet;

/// How long a restarted validator may take to catch up before the run counts as stuck.
const CATCH_UP: Duration = Duration::from_secs(90);
/// Records per ingest transaction of the background load.
const RECORDS_PER_TX: usize = 20;

#[derive(Debug, Clone)]
pub struct SoakConfig {
    pub kills: usize,
    pub seed: u64,
}

#[derive(Debug, Clone)]
pub struct SoakReport {
    pub seed: u64,
    pub kills: usize,
    pub heights: u64,
    pub chain: ChainReport,
    pub double_signs: Vec<DoubleSign>,
    /// Equivocation evidence recorded by any node.
    pub evidence: usize,
    pub txs_committed: u64,
    pub messages_scanned: usize,
    /// The highest peak resident set of any validator process (each restart starts a new peak).
    pub max_rss_kib: u64,
    pub elapsed: Duration,
}

impl SoakReport {
    /// The one summary line the soak script prints.
    pub fn summary(&self) -> String {
        format!(
            "soak: seed={} kills={} heights={} forks={} lost_blocks={} double_signs={} evidence={} max_rss_mib={} attacks_sent={} txs_committed={} messages_scanned={} elapsed={:.0}s",
            self.seed,
            self.kills,
            self.heights,
            self.chain.forks.len(),
            self.chain.lost_blocks.len(),
            self.double_signs.len(),
            self.evidence,
            self.max_rss_kib / 1024,
            self.kills,
            self.txs_committed,
            self.messages_scanned,
            self.elapsed.as_secs_f64()
        )
    }

    pub fn is_clean(&self) -> bool {
        self.chain.forks.is_empty()
            && self.chain.lost_blocks.is_empty()
            && self.double_signs.is_empty()
            && self.evidence == 0
    }
}

/// The account that deploys and feeds the example manuscript.
pub fn dev_key() -> ValidatorKey {
    ValidatorKey(ed25519_dalek::SigningKey::from_bytes(
        &crate::localnet::DEV_SECRET,
    ))
}

pub fn sign(
    chain_id: &str,
    key: &ValidatorKey,
    nonce: u64,
    payload: TxPayload,
) -> SignedTransaction {
    Transaction {
        chain_id: chain_id.into(),
        signer: key.public_key(),
        nonce,
        payload,
    }
    .sign(&key.0)
}

/// Deploys erc20-transfers through `client` and waits for it.
pub fn deploy_erc20(client: &Client, chain_id: &str) {
    let key = dev_key();
    let nonce = client.account_nonce(key.public_key()).expect("nonce");
    let deploy = sign(
        chain_id,
        &key,
        nonce,
        TxPayload::Deploy {
            wasm: manuscript_fixtures::ERC20_TRANSFERS.to_vec(),
            fuel_limit_per_record: 10_000_000,
            sources: Vec::new(),
        },
    );
    let hash = client.submit_tx(&deploy).expect("submit deploy");
    let (_, receipt) = client
        .wait_for_tx(hash, Duration::from_secs(60))
        .expect("deploy committed");
    assert!(
        format!("{receipt:?}").contains("erc20-transfers"),
        "deploy receipt: {receipt:?}"
    );
}

/// Ingest transactions submitted to every listed node (so a killed node loses none), one every `period`.
pub struct Load {
    stop: Arc<AtomicBool>,
    pub submitted: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Load {
    pub fn start(rpc_urls: Vec<String>, chain_id: String, period: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let submitted = Arc::new(AtomicU64::new(0));
        let (stop2, submitted2) = (stop.clone(), submitted.clone());
        let thread = std::thread::spawn(move || {
            let clients: Vec<Client> = rpc_urls
                .iter()
                .map(|u| Client::with_timeout(u, Duration::from_secs(2)))
                .collect();
            let text = std::fs::read_to_string(manuscript_fixtures::erc20_logs_path())
                .expect("example data");
            let records =
                encode_records(&text, "ethereum.logs", Schema::Auto).expect("encode logs");
            let key = dev_key();
            let mut nonce = None;
            let mut offset = 0usize;
            while !stop2.load(Ordering::Relaxed) {
                let committed = clients
                    .iter()
                    .find_map(|c| c.account_nonce(key.public_key()).ok());
                let Some(committed) = committed else {
                    std::thread::sleep(period);
                    continue;
                };
                // Far ahead of the chain means earlier transactions were lost with a killed node's mempool
                // before they spread: start again from the committed nonce.
                let next = match nonce {
                    Some(n) if n >= committed && n < committed + 40 => n,
                    _ => committed,
                };
                let chunk: Vec<Vec<u8>> = (0..RECORDS_PER_TX)
                    .map(|i| records[(offset + i) % records.len()].clone())
                    .collect();
                offset += RECORDS_PER_TX;
                let tx = sign(
                    &chain_id,
                    &key,
                    next,
                    TxPayload::Ingest {
                        source: "ethereum.logs".into(),
                        records: chunk.into(),
                    },
                );
                let accepted = clients.iter().filter(|c| c.submit_tx(&tx).is_ok()).count();
                if accepted > 0 {
                    nonce = Some(next + 1);
                    submitted2.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(period);
            }
        });
        Load {
            stop,
            submitted,
            thread: Some(thread),
        }
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The highest committed height any running node reports.
fn network_height(net: &LocalNet, except: Option<usize>) -> u64 {
    (0..net.nodes.len())
        .filter(|i| Some(*i) != except)
        .filter_map(|i| net.status(i).map(|s| s.height))
        .max()
        .unwrap_or(0)
}

/// The highest peak resident set among the running nodes.
fn peak_rss_kib(net: &LocalNet) -> u64 {
    net.nodes
        .iter()
        .filter_map(|n| n.peak_rss_kib())
        .max()
        .unwrap_or(0)
}

/// Waits until node `i` has reached the height the others had when it restarted.
fn wait_caught_up(net: &LocalNet, i: usize) {
    let target = network_height(net, Some(i));
    net.wait_height(i, target, CATCH_UP);
}

/// A fresh 4-validator network, every validator past height 2 within `settle`, erc20-transfers deployed, and a
/// [`Load`] of one ingest every `period` submitted to all of them.
pub fn loaded_network(settle: Duration, period: Duration) -> (LocalNet, Load) {
    let mut net = LocalNet::new(4, 0);
    net.start_all();
    for i in 0..4 {
        net.wait_height(i, 2, settle);
    }
    deploy_erc20(&net.nodes[0].client(), &net.chain_id);
    let load = Load::start(
        net.nodes.iter().map(|n| n.rpc_url.clone()).collect(),
        net.chain_id.clone(),
        period,
    );
    (net, load)
}

/// Runs the crash test on a fresh 4-validator network and checks it.
pub fn crash_soak(config: &SoakConfig) -> SoakReport {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let (mut net, load) = loaded_network(CATCH_UP, Duration::from_millis(100));

    let mut max_rss_kib = 0;
    for kill in 0..config.kills {
        let victim = rng.gen_range(0..4);
        if kill % 2 == 0 {
            std::thread::sleep(Duration::from_millis(rng.gen_range(0..1500)));
        } else {
            // Just after some node committed a height: the victim is likely inside the same commit.
            let h = network_height(&net, None);
            let deadline = Instant::now() + Duration::from_secs(10);
            while network_height(&net, None) == h && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            std::thread::sleep(Duration::from_millis(rng.gen_range(0..20)));
        }
        max_rss_kib = max_rss_kib.max(peak_rss_kib(&net));
        net.kill(victim);
        std::thread::sleep(Duration::from_millis(rng.gen_range(100..1500)));
        net.start(victim);
        wait_caught_up(&net, victim);
    }

    load.stop();
    let top = network_height(&net, None);
    for i in 0..4 {
        net.wait_height(i, top, CATCH_UP);
    }
    let evidence: usize = (0..4)
        .map(|i| {
            net.nodes[i]
                .client()
                .evidence()
                .map(|e| e.committed.len() + e.pending.len())
                .unwrap_or(0)
        })
        .sum();
    let txs_committed = net.nodes[0]
        .client()
        .account_nonce(dev_key().public_key())
        .unwrap_or(0);
    max_rss_kib = max_rss_kib.max(peak_rss_kib(&net));
    let safety = stop_and_check(&mut net);
    SoakReport {
        seed: config.seed,
        kills: config.kills,
        heights: safety.chain.common_height,
        chain: safety.chain,
        double_signs: safety.double_signs,
        evidence,
        txs_committed,
        messages_scanned: safety.messages_scanned,
        max_rss_kib,
        elapsed: started.elapsed(),
    }
}
