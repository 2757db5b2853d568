//! Transactions for the mempool's and the intake's tests.

use cvm_runtime::{SignedTransaction, Transaction, TxPayload};
use ed25519_dalek::SigningKey;

/// An ingest of one 10-byte record (its bytes the nonce's) by `key` at `nonce` on `chain`.
pub(crate) fn ingest_tx(key: &SigningKey, nonce: u64, chain: &str) -> SignedTransaction {
    Transaction {
        chain_id: chain.into(),
        signer: key.verifying_key().to_bytes(),
        nonce,
        payload: TxPayload::Ingest {
            source: "s".into(),
            records: vec![vec![nonce as u8; 10]].into(),
        },
    }
    .sign(key)
}
