//! # datagen
//!
//! A deterministic generator of Ethereum logs in the JSON-RPC shape (`eth_getLogs`, with `blockTimestamp`), used
//! to make `examples/data/erc20-logs.jsonl`. [`generate`] turns a [`Config`] (count, seed) into
//! [`RpcLog`]s; [`to_jsonl`] renders them one per line. The same config always gives the same
//! bytes: randomness comes only from a seeded ChaCha stream, hashes from keccak-256.
//!
//! What the logs contain: ERC-20 `Transfer`s between ~200 holders of 8 tokens, starting with
//! mints so that no transfer ever overdraws a balance (the data starts at the tokens' deployment);
//! later mints and burns and a few zero-value transfers; plus, to exercise manuscripts' filters,
//! `Approval` logs and ERC-721 `Transfer`s (4 topics). Every log carries its block's hash and
//! timestamp, and none is `removed`: a source delivers only logs of its chain. Blocks are 12 s
//! apart; those with logs have 1–8 each, with log-less blocks in between (~1 day of chain for
//! 5,000 logs); `logIndex` increases within a block.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde::Serialize;
use sha3::{Digest, Keccak256};
use std::fmt::Write;

/// Default number of logs.
pub const DEFAULT_COUNT: usize = 5_000;
/// Default seed.
pub const DEFAULT_SEED: u64 = 42;
/// Number of ERC-20 tokens.
pub const TOKENS: usize = 8;
/// Number of holders.
pub const HOLDERS: usize = 200;
/// First block number.
pub const FIRST_BLOCK: u64 = 18_000_000;
/// Timestamp of the first block (seconds): 2023-11-14T22:13:20Z.
pub const FIRST_TIMESTAMP: u64 = 1_700_000_000;
/// Seconds between blocks.
pub const BLOCK_INTERVAL: u64 = 12;

/// Generator parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Number of logs to generate.
    pub count: usize,
    /// Seed of the random stream.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            count: DEFAULT_COUNT,
            seed: DEFAULT_SEED,
        }
    }
}

/// One log in the JSON-RPC shape (fields in the order geth prints them; `removed`, always false here, left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcLog {
    /// Emitting contract, `0x` + 40 hex digits.
    pub address: String,
    /// Topics, each `0x` + 64 hex digits.
    pub topics: Vec<String>,
    /// Data, `0x` + hex.
    pub data: String,
    /// Hex quantity.
    pub block_number: String,
    /// Block hash.
    pub block_hash: String,
    /// Hex quantity, seconds.
    pub block_timestamp: String,
    /// Transaction hash.
    pub transaction_hash: String,
    /// Hex quantity.
    pub transaction_index: String,
    /// Hex quantity.
    pub log_index: String,
}

/// keccak-256 of `data`.
pub fn keccak(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// keccak-256 of an event signature: its `topic0`.
pub fn event_topic(signature: &str) -> [u8; 32] {
    keccak(signature.as_bytes())
}

/// A deterministic address derived from a label (the low 20 bytes of its keccak).
pub fn address(label: &str) -> [u8; 20] {
    let mut a = [0u8; 20];
    a.copy_from_slice(&keccak(label.as_bytes())[12..]);
    a
}

/// The contract address of ERC-20 token `i`.
pub fn token_address(i: usize) -> [u8; 20] {
    address(&format!("datagen token {i}"))
}

/// The address of holder `i`.
pub fn holder_address(i: usize) -> [u8; 20] {
    address(&format!("datagen holder {i}"))
}

/// The address of the ERC-721 collection whose transfers are mixed in.
pub fn nft_address() -> [u8; 20] {
    address("datagen nft")
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn quantity(n: u64) -> String {
    format!("{n:#x}")
}

fn address_topic(a: &[u8; 20]) -> String {
    let mut t = [0u8; 32];
    t[12..].copy_from_slice(a);
    hex0x(&t)
}

fn word(value: u128) -> String {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&value.to_be_bytes());
    hex0x(&w)
}

/// The random stream, reduced to the two operations the generator needs (no dependence on a
/// distribution algorithm that could change between `rand` versions).
struct Rng(ChaCha8Rng);

impl Rng {
    /// Uniform-ish in `0..n` (modulo bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        self.0.next_u64() % n
    }

    fn percent(&mut self) -> u64 {
        self.below(100)
    }

    /// An amount in `1..=max`.
    fn amount(&mut self, max: u128) -> u128 {
        let r = (u128::from(self.0.next_u64()) << 64) | u128::from(self.0.next_u64());
        1 + r % max
    }
}

