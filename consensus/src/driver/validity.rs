//! The host's validity verdicts of one height. A `true` holds for the height. A `false`
//! holds only for the round it was asked in: the host's answer can depend on its clock
//! (block time drift) or a transient storage error, and a correct validator that cached it
//! for the height could refuse a locked value forever. When the value is proposed again in
//! a later round the host is asked again, as CometBFT validates each round's proposal.

use std::collections::BTreeMap;

use crate::types::{Round, ValueId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Valid,
    /// The host refused the value when asked for a proposal of this round.
    Invalid(Round),
}

#[derive(Default)]
pub(super) struct Validity {
    verdicts: BTreeMap<ValueId, Verdict>,
    /// The round of the latest question per value.
    asked: BTreeMap<ValueId, Round>,
}

impl Validity {
    pub(super) fn clear(&mut self) {
        self.verdicts.clear();
        self.asked.clear();
    }

    /// Our own proposal's value: the host built it, or we saw a polka for it.
    pub(super) fn own(&mut self, id: ValueId, round: Round) {
        self.verdicts.insert(id, Verdict::Valid);
        self.asked.entry(id).or_insert(round);
    }

    /// A proposal of `id` in `round` arrived: whether the host must be asked (again). A
    /// question already asked for this or a later round is not asked twice.
    pub(super) fn ask_for(&mut self, id: ValueId, round: Round) -> bool {
        let fresh = match self.verdicts.get(&id) {
            Some(Verdict::Valid) => false,
            Some(Verdict::Invalid(q)) => round > *q,
            None => !self.asked.contains_key(&id),
        };
        let newer = self.asked.get(&id).is_none_or(|q| round > *q);
        if fresh && newer {
            self.asked.insert(id, round);
        }
        fresh && newer
    }

    /// The host's answer to the latest question on `id`: whether it was news (a repeated or
    /// late answer to an answered question is not).
    pub(super) fn record(&mut self, id: ValueId, valid: bool) -> bool {
        let asked_in = self.asked.get(&id).copied().unwrap_or(Round(0));
        match self.verdicts.get(&id) {
            Some(Verdict::Valid) => return false,
            Some(Verdict::Invalid(q)) if *q >= asked_in => return false,
            _ => {}
        }
        let verdict = if valid {
            Verdict::Valid
        } else {
            Verdict::Invalid(asked_in)
        };
        self.verdicts.insert(id, verdict);
        true
    }

    /// The round a `false` for `id` was given in, if that is its verdict.
    pub(super) fn refused_in(&self, id: ValueId) -> Option<Round> {
        match self.verdicts.get(&id) {
            Some(Verdict::Invalid(q)) => Some(*q),
            _ => None,
        }
    }

    /// valid(v) for a proposal of `round`: `None` while unknown, or when the only answer
    /// is a `false` from an earlier round (stale: to be asked again).
    pub(super) fn get(&self, id: ValueId, round: Round) -> Option<bool> {
        match self.verdicts.get(&id)? {
            Verdict::Valid => Some(true),
            Verdict::Invalid(q) => (*q >= round).then_some(false),
        }
    }
}
