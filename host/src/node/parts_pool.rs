//! Block bodies being received as parts, bounded so a peer cannot make the node hold unbounded data.

use std::collections::{BTreeMap, HashMap};

use crate::chain::{BlockBody, Part, PartError, PartSetBuilder, PartSetHeader};

/// Part sets tracked per height (more than one only with an equivocating proposer or several rounds).
const MAX_SETS_PER_HEIGHT: usize = 8;

/// What adding a part did.
#[derive(Debug, PartialEq, Eq)]
pub enum PartOutcome {
    /// Stored; the set is not complete yet.
    Added,
    /// Already had it.
    Duplicate,
    /// This part completed the body.
    Completed,
    /// Not tracked (height out of window or too many sets); not the sender's fault.
    Ignored,
}

/// Body parts of proposals being received, by height and part-set root, and the bodies they completed.
pub struct PartsPool {
    part_size: usize,
    max_parts: u32,
    sets: BTreeMap<u64, HashMap<[u8; 32], PartSetBuilder>>,
    /// Complete bodies by part-set root, with the height they were proposed at (pruned by it).
    bodies: HashMap<[u8; 32], (u64, BlockBody)>,
}

impl PartsPool {
    /// A pool for parts of `part_size` bytes and bodies of at most `max_block_bytes`.
    pub fn new(part_size: usize, max_block_bytes: u64) -> Self {
        Self {
            part_size,
            max_parts: (max_block_bytes / part_size as u64 + 1) as u32,
            sets: BTreeMap::new(),
            bodies: HashMap::new(),
        }
    }

    /// Adds a part for a block at `height`; only heights in `[current, current + 2]` are kept.
    pub fn add(
        &mut self,
        current: u64,
        height: u64,
        header: PartSetHeader,
        part: Part,
    ) -> Result<PartOutcome, PartError> {
        if height < current || height > current + 2 {
            return Ok(PartOutcome::Ignored);
        }
        if header.total > self.max_parts {
            return Err(PartError::TooManyParts(header.total));
        }
        if self.bodies.contains_key(&header.root) {
            return Ok(PartOutcome::Duplicate);
        }
        let sets = self.sets.entry(height).or_default();
        if !sets.contains_key(&header.root) && sets.len() >= MAX_SETS_PER_HEIGHT {
            return Ok(PartOutcome::Ignored);
        }
        let builder = match sets.entry(header.root) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(PartSetBuilder::new(header, self.part_size)?)
            }
        };
        if builder.header() != header {
            // Same root, different count: cannot both prove; treat as a bad part.
            return Err(PartError::IndexOutOfRange {
                index: part.index,
                total: builder.header().total,
            });
        }
        if !builder.add(part)? {
            return Ok(PartOutcome::Duplicate);
        }
        match builder.body() {
            None => Ok(PartOutcome::Added),
            Some(Ok(body)) => {
                sets.remove(&header.root);
                self.bodies.insert(header.root, (height, body));
                Ok(PartOutcome::Completed)
            }
            Some(Err(e)) => {
                sets.remove(&header.root);
                Err(e)
            }
        }
    }

    /// Inserts a body known whole (our own proposal, or fetched by sync) for a block at `height`.
    pub fn insert_body(&mut self, height: u64, header: PartSetHeader, body: BlockBody) {
        self.bodies.insert(header.root, (height, body));
    }

    /// The complete body with this part-set header, if assembled or inserted.
    pub fn body(&self, header: &PartSetHeader) -> Option<&BlockBody> {
        self.bodies.get(&header.root).map(|(_, body)| body)
    }

    /// Forgets part sets and bodies at or below a committed height: a committed body is in storage, and
    /// keeping megabytes of bodies per height around is what made a loaded validator's memory grow.
    pub fn prune(&mut self, committed: u64) {
        self.sets = self.sets.split_off(&(committed + 1));
        self.bodies.retain(|_, (height, _)| *height > committed);
    }

    /// Bodies held (complete, not yet committed).
    #[cfg(test)]
    pub fn bodies_held(&self) -> usize {
        self.bodies.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::PartSet;

    #[test]
    fn assembles_bounds_heights_and_rejects_bad_parts() {
        let body = BlockBody::default();
        let set = PartSet::from_body(&body, 1024);
        let mut pool = PartsPool::new(1024, 1 << 20);
        assert_eq!(
            pool.add(5, 9, set.header(), set.parts()[0].clone())
                .unwrap(),
            PartOutcome::Ignored
        );
        assert_eq!(
            pool.add(5, 5, set.header(), set.parts()[0].clone())
                .unwrap(),
            PartOutcome::Completed
        );
        assert_eq!(pool.body(&set.header()), Some(&body));
        let other = PartSet::from_bytes(&[7u8; 3000], 1024);
        let mut bad = other.parts()[1].clone();
        bad.bytes[0] ^= 1;
        assert!(pool.add(5, 6, other.header(), bad).is_err());
        let huge = PartSetHeader {
            total: 10_000,
            root: [1; 32],
        };
        assert!(matches!(
            pool.add(5, 6, huge, other.parts()[0].clone()),
            Err(PartError::TooManyParts(_))
        ));
        pool.insert_body(6, other.header(), body.clone());
        assert_eq!(pool.bodies_held(), 2);
        pool.prune(5);
        assert_eq!(
            pool.bodies_held(),
            1,
            "the height-5 body goes with its height"
        );
        assert!(pool.body(&other.header()).is_some());
        pool.prune(6);
        assert_eq!(pool.bodies_held(), 0);
    }
}