/// 10^18: one whole token in base units.
const UNIT: u128 = 1_000_000_000_000_000_000;

struct Generator {
    rng: Rng,
    seed: u64,
    tokens: Vec<[u8; 20]>,
    holders: Vec<[u8; 20]>,
    /// balances[token][holder], kept so that valid transfers never overdraw.
    balances: Vec<Vec<u128>>,
    next_nft_id: u64,
    block: u64,
    log_index: u64,
    tx_index: u64,
    tx_logs_left: u64,
    tx_hash: [u8; 32],
    block_logs_left: u64,
    out: Vec<RpcLog>,
}

enum Event {
    Erc20 {
        token: usize,
        from: [u8; 20],
        to: [u8; 20],
        value: u128,
    },
    Approval {
        token: usize,
        owner: usize,
        spender: usize,
        value: u128,
    },
    Nft {
        from: [u8; 20],
        to: [u8; 20],
        id: u64,
    },
}

impl Generator {
    fn new(config: &Config) -> Self {
        Generator {
            rng: Rng(ChaCha8Rng::seed_from_u64(config.seed)),
            seed: config.seed,
            tokens: (0..TOKENS).map(token_address).collect(),
            holders: (0..HOLDERS).map(holder_address).collect(),
            balances: vec![vec![0; HOLDERS]; TOKENS],
            next_nft_id: 1,
            block: FIRST_BLOCK - 1,
            log_index: 0,
            tx_index: 0,
            tx_logs_left: 0,
            tx_hash: [0; 32],
            block_logs_left: 0,
            out: Vec::new(),
        }
    }

    /// Places the next log: a new transaction every 1–3 logs, a new block every 1–8 logs.
    fn position(&mut self) {
        if self.block_logs_left == 0 {
            // Our contracts do not log in every block: skip 0-9 blocks, ~1 day for 5,000 logs.
            self.block += 1 + self.rng.below(10);
            self.block_logs_left = 1 + self.rng.below(8);
            self.log_index = 0;
            self.tx_index = self.rng.below(5);
            self.tx_logs_left = 0;
        } else {
            self.log_index += 1;
        }
        if self.tx_logs_left == 0 {
            self.tx_index += 1 + self.rng.below(3);
            self.tx_logs_left = 1 + self.rng.below(3);
            let label = format!("datagen tx {} {} {}", self.seed, self.block, self.tx_index);
            self.tx_hash = keccak(label.as_bytes());
        }
        self.block_logs_left -= 1;
        self.tx_logs_left -= 1;
    }

    fn push(&mut self, event: Event) {
        self.position();
        let (address, topics, data) = match event {
            Event::Erc20 {
                token,
                from,
                to,
                value,
            } => (
                self.tokens[token],
                vec![
                    hex0x(&event_topic("Transfer(address,address,uint256)")),
                    address_topic(&from),
                    address_topic(&to),
                ],
                word(value),
            ),
            Event::Approval {
                token,
                owner,
                spender,
                value,
            } => (
                self.tokens[token],
                vec![
                    hex0x(&event_topic("Approval(address,address,uint256)")),
                    address_topic(&self.holders[owner]),
                    address_topic(&self.holders[spender]),
                ],
                word(value),
            ),
            Event::Nft { from, to, id } => (
                nft_address(),
                vec![
                    hex0x(&event_topic("Transfer(address,address,uint256)")),
                    address_topic(&from),
                    address_topic(&to),
                    word(id.into()),
                ],
                "0x".to_string(),
            ),
        };
        let block_hash = keccak(format!("datagen block {} {}", self.seed, self.block).as_bytes());
        self.out.push(RpcLog {
            address: hex0x(&address),
            topics,
            data,
            block_number: quantity(self.block),
            block_hash: hex0x(&block_hash),
            block_timestamp: quantity(
                FIRST_TIMESTAMP + (self.block - FIRST_BLOCK) * BLOCK_INTERVAL,
            ),
            transaction_hash: hex0x(&self.tx_hash),
            transaction_index: quantity(self.tx_index),
            log_index: quantity(self.log_index),
        });
    }

