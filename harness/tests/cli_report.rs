//! `kiln report` writes the reports and charts from the suites' records, and a missing
//! criterion directory is an error that names it.

use kiln_harness::report::data::{write_suite, KeyCostRecord, KeyCostSuite, RunInfo};
use std::process::{Command, Output};

fn kiln(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .output()
        .expect("run kiln")
}

#[test]
fn report_writes_files_and_names_a_missing_dir() {
    let tmp = std::env::temp_dir().join(format!("kiln-cli-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (criterion, out) = (tmp.join("criterion"), tmp.join("reports"));
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
    write_suite(&criterion, "cache", &suite).unwrap();
    let report = |criterion: &std::path::Path| {
        kiln(&[
            "report",
            "--criterion",
            criterion.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
    };
    let o = report(&criterion);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let md = out.join("cache.md");
    assert!(stdout.contains(md.to_str().unwrap()), "{stdout}");
    assert!(std::fs::read_to_string(&md)
        .unwrap()
        .contains("| x86_64 | 1.00 | 100.00 |"));
    assert!(
        !out.join("compile.md").exists(),
        "no compile records, no compile report"
    );

    let missing = tmp.join("nonexistent");
    let o = report(&missing);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(stderr.contains(missing.to_str().unwrap()), "{stderr}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
