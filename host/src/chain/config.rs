//! A node's own configuration (`<home>/config/config.toml`): addresses, peers, timeouts, mempool and executor
//! settings. Nothing here may change a block's validity; chain-wide limits live in genesis.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cvm_consensus::TimeoutConfig;
use serde::{Deserialize, Serialize};

/// Peer-to-peer networking: where to listen, whom to dial, message size limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct P2pConfig {
    /// Multiaddr to listen on, e.g. `/ip4/127.0.0.1/tcp/26656`.
    pub listen: String,
    /// Static peers as multiaddrs ending in `/p2p/<peer id>`.
    pub peers: Vec<String>,
    /// Largest gossip or request-response message accepted or sent. Sync sends a block in one message, so this
    /// must exceed genesis `max_block_bytes` (the node refuses to start otherwise).
    pub max_message_bytes: usize,
}

impl Default for P2pConfig {
    fn default() -> Self {
        Self {
            listen: "/ip4/127.0.0.1/tcp/26656".into(),
            peers: Vec::new(),
            // The default max_block_bytes (8 MiB) plus room for a block's header and certificate.
            max_message_bytes: 10 * 1024 * 1024,
        }
    }
}

/// The HTTP JSON API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RpcConfig {
    /// HTTP JSON API and `/metrics`; loopback unless you put a proxy in front.
    pub listen: SocketAddr,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Requests in progress at once, all clients together; more are refused with 503.
    pub max_concurrent_requests: usize,
    /// Open connections at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's headers before its connection is closed.
    pub header_read_timeout_ms: u64,
    /// Time a request may take, body upload included, before it is answered with 408.
    pub request_timeout_ms: u64,
    /// Age at which a connection is closed (after its request in progress); clients reconnect.
    pub max_connection_age_ms: u64,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:26657".parse().expect("valid"),
            max_body_bytes: 8 * 1024 * 1024,
            max_concurrent_requests: 64,
            max_connections: 256,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_connection_age_ms: 300_000,
        }
    }
}

/// Consensus round timeouts: a step's wait in round `r` is its base plus `r` times its delta.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusTimeouts {
    /// Wait for a proposal in round 0.
    pub propose_ms: u64,
    /// Added to the propose wait per round.
    pub propose_delta_ms: u64,
    /// Wait for a prevote polka after 2f+1 prevotes of any kind, in round 0.
    pub prevote_ms: u64,
    /// Added to the prevote wait per round.
    pub prevote_delta_ms: u64,
    /// Wait for a decision after 2f+1 precommits of any kind, in round 0.
    pub precommit_ms: u64,
    /// Added to the precommit wait per round.
    pub precommit_delta_ms: u64,
    /// Pause between a decision and round 0 of the next height (CometBFT's `timeout_commit`); 0 = none.
    pub block_interval_ms: u64,
}

impl Default for ConsensusTimeouts {
    /// Tuned for a LAN or loopback.
    fn default() -> Self {
        Self {
            propose_ms: 2000,
            propose_delta_ms: 500,
            prevote_ms: 500,
            prevote_delta_ms: 250,
            precommit_ms: 500,
            precommit_delta_ms: 250,
            block_interval_ms: 0,
        }
    }
}

impl ConsensusTimeouts {
    /// The consensus engine's timeout configuration.
    pub fn to_engine(&self) -> TimeoutConfig {
        let ms = Duration::from_millis;
        TimeoutConfig {
            propose: ms(self.propose_ms),
            propose_delta: ms(self.propose_delta_ms),
            prevote: ms(self.prevote_ms),
            prevote_delta: ms(self.prevote_delta_ms),
            precommit: ms(self.precommit_ms),
            precommit_delta: ms(self.precommit_delta_ms),
            block_interval: (self.block_interval_ms > 0).then(|| ms(self.block_interval_ms)),
        }
    }
}

/// How much this node puts in a block it proposes. Not a validity rule (others accept any block within the
/// genesis limits): it keeps a block's execution short enough to validate well inside the propose timeout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProposerConfig {
    /// Source records ingested per block, at most.
    pub max_records: usize,
    /// Transactions per block, at most.
    pub max_txs: usize,
}

