// Deploys two ERC-20s (18 and 6 decimals) and an ERC-721 to a hardhat node and performs a seeded mix of token
// activity, one block per round, then reads every holder's balance back from the node.
//
//   node drive.js --rpc URL [--seed N] [--rounds M] [--out expected.json]
//
// The node must sign for its own accounts (`eth_accounts`, `eth_sendTransaction`) and take hardhat's mining
// methods (`evm_setAutomine`, `evm_mine` with a timestamp): a hardhat node, or `npx hardhat node`. Blocks are
// 12 s apart whatever the wall clock, and transactions land in the order they are sent (the network's mempool is
// FIFO), so a fresh node given the same seed and rounds produces the same chain.
//
// Every choice follows a model of balances and allowances kept here; each receipt's status is checked against
// what the model expects and the final balances against what the node answers, so a wrong model stops the run
// instead of writing a wrong expectation.
"use strict";

const fs = require("fs");
const { parseArgs } = require("util");
const { ethers } = require("ethers");
const { compile } = require("./compile");
const rpcClient = require("./rpc");

const BLOCK_INTERVAL = 12;
const TRANSFER_TOPIC = ethers.id("Transfer(address,address,uint256)");
const MAX_UINT256 = ethers.MaxUint256;
/** Addresses that only receive (no key on the node), so holders outnumber the node's 20 accounts. */
const PASSIVE_HOLDERS = 30;

const TOKENS = [
  { name: "Alpha", symbol: "ALP", decimals: 18, initialSupply: 1_000_000n * 10n ** 18n },
  { name: "Beta Dollar", symbol: "BUSD", decimals: 6, initialSupply: 5_000_000n * 10n ** 6n },
];

/** Relative weights of what a transaction does. */
const ACTIONS = [
  ["transfer", 40],
  ["zeroTransfer", 4],
  ["selfTransfer", 4],
  ["failingTransfer", 2],
  ["mint", 7],
  ["mintBatch", 8],
  ["burn", 5],
  ["approve", 9],
  ["transferFrom", 10],
  ["burnFrom", 3],
  ["nftMint", 6],
  ["nftTransfer", 5],
  ["nftApproveAll", 2],
];

/** A deterministic stream of 256-bit numbers: keccak256(seed, counter). */
class Rng {
  constructor(seed) {
    this.seed = BigInt(seed);
    this.counter = 0n;
  }
  next() {
    const word = ethers.solidityPackedKeccak256(["uint256", "uint256"], [this.seed, this.counter]);
    this.counter += 1n;
    return BigInt(word);
  }
  /** A number in [0, n). */
  below(n) {
    return Number(this.next() % BigInt(n));
  }
  /** A bigint in [0, n). */
  belowBig(n) {
    return this.next() % n;
  }
  chance(percent) {
    return this.below(100) < percent;
  }
  pick(items) {
    return items[this.below(items.length)];
  }
  /** An amount in [1, max], max itself one time in ten; 0 when max is 0. */
  amount(max) {
    if (max === 0n) return 0n;
    if (this.chance(10)) return max;
    return this.belowBig(max) + 1n;
  }
}

const hex = (n) => ethers.toQuantity(n);
const lower = (address) => address.toLowerCase();

/** The state drive.js expects the contracts to hold, updated as transactions are sent. */
class Model {
  constructor(owner) {
    this.owner = owner;
    this.tokens = [];
    this.nft = null;
  }
  addToken(spec, address, iface) {
    const token = { ...spec, address, iface, supply: 0n, balances: new Map(), allowances: new Map(), transferLogs: 0 };
    this.tokens.push(token);
    this.credit(token, this.owner, spec.initialSupply);
    return token;
  }
  balance(token, who) {
    return token.balances.get(who) ?? 0n;
  }
  credit(token, who, amount) {
    token.balances.set(who, this.balance(token, who) + amount);
  }
  debit(token, who, amount) {
    const balance = this.balance(token, who);
    if (balance < amount) throw new Error(`model: ${who} cannot pay ${amount} of ${token.symbol}`);
    token.balances.set(who, balance - amount);
  }
  allowance(token, owner, spender) {
    return token.allowances.get(`${owner}/${spender}`) ?? 0n;
  }
  spend(token, owner, spender, amount) {
    const allowance = this.allowance(token, owner, spender);
    // OpenZeppelin never lowers an unlimited allowance.
    if (allowance !== MAX_UINT256) token.allowances.set(`${owner}/${spender}`, allowance - amount);
  }
}

