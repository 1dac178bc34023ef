//! Finding test files: [`collect_files`] turns command-line paths (files and directories)
//! into a sorted, duplicate-free list of files, searching directories recursively for one
//! extension. Used for `.kir` filetests and `.wast` scripts alike. And writing the files
//! the harness saves (corpus cases, benchmark records) with [`write_atomically`].

use std::path::{Path, PathBuf};

/// The files of `paths`: files as given, directories searched recursively for `*.<ext>`;
/// sorted, without duplicates. An unreadable path is an error naming it.
pub fn collect_files(paths: &[PathBuf], ext: &str) -> Result<Vec<PathBuf>, String> {
    collect_files_of(paths, &[ext])
}

/// Write `bytes` to `path` through a temporary file in the same directory and a rename,
/// so a reader never sees half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Like [`collect_files`], searching directories for any of the extensions `exts`.
pub fn collect_files_of(paths: &[PathBuf], exts: &[&str]) -> Result<Vec<PathBuf>, String> {
    fn walk(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, exts, out)?;
            } else if path
                .extension()
                .is_some_and(|e| exts.iter().any(|x| e == *x))
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_dir() {
            walk(p, exts, &mut out).map_err(|e| format!("{}: {e}", p.display()))?;
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}
