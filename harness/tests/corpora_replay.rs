//! Replays every saved case under `corpora/` like `kiln replay` does: each `.kir` file runs on
//! the interpreter, x86_64 and AArch64 under its recorded compiler variation
//! (`; engine-settings:`), and every engine must agree with the interpreter and meet the
//! file's directives; each `.wasm` case (with its `.json` sidecar) runs on wasmi and Kiln's
//! three engines, which must agree at every step. An empty
//! (or missing) corpus is fine.

use kiln_harness::diff::replay::replay_files;
use kiln_harness::diff::DiffOptions;
use std::path::Path;

#[test]
fn every_corpus_case_replays_clean() {
    let corpora = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora");
    if !corpora.is_dir() {
        return;
    }
    let files = kiln_harness::files::collect_files_of(&[corpora], &["kir", "wasm"])
        .expect("corpora are readable");
    let mut out = Vec::new();
    let s = replay_files(&files, &DiffOptions::default(), &mut out);
    let report = String::from_utf8_lossy(&out);
    println!(
        "corpora: {} file(s) replayed, {} disagree, {} timed out",
        s.files, s.failed, s.timeouts
    );
    assert_eq!(s.failed, 0, "corpus cases disagree:\n{report}");
}
