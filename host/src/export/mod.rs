//! Whole datasets at one height, written as files people load (Parquet, CSV), each beside a manifest that says
//! what it holds and lets a reader check it: the height, state root, header and commit certificate.
//!
//! [`DatasetWriter`] takes records whose bytes the caller has verified (the pages of `cvm export`) and writes one
//! row per record: the typed columns of the dataset's declared key and value types ([`DatasetColumns`]), then
//! the record's bytes (`record_key`, `record_value`). A page's records are one Parquet row group.

mod csv_file;
mod error;
mod manifest;
mod parquet_file;
mod table;

use std::path::Path;

pub use error::ExportError;
pub use manifest::{ExportManifest, ManifestColumn};
use table::{Row, TableColumn};

use crate::datasets::ManuscriptTypes;
use crate::datasets::columns::{ColumnKind, DatasetColumns, RECORD_KEY, RECORD_VALUE};
use crate::datasets::types::{key_json, value_json};

/// The file formats `cvm export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Apache Parquet: typed columns, bytes as binary, integers wider than 64 bits as decimal text.
    Parquet,
    /// CSV with a header row: bytes as 0x hex, nested values as JSON text.
    Csv,
}

impl ExportFormat {
    /// The format's name, as in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Parquet => "parquet",
            ExportFormat::Csv => "csv",
        }
    }
}

enum Table {
    Parquet(parquet_file::ParquetTable),
    Csv(csv_file::CsvTable),
}

/// Writes one dataset's records to one file, in a format.
pub struct DatasetWriter {
    table: Table,
    types: Option<std::sync::Arc<ManuscriptTypes>>,
    dataset: String,
    columns: DatasetColumns,
    rows: u64,
}

impl DatasetWriter {
    /// Creates `path` (replacing it) for the records of `dataset`, typed by `types` when the manuscript declares
    /// them.
    pub fn create(
        path: &Path,
        format: ExportFormat,
        types: Option<std::sync::Arc<ManuscriptTypes>>,
        dataset: &str,
    ) -> Result<DatasetWriter, ExportError> {
        let columns = DatasetColumns::of(types.as_deref(), dataset);
        let table_columns = table_columns(&columns);
        let file = std::fs::File::create(path).map_err(|source| ExportError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let table = match format {
            ExportFormat::Parquet => {
                Table::Parquet(parquet_file::ParquetTable::new(file, &table_columns)?)
            }
            ExportFormat::Csv => Table::Csv(csv_file::CsvTable::new(file, &table_columns)?),
        };
        Ok(DatasetWriter {
            table,
            types,
            dataset: dataset.to_string(),
            columns,
            rows: 0,
        })
    }

    /// The table's columns, in order, for the manifest.
    pub fn manifest_columns(&self) -> Vec<ManifestColumn> {
        table_columns(&self.columns)
            .into_iter()
            .map(|c| ManifestColumn {
                name: c.name,
                kind: format!("{:?}", c.kind).to_lowercase(),
            })
            .collect()
    }

    /// Appends `records` (key, value), in order.
    pub fn write(&mut self, records: &[(Vec<u8>, Vec<u8>)]) -> Result<(), ExportError> {
        let types = self.types.as_deref();
        let rows: Vec<Row<'_>> = records
            .iter()
            .map(|(key, value)| Row {
                key,
                value,
                key_json: key_json(types, &self.dataset, key),
                value_json: value_json(types, &self.dataset, value),
            })
            .collect();
        match &mut self.table {
            Table::Parquet(t) => t.write(&self.columns, &rows)?,
            Table::Csv(t) => t.write(&self.columns, &rows)?,
        }
        self.rows += rows.len() as u64;
        Ok(())
    }

    /// Finishes the file; returns the rows written.
    pub fn finish(self) -> Result<u64, ExportError> {
        match self.table {
            Table::Parquet(t) => t.finish()?,
            Table::Csv(t) => t.finish()?,
        }
        Ok(self.rows)
    }
}

/// Typed key columns, typed value columns, then the record's bytes.
fn table_columns(columns: &DatasetColumns) -> Vec<TableColumn> {
    columns
        .key
        .iter()
        .chain(&columns.value)
        .map(|c| TableColumn {
            name: c.name.clone(),
            kind: c.kind,
        })
        .chain([RECORD_KEY, RECORD_VALUE].map(|name| TableColumn {
            name: name.to_string(),
            kind: ColumnKind::Bytes,
        }))
        .collect()
}

#[cfg(test)]
mod tests;
