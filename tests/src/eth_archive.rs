//! Synthetic Ethereum archives of any size, for the perf bench's pull path: blocks in the real formats
//! (Cancun headers, signed EIP-1559 transactions, receipts with their blooms), every hash and root computed with
//! alloy, carrying ERC-20 `Transfer` logs: several tokens, many holders (a few very active, most rarely), plain
//! transfers (one log) and swaps through pools (two logs, two tokens). The same [`ArchiveSpec`] always gives the
//! same bytes: randomness comes only from a seeded ChaCha stream.
//!
//! Signatures are well-formed but sign nothing (a validator never recovers senders: it checks hashes and roots),
//! which keeps generating 100,000 logs well under a second of secp256k1-free work.

use std::io::{BufWriter, Write};
use std::path::Path;

use alloy_consensus::proofs::{calculate_receipt_root, calculate_transaction_root};
use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, EMPTY_ROOT_HASH, Eip658Value, EthereumTxEnvelope, Header, Receipt,
    ReceiptEnvelope, Signed, TxEip1559, TxEip4844,
};
use alloy_eips::eip2718::Encodable2718;
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, B64, B256, Bloom, Bytes, Log, Signature, TxKind, U256, keccak256};
use alloy_rlp::Encodable;
use cvm_host::sources::ethereum::archive::ArchiveFormat;
use cvm_host::sources::ethereum::{
    ArchiveLine, BinaryArchiveWriter, EthBlockData, RpcBlock, RpcReceipt, RpcTransaction,
    verify_block,
};
use cvm_runtime::sources::SourceHead;
use parity_scale_codec::Encode;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSpec {
    /// At least this many logs (the last block is completed).
    pub logs: usize,
    /// Logs per block, drawn uniformly from this inclusive range.
    pub logs_per_block: (usize, usize),
    /// ERC-20 tokens.
    pub tokens: usize,
    /// Accounts sending and receiving them.
    pub holders: usize,
    /// Seed of the random stream.
    pub seed: u64,
    /// The first block's number.
    pub first_block: u64,
    /// The chain id transactions carry.
    pub chain_id: u64,
}

impl Default for ArchiveSpec {
    fn default() -> Self {
        ArchiveSpec {
            logs: 100_000,
            logs_per_block: (100, 500),
            tokens: 16,
            holders: 20_000,
            seed: 23,
            first_block: 20_000_000,
            chain_id: 1,
        }
    }
}

/// One generated block: its header, hash, transactions and receipts as alloy types.
#[derive(Debug, Clone)]
pub struct GeneratedBlock {
    /// The header.
    pub header: Header,
    /// keccak-256 of its RLP.
    pub hash: B256,
    /// Signed transactions, in block order.
    pub transactions: Vec<EthereumTxEnvelope<TxEip4844>>,
    /// Their receipts, in the same order.
    pub receipts: Vec<ReceiptEnvelope<Log>>,
}

impl GeneratedBlock {
    /// The block as a node holds it.
    pub fn block_data(&self) -> EthBlockData {
        let mut header_rlp = Vec::with_capacity(self.header.length());
        self.header.encode(&mut header_rlp);
        EthBlockData {
            header_rlp,
            transactions: self
                .transactions
                .iter()
                .map(Encodable2718::encoded_2718)
                .collect(),
            receipts: Some(
                self.receipts
                    .iter()
                    .map(Encodable2718::encoded_2718)
                    .collect(),
            ),
        }
    }

    /// The block as a JSON archive line holds it (the JSON-RPC shapes).
    pub fn archive_line(&self) -> ArchiveLine {
        ArchiveLine {
            block: RpcBlock {
                header: self.header.clone(),
                hash: self.hash,
                transactions: self
                    .transactions
                    .iter()
                    .map(|tx| RpcTransaction {
                        envelope: tx.clone(),
                    })
                    .collect(),
            },
            receipts: Some(
                self.receipts
                    .iter()
                    .zip(&self.transactions)
                    .map(|(receipt, tx)| RpcReceipt {
                        envelope: receipt.clone(),
                        transaction_hash: *tx.tx_hash(),
                    })
                    .collect(),
            ),
        }
    }

