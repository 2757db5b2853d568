//! The validator node: opens storage, starts the CVM, libp2p and the HTTP API, and runs the consensus event loop
//! ([`runner`]) until asked to stop.
//!
//! - [`app`]: block building, validation by re-execution, atomic commit.
//! - [`mempool`]: admission-checked pending transactions.
//! - [`parts_pool`]: block bodies arriving as Merkle-proven parts.
//! - [`wire`]: gossip message formats.
//! - [`api`]: the HTTP API backend over the node's state.

pub mod api;
pub mod app;
pub mod gossip_window;
pub mod mempool;
pub mod parts_pool;
pub mod runner;
pub mod status;
pub mod test_hooks;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cvm_consensus::wal::Wal;
use cvm_consensus::{
    CachingVerifier, ChainId, Config as DriverConfig, Driver, Ed25519Signer, Ed25519Verifier,
    Height, Input, SignatureVerifier, ValidatorId, ValidatorSet, WalEntry,
};
use cvm_runtime::{BlockExecutor, CvmEngine, EngineConfig, ExecutorConfig};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::chain::config::HomeLayout;
use crate::chain::{BlockHeader, Genesis, NodeConfig, NodeKey, ValidatorKey};
use crate::metrics::Metrics;
use crate::network::{self, NetworkConfig};
use crate::storage::Storage;

pub use app::App;
pub use mempool::Mempool;
pub use runner::{LoopEvent, Runner};
pub use status::NodeStatus;

/// Everything a node needs from its home directory.
pub struct NodeSetup {
    pub home: HomeLayout,
    pub config: NodeConfig,
    pub genesis: Genesis,
    pub validator_key: Option<ValidatorKey>,
    pub node_key: NodeKey,
}

impl NodeSetup {
    pub fn load(home: impl Into<std::path::PathBuf>) -> anyhow::Result<Self> {
        let home = HomeLayout::new(home);
        let config = NodeConfig::load(&home.config())?;
        let genesis = Genesis::load(&home.genesis())?;
        let node_key = NodeKey::load(&home.node_key())?;
        let needed =
            genesis.params.max_block_bytes as usize + sync_margin(genesis.validators.len());
        if config.p2p.max_message_bytes < needed {
            bail!(
                "[p2p] max_message_bytes in {} is {}, below the {needed} bytes sync needs to send the largest block \
                 genesis allows (max_block_bytes {} plus header, commit certificate and framing): a node that missed \
                 such a block could never catch up. Set max_message_bytes to at least {needed}",
                home.config().display(),
                config.p2p.max_message_bytes,
                genesis.params.max_block_bytes,
            );
        }
        let validator_key = if config.validator {
            let key = ValidatorKey::load(&home.validator_key())?;
            let id = ValidatorId(key.public_key());
            if genesis.validator_ids()?.iter().all(|(v, _)| *v != id) {
                bail!(
                    "validator key {} is not in the genesis validator set; set `validator = false` in {} to run a full node",
                    hex::encode(key.public_key()),
                    home.config().display()
                );
            }
            Some(key)
        } else {
            None
        };
        Ok(Self {
            home,
            config,
            genesis,
            validator_key,
            node_key,
        })
    }
}

/// What a sync response holding one block needs beyond the block body: the header, the commit certificate
/// (under 128 bytes a validator), the response framing and the 1 KiB the responder keeps spare.
pub fn sync_margin(validators: usize) -> usize {
    8 * 1024 + 128 * validators
}

/// The validator set at `height`: genesis priorities advanced once per earlier height.
pub fn validator_set_at(genesis: &Genesis, height: u64) -> anyhow::Result<ValidatorSet> {
    let mut set = genesis.validator_set()?;
    for _ in 1..height {
        set = set.next_height();
    }
    Ok(set)
}

