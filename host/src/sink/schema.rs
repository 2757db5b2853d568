//! A dataset's table: its name and columns, derived from the dataset's declared types.
//!
//! Every table has `key bytea primary key`, `height bigint` (the block that last wrote the row) and `state_root
//! bytea` (that block's root). An untyped dataset adds `value bytea`. A typed one adds `value_scale bytea` (the
//! record's bytes: what proofs check, and all there is of a record that does not decode as its type) and one
//! column per field of its value (a struct: one per field, by name; a tuple: `value_0`, `value_1`…; anything
//! else: `value`), and columns for its key's parts (a struct: `key_<field>`; a tuple: `key_0`…; a byte string: none,
//! `key` is it; anything else: `key_typed`). A column's type follows its field's type ([`ColumnType::of`]). Typed
//! columns are nullable: a record whose bytes do not decode has them null.

use manuscript_sdk::scale_info::form::PortableForm;
use manuscript_sdk::scale_info::{Field, PortableRegistry, TypeDef, TypeDefPrimitive};

use super::error::SinkError;
use crate::datasets::ManuscriptTypes;
use crate::hex_text::to_hex;

/// Longest identifier PostgreSQL keeps (longer ones are cut short without a word).
const MAX_IDENTIFIER: usize = 63;

/// A column's PostgreSQL type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `boolean`.
    Boolean,
    /// `bigint`: signed integers up to 64 bits, unsigned up to 32.
    BigInt,
    /// `numeric`: `u64`, 128- and 256-bit integers.
    Numeric,
    /// `text`: strings and chars.
    Text,
    /// `bytea`: byte arrays and vectors (addresses, hashes).
    Bytea,
    /// `jsonb`: anything nested (structs, tuples, enums, sequences), as the node's JSON shows it.
    Jsonb,
}

impl ColumnType {
    /// The type's name in SQL and in `information_schema.columns.data_type`.
    pub fn sql(self) -> &'static str {
        match self {
            ColumnType::Boolean => "boolean",
            ColumnType::BigInt => "bigint",
            ColumnType::Numeric => "numeric",
            ColumnType::Text => "text",
            ColumnType::Bytea => "bytea",
            ColumnType::Jsonb => "jsonb",
        }
    }

    /// The column type of values of type `id` in `registry`.
    pub fn of(registry: &PortableRegistry, id: u32) -> ColumnType {
        let Some(ty) = registry.resolve(id) else {
            return ColumnType::Jsonb;
        };
        if ty.path.segments.last().is_some_and(|s| s == "U256") {
            return ColumnType::Numeric;
        }
        if ty.path.segments.last().is_some_and(|s| s == "Option")
            && let TypeDef::Variant(v) = &ty.type_def
            && let Some(some) = v.variants.iter().find(|v| v.name == "Some")
            && let [inner] = some.fields.as_slice()
        {
            return ColumnType::of(registry, inner.ty.id);
        }
        match &ty.type_def {
            TypeDef::Primitive(p) => match p {
                TypeDefPrimitive::Bool => ColumnType::Boolean,
                TypeDefPrimitive::Char | TypeDefPrimitive::Str => ColumnType::Text,
                TypeDefPrimitive::U8
                | TypeDefPrimitive::U16
                | TypeDefPrimitive::U32
                | TypeDefPrimitive::I8
                | TypeDefPrimitive::I16
                | TypeDefPrimitive::I32
                | TypeDefPrimitive::I64 => ColumnType::BigInt,
                TypeDefPrimitive::U64
                | TypeDefPrimitive::U128
                | TypeDefPrimitive::I128
                | TypeDefPrimitive::U256
                | TypeDefPrimitive::I256 => ColumnType::Numeric,
            },
            TypeDef::Array(a) if is_u8(registry, a.type_param.id) => ColumnType::Bytea,
            TypeDef::Sequence(s) if is_u8(registry, s.type_param.id) => ColumnType::Bytea,
            TypeDef::Compact(c) => ColumnType::of(registry, c.type_param.id),
            // A one-field tuple struct shows as its field.
            TypeDef::Composite(c) if c.fields.len() == 1 && c.fields[0].name.is_none() => {
                ColumnType::of(registry, c.fields[0].ty.id)
            }
            TypeDef::Tuple(t) if t.fields.len() == 1 => ColumnType::of(registry, t.fields[0].id),
            _ => ColumnType::Jsonb,
        }
    }
}

