//! Block bodies being received as parts. A part is assembled (and its gossip relayed) only when a proposal signed
//! by its round's proposer names its part set: the root is the proposer's commitment to the body, and nobody else
//! can make one that peers build and relay. Parts for roots no signed proposal names yet (they may arrive before
//! their proposal) wait in a buffer bounded per peer and in total, unrelayed, until a proposal names them or
//! they are pushed out. Every store here has a count bound and an eviction rule a stranger cannot turn against
//! honest data.

use std::collections::{BTreeMap, HashMap, VecDeque};

use libp2p::PeerId;

use crate::chain::parts::verify_part;
use crate::chain::{BlockBody, Part, PartError, PartSetBuilder, PartSetHeader};

/// Heights above the current one whose parts are kept (the engine buffers proposals as far ahead).
const HEIGHTS_AHEAD: u64 = 2;
/// Part sets named by signed proposals, per height: rounds move on, and a proposer may equivocate.
const MAX_VOUCHED_PER_HEIGHT: usize = 8;
/// Complete bodies held (not yet committed): the current proposal, a few rounds' and heights' worth.
pub const MAX_BODIES: usize = 8;

/// What adding a part did.
#[derive(Debug, PartialEq, Eq)]
pub enum PartOutcome {
    /// Stored in a set a signed proposal names; the set is not complete yet.
    Added,
    /// Already had it.
    Duplicate,
    /// This part completed the body.
    Completed,
    /// Held for a root no signed proposal names yet; its verdict waits (see [`PartsPool::vouch`]).
    Buffered,
    /// Not tracked (height out of window); not the sender's fault.
    Ignored,
}

/// A part held for a root no signed proposal names yet, with the caller's ticket for its gossip verdict.
struct Unvouched<T> {
    height: u64,
    round: u32,
    header: PartSetHeader,
    part: Part,
    ticket: T,
}

/// A part set a signed proposal names.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Vouched {
    round: u32,
    header: PartSetHeader,
}

/// Body parts of proposals being received, and the bodies they completed. `T` is what the caller needs to report
/// a buffered part's gossip verdict once it is known.
pub struct PartsPool<T> {
    part_size: usize,
    max_parts: u32,
    vouched: BTreeMap<u64, Vec<Vouched>>,
    sets: BTreeMap<u64, HashMap<[u8; 32], PartSetBuilder>>,
    unvouched: HashMap<PeerId, VecDeque<Unvouched<T>>>,
    unvouched_total: usize,
    /// Buffered parts dropped (pushed out, or their height passed): their verdict is Ignore.
    released: Vec<(T, PeerId)>,
    /// Complete bodies by part-set root, with their height, oldest first.
    bodies: VecDeque<([u8; 32], u64, BlockBody)>,
}

impl<T> PartsPool<T> {
    /// A pool for parts of `part_size` bytes and bodies of at most `max_block_bytes`.
    pub fn new(part_size: usize, max_block_bytes: u64) -> Self {
        Self {
            part_size,
            max_parts: (max_block_bytes / part_size as u64 + 1) as u32,
            vouched: BTreeMap::new(),
            sets: BTreeMap::new(),
            unvouched: HashMap::new(),
            unvouched_total: 0,
            released: Vec::new(),
            bodies: VecDeque::new(),
        }
    }

    /// Unvouched parts held per peer: one whole body's worth, so a peer relaying parts ahead of their proposal
    /// loses none.
    fn max_unvouched_per_peer(&self) -> usize {
        self.max_parts as usize
    }

    /// Unvouched parts held in all: four bodies' worth.
    fn max_unvouched(&self) -> usize {
        4 * self.max_parts as usize
    }

