//! The round state machine of Algorithm 1 in "The latest gossip on BFT consensus"
//! (Buchman, Kwon, Milosevic, 2018). Pure: no I/O, no clock, no signatures.
//!
//! The driver evaluates the `upon` conditions (quorums, proposals, validity) against its
//! vote keeper and proposal store and feeds the matching [`Input`]; each input is one named
//! transition below that checks the rule's `while` guard on the round state and returns the
//! actions the rule takes, or `None` when the guard does not hold (the rule does not fire).

use crate::messages::Proposal;
use crate::types::{Height, Round, Step, Value, ValueId, VoteKind};

/// Which timer a timeout belongs to.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    parity_scale_codec::Encode,
    parity_scale_codec::Decode,
)]
pub enum TimeoutKind {
    /// L57: waiting for the proposal.
    Propose,
    /// L61: waiting for a polka after 2f+1 prevotes.
    Prevote,
    /// L65: waiting for a decision after 2f+1 precommits.
    Precommit,
    /// The optional block interval before round 0 of a new height.
    NewHeight,
}

/// A condition the driver established, naming the paper's rule it triggers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input<V> {
    /// L11 StartRound(round); the driver says whether we are `proposer(h, round)`.
    NewRound {
        /// The round to start.
        round: Round,
        /// Whether we propose in it.
        is_proposer: bool,
    },
    /// L18 `getValue()` returned (asynchronously, from the host).
    ProposeValue {
        /// The round the value was asked for.
        round: Round,
        /// The host's value.
        value: V,
    },
    /// L22 ⟨PROPOSAL, h, round_p, v, −1⟩ from the proposer; `valid` is the host's valid(v).
    Proposal {
        /// The proposal's round.
        round: Round,
        /// The proposed value.
        value: V,
        /// valid(v).
        valid: bool,
    },
    /// L28 ⟨PROPOSAL, h, round_p, v, vr⟩ and 2f+1 ⟨PREVOTE, h, vr, id(v)⟩, vr < round_p.
    ProposalAndPolkaPrevious {
        /// The proposal's round.
        round: Round,
        /// The proposed value.
        value: V,
        /// valid(v).
        valid: bool,
        /// vr, the round of the polka.
        pol_round: Round,
    },
    /// L34 2f+1 ⟨PREVOTE, h, round_p, ∗⟩.
    PolkaAny {
        /// The round of the prevotes.
        round: Round,
    },
    /// L36 ⟨PROPOSAL, h, round_p, v, ∗⟩ and 2f+1 ⟨PREVOTE, h, round_p, id(v)⟩.
    ProposalAndPolkaCurrent {
        /// The round of the proposal and prevotes.
        round: Round,
        /// The proposed value.
        value: V,
        /// valid(v).
        valid: bool,
    },
    /// L44 2f+1 ⟨PREVOTE, h, round_p, nil⟩.
    PolkaNil {
        /// The round of the prevotes.
        round: Round,
    },
    /// L47 2f+1 ⟨PRECOMMIT, h, round_p, ∗⟩.
    PrecommitAny {
        /// The round of the precommits.
        round: Round,
    },
    /// L49 ⟨PROPOSAL, h, r, v, ∗⟩ and 2f+1 ⟨PRECOMMIT, h, r, id(v)⟩, any round r.
    ProposalAndPrecommitValue {
        /// r, the round of the proposal and precommits.
        round: Round,
        /// The proposed value.
        value: V,
        /// valid(v).
        valid: bool,
    },
    /// L55 f+1 ⟨∗, h, round, ∗, ∗⟩ with round > round_p.
    SkipRound {
        /// The higher round.
        round: Round,
    },
    /// L57 OnTimeoutPropose(h, round).
    TimeoutPropose {
        /// The timer's round.
        round: Round,
    },
    /// L61 OnTimeoutPrevote(h, round).
    TimeoutPrevote {
        /// The timer's round.
        round: Round,
    },
    /// L65 OnTimeoutPrecommit(h, round).
    TimeoutPrecommit {
        /// The timer's round.
        round: Round,
    },
}

/// An action a rule takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output<V> {
    /// broadcast ⟨PROPOSAL, h, round, v, validRound⟩.
    Propose(Proposal<V>),
    /// Ask the host for a fresh value (`getValue()`).
    GetValue {
        /// The round to propose in.
        round: Round,
    },
    /// broadcast ⟨PREVOTE|PRECOMMIT, h, round, id(v)|nil⟩.
    Vote {
        /// Prevote or precommit.
        kind: VoteKind,
        /// The current round.
        round: Round,
        /// id(v), or `None` for nil.
        value: Option<ValueId>,
    },
    /// Start a timer (L21, L35, L48).
    ScheduleTimeout {
        /// Which timer.
        kind: TimeoutKind,
        /// The current round.
        round: Round,
    },
    /// decision_p[h] = v.
    Decide {
        /// The round whose precommits decided.
        round: Round,
        /// v.
        value: V,
    },
    /// Call StartRound(round): the driver knows the proposer and feeds `Input::NewRound`.
    NewRound {
        /// The round to start.
        round: Round,
    },
}