impl Default for ProposerConfig {
    fn default() -> Self {
        Self {
            max_records: 4_000,
            max_txs: 10_000,
        }
    }
}

/// Client transactions gossiped ahead of commits, in encoded bytes: about three blocks of 4,000 erc20 records.
pub const DEFAULT_GOSSIP_WINDOW_BYTES: usize = 4 * 1024 * 1024;

/// Limits of the transaction pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MempoolConfig {
    /// Transactions held, at most.
    pub max_txs: usize,
    /// Encoded bytes held, at most. A full mempool answers submissions "mempool full" (retry later): the
    /// backpressure that keeps a validator's memory bounded when clients submit faster than blocks finalize.
    /// The default holds about a dozen blocks of 4,000 records.
    pub max_bytes: usize,
    /// Encoded bytes of this node's clients' transactions gossiped ahead of commits. Past it, a client's
    /// transaction waits in the mempool until commits free room, so a bulk submission does not pile up in the
    /// peers' send queues (a copy per peer) ahead of consensus messages. A few blocks' worth keeps every
    /// proposer's blocks full; the default is about three blocks of 4,000 records.
    pub gossip_window_bytes: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        Self {
            max_txs: 10_000,
            max_bytes: 16 * 1024 * 1024,
            gossip_window_bytes: DEFAULT_GOSSIP_WINDOW_BYTES,
        }
    }
}

/// How blocks are executed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutionConfig {
    /// Run manuscripts in parallel across cores (results are identical either way).
    pub parallel: bool,
    /// Executor threads; 0 = number of cores.
    pub threads: usize,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        Self {
            parallel: true,
            threads: 0,
        }
    }
}

/// A node's `config.toml`: everything local to one node (the chain's shared settings are in genesis).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// A human-readable name for logs.
    pub moniker: String,
    /// Whether this node signs (a validator key must exist and be in genesis); a full node only follows.
    pub validator: bool,
    /// Listening address, static peers and message size.
    pub p2p: P2pConfig,
    /// The HTTP JSON API.
    pub rpc: RpcConfig,
    /// Consensus round timeouts.
    pub consensus: ConsensusTimeouts,
    /// How this node proposes blocks.
    pub proposer: ProposerConfig,
    /// Transaction pool limits.
    pub mempool: MempoolConfig,
    /// Block execution settings.
    pub execution: ExecutionConfig,
    /// Where this node reads each registered Ethereum source's blocks, by source name (`[sources.<name>]`).
    pub sources: std::collections::BTreeMap<String, SourceEndpointConfig>,
}

/// Where this node's own copy of one Ethereum source's data comes from: exactly one of `rpc` and `archive`.
/// A validator checks every block a proposal commits to against it; a node without one for a source still
/// follows the chain (it gets committed source blocks from peers with the blocks that ingest them) but cannot
/// propose or prevote blocks that ingest that source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceEndpointConfig {
    /// JSON-RPC URL of an Ethereum node of the source's chain, e.g. `http://127.0.0.1:8545` or
    /// `https://provider.example/v3/KEY` (TLS, verified against Mozilla's roots or `ca_file`).
    #[serde(default)]
    pub rpc: Option<String>,
    /// For an `https://` `rpc` endpoint whose certificate a private CA signed: a PEM file of that CA's
    /// certificate(s), trusted instead of the public roots. Relative paths are relative to the node's home.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// A local archive file of blocks with their receipts (JSON Lines; see `cvm source verify`). Relative paths
    /// are relative to the node's home.
    #[serde(default)]
    pub archive: Option<PathBuf>,
    /// How long one JSON-RPC request may take.
    #[serde(default = "default_source_timeout_ms")]
    pub timeout_ms: u64,
    /// How often the node asks the endpoint for new blocks.
    #[serde(default = "default_source_poll_ms")]
    pub poll_ms: u64,
}

