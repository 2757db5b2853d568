//! Rows: the verified changes of a run of blocks held per dataset until they are written (the last change of a
//! key wins, so a key written in several blocks of a batch costs one row), and their encoding into one column
//! array per table column for a single `INSERT … SELECT FROM unnest(…)` statement.

use std::collections::BTreeMap;

use postgres::types::ToSql;
use serde_json::Value as Json;

use super::schema::{ColumnType, TableSpec};
use crate::datasets::ManuscriptTypes;
use crate::hex_text::from_hex;

/// A record's value after a block, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// The block's height.
    pub height: u64,
    /// The block's state root.
    pub state_root: [u8; 32],
    /// The record's bytes.
    pub value: Vec<u8>,
}

/// A record key with its value after a block.
pub type Row = (Vec<u8>, Written);

/// One dataset's changes not yet written: per key its last write, or `None` for a removal.
#[derive(Debug, Default)]
pub struct Pending {
    changes: BTreeMap<Vec<u8>, Option<Written>>,
}

impl Pending {
    /// Records a change; a later change of the same key replaces an earlier one.
    pub fn change(&mut self, key: &[u8], written: Option<Written>) {
        self.changes.insert(key.to_vec(), written);
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Empties it into (keys removed, rows written).
    pub fn take(&mut self) -> (Vec<Vec<u8>>, Vec<Row>) {
        let mut removed = Vec::new();
        let mut written = Vec::new();
        for (key, change) in std::mem::take(&mut self.changes) {
            match change {
                None => removed.push(key),
                Some(w) => written.push((key, w)),
            }
        }
        (removed, written)
    }
}

/// One column's values for a statement, as PostgreSQL arrays.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnData {
    /// `boolean[]`.
    Bool(Vec<Option<bool>>),
    /// `bigint[]`.
    Int(Vec<Option<i64>>),
    /// `text[]`, cast on the server to the column's type (text, numeric or jsonb).
    Text(Vec<Option<String>>),
    /// `bytea[]`.
    Bytes(Vec<Option<Vec<u8>>>),
}

impl ColumnData {
    fn new(ty: ColumnType, capacity: usize) -> ColumnData {
        match ty {
            ColumnType::Boolean => ColumnData::Bool(Vec::with_capacity(capacity)),
            ColumnType::BigInt => ColumnData::Int(Vec::with_capacity(capacity)),
            ColumnType::Numeric | ColumnType::Text | ColumnType::Jsonb => {
                ColumnData::Text(Vec::with_capacity(capacity))
            }
            ColumnType::Bytea => ColumnData::Bytes(Vec::with_capacity(capacity)),
        }
    }

    /// The statement parameter.
    pub fn param(&self) -> &(dyn ToSql + Sync) {
        match self {
            ColumnData::Bool(v) => v,
            ColumnData::Int(v) => v,
            ColumnData::Text(v) => v,
            ColumnData::Bytes(v) => v,
        }
    }

    /// Pushes the value `json` holds for a column of type `ty` (null when it holds none of that type).
    fn push(&mut self, ty: ColumnType, json: Option<&Json>) {
        let json = json.filter(|j| !j.is_null());
        match self {
            ColumnData::Bool(v) => v.push(json.and_then(Json::as_bool)),
            ColumnData::Int(v) => v.push(json.and_then(Json::as_i64)),
            ColumnData::Bytes(v) => {
                v.push(json.and_then(Json::as_str).and_then(|s| from_hex(s).ok()))
            }
            ColumnData::Text(v) => v.push(json.and_then(|j| match ty {
                ColumnType::Numeric => decimal(j),
                ColumnType::Text => j.as_str().map(str::to_string),
                _ => Some(j.to_string()),
            })),
        }
    }
}

/// An integer as decimal text: a JSON integer, or a decimal string (how 128- and 256-bit integers show).
fn decimal(json: &Json) -> Option<String> {
    match json {
        Json::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Json::String(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| s.clone())
        }
        _ => None,
    }
}

