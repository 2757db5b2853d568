//! A hardhat node for tests: a real Ethereum JSON-RPC endpoint on loopback (`npx hardhat node` in
//! `examples/ethereum`), and the seeded token activity of `examples/ethereum/drive.js` on it.
//!
//! The npm packages come from `examples/ethereum/package-lock.json` (`scripts/setup.sh` runs `npm ci`).

// Stopping the node's whole process group (npx, its shell, node) needs libc: std signals only its own child.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use primitive_types::U256;
use serde::Deserialize;
use serde_json::{Value, json};

/// An Ethereum address.
pub type Address = [u8; 20];

/// How long hardhat may take to answer its first `eth_chainId` (it loads EDR and derives 20 accounts first).
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// Seconds between the timestamps of blocks that [`HardhatNode::mine`] makes, as `drive.js` does.
const BLOCK_INTERVAL: u64 = 12;
/// Tests share two cores: bound a wedged request instead of hanging the test.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// `examples/ethereum`: the hardhat project, its contracts and scripts.
pub fn ethereum_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/ethereum")
}

/// Fails with what to run when `npm ci` has not installed the example's packages.
fn check_packages(dir: &Path) -> Result<()> {
    if dir.join("node_modules/.bin/hardhat").exists() {
        return Ok(());
    }
    bail!(
        "{} has no node_modules: run `source scripts/setup.sh` (or `cd examples/ethereum && npm ci`) first",
        dir.display()
    )
}

/// A `hardhat node` process on a free loopback port, killed with its process group on drop.
pub struct HardhatNode {
    child: Child,
    url: String,
    log: PathBuf,
    // Holds the log file; removed on drop.
    _dir: tempfile::TempDir,
}

