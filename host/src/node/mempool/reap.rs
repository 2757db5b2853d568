//! Block building from the pool ([`Mempool::reap`]) and pruning after a commit ([`Mempool::update`]).

use std::collections::{HashMap, HashSet};

use cvm_runtime::SignedTransaction;

use super::admission::TxHash;
use super::pool::Mempool;

impl Mempool {
    /// Transactions for a block: accounts in arrival order, each account's transactions in nonce order from
    /// its committed nonce (`committed_nonce`) without gaps, within `max_bytes` (encoded sizes) and `max_txs`.
    pub fn reap(
        &self,
        max_bytes: usize,
        max_txs: usize,
        committed_nonce: impl Fn(&[u8; 32]) -> u64,
    ) -> Vec<SignedTransaction> {
        self.reap_within(max_bytes, max_txs, usize::MAX, committed_nonce)
    }

    /// [`reap`](Self::reap) that also stops before the block's ingested source records exceed `max_records`
    /// (the first transaction is always taken, so one large ingest cannot stall the chain).
    pub fn reap_within(
        &self,
        max_bytes: usize,
        max_txs: usize,
        max_records: usize,
        committed_nonce: impl Fn(&[u8; 32]) -> u64,
    ) -> Vec<SignedTransaction> {
        let mut out = Vec::new();
        let mut used = 0usize;
        let mut records = 0usize;
        // Per account: the next nonce a block may take.
        let mut next: HashMap<[u8; 32], u64> = HashMap::new();
        // Passed over while an earlier nonce of their account was missing (relayed out of order): they go in
        // right after that nonce, where their arrival already entitled them to be.
        let mut skipped: HashSet<TxHash> = Default::default();
        for hash in &self.arrival {
            let Some(entry) = self.entries.get(hash) else {
                continue;
            };
            let account = entry.tx.tx.signer;
            let nonce = next
                .entry(account)
                .or_insert_with(|| committed_nonce(&account));
            if entry.tx.tx.nonce != *nonce {
                if entry.tx.tx.nonce > *nonce {
                    skipped.insert(*hash);
                }
                continue;
            }
            let mut take = Some(entry);
            while let Some(tx) = take {
                let tx_records = match &tx.tx.tx.payload {
                    cvm_runtime::TxPayload::Ingest { records, .. } => records.len(),
                    cvm_runtime::TxPayload::Deploy { .. }
                    | cvm_runtime::TxPayload::RegisterSource { .. }
                    | cvm_runtime::TxPayload::UpdateValidators { .. } => 1,
                };
                if used + tx.size > max_bytes
                    || out.len() >= max_txs
                    || (!out.is_empty() && records + tx_records > max_records)
                {
                    return out;
                }
                records += tx_records;
                used += tx.size;
                *nonce += 1;
                out.push(tx.tx.clone());
                take = self.accounts[&account]
                    .get(&*nonce)
                    .filter(|h| skipped.remove(*h))
                    .map(|h| &self.entries[h]);
            }
        }
        out
    }

    /// After a block commits: drops its transactions and any whose nonce is now stale, given the accounts'
    /// committed nonces.
    pub fn update(&mut self, included: &[TxHash], committed_nonce: impl Fn(&[u8; 32]) -> u64) {
        for hash in included {
            self.remove(hash);
        }
        let accounts: Vec<[u8; 32]> = self.accounts.keys().copied().collect();
        for account in accounts {
            let committed = committed_nonce(&account);
            let stale: Vec<TxHash> = self.accounts[&account]
                .range(..committed)
                .map(|(_, h)| *h)
                .collect();
            for hash in stale {
                self.remove(&hash);
            }
            // Later nonces past a gap stay (the missing transaction may still arrive, relayed out of order),
            // within the gapped share and until they age out; those the commit made ready stop counting as gapped.
            let next = self.next_nonce(&account, committed);
            self.mark_ready(&account, committed, next);
        }
        if self.arrival.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.arrival.retain(|h| entries.contains_key(h));
        }
    }
}
