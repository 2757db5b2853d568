//! The adversary peer: a libp2p node with no validator key that joins a running 4-validator network through one
//! validator and sends every gossip, sync and HTTP attack of the hardening issue, plus random mutations of real
//! captured messages, in attack windows alternating with quiet ones.
//!
//! The run measures what an operator would: heights per second in quiet and attack windows of the same run,
//! every validator's resident memory, forks, lost blocks and double signs afterwards, and whether anything the
//! adversary sent travelled beyond one hop (an observer peer, connected to the same validator as the adversary
//! and to no other, sees exactly what that validator relayed) unless it was valid.

pub mod attacks;
pub mod http;
pub mod peer;
pub mod relay;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cvm_consensus::ChainId;
use cvm_host::chain::genesis::parse_public_key;
use cvm_host::chain::{Genesis, NodeConfig};
use cvm_host::network::{Multiaddr, Topic};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::Semaphore;

use crate::chaos::{Load, deploy_erc20, dev_key};
use crate::checks::{ChainReport, DoubleSign, compare_chains, find_double_signs};
use crate::localnet::LocalNet;
use attacks::{Attack, Forge, Gossip, sync_flood_request};
use http::HttpAttack;
use peer::{Peer, SyncAnswers, payload_id};
use relay::RelayRules;

/// Longest attack window; a longer run alternates several.
const MAX_ATTACK_WINDOW: Duration = Duration::from_secs(60);
/// Quiet window before each attack window (the baseline rate of the same run).
const QUIET_WINDOW: Duration = Duration::from_secs(12);
/// How often the adversary sends a burst of each attack.
const BURST_PERIOD: Duration = Duration::from_millis(100);
/// Sync requests the adversary keeps outstanding at once.
const SYNC_IN_FLIGHT: usize = 64;
/// How long the network may take to come back together after the attacks stop.
const SETTLE: Duration = Duration::from_secs(120);

/// What a run does.
#[derive(Clone, Debug)]
pub struct AdversaryConfig {
    /// Total time under attack.
    pub attack: Duration,
    pub seed: u64,
}

/// What a run saw.
#[derive(Debug)]
pub struct AdversaryReport {
    pub seed: u64,
    pub attack: Duration,
    /// Committed height every node reached in the end.
    pub heights: u64,
    pub quiet_heights_per_s: f64,
    pub attack_heights_per_s: f64,
    /// The longest any validator went without committing during an attack window.
    pub worst_attack_gap: Duration,
    pub chain: ChainReport,
    pub double_signs: Vec<DoubleSign>,
    /// The highest resident set of any validator at any sample.
    pub max_rss_kib: u64,
    /// Messages, requests and connections sent, by attack.
    pub sent: BTreeMap<&'static str, u64>,
    /// Invalid payloads of the adversary's that the observer received (relayed beyond one hop).
    pub relayed_invalid: BTreeMap<&'static str, u64>,
    /// What the first few of those were.
    pub relayed_invalid_samples: Vec<String>,
    /// Valid payloads of the adversary's that the observer received (allowed; counted).
    pub relayed_valid: u64,
    /// Slow HTTP connections the node closed.
    pub slowloris_cut: u64,
    /// Client transactions the honest load had committed.
    pub txs_committed: u64,
    pub elapsed: Duration,
}

impl AdversaryReport {
    /// The one summary line `scripts/adversary` prints.
    pub fn summary(&self) -> String {
        format!(
            "adversary: seed={} attack={:.0}s heights={} quiet_hps={:.2} attack_hps={:.2} ratio={:.2} worst_gap={:.1}s forks={} lost_blocks={} double_signs={} max_rss_mib={} attacks_sent={} relayed_invalid={} slowloris_cut={} txs_committed={} elapsed={:.0}s",
            self.seed,
            self.attack.as_secs_f64(),
            self.heights,
            self.quiet_heights_per_s,
            self.attack_heights_per_s,
            self.ratio(),
            self.worst_attack_gap.as_secs_f64(),
            self.chain.forks.len(),
            self.chain.lost_blocks.len(),
            self.double_signs.len(),
            self.max_rss_kib / 1024,
            self.sent.values().sum::<u64>(),
            self.relayed_invalid.values().sum::<u64>(),
            self.slowloris_cut,
            self.txs_committed,
            self.elapsed.as_secs_f64(),
        )
    }

