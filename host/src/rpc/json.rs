//! The JSON shapes of the API, shared by the server (which builds them from chain types) and the client (which
//! reads them back). Bytes are `0x`-prefixed lowercase hex ([`crate::hex_text`]).

use cvm_consensus::CommitCertificate;
use cvm_runtime::{
    InvocationOutcome, InvocationReceipt, SignedTransaction, TxPayload, TxReceipt, TxStatus,
};
use parity_scale_codec::Encode;
use serde::{Deserialize, Serialize};

use crate::chain::source_json::SourceJson;
use crate::chain::{Block, BlockHeader, SourceCommitment};
use crate::hex_text::to_hex;
use crate::rpc::node_api::{EvidenceInfo, TxLookup};

/// A part-set header in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartsJson {
    /// Number of parts.
    pub total: u32,
    /// Hex of the parts' Merkle root.
    pub root: String,
}

/// A block header in JSON, hashes and keys as `0x` hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderJson {
    /// The chain the block belongs to.
    pub chain_id: String,
    /// Block height.
    pub height: u64,
    /// Header time, ms since the Unix epoch.
    pub time_ms: u64,
    /// Hash of the previous header.
    pub parent_hash: String,
    /// The proposer's public key.
    pub proposer: String,
    /// Membership hash of the validator set that signs this height.
    pub validators_hash: String,
    /// Membership hash of the next height's validator set.
    pub next_validators_hash: String,
    /// Root over the transaction hashes.
    pub txs_root: String,
    /// Number of transactions.
    pub tx_count: u32,
    /// State root after the block.
    pub state_root: String,
    /// Root over the receipts.
    pub receipts_root: String,
    /// Fuel the block spent.
    pub fuel_used: u64,
    /// Hash of the previous block's commit.
    pub last_commit_hash: String,
    /// Hash of the body's duplicate-vote evidence.
    pub evidence_hash: String,
    /// The body's part-set header.
    pub parts: PartsJson,
}

impl From<&BlockHeader> for HeaderJson {
    fn from(h: &BlockHeader) -> Self {
        HeaderJson {
            chain_id: h.chain_id.clone(),
            height: h.height,
            time_ms: h.time_ms,
            parent_hash: to_hex(h.parent_hash),
            proposer: to_hex(h.proposer),
            validators_hash: to_hex(h.validators_hash),
            next_validators_hash: to_hex(h.next_validators_hash),
            txs_root: to_hex(h.txs_root),
            tx_count: h.tx_count,
            state_root: to_hex(h.state_root),
            receipts_root: to_hex(h.receipts_root),
            fuel_used: h.fuel_used,
            last_commit_hash: to_hex(h.last_commit_hash),
            evidence_hash: to_hex(h.evidence_hash),
            parts: PartsJson {
                total: h.parts.total,
                root: to_hex(h.parts.root),
            },
        }
    }
}

/// A transaction, summarized (a deploy's wasm and an ingest's records are not repeated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxJson {
    /// Hex of the transaction hash.
    pub hash: String,
    /// Hex of the signer's public key.
    pub signer: String,
    /// The signer's nonce.
    pub nonce: u64,
    /// What it does, tagged by `type`.
    #[serde(flatten)]
    pub payload: PayloadJson,
}

/// A transaction's payload in JSON, without the bulky bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PayloadJson {
    /// Deploys a manuscript.
    Deploy {
        /// Size of the wasm module.
        wasm_bytes: usize,
        /// Fuel each record may spend.
        fuel_limit_per_record: u64,
        /// The registered sources its manifest sources are bound to (empty: the manifest's names).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sources: Vec<String>,
    },
    /// Ingests source records.
    Ingest {
        /// The source the records come from.
        source: String,
        /// Number of records.
        records: usize,
    },
    /// Registers a source.
    RegisterSource {
        /// The source's definition.
        source: SourceJson,
    },
    /// Changes the validator set.
    UpdateValidators {
        /// The update's position in the chain's sequence of updates.
        seq: u64,
        /// Each changed validator: hex key and new power (0: removed).
        changes: Vec<ValidatorPowerJson>,
        /// Hex keys of the approving validators.
        approved_by: Vec<String>,
    },
}

/// A validator key with a voting power.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorPowerJson {
    /// Hex of the ed25519 public key.
    pub public_key: String,
    /// Voting power (0 in a change: removed).
    pub power: u64,
}

