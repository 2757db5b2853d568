//! # token-volume
//!
//! Example aggregation manuscript over `ethereum.logs`: the hourly transfer volume of each
//! ERC-20 token. For every ERC-20 `Transfer` (3 topics, 32-byte data, not `removed`) it adds the
//! value to the bucket `(token, hour)` where `hour = timestamp / 3600`, keeps the bucket in state
//! and emits it to the `hourly_volume` dataset under the same key, so the dataset always holds the
//! latest total of each bucket.
//!
//! The timestamp is the log's `block_timestamp` (seconds); logs without one fall back to the
//! executing block's header time (`ctx.block().time_ms / 1000`).
//!
//! Key: [`bucket_key`] = token (20 bytes) ++ hour (big-endian u64), so buckets of a token sort by
//! time and `iter_prefix(&token)` walks a token's history. Value: [`HourlyVolume`].
#![no_std]

use manuscript_sdk::prelude::*;

/// `keccak256("Transfer(address,address,uint256)")`.
pub const TRANSFER_TOPIC: Hash32 = [
    0xdd, 0xf2, 0x52, 0xad, 0x1b, 0xe2, 0xc8, 0x9b, 0x69, 0xc2, 0xb0, 0x68, 0xfc, 0x37, 0x8d, 0xaa,
    0x95, 0x2b, 0xa7, 0xf1, 0x63, 0xc4, 0xa1, 0x16, 0x28, 0xf5, 0x5a, 0x4d, 0xf5, 0x23, 0xb3, 0xef,
];

/// The dataset (and state) of hourly buckets.
pub const HOURLY_VOLUME: &str = "hourly_volume";

/// Seconds per bucket.
pub const BUCKET_SECONDS: u64 = 3600;

/// One token's transfers within one hour.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
pub struct HourlyVolume {
    /// Sum of transferred values (mints and burns included).
    pub volume: U256,
    /// Number of transfers.
    pub transfers: u64,
}

/// The key of a bucket: `(token, hour big-endian)`.
pub fn bucket_key(token: &Address, hour: u64) -> (Address, [u8; 8]) {
    (*token, hour.to_be_bytes())
}

/// The ERC-20 `(token, value)` a log transfers, if it is an ERC-20 `Transfer`.
pub fn erc20_value(log: &EthLog) -> Option<U256> {
    let is_transfer =
        log.topics.len() == 3 && log.topics[0] == TRANSFER_TOPIC && log.data.len() == 32;
    is_transfer.then(|| U256::from_big_endian(&log.data))
}

#[manuscript(
    name = "token-volume",
    sources("ethereum.logs"),
    datasets("hourly_volume")
)]
fn process(ctx: &mut Context, log: EthLog) -> Result<(), Error> {
    let Some(value) = erc20_value(&log) else {
        return Ok(());
    };
    let seconds = log.block_timestamp;
    let key = bucket_key(&log.address, seconds / BUCKET_SECONDS);
    let mut bucket: HourlyVolume = ctx.get(&key)?.unwrap_or_default();
    let Some(volume) = bucket.volume.checked_add(value) else {
        bail!("hourly volume of token {} overflows", Hex(&log.address));
    };
    bucket.volume = volume;
    bucket.transfers += 1;
    ctx.set(&key, &bucket);
    ctx.emit(HOURLY_VOLUME, &key, &bucket);
    Ok(())
}
