//! Source data with provenance: what a validator fetches itself and verifies before any of it reaches a
//! manuscript. [`ethereum`]: Ethereum blocks and their logs, from a JSON-RPC endpoint or a local archive file.

pub mod ethereum;