    /// Its logs.
    pub fn log_count(&self) -> usize {
        self.receipts.iter().map(|r| r.logs().len()).sum()
    }
}

/// `keccak256("Transfer(address,address,uint256)")`.
fn transfer_topic() -> B256 {
    keccak256("Transfer(address,address,uint256)")
}

fn address(kind: &str, index: usize) -> Address {
    Address::from_slice(&keccak256(format!("cvm-bench/{kind}/{index}"))[12..])
}

fn topic(address: Address) -> B256 {
    address.into_word()
}

fn word(value: U256) -> [u8; 32] {
    value.to_be_bytes()
}

/// The blocks of `spec`, generated lazily in order.
pub struct Blocks {
    spec: ArchiveSpec,
    rng: ChaCha8Rng,
    tokens: Vec<Address>,
    holders: Vec<Address>,
    nonces: Vec<u64>,
    router: Address,
    logs: usize,
    number: u64,
    parent: B256,
}

/// Generates the blocks of `spec`.
pub fn blocks(spec: &ArchiveSpec) -> Blocks {
    assert!(
        spec.tokens >= 2 && spec.holders >= 2,
        "a swap needs two tokens, a transfer two holders"
    );
    assert!(spec.logs_per_block.0 >= 1 && spec.logs_per_block.0 <= spec.logs_per_block.1);
    Blocks {
        rng: ChaCha8Rng::seed_from_u64(spec.seed),
        tokens: (0..spec.tokens).map(|i| address("token", i)).collect(),
        holders: (0..spec.holders).map(|i| address("holder", i)).collect(),
        nonces: vec![0; spec.holders],
        router: address("router", 0),
        logs: 0,
        number: spec.first_block,
        parent: keccak256(format!("cvm-bench/parent/{}", spec.first_block)),
        spec: spec.clone(),
    }
}

impl Blocks {
    fn below(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n as u64) as usize
    }

    /// A holder, most often one of the first few: activity on a token is very uneven.
    fn holder(&mut self) -> usize {
        let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u * u) * self.spec.holders as f64) as usize % self.spec.holders
    }

    fn amount(&mut self) -> U256 {
        U256::from(self.rng.next_u64() % 1_000_000_000) * U256::from(1_000_000_000u64)
    }

    fn random_word(&mut self) -> U256 {
        let mut bytes = [0u8; 32];
        self.rng.fill_bytes(&mut bytes);
        // Below the curve order, as a real signature's r and s are.
        bytes[0] &= 0x7f;
        U256::from_be_bytes(bytes)
    }

    fn transfer_log(&self, token: Address, from: Address, to: Address, amount: U256) -> Log {
        Log::new_unchecked(
            token,
            vec![transfer_topic(), topic(from), topic(to)],
            Bytes::copy_from_slice(&word(amount)),
        )
    }

    fn signed(
        &mut self,
        sender: usize,
        to: Address,
        input: Vec<u8>,
        gas: u64,
    ) -> EthereumTxEnvelope<TxEip4844> {
        let nonce = self.nonces[sender];
        self.nonces[sender] += 1;
        let tx = TxEip1559 {
            chain_id: self.spec.chain_id,
            nonce,
            gas_limit: gas + gas / 4,
            max_fee_per_gas: 30_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(to),
            value: U256::ZERO,
            access_list: AccessList::default(),
            input: input.into(),
        };
        let signature = Signature::new(
            self.random_word(),
            self.random_word(),
            self.rng.next_u32() & 1 == 1,
        );
        EthereumTxEnvelope::Eip1559(Signed::new_unhashed(tx, signature))
    }

    /// `transfer(to, amount)` on a token: one log.
    fn transfer(&mut self) -> (EthereumTxEnvelope<TxEip4844>, Vec<Log>, u64) {
        let token = self.below(self.spec.tokens);
        let token = self.tokens[token];
        let from = self.holder();
        let mut to = self.holder();
        if to == from {
            to = (to + 1) % self.spec.holders;
        }
        let amount = self.amount();
        let mut input = vec![0xa9, 0x05, 0x9c, 0xbb];
        input.extend_from_slice(&topic(self.holders[to]).0);
        input.extend_from_slice(&word(amount));
        let gas = 51_000;
        let log = self.transfer_log(token, self.holders[from], self.holders[to], amount);
        (self.signed(from, token, input, gas), vec![log], gas)
    }

    /// A swap of one token for another through their pool: two logs.
    fn swap(&mut self) -> (EthereumTxEnvelope<TxEip4844>, Vec<Log>, u64) {
        let a = self.below(self.spec.tokens);
        let b = (a + 1 + self.below(self.spec.tokens - 1)) % self.spec.tokens;
        let pool = address("pool", a.min(b) * self.spec.tokens + a.max(b));
        let user = self.holder();
        let (amount_in, amount_out) = (self.amount(), self.amount());
        let mut input = vec![0x38, 0xed, 0x17, 0x39];
        for value in [
            amount_in,
            amount_out,
            U256::from(160),
            U256::from(a),
            U256::from(b),
        ] {
            input.extend_from_slice(&word(value));
        }
        let logs = vec![
            self.transfer_log(self.tokens[a], self.holders[user], pool, amount_in),
            self.transfer_log(self.tokens[b], pool, self.holders[user], amount_out),
        ];
        let gas = 118_000;
        (self.signed(user, self.router, input, gas), logs, gas)
    }
}

