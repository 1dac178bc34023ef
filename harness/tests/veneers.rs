//! Every veneer kind, proven by execution under the emulator and checked against the
//! interpreter:
//!
//! - **far calls between functions** (the linker's veneers): AArch64 `bl` (±128 MiB, the
//!   26 → 64-bit veneer) and x86_64 `call rel32` (±2 GiB, the rel32 → 64-bit veneer). The
//!   `.kir` files in `tests/veneers/` (not default filetests: the padding is a per-run
//!   option) call each other forward and backward, recursively, and are linked with
//!   virtual padding between functions — AArch64 100 MiB (adjacent calls direct, calls two
//!   gaps away veneered) and 200 MiB (all veneered); x86_64 1.5 GiB (mixed) and 2.5 GiB
//!   (all veneered) — then run on the interpreter and the compiled engine against the
//!   files' run directives. Each case also links the file itself to check that veneers
//!   really were placed and that the image has the intended size.
//! - **conditional branches within a function** on AArch64 (the buffer's veneers):
//!   `tbz`/`tbnz` (±32 KiB, 14 → 26) over 40 KiB of straight-line code, and `cbz` and
//!   `b.cond` (±1 MiB, 19 → 26) over 1.1 MiB, generated as IR text, compiled with the
//!   single-pass allocator, checked to really branch through a `b` veneer, and executed on
//!   both paths of every branch against the interpreter.

use kiln::module::{link_text, LinkInput, TextSection};
use kiln::Arch;
use kiln_harness::engine::{EngineKind, EngineSettings};
use kiln_harness::exec::{CodeImage, Executor};
use kiln_harness::filetest::TestFile;
use kiln_harness::filetest_runner::{run_files, RunOptions};
use kiln_harness::interp::Interpreter;
use kiln_harness::outcome::Outcome;
use kiln_harness::value::DataValue;
use std::path::{Path, PathBuf};
use std::time::Instant;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

fn veneer_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/veneers")
        .join(name)
}

/// Compile `file` with the engine's compiler for `arch` and link it with `pad`.
fn link_file(arch: Arch, file: &Path, pad: u64) -> TextSection {
    let settings = EngineSettings {
        link_padding: pad,
        ..EngineSettings::default()
    };
    let compiler = settings.builder(arch).unwrap().build().unwrap();
    let tf = TestFile::load(file).unwrap();
    let code: Vec<_> = tf
        .functions
        .iter()
        .map(|f| compiler.compile_function(f).unwrap())
        .collect();
    let inputs: Vec<_> = tf
        .functions
        .iter()
        .zip(&code)
        .map(|(f, c)| LinkInput {
            name: &f.params.name,
            code: c,
        })
        .collect();
    link_text(arch, &inputs, &compiler.link_options()).unwrap()
}

/// Run `file` on the interpreter and `engine` with `pad` bytes of link padding; every
/// directive must pass on both. `veneers` is how many veneers the link must contain.
fn far_calls(engine: EngineKind, file: &str, pad: u64, veneers: usize, min_size: u64) {
    let arch = engine.arch().unwrap();
    let path = veneer_file(file);
    let t = link_file(arch, &path, pad);
    assert_eq!(t.veneers.len(), veneers, "{arch} {file} pad {pad:#x}");
    assert!(
        t.len > min_size,
        "{arch} {file}: image of {:#x} bytes",
        t.len
    );
    assert!(
        t.segments.iter().map(|s| s.bytes.len()).sum::<usize>() < 64 << 10,
        "the padding is virtual"
    );
    let start = Instant::now();
    let opts = RunOptions {
        engines: vec![EngineKind::Interp, engine],
        settings: EngineSettings {
            link_padding: pad,
            ..EngineSettings::default()
        },
        ..RunOptions::default()
    };
    let mut report = Vec::new();
    let summary = run_files(std::slice::from_ref(&path), &opts, &mut report);
    let report = String::from_utf8_lossy(&report);
    let runs = TestFile::load(&path).unwrap().runs.len();
    println!(
        "veneers [{arch}, {file}, padding {pad:#x}, image {:#x} bytes, {veneers} veneer(s)]: {} ({:.2?})",
        t.len,
        summary.closing_line(),
        start.elapsed()
    );
    assert_eq!(summary.failed, 0, "{report}");
    assert_eq!(summary.skipped, 0, "{report}");
    assert_eq!(summary.passed, 2 * runs, "{report}");
}