class Driver {
  constructor(rpc, rng, accounts, contracts) {
    this.rpc = rpc;
    this.rng = rng;
    this.accounts = accounts;
    this.owner = accounts[0];
    this.contracts = contracts;
    this.model = new Model(this.owner);
    this.passive = Array.from({ length: PASSIVE_HOLDERS }, (_, i) =>
      lower(ethers.dataSlice(ethers.id(`cvm-example-holder-${i}`), 12)),
    );
    this.recipients = [...accounts, ...this.passive];
    this.pending = [];
  }

  async send(from, to, data, gas, expectSuccess = true) {
    const tx = { from, data, gas: hex(gas) };
    if (to) tx.to = to;
    const hash = await this.rpc.send("eth_sendTransaction", [tx]);
    this.pending.push({ hash, expectSuccess });
  }

  /** Mines what was sent into one block 12 s after the last, and checks every receipt against the model. */
  async mine() {
    const latest = await this.rpc.send("eth_getBlockByNumber", ["latest", false]);
    await this.rpc.send("evm_mine", [Number(BigInt(latest.timestamp)) + BLOCK_INTERVAL]);
    const sent = this.pending;
    this.pending = [];
    const receipts = await Promise.all(sent.map((tx) => this.rpc.send("eth_getTransactionReceipt", [tx.hash])));
    const block = hex(BigInt(latest.number) + 1n);
    receipts.forEach((receipt, i) => {
      if (receipt === null || receipt.blockNumber !== block) {
        throw new Error(`transaction ${sent[i].hash} was not mined in block ${block}`);
      }
      const success = receipt.status === "0x1";
      if (success !== sent[i].expectSuccess) {
        throw new Error(`transaction ${sent[i].hash}: status ${receipt.status}, expected the opposite`);
      }
      for (const log of receipt.logs) {
        const token = this.model.tokens.find((t) => t.address === lower(log.address));
        if (token && log.topics[0] === TRANSFER_TOPIC) token.transferLogs += 1;
      }
    });
    return receipts;
  }

  async deploy() {
    const { OwnedToken, Collectible } = this.contracts;
    const tokenFactory = new ethers.ContractFactory(OwnedToken.abi, OwnedToken.bytecode);
    const nftFactory = new ethers.ContractFactory(Collectible.abi, Collectible.bytecode);
    for (const spec of TOKENS) {
      const { data } = await tokenFactory.getDeployTransaction(spec.name, spec.symbol, spec.decimals, spec.initialSupply);
      await this.send(this.owner, null, data, 3_000_000);
    }
    const { data } = await nftFactory.getDeployTransaction();
    await this.send(this.owner, null, data, 3_000_000);
    const receipts = await this.mine();
    const addresses = receipts.map((r) => lower(r.contractAddress));
    TOKENS.forEach((spec, i) => {
      const token = this.model.addToken(spec, addresses[i], tokenFactory.interface);
      token.transferLogs = 1; // the constructor's mint, counted before the token was known
    });
    this.model.nft = { address: addresses[TOKENS.length], iface: nftFactory.interface, owners: new Map(), nextId: 1n };
  }

  /** Accounts of the node (which can sign) holding some of `token`, in account order. */
  funded(token) {
    return this.accounts.filter((a) => this.model.balance(token, a) > 0n);
  }

