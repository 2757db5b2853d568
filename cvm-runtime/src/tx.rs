//! Transactions: SCALE-encoded, ed25519-signed, with a per-account nonce and the chain id in the signed bytes.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use parity_scale_codec::{Decode, DecodeAll, Encode};

use crate::record_batch::RecordBatch;
use crate::sources::SourceDef;
use crate::state::blake2_256_of_encoding;
use crate::validators::{Approval, ValidatorSetUpdate};

/// Domain separation for transaction signatures (v2: the signature covers the transaction's Blake2-256 digest).
const SIGNING_DOMAIN: &[u8] = b"cvm/tx/v2";

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum TxPayload {
    /// Deploys a manuscript; name, source slots and datasets come from the wasm's manifest.
    Deploy {
        /// The manuscript's wasm binary.
        wasm: Vec<u8>,
        /// Fuel each record's invocation may use, at most the limits' `max_fuel_per_record`.
        fuel_limit_per_record: u64,
        /// The registered source each of the manifest's sources is bound to, in the manifest's order; empty: the
        /// manifest's own names. The manuscript is still invoked with its manifest's name for each slot.
        sources: Vec<String>,
    },
    /// A batch of SCALE-encoded source records, processed in order by every manuscript subscribed to `source`.
    Ingest {
        /// The source the records come from.
        source: String,
        /// The records, in order.
        records: RecordBatch,
    },
    /// Registers a source; only a governance key may sign it.
    RegisterSource {
        /// The new source.
        source: SourceDef,
    },
    /// Changes the validator set from two heights after its block on, when `approvals` authorize it
    /// ([`check_update`](crate::validators::check_update)); any account may submit it.
    UpdateValidators {
        /// The changes, at the next position of the chain's sequence of updates.
        update: ValidatorSetUpdate,
        /// Signatures of the update by validators holding more than 2/3 of the power, and by every key it adds.
        approvals: Vec<Approval>,
    },
}

/// A transaction before signing: what is signed.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Transaction {
    /// The chain it is for (replay protection across chains).
    pub chain_id: String,
    /// The signer's ed25519 public key; also its account.
    pub signer: [u8; 32],
    /// The signer's next nonce: transactions of one account apply in nonce order, each once.
    pub nonce: u64,
    /// What it does.
    pub payload: TxPayload,
}

/// A transaction with its signer's ed25519 signature.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SignedTransaction {
    /// The signed transaction.
    pub tx: Transaction,
    /// The ed25519 signature of its signing bytes.
    pub signature: [u8; 64],
}

/// Why a transaction is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// Its bytes are not a SCALE-encoded signed transaction.
    #[error("transaction does not decode: {0}")]
    Decode(String),
    /// The signer field is not an ed25519 public key.
    #[error("signer is not a valid ed25519 public key")]
    BadSigner,
    /// The signature does not verify.
    #[error(
        "invalid signature: sign \"cvm/tx/v2\" followed by the Blake2-256 hash of the transaction's SCALE encoding \
         with the signer's key"
    )]
    BadSignature,
    /// It is for another chain.
    #[error("wrong chain id {found:?}: this chain is {expected:?}")]
    WrongChain {
        /// This chain's id.
        expected: String,
        /// The transaction's.
        found: String,
    },
    /// Its nonce is not the signer's next.
    #[error("wrong nonce {found}: the account's next nonce is {expected}")]
    WrongNonce {
        /// The signer's next nonce.
        expected: u64,
        /// The transaction's.
        found: u64,
    },
}

impl Transaction {
    /// `SIGNING_DOMAIN ‖ blake2_256(SCALE(tx))`: ed25519 hashes what it signs with SHA-512, twice to sign and
    /// once to verify, so signing the full encoding made every validator run SHA-512 over every ingested byte
    /// (~8 % of executing a block of ingests); Blake2 over it is several times cheaper. Substrate signs
    /// payloads longer than 256 bytes the same way.
    fn signing_bytes(&self) -> Vec<u8> {
        let mut bytes = SIGNING_DOMAIN.to_vec();
        bytes.extend_from_slice(&blake2_256_of_encoding(self));
        bytes
    }

    /// Signs with `key`, which must be the signer's.
    pub fn sign(self, key: &SigningKey) -> SignedTransaction {
        let signature = key.sign(&self.signing_bytes()).to_bytes();
        SignedTransaction {
            tx: self,
            signature,
        }
    }
}

