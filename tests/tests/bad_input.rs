//! Bad input at every boundary of real `cvm` node processes, each refused with a clear error while the node (or
//! the network) stays alive:
//!
//! - HTTP: a volley of malformed requests and refused transactions against a live node, which keeps committing
//!   and counts the refusals by reason in `/metrics`; a second node on the same data directory is refused.
//! - Files: broken config, genesis and key files make `cvm start` exit non-zero, naming the file, the cause
//!   and what to do, without a panic.
//! - Data directory: not writable, or blocked by a file, is a clear error at start.
//! - p2p: attacker peers on real sockets send garbage, oversized frames, votes from non-validators, messages
//!   signed for another chain and absurd sync requests to four validators, which keep finalizing.
//! - Disk full: a validator whose file writes start failing (RLIMIT_FSIZE) stops cleanly, and after a restart
//!   without the limit its data is intact: `cvm replay` passes and it catches up to the same chain.
//! - Big blocks: a validator that missed a block above 4 MiB catches up by sync.
//!
//! Modules (in `bad_input/`): `support` (shared helpers), `http`, `files` (config, genesis, keys, data
//! directory), `p2p` with `raw_sync`, `disk_full`, `big_block`.

#[path = "bad_input/big_block.rs"]
mod big_block;
#[path = "bad_input/disk_full.rs"]
mod disk_full;
#[path = "bad_input/files.rs"]
mod files;
#[path = "bad_input/http.rs"]
mod http;
#[path = "bad_input/p2p.rs"]
mod p2p;
#[path = "bad_input/raw_sync.rs"]
mod raw_sync;
#[path = "bad_input/support.rs"]
mod support;
