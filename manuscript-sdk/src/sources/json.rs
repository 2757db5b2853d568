//! JSON → typed source records (feature `json`): the shapes the node CLI and tests read.
//!
//! - [`EthLog::from_json`]: one `eth_getLogs` result object (hex quantities such as `"0x1b4"`,
//!   optional `blockTimestamp`, optional `removed` defaulting to `false`).
//! - [`KvRecord::from_json`]: `{"key": string, "value": string | any JSON}`; a non-string value
//!   is stored as its compact JSON text.
//! - [`read_jsonl_or_array`]: a document that is either JSON Lines or one JSON array.

use super::{EthLog, KvRecord};
use serde_json::{Map, Value, json};
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

/// Why a JSON document or object is not a valid source record.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A field is missing or malformed; names the field.
    #[error("field `{field}`: {reason}")]
    Field {
        /// JSON field name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The record is not a JSON object.
    #[error("expected a JSON object, found {0}")]
    NotAnObject(&'static str),
    /// A line of a JSON Lines document is not valid JSON.
    #[error("line {line}: {source}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// Parser error.
        source: serde_json::Error,
    },
    /// A JSON array document is not valid JSON.
    #[error("invalid JSON array: {0}")]
    Array(serde_json::Error),
}

fn field_err(field: &'static str, reason: impl Into<String>) -> SchemaError {
    SchemaError::Field {
        field,
        reason: reason.into(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn object(v: &Value) -> Result<&Map<String, Value>, SchemaError> {
    v.as_object()
        .ok_or_else(|| SchemaError::NotAnObject(kind(v)))
}

fn required<'a>(
    obj: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a Value, SchemaError> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(field_err(field, "missing")),
        Some(v) => Ok(v),
    }
}

fn hex_str<'a>(v: &'a Value, field: &'static str) -> Result<&'a str, SchemaError> {
    let s = v.as_str().ok_or_else(|| {
        field_err(
            field,
            format!("expected a 0x-prefixed hex string, found {}", kind(v)),
        )
    })?;
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| field_err(field, format!("{s:?} lacks the 0x prefix")))
}

/// A hex quantity (`"0x1b4"`) or a plain JSON integer.
fn quantity(v: &Value, field: &'static str) -> Result<u64, SchemaError> {
    if let Some(n) = v.as_u64() {
        return Ok(n);
    }
    let digits = hex_str(v, field)?;
    if digits.is_empty() {
        return Err(field_err(field, "empty hex quantity"));
    }
    u64::from_str_radix(digits, 16).map_err(|e| field_err(field, format!("{digits:?}: {e}")))
}

fn quantity_u32(v: &Value, field: &'static str) -> Result<u32, SchemaError> {
    let n = quantity(v, field)?;
    u32::try_from(n).map_err(|_| field_err(field, format!("{n} does not fit in 32 bits")))
}

fn bytes(v: &Value, field: &'static str) -> Result<Vec<u8>, SchemaError> {
    hex::decode(hex_str(v, field)?).map_err(|e| field_err(field, e.to_string()))
}

fn fixed<const N: usize>(v: &Value, field: &'static str) -> Result<[u8; N], SchemaError> {
    let b = bytes(v, field)?;
    let len = b.len();
    b.try_into()
        .map_err(|_| field_err(field, format!("expected {N} bytes, found {len}")))
}

fn hex_quantity(n: u64) -> Value {
    Value::String(format!("{n:#x}"))
}

fn hex_bytes(b: &[u8]) -> Value {
    Value::String(format!("0x{}", hex::encode(b)))
}

impl EthLog {
    /// Parses one `eth_getLogs` result object. Errors name the offending field.
    pub fn from_json(v: &Value) -> Result<EthLog, SchemaError> {
        let obj = object(v)?;
        let topics = match required(obj, "topics")? {
            Value::Array(items) => items
                .iter()
                .map(|t| fixed::<32>(t, "topics"))
                .collect::<Result<Vec<_>, _>>()?,
            other => {
                return Err(field_err(
                    "topics",
                    format!("expected an array, found {}", kind(other)),
                ));
            }
        };
        if let Some(Value::Bool(true)) = obj.get("removed") {
            return Err(field_err("removed", "reorged-out logs are not source data"));
        }
        Ok(EthLog {
            address: fixed(required(obj, "address")?, "address")?,
            topics,
            data: bytes(required(obj, "data")?, "data")?,
            block_number: quantity(required(obj, "blockNumber")?, "blockNumber")?,
            block_hash: fixed(required(obj, "blockHash")?, "blockHash")?,
            block_timestamp: quantity(required(obj, "blockTimestamp")?, "blockTimestamp")?,
            transaction_hash: fixed(required(obj, "transactionHash")?, "transactionHash")?,
            transaction_index: quantity_u32(
                required(obj, "transactionIndex")?,
                "transactionIndex",
            )?,
            log_index: quantity_u32(required(obj, "logIndex")?, "logIndex")?,
        })
    }