#[test]
fn aarch64_far_calls_through_26_to_64_bit_veneers() {
    // Dense: no veneer.
    far_calls(EngineKind::Aarch64, "three_functions.kir", 0, 0, 0);
    // 100 MiB gaps: u0:0 <-> u0:2 (200 MiB) need veneers, neighbours call directly.
    far_calls(
        EngineKind::Aarch64,
        "three_functions.kir",
        100 * MIB,
        2,
        200 * MIB,
    );
    // 200 MiB gaps: all four caller/callee pairs need veneers.
    far_calls(
        EngineKind::Aarch64,
        "three_functions.kir",
        200 * MIB,
        4,
        400 * MIB,
    );
    far_calls(
        EngineKind::Aarch64,
        "two_functions.kir",
        200 * MIB,
        2,
        200 * MIB,
    );
}

#[test]
fn x86_64_far_calls_through_rel32_to_64_bit_veneers() {
    far_calls(EngineKind::X86_64, "three_functions.kir", 0, 0, 0);
    // 1.5 GiB gaps: a 3 GiB image; u0:0 <-> u0:2 veneered, neighbours direct.
    far_calls(
        EngineKind::X86_64,
        "three_functions.kir",
        3 * GIB / 2,
        2,
        3 * GIB,
    );
    // 2.5 GiB gap: every call veneered.
    far_calls(
        EngineKind::X86_64,
        "two_functions.kir",
        5 * GIB / 2,
        2,
        5 * GIB / 2,
    );
}

/// A deterministic 64-bit constant stream (SplitMix64).
fn constants(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Straight-line IR of `steps` steps `x = (x ^ c1) + c2` from `x`, with value numbers
/// from `next`; returns the text, the last value, and the function it computes.
fn chain(x: u32, next: &mut u32, steps: usize, seed: u64) -> (String, u32, Vec<(u64, u64)>) {
    let mut text = String::new();
    let mut gen = constants(seed);
    let mut cur = x;
    let mut consts = Vec::with_capacity(steps);
    for _ in 0..steps {
        let (c1, c2) = (gen(), gen());
        let v = *next;
        *next += 4;
        text.push_str(&format!(
            "    v{v} = iconst.i64 {c1:#x}\n    v{} = bxor v{cur}, v{v}\n    v{} = iconst.i64 {c2:#x}\n    v{} = iadd v{}, v{}\n",
            v + 1,
            v + 2,
            v + 3,
            v + 1,
            v + 2
        ));
        cur = v + 3;
        consts.push((c1, c2));
    }
    (text, cur, consts)
}

fn eval_chain(mut x: u64, consts: &[(u64, u64)]) -> u64 {
    for &(c1, c2) in consts {
        x = (x ^ c1).wrapping_add(c2);
    }
    x
}

/// `%tbz(x)`: `x < 0` (a `tbnz` on the sign bit) branches over 40 KiB of code.
fn tbz_function(steps: usize) -> (String, impl Fn(i64) -> i64) {
    let mut next = 10;
    let (body, last, consts) = chain(0, &mut next, steps, 1);
    let text = format!(
        "function %tbz(i64) -> i64 {{
block0(v0: i64):
    v1 = iconst.i64 0
    v2 = icmp slt v0, v1
    brif v2, block2, block1
block1:
{body}    return v{last}
block2:
    v3 = isub v1, v0
    return v3
}}
"
    );
    let f = move |x: i64| {
        if x < 0 {
            x.wrapping_neg()
        } else {
            eval_chain(x as u64, &consts) as i64
        }
    };
    (text, f)
}

/// `%cond19(x)`: `x == 0` (a `cbz`) and `x > 100` (`cmp` + `b.gt`) each branch over
/// 1.1 MiB of code.
fn cond19_function(steps: usize) -> (String, impl Fn(i64) -> i64) {
    let mut next = 10;
    let (body, last, consts) = chain(0, &mut next, steps, 2);
    let text = format!(
        "function %cond19(i64) -> i64 {{
block0(v0: i64):
    v1 = iconst.i64 0
    v2 = icmp eq v0, v1
    brif v2, block3, block1
block1:
    v3 = iconst.i64 100
    v4 = icmp sgt v0, v3
    brif v4, block4, block2
block2:
{body}    return v{last}
block3:
    v5 = iconst.i64 77
    return v5
block4:
    v6 = isub v0, v3
    return v6
}}
"
    );
    let f = move |x: i64| {
        if x == 0 {
            77
        } else if x > 100 {
            x - 100
        } else {
            eval_chain(x as u64, &consts) as i64
        }
    };
    (text, f)
}

fn word(code: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(code[at..at + 4].try_into().unwrap())
}

