//! Replacing a file atomically: write a temporary file beside it, then rename it over the
//! original. The one writer of cache entries (`disk`) and of the statistics file
//! (`totals`).
//!
//! Invariant: a reader sees the old file or the complete new one, never a partial write;
//! a failed write leaves no temporary file behind.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Write `bytes` to the temporary file `tmp` (in the same directory as `path`), then
/// rename it over `path`: readers see the old file or the complete new one. On failure the
/// temporary file is removed.
pub(super) fn write_then_rename(tmp: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)?;
        f.write_all(bytes)?;
        drop(f);
        fs::rename(tmp, path)
    };
    write().inspect_err(|_| {
        let _ = fs::remove_file(tmp);
    })
}
