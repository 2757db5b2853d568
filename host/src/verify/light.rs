//! Light-client verification of a header across validator-set changes: CometBFT's skipping verification with
//! bisection. A reader trusts a root (the genesis, or a header hash it got from somewhere it trusts) and reaches the
//! header of any later height through as few intermediate headers as the set changes need.
//!
//! From a trusted header `h` (with its set), a header `t` is accepted when:
//! - adjacent (`t = h + 1`): `t`'s `validators_hash` is `h`'s `next_validators_hash`, its parent is `h`, and more
//!   than 2/3 of `t`'s set signed it;
//! - otherwise: its set hashes to its `validators_hash`, more than 1/3 of the **trusted** set's power is among its
//!   signers (`verify_trusting`, trust level 1/3: at least one correct validator of the trusted set vouches for it),
//!   and more than 2/3 of its own set signed it. When the trusted set's share is too small, the reader asks for the
//!   header halfway and tries again from there (bisection), at most [`MAX_HOPS`] headers in all.
//!
//! A trusted root is only as good as the validators it trusts: a set that was removed long ago can still sign a
//! header of any height, and a reader that trusts that old set (the genesis one, say) cannot tell it from the real
//! chain offline. With a node to ask ([`LightSource`]), the reader also checks the node's header of the target
//! height is the one it verified (a different one is a fork, refused); a recent trusted root (`--trust-height` and
//! `--trust-hash`) shortens what an attacker's old keys can reach.

use std::collections::BTreeMap;

use cvm_consensus::{CertificateError, ChainId, Ed25519Verifier, TrustLevel, ValidatorSet};

pub use crate::chain::LightBlock;
use crate::chain::membership_hash;
use crate::hex_text::to_hex;

/// Most headers one verification may fetch: bisection halves the distance each time, so this covers any chain.
pub const MAX_HOPS: usize = 64;

/// Where a verifier gets the headers it has not got: a node, or the chain a bundle carries.
pub trait LightSource {
    /// The light block of `height`.
    fn light_block(&self, height: u64) -> Result<LightBlock, String>;
}

/// What the reader trusts: a height, its header's hash (none for the genesis) and its validator set, and the
/// hash of the next height's set.
#[derive(Clone, Debug)]
pub struct TrustedState {
    /// The trusted height (0: the genesis).
    pub height: u64,
    /// The trusted header's hash (`None` at the genesis).
    pub header_hash: Option<[u8; 32]>,
    /// The set of that height (at the genesis: the genesis set, which signs height 1).
    pub validators: ValidatorSet,
    /// Its membership hash (as that height's header holds it).
    pub validators_hash: [u8; 32],
    /// The membership hash of the next height's set.
    pub next_validators_hash: [u8; 32],
}

impl TrustedState {
    /// The genesis as root: its set signs height 1.
    pub fn genesis(set: ValidatorSet) -> TrustedState {
        let hash = membership_hash(&set);
        TrustedState {
            height: 0,
            header_hash: None,
            validators_hash: hash,
            next_validators_hash: hash,
            validators: set,
        }
    }

    /// A header the reader trusts by its hash, with its height's set (checked against the header).
    pub fn header(block: &LightBlock, hash: [u8; 32]) -> Result<TrustedState, LightError> {
        if block.header.hash() != hash {
            return Err(LightError::TrustedHashMismatch {
                height: block.header.height,
                expected: to_hex(hash),
                found: to_hex(block.header.hash()),
            });
        }
        let set = block.set().map_err(|cause| LightError::BadSet {
            height: block.header.height,
            cause,
        })?;
        if membership_hash(&set) != block.header.validators_hash {
            return Err(LightError::SetHashMismatch {
                height: block.header.height,
            });
        }
        Ok(trusted_at(block, set))
    }
}

/// Why a header is not reached from the trusted root.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum LightError {
    #[error(
        "the trusted header of height {height} hashes to {found}, not the trusted hash {expected}"
    )]
    TrustedHashMismatch {
        height: u64,
        expected: String,
        found: String,
    },
    #[error("height {height}: its validator set does not hash to the header's validators_hash")]
    SetHashMismatch { height: u64 },
    #[error("height {height}: the validator set is not valid: {cause}")]
    BadSet { height: u64, cause: String },
    #[error("height {height} is not after the trusted height {trusted}")]
    NotAfterTrusted { height: u64, trusted: u64 },
    #[error("height {height}: the certificate is for another block or height")]
    CertificateForOtherBlock { height: u64 },
    #[error(
        "height {height} follows the trusted height but its validators_hash is not the trusted header's \
         next_validators_hash"
    )]
    AdjacentSetMismatch { height: u64 },
    #[error("height {height} follows the trusted height but its parent is another block")]
    AdjacentParentMismatch { height: u64 },
    #[error(
        "height {height}: the certificate does not verify against the height's own set: {error}"
    )]
    Certificate {
        height: u64,
        error: CertificateError,
    },
    #[error(
        "height {height} is signed by a validator set the trusted set of height {trusted} does not vouch for \
         ({cause}), and there is no source of intermediate headers: give --node URL, or a bundle that carries \
         its header chain"
    )]
    Untrusted {
        height: u64,
        trusted: u64,
        cause: String,
    },
    #[error("fetching the header of height {height}: {cause}")]
    Source { height: u64, cause: String },
    #[error("verifying height {height} needed more than {MAX_HOPS} intermediate headers")]
    TooManyHops { height: u64 },
    #[error(
        "fork: the node's block of height {height} is {node}, the verified one {verified}; do not trust either \
         without finding out why"
    )]
    Fork {
        height: u64,
        node: String,
        verified: String,
    },
}