    /// Records that a proposal signed by the proposer of (`height`, `round`) names the part set `header`, and
    /// assembles the buffered parts it names. Returns those parts' tickets with what adding each did (the
    /// gossip verdict they were waiting for).
    pub fn vouch(
        &mut self,
        current: (u64, u32),
        height: u64,
        round: u32,
        header: PartSetHeader,
    ) -> Vec<(T, PeerId, Result<PartOutcome, PartError>)> {
        if !self.in_window(current.0, height) || header.total > self.max_parts {
            return Vec::new();
        }
        let entry = Vouched { round, header };
        let list = self.vouched.entry(height).or_default();
        if !list.contains(&entry) {
            if list.len() >= MAX_VOUCHED_PER_HEIGHT {
                // Rounds behind the current one go first, then the furthest ahead (a faulty proposer of a
                // future round cannot push out the round in progress).
                let behind = (height == current.0)
                    .then(|| list.iter().position(|v| v.round < current.1))
                    .flatten();
                let evict = match behind {
                    Some(i) => i,
                    None => match list.iter().enumerate().max_by_key(|(_, v)| v.round) {
                        Some((i, v)) if v.round > round => i,
                        _ => return Vec::new(),
                    },
                };
                let gone = list.swap_remove(evict);
                if !list.iter().any(|v| v.header.root == gone.header.root)
                    && let Some(sets) = self.sets.get_mut(&height)
                {
                    sets.remove(&gone.header.root);
                }
            }
            list.push(entry);
        }
        let mut drained = Vec::new();
        for (peer, queue) in &mut self.unvouched {
            let mut kept = VecDeque::with_capacity(queue.len());
            for held in queue.drain(..) {
                if held.height == height && held.round == round && held.header.root == header.root {
                    drained.push((*peer, held));
                } else {
                    kept.push_back(held);
                }
            }
            *queue = kept;
        }
        self.unvouched.retain(|_, queue| !queue.is_empty());
        self.unvouched_total -= drained.len();
        drained
            .into_iter()
            .map(|(peer, held)| {
                let outcome = self.add_vouched(held.height, entry, held.header, held.part);
                (held.ticket, peer, outcome)
            })
            .collect()
    }

    /// Adds a part of a block at `height`, gossiped by `peer`. A part of a set a signed proposal names is
    /// assembled; any other is checked against its own header and buffered with `ticket` (its verdict comes from
    /// [`vouch`](Self::vouch), or as Ignore from [`take_released`](Self::take_released)).
    pub fn add(
        &mut self,
        current: u64,
        peer: PeerId,
        ticket: T,
        (height, round): (u64, u32),
        header: PartSetHeader,
        part: Part,
    ) -> Result<PartOutcome, PartError> {
        if !self.in_window(current, height) {
            return Ok(PartOutcome::Ignored);
        }
        if header.total > self.max_parts {
            return Err(PartError::TooManyParts(header.total));
        }
        let vouched = self.vouched.get(&height).and_then(|list| {
            list.iter()
                .find(|v| v.round == round && v.header.root == header.root)
                .copied()
        });
        match vouched {
            Some(entry) => self.add_vouched(height, entry, header, part),
            None => {
                verify_part(&header, &part, self.part_size)?;
                self.buffer(
                    peer,
                    Unvouched {
                        height,
                        round,
                        header,
                        part,
                        ticket,
                    },
                );
                Ok(PartOutcome::Buffered)
            }
        }
    }

    fn in_window(&self, current: u64, height: u64) -> bool {
        height >= current && height <= current + HEIGHTS_AHEAD
    }

