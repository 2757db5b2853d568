//! A dataset's table: its name, and the columns of the dataset's layout ([`DatasetColumns`]: `record_key`,
//! `record_value`, `appended_at` for an append-only dataset, then the typed key and value columns) followed by
//! `height` (the block that last wrote the row) and `state_root` (that block's root). `record_key` is the primary
//! key. A column's PostgreSQL type follows its kind ([`ColumnType::of`]); typed columns are nullable: a record
//! whose bytes do not decode has them null.

use super::error::SinkError;
use crate::datasets::ManuscriptTypes;
use crate::datasets::columns::{ColumnKind, DatasetColumns, RECORD_KEY};
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

    /// The type of a column of `kind`.
    pub fn of(kind: ColumnKind) -> ColumnType {
        match kind {
            ColumnKind::Bool => ColumnType::Boolean,
            ColumnKind::Int => ColumnType::BigInt,
            ColumnKind::UInt64 | ColumnKind::Decimal => ColumnType::Numeric,
            ColumnKind::Text => ColumnType::Text,
            ColumnKind::Bytes => ColumnType::Bytea,
            ColumnKind::Json => ColumnType::Jsonb,
        }
    }
}

/// One dataset's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSpec {
    /// The table's name (unquoted; always quoted in SQL).
    pub table: String,
    /// The manuscript.
    pub manuscript: String,
    /// The dataset's columns.
    pub layout: DatasetColumns,
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

impl TableSpec {
    /// The table of `manuscript/dataset`, with columns from `types` (none: only the record's bytes).
    pub fn new(
        manuscript: &str,
        dataset: &str,
        types: Option<&ManuscriptTypes>,
        append_only: bool,
    ) -> Result<TableSpec, SinkError> {
        let spec = TableSpec {
            table: table_name(manuscript, dataset),
            manuscript: manuscript.to_string(),
            layout: DatasetColumns::of(types, dataset, append_only),
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

    /// The dataset.
    pub fn dataset(&self) -> &str {
        &self.layout.dataset
    }

    /// Every column with its type, in table order: the layout's, then `height` and `state_root`.
    pub fn columns(&self) -> Vec<(String, ColumnType)> {
        self.layout
            .columns()
            .into_iter()
            .map(|(n, k)| (n, ColumnType::of(k)))
            .chain([
                ("height".to_string(), ColumnType::BigInt),
                ("state_root".to_string(), ColumnType::Bytea),
            ])
            .collect()
    }

    /// `CREATE TABLE IF NOT EXISTS` of the table.
    pub fn create_sql(&self) -> String {
        let typed = self.layout.key.len() + self.layout.value.len();
        let fixed = self.columns().len() - typed - 2;
        let columns: Vec<String> = self
            .columns()
            .into_iter()
            .enumerate()
            .map(|(i, (name, ty))| {
                let constraint = if name == RECORD_KEY {
                    " PRIMARY KEY"
                } else if i < fixed || i >= fixed + typed {
                    " NOT NULL"
                } else {
                    ""
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
        let transfers = TableSpec::new("erc20-transfers", "transfers", Some(&types), true).unwrap();
        assert_eq!(transfers.table, "erc20_transfers__transfers");
        assert_eq!(
            columns(&transfers),
            owned(&[
                ("record_key", "bytea"),
                ("record_value", "bytea"),
                ("appended_at", "bigint"),
                ("token", "bytea"),
                ("from", "bytea"),
                ("to", "bytea"),
                ("value", "numeric"),
                ("transaction_hash", "bytea"),
                ("height", "bigint"),
                ("state_root", "bytea"),
            ])
        );
        let balances = TableSpec::new("erc20-transfers", "balances", Some(&types), false).unwrap();
        assert_eq!(
            columns(&balances)[2..],
            owned(&[
                ("key_0", "bytea"),
                ("key_1", "bytea"),
                ("net_flow", "jsonb"),
                ("transfers", "numeric"),
                ("since", "numeric"),
                ("height", "bigint"),
                ("state_root", "bytea"),
            ])
        );
        assert_eq!(
            balances.create_sql(),
            "CREATE TABLE IF NOT EXISTS \"erc20_transfers__balances\" (\"record_key\" bytea PRIMARY KEY, \
             \"record_value\" bytea NOT NULL, \"key_0\" bytea, \"key_1\" bytea, \"net_flow\" jsonb, \
             \"transfers\" numeric, \"since\" numeric, \"height\" bigint NOT NULL, \"state_root\" bytea NOT NULL)"
        );
        assert!(
            transfers
                .create_sql()
                .contains("\"appended_at\" bigint NOT NULL, \"token\" bytea,")
        );
    }

    #[test]
    fn untyped_datasets_keep_the_value_as_bytes() {
        let spec = TableSpec::new("idle", "out", None, false).unwrap();
        assert_eq!(
            columns(&spec),
            owned(&[
                ("record_key", "bytea"),
                ("record_value", "bytea"),
                ("height", "bigint"),
                ("state_root", "bytea"),
            ])
        );
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
