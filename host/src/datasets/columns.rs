//! A dataset's records as table rows: one column per field of the declared key and value types, for the formats
//! people load data into (Parquet, CSV). Cells come from the record's JSON ([`ManuscriptTypes::key_json`]), so a
//! column shows exactly what the API shows; the record's verified bytes travel beside them as `record_key` and
//! `record_value`.
//!
//! Shapes: a struct gives one column per field, a tuple (or tuple struct) one per element (`_0`, `_1`, …), any
//! other type one column. A key's columns are named `key_<field>` (or `key_<i>`, or `key_decoded`); a value's by
//! its field names (or `value_<i>`, or `value_decoded`), prefixed with `value_` where a name is taken. A key or
//! value that is a byte string has no typed column: its bytes column already holds it.

use manuscript_sdk::scale_info::form::PortableForm;
use manuscript_sdk::scale_info::{PortableRegistry, Type, TypeDef, TypeDefPrimitive};
use serde_json::Value as Json;

use super::ManuscriptTypes;

/// The column of a record's key bytes (verified).
pub const RECORD_KEY: &str = "record_key";
/// The column of a record's value bytes (verified).
pub const RECORD_VALUE: &str = "record_value";

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// `bool`.
    Bool,
    /// A signed integer of up to 64 bits.
    Int,
    /// An unsigned integer of up to 64 bits.
    UInt,
    /// A wider integer (128 or 256 bits), as decimal text: no column type of the formats holds every value.
    Decimal,
    /// A string.
    Text,
    /// A byte string (`[u8; N]`, `Vec<u8>`).
    Bytes,
    /// Anything else (enums, nested structs, sequences), as JSON text.
    Json,
}

/// Where a column's cell is within the record's JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pick {
    Whole,
    Field(String),
    Index(usize),
}

/// One typed column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// What it holds.
    pub kind: ColumnKind,
    pick: Pick,
}

impl Column {
    /// This column's cell of a record whose key or value (as the column's side) shows as `json`; `None` when the
    /// record has no such field (its bytes did not decode as the declared type).
    pub fn cell<'a>(&self, json: &'a Json) -> Option<&'a Json> {
        let cell = match &self.pick {
            Pick::Whole => Some(json),
            Pick::Field(name) => json.as_object()?.get(name),
            Pick::Index(i) => json.as_array()?.get(*i),
        }?;
        (!cell.is_null()).then_some(cell)
    }
}

/// The typed columns of one dataset: the key's, then the value's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatasetColumns {
    /// Columns of the key.
    pub key: Vec<Column>,
    /// Columns of the value.
    pub value: Vec<Column>,
}

impl DatasetColumns {
    /// The columns of `dataset` by its declared types; none for an untyped dataset (or no types at all).
    pub fn of(types: Option<&ManuscriptTypes>, dataset: &str) -> DatasetColumns {
        let Some(types) = types else {
            return DatasetColumns::default();
        };
        let declared = types.dataset_types();
        let Some(d) = declared.dataset(dataset) else {
            return DatasetColumns::default();
        };
        let registry = &declared.registry;
        let key = columns(registry, d.key, "key", |field| format!("key_{field}"));
        let taken: Vec<String> = [RECORD_KEY, RECORD_VALUE]
            .into_iter()
            .map(String::from)
            .chain(key.iter().map(|c| c.name.clone()))
            .collect();
        let mut value = columns(registry, d.value, "value", |field| field.to_string());
        for column in &mut value {
            if taken.contains(&column.name) {
                column.name = format!("value_{}", column.name);
            }
        }
        DatasetColumns { key, value }
    }
}

fn resolve(registry: &PortableRegistry, id: u32) -> Option<&Type<PortableForm>> {
    registry.resolve(id)
}

/// The id a one-element tuple struct stands for (its JSON is its element's), else `id`.
fn unwrap_newtype(registry: &PortableRegistry, mut id: u32) -> u32 {
    for _ in 0..32 {
        match resolve(registry, id).map(|t| &t.type_def) {
            Some(TypeDef::Composite(c))
                if c.fields.len() == 1 && c.fields[0].name.is_none() && !is_u256(registry, id) =>
            {
                id = c.fields[0].ty.id;
            }
            _ => break,
        }
    }
    id
}

fn is_u256(registry: &PortableRegistry, id: u32) -> bool {
    resolve(registry, id).is_some_and(|t| t.path.segments.last().is_some_and(|s| s == "U256"))
}

/// Top-level columns of type `id`: named fields, tuple elements, or the whole.
fn columns(
    registry: &PortableRegistry,
    id: u32,
    side: &str,
    field_name: impl Fn(&str) -> String,
) -> Vec<Column> {
    let id = unwrap_newtype(registry, id);
    let kind = kind_of(registry, id, 0);
    if kind == ColumnKind::Bytes {
        return Vec::new();
    }
    let element = |i: usize, ty: u32| Column {
        name: format!("{side}_{i}"),
        kind: kind_of(registry, ty, 0),
        pick: Pick::Index(i),
    };
    match resolve(registry, id).map(|t| &t.type_def) {
        Some(TypeDef::Composite(c)) if !is_u256(registry, id) && !c.fields.is_empty() => {
            if c.fields.iter().all(|f| f.name.is_some()) {
                c.fields
                    .iter()
                    .map(|f| {
                        let name = f.name.clone().unwrap_or_default();
                        Column {
                            name: field_name(&name),
                            kind: kind_of(registry, f.ty.id, 0),
                            pick: Pick::Field(name),
                        }
                    })
                    .collect()
            } else {
                c.fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| element(i, f.ty.id))
                    .collect()
            }
        }
        Some(TypeDef::Tuple(t)) if !t.fields.is_empty() => t
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| element(i, f.id))
            .collect(),
        _ => vec![Column {
            name: format!("{side}_decoded"),
            kind,
            pick: Pick::Whole,
        }],
    }
}