fn sext(v: u32, bits: u32) -> i64 {
    i64::from(((v << (32 - bits)) as i32) >> (32 - bits))
}

/// Conditional branches of `kind` (`"tbz"`: tbz/tbnz; `"cbz"`: cbz/cbnz; `"bcond"`:
/// b.cond) in `code` that go through a `b` veneer; each as (branch, veneer, final target).
fn veneered(code: &[u8], kind: &str) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for at in (0..code.len().saturating_sub(3)).step_by(4) {
        let w = word(code, at);
        let disp = match kind {
            "tbz" if w & 0x7e00_0000 == 0x3600_0000 => sext((w >> 5) & 0x3fff, 14) * 4,
            "cbz" if w & 0x7e00_0000 == 0x3400_0000 => sext((w >> 5) & 0x7ffff, 19) * 4,
            "bcond" if w & 0xff00_0010 == 0x5400_0000 => sext((w >> 5) & 0x7ffff, 19) * 4,
            _ => continue,
        };
        let v = (at as i64 + disp) as usize;
        if v + 4 <= code.len() {
            let b = word(code, v);
            if b & 0xfc00_0000 == 0x1400_0000 {
                let target = (v as i64 + sext(b & 0x03ff_ffff, 26) * 4) as usize;
                out.push((at, v, target));
            }
        }
    }
    out
}

/// Compile `text` for AArch64 (single-pass allocation), check that a branch of each of
/// `kinds` reaches beyond `reach` through a veneer, and run `args` on the emulator and the
/// interpreter against `expect`.
fn run_big_function(
    text: &str,
    kinds: &[&str],
    reach: usize,
    args: &[i64],
    expect: impl Fn(i64) -> i64,
) {
    let start = Instant::now();
    let file = TestFile::parse(Path::new("generated.kir"), text).unwrap();
    let parsed = start.elapsed();
    let settings = EngineSettings {
        settings: vec![("regalloc".into(), "single_pass".into())],
        ..EngineSettings::default()
    };
    let compiler = settings.builder(Arch::Aarch64).unwrap().build().unwrap();
    let f = &file.functions[0];
    let code = compiler.compile_function(f).unwrap();
    let compiled = start.elapsed();
    for kind in kinds {
        let far: Vec<_> = veneered(&code.code, kind)
            .into_iter()
            .filter(|&(at, _, target)| target.abs_diff(at) > reach)
            .collect();
        assert!(
            !far.is_empty(),
            "a {kind} branch beyond {reach} bytes goes through a veneer ({} bytes of code)",
            code.code.len()
        );
    }
    let text_section = link_text(
        Arch::Aarch64,
        &[LinkInput {
            name: &f.params.name,
            code: &code,
        }],
        &compiler.link_options(),
    )
    .unwrap();
    let image = CodeImage::from_text(
        Arch::Aarch64,
        text_section,
        vec![(f.params.name.to_string(), f.signature.clone())],
    );
    let mut ex = Executor::new(Arch::Aarch64).unwrap();
    ex.load(&image).unwrap();
    for &x in args {
        let want = Outcome::Returned(vec![DataValue::I64(expect(x))]);
        let got = ex.call(0, &[DataValue::I64(x)], &mut [], 10_000_000);
        let interp = Interpreter::new(&file.functions)
            .with_fuel(10_000_000)
            .call(0, &[DataValue::I64(x)], &mut []);
        assert_eq!(got, want, "aarch64 emulator, x = {x}");
        assert_eq!(interp, want, "interpreter, x = {x}");
    }
    println!(
        "{} ({} bytes of AArch64): parse {parsed:.2?}, compile {:.2?}, run {:.2?}",
        f.params.name,
        code.code.len(),
        compiled - parsed,
        start.elapsed() - compiled
    );
}

#[test]
fn aarch64_tbz_over_32_kib_goes_through_a_14_to_26_veneer() {
    // 1,100 steps of 40 bytes: about 43 KiB.
    let (text, f) = tbz_function(1_100);
    run_big_function(
        &text,
        &["tbz"],
        32 << 10,
        &[-5, i64::MIN, 0, 1, 12345, i64::MAX],
        f,
    );
}

#[test]
fn aarch64_cbz_and_bcond_over_1_mib_go_through_19_to_26_veneers() {
    // 29,000 steps of 40 bytes: about 1.1 MiB.
    let (text, f) = cond19_function(29_000);
    run_big_function(
        &text,
        &["cbz", "bcond"],
        1 << 20,
        &[0, 101, 1 << 40, 100, 1, -3],
        f,
    );
}
