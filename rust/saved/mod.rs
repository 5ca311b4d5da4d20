//! Persistence: tensors in safetensors files ([`tensors`]), traced graphs as data
//! ([`graph_def`]), and saved models — an object tree, traced functions and variables in one
//! directory — that load and run with no Python ([`model`]). The formats are described in
//! `docs/FORMAT.md`.
//!
//! Every write goes to a temporary name that is renamed at the end, so a crash mid-save never
//! leaves a broken file where a good one was. Every read validates what it reads and fails with
//! [`Error::DataLoss`](crate::Error::DataLoss) or [`Error::NotFound`](crate::Error::NotFound).

pub mod graph_def;
pub mod model;
pub mod tensors;

pub use model::{load, SavedFunction, SavedModel};

use crate::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh name next to `path` for a temporary file or directory.
fn temp_name(path: &Path, what: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{what}-{}-{n}", std::process::id()))
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    let msg = format!("{}: {e}", path.display());
    match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound(msg),
        _ => Error::Unknown(msg),
    }
}

pub(crate) fn data_loss(path: &Path, why: &str) -> Error {
    Error::DataLoss(format!("{}: {why}", path.display()))
}

/// Opens `path` for reading; returns the file and its length.
pub(crate) fn open(path: &Path) -> Result<(File, u64)> {
    // Checked before opening too: opening a FIFO or a device for reading can block forever.
    if !std::fs::metadata(path)
        .map_err(|e| io_error(path, e))?
        .is_file()
    {
        return Err(data_loss(path, "not a regular file"));
    }
    let f = File::open(path).map_err(|e| io_error(path, e))?;
    let meta = f.metadata().map_err(|e| io_error(path, e))?;
    if !meta.is_file() {
        return Err(data_loss(path, "not a regular file"));
    }
    Ok((f, meta.len()))
}

/// Reads a whole small file (a JSON document), refusing one larger than `limit` bytes.
pub(crate) fn read_small(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let (f, len) = open(path)?;
    if len > limit {
        return Err(data_loss(
            path,
            &format!("{len} bytes is more than the {limit} allowed"),
        ));
    }
    let mut v = Vec::with_capacity(len as usize);
    f.take(limit)
        .read_to_end(&mut v)
        .map_err(|e| io_error(path, e))?;
    Ok(v)
}

/// Writes a file through `fill` under a temporary name, then renames it to `path`.
pub(crate) fn atomic_write(
    path: &Path,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temp_name(path, "tmp");
    let res = File::create(&tmp).and_then(|mut f| fill(&mut f));
    if let Err(e) = res.and_then(|_| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(path, e));
    }
    Ok(())
}

/// Builds a directory through `fill` under a temporary name, then puts it in place of `dir`
/// (an existing one is moved aside first and removed after).
pub(crate) fn atomic_dir(dir: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
    }
    let tmp = temp_name(dir, "tmp");
    std::fs::create_dir(&tmp).map_err(|e| io_error(&tmp, e))?;
    if let Err(e) = fill(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let old = temp_name(dir, "old");
    let moved = match std::fs::rename(dir, &old) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(io_error(dir, e));
        }
    };
    if let Err(e) = std::fs::rename(&tmp, dir) {
        if moved {
            let _ = std::fs::rename(&old, dir);
        }
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(io_error(dir, e));
    }
    if moved {
        let _ = if old.is_dir() {
            std::fs::remove_dir_all(&old)
        } else {
            std::fs::remove_file(&old)
        };
    }
    Ok(())
}
