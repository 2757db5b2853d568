//! Homes for N validators (and optional full nodes) on loopback, all peered with each other: what `cvm testnet`
//! writes and what test networks start from.

use std::path::PathBuf;

use crate::chain::config::{P2pConfig, RpcConfig};
use crate::chain::genesis::{ChainParams, GenesisValidator};
use crate::chain::source_json::{GovernanceJson, SourceJson};
use crate::chain::{AccountKey, Genesis, NodeConfig, NodeKey, ValidatorKey};
use crate::hex_text::to_hex;
use crate::node::status::now_ms;

/// The network to generate.
pub struct TestnetSpec {
    /// Validator nodes (`node0`..), written first.
    pub validators: usize,
    /// Non-signing nodes after the validators.
    pub full_nodes: usize,
    /// The chain id written into the shared genesis.
    pub chain_id: String,
    /// Directory that receives one home per node.
    pub output: PathBuf,
    /// Node i listens on p2p `base_port + 2i` and HTTP `base_port + 2i + 1`.
    pub base_port: u16,
    /// Pause between a decision and the next height's first round (0: none); a node setting.
    pub block_interval_ms: u64,
    /// Genesis `idle_block_interval_ms`: how often an idle chain makes a block (0: a block at every height).
    pub idle_block_interval_ms: u64,
    /// Sources the genesis registers.
    pub sources: Vec<SourceJson>,
}

/// Where [`generate`] writes the network's governance key: `<output>/governance_key.json`.
pub fn governance_key_path(output: &std::path::Path) -> PathBuf {
    output.join("governance_key.json")
}

/// One generated node.
#[derive(Clone, Debug)]
pub struct TestnetNode {
    /// `node<i>`: the home's directory name and the validator's name in genesis.
    pub name: String,
    /// The node's home directory.
    pub home: PathBuf,
    /// The node's HTTP API, e.g. `http://127.0.0.1:26601`.
    pub rpc_url: String,
    /// Whether the node signs (is in the genesis validator set).
    pub validator: bool,
}

/// Writes a home per node under `spec.output` (`node0`, `node1`, ...), validators first, sharing one genesis, and
/// the governance key that genesis names ([`governance_key_path`]).
pub fn generate(spec: &TestnetSpec) -> anyhow::Result<Vec<TestnetNode>> {
    anyhow::ensure!(spec.validators >= 1, "--validators must be at least 1");
    let total = spec.validators + spec.full_nodes;
    let keys: Vec<(ValidatorKey, NodeKey)> = (0..total)
        .map(|_| (ValidatorKey::generate(), NodeKey::generate()))
        .collect();
    let governance_key = AccountKey::generate();
    let genesis = Genesis {
        chain_id: spec.chain_id.clone(),
        genesis_time_ms: now_ms(),
        validators: (0..spec.validators)
            .map(|i| GenesisValidator {
                name: format!("node{i}"),
                public_key: hex::encode(keys[i].0.public_key()),
                power: 1,
            })
            .collect(),
        params: ChainParams {
            idle_block_interval_ms: spec.idle_block_interval_ms,
            ..ChainParams::default()
        },
        sources: spec.sources.clone(),
        governance: GovernanceJson {
            keys: vec![to_hex(governance_key.public_key())],
        },
    };
    genesis.validate()?;
    governance_key.save(&governance_key_path(&spec.output))?;
    let p2p_port = |i: usize| spec.base_port + 2 * i as u16;
    let rpc_port = |i: usize| spec.base_port + 2 * i as u16 + 1;
    let mut nodes = Vec::new();
    for i in 0..total {
        let peers = (0..total)
            .filter(|j| *j != i)
            .map(|j| {
                format!(
                    "/ip4/127.0.0.1/tcp/{}/p2p/{}",
                    p2p_port(j),
                    keys[j].1.peer_id()
                )
            })
            .collect();
        let mut config = NodeConfig {
            moniker: format!("node{i}"),
            validator: i < spec.validators,
            p2p: P2pConfig {
                listen: format!("/ip4/127.0.0.1/tcp/{}", p2p_port(i)),
                peers,
                ..P2pConfig::default()
            },
            rpc: RpcConfig {
                listen: format!("127.0.0.1:{}", rpc_port(i)).parse()?,
                ..RpcConfig::default()
            },
            ..NodeConfig::default()
        };
        config.consensus.block_interval_ms = spec.block_interval_ms;
        let home = spec.output.join(format!("node{i}"));
        super::write_home(&home, &config, &genesis, &keys[i].0, &keys[i].1)?;
        nodes.push(TestnetNode {
            name: format!("node{i}"),
            home,
            rpc_url: format!("http://127.0.0.1:{}", rpc_port(i)),
            validator: i < spec.validators,
        });
    }
    Ok(nodes)
}
