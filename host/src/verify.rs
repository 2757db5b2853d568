//! Offline verification of a record: a [`RecordBundle`] carries the record, its trie proof, the block header
//! whose state root the proof is against, and the commit certificate that finalized that header. Given only the
//! genesis file, [`verify_bundle`] checks every link: chain id, certificate signatures and quorum against the
//! genesis validators, certificate → header hash and height, header state root → record.
//!
//! The validator set is the genesis one: the chain has no validator-set changes (yet). When it gets them, the
//! bundle will have to carry the set of its height and its link to genesis.

use cvm_consensus::{CertificateError, ChainId, CommitCertificate, Ed25519Verifier};
use cvm_runtime::state::{ProofError, RecordProof, verify_record};
use parity_scale_codec::{Decode, DecodeAll, Encode};
use serde::{Deserialize, Serialize};

use crate::chain::{BlockHeader, Genesis};
use crate::rpc::json::{from_hex, to_hex};

/// Everything a reader needs to check one record against the chain's genesis, and nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "RecordBundleJson", try_from = "RecordBundleJson")]
pub struct RecordBundle {
    pub chain_id: String,
    pub height: u64,
    pub manuscript: String,
    pub dataset: String,
    pub key: Vec<u8>,
    /// `None`: the record is proven absent.
    pub value: Option<Vec<u8>>,
    pub proof: RecordProof,
    pub header: BlockHeader,
    pub certificate: CommitCertificate,
}

/// The wire form: readable fields plus SCALE hex of the proof, header and certificate. Only the SCALE parts and
/// the claimed fields are trusted input to verification; `state_root`, `block_hash` and the `*_utf8` fields are
/// for people.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RecordBundleJson {
    chain_id: String,
    height: u64,
    manuscript: String,
    dataset: String,
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_utf8: Option<String>,
    value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value_utf8: Option<String>,
    #[serde(default)]
    state_root: Option<String>,
    #[serde(default)]
    block_hash: Option<String>,
    proof: String,
    header: String,
    certificate: String,
}

impl From<RecordBundle> for RecordBundleJson {
    fn from(b: RecordBundle) -> Self {
        let utf8 = |bytes: &[u8]| std::str::from_utf8(bytes).ok().map(str::to_string);
        RecordBundleJson {
            chain_id: b.chain_id,
            height: b.height,
            manuscript: b.manuscript,
            dataset: b.dataset,
            key_utf8: utf8(&b.key),
            key: to_hex(&b.key),
            value_utf8: b.value.as_deref().and_then(utf8),
            value: b.value.as_ref().map(to_hex),
            state_root: Some(to_hex(b.header.state_root)),
            block_hash: Some(to_hex(b.header.hash())),
            proof: to_hex(b.proof.encode()),
            header: to_hex(b.header.encode()),
            certificate: to_hex(b.certificate.encode()),
        }
    }
}

fn decode_field<T: Decode>(name: &str, text: &str) -> Result<T, String> {
    let bytes = from_hex(text).map_err(|e| format!("{name}: {e}"))?;
    T::decode_all(&mut &bytes[..]).map_err(|e| format!("{name}: not valid SCALE ({e})"))
}

impl TryFrom<RecordBundleJson> for RecordBundle {
    type Error = String;

    fn try_from(j: RecordBundleJson) -> Result<Self, String> {
        Ok(RecordBundle {
            chain_id: j.chain_id,
            height: j.height,
            manuscript: j.manuscript,
            dataset: j.dataset,
            key: from_hex(&j.key).map_err(|e| format!("key: {e}"))?,
            value: j
                .value
                .as_deref()
                .map(from_hex)
                .transpose()
                .map_err(|e| format!("value: {e}"))?,
            proof: decode_field("proof", &j.proof)?,
            header: decode_field("header", &j.header)?,
            certificate: decode_field("certificate", &j.certificate)?,
        })
    }
}

/// A bundle that checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub manuscript: String,
    pub dataset: String,
    pub key: Vec<u8>,
    /// `None`: proven absent.
    pub value: Option<Vec<u8>>,
    pub height: u64,
    pub signed_power: u64,
    pub total_power: u64,
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
    #[error("the commit certificate does not verify against the genesis validators: {0}")]
    Certificate(CertificateError),
    #[error("the proof is for {found}, the bundle claims {claimed}")]
    ProofForOtherRecord { claimed: String, found: String },
    #[error("the record proof does not verify against the header's state root: {0}")]
    Proof(ProofError),
    #[error("the bundle claims value {claimed} but the proof proves {proven}")]
    ValueMismatch { claimed: String, proven: String },
}

