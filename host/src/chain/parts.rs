//! A block body split into fixed-size parts, each carrying a Merkle proof against the root in the proposed
//! header, so a large block travels as many bounded gossip messages and every part is checked on arrival.

use binary_merkle_tree::{merkle_proof_raw, merkle_root_raw, verify_proof};
use parity_scale_codec::{Decode, DecodeAll, Encode};
use sp_core::Blake2Hasher;
use sp_core::Hasher;

use super::body::BlockBody;

/// The root and count of the parts a block body is split into (CometBFT's `PartSetHeader`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub struct PartSetHeader {
    /// Number of parts.
    pub total: u32,
    /// Merkle root over the parts' hashes.
    pub root: [u8; 32],
}

/// Upper bound on parts per block; with the default part size that is 256 MiB of body.
pub const MAX_PARTS: u32 = 4096;

/// One part: its bytes and the Merkle path from them to `PartSetHeader::root`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Part {
    /// Position in the set, from 0.
    pub index: u32,
    /// The part's slice of the encoded body.
    pub bytes: Vec<u8>,
    /// Merkle path from the part's hash to the root.
    pub proof: Vec<[u8; 32]>,
}

/// Why a part or a set of parts is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum PartError {
    #[error("part index {index} is outside a set of {total} parts")]
    IndexOutOfRange { index: u32, total: u32 },
    #[error("part set of {0} parts exceeds the limit of {MAX_PARTS}")]
    TooManyParts(u32),
    #[error("part {0} is larger than the part size {1}")]
    Oversized(u32, usize),
    #[error("part {0} does not prove against the part-set root")]
    BadProof(u32),
    #[error("assembled parts do not decode as a block body: {0}")]
    Undecodable(String),
}

/// All parts of one body.
#[derive(Clone, Debug)]
pub struct PartSet {
    header: PartSetHeader,
    parts: Vec<Part>,
}

impl PartSet {
    /// Splits SCALE(`body`) into parts of `part_size` bytes (the last may be shorter).
    pub fn from_body(body: &BlockBody, part_size: usize) -> Self {
        Self::from_bytes(&body.encode(), part_size)
    }

    /// Splits `bytes` into parts of `part_size` bytes and builds each part's proof.
    pub fn from_bytes(bytes: &[u8], part_size: usize) -> Self {
        let chunks = chunks(bytes, part_size);
        // Hash every part once; proofs are then built over the 32-byte leaf hashes.
        let leaves: Vec<sp_core::H256> = chunks.iter().map(|c| Blake2Hasher::hash(c)).collect();
        let root = merkle_root_raw::<Blake2Hasher, _>(leaves.iter().copied());
        let total = chunks.len() as u32;
        let parts = chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let proof = merkle_proof_raw::<Blake2Hasher, _>(leaves.iter().copied(), i as u32);
                Part {
                    index: i as u32,
                    bytes: chunk.to_vec(),
                    proof: proof.proof.into_iter().map(|h| h.0).collect(),
                }
            })
            .collect();
        PartSet {
            header: PartSetHeader {
                total,
                root: root.0,
            },
            parts,
        }
    }

    /// The part-set header of `bytes` without building the proofs.
    pub fn header_of(bytes: &[u8], part_size: usize) -> PartSetHeader {
        let chunks = chunks(bytes, part_size);
        let root = merkle_root_raw::<Blake2Hasher, _>(chunks.iter().map(|c| Blake2Hasher::hash(c)));
        PartSetHeader {
            total: chunks.len() as u32,
            root: root.0,
        }
    }

    /// The root and count that go into the block header.
    pub fn header(&self) -> PartSetHeader {
        self.header
    }

    /// The parts, in index order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }
}

fn chunks(bytes: &[u8], part_size: usize) -> Vec<&[u8]> {
    if bytes.is_empty() {
        vec![&[][..]]
    } else {
        bytes.chunks(part_size.max(1)).collect()
    }
}

/// Checks one part against the header of its set.
pub fn verify_part(header: &PartSetHeader, part: &Part, part_size: usize) -> Result<(), PartError> {
    if header.total > MAX_PARTS {
        return Err(PartError::TooManyParts(header.total));
    }
    if part.index >= header.total {
        return Err(PartError::IndexOutOfRange {
            index: part.index,
            total: header.total,
        });
    }
    if part.bytes.len() > part_size {
        return Err(PartError::Oversized(part.index, part_size));
    }
    // binary-merkle-tree hashes leaves and inner nodes alike and does not check the proof's length: without this,
    // an inner node (the 64 bytes of two child hashes) with a shortened proof verifies as a part.
    if part.proof.len() != proof_len(header.total, part.index) {
        return Err(PartError::BadProof(part.index));
    }
    let root = sp_core::H256(header.root);
    let proof = part.proof.iter().map(|h| sp_core::H256(*h));
    if verify_proof::<Blake2Hasher, _, _>(&root, proof, header.total, part.index, &part.bytes) {
        Ok(())
    } else {
        Err(PartError::BadProof(part.index))
    }
}

/// How many sibling hashes the proof of leaf `index` has in a tree of `total` leaves (binary-merkle-tree
/// promotes the last node of an odd row to the next row without a sibling).
fn proof_len(total: u32, index: u32) -> usize {
    let (mut position, mut width, mut len) = (index, total, 0);
    while width > 1 {
        if !(position == width - 1 && width % 2 == 1) {
            len += 1;
        }
        position /= 2;
        width = width.div_ceil(2);
    }
    len
}

/// Collects verified parts until the body is complete.
#[derive(Debug)]
pub struct PartSetBuilder {
    header: PartSetHeader,
    part_size: usize,
    parts: Vec<Option<Vec<u8>>>,
    received: u32,
}