/// Per-height state of process p (paper: h_p, round_p, step_p, lockedValue_p, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundState<V> {
    /// h_p.
    pub height: Height,
    /// round_p.
    pub round: Round,
    /// step_p.
    pub step: Step,
    /// lockedValue_p (its id is all the rules compare).
    pub locked_value: Option<ValueId>,
    /// lockedRound_p.
    pub locked_round: Option<Round>,
    /// validValue_p (full value: it may be re-proposed).
    pub valid_value: Option<V>,
    /// validRound_p.
    pub valid_round: Option<Round>,
    /// decision_p[h_p].
    pub decision: Option<V>,
    /// "for the first time" flags of the current round (L34, L36, L47), and whether the
    /// proposer already proposed in it.
    prevote_timeout_scheduled: bool,
    polka_current_seen: bool,
    precommit_timeout_scheduled: bool,
    proposed: bool,
}

type Transition<V> = Option<Vec<Output<V>>>;

impl<V: Value> RoundState<V> {
    /// The state at the start of `height`, before round 0.
    pub fn new(height: Height) -> Self {
        RoundState {
            height,
            round: Round(0),
            step: Step::NewHeight,
            locked_value: None,
            locked_round: None,
            valid_value: None,
            valid_round: None,
            decision: None,
            prevote_timeout_scheduled: false,
            polka_current_seen: false,
            precommit_timeout_scheduled: false,
            proposed: false,
        }
    }

    /// Applies one rule. `None`: the guard does not hold and nothing changed.
    pub fn apply(&mut self, input: Input<V>) -> Transition<V> {
        if self.decision.is_some() {
            return None;
        }
        match input {
            Input::NewRound { round, is_proposer } => self.start_round(round, is_proposer),
            Input::ProposeValue { round, value } => self.propose_value(round, value),
            Input::Proposal {
                round,
                value,
                valid,
            } => self.on_proposal(round, value, valid),
            Input::ProposalAndPolkaPrevious {
                round,
                value,
                valid,
                pol_round,
            } => self.on_proposal_and_polka_previous(round, value, valid, pol_round),
            Input::PolkaAny { round } => self.on_polka_any(round),
            Input::ProposalAndPolkaCurrent {
                round,
                value,
                valid,
            } => self.on_proposal_and_polka_current(round, value, valid),
            Input::PolkaNil { round } => self.on_polka_nil(round),
            Input::PrecommitAny { round } => self.on_precommit_any(round),
            Input::ProposalAndPrecommitValue {
                round,
                value,
                valid,
            } => self.on_proposal_and_precommit_value(round, value, valid),
            Input::SkipRound { round } => self.on_round_skip(round),
            Input::TimeoutPropose { round } => self.on_timeout_propose(round),
            Input::TimeoutPrevote { round } => self.on_timeout_prevote(round),
            Input::TimeoutPrecommit { round } => self.on_timeout_precommit(round),
        }
    }

    fn is_current(&self, round: Round) -> bool {
        round == self.round && self.step != Step::NewHeight
    }

    /// L11–21 StartRound: a proposer re-proposes validValue with validRound (L15–16) or
    /// asks for a fresh value (L18); others start the propose timer (L21).
    /// Deviation: the proposer that waits for the host also starts the propose timer, so a
    /// host that never answers cannot stall the height.
    fn start_round(&mut self, round: Round, is_proposer: bool) -> Transition<V> {
        if self.step != Step::NewHeight && round <= self.round {
            return None;
        }
        self.round = round;
        self.step = Step::Propose;
        self.prevote_timeout_scheduled = false;
        self.polka_current_seen = false;
        self.precommit_timeout_scheduled = false;
        self.proposed = false;
        let timer = Output::ScheduleTimeout {
            kind: TimeoutKind::Propose,
            round,
        };
        if !is_proposer {
            return Some(vec![timer]);
        }
        match &self.valid_value {
            Some(v) => {
                self.proposed = true;
                Some(vec![Output::Propose(Proposal {
                    height: self.height,
                    round,
                    value: v.clone(),
                    pol_round: self.valid_round,
                })])
            }
            None => Some(vec![Output::GetValue { round }, timer]),
        }
    }

    /// L18–19: the host's value arrives; propose it with validRound −1.
    fn propose_value(&mut self, round: Round, value: V) -> Transition<V> {
        if !self.is_current(round) || self.step != Step::Propose || self.proposed {
            return None;
        }
        self.proposed = true;
        Some(vec![Output::Propose(Proposal {
            height: self.height,
            round,
            value,
            pol_round: None,
        })])
    }

    fn prevote(&mut self, round: Round, value: Option<ValueId>) -> Vec<Output<V>> {
        self.step = Step::Prevote;
        vec![Output::Vote {
            kind: VoteKind::Prevote,
            round,
            value,
        }]
    }

