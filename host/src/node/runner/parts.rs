//! Block parts: the bodies of proposals, gossiped as Merkle-proven parts, in and out. A part is relayed only once
//! a proposal signed by its round's proposer names its part set (see [`PartsPool`](crate::node::parts_pool)).

use libp2p::PeerId;
use parity_scale_codec::Encode;
use tracing::debug;

use super::state::Runner;
use crate::chain::{BlockBody, PartError, PartSet, PartSetHeader};
use crate::network::{MessageId, Topic, Verdict};
use crate::node::parts_pool::PartOutcome;
use crate::node::wire::{self, PartMessage};

impl Runner {
    /// Gossips the parts of a body this node proposes.
    pub(super) fn publish_parts(&self, height: u64, round: u32, body: &BlockBody, resend: u32) {
        if !self.hooks.sends_parts() {
            return;
        }
        let set = PartSet::from_body(body, self.shared.app.params().part_size as usize);
        for part in set.parts() {
            let msg = PartMessage {
                height,
                round,
                parts: set.header(),
                part: part.clone(),
                resend,
            };
            if let Err(e) = self
                .shared
                .net
                .try_publish(Topic::ProposalParts, msg.encode())
            {
                debug!(error = %e, "part publish");
            }
        }
    }

    /// A part from gossip. `None`: its verdict waits for a signed proposal naming its part set.
    pub(super) fn on_part_bytes(
        &mut self,
        source: PeerId,
        id: MessageId,
        data: &[u8],
    ) -> Option<Verdict> {
        let msg: PartMessage = match wire::decode(data) {
            Ok(m) => m,
            Err(_) => return Some(Verdict::Reject),
        };
        let current = self.consensus.driver.height().0;
        let result = self.bodies.parts.add(
            current,
            source,
            id,
            (msg.height, msg.round),
            msg.parts,
            msg.part,
        );
        self.report_released_parts();
        self.part_verdict(msg.parts, result)
    }

    /// A proposal signed by the proposer of (`height`, `round`) names part set `parts`: its buffered parts are
    /// assembled, and relayed.
    pub(super) fn vouch_parts(&mut self, height: u64, round: u32, parts: PartSetHeader) {
        let driver = &self.consensus.driver;
        let current = (driver.height().0, driver.round().0);
        for (id, peer, result) in self.bodies.parts.vouch(current, height, round, parts) {
            if let Some(verdict) = self.part_verdict(parts, result) {
                let _ = self.shared.net.try_report(id, peer, verdict);
            }
        }
        self.report_released_parts();
    }

    fn part_verdict(
        &mut self,
        parts: PartSetHeader,
        result: Result<PartOutcome, PartError>,
    ) -> Option<Verdict> {
        if let Err(e) = &result {
            debug!(error = %e, "bad block part");
        }
        let verdict = relay_verdict(&result);
        if result == Ok(PartOutcome::Completed) {
            self.on_body_ready(parts);
        }
        verdict
    }

    /// Buffered parts pushed out or outlived: not relayed, no penalty.
    fn report_released_parts(&mut self) {
        for (id, peer) in self.bodies.parts.take_released() {
            let _ = self.shared.net.try_report(id, peer, Verdict::Ignore);
        }
    }

    /// A body is here (assembled or fetched): the validations and the decision waiting for it go ahead.
    pub(super) fn on_body_ready(&mut self, parts: PartSetHeader) {
        if let Some(waiting) = self.bodies.waiting.remove(&parts.root)
            && let Some(body) = self.bodies.parts.body(&parts).cloned()
        {
            for (_, header) in waiting {
                self.spawn_validation(header, body.clone());
            }
        }
        if let Some((header, cert)) = self.commits.pending_decision.clone()
            && header.parts == parts
            && let Some(next) = self.decide(header, cert)
        {
            self.feed(next);
        }
    }
}

/// The gossip verdict on a part: relayed only when it went into a set a signed proposal names; `None` while it
/// waits for such a proposal (it is reported later, Accept or Ignore).
fn relay_verdict(result: &Result<PartOutcome, PartError>) -> Option<Verdict> {
    match result {
        Ok(PartOutcome::Added | PartOutcome::Completed) => Some(Verdict::Accept),
        Ok(PartOutcome::Buffered) => None,
        Ok(PartOutcome::Duplicate | PartOutcome::Ignored) => Some(Verdict::Ignore),
        Err(_) => Some(Verdict::Reject),
    }
}

#[cfg(test)]
mod tests {
    use libp2p::PeerId;

    use super::*;
    use crate::node::parts_pool::PartsPool;

    #[test]
    fn a_junk_part_set_no_proposal_names_is_never_relayed() {
        let mut pool: PartsPool<u32> = PartsPool::new(1024, 1 << 16);
        let stranger = PeerId::random();
        for seed in 0..200u32 {
            let set = PartSet::from_bytes(&seed.to_le_bytes().repeat(700), 1024);
            let result = pool.add(
                5,
                stranger,
                seed,
                (5, 0),
                set.header(),
                set.parts()[0].clone(),
            );
            assert_eq!(relay_verdict(&result), None, "held, not accepted for relay");
        }
        let released = pool.take_released();
        assert!(!released.is_empty(), "a stranger's buffer is bounded");
        // What is pushed out is reported Ignore by the runner: never Accept, never a penalty.
        pool.prune(5);
        assert_eq!(pool.take_released().len() + released.len(), 200);
    }
}
