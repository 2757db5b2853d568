//! Target `tx_decode`: transaction bytes as the RPC and gossip hand them to the mempool.
//!
//! First byte even: the rest is raw bytes for [`Mempool::admit`] on an empty pool; the answer must agree with
//! what the bytes are (a decode error only for undecodable bytes, an admission only for a canonical, correctly
//! signed transaction of this chain with the next nonce).
//!
//! First byte odd: the rest drives a sequence of admissions (validly signed by one of three keys, or corrupted),
//! reaps and commits against a model of the mempool's documented rules; every answer, the pool's size, byte count
//! and next nonces, and every reaped block (gapless nonces per account, within its limits) must match the model.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use cvm_host::node::mempool::{AdmitError, Mempool, TxHash};
use cvm_runtime::{SignedTransaction, Transaction, TxPayload};
use ed25519_dalek::SigningKey;
use parity_scale_codec::Encode;

use super::context::{CHAIN, Input, Reached};

/// Small limits so that `TooLarge` and `Full` are reachable by short inputs.
const MAX_TX_BYTES: usize = 600;
const MAX_TXS: usize = 6;
const MAX_BYTES: usize = 2_000;
const MAX_OPS: usize = 48;

static KEYS: LazyLock<Vec<SigningKey>> = LazyLock::new(|| {
    (1..=3u8)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect()
});

pub fn tx_decode(data: &[u8]) -> Reached {
    match data.split_first() {
        None => "empty",
        Some((mode, rest)) if mode & 1 == 0 => raw(rest),
        Some((_, rest)) => sequence(&mut Input::new(rest)),
    }
}

fn raw(bytes: &[u8]) -> Reached {
    let mut pool = Mempool::new(CHAIN.into(), MAX_TXS, MAX_BYTES, MAX_TX_BYTES);
    let admitted = pool.admit(bytes, |_| 0);
    let decoded = SignedTransaction::decode_bytes(bytes);
    if let Ok(tx) = &decoded {
        assert_eq!(
            tx.encode(),
            bytes,
            "a transaction decoded from bytes that are not its encoding: its hash is malleable"
        );
    }
    match admitted {
        Ok(hash) => {
            let tx = decoded.expect("admitted bytes decode");
            assert_eq!(hash, tx.hash());
            assert!(bytes.len() <= MAX_TX_BYTES);
            assert_eq!(tx.tx.chain_id, CHAIN);
            assert_eq!(tx.tx.nonce, 0);
            assert_eq!(tx.verify_signature(), Ok(()));
            assert_eq!((pool.len(), pool.bytes()), (1, bytes.len()));
            assert!(matches!(
                pool.admit(bytes, |_| 0),
                Err(AdmitError::Duplicate(_))
            ));
            assert_eq!(pool.reap(usize::MAX, usize::MAX, |_| 0), vec![tx]);
            "admitted"
        }
        Err(AdmitError::TooLarge { size, max }) => {
            assert!(size > max && size == bytes.len());
            "too_large"
        }
        Err(AdmitError::Refused(reason)) => {
            panic!("a pool without payload rules refused a transaction: {reason}")
        }
        Err(AdmitError::Undecodable(_)) => {
            assert!(decoded.is_err(), "decodable bytes refused as undecodable");
            "undecodable"
        }
        Err(AdmitError::WrongChain { found, .. }) => {
            assert_ne!(found, CHAIN);
            "wrong_chain"
        }
        Err(AdmitError::BadSignature(_)) => {
            assert!(decoded.expect("decodes").verify_signature().is_err());
            "bad_signature"
        }
        Err(AdmitError::WrongNonce { expected, found }) => {
            assert_eq!(expected, 0);
            assert_ne!(found, 0);
            "wrong_nonce"
        }
        Err(
            e @ (AdmitError::Duplicate(_)
            | AdmitError::Full { .. }
            | AdmitError::SenderGapFull { .. }
            | AdmitError::GapShareFull { .. }),
        ) => {
            panic!("an empty mempool answered {e}")
        }
    }
}

/// The mempool's rules, restated: per account a gapless run of pending nonces from its committed nonce.
#[derive(Default)]
struct Model {
    committed: HashMap<[u8; 32], u64>,
    /// account -> nonce -> (hash, encoded size)
    pending: HashMap<[u8; 32], BTreeMap<u64, (TxHash, usize)>>,
    hashes: HashSet<TxHash>,
    bytes: usize,
}

impl Model {
    fn committed(&self, account: &[u8; 32]) -> u64 {
        self.committed.get(account).copied().unwrap_or(0)
    }

    fn next_nonce(&self, account: &[u8; 32]) -> u64 {
        match self.pending.get(account).and_then(|m| m.last_key_value()) {
            Some((last, _)) => last + 1,
            None => self.committed(account),
        }
    }

