// Compiles contracts/*.sol with solc-js (the `solc` package: no compiler download) and returns each contract's
// ABI and creation bytecode. Sources get fixed logical names, so the bytecode (metadata hash included) is the same
// on every machine.
"use strict";

const fs = require("fs");
const path = require("path");
const solc = require("solc");

const CONTRACTS_DIR = path.join(__dirname, "contracts");

function readImport(importPath) {
  try {
    return { contents: fs.readFileSync(require.resolve(importPath, { paths: [__dirname] }), "utf8") };
  } catch (e) {
    return { error: `cannot read import ${importPath}: ${e.message}` };
  }
}

/** Compiles every contract under contracts/; returns { ContractName: { abi, bytecode } }. */
function compile() {
  const sources = {};
  for (const file of fs.readdirSync(CONTRACTS_DIR).sort()) {
    if (file.endsWith(".sol")) {
      sources[`contracts/${file}`] = { content: fs.readFileSync(path.join(CONTRACTS_DIR, file), "utf8") };
    }
  }
  const input = {
    language: "Solidity",
    sources,
    settings: {
      // Hardhat's default hardfork runs it; pinned so a newer solc default cannot change the bytecode.
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: readImport }));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  if (errors.length > 0) {
    throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join("\n")}`);
  }
  const contracts = {};
  for (const file of Object.keys(sources)) {
    for (const [name, c] of Object.entries(output.contracts[file])) {
      contracts[name] = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
    }
  }
  return contracts;
}

module.exports = { compile };
