//! What a verifier trusts ([`Trust`]): a root (the genesis, or a header the reader trusts by hash), where it gets
//! the headers between that root and what it checks (a node, or the chain a bundle carries), and the headers it
//! has verified so far: each check starts from the nearest one below its height (a sink or a watcher going block
//! by block then checks each in one adjacent step).

use std::collections::BTreeMap;

use cvm_consensus::{ChainId, CommitCertificate, ValidatorSet};
use parking_lot::Mutex;

use super::light::{LightBlock, LightError, LightSource, TrustedState, verify_light};
use crate::chain::{BlockHeader, Genesis};

/// Most verified headers a [`Trust`] keeps to start later checks from.
const MAX_VERIFIED: usize = 256;

/// A verifier's trust: see the [module docs](self).
pub struct Trust {
    chain_id: String,
    root: TrustedState,
    /// Verified headers by height, at most [`MAX_VERIFIED`] (the lowest go first).
    verified: Mutex<BTreeMap<u64, TrustedState>>,
    source: Option<Box<dyn LightSource + Send + Sync>>,
    check_forks: bool,
}

impl Trust {
    /// Trusting the genesis validators, with no source of intermediate headers.
    pub fn genesis(genesis: &Genesis) -> Result<Trust, String> {
        let set = genesis.validator_set().map_err(|e| e.to_string())?;
        let root = TrustedState::genesis(set);
        Ok(Trust {
            chain_id: genesis.chain_id.clone(),
            verified: Mutex::new(BTreeMap::new()),
            root,
            source: None,
            check_forks: false,
        })
    }

    /// Trusting the header of `height` whose hash is `hash`, as `source` serves it (with its set).
    pub fn header(
        genesis: &Genesis,
        height: u64,
        hash: [u8; 32],
        source: Box<dyn LightSource + Send + Sync>,
    ) -> Result<Trust, String> {
        let block = source
            .light_block(height)
            .map_err(|e| format!("fetching the trusted header of height {height}: {e}"))?;
        let root = TrustedState::header(&block, hash).map_err(|e| e.to_string())?;
        Ok(Trust {
            chain_id: genesis.chain_id.clone(),
            verified: Mutex::new(BTreeMap::new()),
            root,
            source: Some(source),
            check_forks: false,
        })
    }

    /// The same trust, getting intermediate headers from `source`; with `check_forks`, also checking that the
    /// source's header of each target is the one verified (for targets that came from elsewhere, such as a saved
    /// bundle; pointless when the source served the target too).
    pub fn with_source(
        mut self,
        source: Box<dyn LightSource + Send + Sync>,
        check_forks: bool,
    ) -> Trust {
        self.source = Some(source);
        self.check_forks = check_forks;
        self
    }

    /// The chain it verifies.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Verifies that `header`, certified by `cert`, is the chain's header of its height; returns the set that
    /// signed it. `carried` holds header chain blocks a bundle brought (used when no node source is set). The
    /// set of the header's height comes from `carried`, the source, or (when the header names it) the root's.
    pub fn verify(
        &self,
        header: &BlockHeader,
        cert: &CommitCertificate,
        carried: &[LightBlock],
    ) -> Result<ValidatorSet, LightError> {
        let height = header.height;
        let chain_id = ChainId::new(self.chain_id.clone());
        let carried_chain = super::light::CarriedChain(
            carried
                .iter()
                .map(|b| (b.header.height, b.clone()))
                .collect::<BTreeMap<_, _>>(),
        );
        let source: Option<&dyn LightSource> = match &self.source {
            Some(s) => Some(s.as_ref()),
            None if !carried.is_empty() => Some(&carried_chain),
            None => None,
        };
        let validators = self.validators_of(header, source)?;
        let target = LightBlock {
            header: header.clone(),
            certificate: cert.clone(),
            validators,
        };
        if height <= self.root.height {
            return Err(LightError::NotAfterTrusted {
                height,
                trusted: self.root.height,
            });
        }
        let from = self
            .verified
            .lock()
            .range(..height)
            .next_back()
            .map_or_else(|| self.root.clone(), |(_, state)| state.clone());
        let check_fork = self.check_forks && self.source.is_some();
        let reached = verify_light(&from, &target, source, check_fork, &chain_id)?;
        let set = reached.validators.clone();
        let mut verified = self.verified.lock();
        verified.insert(reached.height, reached);
        while verified.len() > MAX_VERIFIED {
            verified.pop_first();
        }
        Ok(set)
    }

    /// The validators of `header`'s height: the root's when the header names them, else from `source`.
    fn validators_of(
        &self,
        header: &BlockHeader,
        source: Option<&dyn LightSource>,
    ) -> Result<Vec<([u8; 32], u64)>, LightError> {
        let height = header.height;
        let known = |state: &TrustedState| {
            (state.validators_hash == header.validators_hash).then(|| {
                state
                    .validators
                    .membership()
                    .into_iter()
                    .map(|(id, power)| (id.0, power))
                    .collect::<Vec<_>>()
            })
        };
        if let Some(members) = known(&self.root) {
            return Ok(members);
        }
        if let Some(members) = self.verified.lock().values().rev().find_map(known) {
            return Ok(members);
        }
        let Some(source) = source else {
            return Err(LightError::Untrusted {
                height,
                trusted: self.root.height,
                cause: "the header's validator set is not the trusted one".into(),
            });
        };
        source
            .light_block(height)
            .map(|b| b.validators)
            .map_err(|cause| LightError::Source { height, cause })
    }
}
