//! A dataset as a table: the one column layout that `cvm export` (Parquet, CSV) and `cvm sink postgres` share, so
//! a dataset has the same column names and kinds wherever it is loaded.
//!
//! Columns, in order:
//! - `record_key`, `record_value`: the record's bytes, as its pages name it (what proofs check). An append-only
//!   dataset's page key is the appending block's height (8 bytes, big-endian) then the record key.
//! - `appended_at` (append-only datasets only): the height of the block that appended the record.
//! - the key's typed columns: a struct gives `key_<field>`, a tuple (or tuple struct) `key_0`, `key_1`…, any other
//!   type one `key_decoded`; a byte array (`[u8; N]`) none: `record_key` holds exactly its bytes.
//! - the value's typed columns: a struct gives one column per field by its name, a tuple `value_0`…, any other
//!   type `value_decoded` (none for a byte array). A field named like a column before it gets a `value_` prefix (then `_`s until unique).
//!
//! Cells come from the record's JSON ([`ManuscriptTypes::decode_key`]), so a column shows exactly what the API
//! shows; a record whose bytes do not decode as its type has its typed cells empty.

use manuscript_sdk::scale_info::form::PortableForm;
use manuscript_sdk::scale_info::{PortableRegistry, Type, TypeDef, TypeDefPrimitive};
use serde_json::Value as Json;

use super::ManuscriptTypes;
use crate::hex_text::to_hex;

/// The column of a record's key bytes, as its pages name it.
pub const RECORD_KEY: &str = "record_key";
/// The column of a record's value bytes.
pub const RECORD_VALUE: &str = "record_value";
/// The column of an append-only record's appending height.
pub const APPENDED_AT: &str = "appended_at";
/// Names a typed column never takes: the fixed columns here, and those the sink adds (`height`, `state_root`).
pub const RESERVED: [&str; 5] = [
    RECORD_KEY,
    RECORD_VALUE,
    APPENDED_AT,
    "height",
    "state_root",
];

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// `bool`.
    Bool,
    /// An integer every value of which fits an `i64`: signed up to 64 bits, unsigned up to 32.
    Int,
    /// A `u64`.
    UInt64,
    /// A 128- or 256-bit integer, as decimal text.
    Decimal,
    /// A string or char.
    Text,
    /// A byte string (`[u8; N]`, `Vec<u8>`), as 0x hex in the JSON cell.
    Bytes,
    /// Anything else (enums, nested structs, sequences), as its JSON.
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

/// The table layout of one dataset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatasetColumns {
    /// The dataset.
    pub dataset: String,
    /// Whether it is append-only (its record keys start with the appending height).
    pub append_only: bool,
    /// Columns of the key.
    pub key: Vec<Column>,
    /// Columns of the value.
    pub value: Vec<Column>,
}

impl DatasetColumns {
    /// The layout of `dataset` by its declared types; no typed columns for an untyped dataset (or no types).
    pub fn of(types: Option<&ManuscriptTypes>, dataset: &str, append_only: bool) -> DatasetColumns {
        let declared = types.and_then(|t| {
            let d = t.dataset_types().dataset(dataset)?;
            Some((&t.dataset_types().registry, d.key, d.value))
        });
        let (key, mut value) = match declared {
            None => (Vec::new(), Vec::new()),
            Some((registry, key, value)) => (
                columns(registry, key, "key", |field| format!("key_{field}")),
                columns(registry, value, "value", |field| field.to_string()),
            ),
        };
        let mut taken: Vec<String> = RESERVED
            .into_iter()
            .map(String::from)
            .chain(key.iter().map(|c| c.name.clone()))
            .collect();
        for column in &mut value {
            let mut name = column.name.clone();
            if taken.contains(&name) {
                name = format!("value_{name}");
            }
            while taken.contains(&name) {
                name.push('_');
            }
            column.name.clone_from(&name);
            taken.push(name);
        }
        DatasetColumns {
            dataset: dataset.to_string(),
            append_only,
            key,
            value,
        }
    }

    /// Every column with its kind, in table order.
    pub fn columns(&self) -> Vec<(String, ColumnKind)> {
        let fixed = [
            Some((RECORD_KEY, ColumnKind::Bytes)),
            Some((RECORD_VALUE, ColumnKind::Bytes)),
            self.append_only.then_some((APPENDED_AT, ColumnKind::Int)),
        ];
        fixed
            .into_iter()
            .flatten()
            .map(|(n, k)| (n.to_string(), k))
            .chain(
                self.key
                    .iter()
                    .chain(&self.value)
                    .map(|c| (c.name.clone(), c.kind)),
            )
            .collect()
    }