impl Iterator for Blocks {
    type Item = GeneratedBlock;

    fn next(&mut self) -> Option<GeneratedBlock> {
        if self.logs >= self.spec.logs {
            return None;
        }
        let (low, high) = self.spec.logs_per_block;
        let target = low + self.below(high - low + 1);
        let mut transactions = Vec::new();
        let mut receipts = Vec::new();
        let mut bloom = Bloom::default();
        let mut gas_used = 0u64;
        let mut logs = 0;
        while logs < target {
            // About one transaction in four is a swap, as on a busy chain's token traffic.
            let (tx, tx_logs, gas) = if target - logs >= 2 && self.below(4) == 0 {
                self.swap()
            } else {
                self.transfer()
            };
            gas_used += gas;
            logs += tx_logs.len();
            let receipt = Receipt {
                status: Eip658Value::Eip658(true),
                cumulative_gas_used: gas_used,
                logs: tx_logs,
            }
            .with_bloom();
            bloom.accrue_bloom(&receipt.logs_bloom);
            transactions.push(tx);
            receipts.push(ReceiptEnvelope::Eip1559(receipt));
        }
        let index = self.number - self.spec.first_block;
        let header = Header {
            parent_hash: self.parent,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: address("builder", (index % 7) as usize),
            state_root: keccak256(format!("cvm-bench/state/{}", self.number)),
            transactions_root: calculate_transaction_root(&transactions),
            receipts_root: calculate_receipt_root(&receipts),
            logs_bloom: bloom,
            difficulty: U256::ZERO,
            number: self.number,
            gas_limit: 36_000_000,
            gas_used,
            timestamp: 1_720_000_000 + 12 * index,
            extra_data: Bytes::from_static(b"cvm-bench"),
            mix_hash: keccak256(format!("cvm-bench/randao/{}", self.number)),
            nonce: B64::ZERO,
            base_fee_per_gas: Some(7_000_000_000),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(keccak256(format!("cvm-bench/beacon/{}", self.number))),
            ..Header::default()
        };
        let hash = header.hash_slow();
        self.parent = hash;
        self.number += 1;
        self.logs += logs;
        Some(GeneratedBlock {
            header,
            hash,
            transactions,
            receipts,
        })
    }
}

/// What [`write_archive`] wrote.
#[derive(Debug, Clone)]
pub struct Archive {
    /// The first block: what a source registration pins.
    pub first: SourceHead,
    /// The last block's number.
    pub last: u64,
    /// Blocks written.
    pub blocks: u64,
    /// Every log of every block as the source's records (SCALE `EthLog`s, in order), read back through the
    /// node's own verification: what a validator ingests.
    pub records: Vec<Vec<u8>>,
    /// Bytes of the file.
    pub bytes: u64,
}

