//! Why a block fails verification ([`EthVerifyError`]), its JSON-RPC shape fails conversion ([`ConvertError`]),
//! or an endpoint fails to deliver ([`EndpointError`]). Each names the block and what differs.

use alloy_primitives::B256;

/// Why an [`super::EthBlockData`] is not a valid Ethereum block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum EthVerifyError {
    #[error("block data with header keccak {hash}: the header is not a valid header RLP: {reason}")]
    Header { hash: B256, reason: String },
    #[error(
        "block {number} {hash}: transactions root {computed} computed from its {count} transactions differs from \
         the header's {header}"
    )]
    TransactionsRoot {
        number: u64,
        hash: B256,
        count: usize,
        header: B256,
        computed: B256,
    },
    #[error(
        "block {number} {hash}: receipts are missing (the header says there are some); fetch the block with its \
         receipts"
    )]
    ReceiptsMissing { number: u64, hash: B256 },
    #[error("block {number} {hash}: {receipts} receipts for {transactions} transactions")]
    ReceiptCount {
        number: u64,
        hash: B256,
        transactions: usize,
        receipts: usize,
    },
    #[error(
        "block {number} {hash}: receipts root {computed} computed from its {count} receipts differs from the \
         header's {header}"
    )]
    ReceiptsRoot {
        number: u64,
        hash: B256,
        count: usize,
        header: B256,
        computed: B256,
    },
    #[error("block {number} {hash}: receipt {index} does not decode: {reason}")]
    Receipt {
        number: u64,
        hash: B256,
        index: usize,
        reason: String,
    },
    #[error(
        "block {number}: its header hashes to {computed}, not the expected {expected}: this is not the block \
         committed to (a different or altered block)"
    )]
    HashMismatch {
        number: u64,
        expected: B256,
        computed: B256,
    },
    #[error("block {number} {hash}: more than {limit} {what}")]
    TooMany {
        number: u64,
        hash: B256,
        what: &'static str,
        limit: u64,
    },
}

/// Why a block's JSON-RPC shape does not convert into an [`super::EthBlockData`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum ConvertError {
    #[error(
        "{what} is not the JSON-RPC shape this node reads ({reason}); blocks must come from \
         eth_getBlockByNumber(n, true) (full transactions) and receipts from eth_getTransactionReceipt"
    )]
    Json { what: String, reason: String },
    #[error(
        "block {number}: its header encodes to hash {computed} but the JSON says {claimed}: the header has a field \
         this node does not encode (a fork newer than it knows?) or the endpoint altered it"
    )]
    HeaderHash {
        number: u64,
        claimed: B256,
        computed: B256,
    },
    #[error(
        "block {number}: transaction {index} encodes to hash {computed} but the JSON says {claimed}: a field this \
         node does not encode, or an altered transaction"
    )]
    TransactionHash {
        number: u64,
        index: usize,
        claimed: B256,
        computed: B256,
    },
    #[error("block {number}: {receipts} receipts for {transactions} transactions")]
    ReceiptCount {
        number: u64,
        transactions: usize,
        receipts: usize,
    },
    #[error(
        "block {number}: receipt {index} belongs to transaction {found}, not {expected}: receipts must be in \
         transaction order"
    )]
    ReceiptOrder {
        number: u64,
        index: usize,
        expected: B256,
        found: B256,
    },
}

/// Why an endpoint did not deliver what was asked. The node keeps running and asks again later.
#[derive(Debug, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum EndpointError {
    #[error(
        "endpoint {endpoint}: {method} failed: {reason}; check that it is reachable and serves Ethereum JSON-RPC"
    )]
    Transport {
        endpoint: String,
        method: String,
        reason: String,
    },
    #[error("endpoint {endpoint}: {method} failed: TLS: {reason}; {what_to_do}")]
    Tls {
        endpoint: String,
        method: String,
        reason: String,
        what_to_do: &'static str,
    },
    #[error("endpoint {endpoint}: {method} answered error {code}: {message}")]
    Rpc {
        endpoint: String,
        method: String,
        code: i64,
        message: String,
    },
    #[error("endpoint {endpoint}: {method} answered something unexpected: {reason}")]
    BadAnswer {
        endpoint: String,
        method: String,
        reason: String,
    },
    #[error("endpoint {endpoint}: block {number}: {source}")]
    Convert {
        endpoint: String,
        number: u64,
        source: ConvertError,
    },
    #[error("endpoint {endpoint}: asked for block {asked}, got block {got}")]
    WrongBlock {
        endpoint: String,
        asked: u64,
        got: u64,
    },
    #[error("archive {path}: {reason}")]
    Archive { path: String, reason: String },
    #[error("archive {path} {unit} {line}: {reason}")]
    ArchiveLine {
        path: String,
        /// `line` (JSON Lines) or `frame` (binary).
        unit: &'static str,
        line: u64,
        reason: String,
    },
}
