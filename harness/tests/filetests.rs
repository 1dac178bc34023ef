//! Runs every hand-written filetest (`harness/tests/filetests/**/*.kir`) and every saved
//! corpus case (`corpora/**/*.kir`) on every engine. Any failure fails the test, and the
//! report names the file, line, engine, expectation and actual outcome.

use kiln_harness::filetest::runner::{collect_kir_files, run_files, RunOptions};
use std::path::{Path, PathBuf};

#[test]
fn filetests_and_corpora_pass_on_every_engine() {
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
    let mut report = Vec::new();
    let summary = run_files(&files, &RunOptions::default(), &mut report);
    let report = String::from_utf8_lossy(&report);
    println!("{report}");
    println!(
        "filetests: {} files, {} passed, {} failed",
        summary.files, summary.passed, summary.failed
    );
    assert!(
        summary.files_without_runs.is_empty(),
        "files without run directives: {:?}",
        summary.files_without_runs
    );
    assert_eq!(summary.failed, 0, "filetest failures:\n{report}");
    assert!(summary.passed > 0);
}
