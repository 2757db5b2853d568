//! The node's read and submit surface, shared by the HTTP API and the embedding [`crate::ordering`] API.

use std::sync::Arc;

use cvm_consensus::DuplicateVoteEvidence;
use parity_scale_codec::Encode;
use parking_lot::{Mutex, RwLock};

use super::app::App;
use super::mempool::{AdmitError, Mempool, TxHash};
use super::status::NodeStatus;
use crate::metrics::Metrics;
use crate::network::{NetworkHandle, Topic};

pub struct NodeBackend {
    pub app: Arc<App>,
    pub mempool: Arc<Mutex<Mempool>>,
    pub net: NetworkHandle,
    pub status: Arc<RwLock<NodeStatus>>,
    pub evidence: Arc<Mutex<Vec<DuplicateVoteEvidence>>>,
    pub metrics: Arc<Metrics>,
    pub mempool_max_txs: usize,
}

impl NodeBackend {
    /// Admits a transaction to the mempool and gossips it.
    pub fn submit(&self, bytes: Vec<u8>) -> Result<TxHash, AdmitError> {
        let app = self.app.clone();
        let result = self.mempool.lock().admit(&bytes, |acct| app.committed_nonce(acct));
        match result {
            Ok(hash) => {
                if let Err(e) = self.net.publish(Topic::Transactions, bytes) {
                    tracing::debug!(error = %e, "transaction gossip");
                }
                Ok(hash)
            }
            Err(e) => {
                self.metrics.on_tx_rejected(e.class());
                Err(e)
            }
        }
    }

    pub fn mempool_capacity(&self) -> usize {
        self.mempool_max_txs
    }

    /// The next nonce an account should use, counting its pending transactions.
    pub fn next_nonce(&self, account: &[u8; 32]) -> u64 {
        let committed = self.app.committed_nonce(account);
        self.mempool.lock().next_nonce(account, committed)
    }

    pub fn evidence_encoded(&self) -> Vec<Vec<u8>> {
        self.evidence.lock().iter().map(|e| e.encode()).collect()
    }
}