    fn precommit(&mut self, round: Round, value: Option<ValueId>) -> Vec<Output<V>> {
        self.step = Step::Precommit;
        vec![Output::Vote {
            kind: VoteKind::Precommit,
            round,
            value,
        }]
    }

    /// L22–27: prevote id(v) if valid and not locked on another value, else nil.
    fn on_proposal(&mut self, round: Round, value: V, valid: bool) -> Transition<V> {
        if !self.is_current(round) || self.step != Step::Propose {
            return None;
        }
        let id = value.id();
        let vote =
            (valid && (self.locked_round.is_none() || self.locked_value == Some(id))).then_some(id);
        Some(self.prevote(round, vote))
    }

    /// L28–33: a proposal re-proposing a value with a polka in an earlier round vr:
    /// prevote it if valid and our lock is not newer than vr (or is on the same value).
    fn on_proposal_and_polka_previous(
        &mut self,
        round: Round,
        value: V,
        valid: bool,
        pol_round: Round,
    ) -> Transition<V> {
        if !self.is_current(round) || self.step != Step::Propose || pol_round >= round {
            return None;
        }
        let id = value.id();
        // lockedRound_p ≤ vr, with −1 (None) below every round.
        let lock_allows = self.locked_round.is_none_or(|lr| lr <= pol_round);
        let vote = (valid && (lock_allows || self.locked_value == Some(id))).then_some(id);
        Some(self.prevote(round, vote))
    }

    /// L34–35: first 2f+1 prevotes of any kind in this round start the prevote timer.
    fn on_polka_any(&mut self, round: Round) -> Transition<V> {
        if !self.is_current(round) || self.step != Step::Prevote || self.prevote_timeout_scheduled {
            return None;
        }
        self.prevote_timeout_scheduled = true;
        Some(vec![Output::ScheduleTimeout {
            kind: TimeoutKind::Prevote,
            round,
        }])
    }

    /// L36–43: a polka for a valid proposal: lock and precommit it if still in prevote;
    /// in any case remember it as validValue/validRound (this is what resolves hidden locks).
    fn on_proposal_and_polka_current(
        &mut self,
        round: Round,
        value: V,
        valid: bool,
    ) -> Transition<V> {
        if !self.is_current(round) || self.step < Step::Prevote || !valid || self.polka_current_seen
        {
            return None;
        }
        self.polka_current_seen = true;
        let id = value.id();
        let mut out = Vec::new();
        if self.step == Step::Prevote {
            self.locked_value = Some(id);
            self.locked_round = Some(round);
            out = self.precommit(round, Some(id));
        }
        self.valid_value = Some(value);
        self.valid_round = Some(round);
        Some(out)
    }

    /// L44–46: a polka for nil: precommit nil.
    fn on_polka_nil(&mut self, round: Round) -> Transition<V> {
        if !self.is_current(round) || self.step != Step::Prevote {
            return None;
        }
        Some(self.precommit(round, None))
    }

    /// L47–48: first 2f+1 precommits of any kind in this round start the precommit timer.
    fn on_precommit_any(&mut self, round: Round) -> Transition<V> {
        if !self.is_current(round) || self.precommit_timeout_scheduled {
            return None;
        }
        self.precommit_timeout_scheduled = true;
        Some(vec![Output::ScheduleTimeout {
            kind: TimeoutKind::Precommit,
            round,
        }])
    }

    /// L49–54: a proposal of any round r with 2f+1 precommits for it: decide, if valid.
    fn on_proposal_and_precommit_value(
        &mut self,
        round: Round,
        value: V,
        valid: bool,
    ) -> Transition<V> {
        if !valid {
            return None;
        }
        self.decision = Some(value.clone());
        self.step = Step::Commit;
        Some(vec![Output::Decide { round, value }])
    }

    /// L55–56: f+1 messages from a higher round: catch up with StartRound(round).
    fn on_round_skip(&mut self, round: Round) -> Transition<V> {
        if self.step == Step::NewHeight || round <= self.round {
            return None;
        }
        Some(vec![Output::NewRound { round }])
    }

    /// L57–60: nothing acceptable was proposed in time: prevote nil.
    fn on_timeout_propose(&mut self, round: Round) -> Transition<V> {
        if !self.is_current(round) || self.step != Step::Propose {
            return None;
        }
        Some(self.prevote(round, None))
    }

    /// L61–64: no polka for a value in time: precommit nil.
    fn on_timeout_prevote(&mut self, round: Round) -> Transition<V> {
        if !self.is_current(round) || self.step != Step::Prevote {
            return None;
        }
        Some(self.precommit(round, None))
    }

    /// L65–67: no decision in time: StartRound(round_p + 1).
    fn on_timeout_precommit(&mut self, round: Round) -> Transition<V> {
        if !self.is_current(round) {
            return None;
        }
        Some(vec![Output::NewRound {
            round: round.next(),
        }])
    }
}
