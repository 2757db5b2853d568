//! The `upon` conditions of Algorithm 1 ("The latest gossip on BFT consensus"), evaluated
//! against the driver's votes, proposals and validity verdicts. Each function is named after
//! the line of its rule and returns the state-machine input the rule would take; the state
//! machine checks the rule's guard on the round state.

use crate::messages::SignedProposal;
use crate::state_machine as sm;
use crate::types::{Round, Step, Value, ValueId, VoteKind};
use crate::vote_keeper::VoteKeeper;

use super::Driver;

/// A rule's condition: `Some(input)` when it holds.
type Rule<V> = fn(&Driver<V>) -> Option<sm::Input<V>>;

impl<V: Value> Driver<V> {
    /// Fires enabled rules until none is. Every rule changes the step, the round or a
    /// "first time" flag, so this terminates.
    pub(super) fn evaluate(&mut self) {
        while self.fire_one() {}
        if self.height_known && self.state.decision.is_none() {
            self.ask_again_for_decisive_values();
        }
    }

    /// Fires the first enabled rule, in the order: decide, skip round, then the rules of the
    /// current round by step.
    fn fire_one(&mut self) -> bool {
        if !self.height_known || self.state.decision.is_some() || self.state.step == Step::NewHeight
        {
            return false;
        }
        let rules: [Rule<V>; 7] = [
            Self::l49_decide,
            Self::l55_skip_round,
            Self::l22_l28_proposal,
            Self::l34_polka_any,
            Self::l36_polka_current,
            Self::l44_polka_nil,
            Self::l47_precommit_any,
        ];
        for rule in rules {
            if let Some(input) = rule(self)
                && self.apply(input)
            {
                return true;
            }
        }
        false
    }

    fn keeper(&self) -> &VoteKeeper {
        self.keeper.as_ref().expect("height started")
    }

    fn proposal_for(&self, round: Round, id: ValueId) -> Option<&SignedProposal<V>> {
        self.proposals
            .get(&round)?
            .iter()
            .find(|p| p.proposal.value.id() == id)
    }

    /// L49: a proposal and 2f+1 precommits for it, in any round.
    fn l49_decide(&self) -> Option<sm::Input<V>> {
        let keeper = self.keeper();
        keeper.rounds().find_map(|round| {
            let Some(Some(id)) = keeper.quorum_value(round, VoteKind::Precommit) else {
                return None;
            };
            let p = self.proposal_for(round, id)?;
            let valid = self.validity.get(id, round)?;
            Some(sm::Input::ProposalAndPrecommitValue {
                round,
                value: p.proposal.value.clone(),
                valid,
            })
        })
    }

    /// L55: f+1 messages of a higher round.
    fn l55_skip_round(&self) -> Option<sm::Input<V>> {
        let round = self.keeper().skip_round(self.state.round)?;
        Some(sm::Input::SkipRound { round })
    }

    /// L22 (a proposal without valid round) or L28 (a proposal with valid round vr and the
    /// polka of vr), while in the propose step; the first proposal of the round that
    /// qualifies.
    fn l22_l28_proposal(&self) -> Option<sm::Input<V>> {
        if self.state.step != Step::Propose {
            return None;
        }
        let round = self.state.round;
        let keeper = self.keeper();
        self.proposals
            .get(&round)
            .into_iter()
            .flatten()
            .find_map(|p| {
                let id = p.proposal.value.id();
                let valid = self.validity.get(id, round)?;
                let value = p.proposal.value.clone();
                match p.proposal.pol_round {
                    None => Some(sm::Input::Proposal {
                        round,
                        value,
                        valid,
                    }),
                    Some(vr) if keeper.is_quorum_for(vr, VoteKind::Prevote, Some(id)) => {
                        Some(sm::Input::ProposalAndPolkaPrevious {
                            round,
                            value,
                            valid,
                            pol_round: vr,
                        })
                    }
                    Some(_) => None,
                }
            })
    }

    /// L34: 2f+1 prevotes of any kind in the current round.
    fn l34_polka_any(&self) -> Option<sm::Input<V>> {
        let round = self.state.round;
        self.keeper()
            .is_quorum_any(round, VoteKind::Prevote)
            .then_some(sm::Input::PolkaAny { round })
    }

    /// L36: the proposal of the current round and 2f+1 prevotes for it.
    fn l36_polka_current(&self) -> Option<sm::Input<V>> {
        let round = self.state.round;
        let Some(Some(id)) = self.keeper().quorum_value(round, VoteKind::Prevote) else {
            return None;
        };
        let p = self.proposal_for(round, id)?;
        let valid = self.validity.get(id, round)?;
        Some(sm::Input::ProposalAndPolkaCurrent {
            round,
            value: p.proposal.value.clone(),
            valid,
        })
    }

    /// L44: 2f+1 prevotes for nil in the current round.
    fn l44_polka_nil(&self) -> Option<sm::Input<V>> {
        let round = self.state.round;
        (self.keeper().quorum_value(round, VoteKind::Prevote) == Some(None))
            .then_some(sm::Input::PolkaNil { round })
    }

    /// L47: 2f+1 precommits of any kind in the current round.
    fn l47_precommit_any(&self) -> Option<sm::Input<V>> {
        let round = self.state.round;
        self.keeper()
            .is_quorum_any(round, VoteKind::Precommit)
            .then_some(sm::Input::PrecommitAny { round })
    }
}
