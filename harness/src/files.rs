//! Finding test files: [`collect_files`] turns command-line paths (files and directories)
//! into a sorted, duplicate-free list of files, searching directories recursively for one
//! extension. Used for `.kir` filetests and `.wast` scripts alike.

use std::path::{Path, PathBuf};

/// The files of `paths`: files as given, directories searched recursively for `*.<ext>`;
/// sorted, without duplicates. An unreadable path is an error naming it.
pub fn collect_files(paths: &[PathBuf], ext: &str) -> Result<Vec<PathBuf>, String> {
    fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, ext, out)?;
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_dir() {
            walk(p, ext, &mut out).map_err(|e| format!("{}: {e}", p.display()))?;
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}
