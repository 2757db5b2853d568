// One way to talk to a node whether it runs in this process (an EIP-1193 provider, as hardhat's) or behind a
// JSON-RPC URL: `send(method, params)` returns the raw JSON result, untouched, so an archive keeps the node's own
// shapes. Concurrent sends over a URL go out as JSON-RPC batch requests (ethers batches them).
"use strict";

const { ethers } = require("ethers");

/** A client of the JSON-RPC endpoint at `url`. */
function overUrl(url) {
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 100 });
  return {
    send: (method, params = []) => provider.send(method, params),
    close: () => provider.destroy(),
  };
}

/** A client of an EIP-1193 provider (`request({ method, params })`), such as `hre.network.provider`. */
function overProvider(provider) {
  return {
    send: (method, params = []) => provider.request({ method, params }),
    close: () => {},
  };
}

module.exports = { overUrl, overProvider };
