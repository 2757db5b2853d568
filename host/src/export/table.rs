//! The rows an export writes: its columns, the decoded records they come from, and each row's cells.

use crate::datasets::columns::{ColumnKind, DatasetColumns};

/// One table column: its name and what it holds (`Bytes` for the record's own bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TableColumn {
    pub(super) name: String,
    pub(super) kind: ColumnKind,
}

/// The decoded record a row is made of.
pub(crate) struct Row<'a> {
    pub(super) key: &'a [u8],
    pub(super) value: &'a [u8],
    pub(super) key_json: serde_json::Value,
    pub(super) value_json: serde_json::Value,
}

/// Each cell of `row`, as JSON, in `table_columns` order (`None`: empty; the record's bytes as 0x hex).
pub(super) fn cells<'r>(
    columns: &DatasetColumns,
    row: &'r Row<'_>,
) -> impl Iterator<Item = Option<std::borrow::Cow<'r, serde_json::Value>>> {
    use std::borrow::Cow;
    let key = columns
        .key
        .iter()
        .map(|c| c.cell(&row.key_json).map(Cow::Borrowed));
    let value = columns
        .value
        .iter()
        .map(|c| c.cell(&row.value_json).map(Cow::Borrowed));
    let bytes = [row.key, row.value].into_iter().map(|b| {
        Some(Cow::Owned(serde_json::Value::String(
            crate::hex_text::to_hex(b),
        )))
    });
    key.chain(value)
        .chain(bytes)
        .collect::<Vec<_>>()
        .into_iter()
}
