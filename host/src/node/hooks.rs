//! The seam through which a test network injects faults into its own nodes, in the shape of Malachite's test
//! middleware: a trait whose methods do nothing by default, handed to the node when it is built
//! ([`super::NodeBuilder::hooks`]). The `cvm` binary builds every node with [`NoHooks`]; the Byzantine
//! behaviours, message recording and peer blocking live in the `tests/` crate, whose `cvm-test-node` binary
//! implements this trait.

use cvm_consensus::{SignedProposal, SignedVote};

use super::setup::NodeSetup;
use super::wire::ConsensusMessage;
use crate::chain::BlockHeader;
use crate::network::NetworkHandle;

/// Calls the node's event loop makes at the points a fault can be injected. Each default is what an honest node
/// does.
pub trait NodeHooks: Send {
    /// What goes out for a message the engine asked to broadcast (an honest node: the message itself).
    fn outgoing(&mut self, message: ConsensusMessage) -> Vec<ConsensusMessage> {
        vec![message]
    }

    /// Whether this node publishes the parts of the blocks it proposes.
    fn sends_parts(&self) -> bool {
        true
    }

    /// A block this node built, before it is proposed.
    fn tamper_built(&mut self, _header: &mut BlockHeader) {}

    /// A vote received with a valid signature.
    fn observed_vote(&mut self, _vote: &SignedVote) {}

    /// A proposal received (signature checked where the proposer of its round is known).
    fn observed_proposal(&mut self, _proposal: &SignedProposal<BlockHeader>) {}

    /// Called twice a second with the height in progress.
    fn tick(&mut self, _height: u64, _net: &NetworkHandle) {}
}

/// The hooks of a production node: none.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;

impl NodeHooks for NoHooks {}

/// Builds the hooks of a node from its loaded home (a test binary reads its fault settings there).
pub type MakeHooks = dyn Fn(&NodeSetup) -> anyhow::Result<Box<dyn NodeHooks>> + Send + Sync;

/// The [`MakeHooks`] of the `cvm` binary: [`NoHooks`] for every node.
pub fn no_hooks(_setup: &NodeSetup) -> anyhow::Result<Box<dyn NodeHooks>> {
    Ok(Box::new(NoHooks))
}