impl PartSetBuilder {
    /// An empty builder for the set `header` announces; refuses sets above [`MAX_PARTS`].
    pub fn new(header: PartSetHeader, part_size: usize) -> Result<Self, PartError> {
        if header.total > MAX_PARTS {
            return Err(PartError::TooManyParts(header.total));
        }
        Ok(Self {
            header,
            part_size,
            parts: vec![None; header.total as usize],
            received: 0,
        })
    }

    /// The set being assembled.
    pub fn header(&self) -> PartSetHeader {
        self.header
    }

    /// Adds a part after checking its proof. Returns whether it was new.
    pub fn add(&mut self, part: Part) -> Result<bool, PartError> {
        verify_part(&self.header, &part, self.part_size)?;
        let slot = &mut self.parts[part.index as usize];
        if slot.is_some() {
            return Ok(false);
        }
        *slot = Some(part.bytes);
        self.received += 1;
        Ok(true)
    }

    /// Whether every part is in.
    pub fn is_complete(&self) -> bool {
        self.received == self.header.total
    }

    /// The decoded body once every part is in.
    pub fn body(&self) -> Option<Result<BlockBody, PartError>> {
        if !self.is_complete() {
            return None;
        }
        let bytes: Vec<u8> = self.parts.iter().flatten().flatten().copied().collect();
        Some(
            BlockBody::decode_all(&mut &bytes[..])
                .map_err(|e| PartError::Undecodable(e.to_string())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_len_matches_the_proofs_built() {
        for total in 1..=70u32 {
            let set = PartSet::from_bytes(&vec![7u8; total as usize], 1);
            for part in set.parts() {
                assert_eq!(
                    part.proof.len(),
                    proof_len(total, part.index),
                    "{total} {}",
                    part.index
                );
            }
        }
    }

    /// Found by the `block_decode` fuzz target: the two child hashes of an inner node, presented as a part with
    /// the proof of its left child minus the first sibling, verified, so a peer could plant 64 bytes of garbage
    /// in a body being assembled.
    #[test]
    fn an_inner_node_is_not_a_part() {
        let bytes = body_bytes(3000);
        let set = PartSet::from_bytes(&bytes, 1024);
        assert_eq!(set.header().total, 3);
        let leaf = |i: usize| Blake2Hasher::hash(&set.parts()[i].bytes).0;
        let mut forged = set.parts()[0].clone();
        forged.bytes = [leaf(0), leaf(1)].concat();
        forged.proof.remove(0);
        assert_eq!(
            verify_part(&set.header(), &forged, 1024),
            Err(PartError::BadProof(0))
        );
        // Two parts: the root itself is the hash of the two leaf hashes, so an empty proof is refused too.
        let set = PartSet::from_bytes(&bytes[..2000], 1024);
        let leaf = |i: usize| Blake2Hasher::hash(&set.parts()[i].bytes).0;
        let forged = Part {
            index: 0,
            bytes: [leaf(0), leaf(1)].concat(),
            proof: Vec::new(),
        };
        assert_eq!(
            verify_part(&set.header(), &forged, 1024),
            Err(PartError::BadProof(0))
        );
        for part in set.parts() {
            assert_eq!(verify_part(&set.header(), part, 1024), Ok(()));
        }
    }

    fn body_bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn every_part_verifies_and_reassembles() {
        let body = BlockBody::default();
        let set = PartSet::from_body(&body, 16);
        let mut builder = PartSetBuilder::new(set.header(), 16).unwrap();
        for part in set.parts() {
            assert!(builder.add(part.clone()).unwrap());
        }
        assert_eq!(builder.body().unwrap().unwrap(), body);

        let bytes = body_bytes(1000);
        let set = PartSet::from_bytes(&bytes, 64);
        assert_eq!(set.header().total, 16);
        for part in set.parts() {
            verify_part(&set.header(), part, 64).unwrap();
        }
    }

    #[test]
    fn header_of_matches_the_full_set() {
        for len in [0, 1, 63, 64, 65, 1000, 4096] {
            let bytes = body_bytes(len);
            assert_eq!(
                PartSet::header_of(&bytes, 64),
                PartSet::from_bytes(&bytes, 64).header()
            );
        }
    }

    #[test]
    fn tampered_part_is_rejected() {
        let set = PartSet::from_bytes(&body_bytes(1000), 64);
        let mut part = set.parts()[3].clone();
        part.bytes[0] ^= 1;
        assert_eq!(
            verify_part(&set.header(), &part, 64),
            Err(PartError::BadProof(3))
        );
        let mut moved = set.parts()[3].clone();
        moved.index = 4;
        assert_eq!(
            verify_part(&set.header(), &moved, 64),
            Err(PartError::BadProof(4))
        );
        let mut out = set.parts()[3].clone();
        out.index = 16;
        assert!(matches!(
            verify_part(&set.header(), &out, 64),
            Err(PartError::IndexOutOfRange { .. })
        ));
        let big = Part {
            index: 0,
            bytes: vec![0; 65],
            proof: vec![],
        };
        assert_eq!(
            verify_part(&set.header(), &big, 64),
            Err(PartError::Oversized(0, 64))
        );
    }

    #[test]
    fn duplicate_part_is_not_counted_twice() {
        let set = PartSet::from_bytes(&body_bytes(200), 64);
        let mut builder = PartSetBuilder::new(set.header(), 64).unwrap();
        assert!(builder.add(set.parts()[0].clone()).unwrap());
        assert!(!builder.add(set.parts()[0].clone()).unwrap());
        assert!(!builder.is_complete());
    }
}
