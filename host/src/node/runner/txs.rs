//! Transaction gossip into the mempool.

use super::state::Runner;
use crate::network::Verdict;
use crate::node::mempool::{AdmitError, Mempool, Origin};

impl Runner {
    /// A relayed transaction: admitted, or rejected (the relaying peer is penalised for malformed or forged
    /// ones), or ignored (valid but not wanted now).
    pub(super) fn on_tx_bytes(&mut self, data: &[u8]) -> Verdict {
        let app = self.shared.app.clone();
        let result = Mempool::admit_shared(&self.shared.mempool, Origin::Relayed, data, |acct| {
            app.committed_nonce(acct)
        });
        match result {
            Ok(_) => Verdict::Accept,
            Err(
                AdmitError::Undecodable(_)
                | AdmitError::BadSignature(_)
                | AdmitError::WrongChain { .. }
                | AdmitError::TooLarge { .. },
            ) => Verdict::Reject,
            Err(_) => Verdict::Ignore,
        }
    }
}
