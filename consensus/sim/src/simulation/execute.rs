//! Executing a node's effects as its host would (WAL sync included), crashes at arbitrary
//! points, and decisions.

use cvm_consensus::{CommitCertificate, Effect, Height, Input, SignedMessage, Value};
use rand::Rng;

use crate::network::Event;
use crate::report::SimFailure;
use crate::value::SimValue;

use super::Simulation;

impl Simulation {
    /// Runs a node's effect list as its host would: WAL records are synced before the
    /// first broadcast after them, and otherwise only sometimes. A node armed to crash
    /// stops after a random part of the list, losing part of its unsynced WAL tail.
    pub(super) fn execute(
        &mut self,
        i: usize,
        effects: Vec<Effect<SimValue>>,
    ) -> Result<(), SimFailure> {
        let stop_after = if self.nodes[i].crash_armed {
            Some(self.rng.gen_range(0..=effects.len()))
        } else {
            None
        };
        for (k, effect) in effects.into_iter().enumerate() {
            if self.nodes[i].down {
                // It crashed in a list nested in this one (the next height's start): the
                // rest is lost with it.
                return Ok(());
            }
            if stop_after == Some(k) {
                self.crash_now(i);
                let back = self.now + self.rng.gen_range(50..1_500);
                self.queue.push(back, Event::Restart { node: i as u32 });
                return Ok(());
            }
            let incarnation = self.nodes[i].incarnation;
            match effect {
                Effect::PersistToWal(entry) => {
                    self.nodes[i]
                        .wal
                        .append(&entry)
                        .map_err(|e| self.fail(e.to_string()))?;
                }
                Effect::BroadcastProposal(p) => {
                    self.send_logged(i, SignedMessage::Proposal(p))?;
                }
                Effect::BroadcastVote(v) => self.send_logged(i, SignedMessage::Vote(v))?,
                Effect::ScheduleTimeout { timeout, duration } => {
                    let at = self.now + duration.as_millis() as u64;
                    self.queue.push(
                        at,
                        Event::Timeout {
                            node: i as u32,
                            timeout,
                            incarnation,
                        },
                    );
                }
                Effect::RequestValue { height, round, .. } => {
                    let at = self.now + self.rng.gen_range(1..5);
                    self.queue.push(
                        at,
                        Event::HostValue {
                            node: i as u32,
                            height,
                            round,
                            incarnation,
                        },
                    );
                }
                Effect::ValidateValue { height, value, .. } => {
                    if !self.nodes[i].asked.insert(value.id()) {
                        self.revalidations += 1;
                    }
                    let at = self.now + self.rng.gen_range(1..5);
                    self.queue.push(
                        at,
                        Event::HostVerdict {
                            node: i as u32,
                            height,
                            value,
                            incarnation,
                        },
                    );
                }
                Effect::Decide { value, certificate } => self.decide(i, value, certificate)?,
                Effect::ReportEvidence(ev) => {
                    if self.nodes[i].behaviour.is_correct() {
                        let h = ev.vote_a.vote.height;
                        let set = &self.schedule.sets[h.0 as usize];
                        self.invariants
                            .on_evidence(&ev, set, &self.chain_id, self.checker_verifier.as_ref())
                            .map_err(|e| self.fail(e))?;
                    }
                }
            }
        }
        if stop_after.is_some() {
            // Armed, but the list ended first: crash right after it.
            self.crash_now(i);
            let back = self.now + self.rng.gen_range(50..1_500);
            self.queue.push(back, Event::Restart { node: i as u32 });
        } else if self.rng.gen_bool(0.5) {
            self.nodes[i].wal.sync();
        }
        Ok(())
    }

    /// The host contract: a signed message leaves only once its WAL record is durable,
    /// written earlier in this list (synced now, before the broadcast) or in an earlier one.
    fn send_logged(&mut self, i: usize, msg: SignedMessage<SimValue>) -> Result<(), SimFailure> {
        let node = &mut self.nodes[i];
        node.wal.sync();
        if !node.wal.holds_durably(&msg) {
            return Err(self.fail(format!(
                "node {i} broadcast a signed message without a WAL record: {msg:?}"
            )));
        }
        self.broadcast(i, msg)
    }

    /// Stops node `i` now: its timers and host answers go stale, and its WAL keeps what was
    /// synced plus a random part of the rest.
    pub(super) fn crash_now(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.down = true;
        node.crash_armed = false;
        node.incarnation += 1;
        node.wal.crash(&mut self.rng);
    }

    pub(super) fn decide(
        &mut self,
        i: usize,
        value: SimValue,
        certificate: CommitCertificate,
    ) -> Result<(), SimFailure> {
        let height = certificate.height;
        if self.nodes[i].behaviour.is_correct() {
            let set = &self.schedule.sets[height.0 as usize];
            self.invariants
                .on_decide(
                    i,
                    height,
                    &value,
                    &certificate,
                    set,
                    &self.chain_id,
                    self.checker_verifier.as_ref(),
                )
                .map_err(|e| self.fail(e))?;
            if let Some((prev, _)) = self.nodes[i].decided.get(&height)
                && prev != &value
            {
                return Err(self.fail(format!(
                    "node {i} decided {height:?} twice with different values"
                )));
            }
            self.max_round = self.max_round.max(certificate.round.0);
        }
        self.next_set(i, height)?;
        let node = &mut self.nodes[i];
        node.decided.insert(height, (value, certificate));
        node.sync_streak = 0;
        node.asked.clear();
        // Committed: the WAL of this height is no longer needed.
        node.wal.clear();
        let next = height.next();
        if next.0 > self.cfg.heights || next <= node.driver.height() {
            return Ok(());
        }
        let validators = self.nodes[i].sets[next.0 as usize].clone();
        self.input(
            i,
            Input::StartHeight {
                height: next,
                validators,
            },
        )
    }

    /// Node `i` decided `height` (the first time): it computes the set of `height + 2` from
    /// its set of `height + 1` and the changes decided at `height`, as CometBFT's
    /// `updateState` does; every node must get the same set.
    fn next_set(&mut self, i: usize, height: Height) -> Result<(), SimFailure> {
        let h = height.0 as usize;
        if self.nodes[i].sets.len() != h + 2 {
            return Ok(());
        }
        let next = self
            .schedule
            .next_set(&self.nodes[i].sets[h + 1], height.0)
            .map_err(|e| self.fail(format!("node {i}: {e}")))?;
        if next != self.schedule.sets[h + 2] {
            return Err(self.fail(format!(
                "node {i} computed another validator set for height {}",
                h + 2
            )));
        }
        self.nodes[i].sets.push(next);
        Ok(())
    }
}
