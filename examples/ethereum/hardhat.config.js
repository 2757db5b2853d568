// The network `generate.js` runs in process and `npx hardhat node` serves: everything that feeds a block hash is
// fixed (chain id, hardfork, accounts from hardhat's public test mnemonic, genesis time), and transactions are
// mined in the order they were sent, so the same activity gives the same chain on every run.
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      hardfork: "cancun",
      initialDate: "2025-01-01T00:00:00Z",
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        count: 20,
      },
      mining: { auto: true, interval: 0, mempool: { order: "fifo" } },
    },
  },
};
