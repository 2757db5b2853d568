//! The manifest written beside an export: what the file holds and the evidence that it is the dataset at that
//! height (`header` and `certificate`, SCALE hex, check as a record bundle's do).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::ExportError;

/// What `<file>.manifest.json` holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportManifest {
    /// The chain.
    pub chain_id: String,
    /// The manuscript.
    pub manuscript: String,
    /// The dataset.
    pub dataset: String,
    /// The height whose state the file holds.
    pub height: u64,
    /// That height's state root (0x hex).
    pub state_root: String,
    /// That height's block hash (0x hex).
    pub block_hash: String,
    /// Blake2-256 of the manuscript's code, whose declared types gave the columns (0x hex).
    pub code_hash: String,
    /// Rows in the file: every record of the dataset at that height.
    pub records: u64,
    /// `parquet` or `csv`.
    pub format: String,
    /// The data file's name (beside the manifest).
    pub file: String,
    /// Blake2-256 of the data file's bytes (0x hex).
    pub file_blake2: String,
    /// The columns, in order.
    pub columns: Vec<ManifestColumn>,
    /// The block header at `height` (SCALE, 0x hex).
    pub header: String,
    /// The commit certificate that finalized it (SCALE, 0x hex).
    pub certificate: String,
}

/// One column of the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestColumn {
    /// Its name.
    pub name: String,
    /// What it holds: bool, int, uint, decimal, text, bytes or json.
    pub kind: String,
}

impl ExportManifest {
    /// Where the manifest of the data file `data` goes.
    pub fn path_for(data: &Path) -> std::path::PathBuf {
        let mut name = data.file_name().unwrap_or_default().to_os_string();
        name.push(".manifest.json");
        data.with_file_name(name)
    }

    /// Writes the manifest as pretty JSON to `path`.
    pub fn save(&self, path: &Path) -> Result<(), ExportError> {
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|source| ExportError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}
