//! [`EthBlockData`]: one Ethereum block in the form a node stores (content-addressed by its hash) and serves
//! to peers. Nothing in it is trusted: [`super::verify_block`] checks every part against the header, and data
//! from a peer is decoded within [`SourceBlockLimits`] ([`EthBlockData::decode_bounded`]) before anything else.

use alloy_primitives::keccak256;
use parity_scale_codec::{Compact, Decode, Encode, Error as CodecError, Input};

/// Largest source block, in encoded bytes, a node takes from a peer. A mainnet block's header, transactions and
/// receipts take a few hundred KB; calldata at 16 gas a byte and log data at 8 gas a byte keep even a block
/// filled with nothing else to a few MB at today's gas limits (36M gas: 4.5 MB of log data at most).
pub const MAX_SOURCE_BLOCK_BYTES: usize = 8 * 1024 * 1024;

/// Most transactions (and so receipts) a source block taken from a peer may have: a transaction costs at least
/// 21,000 gas, so a 36M-gas block holds at most 1,714, and this leaves room for gas limits ten times higher.
pub const MAX_SOURCE_BLOCK_TXS: u32 = 16_384;

/// What a source block decoded from a peer may hold; checked while decoding, before anything is allocated for
/// a part above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceBlockLimits {
    /// Bytes of header, transactions and receipts together ([`EthBlockData::size`]).
    pub max_bytes: usize,
    /// Transactions, and receipts.
    pub max_txs: u32,
}

impl Default for SourceBlockLimits {
    /// [`MAX_SOURCE_BLOCK_BYTES`] and [`MAX_SOURCE_BLOCK_TXS`].
    fn default() -> Self {
        SourceBlockLimits {
            max_bytes: MAX_SOURCE_BLOCK_BYTES,
            max_txs: MAX_SOURCE_BLOCK_TXS,
        }
    }
}

/// One Ethereum block's header, transactions and receipts, each in its canonical encoding.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct EthBlockData {
    /// The header's RLP; its keccak-256 is the block hash.
    pub header_rlp: Vec<u8>,
    /// Each transaction's EIP-2718 encoding (a legacy transaction's RLP list as is), in block order.
    pub transactions: Vec<Vec<u8>>,
    /// Each receipt's EIP-2718 encoding (with its bloom), in transaction order; `None` when only the header
    /// and transactions are known.
    pub receipts: Option<Vec<Vec<u8>>>,
}

/// Why a source block from a peer is refused before it is decoded in full (the codec's errors are static).
const TOO_LARGE: &str =
    "source block above the byte limit (MAX_SOURCE_BLOCK_BYTES, 8 MiB); refused unread";
const TOO_MANY: &str =
    "source block with more transactions or receipts than MAX_SOURCE_BLOCK_TXS (16,384)";

/// Reads SCALE byte strings while counting them against one block's byte budget.
struct Bounded {
    left: usize,
}

impl Bounded {
    fn bytes<I: Input>(&mut self, input: &mut I) -> Result<Vec<u8>, CodecError> {
        let len = Compact::<u32>::decode(input)?.0 as usize;
        if len > self.left {
            return Err(TOO_LARGE.into());
        }
        if input.remaining_len()?.is_some_and(|rest| rest < len) {
            return Err("source block truncated".into());
        }
        self.left -= len;
        let mut out = vec![0; len];
        input.read(&mut out)?;
        Ok(out)
    }

    fn list<I: Input>(&mut self, input: &mut I, max: u32) -> Result<Vec<Vec<u8>>, CodecError> {
        let count = Compact::<u32>::decode(input)?.0;
        if count > max {
            return Err(TOO_MANY.into());
        }
        // Every item takes at least its one-byte length prefix, which the budget does not count: the count bound
        // is what keeps a list of empty items small.
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            out.push(self.bytes(input)?);
        }
        Ok(out)
    }
}

impl EthBlockData {
    /// The block hash the header claims to be (keccak-256 of its RLP); unverified until the rest is checked.
    pub fn hash(&self) -> [u8; 32] {
        keccak256(&self.header_rlp).0
    }

    /// Bytes held: what a cache or a response limit counts.
    pub fn size(&self) -> usize {
        self.header_rlp.len()
            + self.transactions.iter().map(Vec::len).sum::<usize>()
            + self.receipts.iter().flatten().map(Vec::len).sum::<usize>()
    }

