//! [`RecordBatch`]: the source records of an ingest transaction, in one buffer.
//!
//! The wire form is exactly SCALE's `Vec<Vec<u8>>` (a compact count, then each record as a compact length and its
//! bytes), so the encoding, the transaction hash and the signature are those of a list of byte vectors. Held
//! decoded, a batch is two allocations (the bytes and the record ends) instead of one per record: a node keeps
//! thousands of transactions of hundreds of records each in its mempool and in every block it decodes, where a
//! `Vec` per record spent more on its header and the allocator's overhead than on the record.

use std::fmt;
use std::ops::Range;

use parity_scale_codec::{Compact, Decode, Encode, Error, Input, Output};

/// Source records of an ingest transaction, in order, in one buffer.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RecordBatch {
    /// Every record's bytes, one after the other.
    bytes: Vec<u8>,
    /// Where each record ends in `bytes`; record `i` starts where record `i - 1` ends.
    ends: Vec<u32>,
}

impl RecordBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one record.
    ///
    /// # Panics
    /// If the batch would pass 4 GiB, far above any transaction a node accepts.
    pub fn push(&mut self, record: &[u8]) {
        self.bytes.extend_from_slice(record);
        self.ends
            .push(end_offset(self.bytes.len()).expect("record batch under 4 GiB"));
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Record `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.range(index).map(|r| &self.bytes[r])
    }

    /// The records in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            batch: self,
            front: 0,
            back: self.len(),
        }
    }

    /// Bytes of all records together (without the length prefixes of the encoding).
    pub fn payload_bytes(&self) -> usize {
        self.bytes.len()
    }

    fn range(&self, index: usize) -> Option<Range<usize>> {
        let end = *self.ends.get(index)? as usize;
        let start = match index {
            0 => 0,
            i => self.ends[i - 1] as usize,
        };
        Some(start..end)
    }
}

fn end_offset(len: usize) -> Option<u32> {
    u32::try_from(len).ok()
}

impl<R: AsRef<[u8]>> FromIterator<R> for RecordBatch {
    fn from_iter<I: IntoIterator<Item = R>>(records: I) -> Self {
        let mut batch = Self::new();
        for record in records {
            batch.push(record.as_ref());
        }
        batch
    }
}

impl From<Vec<Vec<u8>>> for RecordBatch {
    fn from(records: Vec<Vec<u8>>) -> Self {
        records.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a RecordBatch {
    type Item = &'a [u8];
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The records of a [`RecordBatch`], in order.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    batch: &'a RecordBatch,
    front: usize,
    back: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        self.batch.get(self.front - 1)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.back - self.front;
        (left, Some(left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.batch.get(self.back)
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl fmt::Debug for RecordBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Encode for RecordBatch {
    fn size_hint(&self) -> usize {
        // Compact lengths take 1-5 bytes; 4 covers records up to 1 GiB without a reallocation in practice.
        5 + 4 * self.len() + self.bytes.len()
    }

    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        Compact(self.len() as u32).encode_to(dest);
        for record in self.iter() {
            Compact(record.len() as u32).encode_to(dest);
            dest.write(record);
        }
    }
}

impl Decode for RecordBatch {
    fn decode<I: Input>(input: &mut I) -> Result<Self, Error> {
        let count = <Compact<u32>>::decode(input)?.0 as usize;
        // The count is not trusted for more than a small reservation, and the input's remaining length not at
        // all: inside a block it is the rest of the block.
        let mut batch = RecordBatch {
            bytes: Vec::new(),
            ends: Vec::with_capacity(count.min(4096)),
        };
        for _ in 0..count {
            let len = <Compact<u32>>::decode(input)?.0 as usize;
            if let Some(left) = input.remaining_len()?
                && len > left
            {
                return Err("record longer than the input".into());
            }
            let start = batch.bytes.len();
            batch.bytes.resize(start + len, 0);
            input.read(&mut batch.bytes[start..])?;
            batch
                .ends
                .push(end_offset(batch.bytes.len()).ok_or("record batch over 4 GiB")?);
        }
        // Growth by doubling leaves up to half the buffer spare; giving it back is an in-place shrink.
        batch.bytes.shrink_to_fit();
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parity_scale_codec::DecodeAll;
    use proptest::prelude::*;

    #[test]
    fn records_come_back_in_order() {
        let batch: RecordBatch = [&b"ab"[..], b"", b"cde"].into_iter().collect();
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.iter().collect::<Vec<_>>(), [&b"ab"[..], b"", b"cde"]);
        assert_eq!(
            batch.iter().rev().collect::<Vec<_>>(),
            [&b"cde"[..], b"", b"ab"]
        );
        assert_eq!(batch.iter().len(), 3);
        assert_eq!(batch.get(2), Some(&b"cde"[..]));
        assert_eq!(batch.get(3), None);
        assert_eq!(batch.payload_bytes(), 5);
        assert!(RecordBatch::new().is_empty());
    }

    #[test]
    fn truncated_or_lying_input_is_an_error_not_an_allocation() {
        // Claims 2^30 records of which none follow.
        let huge_count = Compact(1u32 << 30).encode();
        assert!(RecordBatch::decode_all(&mut &huge_count[..]).is_err());
        // One record claiming 1 GiB with 3 bytes behind it.
        let mut lying = Compact(1u32).encode();
        lying.extend(Compact(1u32 << 30).encode());
        lying.extend([1, 2, 3]);
        assert!(RecordBatch::decode_all(&mut &lying[..]).is_err());
        let mut short = vec![1u8].encode();
        short.truncate(short.len() - 1);
        assert!(RecordBatch::decode_all(&mut &short[..]).is_err());
    }

    proptest! {
        /// The wire form is SCALE's `Vec<Vec<u8>>`, both ways: hashes and signatures depend on it.
        #[test]
        fn encoding_is_that_of_a_list_of_byte_vectors(
            records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..40)
        ) {
            let batch = RecordBatch::from(records.clone());
            let encoded = batch.encode();
            prop_assert_eq!(&encoded, &records.encode());
            prop_assert_eq!(RecordBatch::decode_all(&mut &encoded[..]).unwrap(), batch);
            prop_assert_eq!(Vec::<Vec<u8>>::decode_all(&mut &encoded[..]).unwrap(), records);
        }
    }
}
