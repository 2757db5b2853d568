//! Block parts: the bodies of proposals, gossiped as Merkle-proven parts, in and out.

use parity_scale_codec::Encode;
use tracing::debug;

use super::state::Runner;
use crate::chain::{BlockBody, PartSet};
use crate::network::{Topic, Verdict};
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

    /// A part from gossip; a completed body starts the validations and the decision waiting for it.
    pub(super) fn on_part_bytes(&mut self, data: &[u8]) -> Verdict {
        let msg: PartMessage = match wire::decode(data) {
            Ok(m) => m,
            Err(_) => return Verdict::Reject,
        };
        let current = self.consensus.driver.height().0;
        match self
            .bodies
            .parts
            .add(current, msg.height, msg.parts, msg.part)
        {
            Ok(PartOutcome::Completed) => {
                if let Some(waiting) = self.bodies.waiting.remove(&msg.parts.root)
                    && let Some(body) = self.bodies.parts.body(&msg.parts).cloned()
                {
                    for (_, header) in waiting {
                        self.spawn_validation(header, body.clone());
                    }
                }
                if let Some((header, cert)) = self.commits.pending_decision.clone()
                    && header.parts == msg.parts
                    && let Some(next) = self.decide(header, cert)
                {
                    self.feed(next);
                }
                Verdict::Accept
            }
            Ok(PartOutcome::Added) => Verdict::Accept,
            Ok(PartOutcome::Duplicate) | Ok(PartOutcome::Ignored) => Verdict::Ignore,
            Err(e) => {
                debug!(error = %e, "bad block part");
                Verdict::Reject
            }
        }
    }
}