impl SignedTransaction {
    /// Decodes a transaction, refusing trailing bytes.
    pub fn decode_bytes(bytes: &[u8]) -> Result<Self, TxError> {
        Self::decode_all(&mut &bytes[..]).map_err(|e| TxError::Decode(e.to_string()))
    }

    /// Blake2-256 of the SCALE encoding: the transaction's id.
    pub fn hash(&self) -> [u8; 32] {
        blake2_256_of_encoding(self)
    }

    /// Checks the signature against the signer's key.
    pub fn verify_signature(&self) -> Result<(), TxError> {
        let key = VerifyingKey::from_bytes(&self.tx.signer).map_err(|_| TxError::BadSigner)?;
        key.verify(
            &self.tx.signing_bytes(),
            &Signature::from_bytes(&self.signature),
        )
        .map_err(|_| TxError::BadSignature)
    }
}

/// Transactions whose signature was checked and found valid, by hash, so that a transaction checked when the
/// mempool admitted it is not checked again when its block executes (an ed25519 check hashes the whole
/// transaction: ~0.2 ms for a 150 KB ingest, on every validator). The hash covers the signature, and validity is
/// a function of the bytes alone, so a hit is exactly what a new check would find. Only [`VerifiedTxs::verify`]
/// adds entries; invalid signatures are not remembered. Bounded: a forgotten entry costs one more check.
pub struct VerifiedTxs {
    valid: quick_cache::sync::Cache<[u8; 32], ()>,
    checks: std::sync::atomic::AtomicU64,
}

impl VerifiedTxs {
    /// Room for the transactions a node holds between admission and execution.
    const CAPACITY: usize = 16_384;

    /// An empty set.
    pub fn new() -> Self {
        Self {
            valid: quick_cache::sync::Cache::new(Self::CAPACITY),
            checks: Default::default(),
        }
    }

    /// The signature check of `tx`, whose hash is `hash`, done once per transaction.
    pub fn verify(&self, tx: &SignedTransaction, hash: &[u8; 32]) -> Result<(), TxError> {
        if self.valid.get(hash).is_some() {
            return Ok(());
        }
        self.checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tx.verify_signature()?;
        self.valid.insert(*hash, ());
        Ok(())
    }

    /// Signature checks actually run (not served from the set).
    pub fn checks(&self) -> u64 {
        self.checks.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Default for VerifiedTxs {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::blake2_256;

    fn ingest(records: usize) -> Transaction {
        Transaction {
            chain_id: "test".into(),
            signer: SigningKey::from_bytes(&[3; 32]).verifying_key().to_bytes(),
            nonce: 7,
            payload: TxPayload::Ingest {
                source: "ethereum.logs".into(),
                records: (0..records).map(|i| vec![i as u8; 300]).collect(),
            },
        }
    }

    #[test]
    fn the_hash_is_blake2_of_the_full_encoding_streamed_or_not() {
        let signed = ingest(500).sign(&SigningKey::from_bytes(&[3; 32]));
        assert_eq!(signed.hash(), blake2_256(&signed.encode()));
        assert_eq!(
            blake2_256_of_encoding(&signed.tx),
            blake2_256(&signed.tx.encode())
        );
    }

    #[test]
    fn the_signature_covers_the_domain_and_the_digest_of_the_transaction() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let tx = ingest(3);
        let mut message = b"cvm/tx/v2".to_vec();
        message.extend_from_slice(&blake2_256(&tx.encode()));
        let by_hand = SignedTransaction {
            signature: key.sign(&message).to_bytes(),
            tx: tx.clone(),
        };
        assert_eq!(by_hand.verify_signature(), Ok(()));
        assert_eq!(tx.clone().sign(&key), by_hand);

        // A v1 signature (over the domain and the full encoding) no longer verifies.
        let mut v1 = b"cvm/tx/v1".to_vec();
        tx.encode_to(&mut v1);
        let old = SignedTransaction {
            signature: key.sign(&v1).to_bytes(),
            tx: tx.clone(),
        };
        assert_eq!(old.verify_signature(), Err(TxError::BadSignature));

        // Any change to the transaction breaks the signature.
        let mut changed = by_hand.clone();
        changed.tx.nonce += 1;
        assert_eq!(changed.verify_signature(), Err(TxError::BadSignature));
    }
}
