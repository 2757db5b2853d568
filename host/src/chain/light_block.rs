//! A header with what a light client needs to check it: the certificate that finalized it and the validator set
//! of its height.

use cvm_consensus::{CommitCertificate, ValidatorId, ValidatorSet};
use parity_scale_codec::{Decode, Encode};

use super::BlockHeader;

/// A header with the certificate that finalized it and the set of its height.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct LightBlock {
    /// The header.
    pub header: BlockHeader,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
    /// The validators of its height, (key, power).
    pub validators: Vec<([u8; 32], u64)>,
}

impl LightBlock {
    /// The set as consensus counts it (membership and power; priorities do not matter to a certificate).
    pub fn set(&self) -> Result<ValidatorSet, String> {
        ValidatorSet::new(self.validators.iter().map(|(k, p)| (ValidatorId(*k), *p)))
            .map_err(|e| e.to_string())
    }
}