impl HardhatNode {
    /// Starts `npx hardhat node` in `examples/ethereum` (chain id 31337, 20 funded accounts, automine) and waits
    /// until it answers `eth_chainId`.
    pub fn start() -> Result<Self> {
        let eth_dir = ethereum_dir();
        check_packages(&eth_dir)?;
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .context("finding a free loopback port for hardhat")?
            .port();
        let dir = tempfile::tempdir().context("creating the hardhat log directory")?;
        let log = dir.path().join("hardhat.log");
        let out = std::fs::File::create(&log).context("creating the hardhat log")?;
        let err = out.try_clone().context("sharing the hardhat log")?;
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new("npx")
                .args(["--no", "hardhat", "node", "--hostname", "127.0.0.1"])
                .args(["--port", &port.to_string()])
                .current_dir(&eth_dir)
                .env("HARDHAT_DISABLE_TELEMETRY_PROMPT", "true")
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                // Its own group, so drop can stop npx and every process it started.
                .process_group(0)
                .spawn()
                .context("starting `npx hardhat node`: is Node.js installed (scripts/setup.sh)?")?
        };
        let mut node = HardhatNode {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        node.wait_ready()?;
        Ok(node)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().context("polling hardhat")? {
                bail!(
                    "hardhat node exited ({status}) before answering; its log:\n{}",
                    self.log()
                );
            }
            match self.rpc("eth_chainId", json!([])) {
                Ok(_) => return Ok(()),
                Err(e) if started.elapsed() > START_TIMEOUT => {
                    bail!(
                        "hardhat node did not answer eth_chainId within {START_TIMEOUT:?} ({e:#}); its log:\n{}",
                        self.log()
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// The node's JSON-RPC endpoint, `http://127.0.0.1:<port>`.
    pub fn rpc_url(&self) -> &str {
        &self.url
    }

    /// What the node has written to stdout and stderr so far (every JSON-RPC method it served).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(log unreadable: {e})"))
    }

    /// One JSON-RPC call; the `result`, or an error quoting the node's `error`.
    pub fn rpc(&self, method: &str, params: Value) -> Result<Value> {
        rpc_call(&self.url, method, params)
    }

    /// The number of the latest block.
    pub fn block_number(&self) -> Result<u64> {
        let number = self.rpc("eth_blockNumber", json!([]))?;
        quantity(&number).with_context(|| format!("eth_blockNumber answered {number}"))
    }

    /// Deploys the example contracts and runs `rounds` blocks of activity chosen by `seed` (see
    /// [`drive`]); returns what the node holds afterwards.
    pub fn drive(&self, seed: u64, rounds: u32) -> Result<Expected> {
        drive(&self.url, seed, rounds)
    }

    /// Mines `blocks` empty blocks, 12 s apart (`hardhat_mine`): confirmations for what came before.
    pub fn mine(&self, blocks: u64) -> Result<()> {
        let params = json!([format!("{blocks:#x}"), format!("{BLOCK_INTERVAL:#x}")]);
        self.rpc("hardhat_mine", params).map(drop)
    }

    /// Mints `amount` of the ERC-20 at `token` to `to`, sent by its owner (the node's first account, which
    /// deployed it in [`drive`]) and mined at once (automine, as `drive.js` leaves it); returns the block the
    /// mint's `Transfer` log is in.
    pub fn mint(&self, token: &Address, to: &Address, amount: U256) -> Result<u64> {
        let accounts = self.rpc("eth_accounts", json!([]))?;
        let owner = accounts
            .get(0)
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("eth_accounts answered {accounts}"))?
            .to_string();
        // mint(address,uint256): selector 0x40c10f19, then the address and the amount, 32 bytes each.
        let data = format!(
            "0x40c10f19{:0>64}{}",
            hex::encode(to),
            hex::encode(amount.to_big_endian())
        );
        let tx = json!({"from": owner, "to": format!("0x{}", hex::encode(token)), "data": data, "gas": "0x186a0"});
        let hash = self.rpc("eth_sendTransaction", json!([tx]))?;
        let receipt = self.rpc("eth_getTransactionReceipt", json!([hash]))?;
        if receipt.is_null() {
            bail!("mint {hash} was not mined at once: is automine off?");
        }
        if receipt["status"] != "0x1" {
            bail!("mint {hash} failed: {receipt}");
        }
        quantity(&receipt["blockNumber"])
    }

    /// What the node holds now for the tokens and holders of `expected`: every `totalSupply` and `balanceOf`
    /// read again at the latest block.
    pub fn read_back(&self, expected: &Expected) -> Result<Expected> {
        let mut now = expected.clone();
        now.last_block = self.block_number()?;
        for token in &mut now.tokens {
            token.total_supply = self.total_supply(&token.address)?;
            for (holder, balance) in &mut token.balances {
                *balance = self.balance_of(&token.address, holder)?;
            }
        }
        Ok(now)
    }

    /// Block `number`'s hash and receipts root, as the node answers them.
    pub fn block_hashes(&self, number: u64) -> Result<([u8; 32], [u8; 32])> {
        let block = self.rpc(
            "eth_getBlockByNumber",
            json!([format!("{number:#x}"), false]),
        )?;
        let field = |name: &str| -> Result<[u8; 32]> {
            let text = block[name]
                .as_str()
                .ok_or_else(|| anyhow!("block {number} has no {name}: {block}"))?;
            let mut out = [0u8; 32];
            hex::decode_to_slice(text.trim_start_matches("0x"), &mut out)
                .with_context(|| format!("block {number}'s {name} {text:?}"))?;
            Ok(out)
        };
        Ok((field("hash")?, field("receiptsRoot")?))
    }

    /// `balanceOf(holder)` of the ERC-20 at `token`, read with `eth_call` at the latest block.
    pub fn balance_of(&self, token: &Address, holder: &Address) -> Result<U256> {
        // balanceOf(address): selector 0x70a08231, then the address left-padded to 32 bytes.
        let data = format!("0x70a08231{:0>64}", hex::encode(holder));
        self.call_u256(token, &data)
    }

    /// `totalSupply()` of the ERC-20 at `token`, at the latest block.
    pub fn total_supply(&self, token: &Address) -> Result<U256> {
        self.call_u256(token, "0x18160ddd")
    }

    fn call_u256(&self, to: &Address, data: &str) -> Result<U256> {
        let to = format!("0x{}", hex::encode(to));
        let answer = self.rpc("eth_call", json!([{ "to": to, "data": data }, "latest"]))?;
        let text = answer
            .as_str()
            .ok_or_else(|| anyhow!("eth_call answered {answer}"))?;
        let bytes = hex::decode(text.trim_start_matches("0x"))
            .with_context(|| format!("eth_call answered {text}"))?;
        if bytes.len() != 32 {
            bail!(
                "eth_call answered {} bytes, not one uint256: {text}",
                bytes.len()
            );
        }
        Ok(U256::from_big_endian(&bytes))
    }
}

impl Drop for HardhatNode {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: killpg has no memory preconditions; the group is the one `process_group(0)` made for the
            // child, which has not been reaped yet (we wait below), so its id cannot have been reused.
            unsafe { libc::killpg(pid, libc::SIGKILL) };
        }
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("hardhat node log ({}):\n{}", self.url, self.log());
        }
    }
}

/// One JSON-RPC call to `url`.
pub fn rpc_call(url: &str, method: &str, params: Value) -> Result<Value> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(REQUEST_TIMEOUT))
        .build()
        .into();
    let request = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let mut answer: Value = agent
        .post(url)
        .send_json(&request)
        .with_context(|| format!("{method} to {url}"))?
        .body_mut()
        .read_json()
        .with_context(|| format!("reading the answer to {method} from {url}"))?;
    if let Some(error) = answer.get("error") {
        bail!("{method} to {url} failed: {error}");
    }
    answer
        .get_mut("result")
        .map(Value::take)
        .ok_or_else(|| anyhow!("{method} to {url}: an answer without result: {answer}"))
}

