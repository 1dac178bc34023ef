//! The measurements the criterion suites record beside criterion's own data, and that
//! `kiln report` reads back: one JSON file per suite, `<criterion dir>/kiln/<suite>.json`.
//!
//! Criterion keeps a time distribution per benchmark but nothing else; the suites also
//! measure things criterion cannot hold (functions per second per compiler, code size,
//! cache hit rates, where the time went), each as the best of several rounds so that the
//! other core's load does not inflate it. This module owns that schema — the suites write
//! it through [`write_suite`], the report reads it through [`read_suite`] — so writer and
//! reader cannot drift apart.
//!
//! Invariants: every file carries the [`RunInfo`] of the run that wrote it (date, commit,
//! machine); times are in seconds; a record that could not be measured (a module a
//! compiler rejects) is listed in `skipped` with the reason, never dropped.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// When, where and on what a suite ran.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    /// Seconds since the Unix epoch when the suite finished.
    pub unix_time: u64,
    /// `git rev-parse --short HEAD` of the checkout, or "unknown".
    pub commit: String,
    /// The CPU model from `/proc/cpuinfo`, or "unknown".
    pub cpu_model: String,
    /// Logical cores available to the process.
    pub cores: usize,
    /// How many rounds each best-of time took the minimum over.
    pub rounds: usize,
}

impl RunInfo {
    /// The current run on this machine.
    pub fn current(rounds: usize) -> RunInfo {
        let unix_time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let commit = std::process::Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        RunInfo {
            unix_time,
            commit,
            cpu_model,
            cores,
            rounds,
        }
    }
}

/// Where the CPU time of one compile went, in seconds (Kiln only; summed over threads).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PhaseSeconds {
    /// Parsing and module-level validation (wall time).
    pub parse: f64,
    /// Translating Wasm bodies to IR.
    pub translate: f64,
    /// Verifying the IR (setting `enable_verifier`, on by default). Data written before
    /// this field existed reads as 0, with the verifier's time inside `lower`.
    #[serde(default)]
    pub verify: f64,
    /// Lowering IR to machine instructions.
    pub lower: f64,
    /// Register allocation.
    pub regalloc: f64,
    /// Emission into the MachBuffer.
    pub emit: f64,
    /// Cache key, lookup and store (0 without a store).
    pub cache: f64,
    /// Linking the text section (wall time).
    pub link: f64,
}

impl PhaseSeconds {
    /// The phases of a Kiln module compile from its statistics; `cache` is what the caller
    /// counts as cache time (it differs between suites: whatever codegen time the backend
    /// phases leave, or the store's key and load times).
    pub fn from_stats(s: &kiln::module::ModuleStats, cache: std::time::Duration) -> Self {
        let p = &s.phases;
        PhaseSeconds {
            parse: s.parse_time.as_secs_f64(),
            translate: s.translate_time.as_secs_f64(),
            verify: p.verify.as_secs_f64(),
            lower: p.lower.as_secs_f64(),
            regalloc: p.regalloc.as_secs_f64(),
            emit: p.emit.as_secs_f64(),
            cache: cache.as_secs_f64(),
            link: s.link_time.as_secs_f64(),
        }
    }
}

/// One compiler compiling one module for one target with a thread count.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CompileRecord {
    /// Module file stem.
    pub module: String,
    /// Size of the module.
    pub wasm_bytes: u64,
    /// Defined functions in the module.
    pub functions: u64,
    /// `x86_64` or `aarch64`.
    pub target: String,
    /// `kiln/backtracking`, `kiln/single_pass`, `cranelift/speed`, `cranelift/none` or
    /// `winch`.
    pub compiler: String,
    /// Worker threads.
    pub threads: usize,
    /// Best wall time over the rounds, wasm bytes to machine code.
    pub seconds: f64,
    /// Bytes of machine code produced (Kiln: the linked text section; Wasmtime: the
    /// `.text` section of the precompiled artifact).
    pub code_bytes: u64,
    /// Kiln's phase split of the 1-thread compile; `None` for peers.
    pub phases: Option<PhaseSeconds>,
}

/// The code one compiler made for one function (the code-quality proxy).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FunctionSizeRecord {
    /// Module file stem.
    pub module: String,
    /// `x86_64` or `aarch64`.
    pub target: String,
    /// As in [`CompileRecord::compiler`], or a peer with `+bounds-checks` (memory without
    /// guard pages, so its code checks bounds explicitly, as Kiln's does).
    pub compiler: String,
    /// The function's export name, or `function N`.
    pub function: String,
    /// Bytes of machine code.
    pub bytes: u64,
}

/// A measurement that was not taken, and why.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Skipped {
    /// What was not measured (module, compiler, target).
    pub what: String,
    /// Why.
    pub reason: String,
}

/// The `compile_wasm` suite.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CompileSuite {
    /// The run.
    pub run: RunInfo,
    /// Which peer compilers ran (empty without the `peers` feature).
    pub peers: Vec<String>,
    /// The measurements.
    pub records: Vec<CompileRecord>,
    /// Code size per exported function of the code-quality module (`bench.wasm`).
    #[serde(default)]
    pub function_sizes: Vec<FunctionSizeRecord>,
    /// What was not measured.
    pub skipped: Vec<Skipped>,
}

