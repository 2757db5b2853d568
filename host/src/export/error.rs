//! What can go wrong writing an export.

use std::path::PathBuf;

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Creating, writing or renaming a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The Parquet writer failed.
    #[error("writing Parquet: {0}")]
    Parquet(String),
    /// The CSV writer failed.
    #[error("writing CSV: {0}")]
    Csv(String),
}
