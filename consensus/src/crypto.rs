//! Signing and signature verification seams.
//!
//! The host owns the private key (a [`Signer`]) and chooses how signatures are checked (a
//! [`SignatureVerifier`]), so it can use an HSM, batch verification or a cache. ed25519-dalek
//! implementations of both are provided.

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
    /// The dalek form, for verification.
    pub fn to_signature(&self) -> Signature {
        Signature::from_bytes(&self.0)
    }
}

/// Signs consensus payloads with the node's private key. Must be deterministic or at least
/// never asked twice for the same (height, round, step): the driver guards that.
pub trait Signer: Send + Sync {
    /// The public key of the signing key: who we are in the validator set.
    fn validator_id(&self) -> ValidatorId;
    /// Signs `message` (the sign bytes of a proposal or vote).
    fn sign(&self, message: &[u8]) -> SignatureBytes;
}

/// One item of a batch: key, signed bytes, signature.
#[derive(Clone, Copy)]
pub struct VerifyItem<'a> {
    /// The signer's public key.
    pub key: &'a VerifyingKey,
    /// The signed bytes.
    pub message: &'a [u8],
    /// The signature to check.
    pub signature: &'a SignatureBytes,
}

/// Checks signatures. `verify_batch` returns true only if every item is valid; on false the
/// caller falls back to single checks to find the culprit.
pub trait SignatureVerifier: Send + Sync {
    /// Whether `signature` is `key`'s signature over `message`.
    fn verify(&self, key: &VerifyingKey, message: &[u8], signature: &SignatureBytes) -> bool;

    /// Whether every item is valid; one check per item unless the implementation batches.
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
    /// A signer over `key`.
    pub fn new(key: SigningKey) -> Self {
        Ed25519Signer { key }
    }

    /// Deterministic key for tests and simulation.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Ed25519Signer::new(SigningKey::from_bytes(&seed))
    }

    /// The public half of the key.
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

/// Memoises the valid signatures an inner verifier has checked, so a signature seen again (a
/// vote verified on arrival and again inside the commit certificate of the next block's
/// `last_commit`, or N simulated nodes receiving one message) is checked once for real.
/// Bounded: the least useful entries are evicted past `capacity`. Invalid signatures are not
/// remembered, so garbage cannot crowd out the valid ones.
pub struct CachingVerifier<V: SignatureVerifier> {
    inner: V,
    valid: quick_cache::sync::Cache<CacheKey, ()>,
}

impl<V: SignatureVerifier + Default> Default for CachingVerifier<V> {
    fn default() -> Self {
        Self::new(V::default())
    }
}

impl<V: SignatureVerifier> CachingVerifier<V> {
    /// Signatures remembered by [`new`](Self::new): several heights of votes of a large
    /// validator set (a few hundred bytes each).
    pub const DEFAULT_CAPACITY: usize = 16_384;

    /// Caches up to [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) signatures checked by `inner`.
    pub fn new(inner: V) -> Self {
        Self::with_capacity(inner, Self::DEFAULT_CAPACITY)
    }

    /// Caches up to `capacity` (at least one) signatures checked by `inner`.
    pub fn with_capacity(inner: V, capacity: usize) -> Self {
        CachingVerifier {
            inner,
            valid: quick_cache::sync::Cache::new(capacity.max(1)),
        }
    }

    /// Valid signatures currently remembered.
    pub fn cached(&self) -> usize {
        self.valid.len()
    }
}

fn cache_key(key: &VerifyingKey, message: &[u8], signature: &SignatureBytes) -> CacheKey {
    (key.to_bytes(), *signature, message.to_vec())
}

impl<V: SignatureVerifier> SignatureVerifier for CachingVerifier<V> {
    fn verify(&self, key: &VerifyingKey, message: &[u8], signature: &SignatureBytes) -> bool {
        let k = cache_key(key, message, signature);
        if self.valid.get(&k).is_some() {
            return true;
        }
        let ok = self.inner.verify(key, message, signature);
        if ok {
            self.valid.insert(k, ());
        }
        ok
    }

