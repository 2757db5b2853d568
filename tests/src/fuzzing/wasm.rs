//! Target `wasm_validate`: the wasm a deploy transaction carries, through the CVM's deploy-time validation
//! ([`validate`] with the default [`Limits`], what [`CvmEngine::load`] runs first).
//!
//! Asserted: validation never panics; what it admits has the code hash of its bytes and a manifest that
//! round-trips; and a small admitted module also compiles and links through [`CvmEngine::load`], the deploy path
//! (validation must not admit code the engine then cannot load). Larger admitted modules skip compilation,
//! which costs far more than validation and would slow the fuzzer to a crawl.

use std::sync::{Arc, LazyLock};

use cvm_runtime::state::blake2_256;
use cvm_runtime::validate::validate;
use cvm_runtime::{CvmEngine, EngineConfig, Limits};
use manuscript_sdk::manifest::Manifest;

use super::context::Reached;

/// Admitted modules up to this size are compiled too.
const COMPILE_MAX_BYTES: usize = 8 * 1024;

/// `examples/wat-counter`: a complete manuscript in WebAssembly text, small enough to compile on every run.
pub(super) const WAT_COUNTER: &str = include_str!("../../../examples/wat-counter/counter.wat");

static ENGINE: LazyLock<Arc<CvmEngine>> = LazyLock::new(|| {
    CvmEngine::new(EngineConfig {
        pool_instances: 2,
        ..EngineConfig::default()
    })
    .expect("the CVM engine starts")
});

pub fn wasm_validate(data: &[u8]) -> Reached {
    let validated = match validate(data, &Limits::default()) {
        Ok(v) => v,
        Err(e) => {
            // Every rejection renders as a message.
            assert!(!e.to_string().is_empty());
            return "rejected";
        }
    };
    assert_eq!(validated.code_hash, blake2_256(data));
    assert_eq!(
        Manifest::decode_section(&validated.manifest.to_section()).as_ref(),
        Ok(&validated.manifest)
    );
    if data.len() > COMPILE_MAX_BYTES {
        return "validated";
    }
    let loaded = ENGINE.load(data);
    // Each fuzz input is new code: drop it so the in-memory module cache does not grow without bound.
    ENGINE.cache().clear_memory();
    if let Err(e) = loaded {
        panic!("validation admitted a module the engine cannot load: {e}");
    }
    "loaded"
}

pub(super) fn seeds() -> Vec<(String, Vec<u8>)> {
    let counter = wat::parse_str(WAT_COUNTER).expect("counter.wat parses");
    let mut no_manifest = counter.clone();
    // Truncating the trailing custom section (the manifest) keeps the module valid but unacceptable.
    no_manifest.truncate(counter.len() / 2);
    vec![
        ("wat-counter".into(), counter),
        ("empty-module".into(), b"\0asm\x01\0\0\0".to_vec()),
        ("truncated-counter".into(), no_manifest),
    ]
}
