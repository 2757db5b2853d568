//! Node home directories (config, keys, genesis, data): one single-validator chain ([`init`]) or a whole
//! loopback network ([`testnet`]).

pub mod testnet;

use std::path::Path;

use anyhow::{Context, bail};

use crate::chain::config::HomeLayout;
use crate::chain::genesis::{ChainParams, GenesisValidator};
use crate::chain::source_json::GovernanceJson;
use crate::chain::{AccountKey, Genesis, NodeConfig, NodeKey, ValidatorKey};
use crate::hex_text::to_hex;
use crate::node::status::now_ms;

/// Writes config, keys and genesis into `home`, refusing to overwrite an existing node.
pub fn write_home(
    home: &Path,
    config: &NodeConfig,
    genesis: &Genesis,
    validator_key: &ValidatorKey,
    node_key: &NodeKey,
) -> anyhow::Result<()> {
    let layout = HomeLayout::new(home);
    if layout.config().exists() || layout.db().exists() {
        bail!(
            "{} already holds a node; choose another --home or remove it first",
            home.display()
        );
    }
    let dir = layout.config().parent().expect("has parent").to_path_buf();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::create_dir_all(home.join("data"))
        .with_context(|| format!("cannot create {}/data", home.display()))?;
    std::fs::write(layout.config(), config.to_toml())
        .with_context(|| format!("cannot write {}", layout.config().display()))?;
    std::fs::write(layout.genesis(), genesis.to_json())
        .with_context(|| format!("cannot write {}", layout.genesis().display()))?;
    validator_key.save(&layout.validator_key())?;
    node_key.save(&layout.node_key())?;
    Ok(())
}

/// A single-validator chain in `home`, the validator named `moniker`, with a fresh governance key in
/// `config/governance_key.json`; returns the validator's and the governance key's public keys.
pub fn init(home: &Path, chain_id: &str, moniker: &str) -> anyhow::Result<([u8; 32], [u8; 32])> {
    let validator_key = ValidatorKey::generate();
    let node_key = NodeKey::generate();
    let governance_key = AccountKey::generate();
    let genesis = Genesis {
        chain_id: chain_id.to_string(),
        genesis_time_ms: now_ms(),
        validators: vec![GenesisValidator {
            name: moniker.to_string(),
            public_key: hex::encode(validator_key.public_key()),
            power: 1,
        }],
        params: ChainParams::default(),
        sources: Vec::new(),
        governance: GovernanceJson {
            keys: vec![to_hex(governance_key.public_key())],
        },
    };
    genesis.validate()?;
    let config = NodeConfig {
        moniker: moniker.to_string(),
        ..NodeConfig::default()
    };
    write_home(home, &config, &genesis, &validator_key, &node_key)?;
    governance_key.save(&HomeLayout::new(home).governance_key())?;
    Ok((validator_key.public_key(), governance_key.public_key()))
}