    /// The cells of the record named `key` (as its pages name it) with `value`, in [`columns`](Self::columns)
    /// order: bytes as 0x hex, `None` where the record has no such field.
    pub fn cells(
        &self,
        types: Option<&ManuscriptTypes>,
        key: &[u8],
        value: &[u8],
    ) -> Vec<Option<Json>> {
        let (appended_at, record_key) = if self.append_only {
            let height = key
                .get(..8)
                .and_then(|h| <[u8; 8]>::try_from(h).ok())
                .map(u64::from_be_bytes);
            (height, key.get(8..).unwrap_or_default())
        } else {
            (None, key)
        };
        let decoded = |columns: &[Column], decode: &dyn Fn(&ManuscriptTypes) -> Option<Json>| {
            if columns.is_empty() {
                return None;
            }
            types.and_then(decode)
        };
        let key_json = decoded(&self.key, &|t| t.decode_key(&self.dataset, record_key));
        let value_json = decoded(&self.value, &|t| t.decode_value(&self.dataset, value));
        let typed = |columns: &[Column], json: Option<&Json>| -> Vec<Option<Json>> {
            columns
                .iter()
                .map(|c| json.and_then(|j| c.cell(j)).cloned())
                .collect()
        };
        let mut cells = vec![
            Some(Json::String(to_hex(key))),
            Some(Json::String(to_hex(value))),
        ];
        if self.append_only {
            cells.push(appended_at.map(Json::from));
        }
        cells.extend(typed(&self.key, key_json.as_ref()));
        cells.extend(typed(&self.value, value_json.as_ref()));
        cells
    }
}

fn resolve(registry: &PortableRegistry, id: u32) -> Option<&Type<PortableForm>> {
    registry.resolve(id)
}

/// The id a one-element tuple struct or tuple stands for (its JSON is its element's), else `id`.
fn unwrap_newtype(registry: &PortableRegistry, mut id: u32) -> u32 {
    for _ in 0..32 {
        match resolve(registry, id).map(|t| &t.type_def) {
            Some(TypeDef::Composite(c))
                if c.fields.len() == 1 && c.fields[0].name.is_none() && !is_u256(registry, id) =>
            {
                id = c.fields[0].ty.id;
            }
            Some(TypeDef::Tuple(t)) if t.fields.len() == 1 => id = t.fields[0].id,
            _ => break,
        }
    }
    id
}

