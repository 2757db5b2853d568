//! Each broken link of a bundle is named.

use super::fixture::*;
use super::*;
use cvm_consensus::{CertificateError, ChainId};

#[test]
fn a_real_bundle_verifies_and_survives_json() {
    let b = bundle();
    let verdict = verify_bundle(&b, &trust()).unwrap();
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
    assert!(verify_bundle(&back, &trust()).is_ok());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["state_root"], to_hex(b.header.state_root));
}

#[test]
fn tampered_value_fails() {
    let mut b = bundle();
    b.value.as_mut().unwrap()[0] ^= 1;
    assert!(matches!(
        verify_bundle(&b, &trust()),
        Err(VerifyError::ValueMismatch { .. })
    ));
    // Tampering value and proof value together breaks the trie proof instead.
    let mut b = bundle();
    b.value.as_mut().unwrap()[0] ^= 1;
    b.proof.value = b.value.clone();
    assert!(matches!(
        verify_bundle(&b, &trust()),
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
        verify_bundle(&b, &trust()),
        Err(VerifyError::Proof(_))
    ));
    let mut b = bundle();
    b.proof.key = b"other".to_vec();
    assert!(matches!(
        verify_bundle(&b, &trust()),
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
        verify_bundle(&b, &trust()),
        Err(VerifyError::Proof(ProofError::MainProof(_)))
    ));
    // Changed root without re-signing: the certificate is for another block.
    let mut b = bundle();
    b.header.state_root[0] ^= 1;
    assert!(matches!(
        verify_bundle(&b, &trust()),
        Err(VerifyError::CertificateForOtherBlock { .. })
    ));
}

#[test]
fn too_few_signatures_fail() {
    let mut b = bundle();
    let signers: Vec<_> = (0..2).map(validator_signer).collect();
    b.certificate = certificate(&b.header, &signers, CHAIN);
    assert!(matches!(
        verify_bundle(&b, &trust()),
        Err(VerifyError::Light(LightError::Certificate {
            error: CertificateError::InsufficientPower {
                signed: 20,
                total: 40
            },
            ..
        }))
    ));
}

#[test]
fn wrong_chain_id_fails() {
    let mut b = bundle();
    b.chain_id = "other-chain".into();
    assert!(matches!(
        verify_bundle(&b, &trust()),
        Err(VerifyError::WrongChain { .. })
    ));
    // Signatures over another chain id do not count for this one.
    let mut b = bundle();
    let signers: Vec<_> = (0..3).map(validator_signer).collect();
    b.certificate = certificate(&b.header, &signers, "other-chain");
    assert!(matches!(
        verify_bundle(&b, &trust()),
        Err(VerifyError::Light(LightError::Certificate {
            error: CertificateError::InvalidSignature(_),
            ..
        }))
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
        verify_bundle(&forged, &trust()),
        Err(VerifyError::Light(LightError::Certificate {
            error: CertificateError::InvalidSignature(i),
            ..
        })) if i == free_index
    ));
    // An index beyond the set.
    let mut forged = b.clone();
    forged.certificate.signatures[0].validator_index = 7;
    forged
        .certificate
        .signatures
        .sort_by_key(|s| s.validator_index);
    assert!(matches!(
        verify_bundle(&forged, &trust()),
        Err(VerifyError::Light(LightError::Certificate {
            error: CertificateError::UnknownSigner(7),
            ..
        }))
    ));
}

#[test]
fn height_mismatch_and_bad_json_are_named() {
    let mut b = bundle();
    b.height += 1;
    assert!(matches!(
        verify_bundle(&b, &trust()),
        Err(VerifyError::HeightMismatch { .. })
    ));
    let mut v = serde_json::to_value(bundle()).unwrap();
    v["proof"] = "0x00ff".into();
    let e = serde_json::from_value::<RecordBundle>(v)
        .unwrap_err()
        .to_string();
    assert!(e.contains("proof: not valid SCALE"), "{e}");
}
