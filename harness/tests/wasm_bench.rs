//! `../shared/testdata/wasm/bench.wasm` runs on the interpreter (translated IR), x86_64 and
//! AArch64 (under emulation) and returns what the same C code (`bench.c`) returns when
//! built natively with gcc — the expected values are computed here, never taken from Kiln.

use kiln_harness::engine::{EngineKind, EngineSettings};
use kiln_harness::instance::Instance;
use kiln_harness::outcome::Outcome;
use kiln_harness::value::DataValue;
use std::path::PathBuf;
use std::process::Command;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/wasm")
}

/// (export, argument) pairs; small arguments keep the interpreter quick.
const CALLS: [(&str, i32); 3] = [("matmul", 2), ("sha256_loop", 300), ("mix64", 3000)];

/// Build `bench.c` natively with a driver and read what it prints for [`CALLS`].
fn native_results() -> Vec<u64> {
    let dir = std::env::temp_dir().join(format!("kiln-bench-native-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let driver = dir.join("driver.c");
    let bench = testdata().join("bench.c");
    std::fs::write(
        &driver,
        format!(
            "#include <stdio.h>\n#include \"{}\"\nint main(void) {{\n  double m = matmul({});\n  unsigned long long mb; __builtin_memcpy(&mb, &m, 8);\n  printf(\"%llu\\n%u\\n%llu\\n\", mb, sha256_loop({}), mix64({}));\n  return 0;\n}}\n",
            bench.display(),
            CALLS[0].1,
            CALLS[1].1,
            CALLS[2].1
        ),
    )
    .unwrap();
    let exe = dir.join("driver");
    // No FP contraction: Wasm has no fused multiply-add.
    let st = Command::new("gcc")
        .args(["-O1", "-ffp-contract=off", "-o"])
        .arg(&exe)
        .arg(&driver)
        .status()
        .expect("gcc runs (scripts/setup.sh installs it)");
    assert!(st.success());
    let out = Command::new(&exe).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse::<u64>().unwrap())
        .collect()
}

#[test]
fn bench_wasm_matches_native_gcc_on_every_engine() {
    let want = native_results();
    assert_eq!(want.len(), 3);
    let wasm = std::fs::read(testdata().join("bench.wasm")).unwrap();
    for engine in [EngineKind::Interp, EngineKind::X86_64, EngineKind::Aarch64] {
        let mut inst = Instance::new(&wasm, engine, &EngineSettings::default())
            .unwrap_or_else(|e| panic!("{}: {e}", engine.name()));
        for ((name, arg), want) in CALLS.iter().zip(&want) {
            let got = inst.invoke(name, &[DataValue::I32(*arg)]);
            let bits = match got {
                Outcome::Returned(ref v) if v.len() == 1 => match v[0] {
                    DataValue::F64(b) => b,
                    DataValue::I32(x) => x as u32 as u64,
                    DataValue::I64(x) => x as u64,
                    ref other => panic!("{name}: unexpected {other}"),
                },
                ref other => panic!("{} {name}({arg}): {other}", engine.name()),
            };
            assert_eq!(bits, *want, "{} {name}({arg})", engine.name());
        }
    }
}
