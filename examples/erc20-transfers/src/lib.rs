//! # erc20-transfers
//!
//! Example manuscript over `ethereum.logs`: decodes ERC-20 `Transfer(address,address,uint256)`
//! logs and keeps, in state, each holder's balance per token plus transfer counts per token and
//! per holder (see [`StateKey`]). It emits two datasets:
//!
//! - `transfers`: key [`transfer_key`]`(block_number, log_index)` (big-endian, so keys sort in chain
//!   order), value [`Transfer`];
//! - `balances`: key `(token, holder)`, value [`BalanceRecord`] — the holder's latest balance.
//!
//! Skipped: logs that are not a `Transfer`, ERC-721 transfers (4 topics: the token id is
//! indexed), malformed transfers (data not 32 bytes) and `removed` logs. A mint (`from` = zero
//! address) credits without debiting; a burn (`to` = zero address) debits without crediting; both
//! move the token's [`StateKey::Supply`]. A debit larger than the balance fails the invocation.
#![no_std]

extern crate alloc;

use manuscript_sdk::prelude::*;
use manuscript_sdk::sources::{ZERO_ADDRESS, topic_to_address};

/// `keccak256("Transfer(address,address,uint256)")`.
pub const TRANSFER_TOPIC: Hash32 = [
    0xdd, 0xf2, 0x52, 0xad, 0x1b, 0xe2, 0xc8, 0x9b, 0x69, 0xc2, 0xb0, 0x68, 0xfc, 0x37, 0x8d, 0xaa,
    0x95, 0x2b, 0xa7, 0xf1, 0x63, 0xc4, 0xa1, 0x16, 0x28, 0xf5, 0x5a, 0x4d, 0xf5, 0x23, 0xb3, 0xef,
];

/// Dataset of individual transfers.
pub const TRANSFERS: &str = "transfers";
/// Dataset of latest balances.
pub const BALANCES: &str = "balances";

/// One ERC-20 transfer, the value of a `transfers` record.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq)]
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

/// The value of a `balances` record, keyed by `(token, holder)`.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
pub struct BalanceRecord {
    /// Balance after the transfer.
    pub balance: U256,
    /// Transfers the holder took part in, for this token.
    pub transfers: u64,
}

/// State layout. SCALE encodes the variant index as one byte, then the fields, so
/// `(index, token)` is a prefix of every per-holder key of a token.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub enum StateKey {
    /// `(token, holder)` → `U256` balance.
    #[codec(index = 0)]
    Balance(Address, Address),
    /// `token` → `u64` number of transfers of the token.
    #[codec(index = 1)]
    TokenTransfers(Address),
    /// `(token, holder)` → `u64` number of transfers the holder took part in.
    #[codec(index = 2)]
    HolderTransfers(Address, Address),
    /// `token` → `U256` minted minus burned.
    #[codec(index = 3)]
    Supply(Address),
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

/// The ERC-20 transfer a log carries, if it is one (see the crate docs for what is skipped).
pub fn decode_transfer(log: &EthLog) -> Option<Transfer> {
    if log.topics.len() != 3 || log.topics[0] != TRANSFER_TOPIC || log.data.len() != 32 {
        return None;
    }
    Some(Transfer {
        token: log.address,
        from: topic_to_address(&log.topics[1]),
        to: topic_to_address(&log.topics[2]),
        value: U256::from_big_endian(&log.data),
        transaction_hash: log.transaction_hash,
    })
}

#[manuscript(
    name = "erc20-transfers",
    sources("ethereum.logs"),
    datasets("transfers", "balances")
)]
fn process(ctx: &mut Context, log: EthLog) -> Result<(), Error> {
    let Some(transfer) = decode_transfer(&log) else {
        return Ok(());
    };
    let token = transfer.token;
    let supply_key = StateKey::Supply(token);
    let supply: U256 = ctx.get(&supply_key)?.unwrap_or_default();

    if transfer.from == ZERO_ADDRESS {
        let Some(new_supply) = supply.checked_add(transfer.value) else {
            bail!("supply of token {} overflows", Hex(&token));
        };
        ctx.set(&supply_key, &new_supply);
    } else {
        debit(ctx, &transfer, log.block_number, log.log_index)?;
    }
    if transfer.to == ZERO_ADDRESS {
        // Burn: the supply shrinks (mint-and-burn in one log leaves it unchanged).
        let supply: U256 = ctx.get(&supply_key)?.unwrap_or_default();
        let Some(new_supply) = supply.checked_sub(transfer.value) else {
            bail!("burn exceeds the supply of token {}", Hex(&token));
        };
        ctx.set(&supply_key, &new_supply);
    } else {
        credit(ctx, &transfer)?;
    }

    let count_key = StateKey::TokenTransfers(token);
    let count: u64 = ctx.get(&count_key)?.unwrap_or_default();
    ctx.set(&count_key, &(count + 1));
    ctx.emit(
        TRANSFERS,
        &transfer_key(log.block_number, log.log_index),
        &transfer,
    );
    Ok(())
}

/// Subtracts the value from the sender; an insufficient balance fails the invocation.
fn debit(ctx: &mut Context, t: &Transfer, block: u64, log_index: u32) -> Result<(), Error> {
    let key = StateKey::Balance(t.token, t.from);
    let balance: U256 = ctx.get(&key)?.unwrap_or_default();
    let Some(new_balance) = balance.checked_sub(t.value) else {
        bail!(
            "insufficient balance: {} holds {} of token {}, transfer of {} at block {} log {}",
            Hex(&t.from),
            balance,
            Hex(&t.token),
            t.value,
            block,
            log_index
        );
    };
    update_holder(ctx, t.token, t.from, key, new_balance, true)
}

/// Adds the value to the recipient.
fn credit(ctx: &mut Context, t: &Transfer) -> Result<(), Error> {
    let key = StateKey::Balance(t.token, t.to);
    let balance: U256 = ctx.get(&key)?.unwrap_or_default();
    let Some(new_balance) = balance.checked_add(t.value) else {
        bail!(
            "balance of {} in token {} overflows",
            Hex(&t.to),
            Hex(&t.token)
        );
    };
    // A self-transfer counts once for its holder.
    update_holder(ctx, t.token, t.to, key, new_balance, t.from != t.to)
}

fn update_holder(
    ctx: &mut Context,
    token: Address,
    holder: Address,
    balance_key: StateKey,
    balance: U256,
    count_transfer: bool,
) -> Result<(), Error> {
    ctx.set(&balance_key, &balance);
    let count_key = StateKey::HolderTransfers(token, holder);
    let mut transfers = ctx.get::<_, u64>(&count_key)?.unwrap_or_default();
    if count_transfer {
        transfers += 1;
        ctx.set(&count_key, &transfers);
    }
    ctx.emit(
        BALANCES,
        &(token, holder),
        &BalanceRecord { balance, transfers },
    );
    Ok(())
}