/// Writes the archive of `spec` to `path` in `format`, each block checked with the node's [`verify_block`].
pub fn write_archive(
    spec: &ArchiveSpec,
    path: &Path,
    format: ArchiveFormat,
) -> std::io::Result<Archive> {
    let file = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    enum Out {
        Json(BufWriter<std::fs::File>),
        Binary(BinaryArchiveWriter<BufWriter<std::fs::File>>),
    }
    let mut out = match format {
        ArchiveFormat::JsonLines => Out::Json(file),
        ArchiveFormat::Binary => Out::Binary(BinaryArchiveWriter::new(file)?),
    };
    let mut first = None;
    let mut last = 0;
    let mut count = 0;
    let mut records = Vec::with_capacity(spec.logs + spec.logs_per_block.1);
    for block in blocks(spec) {
        let data = block.block_data();
        let verified = verify_block(&data).map_err(std::io::Error::other)?;
        records.extend(verified.logs.iter().map(Encode::encode));
        first.get_or_insert(SourceHead {
            number: verified.number,
            hash: verified.hash,
        });
        last = verified.number;
        count += 1;
        match &mut out {
            Out::Json(file) => {
                let line = block
                    .archive_line()
                    .to_json()
                    .map_err(std::io::Error::other)?;
                file.write_all(line.as_bytes())?;
                file.write_all(b"\n")?;
            }
            Out::Binary(writer) => writer.push(&data)?,
        }
    }
    match out {
        Out::Json(mut file) => file.flush()?,
        Out::Binary(writer) => {
            writer.finish()?;
        }
    }
    Ok(Archive {
        first: first.ok_or_else(|| std::io::Error::other("the spec makes no block"))?,
        last,
        blocks: count,
        records,
        bytes: std::fs::metadata(path)?.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cvm_host::sources::ethereum::{ArchiveEndpoint, SourceEndpoint};

    fn small() -> ArchiveSpec {
        ArchiveSpec {
            logs: 2_000,
            ..ArchiveSpec::default()
        }
    }

    #[test]
    fn both_formats_serve_the_same_verified_blocks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = small();
        let json = write_archive(&spec, &dir.path().join("a.jsonl"), ArchiveFormat::JsonLines)
            .expect("json archive");
        let binary = write_archive(&spec, &dir.path().join("a.bin"), ArchiveFormat::Binary)
            .expect("binary archive");
        assert_eq!(json.records, binary.records);
        assert!(json.records.len() >= spec.logs);
        assert!(
            binary.bytes < json.bytes,
            "{} vs {}",
            binary.bytes,
            json.bytes
        );
        let from_json = ArchiveEndpoint::open(&dir.path().join("a.jsonl"), 1).expect("opens");
        let from_binary = ArchiveEndpoint::open(&dir.path().join("a.bin"), 1).expect("opens");
        assert_eq!(from_json.format(), ArchiveFormat::JsonLines);
        assert_eq!(from_binary.format(), ArchiveFormat::Binary);
        assert_eq!(from_json.range(), Some((json.first.number, json.last)));
        let mut parent = None;
        for number in json.first.number..=json.last {
            let a = from_json.block(number).expect("reads").expect("present");
            let b = from_binary.block(number).expect("reads").expect("present");
            assert_eq!(a, b, "block {number}");
            let block = verify_block(&a).expect("verifies");
            if let Some(parent) = parent {
                assert_eq!(block.parent_hash, parent, "block {number} links");
            }
            parent = Some(block.hash);
            assert!(
                (100..=500).contains(&block.logs.len()),
                "{}",
                block.logs.len()
            );
        }
    }

    #[test]
    fn the_same_spec_gives_the_same_bytes_and_another_seed_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = small();
        let read = |name: &str, spec: &ArchiveSpec| {
            let path = dir.path().join(name);
            write_archive(spec, &path, ArchiveFormat::Binary).expect("archive");
            std::fs::read(path).expect("read")
        };
        assert_eq!(read("a", &spec), read("b", &spec));
        let other = ArchiveSpec { seed: 24, ..spec };
        assert_ne!(read("a", &small()), read("c", &other));
    }
}