impl From<&SignedTransaction> for TxJson {
    fn from(s: &SignedTransaction) -> Self {
        let payload = match &s.tx.payload {
            TxPayload::Deploy {
                wasm,
                fuel_limit_per_record,
                sources,
            } => PayloadJson::Deploy {
                wasm_bytes: wasm.len(),
                fuel_limit_per_record: *fuel_limit_per_record,
                sources: sources.clone(),
            },
            TxPayload::Ingest { source, records } => PayloadJson::Ingest {
                source: source.clone(),
                records: records.len(),
            },
            TxPayload::RegisterSource { source } => PayloadJson::RegisterSource {
                source: SourceJson::from(source),
            },
            TxPayload::UpdateValidators { update, approvals } => PayloadJson::UpdateValidators {
                seq: update.seq,
                changes: update
                    .changes
                    .iter()
                    .map(|c| ValidatorPowerJson {
                        public_key: to_hex(c.key),
                        power: c.power,
                    })
                    .collect(),
                approved_by: approvals.iter().map(|a| to_hex(a.key)).collect(),
            },
        };
        TxJson {
            hash: to_hex(s.hash()),
            signer: to_hex(s.tx.signer),
            nonce: s.tx.nonce,
            payload,
        }
    }
}

/// One precommit signature of a commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitSigJson {
    /// The signer's position in the validator set.
    pub validator_index: u32,
    /// Hex of the ed25519 signature.
    pub signature: String,
}

/// A commit certificate in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitJson {
    /// Height of the committed block.
    pub height: u64,
    /// Round it was decided in.
    pub round: u32,
    /// The hash of the header the validators precommitted.
    pub value_id: String,
    /// The precommit signatures.
    pub signatures: Vec<CommitSigJson>,
    /// SCALE of the certificate, for offline verification.
    pub scale: String,
}

impl From<&CommitCertificate> for CommitJson {
    fn from(c: &CommitCertificate) -> Self {
        CommitJson {
            height: c.height.0,
            round: c.round.0,
            value_id: to_hex(c.value_id.0),
            signatures: c
                .signatures
                .iter()
                .map(|s| CommitSigJson {
                    validator_index: s.validator_index,
                    signature: to_hex(s.signature.0),
                })
                .collect(),
            scale: to_hex(c.encode()),
        }
    }
}

/// `GET /blocks/{height}`: a block with summarized transactions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockJson {
    /// Hex of the header hash.
    pub hash: String,
    /// The header.
    pub header: HeaderJson,
    /// SCALE of the header (its Blake2-256 is `hash`).
    pub header_scale: String,
    /// Transactions, summarized.
    pub txs: Vec<TxJson>,
    /// The previous block's commit (`None` at height 1).
    pub last_commit: Option<CommitJson>,
    /// The source blocks it ingests, in order, before its transactions.
    #[serde(default)]
    pub source_blocks: Vec<SourceCommitmentJson>,
    /// The duplicate-vote evidence it commits, each jailing its offender (`jailed` is left out: `/evidence` says
    /// whether it did).
    #[serde(default)]
    pub evidence: Vec<EvidenceInfo>,
}

/// One source block a chain block ingests, as its body commits to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCommitmentJson {
    /// The registered source.
    pub source: String,
    /// Its number on the source chain.
    pub number: u64,
    /// Hex of its hash (an Ethereum block's keccak-256 of its header RLP).
    pub hash: String,
    /// Hex of its receipts root.
    pub receipts_root: String,
}

impl From<&SourceCommitment> for SourceCommitmentJson {
    fn from(c: &SourceCommitment) -> Self {
        SourceCommitmentJson {
            source: c.source.clone(),
            number: c.number,
            hash: to_hex(c.hash),
            receipts_root: to_hex(c.receipts_root),
        }
    }
}

impl From<&Block> for BlockJson {
    fn from(b: &Block) -> Self {
        BlockJson {
            hash: to_hex(b.hash()),
            header: HeaderJson::from(&b.header),
            header_scale: to_hex(b.header.encode()),
            txs: b.body.txs.iter().map(TxJson::from).collect(),
            last_commit: b.body.last_commit.as_ref().map(CommitJson::from),
            source_blocks: b
                .body
                .source_blocks
                .iter()
                .map(SourceCommitmentJson::from)
                .collect(),
            evidence: b
                .body
                .evidence
                .iter()
                .map(|e| EvidenceInfo {
                    committed_at: Some(b.height()),
                    ..EvidenceInfo::new(e, None)
                })
                .collect(),
        }
    }
}

/// One manuscript invocation of an ingest receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvocationJson {
    /// The manuscript invoked.
    pub manuscript: String,
    /// Index of the record in the transaction.
    pub record_index: u32,
    /// Whether the invocation succeeded (its writes kept).
    pub ok: bool,
    /// Why it failed (trap, fuel, error...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The manuscript's error message, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fuel spent.
    pub fuel_used: u64,
    /// Dataset records written.
    pub records_emitted: u32,
}

impl From<&InvocationReceipt> for InvocationJson {
    fn from(i: &InvocationReceipt) -> Self {
        let (failure, message) = match &i.outcome {
            InvocationOutcome::Ok => (None, None),
            InvocationOutcome::Failed { reason, message } => {
                (Some(reason.as_str().to_string()), Some(message.clone()))
            }
        };
        InvocationJson {
            manuscript: i.manuscript.clone(),
            record_index: i.record_index,
            ok: failure.is_none(),
            failure,
            message,
            fuel_used: i.fuel_used,
            records_emitted: i.records_emitted,
        }
    }
}

