//! A started node: its API address, status and handles, and how to stop it.

use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::RwLock;
use tokio::sync::oneshot;

use super::app::App;
use super::backend::NodeBackend;
use super::status::NodeStatus;
use crate::chain::Block;

/// A started node.
pub struct RunningNode {
    /// Where the HTTP API listens.
    pub rpc_addr: SocketAddr,
    /// The event loop's progress.
    pub status: Arc<RwLock<NodeStatus>>,
    /// Block building, validation and storage.
    pub app: Arc<App>,
    /// The read and submit surface the HTTP API serves.
    pub backend: Arc<NodeBackend>,
    pub(super) commits_tx: tokio::sync::broadcast::Sender<Arc<Block>>,
    pub(super) shutdown: Option<oneshot::Sender<()>>,
    pub(super) task: tokio::task::JoinHandle<()>,
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
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<Block>> {
        self.commits_tx.subscribe()
    }

    /// Resolves when the node stops by itself (a fatal error).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}
