//! Colluding Byzantine validators: two real (valid) values per round, each backed by every
//! colluder's votes towards one camp of peers.

use cvm_consensus::{SignedMessage, Value, Vote};

use crate::byzantine;
use crate::report::SimFailure;
use crate::value::SimValue;

use super::Simulation;

impl Simulation {
    /// A colluder's message. Its proposal goes out in two valid versions, one per camp
    /// (peers of even and of odd index); its votes back each camp's value once a colluder
    /// proposed in that round, and otherwise split like a double voter's.
    pub(super) fn collude(
        &mut self,
        from: usize,
        peers: &[usize],
        msg: SignedMessage<SimValue>,
    ) -> Result<(), SimFailure> {
        let signer = self.nodes[from].signer.clone();
        let (camp_a, camp_b): (Vec<usize>, Vec<usize>) = peers.iter().partition(|p| *p % 2 == 0);
        let (a, b) = match &msg {
            SignedMessage::Proposal(p) => {
                let alt = byzantine::second_valid_proposal(
                    &mut self.rng,
                    p,
                    &self.chain_id,
                    signer.as_ref(),
                );
                let key = (p.proposal.height, p.proposal.round);
                let ids = (p.proposal.value.id(), alt.proposal.value.id());
                self.collusion.insert(key, ids);
                (msg.clone(), SignedMessage::Proposal(alt))
            }
            SignedMessage::Vote(v) => {
                match self.collusion.get(&(v.vote.height, v.vote.round)).copied() {
                    Some((va, vb)) => {
                        let back = |value| {
                            SignedMessage::Vote(
                                Vote {
                                    value: Some(value),
                                    ..v.vote
                                }
                                .sign(&self.chain_id, signer.as_ref()),
                            )
                        };
                        (back(va), back(vb))
                    }
                    None => {
                        let alt = byzantine::conflicting_vote(
                            &mut self.rng,
                            v,
                            &self.chain_id,
                            signer.as_ref(),
                        );
                        (msg.clone(), SignedMessage::Vote(alt))
                    }
                }
            }
        };
        for m in [&a, &b] {
            self.invariants
                .on_signed(false, m)
                .map_err(|e| self.fail(e))?;
        }
        for p in camp_a {
            self.send(from, p, crate::network::NetMsg::Consensus(a.clone()));
        }
        for p in camp_b {
            self.send(from, p, crate::network::NetMsg::Consensus(b.clone()));
        }
        Ok(())
    }
}