/// Runs `node drive.js --rpc <rpc_url> --seed <seed> --rounds <rounds>` in `examples/ethereum` and parses what it
/// writes. The node at `rpc_url` must sign for its accounts and take hardhat's mining methods.
pub fn drive(rpc_url: &str, seed: u64, rounds: u32) -> Result<Expected> {
    let eth_dir = ethereum_dir();
    check_packages(&eth_dir)?;
    let dir = tempfile::tempdir().context("creating a directory for drive.js's output")?;
    let out = dir.path().join("expected.json");
    let output = Command::new("node")
        .arg("drive.js")
        .args([
            "--rpc",
            rpc_url,
            "--seed",
            &seed.to_string(),
            "--rounds",
            &rounds.to_string(),
        ])
        .arg("--out")
        .arg(&out)
        .current_dir(&eth_dir)
        .stdin(Stdio::null())
        .output()
        .context("running `node drive.js`: is Node.js installed (scripts/setup.sh)?")?;
    if !output.status.success() {
        bail!(
            "drive.js failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text =
        std::fs::read_to_string(&out).with_context(|| format!("reading {}", out.display()))?;
    Expected::from_json(&text)
}

/// What the node holds after `drive.js` ran: the file `drive.js --out` and `generate.js --expected` write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The chain's id (31337 on hardhat).
    pub chain_id: u64,
    /// The block holding the contracts' deployment: the first with their logs.
    pub deploy_block: u64,
    /// The last block drive.js mined.
    pub last_block: u64,
    /// The ERC-20s, in deployment order.
    pub tokens: Vec<TokenState>,
    /// The ERC-721, whose `Transfer` logs (four topics) ERC-20 readers must skip.
    pub collectible: Address,
}

/// One ERC-20 as the node reports it at the end of a drive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenState {
    /// `symbol()`, e.g. `ALP`.
    pub symbol: String,
    /// `decimals()`.
    pub decimals: u8,
    /// The contract's address.
    pub address: Address,
    /// `Transfer` logs the contract emitted, mints and burns included.
    pub transfer_logs: u64,
    /// `totalSupply()`.
    pub total_supply: U256,
    /// `balanceOf` of every address that was ever the sender or recipient of one of its transfers (zero
    /// balances included), except the zero address.
    pub balances: BTreeMap<Address, U256>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExpectedJson {
    chain_id: u64,
    deploy_block: u64,
    last_block: u64,
    tokens: Vec<TokenJson>,
    collectible: CollectibleJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenJson {
    symbol: String,
    decimals: u8,
    address: String,
    transfer_logs: u64,
    total_supply: String,
    balances: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct CollectibleJson {
    address: String,
}

impl Expected {
    /// Parses the JSON `drive.js` writes (addresses as `0x` hex, amounts as decimal strings).
    pub fn from_json(text: &str) -> Result<Self> {
        let raw: ExpectedJson = serde_json::from_str(text).context("parsing drive.js's JSON")?;
        let tokens = raw
            .tokens
            .into_iter()
            .map(|t| {
                let balances = t
                    .balances
                    .iter()
                    .map(|(holder, amount)| Ok((address(holder)?, decimal(amount)?)))
                    .collect::<Result<_>>()?;
                Ok(TokenState {
                    address: address(&t.address)?,
                    total_supply: decimal(&t.total_supply)?,
                    symbol: t.symbol,
                    decimals: t.decimals,
                    transfer_logs: t.transfer_logs,
                    balances,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Expected {
            chain_id: raw.chain_id,
            deploy_block: raw.deploy_block,
            last_block: raw.last_block,
            tokens,
            collectible: address(&raw.collectible.address)?,
        })
    }
}

/// A `0x`-prefixed 20-byte hex address.
pub fn address(text: &str) -> Result<Address> {
    let hex_digits = text
        .strip_prefix("0x")
        .ok_or_else(|| anyhow!("address {text:?} lacks its 0x prefix"))?;
    let mut out = [0u8; 20];
    hex::decode_to_slice(hex_digits, &mut out)
        .with_context(|| format!("address {text:?} is not 20 bytes of hex"))?;
    Ok(out)
}

/// A decimal uint256.
pub fn decimal(text: &str) -> Result<U256> {
    U256::from_dec_str(text).map_err(|e| anyhow!("amount {text:?} is not a decimal uint256: {e:?}"))
}

/// A JSON-RPC quantity (`"0x1a"`).
pub fn quantity(value: &Value) -> Result<u64> {
    let text = value
        .as_str()
        .ok_or_else(|| anyhow!("{value} is not a quantity string"))?;
    let digits = text
        .strip_prefix("0x")
        .ok_or_else(|| anyhow!("quantity {text:?} lacks its 0x prefix"))?;
    u64::from_str_radix(digits, 16).with_context(|| format!("quantity {text:?} is not hex"))
}
