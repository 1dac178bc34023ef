//! Replays every saved case under `corpora/` like `kiln replay` does: each file runs on the
//! interpreter, x86_64 and AArch64 under its recorded compiler variation (`; engine-settings:`),
//! and every engine must agree with the interpreter and meet the file's directives. An empty
//! (or missing) corpus is fine.

use kiln_harness::diff::replay::replay_files;
use kiln_harness::diff::DiffOptions;
use kiln_harness::filetest_runner::collect_kir_files;
use std::path::Path;

#[test]
fn every_corpus_case_replays_clean() {
    let corpora = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora");
    if !corpora.is_dir() {
        return;
    }
    let files = collect_kir_files(&[corpora]).expect("corpora are readable");
    let mut out = Vec::new();
    let s = replay_files(&files, &DiffOptions::default(), &mut out);
    let report = String::from_utf8_lossy(&out);
    println!(
        "corpora: {} file(s) replayed, {} disagree, {} timed out",
        s.files, s.failed, s.timeouts
    );
    assert_eq!(s.failed, 0, "corpus cases disagree:\n{report}");
}