    /// Checks only the items not already known valid, as one batch of the inner verifier.
    fn verify_batch(&self, items: &[VerifyItem<'_>]) -> bool {
        let (mut keys, mut unknown) = (Vec::new(), Vec::new());
        for item in items {
            let k = cache_key(item.key, item.message, item.signature);
            if self.valid.get(&k).is_none() {
                keys.push(k);
                unknown.push(*item);
            }
        }
        if !self.inner.verify_batch(&unknown) {
            return false;
        }
        for k in keys {
            self.valid.insert(k, ());
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Ed25519 checks, counted.
    #[derive(Default)]
    struct Counting {
        singles: AtomicUsize,
        batched: AtomicUsize,
    }

    impl SignatureVerifier for Counting {
        fn verify(&self, key: &VerifyingKey, message: &[u8], signature: &SignatureBytes) -> bool {
            self.singles.fetch_add(1, Ordering::Relaxed);
            Ed25519Verifier.verify(key, message, signature)
        }

        fn verify_batch(&self, items: &[VerifyItem<'_>]) -> bool {
            self.batched.fetch_add(items.len(), Ordering::Relaxed);
            Ed25519Verifier.verify_batch(items)
        }
    }

    fn signed(seed: u8, message: &[u8]) -> (VerifyingKey, SignatureBytes) {
        let signer = Ed25519Signer::from_seed([seed; 32]);
        (signer.verifying_key(), signer.sign(message))
    }

    #[test]
    fn a_valid_signature_is_checked_once_and_an_invalid_one_every_time() {
        let v = CachingVerifier::new(Counting::default());
        let (key, sig) = signed(1, b"vote");
        assert!(v.verify(&key, b"vote", &sig));
        assert!(v.verify(&key, b"vote", &sig));
        assert_eq!(v.inner.singles.load(Ordering::Relaxed), 1);
        assert!(!v.verify(&key, b"another vote", &sig));
        assert!(!v.verify(&key, b"another vote", &sig));
        assert_eq!(v.inner.singles.load(Ordering::Relaxed), 3);
        assert_eq!(v.cached(), 1);
    }

    #[test]
    fn a_batch_checks_only_what_is_not_known_valid_and_remembers_nothing_if_it_fails() {
        let v = CachingVerifier::new(Counting::default());
        let votes: Vec<_> = (1..=3).map(|i| signed(i, b"precommit")).collect();
        let (k1, s1) = &votes[0];
        assert!(v.verify(k1, b"precommit", s1));
        let items: Vec<_> = votes
            .iter()
            .map(|(key, signature)| VerifyItem {
                key,
                message: b"precommit",
                signature,
            })
            .collect();
        assert!(v.verify_batch(&items));
        assert_eq!(v.inner.batched.load(Ordering::Relaxed), 2);
        assert!(v.verify_batch(&items));
        assert_eq!(
            v.inner.batched.load(Ordering::Relaxed),
            2,
            "all known valid now"
        );

        let (k4, s4) = signed(4, b"precommit");
        let bad = SignatureBytes([7; 64]);
        let mixed = [
            VerifyItem {
                key: &k4,
                message: b"precommit",
                signature: &s4,
            },
            VerifyItem {
                key: &k4,
                message: b"precommit",
                signature: &bad,
            },
        ];
        assert!(!v.verify_batch(&mixed));
        assert_eq!(v.cached(), 3, "a failed batch adds nothing");
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let v = CachingVerifier::with_capacity(Ed25519Verifier, 8);
        let signer = Ed25519Signer::from_seed([9; 32]);
        for i in 0..100u32 {
            let message = i.to_le_bytes();
            assert!(v.verify(&signer.verifying_key(), &message, &signer.sign(&message)));
        }
        assert!(v.cached() <= 8, "{} cached", v.cached());
    }
}