fn is_u8(registry: &PortableRegistry, id: u32) -> bool {
    matches!(
        registry.resolve(id).map(|t| &t.type_def),
        Some(TypeDef::Primitive(TypeDefPrimitive::U8))
    )
}

/// Where a typed column's value sits in the record's JSON (as [`ManuscriptTypes`] decodes it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// The whole JSON.
    Whole,
    /// A field of an object.
    Field(String),
    /// An element of an array.
    Index(usize),
}

/// A column filled from the decoded key or value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypedColumn {
    /// The column's name.
    pub name: String,
    /// Its type.
    pub ty: ColumnType,
    /// Where its value sits in the decoded JSON.
    pub place: Place,
}

/// One dataset's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSpec {
    /// The table's name (unquoted; always quoted in SQL).
    pub table: String,
    /// The manuscript.
    pub manuscript: String,
    /// The dataset.
    pub dataset: String,
    /// Whether the dataset declares its types (then the raw value is `value_scale`, else `value`).
    pub typed: bool,
    /// Columns from the decoded key.
    pub key_columns: Vec<TypedColumn>,
    /// Columns from the decoded value.
    pub value_columns: Vec<TypedColumn>,
    /// Whether the dataset is append-only: its rows' keys are then the appending block's height (8 bytes, big
    /// endian) followed by the record key, as its pages name records, so a key appended again later is a new row.
    pub append_only: bool,
}

/// The table name of `manuscript/dataset`: `<manuscript>__<dataset>` in lowercase with every character other than
/// `a-z`, `0-9` and `_` made `_`; a name above 63 bytes is cut and ends with a hash of the pair.
pub fn table_name(manuscript: &str, dataset: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                let c = c.to_ascii_lowercase();
                if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let name = format!("{}__{}", clean(manuscript), clean(dataset));
    if name.len() <= MAX_IDENTIFIER {
        return name;
    }
    let hash = to_hex(cvm_runtime::state::blake2_256(
        format!("{manuscript}/{dataset}").as_bytes(),
    ));
    format!("{}_{}", &name[..MAX_IDENTIFIER - 9], &hash[2..10])
}

/// How a key or value's columns are named.
struct Naming {
    /// Before a struct field's name.
    field: &'static str,
    /// Before a tuple element's index.
    index: &'static str,
    /// The one column of a type that is not a struct or tuple.
    whole: &'static str,
    /// Whether a byte string gets no column (the key's bytea is it).
    bytes_is_key: bool,
}

const KEY: Naming = Naming {
    field: "key_",
    index: "key_",
    whole: "key_typed",
    bytes_is_key: true,
};

const VALUE: Naming = Naming {
    field: "",
    index: "value_",
    whole: "value",
    bytes_is_key: false,
};

/// The columns a key or value of type `id` spreads into.
fn spread(registry: &PortableRegistry, id: u32, naming: &Naming) -> Vec<TypedColumn> {
    let single = |ty| {
        if naming.bytes_is_key && ty == ColumnType::Bytea {
            return Vec::new();
        }
        vec![TypedColumn {
            name: naming.whole.to_string(),
            ty,
            place: Place::Whole,
        }]
    };
    let Some(ty) = registry.resolve(id) else {
        return single(ColumnType::Jsonb);
    };
    let column_type = ColumnType::of(registry, id);
    let fields: Vec<(Option<String>, u32)> = match &ty.type_def {
        TypeDef::Composite(c) if column_type == ColumnType::Jsonb => c
            .fields
            .iter()
            .map(|f: &Field<PortableForm>| (f.name.clone(), f.ty.id))
            .collect(),
        TypeDef::Tuple(t) if column_type == ColumnType::Jsonb && !t.fields.is_empty() => {
            t.fields.iter().map(|f| (None, f.id)).collect()
        }
        _ => return single(column_type),
    };
    if fields.is_empty() {
        return single(column_type);
    }
    fields
        .into_iter()
        .enumerate()
        .map(|(i, (name, id))| TypedColumn {
            name: match &name {
                Some(n) => format!("{}{n}", naming.field),
                None => format!("{}{i}", naming.index),
            },
            ty: ColumnType::of(registry, id),
            place: match name {
                Some(n) => Place::Field(n),
                None => Place::Index(i),
            },
        })
        .collect()
}

