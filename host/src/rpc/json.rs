//! The JSON shapes of the API, shared by the server (which builds them from chain types) and the client (which
//! reads them back). Bytes are `0x`-prefixed lowercase hex ([`crate::hex_text`]).

use cvm_consensus::CommitCertificate;
use cvm_runtime::{InvocationOutcome, SignedTransaction, TxPayload, TxReceipt, TxStatus};
use parity_scale_codec::Encode;
use serde::{Deserialize, Serialize};

use crate::chain::{Block, BlockHeader};
use crate::hex_text::to_hex;
use crate::rpc::node_api::TxLookup;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartsJson {
    pub total: u32,
    pub root: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderJson {
    pub chain_id: String,
    pub height: u64,
    pub time_ms: u64,
    pub parent_hash: String,
    pub proposer: String,
    pub txs_root: String,
    pub tx_count: u32,
    pub state_root: String,
    pub receipts_root: String,
    pub fuel_used: u64,
    pub last_commit_hash: String,
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
            txs_root: to_hex(h.txs_root),
            tx_count: h.tx_count,
            state_root: to_hex(h.state_root),
            receipts_root: to_hex(h.receipts_root),
            fuel_used: h.fuel_used,
            last_commit_hash: to_hex(h.last_commit_hash),
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
    pub hash: String,
    pub signer: String,
    pub nonce: u64,
    #[serde(flatten)]
    pub payload: PayloadJson,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PayloadJson {
    Deploy {
        wasm_bytes: usize,
        fuel_limit_per_record: u64,
    },
    Ingest {
        source: String,
        records: usize,
    },
}

impl From<&SignedTransaction> for TxJson {
    fn from(s: &SignedTransaction) -> Self {
        let payload = match &s.tx.payload {
            TxPayload::Deploy {
                wasm,
                fuel_limit_per_record,
            } => PayloadJson::Deploy {
                wasm_bytes: wasm.len(),
                fuel_limit_per_record: *fuel_limit_per_record,
            },
            TxPayload::Ingest { source, records } => PayloadJson::Ingest {
                source: source.clone(),
                records: records.len(),
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitSigJson {
    pub validator_index: u32,
    pub signature: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitJson {
    pub height: u64,
    pub round: u32,
    /// The hash of the header the validators precommitted.
    pub value_id: String,
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockJson {
    pub hash: String,
    pub header: HeaderJson,
    /// SCALE of the header (its Blake2-256 is `hash`).
    pub header_scale: String,
    pub txs: Vec<TxJson>,
    pub last_commit: Option<CommitJson>,
}

impl From<&Block> for BlockJson {
    fn from(b: &Block) -> Self {
        BlockJson {
            hash: to_hex(b.hash()),
            header: HeaderJson::from(&b.header),
            header_scale: to_hex(b.header.encode()),
            txs: b.body.txs.iter().map(TxJson::from).collect(),
            last_commit: b.body.last_commit.as_ref().map(CommitJson::from),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvocationJson {
    pub manuscript: String,
    pub record_index: u32,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub fuel_used: u64,
    pub records_emitted: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ReceiptOutcomeJson {
    Rejected {
        reason: String,
    },
    Failed {
        reason: String,
    },
    Deployed {
        manuscript: String,
        code_hash: String,
    },
    Ingested {
        subscribers: u32,
        invocations: Vec<InvocationJson>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptJson {
    pub tx_hash: String,
    pub fuel_used: u64,
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
                invocations: invocations
                    .iter()
                    .map(|i| {
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
                    })
                    .collect(),
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
    Pending,
    Committed {
        height: u64,
        index: u32,
        receipt: ReceiptJson,
    },
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
    pub hash: String,
}

/// `GET /accounts/{public_key}` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountJson {
    pub public_key: String,
    pub nonce: u64,
}

/// Every error answer: `{"error": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorJson {
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
