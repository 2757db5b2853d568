//! The on-disk side of the module cache: precompiled files bounded by their total size, the least recently used
//! removed first. Use is tracked in memory and as the file's modification time, so the order survives a restart.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A precompiled module file (`.cwasm`) with its manifest side file, and when it was last used.
struct File {
    bytes: u64,
    last_used: u64,
}

/// The precompiled files in one directory and their total size.
pub(super) struct DiskIndex {
    dir: PathBuf,
    files: HashMap<PathBuf, File>,
    bytes: u64,
    clock: u64,
    max_bytes: u64,
}

/// Size of a module file and its manifest side file.
fn size_with_manifest(path: &Path) -> Option<u64> {
    let module = std::fs::metadata(path).ok()?.len();
    let manifest = std::fs::metadata(path.with_extension("manifest"))
        .map(|m| m.len())
        .unwrap_or(0);
    Some(module + manifest)
}

impl DiskIndex {
    /// The index of what `dir` holds, oldest first by modification time; trims it to `max_bytes`.
    pub(super) fn open(dir: PathBuf, max_bytes: u64) -> (Self, u64) {
        let mut found: Vec<(SystemTime, PathBuf, u64)> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "cwasm"))
            .filter_map(|path| {
                let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
                let bytes = size_with_manifest(&path)?;
                Some((modified, path, bytes))
            })
            .collect();
        found.sort();
        let mut index = Self {
            dir,
            files: HashMap::new(),
            bytes: 0,
            clock: 0,
            max_bytes,
        };
        for (_, path, bytes) in found {
            index.record(path, bytes);
        }
        let evicted = index.evict();
        (index, evicted)
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    fn record(&mut self, path: PathBuf, bytes: u64) {
        self.clock += 1;
        let file = File {
            bytes,
            last_used: self.clock,
        };
        if let Some(old) = self.files.insert(path, file) {
            self.bytes -= old.bytes;
        }
        self.bytes += bytes;
    }

    /// `path` was just written: counts it, then removes the least recently used files beyond the bound (it too,
    /// if it alone is above it). Returns how many were removed.
    pub(super) fn written(&mut self, path: &Path) -> u64 {
        let Some(bytes) = size_with_manifest(path) else {
            return 0;
        };
        self.record(path.to_path_buf(), bytes);
        self.evict()
    }

    /// `path` was just read: it becomes the most recently used.
    pub(super) fn used(&mut self, path: &Path) {
        self.clock += 1;
        if let Some(file) = self.files.get_mut(path) {
            file.last_used = self.clock;
        }
        // Best effort: the modification time orders the files when the index is rebuilt after a restart.
        if let Ok(file) = std::fs::File::options().write(true).open(path) {
            let _ = file.set_modified(SystemTime::now());
        }
    }

    /// `path` is gone (unreadable and removed by the loader).
    pub(super) fn forget(&mut self, path: &Path) {
        if let Some(file) = self.files.remove(path) {
            self.bytes -= file.bytes;
        }
    }

    fn evict(&mut self) -> u64 {
        let mut evicted = 0;
        while self.bytes > self.max_bytes {
            let Some(oldest) = self
                .files
                .iter()
                .min_by_key(|(_, f)| f.last_used)
                .map(|(path, _)| path.clone())
            else {
                break;
            };
            if let Err(e) = std::fs::remove_file(&oldest) {
                tracing::warn!(path = %oldest.display(), error = %e, "cannot remove an evicted precompiled module");
            }
            let _ = std::fs::remove_file(oldest.with_extension("manifest"));
            self.forget(&oldest);
            evicted += 1;
        }
        evicted
    }

    /// Files held, and their bytes.
    pub(super) fn usage(&self) -> (usize, u64) {
        (self.files.len(), self.bytes)
    }
}
