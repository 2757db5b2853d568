//! # token-volume
//!
//! Example aggregation manuscript over Ethereum logs (manifest slot `ethereum.logs`): the hourly transfer
//! volume of each ERC-20 token. For every ERC-20 `Transfer` (3 topics, 32-byte data) it adds the value to the
//! bucket `(token, hour)` where `hour = block_timestamp / 3600` (the source block's time, not the CVM block's),
//! keeps the bucket in state and emits it to the `hourly_volume` dataset under the same key, so the dataset
//! always holds the latest total of each bucket.
//!
//! Key: [`bucket_key`] = token (20 bytes) ++ hour (big-endian u64), so buckets of a token sort by
//! time and `iter_prefix(&token)` walks a token's history. Value: [`HourlyVolume`].
#![no_std]

use manuscript_sdk::prelude::*;

pub use manuscript_sdk::sources::TRANSFER_TOPIC;

/// The dataset (and state) of hourly buckets.
pub const HOURLY_VOLUME: &str = "hourly_volume";

/// Seconds per bucket.
pub const BUCKET_SECONDS: u64 = 3600;

/// One token's transfers within one hour.
#[derive(Encode, Decode, TypeInfo, Clone, Debug, PartialEq, Eq, Default)]
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
    datasets("hourly_volume": (Address, [u8; 8]) => HourlyVolume)
)]
fn process(ctx: &mut Context, log: EthLog) -> Result<(), Error> {
    let Some(value) = erc20_value(&log) else {
        return Ok(());
    };
    let key = bucket_key(&log.address, log.block_timestamp / BUCKET_SECONDS);
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