fn default_source_timeout_ms() -> u64 {
    10_000
}

fn default_source_poll_ms() -> u64 {
    500
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            moniker: "node".into(),
            validator: true,
            p2p: P2pConfig::default(),
            rpc: RpcConfig::default(),
            consensus: ConsensusTimeouts::default(),
            proposer: ProposerConfig::default(),
            mempool: MempoolConfig::default(),
            execution: ExecutionConfig::default(),
            sources: Default::default(),
        }
    }
}

/// What to do about a config file that does not load.
const CONFIG_HINT: &str =
    "every field is optional; `cvm init --home <dir>` writes a complete example";

/// Why a node config could not be loaded.
#[derive(Debug, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum ConfigError {
    #[error("cannot read config {path}: {cause} (create one with `cvm init --home <dir>`)")]
    Read { path: String, cause: std::io::Error },
    #[error("config {path} is not valid: {message}\nfix it ({CONFIG_HINT})")]
    Parse { path: String, message: String },
    /// A well-formed file whose content breaks a rule ([`NodeConfig::validate`]); `cause` says which.
    #[error("config {path} is not valid: {cause}; fix it ({CONFIG_HINT})")]
    InFile {
        path: String,
        cause: Box<ConfigError>,
    },
    #[error("{field} {rule}")]
    Invalid { field: &'static str, rule: String },
}

impl NodeConfig {
    /// Reads, parses and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
            path: path.display().to_string(),
            cause,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: NodeConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        config.validate().map_err(|cause| ConfigError::InFile {
            path: origin.to_string(),
            cause: Box::new(cause),
        })?;
        Ok(config)
    }

    /// The config as TOML, as `cvm init` writes it.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serializes")
    }

    /// Checks the values a node cannot run with (zero limits, unparsable addresses).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.p2p
            .listen
            .parse::<libp2p::Multiaddr>()
            .map_err(|e| ConfigError::Invalid {
                field: "p2p.listen",
                rule: format!("is not a multiaddr: {e}"),
            })?;
        for peer in &self.p2p.peers {
            let addr: libp2p::Multiaddr = peer.parse().map_err(|e| ConfigError::Invalid {
                field: "p2p.peers",
                rule: format!("entry {peer:?} is not a multiaddr: {e}"),
            })?;
            if !addr
                .iter()
                .any(|p| matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
            {
                return Err(ConfigError::Invalid {
                    field: "p2p.peers",
                    rule: format!("entry {peer:?} must end in /p2p/<peer id>"),
                });
            }
        }
        if self.p2p.max_message_bytes < 64 * 1024 {
            return Err(ConfigError::Invalid {
                field: "p2p.max_message_bytes",
                rule: "must be at least 65536".into(),
            });
        }
        if self.mempool.max_txs == 0 {
            return Err(ConfigError::Invalid {
                field: "mempool.max_txs",
                rule: "must be above 0".into(),
            });
        }
        if self.mempool.gossip_window_bytes == 0 {
            return Err(ConfigError::Invalid {
                field: "mempool.gossip_window_bytes",
                rule: "must be above 0 (a few blocks' worth of transactions, in bytes)".into(),
            });
        }
        if self.consensus.propose_ms == 0
            || self.consensus.prevote_ms == 0
            || self.consensus.precommit_ms == 0
        {
            return Err(ConfigError::Invalid {
                field: "consensus",
                rule: "timeouts must be above 0 ms".into(),
            });
        }
        for (name, endpoint) in &self.sources {
            match (&endpoint.rpc, &endpoint.archive) {
                (Some(_), None) | (None, Some(_)) => {}
                _ => {
                    return Err(ConfigError::Invalid {
                        field: "sources",
                        rule: format!(
                            "[sources.{name}] must set exactly one of `rpc` (a JSON-RPC URL) and `archive` (a file)"
                        ),
                    });
                }
            }
            if endpoint.timeout_ms == 0 || endpoint.poll_ms == 0 {
                return Err(ConfigError::Invalid {
                    field: "sources",
                    rule: format!("[sources.{name}] timeout_ms and poll_ms must be above 0"),
                });
            }
        }
        Ok(())
    }
}

