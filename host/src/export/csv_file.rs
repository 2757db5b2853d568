//! CSV: a header row of column names, then one row per record; bytes as 0x hex, wide integers as decimal text,
//! nested values as JSON text, an empty cell where a record has no such field.

use std::fs::File;
use std::io::BufWriter;

use serde_json::Value as Json;

use super::error::ExportError;
use crate::datasets::columns::ColumnKind;

pub(super) struct CsvTable {
    writer: csv::Writer<BufWriter<File>>,
}

fn csv_err(e: impl std::fmt::Display) -> ExportError {
    ExportError::Csv(e.to_string())
}

impl CsvTable {
    pub(super) fn new(
        file: File,
        columns: &[(String, ColumnKind)],
    ) -> Result<CsvTable, ExportError> {
        let mut writer = csv::Writer::from_writer(BufWriter::new(file));
        writer
            .write_record(columns.iter().map(|(name, _)| name.as_str()))
            .map_err(csv_err)?;
        Ok(CsvTable { writer })
    }

    pub(super) fn write(&mut self, rows: &[Vec<Option<Json>>]) -> Result<(), ExportError> {
        for row in rows {
            let fields: Vec<String> = row
                .iter()
                .map(|cell| match cell {
                    None => String::new(),
                    Some(Json::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                })
                .collect();
            self.writer.write_record(&fields).map_err(csv_err)?;
        }
        Ok(())
    }

    pub(super) fn finish(mut self) -> Result<(), ExportError> {
        self.writer.flush().map_err(csv_err)
    }
}
