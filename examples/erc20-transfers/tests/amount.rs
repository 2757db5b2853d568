//! `SignedAmount`: arithmetic at the edges of its range and the encoding readers decode.

use erc20_transfers::SignedAmount;
use manuscript_sdk::U256;
use manuscript_sdk::codec::{Decode, Encode};

fn pos(v: u64) -> SignedAmount {
    SignedAmount::positive(U256::from(v))
}

fn neg(v: u64) -> SignedAmount {
    SignedAmount::negative(U256::from(v))
}

#[test]
fn adds_and_subtracts_across_zero() {
    let u = U256::from;
    assert_eq!(pos(5).checked_sub(u(8)), Some(neg(3)));
    assert_eq!(neg(3).checked_add(u(3)), Some(SignedAmount::ZERO));
    assert_eq!(neg(3).checked_add(u(10)), Some(pos(7)));
    assert_eq!(neg(3).checked_add(u(1)), Some(neg(2)));
    assert_eq!(neg(3).checked_sub(u(4)), Some(neg(7)));
    assert_eq!(pos(3).checked_sub(u(3)), Some(SignedAmount::ZERO));
    assert_eq!(pos(3).checked_add(u(4)), Some(pos(7)));
    assert!(!SignedAmount::ZERO.checked_sub(u(0)).unwrap().negative);
    assert_eq!(SignedAmount::negative(U256::zero()), SignedAmount::ZERO);
}

#[test]
fn the_range_is_plus_minus_2_256_minus_1() {
    let max = U256::MAX;
    let one = U256::one();
    // Any difference of two uint256 values fits, both ways.
    assert_eq!(
        SignedAmount::ZERO.checked_sub(max),
        Some(SignedAmount::negative(max))
    );
    assert_eq!(
        SignedAmount::negative(max).checked_add(max),
        Some(SignedAmount::ZERO)
    );
    assert_eq!(SignedAmount::positive(max).checked_add(one), None);
    assert_eq!(SignedAmount::negative(max).checked_sub(one), None);
    assert_eq!(
        SignedAmount::positive(max).checked_sub(max),
        Some(SignedAmount::ZERO)
    );
}

#[test]
fn displays_and_converts() {
    assert_eq!(neg(42).to_string(), "-42");
    assert_eq!(pos(42).to_string(), "42");
    assert_eq!(SignedAmount::ZERO.to_string(), "0");
    assert_eq!(pos(42).unsigned(), Some(U256::from(42)));
    assert_eq!(neg(42).unsigned(), None);
}

#[test]
fn encoding_is_a_sign_byte_then_32_little_endian_bytes() {
    let bytes = neg(5).encode();
    assert_eq!(bytes.len(), 33);
    assert_eq!(bytes[..2], [1, 5]);
    assert!(bytes[2..].iter().all(|b| *b == 0));
    let big = SignedAmount::positive(U256::from(1) << 255).encode();
    assert_eq!((big[0], big[32]), (0, 0x80));
    assert_eq!(SignedAmount::decode(&mut &bytes[..]).unwrap(), neg(5));
}
