//! Signature checking in a run: shared by the nodes, and the one the invariant checks use.

use std::sync::Arc;

use cvm_consensus::{CachingVerifier, Ed25519Verifier, SignatureBytes, SignatureVerifier};
use ed25519_dalek::VerifyingKey;

use crate::config::Verification;

/// Accepts every signature. Only for measuring the cost of verification in benchmarks.
#[derive(Clone, Copy, Debug, Default)]
pub struct AcceptAllVerifier;

impl SignatureVerifier for AcceptAllVerifier {
    fn verify(&self, _: &VerifyingKey, _: &[u8], _: &SignatureBytes) -> bool {
        true
    }
}

/// The verifier all nodes share for `verification`, and the one that checks certificates
/// and evidence for the invariants: always a real one, shared when it caches.
pub(crate) fn verifiers(
    verification: Verification,
) -> (Arc<dyn SignatureVerifier>, Arc<dyn SignatureVerifier>) {
    let real: Arc<dyn SignatureVerifier> = Arc::new(Ed25519Verifier);
    let shared: Arc<dyn SignatureVerifier> = match verification {
        Verification::Cached => Arc::new(CachingVerifier::new(Ed25519Verifier)),
        Verification::PerNode => real.clone(),
        Verification::Disabled => Arc::new(AcceptAllVerifier),
    };
    let checker = match verification {
        Verification::Cached => shared.clone(),
        _ => real,
    };
    (shared, checker)
}