    fn predict(&self, tx: &SignedTransaction, size: usize, signed_ok: bool) -> &'static str {
        if size > MAX_TX_BYTES {
            "too_large"
        } else if self.hashes.contains(&tx.hash()) {
            "duplicate"
        } else if tx.tx.chain_id != CHAIN {
            "wrong_chain"
        } else if !signed_ok {
            "bad_signature"
        } else if tx.tx.nonce != self.next_nonce(&tx.tx.signer) {
            "wrong_nonce"
        } else if self.hashes.len() >= MAX_TXS || self.bytes + size > MAX_BYTES {
            "full"
        } else {
            "admitted"
        }
    }

    fn count(&self) -> usize {
        self.pending.values().map(BTreeMap::len).sum()
    }

    fn remove(&mut self, account: &[u8; 32], nonce: u64) {
        let entries = self.pending.get_mut(account).expect("account pending");
        let (hash, size) = entries.remove(&nonce).expect("nonce pending");
        if entries.is_empty() {
            self.pending.remove(account);
        }
        self.hashes.remove(&hash);
        self.bytes -= size;
    }

    /// `included` were committed (each account's lowest pending nonces), then accounts' nonces moved on.
    fn commit(&mut self, included: &[SignedTransaction], bumps: &[([u8; 32], u64)]) {
        for tx in included {
            self.remove(&tx.tx.signer, tx.tx.nonce);
            let c = self.committed.entry(tx.tx.signer).or_default();
            *c = (*c).max(tx.tx.nonce + 1);
        }
        for (account, by) in bumps {
            *self.committed.entry(*account).or_default() += by;
        }
        let accounts: Vec<[u8; 32]> = self.pending.keys().copied().collect();
        for account in accounts {
            let committed = self.committed(&account);
            let nonces: Vec<u64> = self.pending[&account].keys().copied().collect();
            let mut expected = committed;
            for nonce in nonces {
                if nonce == expected {
                    expected += 1;
                } else {
                    self.remove(&account, nonce);
                }
            }
        }
    }
}

fn payload(input: &mut Input<'_>) -> TxPayload {
    let flags = input.u8();
    let len = (input.u8() as usize) * (1 + (flags as usize >> 6));
    if flags & 1 == 0 {
        let count = 1 + (flags as usize >> 1) % 4;
        let bytes = input.take(len);
        TxPayload::Ingest {
            source: "kv".into(),
            records: (0..count).map(|_| bytes.to_vec()).collect(),
        }
    } else {
        TxPayload::Deploy {
            wasm: input.take(len).to_vec(),
            fuel_limit_per_record: u64::from(flags),
            sources: Vec::new(),
        }
    }
}

fn sequence(input: &mut Input<'_>) -> Reached {
    let mut pool = Mempool::new(CHAIN.into(), MAX_TXS, MAX_BYTES, MAX_TX_BYTES);
    let mut model = Model::default();
    // The deepest step any operation reached: 0 none, 1 admitted, 2 reaped, 3 committed.
    let mut deepest = 0;
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        match input.u8() % 4 {
            0 | 1 => {
                let key = &KEYS[input.u8() as usize % KEYS.len()];
                let signer = key.verifying_key().to_bytes();
                let flags = input.u8();
                let nonce = match flags & 3 {
                    0 => model
                        .next_nonce(&signer)
                        .wrapping_add(u64::from(input.u8() % 4)),
                    _ => model.next_nonce(&signer),
                };
                let chain_id = if flags & 4 != 0 { "other" } else { CHAIN };
                let tx = Transaction {
                    chain_id: chain_id.into(),
                    signer,
                    nonce,
                    payload: payload(input),
                };
                let mut signed = tx.sign(key);
                let corrupt = flags & 8 != 0;
                if corrupt {
                    signed.signature[usize::from(flags >> 4) * 4] ^= 1;
                }
                let bytes = signed.encode();
                let expected = model.predict(&signed, bytes.len(), !corrupt);
                let got = match pool.admit(&bytes, |a| model.committed(a)) {
                    Ok(hash) => {
                        assert_eq!(hash, signed.hash());
                        model.hashes.insert(hash);
                        model
                            .pending
                            .entry(signer)
                            .or_default()
                            .insert(nonce, (hash, bytes.len()));
                        model.bytes += bytes.len();
                        "admitted"
                    }
                    Err(e) => e.class(),
                };
                assert_eq!(got, expected, "admission of nonce {nonce} by {signer:02x?}");
                if got == "admitted" {
                    deepest = deepest.max(1);
                }
            }
            2 => {
                let max_bytes = usize::from(input.u16());
                let max_txs = usize::from(input.u8() % 8);
                let max_records = usize::from(input.u8() % 16);
                let reaped =
                    pool.reap_within(max_bytes, max_txs, max_records, |a| model.committed(a));
                check_reaped(&model, &reaped, max_bytes, max_txs, max_records);
                if !reaped.is_empty() {
                    deepest = deepest.max(2);
                }
            }
            _ => {
                let reaped = pool.reap(usize::MAX, usize::MAX, |a| model.committed(a));
                let included = &reaped[..usize::from(input.u8()) % (reaped.len() + 1)];
                let bumps: Vec<([u8; 32], u64)> = (0..input.u8() % 3)
                    .map(|_| {
                        let key = &KEYS[input.u8() as usize % KEYS.len()];
                        (key.verifying_key().to_bytes(), u64::from(input.u8() % 3))
                    })
                    .collect();
                model.commit(included, &bumps);
                let hashes: Vec<TxHash> = included.iter().map(SignedTransaction::hash).collect();
                pool.update(&hashes, |a| model.committed(a));
                if !included.is_empty() {
                    deepest = 3;
                }
            }
        }
        assert_eq!(pool.len(), model.count());
        assert_eq!(pool.bytes(), model.bytes);
        for key in KEYS.iter() {
            let account = key.verifying_key().to_bytes();
            assert_eq!(
                pool.next_nonce(&account, model.committed(&account)),
                model.next_nonce(&account)
            );
        }
    }
    ["sequence", "admitted", "reaped", "committed"][deepest]
}

