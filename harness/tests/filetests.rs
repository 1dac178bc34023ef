//! Runs every hand-written filetest (`harness/tests/filetests/**/*.kir`) and every saved
//! corpus case (`corpora/**/*.kir`) on every engine, one test per engine. Any failure fails
//! the test, and the report names the file, line, engine, expectation and actual outcome.
//!
//! The interpreter must pass everything. A compiled engine must never disagree; while a
//! backend cannot lower everything yet, the files it cannot compile are *skipped*: each is
//! printed with the reason, and the count is in the closing line and bounded below by
//! [`MIN_PASSED`] so that coverage cannot silently shrink. The x86_64 engine also runs
//! everything with the `x86_64-v2` and `x86_64-v3` CPU presets.

use kiln_harness::engine::{EngineKind, EngineSettings};
use kiln_harness::filetest_runner::{collect_kir_files, run_files, RunOptions, Summary};
use std::path::{Path, PathBuf};

/// Checks each engine must pass at least (raise these as backends grow).
const MIN_PASSED: &[(EngineKind, usize)] = &[
    (EngineKind::Interp, 10009),
    (EngineKind::X86_64, 10009),
    (EngineKind::Aarch64, 10009),
];

fn run_engine(engine: EngineKind) -> Summary {
    run_engine_with(engine, EngineSettings::default())
}

fn run_engine_with(engine: EngineKind, settings: EngineSettings) -> Summary {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs: Vec<PathBuf> = vec![root.join("tests/filetests")];
    let corpora = root.join("../corpora");
    if corpora.is_dir() {
        dirs.push(corpora);
    }
    let files = collect_kir_files(&dirs).expect("filetest directories are readable");
    assert!(
        files.len() >= 80,
        "expected at least 80 filetests, found {}",
        files.len()
    );
    let opts = RunOptions {
        engines: vec![engine],
        settings: settings.clone(),
        ..RunOptions::default()
    };
    let mut report = Vec::new();
    let summary = run_files(&files, &opts, &mut report);
    let report = String::from_utf8_lossy(&report);
    print!("{report}");
    let cpu = settings.cpu.as_deref().unwrap_or("baseline");
    println!(
        "filetests [{engine}, cpu {cpu}]: {} files, {}",
        summary.files,
        summary.closing_line()
    );
    assert!(
        summary.files_without_runs.is_empty(),
        "files without run directives: {:?}",
        summary.files_without_runs
    );
    assert_eq!(summary.failed, 0, "[{engine}] filetest failures:\n{report}");
    let min = MIN_PASSED
        .iter()
        .find(|(e, _)| *e == engine)
        .map_or(1, |m| m.1);
    assert!(
        summary.passed >= min,
        "[{engine}] only {} checks passed (at least {min} expected); skipped {}",
        summary.passed,
        summary.skipped
    );
    summary
}

#[test]
fn interp_passes_every_filetest() {
    let s = run_engine(EngineKind::Interp);
    assert_eq!(s.skipped, 0, "the interpreter never skips");
}

#[test]
fn x86_64_passes_every_filetest() {
    let s = run_engine(EngineKind::X86_64);
    assert_eq!(s.skipped, 0, "the x86_64 backend lowers every instruction");
}

#[test]
fn aarch64_passes_every_filetest() {
    let s = run_engine(EngineKind::Aarch64);
    assert_eq!(s.skipped, 0, "the AArch64 backend lowers every instruction");
}

/// The x86_64 engine with a CPU preset: every filetest passes, nothing skipped, with the
/// preset's ISA flags (so the instructions lowering uses only when a flag is set run too).
fn x86_64_preset_passes_every_filetest(cpu: &str) {
    let settings = EngineSettings {
        cpu: Some(cpu.to_string()),
        ..EngineSettings::default()
    };
    let s = run_engine_with(EngineKind::X86_64, settings);
    assert_eq!(s.skipped, 0, "[x86_64 {cpu}] nothing may be skipped");
}

#[test]
fn x86_64_v2_passes_every_filetest() {
    x86_64_preset_passes_every_filetest("x86_64-v2");
}

#[test]
fn x86_64_v3_passes_every_filetest() {
    x86_64_preset_passes_every_filetest("x86_64-v3");
}
