//! A deploy transaction: pay for its size, run the cheap checks, compile what will be stored, then record the
//! manuscript, its code and its subscriptions in the main trie.

use parity_scale_codec::Encode;

use super::block_state::BlockState;
use super::error::ExecError;
use crate::engine::CvmEngine;
use crate::receipt::TxStatus;
use crate::sources::source_def;
use crate::state::{ManuscriptMeta, code_key, empty_root, manuscript_key, source_key};
use crate::validate::ValidatedCode;

/// What a deploy did: its receipt status, the fuel it paid, and whether the block's budget could not pay it.
pub(super) struct Deployed {
    pub(super) status: TxStatus,
    pub(super) fuel_used: u64,
    pub(super) fuel_exhausted: bool,
}

/// A deploy's fuel price (`FuelSchedule::deploy` per byte of wasm; nothing when metering is off).
pub(crate) fn deploy_fuel(engine: &CvmEngine, wasm: &[u8]) -> u64 {
    if engine.metering() {
        engine.fuel_schedule().deploy.cost(wasm.len() as u64)
    } else {
        0
    }
}

/// One deploy within `fuel_left` of the block's budget. The price is paid before any work, whatever the
/// outcome: validation and compilation are the work it pays for. The duplicate name and every other check
/// that needs no compilation come first, so only code that will be stored is compiled.
pub(super) fn deploy(
    engine: &CvmEngine,
    block: &mut BlockState,
    (height, deployer): (u64, &[u8; 32]),
    wasm: &[u8],
    (fuel_limit_per_record, binding): (u64, &[String]),
    fuel_left: u64,
) -> Result<Deployed, ExecError> {
    let price = deploy_fuel(engine, wasm);
    if price > fuel_left {
        return Ok(Deployed {
            status: TxStatus::Failed {
                reason: format!(
                    "the block's fuel budget ran out: this deploy costs {price} fuel ({} bytes of wasm) and \
                     {fuel_left} is left in the block (max_block_fuel in genesis); shrink the module",
                    wasm.len()
                ),
            },
            fuel_used: 0,
            fuel_exhausted: true,
        });
    }
    let status = match checked_and_compiled(engine, block, wasm, fuel_limit_per_record, binding)? {
        Ok((validated, sources)) => {
            let meta = ManuscriptMeta {
                name: validated.manifest.name,
                code_hash: validated.code_hash,
                sources,
                slots: validated.manifest.sources,
                datasets: validated.manifest.datasets,
                fuel_limit_per_record,
                child_root: empty_root().to_fixed_bytes(),
                deployed_at: height,
                deployer: *deployer,
                append_only: validated.manifest.append_only,
            };
            record_manuscript(block, wasm, &meta)?;
            TxStatus::Deployed {
                manuscript: meta.name,
                code_hash: meta.code_hash,
            }
        }
        Err(reason) => TxStatus::Failed { reason },
    };
    Ok(Deployed {
        status,
        fuel_used: price,
        fuel_exhausted: false,
    })
}

/// The validated code and the registered sources it is bound to, once every check passed and it compiled; the
/// outer error is the node's, the inner one the deployer's.
fn checked_and_compiled(
    engine: &CvmEngine,
    block: &BlockState,
    wasm: &[u8],
    fuel_limit_per_record: u64,
    binding: &[String],
) -> Result<Result<(ValidatedCode, Vec<String>), String>, ExecError> {
    if let Err(reason) = check_fuel_limit(engine, fuel_limit_per_record) {
        return Ok(Err(reason));
    }
    let validated = match engine.validate(wasm) {
        Ok(validated) => validated,
        Err(e) => return Ok(Err(format!("manuscript rejected: {e}"))),
    };
    let name = &validated.manifest.name;
    if block.main_get(&manuscript_key(name))?.is_some() {
        return Ok(Err(format!(
            "a manuscript named {name:?} is already deployed; choose another name"
        )));
    }
    let sources = match bound_sources(block, &validated.manifest.sources, binding)? {
        Ok(sources) => sources,
        Err(reason) => return Ok(Err(reason)),
    };
    if let Err(e) = engine.compile(validated.clone(), wasm) {
        return Ok(Err(format!("manuscript rejected: {e}")));
    }
    Ok(Ok((validated, sources)))
}

/// The registered source each manifest source is bound to: `binding` (one per manifest source, each once), or
/// the manifest's names when it is empty. Every one must be registered.
fn bound_sources(
    block: &BlockState,
    manifest: &[String],
    binding: &[String],
) -> Result<Result<Vec<String>, String>, ExecError> {
    let sources = if binding.is_empty() {
        manifest.to_vec()
    } else if binding.len() != manifest.len() {
        return Ok(Err(format!(
            "the deploy binds {} sources but the manifest declares {} ({manifest:?}); give one --source per \
             manifest source, in order, or none to use the manifest's names",
            binding.len(),
            manifest.len()
        )));
    } else {
        binding.to_vec()
    };
    for (i, name) in sources.iter().enumerate() {
        if sources[..i].contains(name) {
            return Ok(Err(format!(
                "source {name} is bound to two manifest sources; bind each to a different registered source"
            )));
        }
        if source_def(block, name)?.is_none() {
            return Ok(Err(format!(
                "source {name} (manifest source {:?}) is not registered; register it (cvm tx register-source) \
                 or bind the manifest source to a registered one with --source",
                manifest[i]
            )));
        }
    }
    Ok(Ok(sources))
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
