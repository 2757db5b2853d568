//! Proposals and votes from the network: admission by height and round, signature checks
//! (one batch for `Input::Votes`), the vote tally with equivocation evidence, and the
//! proposal store.

use tracing::{debug, trace, warn};

use crate::crypto::VerifyItem;
use crate::error::MessageError;
use crate::messages::{SignedMessage, SignedProposal, SignedVote};
use crate::types::Value;
use crate::vote_keeper::AddVote;
use crate::wal::WalEntry;

use super::Driver;
use super::future::{FutureBuffer, Kept};
use super::io::{Admission, Effect};

impl<V: Value> Driver<V> {
    /// Classifies a message by height and round; buffers it if it is for a later height.
    fn admit(&mut self, msg: &SignedMessage<V>) -> Result<Route, MessageError> {
        if !self.height_known {
            // No validator set yet to check a signer against: nothing can take room.
            return Err(MessageError::NotStarted);
        }
        if FutureBuffer::<V>::is_future(msg, self.height, &self.config)? {
            return Ok(match self.buffer_future(msg)? {
                Kept::New => Route::Buffered,
                Kept::Known => Route::Known,
            });
        }
        let r = msg.round();
        if r.0
            > self
                .state
                .round
                .0
                .saturating_add(self.config.max_future_rounds)
        {
            return Err(MessageError::RoundTooFarAhead(r));
        }
        Ok(Route::Now)
    }

    /// A vote takes room only if a member of the current set signed it (an id is its key,
    /// so the check holds at the later height too); a proposal is the host's to verify.
    fn buffer_future(&mut self, msg: &SignedMessage<V>) -> Result<Kept, MessageError> {
        let v = match msg {
            SignedMessage::Proposal(p) => return self.future.add_proposal(p.clone(), &self.config),
            SignedMessage::Vote(v) => v,
        };
        let vals = self.validators.as_ref().expect("height started");
        let index = vals
            .index_of(&v.vote.validator)
            .ok_or(MessageError::UnknownValidator(v.vote.validator))?;
        if self.future.contains_vote(v) {
            return Ok(Kept::Known);
        }
        if !self
            .future
            .has_room_for(&v.vote.validator, vals.len(), &self.config)
        {
            return Err(MessageError::BufferFull);
        }
        let key = vals.get(index).expect("index from set").1;
        if !v.verify(&self.config.chain_id, key, self.verifier.as_ref()) {
            return Err(MessageError::InvalidSignature("vote"));
        }
        self.future.add_vote(*v, vals.len(), &self.config)
    }

    /// One message; `verified` when its signature was checked in a batch already.
    pub(super) fn on_message(&mut self, msg: SignedMessage<V>, verified: bool) -> Admission {
        match self.admit(&msg) {
            Ok(Route::Now) => {}
            Ok(Route::Buffered) => return Admission::Buffered,
            Ok(Route::Known) => return Admission::Duplicate,
            Err(e) => {
                trace!(%e, "dropping message");
                return Admission::Rejected(e);
            }
        }
        let result = match msg {
            SignedMessage::Proposal(p) => self.on_proposal(p),
            SignedMessage::Vote(v) => self.on_vote(v, verified),
        };
        match result {
            Ok(Fresh::New) => {
                // A validator signed something of this height: it began, so round 0 here
                // waits no longer for work of its own.
                self.release_round_zero();
                self.evaluate();
                Admission::Accepted
            }
            Ok(Fresh::Known) | Err(MessageError::Duplicate(_)) => Admission::Duplicate,
            Err(e) => {
                debug!(%e, "dropping message");
                Admission::Rejected(e)
            }
        }
    }