/// Whether `id` is `[u8; N]`, whose encoding is its bytes: the bytes column already shows it.
fn is_byte_array(registry: &PortableRegistry, id: u32) -> bool {
    match resolve(registry, id).map(|t| &t.type_def) {
        Some(TypeDef::Array(a)) => matches!(
            resolve(registry, a.type_param.id).map(|t| &t.type_def),
            Some(TypeDef::Primitive(TypeDefPrimitive::U8))
        ),
        _ => false,
    }
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
    if is_byte_array(registry, id) {
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
            | TypeDefPrimitive::I8
            | TypeDefPrimitive::I16
            | TypeDefPrimitive::I32
            | TypeDefPrimitive::I64 => ColumnKind::Int,
            TypeDefPrimitive::U64 => ColumnKind::UInt64,
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
        TypeDef::Tuple(t) if t.fields.len() == 1 => kind_of(registry, t.fields[0].id, depth + 1),
        TypeDef::Variant(v) if ty.path.segments.last().is_some_and(|s| s == "Option") => v
            .variants
            .iter()
            .find(|variant| variant.name == "Some")
            .and_then(|variant| variant.fields.first())
            .map_or(ColumnKind::Json, |f| kind_of(registry, f.ty.id, depth + 1)),
        _ => ColumnKind::Json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use manuscript_sdk::U256;
    use manuscript_sdk::types::DatasetTypes;
    use parity_scale_codec::Encode;
    use serde_json::json;

    fn erc20() -> ManuscriptTypes {
        ManuscriptTypes::load(manuscript_fixtures::ERC20_TRANSFERS)
            .expect("types load")
            .expect("erc20-transfers declares types")
    }

    fn layout(columns: &DatasetColumns) -> Vec<(String, ColumnKind)> {
        columns.columns()
    }

    fn owned(list: &[(&str, ColumnKind)]) -> Vec<(String, ColumnKind)> {
        list.iter().map(|(n, k)| (n.to_string(), *k)).collect()
    }

    #[test]
    fn erc20_columns_follow_the_declared_structs() {
        use ColumnKind::*;
        let types = erc20();
        let transfers = DatasetColumns::of(Some(&types), "transfers", true);
        assert_eq!(
            layout(&transfers),
            owned(&[
                ("record_key", Bytes),
                ("record_value", Bytes),
                ("appended_at", Int),
                ("token", Bytes),
                ("from", Bytes),
                ("to", Bytes),
                ("value", Decimal),
                ("transaction_hash", Bytes),
            ]),
            "a byte-array key has no typed column"
        );
        let balances = DatasetColumns::of(Some(&types), "balances", false);
        assert_eq!(
            layout(&balances),
            owned(&[
                ("record_key", Bytes),
                ("record_value", Bytes),
                ("key_0", Bytes),
                ("key_1", Bytes),
                ("net_flow", Json),
                ("transfers", UInt64),
                ("since", UInt64),
            ])
        );
    }

    #[test]
    fn untyped_datasets_have_only_their_bytes() {
        let bytes_only = owned(&[
            ("record_key", ColumnKind::Bytes),
            ("record_value", ColumnKind::Bytes),
        ]);
        assert_eq!(
            layout(&DatasetColumns::of(None, "transfers", false)),
            bytes_only
        );
        let unknown = DatasetColumns::of(Some(&erc20()), "no-such-dataset", false);
        assert_eq!(layout(&unknown), bytes_only);
        assert_eq!(
            unknown.cells(None, &[1], &[2, 3]),
            vec![Some(json!("0x01")), Some(json!("0x0203"))]
        );
    }

    #[test]
    fn an_appended_record_shows_its_height_and_fields() {
        let types = erc20();
        let transfers = DatasetColumns::of(Some(&types), "transfers", true);
        let value = U256::from(10u64).pow(U256::from(24u64));
        let transfer = ([0x11u8; 20], [0u8; 20], [0x22u8; 20], value, [0xabu8; 32]).encode();
        let key = [&42u64.to_be_bytes()[..], &[7; 12]].concat();
        let cells = transfers.cells(Some(&types), &key, &transfer);
        assert_eq!(cells.len(), transfers.columns().len());
        assert_eq!(cells[0], Some(Json::String(to_hex(&key))));
        assert_eq!(cells[1], Some(Json::String(to_hex(&transfer))));
        assert_eq!(cells[2], Some(json!(42)));
        assert_eq!(cells[3], Some(Json::String(to_hex([0x11; 20]))));
        assert_eq!(cells[6], Some(json!("1000000000000000000000000")));
        // Bytes that are not a Transfer keep their bytes and height; the typed cells are empty.
        let cells = transfers.cells(Some(&types), &key, &[1, 2, 3]);
        assert_eq!(cells[1], Some(json!("0x010203")));
        assert_eq!(cells[2], Some(json!(42)));
        assert!(cells[3..].iter().all(Option::is_none), "{cells:?}");
    }

    #[test]
    fn a_keyed_record_decodes_its_key_parts() {
        let types = erc20();
        let balances = DatasetColumns::of(Some(&types), "balances", false);
        let key = ([1u8; 20], [2u8; 20]).encode();
        let value = ((true, U256::from(5u64)), u64::MAX, 3u64).encode();
        let cells = balances.cells(Some(&types), &key, &value);
        assert_eq!(cells[3], Some(Json::String(to_hex([2; 20]))));
        assert_eq!(cells[4], Some(json!({"magnitude": "5", "negative": true})));
        assert_eq!(cells[5], Some(json!(u64::MAX)));
        assert_eq!(balances.cells(Some(&types), &[9], &value)[2], None);
    }

    #[derive(Encode, scale_info::TypeInfo)]
    struct Clashing {
        height: u32,
        record_key: bool,
        key_0: String,
    }

    #[test]
    fn scalars_tuples_and_clashing_names() {
        use ColumnKind::*;
        let types = DatasetTypes::builder()
            .dataset::<u64, u128>("counts")
            .dataset::<String, (bool, Option<u32>, Vec<u16>)>("flags")
            .dataset::<(u8, Vec<u8>), Clashing>("clash")
            .dataset::<(u32,), Vec<u8>>("bytes")
            .build();
        let registry = &types.registry;
        let kinds = |id, side| -> Vec<(String, ColumnKind)> {
            columns(registry, id, side, |f| format!("{side}_{f}"))
                .into_iter()
                .map(|c| (c.name, c.kind))
                .collect()
        };
        let [counts, flags, clash, bytes] = &types.datasets[..] else {
            panic!("four datasets");
        };
        assert_eq!(kinds(counts.key, "key"), owned(&[("key_decoded", UInt64)]));
        assert_eq!(
            kinds(counts.value, "value"),
            owned(&[("value_decoded", Decimal)])
        );
        assert_eq!(kinds(flags.key, "key"), owned(&[("key_decoded", Text)]));
        assert_eq!(
            kinds(flags.value, "value"),
            owned(&[("value_0", Bool), ("value_1", Int), ("value_2", Json)])
        );
        // A one-element tuple is its element; a byte vector (length-prefixed) is decoded.
        assert_eq!(kinds(bytes.key, "key"), owned(&[("key_decoded", Int)]));
        assert_eq!(
            kinds(bytes.value, "value"),
            owned(&[("value_decoded", Bytes)])
        );
        assert_eq!(
            kinds(clash.key, "key"),
            owned(&[("key_0", Int), ("key_1", Bytes)])
        );
        // Value fields never take a fixed column's or a key column's name.
        let clash_columns =
            DatasetColumns::of(Some(&ManuscriptTypes::new(types.clone())), "clash", true);
        assert_eq!(
            layout(&clash_columns)[3..],
            owned(&[
                ("key_0", Int),
                ("key_1", Bytes),
                ("value_height", Int),
                ("value_record_key", Bool),
                ("value_key_0", Text),
            ])
        );
    }
}