    /// Heights per second under attack over the quiet rate.
    pub fn ratio(&self) -> f64 {
        if self.quiet_heights_per_s > 0.0 {
            self.attack_heights_per_s / self.quiet_heights_per_s
        } else {
            0.0
        }
    }
}

/// The lowest committed height among the validators (the chain has finalized at least this far everywhere).
fn common_height(net: &LocalNet) -> u64 {
    (0..net.nodes.len())
        .map(|i| net.status(i).map(|s| s.height).unwrap_or(0))
        .min()
        .unwrap_or(0)
}

/// Samples every validator's resident set and notices the longest time any went without committing.
struct Watch {
    max_rss_kib: u64,
    last: Vec<(u64, Instant)>,
    worst_gap: Duration,
}

impl Watch {
    fn new(nodes: usize) -> Self {
        Watch {
            max_rss_kib: 0,
            last: vec![(0, Instant::now()); nodes],
            worst_gap: Duration::ZERO,
        }
    }

    fn sample(&mut self, net: &LocalNet, count_gaps: bool) {
        for (i, node) in net.nodes.iter().enumerate() {
            self.max_rss_kib = self.max_rss_kib.max(node.rss_kib().unwrap_or(0));
            // Measured before a new height resets it: the gap that just ended, or the one still open.
            if count_gaps {
                self.worst_gap = self.worst_gap.max(self.last[i].1.elapsed());
            }
            if let Some(s) = net.status(i)
                && s.height > self.last[i].0
            {
                self.last[i] = (s.height, Instant::now());
            }
        }
    }

    /// Sleeps `window`, sampling; returns the common height gained.
    fn window(&mut self, net: &LocalNet, window: Duration, under_attack: bool) -> u64 {
        let start = common_height(net);
        if under_attack {
            // A gap counts from the start of the window.
            for last in &mut self.last {
                last.1 = Instant::now();
            }
        }
        let end = Instant::now() + window;
        while Instant::now() < end {
            std::thread::sleep(Duration::from_millis(250));
            self.sample(net, under_attack);
        }
        common_height(net).saturating_sub(start)
    }
}

/// Runs the calling thread at the lowest CPU priority. The adversary shares this machine's two cores with the
/// validators it attacks; an attacker has machines of its own, so what it costs the validators to handle its
/// messages is measured, not what it costs to make them.
#[allow(unsafe_code)]
pub fn lower_priority() {
    // SAFETY: setpriority has no memory preconditions; on Linux `who = 0` names the calling thread only.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}

/// Where a node listens for peers, as a dialable multiaddr.
fn p2p_address(net: &LocalNet, i: usize) -> (Multiaddr, usize) {
    let config = NodeConfig::load(&net.nodes[i].home.join("config/config.toml")).expect("config");
    let addr = format!("{}/p2p/{}", config.p2p.listen, net.nodes[i].peer_id())
        .parse()
        .expect("multiaddr");
    (addr, config.p2p.max_message_bytes)
}

/// Counts of what the gossip attack loop sent, and the ids of what it sent by kind and topic.
#[derive(Default)]
struct Sent {
    counts: HashMap<Attack, u64>,
    /// Payload id → (attack, topic, payload) for every gossip message published.
    payloads: HashMap<u64, (Attack, Topic, Vec<u8>)>,
}

/// The adversary's gossip and sync attacks, and what they sent.
#[derive(Clone)]
struct GossipAttacker {
    adversary: Arc<Peer>,
    /// The validator the adversary joined through (the target of its sync requests).
    entry: libp2p::PeerId,
    chain_id: String,
    part_size: usize,
    sent: Arc<std::sync::Mutex<Sent>>,
    sync_sent: Arc<AtomicU64>,
}

/// Runs every gossip and sync attack until `stop`.
async fn attack_loop(attacker: GossipAttacker, seed: u64, stop: Arc<AtomicBool>) {
    let GossipAttacker {
        adversary,
        entry,
        chain_id,
        part_size,
        sent,
        sync_sent,
    } = attacker;
    let mut rng = StdRng::seed_from_u64(seed);
    let in_flight = Arc::new(Semaphore::new(SYNC_IN_FLIGHT));
    let mut tick = tokio::time::interval(BURST_PERIOD);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let (height, consensus, parts) = {
            let heard = adversary.heard();
            (
                heard.height,
                heard.consensus.iter().cloned().collect::<Vec<_>>(),
                heard.parts.iter().cloned().collect::<Vec<_>>(),
            )
        };
        let mut forge = Forge {
            rng: &mut rng,
            chain_id: &chain_id,
            part_size,
            height,
            consensus: &consensus,
            parts: &parts,
        };
        let mut burst: Vec<Gossip> = Vec::new();
        burst.extend((0..2).filter_map(|_| forge.proposal_round_max()));
        burst.extend(forge.junk_parts(12));
        burst.extend((0..4).filter_map(|_| forge.future_proposal()));
        burst.extend((0..8).filter_map(|_| forge.replay()));
        burst.extend((0..8).filter_map(|_| forge.mutation()));
        burst.extend((0..30).map(|i| forge.gapped_tx(2 + i)));
        burst.extend((0..30).map(|_| forge.junk_tx()));
        for gossip in burst {
            if adversary
                .handle
                .publish(gossip.topic, gossip.data.clone())
                .await
                .is_ok()
            {
                let mut sent = sent.lock().unwrap_or_else(|p| p.into_inner());
                *sent.counts.entry(gossip.attack).or_default() += 1;
                sent.payloads.insert(
                    payload_id(&gossip.data),
                    (gossip.attack, gossip.topic, gossip.data),
                );
            }
        }
        while let Ok(permit) = in_flight.clone().try_acquire_owned() {
            let handle = adversary.handle.clone();
            sync_sent.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let _ = handle.request(entry, sync_flood_request()).await;
                drop(permit);
            });
        }
    }
}

