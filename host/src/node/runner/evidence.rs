//! Duplicate-vote evidence: from this node's engine (two conflicting votes it received) and from gossip, checked
//! against the committed state and the validator set of its height, kept in the pool for a coming block and
//! gossiped once; after each commit, what the block committed, or what no longer may be, leaves the pool. What the
//! pool holds is also kept on disk, so a restart does not forget it.

use cvm_consensus::DuplicateVoteEvidence;
use libp2p::PeerId;
use tracing::{debug, warn};

use super::state::Runner;
use crate::network::Verdict;
use crate::node::app::EvidenceRefusal;
use crate::node::evidence_pool::Inserted;
use crate::node::wire::ConsensusMessage;

impl Runner {
    /// Evidence the engine produced: kept and gossiped when a block may still commit it.
    pub(super) fn on_own_evidence(&mut self, evidence: DuplicateVoteEvidence) {
        let offender = hex::encode(evidence.vote_a.vote.validator.0);
        match self.admit_evidence(&evidence) {
            Ok(Inserted::New) => {
                warn!(validator = %offender, height = evidence.vote_a.vote.height.0, "equivocation evidence");
                self.publish_evidence(evidence);
            }
            Ok(_) => {}
            Err(refusal) => debug!(validator = %offender, %refusal, "evidence not kept"),
        }
    }

    /// Gossiped evidence. A piece against an offender already pending is neither checked nor relayed; one that
    /// is not yet or no longer useful (its set unknown here, too old, already punished) is ignored; one that does
    /// not verify costs its sender.
    pub(super) fn on_gossiped_evidence(
        &mut self,
        source: PeerId,
        evidence: DuplicateVoteEvidence,
    ) -> Verdict {
        if self
            .shared
            .evidence
            .lock()
            .has_offender(&evidence.vote_a.vote.validator.0)
        {
            return Verdict::Ignore;
        }
        match self.admit_evidence(&evidence) {
            Ok(Inserted::New) => {
                warn!(
                    validator = %hex::encode(evidence.vote_a.vote.validator.0),
                    height = evidence.vote_a.vote.height.0,
                    %source,
                    "equivocation evidence from gossip"
                );
                Verdict::Accept
            }
            Ok(_) => Verdict::Ignore,
            Err(EvidenceRefusal::NotCanonical | EvidenceRefusal::Invalid(_)) => Verdict::Reject,
            Err(_) => Verdict::Ignore,
        }
    }

    /// Checks `evidence` for the next block on the committed state, then keeps it.
    fn admit_evidence(
        &mut self,
        evidence: &DuplicateVoteEvidence,
    ) -> Result<Inserted, EvidenceRefusal> {
        let app = &self.shared.app;
        let parent = app
            .parent()
            .map_err(|e| EvidenceRefusal::State(e.to_string()))?;
        app.check_evidence(evidence, parent.height + 1, parent.state_root)?;
        let inserted = self.shared.evidence.lock().insert(evidence.clone());
        match inserted {
            Inserted::New => {
                if let Err(e) = app.storage().put_pending_evidence(evidence) {
                    warn!(error = %e, "cannot keep pending evidence on disk; it is kept in memory");
                }
            }
            Inserted::Full => {
                warn!(
                    "the evidence pool is full; new offenders wait until blocks commit what it holds"
                )
            }
            Inserted::Known => {}
        }
        Ok(inserted)
    }

    fn publish_evidence(&self, evidence: DuplicateVoteEvidence) {
        self.publish_consensus(&ConsensusMessage::Evidence(Box::new(evidence)), 0);
    }

    /// After a commit: pending pieces the new state no longer admits (committed, covered by a jailing, too old)
    /// leave the pool.
    pub(super) fn prune_evidence(&mut self) {
        let app = &self.shared.app;
        let Ok(parent) = app.parent() else { return };
        let gone = self.shared.evidence.lock().retain(|e| {
            app.evidence_in_time(e, parent.height + 1, parent.state_root)
                .is_ok()
        });
        if let Err(e) = app.storage().remove_pending_evidence(&gone) {
            warn!(error = %e, "cannot forget committed evidence on disk");
        }
    }
}
