//! The bodies of the cargo-fuzz targets in `fuzz/`, kept in this library so that `tests/tests/fuzz_corpus.rs` runs
//! the very same code over the committed corpus, the crash regressions and seeded mutations on every `cargo test`
//! (the fuzzers themselves need `scripts/fuzz`).
//!
//! Each target feeds untrusted bytes to a production entry point and asserts what must hold for *any* input: no
//! panic, canonical encodings (decode → encode gives back exactly the bytes consumed, so a hash or signature
//! cannot be malleated by re-encoding), and the target's own soundness property (a proof that verifies is for
//! the true value, a part that verifies carries the committed bytes, a signature that verifies is the signer's).
//!
//! A target returns a short label naming the deepest path its input reached, so the corpus test can check that
//! the seeds really exercise the accepting paths and not only the first rejection.
//!
//! - [`tx_decode`]: raw transaction bytes through the mempool's admission, and admission sequences against a
//!   model of the mempool.
//! - [`block_decode`]: blocks, sync responses and block bodies split into Merkle-proven parts.
//! - [`consensus_decode`]: gossiped consensus envelopes, block parts and commit certificates, with signatures
//!   checked against a fixed validator set.
//! - [`wasm_validate`]: the CVM's deploy-time validation, and compilation of what it admits.
//! - [`proof_verify`]: record proofs, decoded or mutated from real ones, against a real state root.

mod block;
mod consensus;
mod context;
mod proof;
mod tx;
mod wasm;

pub use block::block_decode;
pub use consensus::consensus_decode;
pub use context::{CHAIN, Reached};
pub use proof::proof_verify;
pub use tx::tx_decode;
pub use wasm::wasm_validate;

/// A fuzz target body.
pub type Target = fn(&[u8]) -> Reached;

/// Every target by the name of its `fuzz/fuzz_targets/<name>.rs` and corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("tx_decode", tx_decode),
    ("block_decode", block_decode),
    ("consensus_decode", consensus_decode),
    ("wasm_validate", wasm_validate),
    ("proof_verify", proof_verify),
];

/// Small valid (and a few near-valid) inputs per target, named, for the committed seed corpus
/// (`fuzz/corpus/<target>/seed-<name>`).
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    match target {
        "tx_decode" => tx::seeds(),
        "block_decode" => block::seeds(),
        "consensus_decode" => consensus::seeds(),
        "wasm_validate" => wasm::seeds(),
        "proof_verify" => proof::seeds(),
        other => panic!("no fuzz target named {other:?}"),
    }
}