/// Scenario 1: duplicate functions inside one module.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DuplicateRecord {
    /// Module file stem.
    pub module: String,
    /// Defined functions.
    pub functions: u64,
    /// Functions served from a stencil another function of the module produced.
    pub hits: u64,
    /// Best compile time without a store.
    pub no_store_seconds: f64,
    /// Best compile time through an empty in-memory store.
    pub store_seconds: f64,
    /// Of that compile, the time spent computing cache keys (stencil keys, and the body
    /// digests and module key of the translation memo), summed over functions.
    #[serde(default)]
    pub key_seconds: f64,
}

/// Scenario 2: one module of a group compiled after the others through one store.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SharingRecord {
    /// The group's name (its modules' common origin).
    pub group: String,
    /// Position in the group (0 compiles first, into an empty store).
    pub position: usize,
    /// Module file stem.
    pub module: String,
    /// Defined functions.
    pub functions: u64,
    /// Hits in the store the earlier modules of the group filled.
    pub hits: u64,
}

/// Scenario 3: one function body changed, recompiled through a warm store.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ChangedRecord {
    /// Module file stem.
    pub module: String,
    /// Best cold compile (no store).
    pub cold_seconds: f64,
    /// Best warm recompile of the unchanged module.
    pub warm_seconds: f64,
    /// Best recompile of the module with one function changed.
    pub changed_seconds: f64,
    /// Hits and misses of the changed recompile.
    pub hits: u64,
    /// Misses of the changed recompile.
    pub misses: u64,
    /// Where the changed recompile's time went.
    pub phases: PhaseSeconds,
}

/// The cache key's cost on one target (`cache` suite, synthetic functions).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct KeyCostRecord {
    /// `x86_64` or `aarch64`.
    pub target: String,
    /// Best time to compute every function's key.
    pub key_seconds: f64,
    /// Best time to compile every function without a cache.
    pub fresh_seconds: f64,
    /// Best time to compile every function through an empty store (all misses).
    pub cold_seconds: f64,
    /// Best time to compile every function through a full store.
    pub warm_seconds: f64,
}

/// The `cache_wasm` suite.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CacheSuite {
    /// The run.
    pub run: RunInfo,
    /// Target and allocator the scenarios used.
    pub config: String,
    /// Scenario 1.
    pub duplicates: Vec<DuplicateRecord>,
    /// Scenario 2.
    pub sharing: Vec<SharingRecord>,
    /// Scenario 3.
    pub changed: Vec<ChangedRecord>,
    /// What was not measured.
    pub skipped: Vec<Skipped>,
}

/// The `cache` suite's key cost.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct KeyCostSuite {
    /// The run.
    pub run: RunInfo,
    /// One record per target.
    pub records: Vec<KeyCostRecord>,
}

/// Criterion's output directory: `$CRITERION_HOME`, else `criterion/` inside the cargo
/// target directory that holds the running executable (criterion's own rule).
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            // target/<profile>/deps/<exe>
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.parent()?.to_path_buf())
        })
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("criterion")
}

/// The file a suite's records live in.
pub fn suite_path(criterion: &Path, suite: &str) -> PathBuf {
    criterion.join("kiln").join(format!("{suite}.json"))
}

/// Writes a suite's records to `<criterion>/kiln/<suite>.json` (through a temporary file
/// and a rename, so a reader never sees half a file).
pub fn write_suite<T: Serialize>(
    criterion: &Path,
    suite: &str,
    data: &T,
) -> anyhow::Result<PathBuf> {
    let path = suite_path(criterion, suite);
    let dir = path.parent().expect("suite paths have a parent");
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let text = serde_json::to_string_pretty(data)?;
    crate::files::write_atomically(&path, text.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Reads a suite's records; `Ok(None)` when the suite has not run.
pub fn read_suite<T: for<'de> Deserialize<'de>>(
    criterion: &Path,
    suite: &str,
) -> anyhow::Result<Option<T>> {
    let path = suite_path(criterion, suite);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{} is not a `{suite}` record file: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_round_trip_and_bad_files_name_the_file() {
        let dir = std::env::temp_dir().join(format!("kiln-report-data-{}", std::process::id()));
        let suite = KeyCostSuite {
            run: RunInfo::current(3),
            records: vec![KeyCostRecord {
                target: "x86_64".into(),
                key_seconds: 0.001,
                fresh_seconds: 0.1,
                cold_seconds: 0.11,
                warm_seconds: 0.004,
            }],
        };
        write_suite(&dir, "cache", &suite).unwrap();
        let back: KeyCostSuite = read_suite(&dir, "cache").unwrap().unwrap();
        assert_eq!(back, suite);
        assert!(read_suite::<KeyCostSuite>(&dir, "absent")
            .unwrap()
            .is_none());
        std::fs::write(suite_path(&dir, "broken"), "{").unwrap();
        let err = read_suite::<KeyCostSuite>(&dir, "broken")
            .unwrap_err()
            .to_string();
        assert!(err.contains("broken.json"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
