//! Carrying out a decision: execute (or reuse the validation's execution), store atomically, update the
//! mempool, status and metrics, and start the next height.

use std::sync::Arc;
use std::time::Instant;

use cvm_consensus::{CommitCertificate, Height, Input};
use tracing::info;

use super::state::Runner;
use crate::chain::BlockHeader;
use crate::metrics::CommittedBlock;
use crate::node::app::{AppError, Executed};
use crate::node::memory::Committed;
use crate::node::tx_gossip::publish_due;

impl Runner {
    /// Commits a decided block; the input that follows is the next height's start. A decision whose body has
    /// not arrived waits for it (asked for by sync).
    pub(super) fn decide(
        &mut self,
        header: BlockHeader,
        certificate: CommitCertificate,
    ) -> Option<Input<BlockHeader>> {
        let body = self.bodies.parts.body(&header.parts).cloned();
        let app = self.shared.app.clone();
        let durable = self.commits.durable;
        let result =
            tokio::task::block_in_place(|| app.commit(&header, body, &certificate, durable));
        match result {
            Ok(executed) => {
                let next = self.after_commit(&executed, certificate);
                let body = &executed.block.body;
                let carried_data = !body.txs.is_empty() || !body.source_blocks.is_empty();
                drop(executed);
                // Trimming walks every heap: the memory task does it off the loop, once the block is dropped.
                // A full queue means trims are behind; the next one covers this block too.
                let _ = self
                    .shared
                    .committed_tx
                    .try_send(Committed { carried_data });
                Some(next)
            }
            Err(e @ (AppError::MissingBody { .. } | AppError::MissingSourceData { .. })) => {
                info!(error = %e, "decided block cannot be executed here yet; fetching it by sync");
                self.commits.pending_decision = Some((header, certificate));
                self.tick();
                None
            }
            Err(e) => {
                self.halt(e.to_string());
                None
            }
        }
    }

    fn after_commit(
        &mut self,
        executed: &Executed,
        certificate: CommitCertificate,
    ) -> Input<BlockHeader> {
        let header = &executed.block.header;
        let height = header.height;
        if let Err(e) = self.consensus.wal.clear_with(self.commits.durable) {
            self.halt(format!("cannot clear the consensus WAL: {e}"));
        }
        self.consensus.wal_dirty = false;
        self.update_mempool(executed);
        self.prune_evidence();
        self.shared
            .metrics
            .on_validators_jailed(executed.outcome.jailed.len());
        self.bodies.parts.prune(height);
        self.bodies.waiting.clear();
        self.consensus.own_messages.clear();
        self.commits.pending_decision = None;
        let certificate_round = certificate.round.0;
        self.commits.last = Some(certificate);
        let now = Instant::now();
        let interval = self.commits.last_commit_at.map(|t| now.duration_since(t));
        let latency = now.duration_since(self.commits.height_started);
        self.commits.last_commit_at = Some(now);
        self.commits.height_started = now;
        self.shared.metrics.on_block_committed(&CommittedBlock {
            height,
            round: certificate_round,
            txs: executed.block.body.txs.len() as u64,
            records: ingested_records(executed),
            fuel_used: executed.outcome.fuel_used,
            interval,
            finality_latency: Some(latency),
        });
        for source in self.shared.app.sources().status() {
            self.shared.metrics.set_source(&source);
        }
        {
            let mut status = self.shared.status.write();
            status.height = height;
            status.latest_block_hash = header.hash();
            status.state_root = header.state_root;
            status.latest_block_time_ms = header.time_ms;
        }
        // Copying the block (every transaction's payload) is only worth it for an embedder listening.
        if self.shared.commits_tx.receiver_count() > 0 {
            let _ = self
                .shared
                .commits_tx
                .send(Arc::new(executed.block.clone()));
        }
        // The commit advanced the app's schedule: the set of the next height is known.
        if let Some(next) = self.shared.app.validator_set(height + 1) {
            self.consensus.validators = next;
        } else {
            self.halt(format!(
                "no validator set for height {} after its parent committed",
                height + 1
            ));
        }
        Input::StartHeight {
            height: Height(height + 1),
            validators: self.consensus.validators.clone(),
        }
    }

    /// Drops the block's transactions and those its nonces made stale; gossips what the block made room for.
    fn update_mempool(&self, executed: &Executed) {
        // Execution hashed every transaction already: its receipts carry the hashes, one per transaction.
        let included: Vec<[u8; 32]> = executed
            .outcome
            .receipts
            .iter()
            .map(|r| r.tx_hash)
            .collect();
        let app = self.shared.app.clone();
        let root = executed.block.header.state_root.into();
        self.shared
            .mempool
            .lock()
            .update(&included, |acct| app.nonce_at(root, acct));
        // The block freed room in the gossip window for client transactions waiting in the pool.
        publish_due(&self.shared.mempool, &self.shared.net, None);
    }
}

/// Source records the block ingested: its source blocks' logs and its ingest transactions' records.
fn ingested_records(executed: &Executed) -> u64 {
    let pulled: u64 = executed.sources.iter().map(|s| s.log_count() as u64).sum();
    pulled
        + executed
            .block
            .body
            .txs
            .iter()
            .map(|tx| match &tx.tx.payload {
                cvm_runtime::TxPayload::Ingest { records, .. } => records.len() as u64,
                _ => 0,
            })
            .sum::<u64>()
}
