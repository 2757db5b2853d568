//! Offline verification of a record: a [`RecordBundle`] carries the record, its trie proof, the proof of its
//! manuscript's sources and their heads, the block header whose state root the proofs are against, and the commit
//! certificate that finalized that header. From what the reader trusts ([`Trust`]: the genesis file, or a header
//! it trusts by hash), [`verify_bundle`] checks every link: chain id, the certificate against the validator set of
//! its height, reached from the trusted root across set changes by light-client verification ([`light`], with
//! intermediate headers from a node or from the bundle's own header chain), certificate → header hash and height,
//! header state root → record, and header state root → the manuscript's binding → each bound source's definition
//! and head ([`provenance`] words them for the reader).

#[cfg(test)]
pub(crate) mod fixture;
pub mod light;
pub mod page;
pub mod provenance;
#[cfg(test)]
mod provenance_tests;
#[cfg(test)]
mod tests;
mod trust;

use cvm_runtime::sources::{Provenance, ProvenanceError, verify_provenance};
use cvm_runtime::state::{ManuscriptMeta, PageError, ProofError, verify_record};
use light::{LightBlock, LightError};
use parity_scale_codec::Decode;
pub use trust::Trust;

use crate::hex_text::to_hex;
use crate::record_bundle::RecordBundle;

/// A bundle that checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The manuscript that wrote the record.
    pub manuscript: String,
    /// The dataset.
    pub dataset: String,
    /// The record's key.
    pub key: Vec<u8>,
    /// `None`: proven absent.
    pub value: Option<Vec<u8>>,
    /// Height the proof was checked at.
    pub height: u64,
    /// Voting power of the validators that signed the certificate.
    pub signed_power: u64,
    /// Total voting power of the validator set.
    pub total_power: u64,
    /// The sources the record derives from and how far each had been ingested (`None`: the bundle carries no
    /// provenance).
    pub provenance: Option<Provenance>,
}

impl Verdict {
    /// The lines that follow the `VALID` line: where the record's data comes from, one line per source.
    pub fn provenance_lines(&self) -> Vec<String> {
        provenance::lines(self.provenance.as_ref())
    }
}

impl std::fmt::Display for Verdict {
    /// `record <manuscript>/<dataset>/<key hex> = <value hex | absent> at height H (signed by X of Y power)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = self
            .value
            .as_ref()
            .map_or_else(|| "absent".to_string(), to_hex);
        write!(
            f,
            "record {}/{}/{} = {} at height {} (signed by {} of {} power)",
            self.manuscript,
            self.dataset,
            to_hex(&self.key),
            value,
            self.height,
            self.signed_power,
            self.total_power
        )
    }
}

/// Why a bundle is not valid. Each names the broken link.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum VerifyError {
    #[error("the genesis file is not usable: {0}")]
    Genesis(String),
    #[error("bundle is for chain {found:?}, the genesis is for {expected:?}")]
    WrongChain { expected: String, found: String },
    #[error("header is for chain {found:?}, the genesis is for {expected:?}")]
    HeaderWrongChain { expected: String, found: String },
    #[error(
        "height mismatch: bundle says {bundle}, header says {header}, certificate says {certificate}"
    )]
    HeightMismatch {
        bundle: u64,
        header: u64,
        certificate: u64,
    },
    #[error(
        "the certificate is for block {certified}, not for the header in the bundle ({header})"
    )]
    CertificateForOtherBlock { certified: String, header: String },
    #[error("the header is not final on the trusted chain: {0}")]
    Light(LightError),
    #[error("the proof is for {found}, the bundle claims {claimed}")]
    ProofForOtherRecord { claimed: String, found: String },
    #[error("the record proof does not verify against the header's state root: {0}")]
    Proof(ProofError),
    #[error("the bundle claims value {claimed} but the proof proves {proven}")]
    ValueMismatch { claimed: String, proven: String },
    #[error("the provenance is for manuscript {found:?}, the record is of {claimed:?}")]
    ProvenanceForOtherManuscript { claimed: String, found: String },
    #[error(
        "the provenance binds the manuscript's slots to {provenance}, the record proof's manuscript metadata to \
         {record}: the binding was changed"
    )]
    ProvenanceBindingChanged { provenance: String, record: String },
    #[error(
        "the provenance carries the manuscript's metadata of another state than the record proof (same binding, \
         other contents): it is not of the header's state root"
    )]
    ProvenanceOfOtherState,
    #[error("the provenance does not verify against the header's state root: {0}")]
    Provenance(ProvenanceError),
    #[error("the page proof does not verify against the header's state root: {0}")]
    PageProof(PageError),
    #[error("the page's records are not the ones its proof proves: {0}")]
    PageRecords(String),
    #[error("the page's next cursor is wrong: {0}")]
    PageCursor(String),
}