/// A started node.
pub struct RunningNode {
    pub rpc_addr: SocketAddr,
    pub status: Arc<RwLock<NodeStatus>>,
    pub app: Arc<App>,
    pub backend: Arc<api::NodeBackend>,
    commits_tx: tokio::sync::broadcast::Sender<Arc<crate::chain::Block>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningNode {
    /// Stops the loop, the API and the network, and waits for them.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }

    /// Every block this node commits from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<crate::chain::Block>> {
        self.commits_tx.subscribe()
    }

    /// Resolves when the node stops by itself (a fatal error).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

pub async fn start(setup: NodeSetup) -> anyhow::Result<RunningNode> {
    crate::malloc::configure_for_node();
    let NodeSetup {
        home,
        config,
        genesis,
        validator_key,
        node_key,
    } = setup;
    let storage = Storage::open(home.db())?;
    let engine = CvmEngine::new(EngineConfig {
        cache_dir: Some(home.module_cache()),
        ..EngineConfig::default()
    })
    .context("cannot start the CVM engine")?;
    let threads = if config.execution.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        config.execution.threads
    };
    let executor = BlockExecutor::new(
        engine,
        storage.node_store(),
        ExecutorConfig {
            parallel: config.execution.parallel,
            threads,
            // The node serves records from the state trie (with proofs); a copy per record is waste.
            keep_records: false,
        },
    )?;
    // One verifier for consensus and block checks, so a signature is checked once (see `CachingVerifier`).
    let verifier: Arc<dyn SignatureVerifier> = Arc::new(CachingVerifier::new(Ed25519Verifier));
    let app = Arc::new(App::new(
        genesis.clone(),
        storage.clone(),
        executor,
        verifier.clone(),
    )?);
    let parent = app.parent()?;
    info!(chain = %genesis.chain_id, height = parent.height, moniker = %config.moniker, "node starting");

    let (net, mut net_rx) = network::spawn(NetworkConfig::from_p2p(
        &config.p2p,
        &node_key,
        &genesis.chain_id,
    )?)
    .await?;

    let (signer, my_key) = match &validator_key {
        Some(key) => (Arc::new(key.signer()), Some(key.public_key())),
        None => {
            let key = ValidatorKey::generate();
            (Arc::new(key.signer()), None)
        }
    };
    let signer: Arc<Ed25519Signer> = signer;
    let mut driver_config = DriverConfig::new(ChainId::new(genesis.chain_id.clone()));
    driver_config.timeouts = config.consensus.to_engine();
    let driver = Driver::<BlockHeader>::new(driver_config, signer, verifier.clone());

    let status = Arc::new(RwLock::new(NodeStatus {
        chain_id: genesis.chain_id.clone(),
        moniker: config.moniker.clone(),
        height: parent.height,
        latest_block_hash: parent.hash,
        state_root: parent.state_root.0,
        latest_block_time_ms: parent.time_ms,
        validator: my_key,
        ..NodeStatus::default()
    }));
    let metrics = Arc::new(Metrics::new());
    let mempool = Arc::new(Mutex::new(
        Mempool::new(
            genesis.chain_id.clone(),
            config.mempool.max_txs,
            config.mempool.max_bytes,
            genesis.params.max_tx_bytes as usize,
        )
        .with_verified_txs(app.executor().verified_txs())
        .with_gossip_window(config.mempool.gossip_window_bytes),
    ));
    let evidence = Arc::new(Mutex::new(Vec::new()));
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let (commits_tx, _) = tokio::sync::broadcast::channel(256);
    let last_commit = if parent.height > 0 {
        storage.commit(parent.height)?
    } else {
        None
    };

