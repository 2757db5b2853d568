//! The simulated application's validator-set changes. At random heights (drawn from the
//! seed) it decides a change set: a standby correct validator joins, a correct one leaves, a
//! member's power changes. As in CometBFT's `updateState`, the set of `h + 2` is
//! `set(h + 1).update_with_change_set(changes decided at h).next_height()`.

use std::collections::{BTreeMap, BTreeSet};

use cvm_consensus::{ValidatorId, ValidatorSet, ValidatorUpdate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::SetChanges;

/// What the application decides over a run, and the sets it implies.
pub(crate) struct Schedule {
    /// `sets[h]` is the set of height `h`, up to `heights + 2` (`sets[0]` is genesis).
    pub(crate) sets: Vec<ValidatorSet>,
    /// The change set decided at each height that has one.
    pub(crate) changes: BTreeMap<u64, Vec<ValidatorUpdate>>,
}

impl Schedule {
    /// The change set decided at `height` (empty if none).
    pub(crate) fn changes_at(&self, height: u64) -> &[ValidatorUpdate] {
        self.changes.get(&height).map_or(&[], Vec::as_slice)
    }

    /// Change sets that took effect within `heights` (decided at `h`, applied from `h + 2`),
    /// and their joins, leaves and power changes (judged against the set each applied to).
    pub(crate) fn applied_within(&self, heights: u64) -> [u64; 4] {
        let mut counts = [0u64; 4];
        for (h, change) in self.changes.range(..=heights.saturating_sub(2)) {
            counts[0] += 1;
            let before = &self.sets[*h as usize + 1];
            for u in change {
                let kind = match (u.voting_power, before.index_of(&u.id)) {
                    (_, None) => 1,
                    (0, _) => 2,
                    _ => 3,
                };
                counts[kind] += 1;
            }
        }
        counts
    }

    /// The set of `height + 2` from the set of `height + 1` and the changes decided at
    /// `height`: what every node computes once it decided `height`.
    pub(crate) fn next_set(
        &self,
        height_plus_one: &ValidatorSet,
        height: u64,
    ) -> Result<ValidatorSet, String> {
        height_plus_one
            .update_with_change_set(self.changes_at(height))
            .map(|s| s.next_height())
            .map_err(|e| format!("change set of height {height}: {e}"))
    }
}

/// The schedule of a run: without `changes`, the genesis members throughout.
///
/// `candidates` are the correct validators (any of them may join or leave); `byzantine`
/// ones stay members, and every set keeps their power below a third.
pub(crate) fn schedule(
    genesis: ValidatorSet,
    heights: u64,
    candidates: &BTreeSet<ValidatorId>,
    byzantine: &BTreeSet<ValidatorId>,
    changes: Option<&SetChanges>,
    seed: u64,
) -> Result<Schedule, String> {
    let mut schedule = Schedule {
        sets: vec![genesis.clone(), genesis.clone(), genesis.next_height()],
        changes: BTreeMap::new(),
    };
    // Its own stream, so runs without changes draw exactly what they did before.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xa991_1ca7);
    for h in 1..=heights {
        if let Some(c) = changes
            && rng.gen_bool(c.per_height)
            && let Some(change) = decide(
                &mut rng,
                &schedule.sets[h as usize + 1],
                candidates,
                byzantine,
            )
        {
            schedule.changes.insert(h, change);
        }
        let next = schedule.next_set(&schedule.sets[h as usize + 1], h)?;
        schedule.sets.push(next);
    }
    for (h, set) in schedule.sets.iter().enumerate() {
        let byz: u64 = byzantine.iter().filter_map(|id| set.power_of(id)).sum();
        let all_members = byzantine.iter().all(|id| set.index_of(id).is_some());
        if !all_members || set.is_one_third(byz) {
            return Err(format!(
                "set of height {h}: Byzantine power {byz} of {} (all members: {all_members})",
                set.total_power()
            ));
        }
    }
    Ok(schedule)
}

/// One change set for `current` (the set it applies to), or `None` if the draw would leave
/// Byzantine power at a third or more.
fn decide(
    rng: &mut ChaCha8Rng,
    current: &ValidatorSet,
    candidates: &BTreeSet<ValidatorId>,
    byzantine: &BTreeSet<ValidatorId>,
) -> Option<Vec<ValidatorUpdate>> {
    let mut change: BTreeMap<ValidatorId, u64> = BTreeMap::new();
    for _ in 0..rng.gen_range(1..=2) {
        let untouched = |id: &&ValidatorId| !change.contains_key(*id);
        let (pool, power): (Vec<ValidatorId>, u64) = match rng.gen_range(0..3) {
            // Join: a correct validator outside the set.
            0 => (
                candidates
                    .iter()
                    .filter(|id| current.index_of(id).is_none())
                    .filter(untouched)
                    .copied()
                    .collect(),
                rng.gen_range(1..=9),
            ),
            // Leave: a correct member.
            1 => (
                current
                    .validators()
                    .iter()
                    .map(|v| &v.id)
                    .filter(|id| !byzantine.contains(*id))
                    .filter(untouched)
                    .copied()
                    .collect(),
                0,
            ),
            // New power for any member, Byzantine included.
            _ => (
                current
                    .validators()
                    .iter()
                    .map(|v| &v.id)
                    .filter(untouched)
                    .copied()
                    .collect(),
                rng.gen_range(1..=9),
            ),
        };
        if !pool.is_empty() {
            change.insert(pool[rng.gen_range(0..pool.len())], power);
        }
    }
    let mut after: BTreeMap<ValidatorId, u64> = current.membership().into_iter().collect();
    for (id, p) in &change {
        if *p == 0 {
            after.remove(id);
        } else {
            after.insert(*id, *p);
        }
    }
    let total: u64 = after.values().sum();
    let byz: u64 = byzantine.iter().filter_map(|id| after.get(id)).sum();
    if change.is_empty() || after.is_empty() || 3 * byz >= total {
        return None;
    }
    // Listed in a seeded order: the result must not depend on it.
    let mut list: Vec<ValidatorUpdate> = change
        .into_iter()
        .map(|(id, voting_power)| ValidatorUpdate { id, voting_power })
        .collect();
    if list.len() == 2 && rng.gen_bool(0.5) {
        list.swap(0, 1);
    }
    Some(list)
}
