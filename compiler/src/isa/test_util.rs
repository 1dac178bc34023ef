//! Test-only helpers shared by the ISA backends' tests.

use std::io::Write as _;
use std::process::{Command, Stdio};

/// Run LLVM's `llvm-mc` with `args` on `input` and return its stdout and stderr. Panics
/// with install instructions when llvm-mc is missing: encoder tests must never silently
/// skip their independent decoder.
pub(crate) fn run_llvm_mc(args: &[&str], input: &str) -> (String, String) {
    let child = ["llvm-mc", "llvm-mc-14"].iter().find_map(|exe| {
        Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .ok()
    });
    let Some(mut child) = child else {
        panic!(
            "llvm-mc not found: the encoder tests need LLVM's disassembler. \
             Install the `llvm` Debian package (apt-get install llvm) and rerun."
        );
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write to llvm-mc");
    let out = child.wait_with_output().expect("llvm-mc ran");
    assert!(
        out.status.success(),
        "llvm-mc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
