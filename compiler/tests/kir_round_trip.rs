//! Every `.kir` file of the harness's filetests and of `corpora/` parses, and its printed
//! form is a fixed point of print ∘ parse (print → parse → print is the identity).
//! Skips (reporting the count) when there are no such files yet.

use kiln::ir::text::{parse_file, parse_functions, write_functions};
use std::path::{Path, PathBuf};

fn collect_kir(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_kir(&p, out);
        } else if p.extension().is_some_and(|x| x == "kir") {
            out.push(p);
        }
    }
}

#[test]
fn every_kir_file_round_trips() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    collect_kir(&root.join("harness/tests/filetests"), &mut files);
    collect_kir(&root.join("corpora"), &mut files);
    files.sort();
    if files.is_empty() {
        eprintln!("kir_round_trip: skipped, 0 .kir files found");
        return;
    }
    let mut failures = Vec::new();
    let mut functions = 0;
    for path in &files {
        let src = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let parsed = match parse_file(&src) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{}:{e}", path.display()));
                continue;
            }
        };
        functions += parsed.functions.len();
        let mut once = String::new();
        write_functions(&mut once, &parsed.functions).unwrap();
        let again = match parse_functions(&once) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!(
                    "{}: printed form does not parse: {e}",
                    path.display()
                ));
                continue;
            }
        };
        let mut twice = String::new();
        write_functions(&mut twice, &again).unwrap();
        if once != twice {
            failures.push(format!(
                "{}: print → parse → print changed the text",
                path.display()
            ));
        }
    }
    eprintln!(
        "kir_round_trip: {} files, {functions} functions, {} failures",
        files.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