  async act(action) {
    const m = this.model;
    const rng = this.rng;
    const token = rng.pick(m.tokens);
    const call = (fn, args) => token.iface.encodeFunctionData(fn, args);
    switch (action) {
      case "transfer":
      case "selfTransfer": {
        const holders = this.funded(token);
        if (holders.length === 0) return this.act("mint");
        const from = rng.pick(holders);
        const to = action === "selfTransfer" ? from : rng.pick(this.recipients);
        const amount = rng.amount(m.balance(token, from));
        m.debit(token, from, amount);
        m.credit(token, to, amount);
        return this.send(from, token.address, call("transfer", [to, amount]), 100_000);
      }
      case "zeroTransfer": {
        const from = rng.pick(this.accounts);
        const to = rng.pick(this.recipients);
        // Both ends appear in the Transfer log, so both count as holders.
        m.credit(token, from, 0n);
        m.credit(token, to, 0n);
        return this.send(from, token.address, call("transfer", [to, 0n]), 100_000);
      }
      case "failingTransfer": {
        // Reverts (ERC20InsufficientBalance): a receipt with status 0 and no logs.
        const from = rng.pick(this.accounts);
        const amount = m.balance(token, from) + 1n;
        return this.send(from, token.address, call("transfer", [rng.pick(this.recipients), amount]), 100_000, false);
      }
      case "mint": {
        const to = rng.pick(this.recipients);
        const amount = rng.belowBig(10_000n * 10n ** BigInt(token.decimals)) + 1n;
        m.credit(token, to, amount);
        token.supply += amount;
        return this.send(this.owner, token.address, call("mint", [to, amount]), 100_000);
      }
      case "mintBatch": {
        const count = 3 + rng.below(14);
        const to = [];
        const amounts = [];
        for (let i = 0; i < count; i++) {
          to.push(rng.pick(this.recipients));
          amounts.push(rng.belowBig(1_000n * 10n ** BigInt(token.decimals)) + 1n);
          m.credit(token, to[i], amounts[i]);
          token.supply += amounts[i];
        }
        return this.send(this.owner, token.address, call("mintBatch", [to, amounts]), 60_000 + 40_000 * count);
      }
      case "burn": {
        const holders = this.funded(token);
        if (holders.length === 0) return this.act("mint");
        const from = rng.pick(holders);
        const amount = rng.amount(m.balance(token, from));
        m.debit(token, from, amount);
        token.supply -= amount;
        return this.send(from, token.address, call("burn", [amount]), 100_000);
      }
      case "approve": {
        const owner = rng.pick(this.accounts);
        const spender = rng.pick(this.accounts.filter((a) => a !== owner));
        const amount = rng.chance(25) ? MAX_UINT256 : rng.belowBig(2n * m.balance(token, owner) + 1n);
        token.allowances.set(`${owner}/${spender}`, amount);
        return this.send(owner, token.address, call("approve", [spender, amount]), 100_000);
      }
      case "transferFrom":
      case "burnFrom": {
        const usable = [...token.allowances.entries()]
          .filter(([key, allowance]) => allowance > 0n && m.balance(token, key.split("/")[0]) > 0n)
          .map(([key]) => key.split("/"));
        if (usable.length === 0) return this.act("approve");
        const [owner, spender] = rng.pick(usable);
        const max = m.allowance(token, owner, spender);
        const balance = m.balance(token, owner);
        const amount = rng.amount(max < balance ? max : balance);
        m.spend(token, owner, spender, amount);
        m.debit(token, owner, amount);
        if (action === "burnFrom") {
          token.supply -= amount;
          return this.send(spender, token.address, call("burnFrom", [owner, amount]), 100_000);
        }
        const to = rng.pick(this.recipients);
        m.credit(token, to, amount);
        return this.send(spender, token.address, call("transferFrom", [owner, to, amount]), 100_000);
      }
      case "nftMint": {
        const nft = m.nft;
        const to = rng.pick(this.recipients);
        const id = nft.nextId;
        nft.nextId += 1n;
        nft.owners.set(id, to);
        return this.send(this.owner, nft.address, nft.iface.encodeFunctionData("mint", [to, id]), 150_000);
      }
      case "nftTransfer": {
        const nft = m.nft;
        const owned = [...nft.owners.entries()].filter(([, owner]) => this.accounts.includes(owner));
        if (owned.length === 0) return this.act("nftMint");
        const [id, from] = rng.pick(owned);
        const to = rng.pick(this.recipients);
        nft.owners.set(id, to);
        const data = nft.iface.encodeFunctionData("transferFrom", [from, to, id]);
        return this.send(from, nft.address, data, 150_000);
      }
      case "nftApproveAll": {
        const nft = m.nft;
        const owner = rng.pick(this.accounts);
        const operator = rng.pick(this.accounts.filter((a) => a !== owner));
        const data = nft.iface.encodeFunctionData("setApprovalForAll", [operator, rng.chance(70)]);
        return this.send(owner, nft.address, data, 100_000);
      }
      default:
        throw new Error(`unknown action ${action}`);
    }
  }

  pickAction() {
    const total = ACTIONS.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = this.rng.below(total);
    for (const [action, weight] of ACTIONS) {
      if (roll < weight) return action;
      roll -= weight;
    }
    throw new Error("unreachable");
  }

