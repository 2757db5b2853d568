//! What a node loads from its home directory before it starts, checked against genesis.

use anyhow::bail;
use cvm_runtime::validators::MAX_VALIDATORS;

use crate::chain::config::HomeLayout;
use crate::chain::{Genesis, NodeConfig, NodeKey, ValidatorKey};

/// Everything a node needs from its home directory.
pub struct NodeSetup {
    /// Where the home's files are.
    pub home: HomeLayout,
    /// `config/config.toml`.
    pub config: NodeConfig,
    /// `config/genesis.json`.
    pub genesis: Genesis,
    /// The key this node signs consensus messages with (validators only).
    pub validator_key: Option<ValidatorKey>,
    /// The libp2p identity.
    pub node_key: NodeKey,
}

impl NodeSetup {
    /// Loads and checks a home: the p2p message limit must fit the largest block genesis allows.
    pub fn load(home: impl Into<std::path::PathBuf>) -> anyhow::Result<Self> {
        let home = HomeLayout::new(home);
        let config = NodeConfig::load(&home.config())?;
        let genesis = Genesis::load(&home.genesis())?;
        let node_key = NodeKey::load(&home.node_key())?;
        let needed = genesis.params.max_block_bytes as usize + sync_margin(MAX_VALIDATORS);
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
        // A key outside the genesis set is a validator to be: it signs from the height an update adds it.
        let validator_key = if config.validator {
            Some(ValidatorKey::load(&home.validator_key())?)
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

/// What a sync response holding one block needs beyond the block body: the header, the commit certificate of a
/// set of `validators` (under 128 bytes each; a node checks its limit against the largest set updates may make,
/// so no set change can leave it unable to sync), the response framing and the 1 KiB the responder keeps spare.
pub fn sync_margin(validators: usize) -> usize {
    8 * 1024 + 128 * validators
}