/// Runs the adversary against a fresh 4-validator network under an honest ingest load, and checks it.
pub fn adversary_run(config: &AdversaryConfig) -> AdversaryReport {
    let started = Instant::now();
    let mut net = LocalNet::new(4, 0);
    net.start_all();
    for i in 0..4 {
        net.wait_height(i, 2, SETTLE);
    }
    deploy_erc20(&net.nodes[0].client(), &net.chain_id);
    let load = Load::start(
        net.nodes.iter().map(|n| n.rpc_url.clone()).collect(),
        net.chain_id.clone(),
        Duration::from_millis(200),
    );

    let genesis = Genesis::load(&net.genesis_path()).expect("genesis");
    let part_size = genesis.params.part_size as usize;
    let rules = Arc::new(RelayRules {
        chain_id: ChainId::new(net.chain_id.clone()),
        validators: genesis
            .validators
            .iter()
            .map(|v| parse_public_key(&v.public_key).expect("validator key"))
            .collect(),
        part_size,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(lower_priority)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (entry, max_message_bytes) = p2p_address(&net, 0);
    let entry_id = net.nodes[0].peer_id();
    let adversary = Arc::new(runtime.block_on(Peer::join(
        &net.chain_id,
        entry.clone(),
        max_message_bytes,
        SyncAnswers::Lie,
        rules.clone(),
    )));
    let observer = runtime.block_on(Peer::join(
        &net.chain_id,
        entry,
        max_message_bytes,
        SyncAnswers::Silent,
        rules.clone(),
    ));

    let windows = config
        .attack
        .as_secs_f64()
        .div_euclid(MAX_ATTACK_WINDOW.as_secs_f64())
        .max(0.0) as u32
        + u32::from(config.attack.as_secs_f64() % MAX_ATTACK_WINDOW.as_secs_f64() > 0.0);
    let window = config.attack / windows.max(1);
    let sent = Arc::new(std::sync::Mutex::new(Sent::default()));
    let sync_sent = Arc::new(AtomicU64::new(0));
    let attacker = GossipAttacker {
        adversary: adversary.clone(),
        entry: entry_id,
        chain_id: net.chain_id.clone(),
        part_size,
        sent: sent.clone(),
        sync_sent: sync_sent.clone(),
    };
    let mut watch = Watch::new(net.nodes.len());
    let (mut quiet_heights, mut attack_heights) = (0u64, 0u64);
    let mut quiet_time = Duration::ZERO;
    let mut http_counters = Vec::new();
    for w in 0..windows.max(1) {
        quiet_heights += watch.window(&net, QUIET_WINDOW, false);
        quiet_time += QUIET_WINDOW;
        let stop = Arc::new(AtomicBool::new(false));
        let task = runtime.spawn(attack_loop(
            attacker.clone(),
            config.seed.wrapping_add(u64::from(w)),
            stop.clone(),
        ));
        let http = HttpAttack::start(&net.nodes[0].rpc_url);
        attack_heights += watch.window(&net, window, true);
        stop.store(true, Ordering::Relaxed);
        let _ = runtime.block_on(task);
        http_counters.push(http.stop());
    }
    load.stop();

    // The chain must come back together: every validator at the height the highest had.
    let top = (0..4)
        .filter_map(|i| net.status(i).map(|s| s.height))
        .max()
        .unwrap_or(0);
    for i in 0..4 {
        net.wait_height(i, top, SETTLE);
    }
    let txs_committed = net.nodes[0]
        .client()
        .account_nonce(dev_key().public_key())
        .unwrap_or(0);

    let signed_roots = {
        let mut roots = observer.heard().signed_roots.clone();
        roots.extend(adversary.heard().signed_roots.iter().copied());
        roots
    };
    let observed = observer.heard().ids.clone();
    let sent = std::mem::take(&mut *sent.lock().unwrap_or_else(|p| p.into_inner()));
    let mut relayed_invalid: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut relayed_valid = 0;
    let mut relayed_invalid_samples = Vec::new();
    for (id, (attack, topic, data)) in &sent.payloads {
        if !observed.contains(id) {
            continue;
        }
        if attack.may_be_relayed() || rules.is_valid(*topic, data, &signed_roots) {
            relayed_valid += 1;
        } else {
            *relayed_invalid.entry(attack.name()).or_default() += 1;
            if relayed_invalid_samples.len() < 5 {
                relayed_invalid_samples.push(format!(
                    "{} on {topic:?}: {}",
                    attack.name(),
                    rules.describe(*topic, data)
                ));
            }
        }
    }
    let mut counts: BTreeMap<&'static str, u64> = sent
        .counts
        .iter()
        .map(|(attack, n)| (attack.name(), *n))
        .collect();
    counts.insert(Attack::SyncFlood.name(), sync_sent.load(Ordering::Relaxed));
    counts.insert(
        Attack::StatusLie.name(),
        adversary.lies_told.load(Ordering::Relaxed),
    );
    let sum = |f: fn(&http::HttpCounters) -> &AtomicU64| {
        http_counters
            .iter()
            .map(|c| f(c).load(Ordering::Relaxed))
            .sum::<u64>()
    };
    counts.insert(Attack::Slowloris.name(), sum(|c| &c.slow_opened));
    counts.insert(Attack::HttpFlood.name(), sum(|c| &c.flood_sent));
    let slowloris_cut = sum(|c| &c.slow_cut);
    runtime.block_on(async {
        adversary.handle.shutdown().await;
        observer.handle.shutdown().await;
    });
    drop(runtime);

    for i in 0..4 {
        net.stop(i);
    }
    let homes: Vec<&std::path::Path> = net.nodes.iter().map(|n| n.home.as_path()).collect();
    let chain = compare_chains(&homes);
    let messages: Vec<_> = net
        .nodes
        .iter()
        .flat_map(|n| n.recorded_messages())
        .collect();
    let double_signs = find_double_signs(&net.genesis_path(), &messages);
    let attack_time = window * windows.max(1);
    AdversaryReport {
        seed: config.seed,
        attack: attack_time,
        heights: chain.common_height,
        quiet_heights_per_s: quiet_heights as f64 / quiet_time.as_secs_f64(),
        attack_heights_per_s: attack_heights as f64 / attack_time.as_secs_f64(),
        worst_attack_gap: watch.worst_gap,
        chain,
        double_signs,
        max_rss_kib: watch.max_rss_kib,
        sent: counts,
        relayed_invalid,
        relayed_invalid_samples,
        relayed_valid,
        slowloris_cut,
        txs_committed,
        elapsed: started.elapsed(),
    }
}
