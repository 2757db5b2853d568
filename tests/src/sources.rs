//! The sources test chains register at genesis: signed sources, one per source name the example and hostile
//! manuscripts read and the tests ingest into, published by one test account; [`ethereum`]: the local network's
//! Ethereum source as the source tests register, follow and check it.

pub mod ethereum;

use cvm_host::chain::source_json::SourceJson;
use cvm_host::hex_text::to_hex;
use cvm_runtime::sources::{SourceDef, genesis_state};
use cvm_runtime::state::{NodeStore, StateRoot};

/// The signed sources every test chain registers.
pub const TEST_SOURCES: [&str; 6] = ["ethereum.logs", "kv", "hostile", "bad-input", "s", "calib"];

fn public_key(secret: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(secret)
        .verifying_key()
        .to_bytes()
}

/// [`TEST_SOURCES`] as genesis definitions, published by the key of `secret`.
pub fn test_sources(secret: &[u8; 32]) -> Vec<SourceJson> {
    TEST_SOURCES
        .iter()
        .map(|name| SourceJson::Signed {
            name: name.to_string(),
            publishers: vec![to_hex(public_key(secret))],
        })
        .collect()
}

/// Commits to `store` the genesis state of an in-process test chain ([`TEST_SOURCES`] published by the key of
/// `secret`, no governance key) and returns its root: what the chain's block 1 executes on.
pub fn genesis_root(store: &dyn NodeStore, secret: &[u8; 32]) -> StateRoot {
    let defs: Vec<SourceDef> = TEST_SOURCES
        .iter()
        .map(|name| SourceDef::signed(*name, &[public_key(secret)]))
        .collect();
    let (root, changes) = genesis_state(store, &defs, &[], &[]).expect("test genesis state");
    store.commit(&changes).expect("commit test genesis state");
    root
}