enum Step {
    /// With the target's set (checked against its header).
    Accepted(ValidatorSet),
    /// The trusted set's share of the signers is too small: try from a nearer header.
    NeedsPivot(String),
}

/// One step: `target` from `trusted`.
fn step(
    trusted: &TrustedState,
    target: &LightBlock,
    chain_id: &ChainId,
) -> Result<Step, LightError> {
    let header = &target.header;
    let height = header.height;
    if height <= trusted.height {
        return Err(LightError::NotAfterTrusted {
            height,
            trusted: trusted.height,
        });
    }
    let cert = &target.certificate;
    if cert.height.0 != height || cert.value_id.0 != header.hash() {
        return Err(LightError::CertificateForOtherBlock { height });
    }
    let set = target
        .set()
        .map_err(|cause| LightError::BadSet { height, cause })?;
    if membership_hash(&set) != header.validators_hash {
        return Err(LightError::SetHashMismatch { height });
    }
    if height == trusted.height + 1 {
        if header.validators_hash != trusted.next_validators_hash {
            return Err(LightError::AdjacentSetMismatch { height });
        }
        if let Some(parent) = trusted.header_hash
            && header.parent_hash != parent
        {
            return Err(LightError::AdjacentParentMismatch { height });
        }
    } else if header.validators_hash != trusted.validators_hash {
        match cert.verify_trusting(
            &set,
            &trusted.validators,
            TrustLevel::ONE_THIRD,
            chain_id,
            &Ed25519Verifier,
        ) {
            Ok(_) => {}
            // Too little of the trusted set among the signers: a nearer trusted header may vouch for it.
            Err(e @ CertificateError::InsufficientTrustedPower { .. }) => {
                return Ok(Step::NeedsPivot(e.to_string()));
            }
            Err(error) => return Err(LightError::Certificate { height, error }),
        }
    }
    cert.verify(&set, chain_id, &Ed25519Verifier)
        .map_err(|error| LightError::Certificate { height, error })?;
    Ok(Step::Accepted(set))
}

/// `block` as trusted, with `set`, its height's set (checked against the header's `validators_hash`).
fn trusted_at(block: &LightBlock, set: ValidatorSet) -> TrustedState {
    TrustedState {
        height: block.header.height,
        header_hash: Some(block.header.hash()),
        validators_hash: block.header.validators_hash,
        next_validators_hash: block.header.next_validators_hash,
        validators: set,
    }
}

/// Verifies `target` from `trusted`, fetching intermediate headers from `source` when the sets changed too much;
/// returns the new trusted state (at `target`). With `check_fork`, the source's header of the target height must
/// be `target`'s (worth it when the target came from elsewhere than the source).
pub fn verify_light(
    trusted: &TrustedState,
    target: &LightBlock,
    source: Option<&dyn LightSource>,
    check_fork: bool,
    chain_id: &ChainId,
) -> Result<TrustedState, LightError> {
    let mut current = trusted.clone();
    let mut pending: Vec<LightBlock> = vec![target.clone()];
    let mut fetched: BTreeMap<u64, LightBlock> = BTreeMap::new();
    let mut hops = 0;
    while let Some(candidate) = pending.last() {
        match step(&current, candidate, chain_id)? {
            Step::Accepted(set) => {
                current = trusted_at(candidate, set);
                pending.pop();
            }
            Step::NeedsPivot(cause) => {
                let height = candidate.header.height;
                let Some(source) = source else {
                    return Err(LightError::Untrusted {
                        height,
                        trusted: current.height,
                        cause,
                    });
                };
                let pivot = current.height + (height - current.height) / 2;
                if pivot == current.height {
                    // Adjacent already failed its own checks above; a skip of one is never needed.
                    return Err(LightError::Untrusted {
                        height,
                        trusted: current.height,
                        cause,
                    });
                }
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(LightError::TooManyHops {
                        height: target.header.height,
                    });
                }
                let block = source
                    .light_block(pivot)
                    .map_err(|cause| LightError::Source {
                        height: pivot,
                        cause,
                    })?;
                fetched.insert(pivot, block.clone());
                pending.push(block);
            }
        }
    }
    if let Some(source) = source.filter(|_| check_fork) {
        let height = target.header.height;
        let node = match fetched.get(&height) {
            Some(b) => b.clone(),
            None => source
                .light_block(height)
                .map_err(|cause| LightError::Source { height, cause })?,
        };
        if node.header.hash() != target.header.hash() {
            return Err(LightError::Fork {
                height,
                node: to_hex(node.header.hash()),
                verified: to_hex(target.header.hash()),
            });
        }
    }
    Ok(current)
}

/// The light blocks a bundle carries, as a source.
pub struct CarriedChain(pub BTreeMap<u64, LightBlock>);

impl LightSource for CarriedChain {
    fn light_block(&self, height: u64) -> Result<LightBlock, String> {
        self.0
            .get(&height)
            .cloned()
            .ok_or_else(|| format!("the bundle carries no header of height {height}"))
    }
}

/// Records what another source served: the header chain a verification used, to hand to a reader.
pub struct Recording<'a> {
    /// Where the blocks come from.
    pub inner: &'a dyn LightSource,
    /// Every block served, by height.
    pub served: std::cell::RefCell<BTreeMap<u64, LightBlock>>,
}

impl LightSource for Recording<'_> {
    fn light_block(&self, height: u64) -> Result<LightBlock, String> {
        let block = self.inner.light_block(height)?;
        self.served.borrow_mut().insert(height, block.clone());
        Ok(block)
    }
}

#[cfg(test)]
mod tests;
