//! Consensus gossip in (decoding, signature and window checks before the engine sees it) and this node's own
//! signed messages out, each only after its WAL record is durable.

use cvm_consensus::driver::Admission;
use cvm_consensus::wal::Wal;
use cvm_consensus::{
    Height, Input, Round, SignedProposal, SignedVote, Timeout, ValidatorSet, WalEntry,
};
use libp2p::PeerId;
use parity_scale_codec::Encode;
use tracing::debug;

use super::state::Runner;
use crate::chain::BlockHeader;
use crate::network::{Topic, Verdict};
use crate::node::wire::{self, ConsensusEnvelope, ConsensusMessage};

impl Runner {
    /// Appends a record to the WAL; it is made durable before the next broadcast.
    pub(super) fn persist(&mut self, entry: &WalEntry<BlockHeader>) {
        if let Err(e) = self.consensus.wal.append(entry) {
            self.halt(format!("cannot write the consensus WAL: {e}"));
        }
        self.consensus.wal_dirty = true;
    }

    /// Makes the WAL durable; `None` when it cannot be (the node halts).
    pub(super) fn sync_wal(&mut self) -> Option<()> {
        if self.consensus.wal_dirty {
            if let Err(e) = Wal::<BlockHeader>::sync(&mut self.consensus.wal) {
                self.halt(format!("cannot sync the consensus WAL: {e}"));
                return None;
            }
            self.consensus.wal_dirty = false;
        }
        Some(())
    }

    pub(super) fn broadcast_proposal(&mut self, proposal: SignedProposal<BlockHeader>) {
        if self.sync_wal().is_none() {
            return;
        }
        let (height, round) = (proposal.proposal.height.0, proposal.proposal.round.0);
        let parts = proposal.proposal.value.parts;
        self.vouch_parts(height, round, parts);
        // The proposal goes first: a peer takes parts at once only for a part set a signed proposal names.
        self.broadcast_own(ConsensusMessage::Proposal(Box::new(proposal)));
        if let Some(body) = self.bodies.parts.body(&parts).cloned() {
            self.publish_parts(height, round, &body, 0);
        }
    }

    pub(super) fn broadcast_vote(&mut self, vote: SignedVote) {
        if self.sync_wal().is_none() {
            return;
        }
        self.broadcast_own(ConsensusMessage::Vote(vote));
    }

    fn broadcast_own(&mut self, message: ConsensusMessage) {
        for message in self.hooks.outgoing(message) {
            self.publish_consensus(&message, 0);
            self.consensus.own_messages.push(message);
        }
    }

    pub(super) fn publish_consensus(&self, message: &ConsensusMessage, resend: u32) {
        let envelope = ConsensusEnvelope {
            resend,
            message: message.clone(),
        };
        if let Err(e) = self
            .shared
            .net
            .try_publish(Topic::Consensus, envelope.encode())
        {
            debug!(error = %e, "consensus publish");
        }
    }

    /// Re-sends what we signed at this height (a stalled round, or a peer that just connected).
    pub(super) fn resend_own(&mut self) {
        self.consensus.resend += 1;
        let resend = self.consensus.resend;
        let messages = self.consensus.own_messages.clone();
        for message in &messages {
            self.publish_consensus(message, resend);
            if let ConsensusMessage::Proposal(p) = message
                && let Some(body) = self.bodies.parts.body(&p.proposal.value.parts)
            {
                self.publish_parts(p.proposal.height.0, p.proposal.round.0, body, resend);
            }
        }
    }

    pub(super) fn on_timeout(&mut self, timeout: Timeout) {
        let driver = &self.consensus.driver;
        if timeout.height == driver.height() && timeout.round == driver.round() {
            // A timer firing at the current round means the round is slow: someone may have missed our
            // messages (a restart, a dropped connection).
            self.resend_own();
        }
        self.feed(Input::TimeoutElapsed(timeout));
    }

