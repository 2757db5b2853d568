//! Building and starting a node, step by step: storage and the CVM, the network, the consensus driver, the
//! event loop (resumed from the WAL or at the next height), the HTTP API, and the loop's task.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cvm_consensus::wal::Wal;
use cvm_consensus::{
    CachingVerifier, ChainId, Config as DriverConfig, Driver, Ed25519Verifier, Height, Input,
    SignatureVerifier, WalEntry,
};
use cvm_runtime::{BlockExecutor, CvmEngine, EngineConfig, ExecutorConfig};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::{info, warn};

use super::app::App;
use super::backend::NodeBackend;
use super::hooks::{NoHooks, NodeHooks};
use super::memory;
use super::mempool::Mempool;
use super::parts_pool::PartsPool;
use super::runner::{Consensus, LoopEvent, Runner, Shared, spawn_tx_intake};
use super::running::RunningNode;
use super::setup::NodeSetup;
use super::status::NodeStatus;
use crate::chain::{BlockHeader, Genesis, NodeConfig, ValidatorKey};
use crate::metrics::Metrics;
use crate::network::{self, NetworkConfig, NetworkEvent, NetworkHandle};
use crate::sources::SourceHub;
use crate::storage::Storage;

/// A node about to start: its loaded home, and the hooks it runs with ([`NoHooks`] unless a test binary sets
/// its own).
pub struct NodeBuilder {
    setup: NodeSetup,
    hooks: Box<dyn NodeHooks>,
}

/// Starts a node with no hooks.
pub async fn start(setup: NodeSetup) -> anyhow::Result<RunningNode> {
    NodeBuilder::new(setup).start().await
}

impl NodeBuilder {
    /// A node built from `setup`, with no hooks.
    pub fn new(setup: NodeSetup) -> Self {
        Self {
            setup,
            hooks: Box::new(NoHooks),
        }
    }

    /// The loaded home.
    pub fn setup(&self) -> &NodeSetup {
        &self.setup
    }

    /// Runs the node with `hooks` (fault injection for test networks).
    pub fn hooks(mut self, hooks: Box<dyn NodeHooks>) -> Self {
        self.hooks = hooks;
        self
    }

    /// Opens storage, starts the CVM, libp2p, the event loop and the HTTP API.
    pub async fn start(self) -> anyhow::Result<RunningNode> {
        crate::malloc::configure_for_node();
        let NodeBuilder { setup, hooks } = self;
        let NodeSetup {
            home,
            config,
            genesis,
            validator_key,
            node_key,
        } = setup;
        let storage = Storage::open(home.db())?;
        let verifier: Arc<dyn SignatureVerifier> = Arc::new(CachingVerifier::new(Ed25519Verifier));
        // Work arriving (a transaction becoming ready, source blocks past a head) wakes the loop: a height waiting
        // for work begins at once.
        let work = Arc::new(Notify::new());
        let sources = Arc::new(SourceHub::new(
            config.sources.clone(),
            &home.root,
            work.clone(),
        ));
        let app = open_app(
            &home.module_cache(),
            &config,
            &genesis,
            &storage,
            &verifier,
            sources,
        )?;
        app.sync_sources();
        let parent = app.parent()?;
        info!(chain = %genesis.chain_id, height = parent.height, moniker = %config.moniker, "node starting");

        let (net, net_events) = network::spawn(NetworkConfig::from_p2p(
            &config.p2p,
            &node_key,
            &genesis.chain_id,
        )?)
        .await?;
        let (driver, my_key) =
            consensus_driver(&genesis, &config, validator_key.as_ref(), &verifier);
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
            .with_payload_rules({
                let app = app.clone();
                Arc::new(move |tx| app.check_payload(tx))
            })
            .with_gossip_window(config.mempool.gossip_window_bytes)
            .with_ready_signal(work.clone()),
        ));
        let tx_app = app.clone();
        spawn_tx_intake(
            net_events.transactions,
            mempool.clone(),
            move |account| tx_app.committed_nonce(account),
            net.clone(),
        );
        let evidence = Arc::new(Mutex::new(app.restore_evidence_pool()?));
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (commits_tx, _) = tokio::sync::broadcast::channel(256);
        let last_commit = match parent.height {
            0 => None,
            h => storage.commit(h)?,
        };

        let mut runner = Runner::new(
            Consensus {
                driver,
                wal: storage.wal()?,
                wal_dirty: false,
                validators: app.validator_set(parent.height + 1).with_context(|| {
                    format!("no validator set for height {}", parent.height + 1)
                })?,
                my_key: my_key.unwrap_or([0; 32]),
                own_messages: Vec::new(),
                resend: 0,
                halted: None,
            },
            PartsPool::new(
                genesis.params.part_size as usize,
                genesis.params.max_block_bytes,
            ),
            last_commit,
            Shared {
                app: app.clone(),
                mempool: mempool.clone(),
                net: net.clone(),
                verifier,
                status: status.clone(),
                metrics: metrics.clone(),
                evidence: evidence.clone(),
                events_tx,
                commits_tx: commits_tx.clone(),
                committed_tx: memory::spawn_upkeep(app.clone(), metrics.clone()),
                proposer: config.proposer.clone(),
                work,
            },
            hooks,
        );
        resume_or_start_height(&mut runner, &storage, parent.height)?;

        let backend = Arc::new(NodeBackend {
            app: app.clone(),
            mempool,
            net: net.clone(),
            status: status.clone(),
            evidence,
            metrics: metrics.clone(),
            mempool_max_txs: config.mempool.max_txs,
            commits: commits_tx.clone(),
        });
        let api = serve_api(&config, backend.clone(), metrics).await?;
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run_event_loop(
            runner,
            net,
            net_events.consensus,
            events_rx,
            shutdown_rx,
            api.stop,
            api.task,
        ));
        Ok(RunningNode {
            rpc_addr: api.addr,
            status,
            app,
            backend,
            commits_tx,
            shutdown: Some(shutdown_tx),
            task,
        })
    }
}

