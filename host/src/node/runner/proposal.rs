//! Block proposals: building the block this node proposes, and validating others' by re-executing them.

use std::sync::Arc;

use cvm_consensus::{Height, Input, Round, Value, ValueId};
use tracing::{debug, error, trace, warn};

use super::events::LoopEvent;
use super::state::Runner;
use crate::chain::{Block, BlockBody, BlockHeader};
use crate::node::app::{App, AppError, Executed, InvalidBlock};
use crate::node::status::now_ms;

/// How soon a proposal whose source data this node lacks is checked again.
const SOURCE_DATA_RETRY: std::time::Duration = std::time::Duration::from_millis(250);

impl Runner {
    /// Takes transactions from the mempool and builds a block off the loop; the result comes back as
    /// [`LoopEvent::Built`].
    pub(super) fn build_value(&mut self, height: u64, round: Round) {
        let app = self.shared.app.clone();
        let mut evidence = self.shared.evidence.lock().pending();
        evidence.truncate(app.params().max_evidence_per_block as usize);
        let budget = (app.params().max_block_bytes as usize)
            .saturating_sub(App::body_overhead(&self.commits.last, &evidence) + 1024);
        let proposer_config = &self.shared.proposer;
        let txs = self.shared.mempool.lock().reap_within(
            budget,
            proposer_config.max_txs,
            proposer_config.max_records,
            |acct| app.committed_nonce(acct),
        );
        let last_commit = self.commits.last.clone();
        let proposer = self.consensus.my_key;
        let tx = self.shared.events_tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = app.build_block(proposer, (txs, evidence), last_commit, now_ms());
            let _ = tx.send(LoopEvent::Built {
                height,
                round,
                result,
            });
        });
    }

    pub(super) fn on_built(
        &mut self,
        height: u64,
        round: Round,
        result: Result<Arc<Executed>, AppError>,
    ) {
        match result {
            Ok(executed) => {
                let mut header = executed.block.header.clone();
                self.hooks.tamper_built(&mut header);
                self.bodies
                    .parts
                    .insert_body(height, header.parts, executed.block.body.clone());
                self.feed(Input::ProposeValue {
                    height: Height(height),
                    round,
                    value: header,
                });
            }
            Err(e) => error!(height, error = %e, "cannot build a block; the round will time out"),
        }
    }

    /// Validates a proposed block: at once from the execution cache, else by re-execution once its body is here.
    pub(super) fn request_validation(
        &mut self,
        height: u64,
        header: BlockHeader,
    ) -> Option<Input<BlockHeader>> {
        let value_id = header.id();
        if self.shared.app.cached(&header.hash()).is_some() {
            return Some(Input::ValidityVerdict {
                height: Height(height),
                value_id,
                valid: true,
            });
        }
        match self.bodies.parts.body(&header.parts) {
            Some(body) => {
                self.spawn_validation(header, body.clone());
            }
            None => {
                trace!(height, "validation waits for the body's parts");
                self.want_body(height, header.parts);
                self.bodies
                    .waiting
                    .entry(header.parts.root)
                    .or_default()
                    .push((height, header));
            }
        }
        None
    }

    /// Re-executes a block off the loop; the verdict comes back as [`LoopEvent::Validated`].
    pub(super) fn spawn_validation(&self, header: BlockHeader, body: BlockBody) {
        let app = self.shared.app.clone();
        let tx = self.shared.events_tx.clone();
        tokio::task::spawn_blocking(move || {
            let height = header.height;
            let value_id = header.id();
            let block = Block { header, body };
            let result = app.validate_block(block.clone(), now_ms());
            if let Err(InvalidBlock::SourceData(reason)) = &result
                && reason.is_retryable()
            {
                // Not having the source data yet is not a verdict: ask again shortly (the round's timeouts run
                // meanwhile, as for a proposal still in transit).
                debug!(height, %reason, "proposed block's source data is not here yet; checking again");
                let Block { header, body } = block;
                tokio::spawn(async move {
                    tokio::time::sleep(SOURCE_DATA_RETRY).await;
                    let _ = tx.send(LoopEvent::RetryValidation {
                        header: Box::new(header),
                        body,
                    });
                });
                return;
            }
            let _ = tx.send(LoopEvent::Validated {
                height,
                value_id,
                result,
            });
        });
    }

    /// Checks a proposal again whose source data was missing, while its height is still in progress.
    pub(super) fn on_retry_validation(&mut self, header: BlockHeader, body: BlockBody) {
        if header.height == self.consensus.driver.height().0 {
            self.spawn_validation(header, body);
        }
    }

    pub(super) fn on_validated(
        &mut self,
        height: u64,
        value_id: ValueId,
        result: Result<Arc<Executed>, InvalidBlock>,
    ) {
        let valid = match result {
            Ok(_) => true,
            Err(reason) => {
                warn!(height, %reason, "proposed block is invalid; prevoting nil");
                false
            }
        };
        self.feed(Input::ValidityVerdict {
            height: Height(height),
            value_id,
            valid,
        });
    }
}
