//! The fixed context every target shares: what a target reports, the chain id, the input reader, the validators.

/// What a target reports about one input: the name of the deepest path it reached.
pub type Reached = &'static str;

/// The chain id every target's fixed context uses.
pub const CHAIN: &str = "fuzz-chain";

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

    use super::CHAIN;

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
        ChainId::new(CHAIN)
    }

    /// The signer with this id, if it is one of ours.
    pub(crate) fn signer_of(id: &ValidatorId) -> Option<&'static Ed25519Signer> {
        SIGNERS.iter().find(|s| s.validator_id() == *id)
    }
}
