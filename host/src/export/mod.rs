//! Whole datasets at one height, written as files people load (Parquet, CSV), each beside a manifest that says
//! what it holds and lets a reader check it: the height, state root, header and commit certificate.
//!
//! [`DatasetWriter`] takes records whose bytes the caller has verified (the pages of `cvm export`) and writes one
//! row per record in the dataset's table layout ([`DatasetColumns`], the same as the PostgreSQL sink's tables):
//! the record's bytes (`record_key`, `record_value`), `appended_at` for an append-only dataset, then the typed
//! columns of the declared key and value types. A page's records are one Parquet row group.

mod csv_file;
mod error;
mod manifest;
mod parquet_file;

use std::path::Path;

pub use error::ExportError;
pub use manifest::{ExportManifest, ManifestColumn};

use crate::datasets::ManuscriptTypes;
use crate::datasets::columns::DatasetColumns;

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
    columns: DatasetColumns,
    rows: u64,
}

/// One row's cells, as [`DatasetColumns::cells`] gives them.
type Cells = Vec<Option<serde_json::Value>>;

impl DatasetWriter {
    /// Creates `path` (replacing it) for the records of `dataset` (append-only or not), typed by `types` when the
    /// manuscript declares them.
    pub fn create(
        path: &Path,
        format: ExportFormat,
        types: Option<std::sync::Arc<ManuscriptTypes>>,
        dataset: &str,
        append_only: bool,
    ) -> Result<DatasetWriter, ExportError> {
        let columns = DatasetColumns::of(types.as_deref(), dataset, append_only);
        let table_columns = columns.columns();
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
            columns,
            rows: 0,
        })
    }

    /// The table's columns, in order, for the manifest.
    pub fn manifest_columns(&self) -> Vec<ManifestColumn> {
        self.columns
            .columns()
            .into_iter()
            .map(|(name, kind)| ManifestColumn {
                name,
                kind: format!("{kind:?}").to_lowercase(),
            })
            .collect()
    }

    /// Appends `records` (key as its pages name it, value), in order.
    pub fn write(&mut self, records: &[(Vec<u8>, Vec<u8>)]) -> Result<(), ExportError> {
        let types = self.types.as_deref();
        let rows: Vec<Cells> = records
            .iter()
            .map(|(key, value)| self.columns.cells(types, key, value))
            .collect();
        match &mut self.table {
            Table::Parquet(t) => t.write(&rows)?,
            Table::Csv(t) => t.write(&rows)?,
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

#[cfg(test)]
mod tests;
