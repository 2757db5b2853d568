//! Receipts: what happened to each transaction and each manuscript invocation. Part of consensus (the block
//! header carries their root), so every field is deterministic.

use parity_scale_codec::{Decode, Encode};

/// Why an invocation failed. Its writes and emitted records were discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum FailureReason {
    /// Used up `fuel_limit_per_record` (infinite loops end here).
    OutOfFuel,
    /// Tried to grow linear memory (or a table) past the cap.
    MemoryLimit,
    /// Exhausted the wasm stack (unbounded recursion).
    StackOverflow,
    /// The manuscript panicked; the message says where and why.
    Panic,
    /// Hit an `unreachable` instruction.
    Unreachable,
    /// Any other wasm trap (division by zero, out-of-bounds access, bad indirect call...).
    Trap,
    /// A host function refused its arguments (too long a key or value, undeclared dataset, too many emits...).
    HostLimit,
    /// `cvm_process` returned 1: the record did not decode as the manuscript's record type.
    RecordDecode,
    /// `cvm_process` returned 2: the manuscript reported an error.
    ManuscriptError,
    /// `cvm_process` returned another non-zero code.
    ReturnCode,
    /// The manuscript's stored code could not be loaded or instantiated (e.g. a data segment outside its
    /// memory); every record of the transaction fails with this reason.
    Instantiation,
}

impl FailureReason {
    /// A short human name of the reason.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::OutOfFuel => "out of fuel",
            Self::MemoryLimit => "memory limit",
            Self::StackOverflow => "stack overflow",
            Self::Panic => "panic",
            Self::Unreachable => "unreachable",
            Self::Trap => "trap",
            Self::HostLimit => "host limit",
            Self::RecordDecode => "record decode failed",
            Self::ManuscriptError => "manuscript error",
            Self::ReturnCode => "manuscript returned a failure code",
            Self::Instantiation => "instantiation failed",
        }
    }
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one invocation ended.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum InvocationOutcome {
    /// The invocation succeeded: its writes and records are kept.
    Ok,
    /// It failed: its writes and records were discarded.
    Failed {
        /// Why, as a category.
        reason: FailureReason,
        /// Why, in words (the trap, panic or error message).
        message: String,
    },
}

impl InvocationOutcome {
    /// Whether the invocation succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Ok)
    }
}

/// One manuscript processing one record.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct InvocationReceipt {
    /// The manuscript's name.
    pub manuscript: String,
    /// Index of the record in the transaction.
    pub record_index: u32,
    /// How the invocation ended.
    pub outcome: InvocationOutcome,
    /// Fuel the invocation used.
    pub fuel_used: u64,
    /// Dataset records it emitted (0 when it failed).
    pub records_emitted: u32,
}

/// What happened to a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum TxStatus {
    /// Not applied (bad signature, wrong chain or nonce): no state change, the nonce is not consumed.
    Rejected {
        /// Why, for the sender.
        reason: String,
    },
    /// Applied but failed as a whole (e.g. a deploy that did not validate): the nonce is consumed.
    Failed {
        /// Why, for the sender.
        reason: String,
    },
    /// The manuscript was deployed.
    Deployed {
        /// Its name.
        manuscript: String,
        /// Blake2-256 of its code.
        code_hash: [u8; 32],
    },
    /// The records went through every subscribed manuscript.
    Ingested {
        /// How many manuscripts are subscribed to the source.
        subscribers: u32,
        /// One per subscriber and record, subscriber by subscriber.
        invocations: Vec<InvocationReceipt>,
    },
    /// The source was registered.
    SourceRegistered {
        /// Its name.
        source: String,
    },
    /// The validator update was applied: the state records the new set, consensus uses it from
    /// `effective_height` on.
    ValidatorsUpdated {
        /// The update's position in the chain's sequence of updates.
        seq: u64,
        /// The first height the new set signs (the block's height + 2).
        effective_height: u64,
    },
}

/// What happened to one transaction of a block.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct TxReceipt {
    /// The transaction's hash.
    pub tx_hash: [u8; 32],
    /// What happened to it.
    pub status: TxStatus,
    /// Fuel its invocations used, counted against the block's budget.
    pub fuel_used: u64,
}

impl TxReceipt {
    /// Dataset records the transaction's invocations emitted.
    pub fn records_emitted(&self) -> u64 {
        match &self.status {
            TxStatus::Ingested { invocations, .. } => emitted(invocations),
            _ => 0,
        }
    }
}

fn emitted(invocations: &[InvocationReceipt]) -> u64 {
    invocations
        .iter()
        .map(|i| u64::from(i.records_emitted))
        .sum()
}

/// What happened to a source block's records.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum SourceStatus {
    /// The records went through every manuscript bound to the source.
    Ingested {
        /// How many manuscripts are subscribed to the source.
        subscribers: u32,
        /// One per subscriber and record, subscriber by subscriber.
        invocations: Vec<InvocationReceipt>,
    },
    /// The ingest failed as a whole (the block's fuel ran out, or the records are above the limits): no
    /// manuscript state changed, and the source's head still advanced past the block.
    Failed {
        /// Why.
        reason: String,
    },
}

/// What happened to one source block of a chain block.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SourceReceipt {
    /// The source.
    pub source: String,
    /// The source block's number.
    pub number: u64,
    /// The source block's hash.
    pub hash: [u8; 32],
    /// What happened to its records.
    pub status: SourceStatus,
    /// Fuel its invocations used, counted against the block's budget.
    pub fuel_used: u64,
}

impl SourceReceipt {
    /// Dataset records the source block's invocations emitted.
    pub fn records_emitted(&self) -> u64 {
        match &self.status {
            SourceStatus::Ingested { invocations, .. } => emitted(invocations),
            SourceStatus::Failed { .. } => 0,
        }
    }
}

/// One entry of a block's receipts root: SCALE of this enum, source blocks' receipts first, then the
/// transactions'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode)]
pub enum ReceiptEntry<'a> {
    /// A source block's receipt.
    Source(&'a SourceReceipt),
    /// A transaction's receipt.
    Tx(&'a TxReceipt),
}
