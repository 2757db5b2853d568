//! `cvm::emit(ds_ptr, ds_len, key_ptr, key_len, val_ptr, val_len)`: emits a record into a declared dataset.

use super::guest_memory::{check_len, memory, slice};
use super::host_state::{Ctx, EmittedRecord};
use super::metering::charge_cost;
use super::trap::HostTrap;
use crate::overlay::{APPENDED_PREFIX, overlay_key};
use crate::state::record_key_parts;

/// Writes the record into the manuscript's child trie (dropped if the invocation fails) and, when the runner
/// keeps records, into the invocation's result. A record of an append-only dataset goes to the block's appended
/// records instead (one tree per dataset at the end of the block); repeating a key already appended in this block
/// traps.
pub(super) fn emit(
    mut caller: Ctx<'_>,
    ds_ptr: i32,
    ds_len: i32,
    key_ptr: i32,
    key_len: i32,
    val_ptr: i32,
    val_len: i32,
) -> wasmtime::Result<()> {
    let bytes = [ds_len, key_len, val_len]
        .iter()
        .map(|l| *l as u32 as u64)
        .sum();
    charge_cost(&mut caller, "emit", |f| f.emit, bytes)?;
    let limits = caller.data().limits.clone();
    check_len(ds_len, limits.max_dataset_name_len, "dataset name")?;
    check_len(key_len, limits.max_key_len, "record key")?;
    check_len(val_len, limits.max_value_len, "record value")?;
    if caller.data().emitted_count >= limits.max_emits_per_invocation {
        return Err(HostTrap::TooManyEmits(limits.max_emits_per_invocation).into());
    }
    // Straight from guest memory: a record costs the two allocations the overlay keeps (its trie key
    // and value), plus a copy only when the caller asked for the records themselves.
    let mem = memory(&caller)?.data(&caller);
    let name = slice(mem, ds_ptr, ds_len, "dataset name")?;
    let Some(declared) = caller
        .data()
        .datasets
        .iter()
        .find(|d| d.name.as_bytes() == name)
    else {
        let name = std::str::from_utf8(name).unwrap_or("<invalid utf-8>");
        return Err(HostTrap::UndeclaredDataset(name.into()).into());
    };
    let key = slice(mem, key_ptr, key_len, "record key")?;
    let value = slice(mem, val_ptr, val_len, "record value")?.to_vec();
    let dataset = &declared.name;
    let trie_key = if declared.append_only {
        let appended = overlay_key(&[APPENDED_PREFIX, dataset.as_bytes(), b"/", key]);
        if caller.data().state.written_in_block(&appended) {
            return Err(HostTrap::DuplicateAppend {
                dataset: dataset.clone(),
                key: hex::encode(key),
            }
            .into());
        }
        appended
    } else {
        overlay_key(&record_key_parts(dataset, key))
    };
    let kept = caller.data().keep_emitted.then(|| EmittedRecord {
        dataset: dataset.clone(),
        key: key.to_vec(),
        value: value.clone(),
    });
    let data = caller.data_mut();
    data.state.set(trie_key, value);
    data.emitted_count += 1;
    data.emitted.extend(kept);
    Ok(())
}
