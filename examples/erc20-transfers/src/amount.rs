//! [`SignedAmount`]: a 256-bit magnitude with a sign, for net flows that a missing history can leave negative.

use core::fmt;
use manuscript_sdk::U256;
use manuscript_sdk::codec::{Decode, Encode};
use manuscript_sdk::scale_info::TypeInfo;

/// A signed amount in a token's base unit: a sign and a 256-bit magnitude.
///
/// Sign and magnitude rather than two's complement, so every difference of two `uint256` values (a balance now
/// minus a balance before) fits: the range is ±(2²⁵⁶ − 1), where an `int256` stops at 2²⁵⁵. Zero is never
/// negative.
///
/// SCALE encoding (33 bytes): one byte `0x00` (zero or positive) or `0x01` (negative), then the magnitude as
/// `U256` encodes it, 32 bytes little-endian. `-5` is `01 05 00 … 00`.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SignedAmount {
    /// Whether the amount is below zero.
    pub negative: bool,
    /// The absolute value.
    pub magnitude: U256,
}

impl SignedAmount {
    /// Zero.
    pub const ZERO: SignedAmount = SignedAmount {
        negative: false,
        magnitude: U256::zero(),
    };

    /// `value`, as a non-negative amount.
    pub fn positive(value: U256) -> Self {
        SignedAmount {
            negative: false,
            magnitude: value,
        }
    }

    /// `-value` (zero stays non-negative).
    pub fn negative(value: U256) -> Self {
        SignedAmount {
            negative: !value.is_zero(),
            magnitude: value,
        }
    }

    /// `self + value`, or `None` beyond 2²⁵⁶ − 1.
    pub fn checked_add(self, value: U256) -> Option<Self> {
        if !self.negative {
            return self.magnitude.checked_add(value).map(Self::positive);
        }
        Some(if value >= self.magnitude {
            Self::positive(value - self.magnitude)
        } else {
            Self::negative(self.magnitude - value)
        })
    }

    /// `self - value`, or `None` below −(2²⁵⁶ − 1).
    pub fn checked_sub(self, value: U256) -> Option<Self> {
        if self.negative {
            return self.magnitude.checked_add(value).map(Self::negative);
        }
        Some(if self.magnitude >= value {
            Self::positive(self.magnitude - value)
        } else {
            Self::negative(value - self.magnitude)
        })
    }

    /// The amount as an unsigned value, when it is not negative.
    pub fn unsigned(&self) -> Option<U256> {
        (!self.negative).then_some(self.magnitude)
    }
}

impl fmt::Display for SignedAmount {
    /// Decimal, with a leading `-` when negative.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        fmt::Display::fmt(&self.magnitude, f)
    }
}
