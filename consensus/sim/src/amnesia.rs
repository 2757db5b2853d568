//! The amnesia attack by the engine's public API: a validator that loses its memory is a
//! fresh [`Driver`] at the same height, fed again with what it had heard, which is how a
//! node that lost its WAL behaves.
//!
//! The attacker forgets every time it would carry a lock into a later round, so it never
//! holds one there: it prevotes any valid proposal, whatever it locked on before. A fresh
//! driver fed the messages in their original order would lock again, so it first runs its
//! precommit timeouts up to the round it was in and only then hears the messages: a lock
//! (L36) is taken only in the current round, so the old rounds' polkas count in the tallies
//! (for L28 and L49) but do not lock it.

use cvm_consensus::{
    Driver, DriverError, Effect, Height, Input, Round, Step, Timeout, TimeoutKind,
};

use crate::value::SimValue;

/// What an amnesiac validator heard at its height (and buffered for later ones), its own
/// messages included.
#[derive(Default)]
pub(crate) struct Memory {
    heard: Vec<Input<SimValue>>,
}

/// Whether `driver` holds a lock from a round before its current one: the lock an
/// amnesiac forgets.
pub(crate) fn holds_earlier_lock(driver: &Driver<SimValue>) -> bool {
    let state = driver.round_state();
    state.decision.is_none() && state.locked_round.is_some_and(|r| r < driver.round())
}

impl Memory {
    /// Remembers a message or verdict fed to the driver; a new height drops what is past.
    pub(crate) fn hear(&mut self, input: &Input<SimValue>) {
        match input {
            Input::StartHeight { height, .. } => self
                .heard
                .retain(|i| height_of(i).is_some_and(|h| h >= *height)),
            Input::Proposal(_) | Input::Vote(_) | Input::ValidityVerdict { .. } => {
                self.heard.push(input.clone())
            }
            Input::Votes(votes) => self.heard.extend(votes.iter().map(|v| Input::Vote(*v))),
            Input::TimeoutElapsed(_)
            | Input::ProposeValue { .. }
            | Input::BeginRoundZero { .. }
            | Input::Commit { .. } => {}
        }
    }

    /// Remembers what the validator itself broadcast.
    pub(crate) fn said(&mut self, effects: &[Effect<SimValue>]) {
        for effect in effects {
            match effect {
                Effect::BroadcastProposal(p) => self.heard.push(Input::Proposal(p.clone())),
                Effect::BroadcastVote(v) => self.heard.push(Input::Vote(*v)),
                _ => {}
            }
        }
    }

    /// Brings `fresh` (a new driver with the same key and configuration as `old`) to the
    /// height and round of `old` without a lock, then feeds it what was heard: verdicts
    /// first, so it does not ask for them again. Returns the effects from entering that
    /// round on; those of the rounds it ran through are not the validator's to act on.
    pub(crate) fn rejoin(
        &self,
        old: &Driver<SimValue>,
        mut fresh: Driver<SimValue>,
    ) -> Result<(Driver<SimValue>, Vec<Effect<SimValue>>), DriverError> {
        let height = old.height();
        let validators = old
            .validators()
            .expect("an amnesiac forgets only after starting a height")
            .clone();
        let mut effects = fresh.handle(Input::StartHeight { height, validators })?;
        if fresh.step() == Step::NewHeight {
            effects = fresh.handle(timeout(height, Round(0), TimeoutKind::NewHeight))?;
        }
        for round in 0..old.round().0 {
            effects = fresh.handle(timeout(height, Round(round), TimeoutKind::Precommit))?;
        }
        let verdicts = self
            .heard
            .iter()
            .filter(|i| matches!(i, Input::ValidityVerdict { .. }));
        let messages = self
            .heard
            .iter()
            .filter(|i| !matches!(i, Input::ValidityVerdict { .. }));
        for input in verdicts.chain(messages) {
            effects.extend(fresh.handle(input.clone())?);
        }
        Ok((fresh, effects))
    }
}

fn timeout(height: Height, round: Round, kind: TimeoutKind) -> Input<SimValue> {
    Input::TimeoutElapsed(Timeout {
        height,
        round,
        kind,
    })
}

fn height_of(input: &Input<SimValue>) -> Option<Height> {
    match input {
        Input::Proposal(p) => Some(p.proposal.height),
        Input::Vote(v) => Some(v.vote.height),
        Input::ValidityVerdict { height, .. } => Some(*height),
        _ => None,
    }
}