    fn holder(&mut self) -> usize {
        self.rng.below(HOLDERS as u64) as usize
    }

    fn token(&mut self) -> usize {
        self.rng.below(TOKENS as u64) as usize
    }

    fn mint(&mut self, token: usize, holder: usize) {
        let value = self.rng.amount(1_000_000 * UNIT);
        self.balances[token][holder] += value;
        let to = self.holders[holder];
        self.push(Event::Erc20 {
            token,
            from: [0; 20],
            to,
            value,
        });
    }

    /// A holder of `token` with a non-zero balance, if the random probe finds one.
    fn funded_holder(&mut self, token: usize) -> Option<usize> {
        for _ in 0..16 {
            let h = self.holder();
            if self.balances[token][h] > 0 {
                return Some(h);
            }
        }
        None
    }

    fn transfer(&mut self, burn: bool) {
        let token = self.token();
        let Some(from) = self.funded_holder(token) else {
            let holder = self.holder();
            return self.mint(token, holder);
        };
        let balance = self.balances[token][from];
        // Mostly small slices of the balance, sometimes all of it.
        let value = if self.rng.percent() < 10 {
            balance
        } else {
            self.rng.amount(balance.div_ceil(4))
        };
        self.balances[token][from] -= value;
        let to = if burn {
            [0; 20]
        } else {
            let to = self.holder();
            self.balances[token][to] += value;
            self.holders[to]
        };
        let from = self.holders[from];
        self.push(Event::Erc20 {
            token,
            from,
            to,
            value,
        });
    }

    fn run(mut self, count: usize) -> Vec<RpcLog> {
        // Opening mints: every token to 25 holders (or fewer when `count` is small).
        let opening = (TOKENS * 25).min(count / 2);
        for i in 0..opening {
            let holder = self.holder();
            self.mint(i % TOKENS, holder);
        }
        while self.out.len() < count {
            match self.rng.percent() {
                0..=79 => self.transfer(false),
                80..=83 => {
                    let (token, holder) = (self.token(), self.holder());
                    self.mint(token, holder);
                }
                84..=85 => self.transfer(true),
                86..=92 => {
                    let (token, owner, spender) = (self.token(), self.holder(), self.holder());
                    let value = self.rng.amount(u128::MAX);
                    self.push(Event::Approval {
                        token,
                        owner,
                        spender,
                        value,
                    });
                }
                93..=98 => {
                    let id = self.next_nft_id;
                    self.next_nft_id += 1;
                    let holder = self.holder();
                    let to = self.holders[holder];
                    self.push(Event::Nft {
                        from: [0; 20],
                        to,
                        id,
                    });
                }
                _ => {
                    // Zero-value transfers are valid ERC-20 and appear on mainnet (airdrop spam, probes).
                    let (token, from, to) = (self.token(), self.holder(), self.holder());
                    let (from, to) = (self.holders[from], self.holders[to]);
                    self.push(Event::Erc20 {
                        token,
                        from,
                        to,
                        value: 0,
                    });
                }
            }
        }
        self.out
    }
}

/// Generates `config.count` logs.
pub fn generate(config: &Config) -> Vec<RpcLog> {
    Generator::new(config).run(config.count)
}

/// Renders logs as JSON Lines (one compact object per line, trailing newline).
pub fn to_jsonl(logs: &[RpcLog]) -> String {
    let mut out = String::with_capacity(logs.len() * 800);
    for log in logs {
        let line = serde_json::to_string(log).expect("RpcLog serializes");
        writeln!(out, "{line}").expect("writing to a String");
    }
    out
}