impl TableSpec {
    /// The table of `manuscript/dataset`, with columns from `types` (none: the value as bytea).
    pub fn new(
        manuscript: &str,
        dataset: &str,
        types: Option<&ManuscriptTypes>,
    ) -> Result<TableSpec, SinkError> {
        let declared = types.and_then(|t| {
            let d = t.dataset_types().dataset(dataset)?;
            Some((&t.dataset_types().registry, d.key, d.value))
        });
        let (typed, key_columns, mut value_columns) = match declared {
            None => (false, Vec::new(), Vec::new()),
            Some((registry, key, value)) => (
                true,
                spread(registry, key, &KEY),
                spread(registry, value, &VALUE),
            ),
        };
        // A value field may not take a name the table already uses.
        let mut taken: Vec<String> = ["key", "value_scale", "height", "state_root"]
            .into_iter()
            .map(String::from)
            .chain(key_columns.iter().map(|c| c.name.clone()))
            .collect();
        for column in &mut value_columns {
            let mut name = column.name.clone();
            if taken.contains(&name) {
                name = format!("value_{name}");
            }
            while taken.contains(&name) {
                name.push('_');
            }
            column.name = name.clone();
            taken.push(name);
        }
        let spec = TableSpec {
            table: table_name(manuscript, dataset),
            manuscript: manuscript.to_string(),
            dataset: dataset.to_string(),
            typed,
            key_columns,
            value_columns,
            append_only: false,
        };
        if let Some((name, _)) = spec.columns().into_iter().find(|(n, _)| {
            n.len() > MAX_IDENTIFIER || n.chars().any(|c| c == '"' || c.is_control())
        }) {
            return Err(SinkError::ColumnName {
                dataset: format!("{manuscript}/{dataset}"),
                column: name,
            });
        }
        Ok(spec)
    }

    /// The raw value column's name: `value_scale` when typed, else `value`.
    pub fn raw_value_column(&self) -> &'static str {
        if self.typed { "value_scale" } else { "value" }
    }

    /// Every column with its type, in table order: `key`, the raw value, `height`, `state_root`, then the key's
    /// typed columns and the value's.
    pub fn columns(&self) -> Vec<(String, ColumnType)> {
        [
            ("key", ColumnType::Bytea),
            (self.raw_value_column(), ColumnType::Bytea),
            ("height", ColumnType::BigInt),
            ("state_root", ColumnType::Bytea),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .chain(
            self.key_columns
                .iter()
                .chain(&self.value_columns)
                .map(|c| (c.name.clone(), c.ty)),
        )
        .collect()
    }

    /// `CREATE TABLE IF NOT EXISTS` of the table.
    pub fn create_sql(&self) -> String {
        let columns: Vec<String> = self
            .columns()
            .into_iter()
            .enumerate()
            .map(|(i, (name, ty))| {
                let constraint = match i {
                    0 => " PRIMARY KEY",
                    1..=3 => " NOT NULL",
                    _ => "",
                };
                format!("{} {}{constraint}", quote(&name), ty.sql())
            })
            .collect();
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            quote(&self.table),
            columns.join(", ")
        )
    }
}