/// `[slot -> source, ...]` of SCALE-encoded metadata, for naming a changed binding.
fn binding(meta: &Option<Vec<u8>>) -> String {
    let Some(bytes) = meta else {
        return "nothing (manuscript absent)".into();
    };
    match ManuscriptMeta::decode(&mut &bytes[..]) {
        Ok(meta) => {
            let pairs: Vec<String> = meta
                .slots
                .iter()
                .zip(&meta.sources)
                .map(|(slot, source)| format!("{slot} -> {source}"))
                .collect();
            format!("[{}]", pairs.join(", "))
        }
        Err(e) => format!("undecodable metadata ({e})"),
    }
}

fn describe(value: &Option<Vec<u8>>) -> String {
    value.as_ref().map_or_else(|| "absent".into(), to_hex)
}

/// Checks that `header` is the finalized header of `height` on the trusted chain: chain ids, heights, the
/// certificate's block, and the certificate against the set of its height reached from the trusted root
/// ([`light`]; `carried` is the header chain a bundle brought). Returns (signed power, total power).
pub(crate) fn check_finality(
    chain_id: &str,
    height: u64,
    header: &crate::chain::BlockHeader,
    cert: &cvm_consensus::CommitCertificate,
    trust: &Trust,
    carried: &[LightBlock],
) -> Result<(u64, u64), VerifyError> {
    let expected = trust.chain_id();
    if chain_id != expected {
        return Err(VerifyError::WrongChain {
            expected: expected.to_string(),
            found: chain_id.to_string(),
        });
    }
    if header.chain_id != expected {
        return Err(VerifyError::HeaderWrongChain {
            expected: expected.to_string(),
            found: header.chain_id.clone(),
        });
    }
    if header.height != height || cert.height.0 != height {
        return Err(VerifyError::HeightMismatch {
            bundle: height,
            header: header.height,
            certificate: cert.height.0,
        });
    }
    let header_hash = header.hash();
    if cert.value_id.0 != header_hash {
        return Err(VerifyError::CertificateForOtherBlock {
            certified: to_hex(cert.value_id.0),
            header: to_hex(header_hash),
        });
    }
    let set = trust
        .verify(header, cert, carried)
        .map_err(VerifyError::Light)?;
    let signed_power = cert
        .signatures
        .iter()
        .filter_map(|s| set.get(s.validator_index).map(|(v, _)| v.voting_power))
        .sum();
    Ok((signed_power, set.total_power()))
}

/// Checks a bundle against what the reader trusts: see the module docs for the chain of checks.
pub fn verify_bundle(bundle: &RecordBundle, trust: &Trust) -> Result<Verdict, VerifyError> {
    let header = &bundle.header;
    let (signed_power, total_power) = check_finality(
        &bundle.chain_id,
        bundle.height,
        header,
        &bundle.certificate,
        trust,
        &bundle.header_chain,
    )?;

    let proof = &bundle.proof;
    if proof.manuscript != bundle.manuscript
        || proof.dataset != bundle.dataset
        || proof.key != bundle.key
    {
        return Err(VerifyError::ProofForOtherRecord {
            claimed: format!(
                "{}/{}/{}",
                bundle.manuscript,
                bundle.dataset,
                to_hex(&bundle.key)
            ),
            found: format!(
                "{}/{}/{}",
                proof.manuscript,
                proof.dataset,
                to_hex(&proof.key)
            ),
        });
    }
    let proven = verify_record(&header.state_root.into(), proof).map_err(VerifyError::Proof)?;
    if proven != bundle.value {
        return Err(VerifyError::ValueMismatch {
            claimed: describe(&bundle.value),
            proven: describe(&proven),
        });
    }
    let provenance = match &bundle.provenance {
        None => None,
        Some(p) => {
            if p.manuscript != bundle.manuscript {
                return Err(VerifyError::ProvenanceForOtherManuscript {
                    claimed: bundle.manuscript.clone(),
                    found: p.manuscript.clone(),
                });
            }
            // Both proofs carry the manuscript's entry at one root, so they must carry the same bytes; which part
            // differs names the cause before the trie proof is looked at.
            if p.manuscript_meta != proof.manuscript_meta {
                let (provenance, record) =
                    (binding(&p.manuscript_meta), binding(&proof.manuscript_meta));
                return Err(if provenance != record {
                    VerifyError::ProvenanceBindingChanged { provenance, record }
                } else {
                    VerifyError::ProvenanceOfOtherState
                });
            }
            Some(verify_provenance(&header.state_root.into(), p).map_err(VerifyError::Provenance)?)
        }
    };
    Ok(Verdict {
        manuscript: bundle.manuscript.clone(),
        dataset: bundle.dataset.clone(),
        key: bundle.key.clone(),
        value: proven,
        height: bundle.height,
        signed_power,
        total_power,
        provenance,
    })
}