    fn add_vouched(
        &mut self,
        height: u64,
        entry: Vouched,
        header: PartSetHeader,
        part: Part,
    ) -> Result<PartOutcome, PartError> {
        if header != entry.header {
            // The signed header names another count for this root: the part cannot prove against both.
            return Err(PartError::IndexOutOfRange {
                index: part.index,
                total: entry.header.total,
            });
        }
        if self.body_by_root(&header.root).is_some() {
            return Ok(PartOutcome::Duplicate);
        }
        let sets = self.sets.entry(height).or_default();
        let builder = match sets.entry(header.root) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(PartSetBuilder::new(header, self.part_size)?)
            }
        };
        if !builder.add(part)? {
            return Ok(PartOutcome::Duplicate);
        }
        match builder.body() {
            None => Ok(PartOutcome::Added),
            Some(Ok(body)) => {
                sets.remove(&header.root);
                self.insert_body(height, header, body);
                Ok(PartOutcome::Completed)
            }
            Some(Err(e)) => {
                sets.remove(&header.root);
                Err(e)
            }
        }
    }

    /// Buffers an unvouched part. A full peer loses its own oldest part; a full buffer loses the oldest part of
    /// the peer holding the most (the sender itself when it holds as many as anyone), so a stranger can only
    /// push out data of peers holding more than it does, and every peer keeps its fair share of the buffer.
    fn buffer(&mut self, peer: PeerId, held: Unvouched<T>) {
        let duplicate = self.unvouched.get(&peer).is_some_and(|queue| {
            queue.iter().any(|h| {
                h.height == held.height
                    && h.round == held.round
                    && h.header == held.header
                    && h.part.index == held.part.index
            })
        });
        if duplicate {
            self.released.push((held.ticket, peer));
            return;
        }
        let own = self.unvouched.get(&peer).map_or(0, VecDeque::len);
        let victim = if own >= self.max_unvouched_per_peer() {
            Some(peer)
        } else if self.unvouched_total >= self.max_unvouched() {
            let (largest, most) = self
                .unvouched
                .iter()
                .map(|(p, q)| (*p, q.len()))
                .max_by_key(|(_, len)| *len)
                .expect("a full buffer holds some peer's parts");
            Some(if own >= most { peer } else { largest })
        } else {
            None
        };
        if let Some(victim) = victim
            && let Some(queue) = self.unvouched.get_mut(&victim)
            && let Some(old) = queue.pop_front()
        {
            self.unvouched_total -= 1;
            self.released.push((old.ticket, victim));
            if queue.is_empty() {
                self.unvouched.remove(&victim);
            }
        }
        self.unvouched.entry(peer).or_default().push_back(held);
        self.unvouched_total += 1;
    }

    /// Tickets of buffered parts dropped since the last call: they are not relayed (verdict Ignore).
    pub fn take_released(&mut self) -> Vec<(T, PeerId)> {
        std::mem::take(&mut self.released)
    }

    /// Inserts a body known whole (our own proposal, assembled, fetched, or synced) for a block at `height`;
    /// beyond [`MAX_BODIES`] the oldest goes.
    pub fn insert_body(&mut self, height: u64, header: PartSetHeader, body: BlockBody) {
        if self.body_by_root(&header.root).is_some() {
            return;
        }
        if self.bodies.len() >= MAX_BODIES {
            self.bodies.pop_front();
        }
        self.bodies.push_back((header.root, height, body));
    }

    /// The complete body with this part-set header, if assembled or inserted.
    pub fn body(&self, header: &PartSetHeader) -> Option<&BlockBody> {
        self.body_by_root(&header.root)
    }

    /// The complete body with this part-set root.
    pub fn body_by_root(&self, root: &[u8; 32]) -> Option<&BlockBody> {
        self.bodies
            .iter()
            .find(|(r, _, _)| r == root)
            .map(|(_, _, body)| body)
    }

    /// Forgets everything at or below a committed height: a committed body is in storage, and keeping megabytes
    /// of bodies per height around is what made a loaded validator's memory grow.
    pub fn prune(&mut self, committed: u64) {
        self.sets = self.sets.split_off(&(committed + 1));
        self.vouched = self.vouched.split_off(&(committed + 1));
        self.bodies.retain(|(_, height, _)| *height > committed);
        let mut released = Vec::new();
        for (peer, queue) in std::mem::take(&mut self.unvouched) {
            let (gone, kept): (VecDeque<_>, VecDeque<_>) =
                queue.into_iter().partition(|held| held.height <= committed);
            released.extend(gone.into_iter().map(|held| (held.ticket, peer)));
            if !kept.is_empty() {
                self.unvouched.insert(peer, kept);
            }
        }
        self.unvouched_total = self.unvouched.values().map(VecDeque::len).sum();
        self.released.extend(released);
    }

    /// Bodies held (complete, not yet committed).
    #[cfg(test)]
    pub fn bodies_held(&self) -> usize {
        self.bodies.len()
    }

    /// Unvouched parts held.
    #[cfg(test)]
    pub fn unvouched_held(&self) -> usize {
        self.unvouched_total
    }
}

#[cfg(test)]
#[path = "parts_pool_tests.rs"]
mod tests;
