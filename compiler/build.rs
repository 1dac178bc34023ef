//! Build script of `kiln`: computes `KILN_SOURCE_HASH`, a 64-bit FNV-1a hash of every file
//! under `src/` (relative path and contents, in sorted path order).
//!
//! The compilation cache puts it into every cache key and entry header next to the package
//! version ([`kiln::cache::COMPILER_VERSION`]), so an on-disk cache written by a build with
//! different compiler sources is never reused — even while the version number stays the
//! same during development. Deterministic: it depends only on the sources' bytes.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=build.rs");
    let root = Path::new("src");
    let mut files = Vec::new();
    collect(root, &mut files);
    files.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for f in &files {
        let rel = f
            .strip_prefix(root)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('\\', "/");
        eat(&(rel.len() as u64).to_le_bytes());
        eat(rel.as_bytes());
        let data = std::fs::read(f).unwrap_or_default();
        eat(&(data.len() as u64).to_le_bytes());
        eat(&data);
    }
    println!("cargo:rustc-env=KILN_SOURCE_HASH={h:016x}");
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}
