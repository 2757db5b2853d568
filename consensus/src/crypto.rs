//! Signing and signature verification seams.
//!
//! The host owns the private key (a [`Signer`]) and chooses how signatures are checked (a
//! [`SignatureVerifier`]), so it can use an HSM, batch verification or a cache. ed25519-dalek
//! implementations of both are provided.

use std::collections::HashMap;
use std::sync::Mutex;

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use parity_scale_codec::{Decode, Encode};

use crate::types::ValidatorId;

/// A 64-byte ed25519 signature in SCALE-friendly form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct SignatureBytes(pub [u8; 64]);

impl core::fmt::Debug for SignatureBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Sig({})", hex::encode(&self.0[..4]))
    }
}

impl SignatureBytes {
    pub fn to_signature(&self) -> Signature {
        Signature::from_bytes(&self.0)
    }
}

/// Signs consensus payloads with the node's private key. Must be deterministic or at least
/// never asked twice for the same (height, round, step): the driver guards that.
pub trait Signer: Send + Sync {
    fn validator_id(&self) -> ValidatorId;
    fn sign(&self, message: &[u8]) -> SignatureBytes;
}

/// One item of a batch: key, signed bytes, signature.
pub struct VerifyItem<'a> {
    pub key: &'a VerifyingKey,
    pub message: &'a [u8],
    pub signature: &'a SignatureBytes,
}

/// Checks signatures. `verify_batch` returns true only if every item is valid; on false the
/// caller falls back to single checks to find the culprit.
pub trait SignatureVerifier: Send + Sync {
    fn verify(&self, key: &VerifyingKey, message: &[u8], signature: &SignatureBytes) -> bool;

    fn verify_batch(&self, items: &[VerifyItem<'_>]) -> bool {
        items
            .iter()
            .all(|i| self.verify(i.key, i.message, i.signature))
    }
}

/// ed25519 signer over a dalek [`SigningKey`].
pub struct Ed25519Signer {
    key: SigningKey,
}

impl Ed25519Signer {
    pub fn new(key: SigningKey) -> Self {
        Ed25519Signer { key }
    }

    /// Deterministic key for tests and simulation.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Ed25519Signer::new(SigningKey::from_bytes(&seed))
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }
}

impl Signer for Ed25519Signer {
    fn validator_id(&self) -> ValidatorId {
        ValidatorId(self.key.verifying_key().to_bytes())
    }

    fn sign(&self, message: &[u8]) -> SignatureBytes {
        SignatureBytes(self.key.sign(message).to_bytes())
    }
}

/// ed25519 verification with dalek: strict single checks and `verify_batch`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ed25519Verifier;

impl SignatureVerifier for Ed25519Verifier {
    fn verify(&self, key: &VerifyingKey, message: &[u8], signature: &SignatureBytes) -> bool {
        key.verify(message, &signature.to_signature()).is_ok()
    }

    fn verify_batch(&self, items: &[VerifyItem<'_>]) -> bool {
        match items.len() {
            0 => true,
            1 => self.verify(items[0].key, items[0].message, items[0].signature),
            _ => {
                let messages: Vec<&[u8]> = items.iter().map(|i| i.message).collect();
                let signatures: Vec<Signature> =
                    items.iter().map(|i| i.signature.to_signature()).collect();
                let keys: Vec<VerifyingKey> = items.iter().map(|i| *i.key).collect();
                ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
            }
        }
    }
}

/// (public key, signature, signed bytes) of one check.
type CacheKey = ([u8; 32], SignatureBytes, Vec<u8>);

/// Memoises verification results of an inner verifier. Every distinct (key, message,
/// signature) is still checked once for real; used by the simulation where N nodes receive
/// the same signed message.
#[derive(Default)]
pub struct CachingVerifier<V: SignatureVerifier> {
    inner: V,
    cache: Mutex<HashMap<CacheKey, bool>>,
}

impl<V: SignatureVerifier> CachingVerifier<V> {
    pub fn new(inner: V) -> Self {
        CachingVerifier {
            inner,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: SignatureVerifier> SignatureVerifier for CachingVerifier<V> {
    fn verify(&self, key: &VerifyingKey, message: &[u8], signature: &SignatureBytes) -> bool {
        let k = (key.to_bytes(), *signature, message.to_vec());
        if let Some(ok) = self.cache.lock().expect("verifier cache poisoned").get(&k) {
            return *ok;
        }
        let ok = self.inner.verify(key, message, signature);
        self.cache
            .lock()
            .expect("verifier cache poisoned")
            .insert(k, ok);
        ok
    }
}

/// Accepts every signature. Only for measuring the cost of verification in benchmarks.
#[derive(Clone, Copy, Debug, Default)]
pub struct AcceptAllVerifier;

impl SignatureVerifier for AcceptAllVerifier {
    fn verify(&self, _: &VerifyingKey, _: &[u8], _: &SignatureBytes) -> bool {
        true
    }
}