    /// A gossiped consensus message: the cheap checks first (decoding, chain, the height and round window), then
    /// the signature, then the engine, whose verdict on it (new, or a duplicate) decides whether it is relayed.
    pub(super) fn on_consensus_bytes(&mut self, source: PeerId, data: &[u8]) -> Verdict {
        let envelope: ConsensusEnvelope = match wire::decode(data) {
            Ok(e) => e,
            Err(_) => return Verdict::Reject,
        };
        match envelope.message {
            ConsensusMessage::Vote(vote) => {
                if self.beyond_window(vote.vote.height, vote.vote.round) {
                    // Of no use to anyone yet: neither checked, kept nor relayed (a flood of these from a faulty
                    // validator dies here).
                    return Verdict::Ignore;
                }
                if !self.vote_signature_ok(&vote) {
                    return Verdict::Reject;
                }
                self.hooks.observed_vote(&vote);
                relay_verdict(self.feed_with_admission(Input::Vote(vote)))
            }
            ConsensusMessage::Proposal(proposal) => {
                if proposal.proposal.value.chain_id != self.shared.app.genesis().chain_id {
                    return Verdict::Reject;
                }
                if proposal.proposal.value.height != proposal.proposal.height.0 {
                    return Verdict::Reject;
                }
                // Before the signature check: the proposer of a round a stranger picks is not looked up.
                if self.beyond_window(proposal.proposal.height, proposal.proposal.round) {
                    return Verdict::Ignore;
                }
                if proposal.proposal.height >= self.consensus.driver.height()
                    && !self.proposal_signature_ok(&proposal)
                {
                    // Not signed by its round's proposer for this chain: never buffered nor relayed.
                    return Verdict::Reject;
                }
                if proposal.proposal.height >= self.consensus.driver.height() {
                    // Signed by its round's proposer: its part set is the one whose parts are taken and relayed.
                    let parts = proposal.proposal.value.parts;
                    self.note_announcer(parts.root, source);
                    self.vouch_parts(proposal.proposal.height.0, proposal.proposal.round.0, parts);
                }
                self.hooks.observed_proposal(&proposal);
                relay_verdict(self.feed_with_admission(Input::Proposal(*proposal)))
            }
            ConsensusMessage::Evidence(evidence) => self.on_gossiped_evidence(source, *evidence),
        }
    }

    /// Further ahead than the engine buffers (heights), or than it considers (rounds, at the current height or a
    /// buffered one): of no use yet, whatever its signature.
    fn beyond_window(&self, height: Height, round: Round) -> bool {
        let driver = &self.consensus.driver;
        let config = driver.config();
        let current = driver.height();
        if height.0 > current.0 + config.max_future_heights {
            return true;
        }
        let base_round = if height == current {
            driver.round().0
        } else {
            0
        };
        height >= current && round.0 > base_round.saturating_add(config.max_future_rounds)
    }

    /// Signed by the proposer of its round, at the current height or (for a buffered early proposal) at one of
    /// the next heights the window admits ([`validators_of`](Self::validators_of)).
    fn proposal_signature_ok(&self, proposal: &SignedProposal<BlockHeader>) -> bool {
        let current = self.consensus.driver.height().0;
        let ahead = proposal.proposal.height.0.saturating_sub(current);
        if ahead > self.consensus.driver.config().max_future_heights {
            return false;
        }
        let Some(validators) = self.validators_of(proposal.proposal.height.0) else {
            return false;
        };
        let index = validators.proposer(proposal.proposal.round);
        let Some((_, key)) = validators.get(index) else {
            return false;
        };
        proposal.verify(
            self.shared.app.chain_id(),
            key,
            self.shared.verifier.as_ref(),
        )
    }

    fn vote_signature_ok(&self, vote: &SignedVote) -> bool {
        let Some(validators) = self.validators_of(vote.vote.height.0) else {
            return false;
        };
        let Some(index) = validators.index_of(&vote.vote.validator) else {
            return false;
        };
        let Some((_, key)) = validators.get(index) else {
            return false;
        };
        vote.verify(
            self.shared.app.chain_id(),
            key,
            self.shared.verifier.as_ref(),
        )
    }
}

impl Runner {
    /// The validator set of `height`: the driver's for its own height, the app's for the heights its schedule
    /// holds, and for the one after those the last one's priorities moved once: a guess that an update decided by
    /// a block not yet committed can prove wrong, which costs that message (the engine gets it again by gossip or
    /// moves to a later round) and nothing else.
    fn validators_of(&self, height: u64) -> Option<std::borrow::Cow<'_, ValidatorSet>> {
        use std::borrow::Cow;
        if height == self.consensus.driver.height().0 {
            return Some(Cow::Borrowed(&self.consensus.validators));
        }
        let app = &self.shared.app;
        app.validator_set(height)
            .or_else(|| {
                app.validator_set(height.checked_sub(1)?)
                    .map(|s| s.next_height())
            })
            .map(Cow::Owned)
    }
}

/// Whether a message the engine took is relayed: new ones are, a copy seen before (or an equivocator's vote
/// beyond what is counted) or one the engine could not use is not.
fn relay_verdict(admission: Option<Admission>) -> Verdict {
    match admission {
        Some(Admission::Accepted | Admission::Buffered) => Verdict::Accept,
        Some(Admission::Duplicate | Admission::Rejected(_)) | None => Verdict::Ignore,
    }
}