  /** One block: empty one time in eight, else 1 to 12 transactions. */
  async round() {
    if (!this.rng.chance(12)) {
      const count = 1 + this.rng.below(12);
      for (let i = 0; i < count; i++) await this.act(this.pickAction());
    }
    await this.mine();
  }

  /** Reads supply and balances back from the node and checks them against the model. */
  async readBack() {
    const tokens = [];
    for (const token of this.model.tokens) {
      const read = async (fn, args) =>
        BigInt(await this.rpc.send("eth_call", [{ to: token.address, data: token.iface.encodeFunctionData(fn, args) }, "latest"]));
      const holders = [...token.balances.keys()].filter((a) => a !== ethers.ZeroAddress).sort();
      const [totalSupply, ...amounts] = await Promise.all([read("totalSupply", []), ...holders.map((h) => read("balanceOf", [h]))]);
      const expectedSupply = token.initialSupply + token.supply;
      if (totalSupply !== expectedSupply) {
        throw new Error(`${token.symbol}: the node reports totalSupply ${totalSupply}, the model ${expectedSupply}`);
      }
      const balances = {};
      holders.forEach((holder, i) => {
        if (amounts[i] !== this.model.balance(token, holder)) {
          throw new Error(`${token.symbol}: the node reports ${amounts[i]} for ${holder}, the model ${this.model.balance(token, holder)}`);
        }
        balances[holder] = amounts[i].toString();
      });
      tokens.push({
        name: token.name,
        symbol: token.symbol,
        decimals: token.decimals,
        address: token.address,
        transferLogs: token.transferLogs,
        totalSupply: totalSupply.toString(),
        balances,
      });
    }
    return tokens;
  }
}

/**
 * Deploys the contracts and runs `rounds` blocks of activity chosen by `seed` on the node behind `rpc`
 * (see rpc.js). Returns what the node holds afterwards: per ERC-20 its address, totalSupply and the balance of
 * every address that ever held it (zero included), plus the ERC-721's address and the block range written.
 */
async function drive(rpc, { seed = 1, rounds = 20 } = {}) {
  let accounts;
  try {
    accounts = (await rpc.send("eth_accounts", [])).map(lower);
  } catch (e) {
    throw new Error(`the node did not answer eth_accounts (is it running, at that address?): ${e.message}`);
  }
  const contracts = compile();
  if (accounts.length < 4) throw new Error(`the node signs for ${accounts.length} accounts; drive.js needs 4 or more`);
  const chainId = Number(BigInt(await rpc.send("eth_chainId", [])));
  const automine = await rpc.send("hardhat_getAutomine", []);
  await rpc.send("evm_setAutomine", [false]);
  try {
    const driver = new Driver(rpc, new Rng(seed), accounts, contracts);
    await driver.deploy();
    const firstBlock = Number(BigInt((await rpc.send("eth_getBlockByNumber", ["latest", false])).number));
    for (let i = 0; i < rounds; i++) await driver.round();
    const lastBlock = Number(BigInt((await rpc.send("eth_getBlockByNumber", ["latest", false])).number));
    return {
      chainId,
      seed,
      rounds,
      deployBlock: firstBlock,
      lastBlock,
      tokens: await driver.readBack(),
      collectible: { address: driver.model.nft.address, minted: Number(driver.model.nft.nextId - 1n) },
    };
  } finally {
    await rpc.send("evm_setAutomine", [automine]);
  }
}

function toJson(expected) {
  return `${JSON.stringify(expected, null, 2)}\n`;
}

async function main() {
  const { values } = parseArgs({
    options: {
      rpc: { type: "string" },
      seed: { type: "string", default: "1" },
      rounds: { type: "string", default: "20" },
      out: { type: "string" },
    },
  });
  const seed = Number(values.seed);
  const rounds = Number(values.rounds);
  if (!values.rpc || !Number.isSafeInteger(seed) || seed < 0 || !Number.isSafeInteger(rounds) || rounds < 0) {
    throw new Error("usage: node drive.js --rpc URL [--seed N] [--rounds M] [--out expected.json] (N, M: integers >= 0)");
  }
  const rpc = rpcClient.overUrl(values.rpc);
  try {
    const expected = await drive(rpc, { seed, rounds });
    if (values.out) fs.writeFileSync(values.out, toJson(expected));
    else process.stdout.write(toJson(expected));
  } finally {
    rpc.close();
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(`drive.js: ${e.message}`);
    process.exit(1);
  });
}

module.exports = { drive, toJson };
