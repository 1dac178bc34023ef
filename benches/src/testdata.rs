//! The real modules the Wasm suites compile: every `.wasm` in `../shared/testdata/wasm/`,
//! plus the large modules `../shared/testdata/fetch-large.sh` downloads (into
//! `$KILN_TESTDATA_CACHE`, else `~/.cache/kiln/testdata`) when they are present. A large
//! module that is absent is reported as skipped with the command that fetches it.
//!
//! `$KILN_BENCH_MODULES` (comma-separated substrings of file stems) narrows every suite to
//! the modules it names, e.g. `KILN_BENCH_MODULES=bench,zstd`.
//!
//! Invariant: modules come back sorted by name, testdata first, then the large ones, so
//! every suite walks them in the same order.

use kiln_harness::report::data::Skipped;
use std::path::PathBuf;

/// The large modules `fetch-large.sh` fetches (file stems).
pub const LARGE_MODULES: [&str; 2] = [
    "esbuild-wasm-0.28.2--esbuild",
    "onnxruntime-web-1.30.0--ort-wasm-simd-threaded",
];

/// Is `name` among the modules `$KILN_BENCH_MODULES` selects (all when unset)?
pub fn selected(name: &str) -> bool {
    match std::env::var("KILN_BENCH_MODULES") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(str::trim)
            .any(|w| !w.is_empty() && name.contains(w)),
        _ => true,
    }
}

/// A module to compile.
pub struct Module {
    /// The file stem.
    pub name: String,
    /// The bytes.
    pub wasm: Vec<u8>,
    /// One of [`LARGE_MODULES`].
    pub large: bool,
}

/// `../shared/testdata/wasm/`, relative to this crate.
pub fn testdata_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/wasm")
}

/// Where `fetch-large.sh` puts the large modules.
pub fn large_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KILN_TESTDATA_CACHE") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/kiln/testdata")
}

/// The testdata modules, sorted by name (empty, with a message, if the directory is not
/// readable).
pub fn testdata_modules() -> Vec<Module> {
    let dir = testdata_dir();
    let mut v: Vec<Module> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .filter(|p| {
                p.file_stem()
                    .is_some_and(|s| selected(&s.to_string_lossy()))
            })
            .filter_map(|p| {
                Some(Module {
                    name: p.file_stem()?.to_string_lossy().into_owned(),
                    wasm: std::fs::read(&p).ok()?,
                    large: false,
                })
            })
            .collect(),
        Err(e) => {
            eprintln!("{} not readable ({e}); no testdata modules", dir.display());
            Vec::new()
        }
    };
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// A testdata module by file stem.
pub fn testdata_module(name: &str) -> Option<Vec<u8>> {
    std::fs::read(testdata_dir().join(format!("{name}.wasm"))).ok()
}

/// The large modules that are present, and a [`Skipped`] note for each absent one.
pub fn large_modules() -> (Vec<Module>, Vec<Skipped>) {
    let dir = large_dir();
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for name in LARGE_MODULES.into_iter().filter(|n| selected(n)) {
        let path = dir.join(format!("{name}.wasm"));
        match std::fs::read(&path) {
            Ok(wasm) => found.push(Module {
                name: name.to_string(),
                wasm,
                large: true,
            }),
            Err(_) => skipped.push(Skipped {
                what: name.to_string(),
                reason: format!(
                    "absent from {} (run ../shared/testdata/fetch-large.sh)",
                    dir.display()
                ),
            }),
        }
    }
    (found, skipped)
}
