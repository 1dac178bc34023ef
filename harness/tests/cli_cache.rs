//! `kiln cache stats` shows what every process counted: several `kiln compile --cache`
//! processes, some at the same time, share one directory, and the accumulated lookups,
//! hits and misses are exactly their sum; `kiln cache clear` resets them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const KIR: &str = "tests/filetests/arith/div_by_const.kir";

fn kiln(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run kiln");
    assert!(
        out.status.success(),
        "kiln {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn functions_in(path: &Path) -> u64 {
    let src = std::fs::read_to_string(path).unwrap();
    src.lines().filter(|l| l.starts_with("function ")).count() as u64
}

fn stats(dir: &str) -> String {
    String::from_utf8(kiln(&["cache", "stats", dir]).stdout).unwrap()
}

#[test]
fn cache_stats_sum_every_process() {
    let dir: PathBuf = std::env::temp_dir().join(format!("kiln-cli-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let n = functions_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join(KIR));
    assert!(n >= 4, "{n}");
    assert!(stats(d).contains("no lookups counted"), "{}", stats(d));
    // One cold process (all misses), then three warm ones at once (all hits).
    kiln(&["compile", KIR, "--cache", d]);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| kiln(&["compile", KIR, "--cache", d]));
        }
    });
    let text = stats(d);
    let want = format!(
        "lookups {}, hits {} ({:.1} %), misses {n} (0 rejected), inserts {n}",
        4 * n,
        3 * n,
        75.0
    );
    assert!(text.contains(&want), "want `{want}` in:\n{text}");
    kiln(&["cache", "clear", d]);
    assert!(stats(d).contains("no lookups counted"), "{}", stats(d));
    let _ = std::fs::remove_dir_all(&dir);
}
