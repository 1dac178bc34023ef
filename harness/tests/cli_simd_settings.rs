//! SIMD on x86_64 needs SSSE3 and SSE4.1, and every way to make a compiler refuses it
//! without them with the same error: `kiln::Config`, `kiln compile` and the harness's
//! engines (`kiln run`) all end in `CompilerBuilder::build`. The engines' default x86_64
//! CPU has both, so vector files run by default; `--cpu x86_64` (the plain SSE2 baseline)
//! runs scalar code with SIMD off, and counts vector runs on it as skipped.

use std::process::{Command, Output};

const VECTOR: &str = "tests/filetests/vector/splat.kir";
const SCALAR: &str = "tests/filetests/arith/iadd.kir";

fn kiln(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run kiln")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn simd_on_the_sse2_baseline_is_refused_everywhere_with_one_error() {
    let config_error = kiln::Config::new()
        .target("x86_64")
        .cpu("x86_64")
        .simd(true)
        .build()
        .err()
        .expect("Config refuses SIMD on the baseline")
        .to_string();
    assert!(
        config_error.contains("has_sse41") && config_error.contains("x86_64-v2"),
        "{config_error}"
    );
    for args in [
        &[
            "compile",
            "--cpu",
            "x86_64",
            "--enable",
            "enable_simd",
            VECTOR,
        ][..],
        &[
            "compile",
            "--cpu",
            "x86_64",
            "--enable",
            "enable_simd",
            SCALAR,
        ][..],
        &[
            "run",
            "--cpu",
            "x86_64",
            "--set",
            "enable_simd=true",
            VECTOR,
        ][..],
    ] {
        let out = kiln(args);
        assert!(!out.status.success(), "kiln {args:?} was accepted");
        assert!(
            text(&out).contains(&config_error),
            "kiln {args:?} did not print Config's error `{config_error}`:\n{}",
            text(&out)
        );
    }
}

#[test]
fn engines_run_vectors_by_default_and_scalar_code_on_the_baseline() {
    for args in [
        &[
            "compile",
            "--cpu",
            "x86_64-v2",
            "--enable",
            "enable_simd",
            VECTOR,
        ][..],
        &["run", VECTOR][..],
        &["run", "--cpu", "x86_64", SCALAR][..],
    ] {
        let out = kiln(args);
        assert!(
            out.status.success(),
            "kiln {args:?} failed:\n{}",
            text(&out)
        );
    }
    // On the plain baseline the x86_64 engine cannot compile a vector file: its runs are
    // counted as skipped, saying why; the other engines still run it.
    let out = kiln(&["run", "--cpu", "x86_64", VECTOR]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("SKIP") && t.contains("[x86_64]") && t.contains("enable_simd"),
        "{t}"
    );
    assert!(!t.contains(" 0 skipped") && t.contains(" 0 failed"), "{t}");
}
