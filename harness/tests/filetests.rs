//! Runs every hand-written filetest (`harness/tests/filetests/**/*.kir`) and every saved
//! corpus case (`corpora/**/*.kir`) on every engine, one test per engine. Any failure fails
//! the test, and the report names the file, line, engine, expectation and actual outcome.
//!
//! The interpreter must pass everything. A compiled engine must never disagree; while a
//! backend cannot lower everything yet, the files it cannot compile are *skipped*: each is
//! printed with the reason, and the count is in the closing line and bounded below by
//! [`MIN_PASSED`] so that coverage cannot silently shrink.

use kiln_harness::engine::EngineKind;
use kiln_harness::filetest::runner::{collect_kir_files, run_files, RunOptions, Summary};
use std::path::{Path, PathBuf};

/// Checks each engine must pass at least (raise these as backends grow).
const MIN_PASSED: &[(EngineKind, usize)] = &[
    (EngineKind::Interp, 4392),
    (EngineKind::X86_64, 4392),
    (EngineKind::Aarch64, 4392),
];

fn run_engine(engine: EngineKind) -> Summary {
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
        ..RunOptions::default()
    };
    let mut report = Vec::new();
    let summary = run_files(&files, &opts, &mut report);
    let report = String::from_utf8_lossy(&report);
    print!("{report}");
    println!(
        "filetests [{engine}]: {} files, {}",
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