/// What a value of type `id` shows as in its JSON, as a column kind.
fn kind_of(registry: &PortableRegistry, id: u32, depth: usize) -> ColumnKind {
    if depth > 32 {
        return ColumnKind::Json;
    }
    if is_u256(registry, id) {
        return ColumnKind::Decimal;
    }
    let Some(ty) = resolve(registry, id) else {
        return ColumnKind::Json;
    };
    let is_u8 = |id: u32| {
        matches!(
            resolve(registry, id).map(|t| &t.type_def),
            Some(TypeDef::Primitive(TypeDefPrimitive::U8))
        )
    };
    match &ty.type_def {
        TypeDef::Primitive(p) => match p {
            TypeDefPrimitive::Bool => ColumnKind::Bool,
            TypeDefPrimitive::U8
            | TypeDefPrimitive::U16
            | TypeDefPrimitive::U32
            | TypeDefPrimitive::U64 => ColumnKind::UInt,
            TypeDefPrimitive::I8
            | TypeDefPrimitive::I16
            | TypeDefPrimitive::I32
            | TypeDefPrimitive::I64 => ColumnKind::Int,
            TypeDefPrimitive::U128
            | TypeDefPrimitive::I128
            | TypeDefPrimitive::U256
            | TypeDefPrimitive::I256 => ColumnKind::Decimal,
            TypeDefPrimitive::Str | TypeDefPrimitive::Char => ColumnKind::Text,
        },
        TypeDef::Compact(c) => kind_of(registry, c.type_param.id, depth + 1),
        TypeDef::Array(a) if is_u8(a.type_param.id) => ColumnKind::Bytes,
        TypeDef::Sequence(s) if is_u8(s.type_param.id) => ColumnKind::Bytes,
        TypeDef::Composite(c) if c.fields.len() == 1 && c.fields[0].name.is_none() => {
            kind_of(registry, c.fields[0].ty.id, depth + 1)
        }
        TypeDef::Variant(v) if ty.path.segments.last().is_some_and(|s| s == "Option") => v
            .variants
            .iter()
            .find_map(|variant| variant.fields.first())
            .map_or(ColumnKind::Json, |f| kind_of(registry, f.ty.id, depth + 1)),
        _ => ColumnKind::Json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn erc20() -> ManuscriptTypes {
        ManuscriptTypes::load(manuscript_fixtures::ERC20_TRANSFERS)
            .expect("types load")
            .expect("erc20-transfers declares types")
    }

    fn names(columns: &[Column]) -> Vec<(&str, ColumnKind)> {
        columns.iter().map(|c| (c.name.as_str(), c.kind)).collect()
    }

    #[test]
    fn erc20_transfers_columns_follow_the_declared_structs() {
        let types = erc20();
        let transfers = DatasetColumns::of(Some(&types), "transfers");
        assert!(
            transfers.key.is_empty(),
            "a byte-array key has no typed column"
        );
        assert_eq!(
            names(&transfers.value),
            vec![
                ("token", ColumnKind::Bytes),
                ("from", ColumnKind::Bytes),
                ("to", ColumnKind::Bytes),
                ("value", ColumnKind::Decimal),
                ("transaction_hash", ColumnKind::Bytes),
            ]
        );
        let balances = DatasetColumns::of(Some(&types), "balances");
        assert_eq!(
            names(&balances.key),
            vec![("key_0", ColumnKind::Bytes), ("key_1", ColumnKind::Bytes)]
        );
        assert!(
            balances
                .value
                .iter()
                .any(|c| c.name == "transfers" && c.kind == ColumnKind::UInt),
            "{:?}",
            balances.value
        );
    }

    #[test]
    fn untyped_datasets_have_no_typed_columns() {
        assert_eq!(
            DatasetColumns::of(None, "transfers"),
            DatasetColumns::default()
        );
        assert_eq!(
            DatasetColumns::of(Some(&erc20()), "no-such-dataset"),
            DatasetColumns::default()
        );
    }

    #[test]
    fn cells_come_from_the_json_and_a_record_that_did_not_decode_has_none() {
        let types = erc20();
        let columns = DatasetColumns::of(Some(&types), "balances");
        let key = json!(["0x01", "0x02"]);
        assert_eq!(columns.key[1].cell(&key), Some(&json!("0x02")));
        let undecoded = json!("0x0102");
        assert_eq!(columns.key[0].cell(&undecoded), None);
        let transfers = columns
            .value
            .iter()
            .find(|c| c.name == "transfers")
            .unwrap();
        assert_eq!(transfers.cell(&json!({"transfers": 3})), Some(&json!(3)));
        assert_eq!(transfers.cell(&json!({"transfers": null})), None);
    }
}