/// The files of a node's home directory.
#[derive(Clone, Debug)]
pub struct HomeLayout {
    /// The home directory itself.
    pub root: PathBuf,
}

impl HomeLayout {
    /// The layout of the home at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// `config/config.toml`: the node config.
    pub fn config(&self) -> PathBuf {
        self.root.join("config/config.toml")
    }
    /// `config/genesis.json`: the chain's genesis.
    pub fn genesis(&self) -> PathBuf {
        self.root.join("config/genesis.json")
    }
    /// `config/validator_key.json`: the consensus signing key.
    pub fn validator_key(&self) -> PathBuf {
        self.root.join("config/validator_key.json")
    }
    /// `config/governance_key.json`: the account key `cvm init` names in genesis `governance` (it signs
    /// `RegisterSource` transactions).
    pub fn governance_key(&self) -> PathBuf {
        self.root.join("config/governance_key.json")
    }
    /// `config/node_key.json`: the libp2p identity.
    pub fn node_key(&self) -> PathBuf {
        self.root.join("config/node_key.json")
    }
    /// `data/db`: the RocksDB database.
    pub fn db(&self) -> PathBuf {
        self.root.join("data/db")
    }
    /// `data/module-cache`: compiled manuscripts, reused across restarts.
    pub fn module_cache(&self) -> PathBuf {
        self.root.join("data/module-cache")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_round_trips() {
        let c = NodeConfig::default();
        assert_eq!(NodeConfig::parse(&c.to_toml(), "mem").unwrap(), c);
    }

    /// Parses `text` as `/h/config.toml`, expecting a refusal whose message names the file, `needle` and what to
    /// do.
    fn refused(text: &str, needle: &str) -> ConfigError {
        let e = NodeConfig::parse(text, "/h/config.toml").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("/h/config.toml") && msg.contains(needle) && msg.contains("cvm init"),
            "{text:?}: {msg}"
        );
        e
    }

    #[test]
    fn unknown_field_bad_peer_and_bad_listen_are_named() {
        refused("bogus = 1", "bogus");
        refused("[p2p]\nbogus = 1", "bogus");
        refused("[p2p]\npeers = [\"/ip4/127.0.0.1/tcp/1\"]", "/p2p/");
        refused("[p2p]\nlisten = \"nonsense\"", "p2p.listen");
        refused("[rpc]\nlisten = 5", "listen");
        refused("[rpc]\nlisten = \"localhost\"", "listen");
    }

    #[test]
    fn a_test_section_is_an_unknown_field() {
        // Fault injection lives in the test node binary's hooks; no build of `cvm` reads a `[test]` section.
        refused("[test]\nbyzantine = \"silent\"", "test");
    }

    #[test]
    fn bad_toml_wrong_types_and_broken_rules_are_named() {
        let e = refused("moniker = \"a\"\n[p2p\n", "line 2");
        assert!(matches!(e, ConfigError::Parse { .. }), "{e:?}");
        refused("validator = \"yes\"", "invalid type");
        refused("[mempool]\nmax_txs = -1", "max_txs");
        let e = refused("[p2p]\nmax_message_bytes = 10", "p2p.max_message_bytes");
        assert!(
            matches!(&e, ConfigError::InFile { cause, .. } if matches!(**cause, ConfigError::Invalid { field: "p2p.max_message_bytes", .. })),
            "{e:?}"
        );
        refused("[mempool]\nmax_txs = 0", "mempool.max_txs");
        refused(
            "[mempool]\ngossip_window_bytes = 0",
            "mempool.gossip_window_bytes",
        );
        refused("[consensus]\nprevote_ms = 0", "timeouts must be above 0");
    }

    #[test]
    fn a_missing_file_says_how_to_create_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let e = NodeConfig::load(&path).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, ConfigError::Read { .. })
                && msg.contains(&path.display().to_string())
                && msg.contains("cvm init"),
            "{msg}"
        );
    }
}
