//! What erc20-transfers writes: the dataset records, their keys, and the state layout.

use crate::amount::SignedAmount;
use manuscript_sdk::prelude::*;

/// Dataset of individual transfers.
pub const TRANSFERS: &str = "transfers";
/// Dataset of each holder's net flow per token.
pub const BALANCES: &str = "balances";
/// Dataset of each token's net minted amount.
pub const SUPPLY: &str = "supply";

/// One ERC-20 transfer, the value of a `transfers` record.
#[derive(Encode, Decode, TypeInfo, Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// Token contract.
    pub token: Address,
    /// Sender (zero for a mint).
    pub from: Address,
    /// Recipient (zero for a burn).
    pub to: Address,
    /// Amount in the token's base unit.
    pub value: U256,
    /// Transaction that emitted the log.
    pub transaction_hash: Hash32,
}

/// The value of a `balances` record, keyed by `(token, holder)`; also what state keeps under
/// [`StateKey::Balance`].
#[derive(Encode, Decode, TypeInfo, Clone, Debug, PartialEq, Eq, Default)]
pub struct BalanceRecord {
    /// Received minus sent by the holder, counting every transfer of the token from block `since` on. When
    /// `since` is at or before the token's deployment this is the holder's balance (`balanceOf`); otherwise it
    /// is the change of that balance since block `since`, which is negative for a holder that sent more than it
    /// received.
    pub net_flow: SignedAmount,
    /// Transfers of the token the holder took part in, from block `since` on (a self-transfer counts once).
    pub transfers: u64,
    /// The first source block this manuscript processed a transfer from (of any token).
    pub since: u64,
}

/// The value of a `supply` record, keyed by the token's address; also what state keeps under
/// [`StateKey::Token`].
#[derive(Encode, Decode, TypeInfo, Clone, Debug, PartialEq, Eq, Default)]
pub struct SupplyRecord {
    /// Minted (transfers from the zero address) minus burned (transfers to it), from block `since` on. When
    /// `since` is at or before the token's deployment this is its `totalSupply()`, for a token that logs its
    /// mints and burns as transfers from and to the zero address; otherwise it is the change of the supply since
    /// block `since`.
    pub net_minted: SignedAmount,
    /// Transfers of the token from block `since` on.
    pub transfers: u64,
    /// As [`BalanceRecord::since`].
    pub since: u64,
}

/// State layout. SCALE encodes the variant index as one byte, then the fields, so
/// `(BALANCE_TAG, token)` is a prefix of every holder key of a token.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub enum StateKey {
    /// `(token, holder)` → [`BalanceRecord`].
    #[codec(index = 0)]
    Balance(Address, Address),
    /// `token` → [`SupplyRecord`].
    #[codec(index = 1)]
    Token(Address),
    /// → `u64`, the `since` block of every record, set by the first transfer processed.
    #[codec(index = 2)]
    Since,
}

impl StateKey {
    /// The variant index of [`StateKey::Balance`], for prefix iteration: `(BALANCE_TAG, token)`.
    pub const BALANCE_TAG: u8 = 0;
}

/// Key of a `transfers` record: block number then log index, both big-endian.
pub fn transfer_key(block_number: u64, log_index: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&block_number.to_be_bytes());
    key[8..].copy_from_slice(&log_index.to_be_bytes());
    key
}

/// Inverse of [`transfer_key`].
pub fn parse_transfer_key(key: &[u8; 12]) -> (u64, u32) {
    let mut block = [0u8; 8];
    block.copy_from_slice(&key[..8]);
    let mut index = [0u8; 4];
    index.copy_from_slice(&key[8..]);
    (u64::from_be_bytes(block), u32::from_be_bytes(index))
}
