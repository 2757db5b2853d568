//! Parquet through the arrow writer: one row group per page of records. Column types: bool → Boolean, integers
//! that fit an i64 → Int64, u64 → UInt64, wider integers → Utf8 (decimal: no Parquet decimal holds every 256-bit value),
//! strings → Utf8, byte strings → Binary, anything nested → Utf8 (JSON text). Every typed column is nullable: a
//! record whose bytes do not decode as the declared type has only its bytes (and `appended_at`).

use std::fs::File;
use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, Int64Builder, StringBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use serde_json::Value as Json;

use super::error::ExportError;
use crate::datasets::columns::ColumnKind;

pub(super) struct ParquetTable {
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    kinds: Vec<ColumnKind>,
}

fn parquet_err(e: impl std::fmt::Display) -> ExportError {
    ExportError::Parquet(e.to_string())
}

fn data_type(kind: ColumnKind) -> DataType {
    match kind {
        ColumnKind::Bool => DataType::Boolean,
        ColumnKind::Int => DataType::Int64,
        ColumnKind::UInt64 => DataType::UInt64,
        ColumnKind::Bytes => DataType::Binary,
        ColumnKind::Decimal | ColumnKind::Text | ColumnKind::Json => DataType::Utf8,
    }
}

/// A builder for a column of `kind`.
fn builder(kind: ColumnKind, rows: usize) -> Box<dyn ArrayBuilder> {
    match kind {
        ColumnKind::Bool => Box::new(BooleanBuilder::with_capacity(rows)),
        ColumnKind::Int => Box::new(Int64Builder::with_capacity(rows)),
        ColumnKind::UInt64 => Box::new(UInt64Builder::with_capacity(rows)),
        ColumnKind::Bytes => Box::new(BinaryBuilder::with_capacity(rows, rows * 32)),
        ColumnKind::Decimal | ColumnKind::Text | ColumnKind::Json => {
            Box::new(StringBuilder::with_capacity(rows, rows * 16))
        }
    }
}

/// Appends `cell` (or a null where it is missing or not of the column's kind) to `builder`.
fn append(builder: &mut dyn ArrayBuilder, kind: ColumnKind, cell: Option<&Json>) {
    let any = builder.as_any_mut();
    match kind {
        ColumnKind::Bool => {
            if let Some(b) = any.downcast_mut::<BooleanBuilder>() {
                b.append_option(cell.and_then(Json::as_bool));
            }
        }
        ColumnKind::Int => {
            if let Some(b) = any.downcast_mut::<Int64Builder>() {
                b.append_option(cell.and_then(Json::as_i64));
            }
        }
        ColumnKind::UInt64 => {
            if let Some(b) = any.downcast_mut::<UInt64Builder>() {
                b.append_option(cell.and_then(Json::as_u64));
            }
        }
        ColumnKind::Bytes => {
            if let Some(b) = any.downcast_mut::<BinaryBuilder>() {
                let bytes = cell
                    .and_then(Json::as_str)
                    .and_then(|s| crate::hex_text::from_hex(s).ok());
                b.append_option(bytes);
            }
        }
        ColumnKind::Decimal | ColumnKind::Text | ColumnKind::Json => {
            if let Some(b) = any.downcast_mut::<StringBuilder>() {
                b.append_option(cell.map(|c| match c {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                }));
            }
        }
    }
}

impl ParquetTable {
    pub(super) fn new(
        file: File,
        columns: &[(String, ColumnKind)],
    ) -> Result<ParquetTable, ExportError> {
        let schema: SchemaRef = Arc::new(Schema::new(
            columns
                .iter()
                .map(|(name, kind)| Field::new(name, data_type(*kind), true))
                .collect::<Vec<_>>(),
        ));
        let writer = ArrowWriter::try_new(file, schema.clone(), None).map_err(parquet_err)?;
        Ok(ParquetTable {
            writer,
            schema,
            kinds: columns.iter().map(|(_, kind)| *kind).collect(),
        })
    }

    pub(super) fn write(&mut self, rows: &[Vec<Option<Json>>]) -> Result<(), ExportError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut builders: Vec<Box<dyn ArrayBuilder>> =
            self.kinds.iter().map(|&k| builder(k, rows.len())).collect();
        for row in rows {
            for ((builder, &kind), cell) in builders.iter_mut().zip(&self.kinds).zip(row) {
                append(builder.as_mut(), kind, cell.as_ref());
            }
        }
        let arrays: Vec<ArrayRef> = builders.iter_mut().map(|b| b.finish()).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(parquet_err)?;
        self.writer.write(&batch).map_err(parquet_err)?;
        self.writer.flush().map_err(parquet_err)
    }

    pub(super) fn finish(self) -> Result<(), ExportError> {
        self.writer.close().map(|_| ()).map_err(parquet_err)
    }
}