    /// The `eth_getLogs` JSON shape of this log.
    pub fn to_json(&self) -> Value {
        json!({
            "address": hex_bytes(&self.address),
            "topics": self.topics.iter().map(|t| hex_bytes(t)).collect::<Vec<_>>(),
            "data": hex_bytes(&self.data),
            "blockNumber": hex_quantity(self.block_number),
            "blockHash": hex_bytes(&self.block_hash),
            "blockTimestamp": hex_quantity(self.block_timestamp),
            "transactionHash": hex_bytes(&self.transaction_hash),
            "transactionIndex": hex_quantity(self.transaction_index.into()),
            "logIndex": hex_quantity(self.log_index.into()),
            "removed": false,
        })
    }
}

impl KvRecord {
    /// Parses `{"key": string, "value": string | any JSON}`; a non-string value is stored as its
    /// compact JSON text.
    pub fn from_json(v: &Value) -> Result<KvRecord, SchemaError> {
        let obj = object(v)?;
        let key = match required(obj, "key")? {
            Value::String(s) => s.as_bytes().to_vec(),
            other => {
                return Err(field_err(
                    "key",
                    format!("expected a string, found {}", kind(other)),
                ));
            }
        };
        let value = match obj.get("value") {
            None => return Err(field_err("value", "missing")),
            Some(Value::String(s)) => s.as_bytes().to_vec(),
            Some(other) => {
                serde_json::to_vec(other).map_err(|e| field_err("value", e.to_string()))?
            }
        };
        Ok(KvRecord { key, value })
    }
}

