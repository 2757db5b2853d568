//! An embedding API with the shape of Hyperledger Fabric's orderer `Chain` (`Order`, `Configure`, `WaitReady`,
//! `Errored`, `Start`, `Halt`), for applications that want only the ordering (and finality) of transactions: run a node
//! in-process, hand it transactions, and read the finalized blocks in order.

use std::sync::Arc;
use std::time::Duration;

use cvm_runtime::{SignedTransaction, TxPayload};
use parity_scale_codec::Encode;

use crate::chain::Block;
use crate::node::mempool::{AdmitError, TxHash};
use crate::node::{self, NodeSetup, RunningNode};

/// Why ordering a transaction failed.
#[derive(Debug, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum OrderError {
    #[error("the chain is not started; call start() first")]
    NotStarted,
    #[error("the chain has halted: {0}")]
    Halted(String),
    #[error("transaction refused: {0}")]
    Refused(#[from] AdmitError),
    #[error("cannot start the node: {0}")]
    Start(String),
    #[error("not a configuration: {0}")]
    NotConfig(String),
}

/// Fabric's `Chain`, in Rust.
#[allow(async_fn_in_trait)]
pub trait Chain {
    /// Hands a transaction to consensus for ordering (Fabric: `Order`). Ok means admitted, not yet final.
    fn order(&self, tx: &SignedTransaction) -> Result<TxHash, OrderError>;
    /// Hands a reconfiguration to consensus (Fabric: `Configure`): an `UpdateValidators` transaction built at
    /// position `config_seq` of the chain's sequence of validator updates. Once final, its set signs from two
    /// heights after its block on.
    fn configure(&self, tx: &SignedTransaction, config_seq: u64) -> Result<TxHash, OrderError>;
    /// Waits until the chain can take transactions (started, not syncing, mempool has room). Syncing counts only
    /// while a peer that delivers verified blocks is ahead, so no peer's claimed height can hold this forever.
    async fn wait_ready(&self) -> Result<(), OrderError>;
    /// Resolves when the chain stops by itself on an error (Fabric: `Errored`).
    async fn errored(&self) -> String;
    /// Starts the node (Fabric: `Start`).
    async fn start(&mut self) -> Result<(), OrderError>;
    /// Stops the node and waits for it (Fabric: `Halt`).
    async fn halt(&mut self);
}

/// A [`Chain`] backed by an in-process node.
pub struct NodeChain {
    setup: Option<NodeSetup>,
    running: Option<RunningNode>,
}

impl NodeChain {
    /// A chain that will run the node `setup` describes once started.
    pub fn new(setup: NodeSetup) -> Self {
        Self {
            setup: Some(setup),
            running: None,
        }
    }

    /// Finalized blocks, in height order, from now on.
    pub fn blocks(&self) -> Option<tokio::sync::broadcast::Receiver<Arc<Block>>> {
        self.running.as_ref().map(|r| r.subscribe())
    }

    /// The running node, once started.
    pub fn node(&self) -> Option<&RunningNode> {
        self.running.as_ref()
    }

    fn halted(&self) -> Option<String> {
        self.running
            .as_ref()
            .and_then(|r| r.status.read().halted.clone())
    }
}

impl Chain for NodeChain {
    fn order(&self, tx: &SignedTransaction) -> Result<TxHash, OrderError> {
        let running = self.running.as_ref().ok_or(OrderError::NotStarted)?;
        if let Some(reason) = self.halted() {
            return Err(OrderError::Halted(reason));
        }
        Ok(running.backend.submit(tx.encode())?)
    }

    fn configure(&self, tx: &SignedTransaction, config_seq: u64) -> Result<TxHash, OrderError> {
        match &tx.tx.payload {
            TxPayload::UpdateValidators { update, .. } if update.seq == config_seq => self.order(tx),
            TxPayload::UpdateValidators { update, .. } => Err(OrderError::NotConfig(format!(
                "the update is built at position {}, not {config_seq}",
                update.seq
            ))),
            _ => Err(OrderError::NotConfig(
                "only an UpdateValidators transaction reconfigures the chain; use order() for others".into(),
            )),
        }
    }

    async fn wait_ready(&self) -> Result<(), OrderError> {
        let running = self.running.as_ref().ok_or(OrderError::NotStarted)?;
        loop {
            if let Some(reason) = self.halted() {
                return Err(OrderError::Halted(reason));
            }
            let ready = {
                let status = running.status.read();
                !status.syncing && status.consensus_height > status.height
            };
            // Transactions waiting behind a nonce gap give way to a ready one, so they do not count here.
            let has_room = running.backend.mempool.lock().has_room_for(0).is_ok();
            if ready && has_room {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn errored(&self) -> String {
        loop {
            match self.halted() {
                Some(reason) => return reason,
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    async fn start(&mut self) -> Result<(), OrderError> {
        let setup = self
            .setup
            .take()
            .ok_or(OrderError::Start("already started".into()))?;
        let running = node::start(setup)
            .await
            .map_err(|e| OrderError::Start(format!("{e:#}")))?;
        self.running = Some(running);
        Ok(())
    }

    async fn halt(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}