/// Storage's CVM: the engine with its on-disk module cache, the block executor, and the [`App`] over them.
fn open_app(
    module_cache: &std::path::Path,
    config: &NodeConfig,
    genesis: &Genesis,
    storage: &Storage,
    verifier: &Arc<dyn SignatureVerifier>,
    sources: Arc<SourceHub>,
) -> anyhow::Result<Arc<App>> {
    let engine = CvmEngine::new(EngineConfig {
        cache_dir: Some(module_cache.to_path_buf()),
        ..EngineConfig::default()
    })
    .context("cannot start the CVM engine")?;
    let threads = match config.execution.threads {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        n => n,
    };
    let executor = BlockExecutor::new(
        engine,
        storage.node_store(),
        ExecutorConfig {
            parallel: config.execution.parallel,
            threads,
            // The node serves records from the state trie (with proofs); a copy per record is waste.
            keep_records: false,
            // Nothing on a node reads manuscript logs.
            logs: cvm_runtime::LogPolicy::off(),
        },
    )?;
    // One verifier for consensus and block checks, so a signature is checked once (see `CachingVerifier`).
    Ok(Arc::new(App::new(
        genesis.clone(),
        storage.clone(),
        executor,
        verifier.clone(),
        sources,
    )?))
}

/// The consensus driver, signing with the validator key (a full node signs with a throw-away key it never
/// uses), and this node's validator key if it has one.
fn consensus_driver(
    genesis: &Genesis,
    config: &NodeConfig,
    validator_key: Option<&ValidatorKey>,
    verifier: &Arc<dyn SignatureVerifier>,
) -> (Driver<BlockHeader>, Option<[u8; 32]>) {
    let (signer, my_key) = match validator_key {
        Some(key) => (Arc::new(key.signer()), Some(key.public_key())),
        None => (Arc::new(ValidatorKey::generate().signer()), None),
    };
    let mut driver_config = DriverConfig::new(ChainId::new(genesis.chain_id.clone()));
    driver_config.timeouts = config.consensus.to_engine();
    driver_config.hold_round_zero = genesis.params.idle_block_interval_ms > 0;
    (
        Driver::<BlockHeader>::new(driver_config, signer, verifier.clone()),
        my_key,
    )
}

/// Resumes the height in progress from the WAL, or starts the next one.
fn resume_or_start_height(
    runner: &mut Runner,
    storage: &Storage,
    committed: u64,
) -> anyhow::Result<()> {
    let entries: Vec<WalEntry<BlockHeader>> = storage.load_wal()?;
    let resumes = matches!(entries.first(), Some(WalEntry::StartHeight { height, .. }) if height.0 == committed + 1);
    if resumes {
        info!(
            height = committed + 1,
            entries = entries.len(),
            "replaying the consensus WAL"
        );
        let effects = runner
            .consensus
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
        Wal::<BlockHeader>::clear(&mut runner.consensus.wal)?;
        let validators = runner.consensus.validators.clone();
        runner.feed(Input::StartHeight {
            height: Height(committed + 1),
            validators,
        });
    }
    Ok(())
}

/// The HTTP API, serving until `stop` fires.
struct ServedApi {
    addr: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn serve_api(
    config: &NodeConfig,
    backend: Arc<NodeBackend>,
    metrics: Arc<Metrics>,
) -> anyhow::Result<ServedApi> {
    let listener = tokio::net::TcpListener::bind(config.rpc.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen for the API on {} (in use? change rpc.listen)",
                config.rpc.listen
            )
        })?;
    let addr = listener.local_addr()?;
    let (stop, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(crate::rpc::serve(
        listener,
        backend,
        metrics,
        crate::rpc::HttpLimits::from(&config.rpc),
        async move {
            let _ = stop_rx.await;
        },
    ));
    info!(%addr, "HTTP API listening");
    Ok(ServedApi { addr, stop, task })
}

/// The event loop's task: one input at a time until shutdown or a halt, then the API and the network stop.
async fn run_event_loop(
    mut runner: Runner,
    net: NetworkHandle,
    mut net_rx: mpsc::Receiver<NetworkEvent>,
    mut events_rx: mpsc::UnboundedReceiver<LoopEvent>,
    mut shutdown_rx: oneshot::Receiver<()>,
    rpc_stop: oneshot::Sender<()>,
    rpc_task: tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let work = runner.shared.work.clone();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown_rx => break,
            Some(event) = net_rx.recv() => runner.on_network(event),
            Some(event) = events_rx.recv() => runner.on_loop_event(event),
            _ = work.notified() => runner.begin_round_zero_if_due(),
            _ = tick.tick() => runner.tick(),
        }
        if runner.halted().is_some() {
            break;
        }
    }
    let _ = rpc_stop.send(());
    let _ = rpc_task.await;
    net.shutdown().await;
    info!("node stopped");
}
