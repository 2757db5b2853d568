// Writes the example Ethereum archive: runs hardhat's network in this process, drives the seeded activity of
// drive.js on it, then writes every block from 1 to the last as one JSON line
// `{"block": <eth_getBlockByNumber(n, true)>, "receipts": [<eth_getTransactionReceipt>, ...]}`.
//
//   node generate.js --out ../data/ethereum-local.jsonl [--expected FILE] [--seed N] [--rounds M]
//
// The network's settings (hardhat.config.js) and drive.js's fixed block times make a re-run write the same bytes.
"use strict";

const fs = require("fs");
const path = require("path");
const { parseArgs } = require("util");

const DEFAULT_SEED = 1;
const DEFAULT_ROUNDS = 250;

/** Writes `text` to `file` through a temporary file, so a reader never sees half an archive. */
function writeAtomically(file, text) {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** Every block from 1 to the latest with its receipts, in the archive's line format. */
async function archiveLines(rpc) {
  const latest = Number(BigInt((await rpc.send("eth_getBlockByNumber", ["latest", false])).number));
  const lines = [];
  for (let n = 1; n <= latest; n++) {
    const block = await rpc.send("eth_getBlockByNumber", [`0x${n.toString(16)}`, true]);
    const receipts = await Promise.all(block.transactions.map((tx) => rpc.send("eth_getTransactionReceipt", [tx.hash])));
    lines.push(`${JSON.stringify({ block, receipts })}\n`);
  }
  return lines;
}

async function main() {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      expected: { type: "string" },
      seed: { type: "string", default: String(DEFAULT_SEED) },
      rounds: { type: "string", default: String(DEFAULT_ROUNDS) },
    },
  });
  const seed = Number(values.seed);
  const rounds = Number(values.rounds);
  if (!values.out || !Number.isSafeInteger(seed) || seed < 0 || !Number.isSafeInteger(rounds) || rounds < 0) {
    throw new Error("usage: node generate.js --out FILE [--expected FILE] [--seed N] [--rounds M] (N, M: integers >= 0)");
  }
  const out = path.resolve(values.out);
  const expectedOut = values.expected && path.resolve(values.expected);
  // hardhat reads hardhat.config.js from the working directory.
  process.chdir(__dirname);
  process.env.HARDHAT_DISABLE_TELEMETRY_PROMPT = "true";
  const hre = require("hardhat");
  const { drive, toJson } = require("./drive");
  const rpc = require("./rpc").overProvider(hre.network.provider);

  const expected = await drive(rpc, { seed, rounds });
  const lines = await archiveLines(rpc);
  writeAtomically(out, lines.join(""));
  if (expectedOut) writeAtomically(expectedOut, toJson(expected));
  const logs = lines.reduce((sum, line) => sum + JSON.parse(line).receipts.reduce((s, r) => s + r.logs.length, 0), 0);
  console.error(`generate.js: wrote ${lines.length} blocks, ${logs} logs to ${out}`);
}

main().catch((e) => {
  console.error(`generate.js: ${e.message}`);
  process.exit(1);
});
