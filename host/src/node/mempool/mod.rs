//! The mempool: bounded, deduplicated, with signature, chain id, size and nonce checked at admission, so a
//! rejected transaction gets its reason at submit time rather than a failed receipt later.
//!
//! A client's transaction must carry the account's next nonce (counting its pending transactions), so a mistake
//! is named at submit time. Transactions relayed by gossip may arrive out of order (several paths, a reconnect),
//! so they are admitted up to [`RELAY_NONCE_WINDOW`] nonces ahead and wait for the gap to fill: at most
//! [`MAX_GAPPED_PER_SENDER`] per account, within a quarter of the pool, for at most [`GAPPED_TTL`], and evicted
//! oldest first whenever a ready transaction needs their room. Blocks take each
//! account's transactions in nonce order from its committed nonce, and accounts in arrival order.
//!
//! - `admission.rs`: the checks that need no pool state ([`TxCheck`]) and the refusals ([`AdmitError`]).
//! - `pool.rs`: the [`Mempool`] and admission into it.
//! - `gaps.rs`: the bookkeeping of transactions waiting behind a nonce gap, and its limits.
//! - `reap.rs`: block building and pruning after commits.
//! - `gossip_window.rs`: the [`GossipWindow`] that paces the gossip of client transactions.

mod admission;
mod gaps;
#[cfg(test)]
mod gaps_tests;
mod gossip_window;
mod pool;
mod reap;
#[cfg(test)]
pub(crate) mod test_txs;
#[cfg(test)]
mod tests;

pub use admission::{AdmitError, CheckedTx, PayloadRule, TxCheck, TxHash};
pub use gaps::{GAPPED_TTL, MAX_GAPPED_PER_SENDER, RELAY_NONCE_WINDOW};
pub use gossip_window::GossipWindow;
pub use pool::{Mempool, Origin};
