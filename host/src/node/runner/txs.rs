//! Transaction gossip into the mempool, on a task of its own: decoding and signature checks run on the blocking
//! pool, never on the consensus event loop, and the gossip verdict is reported once they are done. The network
//! delivers transactions on a channel of their own (see [`NetworkEvents`](crate::network::NetworkEvents)), so
//! the loop never sees one.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::mpsc;
use tracing::debug;

use crate::network::{MessageId, NetworkEvent, NetworkHandle, PeerId, Topic, Verdict};
use crate::node::mempool::{AdmitError, Mempool, Origin};

/// Most gossiped transactions checked in one blocking job.
const BATCH: usize = 64;

/// An account's nonce in the latest committed state.
type CommittedNonce = Arc<dyn Fn(&[u8; 32]) -> u64 + Send + Sync>;

/// Starts the task that admits gossiped transactions from `transactions` into `mempool`. `committed_nonce` is an
/// account's nonce in the latest committed state.
pub fn spawn_tx_intake(
    transactions: mpsc::Receiver<NetworkEvent>,
    mempool: Arc<Mutex<Mempool>>,
    committed_nonce: impl Fn(&[u8; 32]) -> u64 + Send + Sync + 'static,
    net: NetworkHandle,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(transactions, mempool, Arc::new(committed_nonce), net))
}

async fn run(
    mut transactions: mpsc::Receiver<NetworkEvent>,
    mempool: Arc<Mutex<Mempool>>,
    committed_nonce: CommittedNonce,
    net: NetworkHandle,
) {
    while let Some(first) = transactions.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match transactions.try_recv() {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
        }
        let messages: Vec<(PeerId, MessageId, Vec<u8>)> = batch
            .into_iter()
            .filter_map(|event| match event {
                NetworkEvent::Message {
                    source, id, data, ..
                } => Some((source, id, data)),
                _ => None,
            })
            .collect();
        let pool = mempool.clone();
        let nonce = committed_nonce.clone();
        let checked = tokio::task::spawn_blocking(move || {
            messages
                .into_iter()
                .map(|(source, id, data)| (source, id, admit(&pool, &data, nonce.as_ref())))
                .collect::<Vec<_>>()
        })
        .await;
        let Ok(verdicts) = checked else {
            debug!("transaction checks did not finish");
            continue;
        };
        for (source, id, verdict) in verdicts {
            if verdict == Verdict::Reject {
                let topic = Topic::Transactions;
                debug!(%source, ?topic, "rejected gossip message");
            }
            if net.report(id, source, verdict).await.is_err() {
                return;
            }
        }
    }
}

/// A relayed transaction: admitted (relayed on), rejected (the relaying peer is penalised for malformed or
/// forged ones), or ignored (valid but not wanted now).
fn admit(
    pool: &Mutex<Mempool>,
    data: &[u8],
    committed_nonce: &dyn Fn(&[u8; 32]) -> u64,
) -> Verdict {
    match Mempool::admit_shared(pool, Origin::Relayed, data, committed_nonce) {
        Ok(_) => Verdict::Accept,
        Err(
            AdmitError::Undecodable(_)
            | AdmitError::BadSignature(_)
            | AdmitError::WrongChain { .. }
            | AdmitError::TooLarge { .. },
        ) => Verdict::Reject,
        Err(_) => Verdict::Ignore,
    }
}

#[cfg(test)]
#[path = "txs_tests.rs"]
mod tests;