    pub(super) fn on_votes(&mut self, votes: Vec<SignedVote>) {
        // Batch-check the votes that would be processed now; fall back to single checks to
        // find the bad ones if the batch fails.
        let vals = self.validators.clone();
        let chain_id = self.config.chain_id.clone();
        let mut now = Vec::new();
        let mut later = Vec::new();
        for v in votes {
            let current = self.height_known && v.vote.height == self.height;
            match (&vals, current) {
                (Some(vals), true) => match vals.index_of(&v.vote.validator) {
                    Some(i) => now.push((v, i, v.vote.sign_bytes(&chain_id))),
                    None => trace!("vote from non-validator dropped"),
                },
                _ => later.push(v),
            }
        }
        if let Some(vals) = &vals {
            let items: Vec<VerifyItem<'_>> = now
                .iter()
                .map(|(v, i, bytes)| VerifyItem {
                    key: vals.get(*i).expect("index from set").1,
                    message: bytes,
                    signature: &v.signature,
                })
                .collect();
            let all_ok = self.verifier.verify_batch(&items);
            let oks: Vec<bool> = if all_ok {
                vec![true; items.len()]
            } else {
                items
                    .iter()
                    .map(|i| self.verifier.verify(i.key, i.message, i.signature))
                    .collect()
            };
            for ((v, _, _), ok) in now.into_iter().zip(oks) {
                if ok {
                    self.on_message(SignedMessage::Vote(v), true);
                } else {
                    debug!("invalid vote signature in batch");
                }
            }
        }
        for v in later {
            self.on_message(SignedMessage::Vote(v), false);
        }
    }

    fn on_vote(&mut self, sv: SignedVote, verified: bool) -> Result<Fresh, MessageError> {
        let vals = self.validators.as_ref().expect("height started");
        let index = vals
            .index_of(&sv.vote.validator)
            .ok_or(MessageError::UnknownValidator(sv.vote.validator))?;
        let keeper = self.keeper.as_ref().expect("height started");
        if keeper.is_known(&sv.vote) {
            return Ok(Fresh::Known);
        }
        if !verified {
            let key = vals.get(index).expect("index from set").1;
            if !sv.verify(&self.config.chain_id, key, self.verifier.as_ref()) {
                return Err(MessageError::InvalidSignature("vote"));
            }
        }
        let keeper = self.keeper.as_mut().expect("height started");
        match keeper.add(sv) {
            AddVote::Added => {
                self.persist(WalEntry::Vote(sv));
                Ok(Fresh::New)
            }
            AddVote::Duplicate | AddVote::BeyondCap => Ok(Fresh::Known),
            AddVote::Equivocation {
                evidence,
                first_offence,
            } => {
                self.persist(WalEntry::Vote(sv));
                if first_offence {
                    warn!(validator = ?sv.vote.validator, height = ?sv.vote.height,
                        round = ?sv.vote.round, kind = ?sv.vote.kind, "equivocation");
                    self.effects.push(Effect::ReportEvidence(*evidence));
                }
                Ok(Fresh::New)
            }
            AddVote::UnknownValidator => Err(MessageError::UnknownValidator(sv.vote.validator)),
        }
    }

    fn on_proposal(&mut self, sp: SignedProposal<V>) -> Result<Fresh, MessageError> {
        let p = &sp.proposal;
        let round = p.round;
        if let Some(pol_round) = p.pol_round.filter(|vr| *vr >= round) {
            return Err(MessageError::InvalidPolRound { round, pol_round });
        }
        let id = p.value.id();
        let proposer = self.proposer(round);
        let existing = self.proposals.get(&round).map(Vec::as_slice).unwrap_or(&[]);
        if existing.iter().any(|e| e == &sp) {
            return Ok(Fresh::Known);
        }
        if existing.len() >= self.config.max_proposals_per_round {
            return Err(MessageError::BufferFull);
        }
        let vals = self.validators.as_ref().expect("height started");
        let key = vals.get(proposer).expect("proposer in set").1;
        if !sp.verify(&self.config.chain_id, key, self.verifier.as_ref()) {
            // Either forged or signed by someone other than the proposer of this round.
            return Err(MessageError::WrongProposer(round));
        }
        if !existing.is_empty() {
            warn!(height = ?p.height, ?round, "proposer equivocates: second proposal");
        }
        self.persist(WalEntry::Proposal(sp.clone()));
        if self.validity.ask_for(id, round) {
            self.effects.push(Effect::ValidateValue {
                height: p.height,
                round,
                value: p.value.clone(),
            });
        }
        self.proposals.entry(round).or_default().push(sp);
        Ok(Fresh::New)
    }
}

/// Where an admitted message goes.
enum Route {
    /// To the current height's rules.
    Now,
    /// Into the future buffer.
    Buffered,
    /// Nowhere: the future buffer holds it already.
    Known,
}

/// Whether a message that passed the checks added anything.
enum Fresh {
    New,
    Known,
}