fn check_reaped(
    model: &Model,
    reaped: &[SignedTransaction],
    max_bytes: usize,
    max_txs: usize,
    max_records: usize,
) {
    assert!(reaped.len() <= max_txs);
    let mut bytes = 0;
    let mut records = 0;
    let mut next: HashMap<[u8; 32], u64> = HashMap::new();
    for tx in reaped {
        let account = tx.tx.signer;
        let expected = next
            .entry(account)
            .or_insert_with(|| model.committed(&account));
        assert_eq!(tx.tx.nonce, *expected, "reaped nonces are not gapless");
        *expected += 1;
        let (hash, size) = model.pending[&account][&tx.tx.nonce];
        assert_eq!(hash, tx.hash());
        bytes += size;
        records += match &tx.tx.payload {
            TxPayload::Ingest { records, .. } => records.len(),
            TxPayload::Deploy { .. }
            | TxPayload::RegisterSource { .. }
            | TxPayload::UpdateValidators { .. } => 1,
        };
    }
    assert!(
        bytes <= max_bytes,
        "reaped {bytes} bytes, limit {max_bytes}"
    );
    assert!(
        reaped.len() <= 1 || records <= max_records,
        "reaped {records} records, limit {max_records}"
    );
}

pub(super) fn seeds() -> Vec<(String, Vec<u8>)> {
    let key = &KEYS[0];
    let tx = |chain: &str, nonce: u64, payload: TxPayload| {
        Transaction {
            chain_id: chain.into(),
            signer: key.verifying_key().to_bytes(),
            nonce,
            payload,
        }
        .sign(key)
        .encode()
    };
    let ingest = || TxPayload::Ingest {
        source: "kv".into(),
        records: vec![b"\x04ab\x041".to_vec(), vec![]].into(),
    };
    let deploy = TxPayload::Deploy {
        wasm: b"\0asm\x01\0\0\0".to_vec(),
        fuel_limit_per_record: 1_000,
        sources: Vec::new(),
    };
    let raw = |bytes: Vec<u8>| [vec![0u8], bytes].concat();
    vec![
        ("raw-ingest".into(), raw(tx(CHAIN, 0, ingest()))),
        ("raw-deploy".into(), raw(tx(CHAIN, 0, deploy))),
        ("raw-wrong-chain".into(), raw(tx("other", 0, ingest()))),
        ("raw-wrong-nonce".into(), raw(tx(CHAIN, 3, ingest()))),
        // Admit three (two accounts), commit two of them, admit again, reap within limits.
        (
            "sequence".into(),
            [
                &[1u8][..],
                &[0, 0, 1, 0, 2, b'a', b'b'],
                &[0, 1, 1, 0, 2, b'c', b'd'],
                &[0, 0, 1, 1, 3, 1, 2, 3],
                &[3, 2, 1, 1, 1],
                &[0, 2, 1, 2, 1, 9],
                &[2, 0xff, 0xff, 7, 15],
            ]
            .concat(),
        ),
        ("sequence-full".into(), {
            let mut s = vec![1u8];
            for i in 0..8 {
                s.extend([0, i % 3, 0, 0, 200]);
            }
            s.extend([2, 0xff, 0xff, 7, 15]);
            s
        }),
    ]
}