/// `name` as a quoted SQL identifier (names never hold `"`: [`TableSpec::new`] refuses them).
pub fn quote(name: &str) -> String {
    format!("\"{name}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn erc20() -> ManuscriptTypes {
        ManuscriptTypes::load(manuscript_fixtures::ERC20_TRANSFERS)
            .expect("valid types")
            .expect("declared")
    }

    fn columns(spec: &TableSpec) -> Vec<(String, &'static str)> {
        spec.columns()
            .into_iter()
            .map(|(n, t)| (n, t.sql()))
            .collect()
    }

    fn owned(list: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        list.iter().map(|(n, t)| (n.to_string(), *t)).collect()
    }

    #[test]
    fn erc20_tables_have_a_column_per_field() {
        let types = erc20();
        let transfers = TableSpec::new("erc20-transfers", "transfers", Some(&types)).unwrap();
        assert_eq!(transfers.table, "erc20_transfers__transfers");
        assert_eq!(
            columns(&transfers),
            owned(&[
                ("key", "bytea"),
                ("value_scale", "bytea"),
                ("height", "bigint"),
                ("state_root", "bytea"),
                ("token", "bytea"),
                ("from", "bytea"),
                ("to", "bytea"),
                ("value", "numeric"),
                ("transaction_hash", "bytea"),
            ])
        );
        let balances = TableSpec::new("erc20-transfers", "balances", Some(&types)).unwrap();
        assert_eq!(
            columns(&balances)[4..],
            owned(&[
                ("key_0", "bytea"),
                ("key_1", "bytea"),
                ("net_flow", "jsonb"),
                ("transfers", "numeric"),
                ("since", "numeric"),
            ])
        );
        assert_eq!(balances.key_columns[1].place, Place::Index(1));
        assert_eq!(
            balances.value_columns[0].place,
            Place::Field("net_flow".into())
        );
        // A byte-string key is the key column itself.
        let supply = TableSpec::new("erc20-transfers", "supply", Some(&types)).unwrap();
        assert!(supply.key_columns.is_empty());
        assert!(
            supply
                .create_sql()
                .starts_with("CREATE TABLE IF NOT EXISTS \"erc20_transfers__supply\" (\"key\" bytea PRIMARY KEY, \"value_scale\" bytea NOT NULL")
        );
    }

    #[test]
    fn untyped_datasets_keep_the_value_as_bytes() {
        let spec = TableSpec::new("idle", "out", None).unwrap();
        assert_eq!(
            columns(&spec),
            owned(&[
                ("key", "bytea"),
                ("value", "bytea"),
                ("height", "bigint"),
                ("state_root", "bytea"),
            ])
        );
        // A dataset the types leave out is untyped too.
        let spec = TableSpec::new("erc20-transfers", "other", Some(&erc20())).unwrap();
        assert!(!spec.typed);
    }

    #[test]
    fn scalars_and_clashing_names() {
        let types = manuscript_sdk::types::DatasetTypes::builder()
            .dataset::<u64, u128>("counts")
            .dataset::<String, (bool, Option<u32>, Vec<u16>)>("flags")
            .build();
        let registry = &types.registry;
        let counts = &types.datasets[0];
        assert_eq!(
            spread(registry, counts.key, &KEY),
            vec![TypedColumn {
                name: "key_typed".into(),
                ty: ColumnType::Numeric,
                place: Place::Whole
            }]
        );
        let flags = &types.datasets[1];
        let value: Vec<_> = spread(registry, flags.value, &VALUE)
            .into_iter()
            .map(|c| (c.name, c.ty))
            .collect();
        assert_eq!(
            value,
            vec![
                ("value_0".to_string(), ColumnType::Boolean),
                ("value_1".to_string(), ColumnType::BigInt),
                ("value_2".to_string(), ColumnType::Jsonb),
            ]
        );
        assert_eq!(ColumnType::of(registry, flags.key), ColumnType::Text);
    }

    #[test]
    fn long_names_are_cut_with_a_hash() {
        let long = "m".repeat(60);
        let a = table_name(&long, "a");
        let b = table_name(&long, "b");
        assert_eq!(a.len(), 63);
        assert_ne!(a, b);
        assert_eq!(table_name("Erc20.X-y", "d"), "erc20_x_y__d");
    }
}