/// Splits a document into JSON values: a JSON array (first non-blank character `[`) yields its
/// elements, anything else is read as JSON Lines (blank lines skipped).
pub fn read_jsonl_or_array(text: &str) -> Result<Vec<Value>, SchemaError> {
    if text.trim_start().starts_with('[') {
        return match serde_json::from_str::<Value>(text).map_err(SchemaError::Array)? {
            Value::Array(items) => Ok(items),
            _ => Ok(vec![]),
        };
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|source| SchemaError::Line {
                line: i + 1,
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Value {
        json!({
            "address": "0xdac17f958d2ee523a2206206994597c13d831ec7",
            "topics": [
                "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
                "0x000000000000000000000000a9d1e08c7793af67e9d92fe308d5697fb81d3e43",
                "0x00000000000000000000000077696bb39917c91a0c3908d577d5e322095425ca"
            ],
            "data": "0x00000000000000000000000000000000000000000000000000000000000f4240",
            "blockNumber": "0x1b4",
            "blockHash": "0x5f0c0b7d0b5ad0b4e9c7b6b2d0bd4c05c1c8bb5a2a4d0e4b76a3e2ff3f0a7c11",
            "blockTimestamp": "0x6553f100",
            "transactionHash": "0x8e1f43b8a0d7f6f1c0c3a7a53b0d3b5ef0ad2f4bb0c0aa8ea6ff3a1d4cbe6a50",
            "transactionIndex": "0x2",
            "logIndex": "0x1f",
            "removed": false
        })
    }

    #[test]
    fn parses_eth_get_logs_shape() {
        let log = EthLog::from_json(&sample()).unwrap();
        assert_eq!(log.address[0], 0xda);
        assert_eq!(log.address[19], 0xc7);
        assert_eq!(log.topics.len(), 3);
        assert_eq!(log.topics[2][31], 0xca);
        assert_eq!(log.data.len(), 32);
        assert_eq!(log.data[29..], [0x0f, 0x42, 0x40]);
        assert_eq!(log.block_number, 0x1b4);
        assert_eq!(log.block_timestamp, Some(0x6553f100));
        assert_eq!(log.transaction_index, 2);
        assert_eq!(log.log_index, 31);
        assert!(!log.removed);
    }

    #[test]
    fn optional_fields_default() {
        let mut v = sample();
        let obj = v.as_object_mut().unwrap();
        obj.remove("blockTimestamp");
        obj.remove("removed");
        let log = EthLog::from_json(&v).unwrap();
        assert_eq!(log.block_timestamp, None);
        assert!(!log.removed);
    }

    #[test]
    fn errors_name_the_field() {
        let cases: [(&str, Value, &str); 6] = [
            ("address", json!("0x1234"), "address"),
            ("blockNumber", json!("1b4"), "blockNumber"),
            ("logIndex", json!("0x100000000"), "logIndex"),
            ("topics", json!(["0x00"]), "topics"),
            ("data", json!("0xzz"), "data"),
            ("removed", json!("no"), "removed"),
        ];
        for (field, bad, named) in cases {
            let mut v = sample();
            v[field] = bad;
            let err = EthLog::from_json(&v).unwrap_err();
            assert!(
                matches!(&err, SchemaError::Field { field, .. } if *field == named),
                "{field}: {err}"
            );
        }
        let mut v = sample();
        v.as_object_mut().unwrap().remove("transactionHash");
        assert_eq!(
            EthLog::from_json(&v).unwrap_err().to_string(),
            "field `transactionHash`: missing"
        );
        assert!(matches!(
            EthLog::from_json(&json!([1])),
            Err(SchemaError::NotAnObject("an array"))
        ));
    }

    #[test]
    fn kv_values_string_or_json_text() {
        let r = KvRecord::from_json(&json!({"key": "k", "value": "v"})).unwrap();
        assert_eq!(r, KvRecord::new("k", "v"));
        let r = KvRecord::from_json(&json!({"key": "k", "value": {"a": [1, 2]}})).unwrap();
        assert_eq!(r.value, br#"{"a":[1,2]}"#);
        let r = KvRecord::from_json(&json!({"key": "k", "value": null})).unwrap();
        assert_eq!(r.value, b"null");
        assert!(matches!(
            KvRecord::from_json(&json!({"key": 1, "value": "v"})),
            Err(SchemaError::Field { field: "key", .. })
        ));
        assert!(matches!(
            KvRecord::from_json(&json!({"key": "k"})),
            Err(SchemaError::Field { field: "value", .. })
        ));
    }

    #[test]
    fn reads_both_document_shapes() {
        let lines = "{\"a\":1}\n\n  {\"a\":2}\n";
        assert_eq!(
            read_jsonl_or_array(lines).unwrap(),
            vec![json!({"a":1}), json!({"a":2})]
        );
        let array = " [ {\"a\":1}, {\"a\":2} ]";
        assert_eq!(
            read_jsonl_or_array(array).unwrap(),
            vec![json!({"a":1}), json!({"a":2})]
        );
        let bad = "{\"a\":1}\n{oops\n";
        assert!(matches!(
            read_jsonl_or_array(bad),
            Err(SchemaError::Line { line: 2, .. })
        ));
        assert!(matches!(
            read_jsonl_or_array("[1,"),
            Err(SchemaError::Array(_))
        ));
    }

    fn arb_log() -> impl Strategy<Value = EthLog> {
        (
            any::<[u8; 20]>(),
            proptest::collection::vec(any::<[u8; 32]>(), 0..5),
            proptest::collection::vec(any::<u8>(), 0..100),
            any::<u64>(),
            any::<Option<u64>>(),
            any::<[u8; 32]>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
        )
            .prop_map(
                |(
                    address,
                    topics,
                    data,
                    block_number,
                    block_timestamp,
                    transaction_hash,
                    ti,
                    li,
                    removed,
                )| {
                    EthLog {
                        address,
                        topics,
                        data,
                        block_number,
                        block_timestamp,
                        transaction_hash,
                        transaction_index: ti,
                        log_index: li,
                        removed,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn json_roundtrip(log in arb_log()) {
            let text = log.to_json().to_string();
            let back = EthLog::from_json(&serde_json::from_str(&text).unwrap()).unwrap();
            prop_assert_eq!(back, log);
        }
    }
}