fn describe(value: &Option<Vec<u8>>) -> String {
    value.as_ref().map_or_else(|| "absent".into(), to_hex)
}

/// Checks a bundle against the genesis: see the module docs for the chain of checks.
pub fn verify_bundle(bundle: &RecordBundle, genesis: &Genesis) -> Result<Verdict, VerifyError> {
    if bundle.chain_id != genesis.chain_id {
        return Err(VerifyError::WrongChain {
            expected: genesis.chain_id.clone(),
            found: bundle.chain_id.clone(),
        });
    }
    let header = &bundle.header;
    if header.chain_id != genesis.chain_id {
        return Err(VerifyError::HeaderWrongChain {
            expected: genesis.chain_id.clone(),
            found: header.chain_id.clone(),
        });
    }
    let cert = &bundle.certificate;
    if header.height != bundle.height || cert.height.0 != bundle.height {
        return Err(VerifyError::HeightMismatch {
            bundle: bundle.height,
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
    let set = genesis
        .validator_set()
        .map_err(|e| VerifyError::Genesis(e.to_string()))?;
    cert.verify(
        &set,
        &ChainId::new(genesis.chain_id.clone()),
        &Ed25519Verifier,
    )
    .map_err(VerifyError::Certificate)?;
    let signed_power = cert
        .signatures
        .iter()
        .filter_map(|s| set.get(s.validator_index).map(|(v, _)| v.voting_power))
        .sum();

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
    Ok(Verdict {
        manuscript: bundle.manuscript.clone(),
        dataset: bundle.dataset.clone(),
        key: bundle.key.clone(),
        value: proven,
        height: bundle.height,
        signed_power,
        total_power: set.total_power(),
    })
}

/// Test helpers that build a real bundle: a chain with the WAT counter deployed and some records ingested, a
/// header over its state root and a certificate from 4 equal validators. Shared with the RPC and CLI tests.
#[cfg(test)]
pub(crate) mod fixture {
    use std::sync::Arc;

    use cvm_consensus::{
        CommitCertificate, Ed25519Signer, Height, Round, Signer as _, Vote, VoteKind,
    };
    use cvm_runtime::state::{MemoryNodeStore, NodeStore as _, empty_root, prove_record};
    use cvm_runtime::{
        BlockContext, BlockExecutor, CvmEngine, EngineConfig, Transaction, TxPayload,
    };
    use ed25519_dalek::SigningKey;
    use manuscript_sdk::KvRecord;
    use parity_scale_codec::Encode;

    use super::*;
    use crate::chain::genesis::{ChainParams, GenesisValidator};
    use crate::chain::{BlockHeader, PartSetHeader};

    pub const CHAIN: &str = "verify-test";
    pub const HEIGHT: u64 = 2;

    pub fn validator_signer(i: u8) -> Ed25519Signer {
        Ed25519Signer::from_seed([i + 1; 32])
    }

    pub fn genesis() -> Genesis {
        Genesis {
            chain_id: CHAIN.into(),
            genesis_time_ms: 0,
            validators: (0..4)
                .map(|i| GenesisValidator {
                    name: format!("v{i}"),
                    public_key: hex::encode(validator_signer(i).verifying_key().to_bytes()),
                    power: 10,
                })
                .collect(),
            params: ChainParams::default(),
        }
    }

    /// Precommits for `header` from `signers`, as a certificate (the set is the genesis one).
    pub fn certificate(
        header: &BlockHeader,
        signers: &[Ed25519Signer],
        chain_id: &str,
    ) -> CommitCertificate {
        let set = genesis().validator_set().unwrap();
        let value = cvm_consensus::ValueId(header.hash());
        let votes: Vec<_> = signers
            .iter()
            .map(|s| {
                Vote::new(
                    VoteKind::Precommit,
                    Height(header.height),
                    Round(0),
                    Some(value),
                    s.validator_id(),
                )
                .sign(&ChainId::new(chain_id), s)
            })
            .collect();
        CommitCertificate::from_precommits(Height(header.height), Round(0), value, &set, &votes)
    }

    /// A valid bundle for the record `count` (or the record key `a`) of the WAT counter's `counts` dataset.
    pub fn bundle() -> RecordBundle {
        let engine: Arc<CvmEngine> = CvmEngine::new(EngineConfig::default()).unwrap();
        let store = Arc::new(MemoryNodeStore::new());
        let executor = BlockExecutor::sequential(engine, store.clone());
        let user = SigningKey::from_bytes(&[42; 32]);
        let mut root = empty_root();
        let payloads = [
            TxPayload::Deploy {
                wasm: wat::parse_str(manuscript_fixtures::WAT_COUNTER).unwrap(),
                fuel_limit_per_record: 1_000_000,
            },
            TxPayload::Ingest {
                source: "kv".into(),
                records: vec![
                    KvRecord::new("a", "1").encode(),
                    KvRecord::new("b", "2").encode(),
                    KvRecord::new("a", "3").encode(),
                ]
                .into(),
            },
        ];
        for (nonce, payload) in payloads.into_iter().enumerate() {
            let tx = Transaction {
                chain_id: CHAIN.into(),
                signer: user.verifying_key().to_bytes(),
                nonce: nonce as u64,
                payload,
            }
            .sign(&user);
            let height = nonce as u64 + 1;
            let ctx = BlockContext {
                chain_id: CHAIN.into(),
                height,
                time_ms: 1_000 * height,
            };
            let outcome = executor.execute_block(root, &ctx, &[tx]).unwrap();
            store.commit(&outcome.changes).unwrap();
            root = outcome.state_root;
        }
        let proof = [b"count".to_vec(), b"a".to_vec()]
            .into_iter()
            .map(|k| prove_record(&*store, root, "wat-counter", "counts", &k).unwrap())
            .find(|p| p.value.is_some())
            .expect("the counter emitted a record");
        let header = BlockHeader {
            chain_id: CHAIN.into(),
            height: HEIGHT,
            time_ms: 2_000,
            parent_hash: [1; 32],
            proposer: validator_signer(0).verifying_key().to_bytes(),
            txs_root: [2; 32],
            tx_count: 1,
            state_root: root.into(),
            receipts_root: [3; 32],
            fuel_used: 1,
            last_commit_hash: [4; 32],
            parts: PartSetHeader {
                total: 1,
                root: [5; 32],
            },
        };
        let signers: Vec<_> = (0..3).map(validator_signer).collect();
        let certificate = certificate(&header, &signers, CHAIN);
        RecordBundle {
            chain_id: CHAIN.into(),
            height: HEIGHT,
            manuscript: proof.manuscript.clone(),
            dataset: proof.dataset.clone(),
            key: proof.key.clone(),
            value: proof.value.clone(),
            proof,
            header,
            certificate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::*;
    use super::*;

    #[test]
    fn a_real_bundle_verifies_and_survives_json() {
        let b = bundle();
        let verdict = verify_bundle(&b, &genesis()).unwrap();
        assert_eq!((verdict.signed_power, verdict.total_power), (30, 40));
        assert_eq!(verdict.value, b.value);
        assert!(
            verdict
                .to_string()
                .starts_with("record wat-counter/counts/0x"),
            "{verdict}"
        );
        let json = serde_json::to_string(&b).unwrap();
        let back: RecordBundle = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
        assert!(verify_bundle(&back, &genesis()).is_ok());
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["state_root"], to_hex(b.header.state_root));
    }

    #[test]
    fn tampered_value_fails() {
        let mut b = bundle();
        b.value.as_mut().unwrap()[0] ^= 1;
        assert!(matches!(
            verify_bundle(&b, &genesis()),
            Err(VerifyError::ValueMismatch { .. })
        ));
        // Tampering value and proof value together breaks the trie proof instead.
        let mut b = bundle();
        b.value.as_mut().unwrap()[0] ^= 1;
        b.proof.value = b.value.clone();
        assert!(matches!(
            verify_bundle(&b, &genesis()),
            Err(VerifyError::Proof(ProofError::ChildProof(_)))
        ));
    }

    #[test]
    fn tampered_proof_fails() {
        let mut b = bundle();
        let node = b.proof.child_proof.last_mut().unwrap();
        let last = node.len() - 1;
        node[last] ^= 1;
        assert!(matches!(
            verify_bundle(&b, &genesis()),
            Err(VerifyError::Proof(_))
        ));
        let mut b = bundle();
        b.proof.key = b"other".to_vec();
        assert!(matches!(
            verify_bundle(&b, &genesis()),
            Err(VerifyError::ProofForOtherRecord { .. })
        ));
    }

    #[test]
    fn wrong_header_root_fails() {
        // Re-signed header with another root: the certificate is fine, the proof is not.
        let mut b = bundle();
        b.header.state_root[0] ^= 1;
        let signers: Vec<_> = (0..3).map(validator_signer).collect();
        b.certificate = certificate(&b.header, &signers, CHAIN);
        assert!(matches!(
            verify_bundle(&b, &genesis()),
            Err(VerifyError::Proof(ProofError::MainProof(_)))
        ));
        // Changed root without re-signing: the certificate is for another block.
        let mut b = bundle();
        b.header.state_root[0] ^= 1;
        assert!(matches!(
            verify_bundle(&b, &genesis()),
            Err(VerifyError::CertificateForOtherBlock { .. })
        ));
    }

    #[test]
    fn too_few_signatures_fail() {
        let mut b = bundle();
        let signers: Vec<_> = (0..2).map(validator_signer).collect();
        b.certificate = certificate(&b.header, &signers, CHAIN);
        assert!(matches!(
            verify_bundle(&b, &genesis()),
            Err(VerifyError::Certificate(
                CertificateError::InsufficientPower {
                    signed: 20,
                    total: 40
                }
            ))
        ));
    }

    #[test]
    fn wrong_chain_id_fails() {
        let mut b = bundle();
        b.chain_id = "other-chain".into();
        assert!(matches!(
            verify_bundle(&b, &genesis()),
            Err(VerifyError::WrongChain { .. })
        ));
        // Signatures over another chain id do not count for this one.
        let mut b = bundle();
        let signers: Vec<_> = (0..3).map(validator_signer).collect();
        b.certificate = certificate(&b.header, &signers, "other-chain");
        assert!(matches!(
            verify_bundle(&b, &genesis()),
            Err(VerifyError::Certificate(
                CertificateError::InvalidSignature(_)
            ))
        ));
    }

    #[test]
    fn a_signer_not_in_genesis_fails() {
        let b = bundle();
        // An outsider's signature under a genesis validator's index.
        let outsider = cvm_consensus::Ed25519Signer::from_seed([99; 32]);
        let mut forged = b.clone();
        let theirs = certificate(
            &b.header,
            &[validator_signer(0), validator_signer(1)],
            CHAIN,
        );
        let vote = cvm_consensus::Vote::new(
            cvm_consensus::VoteKind::Precommit,
            b.certificate.height,
            b.certificate.round,
            Some(b.certificate.value_id),
            cvm_consensus::Signer::validator_id(&outsider),
        )
        .sign(&ChainId::new(CHAIN), &outsider);
        let set = genesis().validator_set().unwrap();
        let free_index = (0..4u32)
            .find(|i| !theirs.signatures.iter().any(|s| s.validator_index == *i))
            .unwrap();
        forged.certificate.signatures = theirs.signatures.clone();
        forged
            .certificate
            .signatures
            .push(cvm_consensus::CommitSig {
                validator_index: free_index,
                signature: vote.signature,
            });
        forged
            .certificate
            .signatures
            .sort_by_key(|s| s.validator_index);
        assert!(set.get(free_index).is_some());
        assert!(matches!(
            verify_bundle(&forged, &genesis()),
            Err(VerifyError::Certificate(CertificateError::InvalidSignature(i))) if i == free_index
        ));
        // An index beyond the set.
        let mut forged = b.clone();
        forged.certificate.signatures[0].validator_index = 7;
        forged
            .certificate
            .signatures
            .sort_by_key(|s| s.validator_index);
        assert!(matches!(
            verify_bundle(&forged, &genesis()),
            Err(VerifyError::Certificate(CertificateError::UnknownSigner(7)))
        ));
    }

    #[test]
    fn height_mismatch_and_bad_json_are_named() {
        let mut b = bundle();
        b.height += 1;
        assert!(matches!(
            verify_bundle(&b, &genesis()),
            Err(VerifyError::HeightMismatch { .. })
        ));
        let mut v = serde_json::to_value(bundle()).unwrap();
        v["proof"] = "0x00ff".into();
        let e = serde_json::from_value::<RecordBundle>(v)
            .unwrap_err()
            .to_string();
        assert!(e.contains("proof: not valid SCALE"), "{e}");
    }
}
