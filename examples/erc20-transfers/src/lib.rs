//! # erc20-transfers
//!
//! Example manuscript over Ethereum logs (manifest slot `ethereum.logs`): records every ERC-20
//! `Transfer(address,address,uint256)` and keeps, per token, each holder's net flow and the token's net minted
//! amount. Three datasets:
//!
//! - `transfers`: key [`transfer_key`]`(block_number, log_index)` (big-endian, so keys sort in chain order),
//!   value [`Transfer`]. Every transfer is recorded: it is a fact of the source, whatever came before it. The
//!   dataset is append-only (each record is written once, in the block that ingests its log), so the chain
//!   commits each block's transfers as one tree rather than one trie leaf per transfer.
//! - `balances`: key `(token, holder)`, value [`BalanceRecord`]: received minus sent since block `since`.
//! - `supply`: key `token`, value [`SupplyRecord`]: minted minus burned since block `since`.
//!
//! ## What a balance means when the source starts mid-chain
//! A source registered at block N never shows the chain before N, so a holder's balance at N is unknown. Instead
//! of a balance, the manuscript keeps what the logs it saw do establish: the **net flow** since the first block
//! it processed a transfer from, recorded as `since` in every `balances` and `supply` record. A holder that only
//! sent tokens since then has a negative net flow ([`SignedAmount`]). When `since` is at or before a token's
//! deployment (the source starts before the token exists), nothing is missing: net flows are the holders'
//! `balanceOf` and the net minted amount is `totalSupply()`. No invocation fails for want of history.
//!
//! ## What is skipped, and the one arithmetic limit
//! Skipped: logs that are not a `Transfer`, ERC-721 transfers (4 topics: the token id is indexed) and malformed
//! transfers (data not 32 bytes). A mint (`from` = zero address) credits without debiting and raises the net
//! minted amount; a burn (`to` = zero address) debits without crediting and lowers it; the zero address is not a
//! holder. A contract whose logs are not a `uint256` ledger can push a net flow or the net minted amount beyond
//! ±(2²⁵⁶ − 1), which no real token can: such a transfer is still recorded in `transfers`, leaves `balances` and
//! `supply` as they were, and is reported by a warning log naming the token.
#![no_std]

extern crate alloc;

mod amount;
mod records;

pub use amount::SignedAmount;
pub use manuscript_sdk::sources::TRANSFER_TOPIC;
pub use records::{
    BALANCES, BalanceRecord, SUPPLY, StateKey, SupplyRecord, TRANSFERS, Transfer,
    parse_transfer_key, transfer_key,
};

use manuscript_sdk::prelude::*;
use manuscript_sdk::sources::{ZERO_ADDRESS, topic_to_address};

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
    datasets(
        "transfers": [u8; 12] => Transfer,
        "balances": (Address, Address) => BalanceRecord,
        "supply": Address => SupplyRecord,
    ),
    append_only("transfers")
)]
fn process(ctx: &mut Context, log: EthLog) -> Result<(), Error> {
    let Some(transfer) = decode_transfer(&log) else {
        return Ok(());
    };
    ctx.emit(
        TRANSFERS,
        &transfer_key(log.block_number, log.log_index),
        &transfer,
    );
    // Everything is computed before anything is written, so a transfer either counts in full or not at all.
    let Some(update) = Update::compute(ctx, &transfer, log.block_number)? else {
        ctx.warn(format_args!(
            "transfer at block {} log {} takes an amount of token {} beyond ±(2^256 - 1): recorded, not counted",
            log.block_number,
            log.log_index,
            Hex(&transfer.token)
        ));
        return Ok(());
    };
    update.write(ctx, &transfer);
    Ok(())
}

/// The records one transfer changes, computed from state before any is written.
struct Update {
    /// Set when this is the first transfer processed: the `since` of every record.
    first_since: Option<u64>,
    token: SupplyRecord,
    /// The sender's record; for a self-transfer, the holder's only one.
    from: Option<BalanceRecord>,
    /// The recipient's record, unless it is the sender.
    to: Option<BalanceRecord>,
}

impl Update {
    /// `Ok(None)` when an amount would leave the ±(2²⁵⁶ − 1) range.
    fn compute(ctx: &Context, t: &Transfer, block: u64) -> Result<Option<Update>, Error> {
        let (mut token, first_since) =
            match ctx.get::<_, SupplyRecord>(&StateKey::Token(t.token))? {
                Some(record) => (record, None),
                None => {
                    let (since, first) = match ctx.get::<_, u64>(&StateKey::Since)? {
                        Some(since) => (since, None),
                        None => (block, Some(block)),
                    };
                    let record = SupplyRecord {
                        since,
                        ..SupplyRecord::default()
                    };
                    (record, first)
                }
            };
        token.transfers += 1;
        let (mint, burn) = (t.from == ZERO_ADDRESS, t.to == ZERO_ADDRESS);
        if mint && !burn {
            let Some(net) = token.net_minted.checked_add(t.value) else {
                return Ok(None);
            };
            token.net_minted = net;
        } else if burn && !mint {
            let Some(net) = token.net_minted.checked_sub(t.value) else {
                return Ok(None);
            };
            token.net_minted = net;
        }

        let holder = |address: Address| -> Result<BalanceRecord, Error> {
            let mut record = ctx
                .get::<_, BalanceRecord>(&StateKey::Balance(t.token, address))?
                .unwrap_or_else(|| BalanceRecord {
                    since: token.since,
                    ..BalanceRecord::default()
                });
            record.transfers += 1;
            Ok(record)
        };
        let from = if mint {
            None
        } else {
            let mut record = holder(t.from)?;
            if t.from != t.to {
                let Some(net) = record.net_flow.checked_sub(t.value) else {
                    return Ok(None);
                };
                record.net_flow = net;
            }
            Some(record)
        };
        let to = if burn || t.to == t.from {
            None
        } else {
            let mut record = holder(t.to)?;
            let Some(net) = record.net_flow.checked_add(t.value) else {
                return Ok(None);
            };
            record.net_flow = net;
            Some(record)
        };
        Ok(Some(Update {
            first_since,
            token,
            from,
            to,
        }))
    }

    fn write(self, ctx: &mut Context, t: &Transfer) {
        if let Some(since) = self.first_since {
            ctx.set(&StateKey::Since, &since);
        }
        ctx.set(&StateKey::Token(t.token), &self.token);
        ctx.emit(SUPPLY, &t.token, &self.token);
        for (holder, record) in [(t.from, self.from), (t.to, self.to)] {
            if let Some(record) = record {
                ctx.set(&StateKey::Balance(t.token, holder), &record);
                ctx.emit(BALANCES, &(t.token, holder), &record);
            }
        }
    }
}
