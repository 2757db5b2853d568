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
mod proof;
mod tx;
mod wasm;

pub use block::block_decode;
pub use consensus::consensus_decode;
pub use proof::proof_verify;
pub use tx::tx_decode;
pub use wasm::wasm_validate;

/// What a target reports about one input: the name of the deepest path it reached.
pub type Reached = &'static str;

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

/// The chain id every target's fixed context uses.
pub const CHAIN: &str = "fuzz-chain";

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

/// Reads structure out of fuzz input; past the end it yields zeros and empty slices, so every input is usable.
pub(crate) struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub(crate) fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    pub(crate) fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }
}

/// Validators shared by the consensus and block targets.
pub(crate) mod validators {
    use std::sync::LazyLock;

    use cvm_consensus::{ChainId, Ed25519Signer, Signer, ValidatorId, ValidatorSet};

    /// Four validators of equal power, keys from fixed seeds.
    pub(crate) static SIGNERS: LazyLock<Vec<Ed25519Signer>> = LazyLock::new(|| {
        (1..=4u8)
            .map(|i| Ed25519Signer::from_seed([i; 32]))
            .collect()
    });

    pub(crate) static SET: LazyLock<ValidatorSet> = LazyLock::new(|| {
        ValidatorSet::new(SIGNERS.iter().map(|s| (s.validator_id(), 10)))
            .expect("four distinct valid keys")
    });

    pub(crate) fn chain_id() -> ChainId {
        ChainId::new(super::CHAIN)
    }

    /// The signer with this id, if it is one of ours.
    pub(crate) fn signer_of(id: &ValidatorId) -> Option<&'static Ed25519Signer> {
        SIGNERS.iter().find(|s| s.validator_id() == *id)
    }
}