    let mut runner = Runner {
        driver,
        wal: storage.wal()?,
        app: app.clone(),
        mempool: mempool.clone(),
        net: net.clone(),
        verifier,
        status: status.clone(),
        metrics: metrics.clone(),
        evidence: evidence.clone(),
        events_tx,
        validators: validator_set_at(&genesis, parent.height + 1)?,
        my_key: my_key.unwrap_or([0; 32]),
        parts: runner_parts(&genesis),
        waiting_for_body: Default::default(),
        own_messages: Vec::new(),
        resend: 0,
        stall: runner::StallWatch::new(),
        last_commit,
        pending_decision: None,
        height_started: Instant::now(),
        last_commit_at: None,
        // The first commit refreshes the memory gauges.
        memory_sampled_at: Instant::now()
            .checked_sub(Duration::from_secs(3600))
            .unwrap_or_else(Instant::now),
        best_peer_height: 0,
        sync_in_flight: false,
        wal_dirty: false,
        durable_commits: true,
        halted: None,
        peers: Default::default(),
        proposer: config.proposer.clone(),
        commits_tx: commits_tx.clone(),
        hooks: test_hooks(&config, &genesis, validator_key.as_ref())?,
    };

    // Resume the height in progress from the WAL, or start the next one.
    let entries: Vec<WalEntry<BlockHeader>> = storage.load_wal()?;
    let resumes = matches!(entries.first(), Some(WalEntry::StartHeight { height, .. }) if height.0 == parent.height + 1);
    if resumes {
        info!(
            height = parent.height + 1,
            entries = entries.len(),
            "replaying the consensus WAL"
        );
        let effects = runner
            .driver
            .replay(entries)
            .context("consensus WAL replay")?;
        runner.replay_effects(effects);
    } else {
        if !entries.is_empty() {
            warn!(
                entries = entries.len(),
                "WAL is of an already committed height; cleared"
            );
        }
        Wal::<BlockHeader>::clear(&mut runner.wal)?;
        let validators = runner.validators.clone();
        runner.feed(Input::StartHeight {
            height: Height(parent.height + 1),
            validators,
        });
    }

    let listener = tokio::net::TcpListener::bind(config.rpc.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen for the API on {} (in use? change rpc.listen)",
                config.rpc.listen
            )
        })?;
    let rpc_addr = listener.local_addr()?;
    let backend = Arc::new(api::NodeBackend {
        app: app.clone(),
        mempool,
        net: net.clone(),
        status: status.clone(),
        evidence,
        metrics: metrics.clone(),
        mempool_max_txs: config.mempool.max_txs,
    });
    let (rpc_stop_tx, rpc_stop_rx) = oneshot::channel::<()>();
    let rpc_task = tokio::spawn(crate::rpc::serve(
        listener,
        backend.clone(),
        metrics.clone(),
        config.rpc.max_body_bytes,
        async move {
            let _ = rpc_stop_rx.await;
        },
    ));
    info!(%rpc_addr, "HTTP API listening");

    let (shutdown_tx, mut shutdown_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut sync_tick = tokio::time::interval(Duration::from_millis(500));
        sync_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown_rx => break,
                Some(event) = net_rx.recv() => runner.on_network(event),
                Some(event) = events_rx.recv() => runner.on_loop_event(event),
                _ = sync_tick.tick() => runner.sync_tick(),
            }
            if runner.halted.is_some() {
                break;
            }
        }
        let _ = rpc_stop_tx.send(());
        let _ = rpc_task.await;
        net.shutdown().await;
        info!("node stopped");
    });
    Ok(RunningNode {
        rpc_addr,
        status,
        app,
        backend,
        commits_tx,
        shutdown: Some(shutdown_tx),
        task,
    })
}

#[cfg(feature = "test-hooks")]
fn test_hooks(
    config: &NodeConfig,
    genesis: &Genesis,
    key: Option<&ValidatorKey>,
) -> anyhow::Result<test_hooks::TestHooks> {
    test_hooks::TestHooks::new(&config.test, &genesis.chain_id, key)
        .context("cannot open the [test] record_messages file")
}

#[cfg(not(feature = "test-hooks"))]
fn test_hooks(
    _config: &NodeConfig,
    _genesis: &Genesis,
    _key: Option<&ValidatorKey>,
) -> anyhow::Result<test_hooks::TestHooks> {
    Ok(test_hooks::TestHooks)
}

fn runner_parts(genesis: &Genesis) -> parts_pool::PartsPool {
    parts_pool::PartsPool::new(
        genesis.params.part_size as usize,
        genesis.params.max_block_bytes,
    )
}