/// The column arrays of `rows` for `spec`'s columns, in [`TableSpec::columns`] order; typed columns decoded with
/// `types` (null where a record does not decode as its type).
pub fn encode(spec: &TableSpec, types: Option<&ManuscriptTypes>, rows: &[Row]) -> Vec<ColumnData> {
    let columns = spec.columns();
    let mut data: Vec<ColumnData> = columns
        .iter()
        .map(|(_, ty)| ColumnData::new(*ty, rows.len()))
        .collect();
    for (key, written) in rows {
        let cells = spec
            .layout
            .cells(types, key, &written.value)
            .into_iter()
            .chain([
                Some(Json::from(written.height)),
                Some(Json::String(crate::hex_text::to_hex(written.state_root))),
            ]);
        for ((out, (_, ty)), cell) in data.iter_mut().zip(&columns).zip(cells) {
            out.push(*ty, cell.as_ref());
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use manuscript_sdk::U256;
    use parity_scale_codec::Encode;

    fn written(height: u64, value: Vec<u8>) -> Written {
        Written {
            height,
            state_root: [height as u8; 32],
            value,
        }
    }

    #[test]
    fn the_last_change_of_a_key_wins() {
        let mut pending = Pending::default();
        pending.change(b"a", Some(written(1, vec![1])));
        pending.change(b"b", Some(written(1, vec![2])));
        pending.change(b"a", None);
        pending.change(b"b", Some(written(2, vec![3])));
        assert_eq!(pending.len(), 2);
        let (removed, rows) = pending.take();
        assert_eq!(removed, vec![b"a".to_vec()]);
        assert_eq!(rows, vec![(b"b".to_vec(), written(2, vec![3]))]);
        assert!(pending.is_empty());
    }

    #[test]
    fn erc20_transfers_encode_by_field() {
        let types = ManuscriptTypes::load(manuscript_fixtures::ERC20_TRANSFERS)
            .unwrap()
            .unwrap();
        let spec = TableSpec::new("erc20-transfers", "transfers", Some(&types), false).unwrap();
        let value = U256::from(10u64).pow(U256::from(24u64));
        let transfer = ([0x11u8; 20], [0u8; 20], [0x22u8; 20], value, [0xabu8; 32]).encode();
        let rows = vec![
            (vec![0; 12], written(7, transfer.clone())),
            // Bytes that are not a Transfer keep their raw value and leave the typed columns null.
            (vec![1; 12], written(8, vec![1, 2, 3])),
        ];
        let data = encode(&spec, Some(&types), &rows);
        assert_eq!(data.len(), spec.columns().len());
        assert_eq!(
            data[1],
            ColumnData::Bytes(vec![Some(transfer), Some(vec![1, 2, 3])])
        );
        assert_eq!(data[7], ColumnData::Int(vec![Some(7), Some(8)]));
        assert_eq!(data[2], ColumnData::Bytes(vec![Some(vec![0x11; 20]), None]));
        assert_eq!(
            data[5],
            ColumnData::Text(vec![Some("1000000000000000000000000".into()), None])
        );
    }

    #[test]
    fn nested_values_are_json_and_wide_integers_decimal() {
        let types = ManuscriptTypes::load(manuscript_fixtures::ERC20_TRANSFERS)
            .unwrap()
            .unwrap();
        let spec = TableSpec::new("erc20-transfers", "balances", Some(&types), false).unwrap();
        let key = ([1u8; 20], [2u8; 20]).encode();
        let balance = ((true, U256::from(5u64)), u64::MAX, 3u64).encode();
        let data = encode(&spec, Some(&types), &[(key, written(1, balance))]);
        assert_eq!(data[3], ColumnData::Bytes(vec![Some(vec![2; 20])]));
        assert_eq!(
            data[4],
            ColumnData::Text(vec![Some(r#"{"magnitude":"5","negative":true}"#.into())])
        );
        assert_eq!(data[5], ColumnData::Text(vec![Some(u64::MAX.to_string())]));
        assert_eq!(decimal(&serde_json::json!("-12")), Some("-12".into()));
        assert_eq!(decimal(&serde_json::json!("0x12")), None);
        assert_eq!(decimal(&serde_json::json!(1.5)), None);
    }
}
