//! A deploy transaction: compile and check the code, then record the manuscript, its code and its
//! subscriptions in the main trie.

use parity_scale_codec::Encode;

use super::block_state::BlockState;
use super::error::ExecError;
use crate::cache::CompiledManuscript;
use crate::engine::CvmEngine;
use crate::receipt::TxStatus;
use crate::state::{ManuscriptMeta, code_key, empty_root, manuscript_key, source_key};

/// The deploy's receipt status: `Deployed`, or `Failed` with a reason for the deployer.
pub(super) fn deploy(
    engine: &CvmEngine,
    block: &mut BlockState,
    height: u64,
    deployer: &[u8; 32],
    wasm: &[u8],
    fuel_limit_per_record: u64,
) -> Result<TxStatus, ExecError> {
    if let Err(reason) = check_fuel_limit(engine, fuel_limit_per_record) {
        return Ok(TxStatus::Failed { reason });
    }
    let compiled = match engine.load(wasm) {
        Ok(compiled) => compiled,
        Err(e) => {
            return Ok(TxStatus::Failed {
                reason: format!("manuscript rejected: {e}"),
            });
        }
    };
    if let Err(reason) = check_name_free(block, &compiled)? {
        return Ok(TxStatus::Failed { reason });
    }
    let meta = ManuscriptMeta {
        name: compiled.manifest.name.clone(),
        code_hash: compiled.code_hash,
        sources: compiled.manifest.sources.clone(),
        datasets: compiled.manifest.datasets.clone(),
        fuel_limit_per_record,
        child_root: empty_root().to_fixed_bytes(),
        deployed_at: height,
        deployer: *deployer,
    };
    record_manuscript(block, wasm, &meta)?;
    Ok(TxStatus::Deployed {
        manuscript: meta.name,
        code_hash: compiled.code_hash,
    })
}

/// The per-record fuel limit must be positive and within the engine's maximum.
fn check_fuel_limit(engine: &CvmEngine, fuel_limit_per_record: u64) -> Result<(), String> {
    let max_fuel = engine.limits().max_fuel_per_record;
    if fuel_limit_per_record == 0 || fuel_limit_per_record > max_fuel {
        return Err(format!(
            "fuel_limit_per_record must be between 1 and {max_fuel}"
        ));
    }
    Ok(())
}

/// Manuscript names are unique: the outer error is the node's, the inner one the deployer's.
fn check_name_free(
    block: &BlockState,
    compiled: &CompiledManuscript,
) -> Result<Result<(), String>, ExecError> {
    let name = &compiled.manifest.name;
    if block.main_get(&manuscript_key(name))?.is_some() {
        return Ok(Err(format!(
            "a manuscript named {name:?} is already deployed; choose another name"
        )));
    }
    Ok(Ok(()))
}

/// Writes the code, the manuscript's metadata, and its place at the end of each of its sources' subscribers.
fn record_manuscript(
    block: &mut BlockState,
    wasm: &[u8],
    meta: &ManuscriptMeta,
) -> Result<(), ExecError> {
    block.main_set(code_key(&meta.code_hash), wasm.to_vec());
    block.main_set(manuscript_key(&meta.name), meta.encode());
    for source in &meta.sources {
        let mut subscribers = block.subscribers(source)?;
        subscribers.push(meta.name.clone());
        block.main_set(source_key(source), subscribers.encode());
    }
    Ok(())
}