    /// Decodes one block as [`Decode`] does, refusing it as soon as it is above `limits`: every length is
    /// checked before its part is allocated. For data from a stranger.
    pub fn decode_bounded<I: Input>(
        input: &mut I,
        limits: SourceBlockLimits,
    ) -> Result<Self, CodecError> {
        let mut bounded = Bounded {
            left: limits.max_bytes,
        };
        let header_rlp = bounded.bytes(input)?;
        let transactions = bounded.list(input, limits.max_txs)?;
        let receipts = match input.read_byte()? {
            0 => None,
            1 => Some(bounded.list(input, limits.max_txs)?),
            _ => return Err("source block: invalid receipts option tag".into()),
        };
        Ok(EthBlockData {
            header_rlp,
            transactions,
            receipts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(txs: usize, tx_bytes: usize) -> EthBlockData {
        EthBlockData {
            header_rlp: vec![0xc0; 500],
            transactions: vec![vec![7; tx_bytes]; txs],
            receipts: Some(vec![vec![1; 10]; txs]),
        }
    }

    const SMALL: SourceBlockLimits = SourceBlockLimits {
        max_bytes: 10_000,
        max_txs: 8,
    };

    #[test]
    fn a_block_within_the_limits_decodes_as_scale_does() {
        for data in [
            block(8, 1_000),
            block(0, 0),
            EthBlockData {
                receipts: None,
                ..block(3, 5)
            },
        ] {
            let bytes = data.encode();
            let got =
                EthBlockData::decode_bounded(&mut &bytes[..], SMALL).expect("within the limits");
            assert_eq!(got, data);
            assert_eq!(got, EthBlockData::decode(&mut &bytes[..]).expect("scale"));
        }
    }

    #[test]
    fn a_block_above_the_byte_limit_is_refused_naming_the_limit() {
        // 8 transactions of 1,200 bytes: 9,600 + 500 header + 80 receipt bytes > 10,000.
        let bytes = block(8, 1_200).encode();
        let error = EthBlockData::decode_bounded(&mut &bytes[..], SMALL).expect_err("too large");
        assert!(
            error.to_string().contains("MAX_SOURCE_BLOCK_BYTES"),
            "{error}"
        );
        // One huge length prefix alone is refused before allocating it.
        let mut claim = Compact(u32::MAX).encode();
        claim.extend_from_slice(&[0; 4]);
        let error = EthBlockData::decode_bounded(&mut &claim[..], SourceBlockLimits::default())
            .expect_err("a 4 GiB header");
        assert!(error.to_string().contains("byte limit"), "{error}");
    }

    #[test]
    fn a_block_with_too_many_transactions_or_receipts_is_refused() {
        let bytes = block(9, 1).encode();
        let error =
            EthBlockData::decode_bounded(&mut &bytes[..], SMALL).expect_err("9 transactions");
        assert!(
            error.to_string().contains("MAX_SOURCE_BLOCK_TXS"),
            "{error}"
        );
        // Millions of empty transactions, each one byte on the wire: refused at the count.
        let mut many = vec![0u8]; // empty header
        many.extend(Compact(4_000_000u32).encode());
        many.extend(vec![0u8; 4_000_000]);
        many.push(0);
        let error = EthBlockData::decode_bounded(&mut &many[..], SourceBlockLimits::default())
            .expect_err("4M empty transactions");
        assert!(
            error.to_string().contains("MAX_SOURCE_BLOCK_TXS"),
            "{error}"
        );
        let receipts = EthBlockData {
            receipts: Some(vec![vec![]; 9]),
            ..block(1, 1)
        }
        .encode();
        assert!(EthBlockData::decode_bounded(&mut &receipts[..], SMALL).is_err());
    }

    #[test]
    fn a_truncated_block_or_a_bad_option_tag_is_refused() {
        let bytes = block(2, 100).encode();
        assert!(EthBlockData::decode_bounded(&mut &bytes[..bytes.len() - 1], SMALL).is_err());
        let mut tag = block(0, 0).encode();
        let last = tag.len() - 2; // receipts: Some(empty) = [1, 0]
        tag[last] = 2;
        let error = EthBlockData::decode_bounded(&mut &tag[..], SMALL).expect_err("tag 2");
        assert!(error.to_string().contains("option tag"), "{error}");
    }
}