/// A receipt's outcome, tagged by `result`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ReceiptOutcomeJson {
    /// Refused before execution; the nonce is not consumed.
    Rejected {
        /// Why.
        reason: String,
    },
    /// Executed and failed as a whole (e.g. an invalid deploy).
    Failed {
        /// Why.
        reason: String,
    },
    /// A manuscript deployed.
    Deployed {
        /// Its name.
        manuscript: String,
        /// Hex of its code hash.
        code_hash: String,
    },
    /// Records ingested.
    Ingested {
        /// Manuscripts subscribed to the source.
        subscribers: u32,
        /// One per record and subscriber.
        invocations: Vec<InvocationJson>,
    },
    /// A source registered.
    SourceRegistered {
        /// Its name.
        source: String,
    },
    /// The validator set updated.
    ValidatorsUpdated {
        /// The update's position in the chain's sequence of updates.
        seq: u64,
        /// The first height the new set signs.
        effective_height: u64,
    },
}

/// A transaction receipt in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptJson {
    /// Hex of the transaction hash.
    pub tx_hash: String,
    /// Fuel the transaction spent.
    pub fuel_used: u64,
    /// What happened, tagged by `result`.
    #[serde(flatten)]
    pub outcome: ReceiptOutcomeJson,
}

impl From<&TxReceipt> for ReceiptJson {
    fn from(r: &TxReceipt) -> Self {
        let outcome = match &r.status {
            TxStatus::Rejected { reason } => ReceiptOutcomeJson::Rejected {
                reason: reason.clone(),
            },
            TxStatus::Failed { reason } => ReceiptOutcomeJson::Failed {
                reason: reason.clone(),
            },
            TxStatus::Deployed {
                manuscript,
                code_hash,
            } => ReceiptOutcomeJson::Deployed {
                manuscript: manuscript.clone(),
                code_hash: to_hex(code_hash),
            },
            TxStatus::Ingested {
                subscribers,
                invocations,
            } => ReceiptOutcomeJson::Ingested {
                subscribers: *subscribers,
                invocations: invocations.iter().map(InvocationJson::from).collect(),
            },
            TxStatus::SourceRegistered { source } => ReceiptOutcomeJson::SourceRegistered {
                source: source.clone(),
            },
            TxStatus::ValidatorsUpdated {
                seq,
                effective_height,
            } => ReceiptOutcomeJson::ValidatorsUpdated {
                seq: *seq,
                effective_height: *effective_height,
            },
        };
        ReceiptJson {
            tx_hash: to_hex(r.tx_hash),
            fuel_used: r.fuel_used,
            outcome,
        }
    }
}

/// `GET /txs/{hash}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxLookupJson {
    /// In the mempool, not yet committed.
    Pending,
    /// In a committed block.
    Committed {
        /// Height of the block.
        height: u64,
        /// Position in the block.
        index: u32,
        /// Its receipt.
        receipt: ReceiptJson,
    },
    /// Neither pending nor committed on this node.
    Unknown,
}

impl From<&TxLookup> for TxLookupJson {
    fn from(l: &TxLookup) -> Self {
        match l {
            TxLookup::Pending => TxLookupJson::Pending,
            TxLookup::Committed {
                height,
                index,
                receipt,
            } => TxLookupJson::Committed {
                height: *height,
                index: *index,
                receipt: ReceiptJson::from(receipt),
            },
            TxLookup::Unknown => TxLookupJson::Unknown,
        }
    }
}

/// `POST /txs` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitTxRequest {
    /// Hex of the SCALE-encoded `SignedTransaction`.
    pub tx: String,
}

/// `POST /txs` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitTxResponse {
    /// Hex of the admitted transaction's hash.
    pub hash: String,
}

/// `GET /accounts/{public_key}` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountJson {
    /// Hex of the account's public key.
    pub public_key: String,
    /// The next nonce to sign with.
    pub nonce: u64,
}

/// Every error answer: `{"error": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorJson {
    /// What went wrong.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_json_is_tagged_and_round_trips() {
        let l = TxLookup::Committed {
            height: 3,
            index: 0,
            receipt: TxReceipt {
                tx_hash: [1; 32],
                status: TxStatus::Deployed {
                    manuscript: "m".into(),
                    code_hash: [2; 32],
                },
                fuel_used: 9,
            },
        };
        let json = serde_json::to_value(TxLookupJson::from(&l)).unwrap();
        assert_eq!(json["status"], "committed");
        assert_eq!(json["receipt"]["result"], "deployed");
        assert_eq!(json["receipt"]["manuscript"], "m");
        let back: TxLookupJson = serde_json::from_value(json).unwrap();
        assert_eq!(back, TxLookupJson::from(&l));
        assert_eq!(
            serde_json::to_value(TxLookupJson::Pending).unwrap()["status"],
            "pending"
        );
    }
}
