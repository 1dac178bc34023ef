//! `kiln cache stats` shows what every process counted: several `kiln compile --cache`
//! processes, some at the same time, share one directory, and the accumulated lookups,
//! hits and misses are exactly their sum; `kiln cache clear` resets them. The size cap is
//! 5G unless `--cache-max-size` says otherwise, and a small cap evicts.

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

/// The last line `kiln compile` printed: the cache summary.
fn summary(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().last().unwrap_or_default().to_string()
}

#[test]
fn cache_size_cap_defaults_to_5g_and_evicts_beyond_a_small_one() {
    let dir: PathBuf = std::env::temp_dir().join(format!("kiln-cli-cap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let n = functions_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join(KIR));
    let line = summary(&kiln(&["compile", KIR, "--cache", d]));
    assert!(line.contains("(size cap 5G)"), "{line}");
    assert!(!line.contains("evictions"), "{line}");
    let line = summary(&kiln(&[
        "compile",
        KIR,
        "--cache",
        d,
        "--cache-max-size",
        "unlimited",
    ]));
    assert!(line.contains("(no size cap)"), "{line}");
    assert!(line.contains(&format!("hits {n} (100.0%)")), "{line}");
    // A 1K cap holds a few of the ~140-byte entries: the rest are evicted, oldest first,
    // and what is left fits under the cap.
    kiln(&["cache", "clear", d]);
    let line = summary(&kiln(&[
        "compile",
        KIR,
        "--cache",
        d,
        "--cache-max-size",
        "1K",
    ]));
    assert!(line.contains("(size cap 1K)"), "{line}");
    assert!(line.contains("evictions"), "{line}");
    let text = stats(d);
    let bytes: u64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" entries, "))
        .and_then(|(_, rest)| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no `N entries, B bytes` in:\n{text}"));
    assert!(
        bytes > 0 && bytes <= 1024,
        "{bytes} bytes left under a 1K cap:\n{text}"
    );
    // A bad cap is refused by name.
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["compile", KIR, "--cache", d, "--cache-max-size", "lots"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run kiln");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--cache-max-size") && err.contains("`lots`"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
