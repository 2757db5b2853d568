//! One adversary run: the network, the honest load, the adversary and its observer, alternating quiet and attack
//! windows, then the checks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cvm_consensus::ChainId;
use cvm_host::chain::genesis::parse_public_key;
use cvm_host::chain::{Genesis, NodeConfig};
use cvm_host::network::Multiaddr;

use super::attacks::Attack;
use super::gossip_attacker::{GossipAttacker, attack_loop};
use super::http::{self, HttpAttack};
use super::peer::{Peer, SyncAnswers};
use super::priority::lower_priority;
use super::relay::RelayRules;
use super::report::{AdversaryConfig, AdversaryReport};
use super::sent::SentLog;
use super::watch::Watch;
use crate::chaos::{dev_key, loaded_network};
use crate::checks::stop_and_check;
use crate::localnet::LocalNet;

/// Longest attack window; a longer run alternates several.
const MAX_ATTACK_WINDOW: Duration = Duration::from_secs(60);
/// Quiet window before each attack window (the baseline rate of the same run).
const QUIET_WINDOW: Duration = Duration::from_secs(12);
/// The honest load: one 20-record erc20 ingest this often.
const LOAD_PERIOD: Duration = Duration::from_millis(200);
/// How long the network may take to come back together after the attacks stop.
const SETTLE: Duration = Duration::from_secs(120);
/// Where a node listens for peers, as a dialable multiaddr.
fn p2p_address(net: &LocalNet, i: usize) -> (Multiaddr, usize) {
    let config = NodeConfig::load(&net.nodes[i].home.join("config/config.toml")).expect("config");
    let addr = format!("{}/p2p/{}", config.p2p.listen, net.nodes[i].peer_id())
        .parse()
        .expect("multiaddr");
    (addr, config.p2p.max_message_bytes)
}

/// Runs the adversary against a fresh 4-validator network under an honest ingest load, and checks it.
pub fn adversary_run(config: &AdversaryConfig) -> AdversaryReport {
    let started = Instant::now();
    let (mut net, load) = loaded_network(SETTLE, LOAD_PERIOD);

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
    let sent = Arc::new(std::sync::Mutex::new(SentLog::default()));
    let adversary = Arc::new(runtime.block_on(Peer::join(
        &net.chain_id,
        entry.clone(),
        max_message_bytes,
        SyncAnswers::Lie,
        rules.clone(),
        None,
    )));
    let observer = runtime.block_on(Peer::join(
        &net.chain_id,
        entry,
        max_message_bytes,
        SyncAnswers::Silent,
        rules.clone(),
        Some(sent.clone()),
    ));

    let windows = u32::try_from(
        config
            .attack
            .as_secs()
            .div_ceil(MAX_ATTACK_WINDOW.as_secs())
            .max(1),
    )
    .expect("fewer than 2^32 attack windows");
    let window = config.attack / windows;
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
    for w in 0..windows {
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
    let relayed = std::mem::take(&mut observer.heard().relayed);
    let sent = std::mem::take(&mut *sent.lock().unwrap_or_else(|p| p.into_inner()));
    let mut relayed_invalid: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut relayed_valid = 0;
    let mut relayed_invalid_samples = Vec::new();
    for (attack, topic, data) in &relayed {
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

    let safety = stop_and_check(&mut net);
    let attack_time = window * windows;
    AdversaryReport {
        seed: config.seed,
        attack: attack_time,
        heights: safety.chain.common_height,
        quiet_heights_per_s: quiet_heights as f64 / quiet_time.as_secs_f64(),
        attack_heights_per_s: attack_heights as f64 / attack_time.as_secs_f64(),
        worst_attack_gap: watch.worst_gap,
        chain: safety.chain,
        double_signs: safety.double_signs,
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
