//! End-to-end tests of the AArch64 backend: `.kir` text → compiled code, with both
//! register allocators and regalloc2's checker on, checked by decoding the code with LLVM's
//! `llvm-mc` (an independent disassembler) where the shape matters.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::encoding::tests::llvm_mc_decode;
use super::label_use::AArch64LabelUse;
use super::Aarch64Backend;
use crate::ir::text::parse_functions;
use crate::ir::{Function, TrapCode};
use crate::machinst::buffer::{RelocKind, RelocTarget};
use crate::machinst::{
    compile_function, CodegenError, CompileOptions, CompiledCodeStencil, LabelUse,
    RegallocAlgorithm,
};

const ALGOS: [RegallocAlgorithm; 2] = [
    RegallocAlgorithm::Backtracking,
    RegallocAlgorithm::SinglePass,
];

fn opts(regalloc: RegallocAlgorithm) -> CompileOptions {
    CompileOptions {
        regalloc,
        regalloc_checker: true,
        verify: true,
        force_stack_check: false,
    }
}

fn parse(src: &str) -> Function {
    let mut fs = parse_functions(src).expect("parses");
    assert_eq!(fs.len(), 1);
    fs.remove(0)
}

fn try_compile(f: &Function, algo: RegallocAlgorithm) -> Result<CompiledCodeStencil, CodegenError> {
    compile_function(f, &Aarch64Backend::default(), &opts(algo))
}

fn compile(src: &str, algo: RegallocAlgorithm) -> CompiledCodeStencil {
    let f = parse(src);
    match try_compile(&f, algo) {
        Ok(c) => c,
        Err(e) => panic!("{algo:?}: {e}"),
    }
}

/// Decode the code words (up to `len` bytes) one per word; data words decode as whatever
/// they happen to be.
fn disasm(code: &[u8]) -> Vec<String> {
    let words: Vec<u32> = code
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    llvm_mc_decode(&words).0
}

fn listing(insns: &[String]) -> String {
    let mut s = String::new();
    for (i, t) in insns.iter().enumerate() {
        let _ = writeln!(s, "  {:5x}: {t}", i * 4);
    }
    s
}

fn contains(insns: &[String], prefix: &str) -> bool {
    insns.iter().any(|t| t.starts_with(prefix))
}

fn filetest_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            filetest_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "kir") {
            out.push(p);
        }
    }
}

#[test]
fn every_filetest_compiles_with_both_allocators_and_the_checker() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../harness/tests/filetests");
    let mut files = Vec::new();
    filetest_files(&dir, &mut files);
    assert!(!files.is_empty(), "no filetests under {}", dir.display());
    let mut failures = String::new();
    let (mut nfuncs, mut nfail) = (0, 0);
    for path in &files {
        let src = std::fs::read_to_string(path).expect("readable");
        let funcs = match parse_functions(&src) {
            Ok(f) => f,
            Err(e) => {
                let _ = writeln!(failures, "{}: parse error: {e}", path.display());
                nfail += 1;
                continue;
            }
        };
        for f in &funcs {
            nfuncs += 1;
            for algo in ALGOS {
                let r = std::panic::catch_unwind(|| try_compile(f, algo));
                let msg = match r {
                    Ok(Ok(_)) => continue,
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => "PANIC".to_string(),
                };
                nfail += 1;
                let _ = writeln!(
                    failures,
                    "{} {} ({algo:?}): {msg}",
                    path.display(),
                    f.params.name
                );
            }
        }
    }
    eprintln!(
        "aarch64: {} files, {nfuncs} functions, {} compiles, {nfail} failures",
        files.len(),
        2 * nfuncs
    );
    assert!(nfail == 0, "{nfail} failures:\n{failures}");
}

fn words(code: &[u8]) -> Vec<u32> {
    code.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn sext(v: u32, bits: u32) -> i64 {
    (i64::from(v) << (64 - bits)) >> (64 - bits)
}

/// The target of the branch word `w` at `pc`, and its label-use kind, if it is a direct
/// branch (`b`, `b.cond`, `cbz`/`cbnz`, `tbz`/`tbnz`).
fn branch_target(w: u32, pc: u64) -> Option<(u64, AArch64LabelUse)> {
    let (off, kind) = if w & 0xfc00_0000 == 0x1400_0000 {
        (sext(w & 0x03ff_ffff, 26) * 4, AArch64LabelUse::Branch26)
    } else if w & 0xff00_0010 == 0x5400_0000 || w & 0x7e00_0000 == 0x3400_0000 {
        (sext((w >> 5) & 0x7ffff, 19) * 4, AArch64LabelUse::Branch19)
    } else if w & 0x7e00_0000 == 0x3600_0000 {
        (sext((w >> 5) & 0x3fff, 14) * 4, AArch64LabelUse::Branch14)
    } else {
        return None;
    };
    Some(((pc as i64 + off) as u64, kind))
}

/// Every allocator, with the checker; the same bytes need not come out, but every result
/// must satisfy `check`.
fn for_both(src: &str, check: impl Fn(RegallocAlgorithm, &CompiledCodeStencil, &[String])) {
    for algo in ALGOS {
        let c = compile(src, algo);
        let insns = disasm(&c.code);
        check(algo, &c, &insns);
    }
}

#[test]
fn prologue_epilogue_frame_record_and_stack_slot() {
    let src = "function %f(i32) -> i32 {
    ss0 = explicit_slot 16
block0(v0: i32):
    stack_store v0, ss0+4
    v1 = stack_load.i32 ss0+4
    return v1
}";
    for_both(src, |algo, c, t| {
        let l = listing(t);
        assert_eq!(
            &t[..2],
            &["stp x29, x30, [sp, #-16]!", "mov x29, sp"],
            "{algo:?}\n{l}"
        );
        assert!(t[2].starts_with("sub sp, sp, #"), "{algo:?}\n{l}");
        let n = t.len();
        assert_eq!(
            &t[n - 3..],
            &["mov sp, x29", "ldp x29, x30, [sp], #16", "ret"],
            "{algo:?}\n{l}"
        );
        if algo == RegallocAlgorithm::Backtracking {
            assert!(
                contains(t, "str w0, [sp, #4]") && contains(t, "ldr w0, [sp, #4]"),
                "{l}"
            );
            assert_eq!(c.frame_size, 32);
        }
        assert!(c.relocs.is_empty(), "no stack check without calls");
    });
}

#[test]
fn callee_saved_registers_are_saved_and_restored() {
    // More values live across a call than there are caller-saved registers.
    let mut src = String::from(
        "function %f(i64) -> i64 {\n    sig0 = (i64) -> i64\n    fn0 = u0:1 sig0\nblock0(v0: i64):\n",
    );
    for i in 1..=12 {
        let _ = writeln!(
            src,
            "    v{i} = iadd v0, v0\n    v{} = iadd v{i}, v{i}",
            i + 100
        );
    }
    src.push_str("    v200 = call fn0(v0)\n    v201 = iadd v200, v101\n");
    for i in 2..=12 {
        let _ = writeln!(src, "    v{} = iadd v{}, v{}", 200 + i, 199 + i, 100 + i);
    }
    src.push_str("    return v212\n}");
    for_both(&src, |algo, _, t| {
        let l = listing(t);
        assert!(contains(t, "str x19, [sp"), "{algo:?} saves x19\n{l}");
        assert!(contains(t, "ldr x19, [sp"), "{algo:?} restores x19\n{l}");
        assert!(
            !contains(t, "str d8"),
            "{algo:?}: v8-v15 are never allocated\n{l}"
        );
    });
}

#[test]
fn compare_fused_into_branches_cbz_and_tbz() {
    let src = "function %f(i32, i32, i64) -> i32 {
block0(v0: i32, v1: i32, v2: i64):
    v3 = icmp slt v0, v1
    brif v3, block1, block2
block1:
    v4 = iconst.i32 0
    v5 = icmp eq v1, v4
    brif v5, block3, block4
block2:
    v6 = iconst.i64 0
    v7 = icmp slt v2, v6
    brif v7, block3, block4
block3:
    v8 = iconst.i32 7
    return v8
block4:
    v9 = iconst.i32 9
    return v9
}";
    for_both(src, |algo, _, t| {
        let l = listing(t);
        assert!(contains(t, "cmp w"), "{algo:?}\n{l}");
        assert!(contains(t, "b.lt") || contains(t, "b.ge"), "{algo:?}\n{l}");
        assert!(
            contains(t, "cbz w") || contains(t, "cbnz w"),
            "{algo:?}\n{l}"
        );
        assert!(
            t.iter()
                .any(|s| (s.starts_with("tbz x") || s.starts_with("tbnz x")) && s.contains("#63")),
            "{algo:?}\n{l}"
        );
        assert!(
            !contains(t, "cset"),
            "compares are fused, not materialized\n{l}"
        );
    });
}

/// Wasm's comparisons are `uextend.i32 (icmp …)`: a branch or select on that fuses the
/// compare through the single-use extension; a second use of the extension keeps it.
#[test]
fn compare_behind_uextend_fuses_into_branch_and_select() {
    let src = "function %f(i32, i32, i64) -> i64 {
block0(v0: i32, v1: i32, v2: i64):
    v3 = iconst.i32 0
    v4 = icmp eq v0, v3
    v5 = uextend.i32 v4
    brif v5, block1, block2
block1:
    v6 = icmp ult v0, v1
    v7 = uextend.i32 v6
    v8 = uextend.i64 v7
    v9 = iconst.i64 5
    v10 = select v8, v2, v9
    return v10
block2:
    return v2
}";
    for_both(src, |algo, _, t| {
        let l = listing(t);
        assert!(
            contains(t, "cbz w") || contains(t, "cbnz w"),
            "{algo:?}\n{l}"
        );
        assert!(contains(t, "csel x"), "{algo:?}\n{l}");
        assert!(!contains(t, "cset"), "compares are fused\n{l}");
    });
    let kept = "function %g(i32, i32) -> i32 {
block0(v0: i32, v1: i32):
    v2 = icmp ult v0, v1
    v3 = uextend.i32 v2
    brif v3, block1, block2
block1:
    return v3
block2:
    v4 = iconst.i32 9
    return v4
}";
    for_both(kept, |algo, _, t| {
        let l = listing(t);
        assert!(
            contains(t, "cset"),
            "the extension is used twice\n{algo:?}\n{l}"
        );
    });
}

#[test]
fn division_checks_trap_with_their_codes() {
    let src = "function %f(i32, i32) -> i32 {
block0(v0: i32, v1: i32):
    v2 = sdiv v0, v1
    return v2
}";
    for_both(src, |algo, c, t| {
        let l = listing(t);
        let pos = |p: &str| t.iter().position(|s| s.starts_with(p));
        let cbnz = pos("cbnz w").unwrap_or_else(|| panic!("{algo:?}\n{l}"));
        assert!(t[cbnz].ends_with(", #8"), "{l}");
        assert_eq!(t[cbnz + 1], "udf #0");
        assert!(
            t[cbnz + 2].starts_with("cmn w") && t[cbnz + 2].ends_with(", #1"),
            "{l}"
        );
        assert!(
            t[cbnz + 3].starts_with("ccmp w") && t[cbnz + 3].ends_with(", #1, #0, eq"),
            "{l}"
        );
        assert_eq!(&t[cbnz + 4..cbnz + 6], &["b.vc #8", "udf #0"], "{l}");
        assert!(t[cbnz + 6].starts_with("sdiv w"), "{l}");
        assert_eq!(
            c.traps
                .iter()
                .map(|t| (t.offset, t.code))
                .collect::<Vec<_>>(),
            vec![
                (4 * cbnz as u64 + 4, TrapCode::IntegerDivisionByZero),
                (4 * cbnz as u64 + 20, TrapCode::IntegerOverflow),
            ]
        );
    });
    // A constant divisor needs neither check; urem is udiv + msub.
    let src = "function %g(i64) -> i64 {
block0(v0: i64):
    v1 = iconst.i64 10
    v2 = urem v0, v1
    return v2
}";
    for_both(src, |_, c, t| {
        assert!(c.traps.is_empty(), "{}", listing(t));
        assert!(
            contains(t, "udiv x") && contains(t, "msub x"),
            "{}",
            listing(t)
        );
    });
}

#[test]
fn jump_table_entries_reach_their_blocks() {
    let src = "function %f(i32) -> i32 {
block0(v0: i32):
    br_table v0, block3, [block1, block2, block1]
block1:
    v1 = iconst.i32 101
    return v1
block2:
    v2 = iconst.i32 102
    return v2
block3:
    v3 = iconst.i32 103
    return v3
}";
    for_both(src, |algo, c, t| {
        let l = listing(t);
        let w = words(&c.code);
        let at = t
            .iter()
            .position(|s| s.starts_with("cmp w") && s.ends_with(", #3"))
            .unwrap_or_else(|| panic!("{l}"));
        assert_eq!(t[at + 1].split(' ').next(), Some("b.hs"), "{l}");
        assert_eq!(t[at + 2], "adr x16, #20", "{l}");
        assert!(
            t[at + 3].starts_with("add x16, x16, w") && t[at + 3].ends_with(", uxtw #2"),
            "{l}"
        );
        assert_eq!(
            &t[at + 4..at + 6],
            &["ldrsw x17, [x16]", "add x16, x16, x17"],
            "{l}"
        );
        assert_eq!(t[at + 6], "br x16", "{l}");
        // Follow every entry (and the default) through any jumps to the block's constant.
        let follow = |mut pc: u64| {
            for _ in 0..4 {
                match branch_target(w[(pc / 4) as usize], pc) {
                    Some((to, _)) => pc = to,
                    None => break,
                }
            }
            t[(pc / 4) as usize].clone()
        };
        let table = (at + 7) as u64 * 4;
        let entry = |k: u64| {
            let e = w[(table / 4 + k) as usize] as i32;
            follow((table + 4 * k).wrapping_add_signed(i64::from(e)))
        };
        assert_eq!(entry(0), "mov w0, #101", "{algo:?}\n{l}");
        assert_eq!(entry(1), "mov w0, #102", "{algo:?}\n{l}");
        assert_eq!(entry(2), "mov w0, #101", "{algo:?}\n{l}");
        let default = branch_target(w[at + 1], 4 * (at as u64 + 1)).map(|(to, _)| to);
        assert_eq!(default.map(follow).as_deref(), Some("mov w0, #103"), "{l}");
    });
}

#[test]
fn calls_carry_relocations_and_check_the_stack() {
    let src = "function %f(i64) -> i64 {
    sig0 = (i64) -> i64
    fn0 = u0:7 sig0
    fn1 = libcall floor_f64 sig1
    sig1 = (f64) -> f64
block0(v0: i64):
    v1 = call fn0(v0)
    v2 = func_addr fn0
    v3 = iadd v1, v2
    return v3
}";
    // The preamble order of the text format puts signatures first.
    let src = src.replace(
        "    fn0 = u0:7 sig0\n    fn1 = libcall floor_f64 sig1\n    sig1 = (f64) -> f64\n",
        "    sig1 = (f64) -> f64\n    fn0 = u0:7 sig0\n    fn1 = libcall floor_f64 sig1\n",
    );
    for_both(&src, |algo, c, t| {
        let l = listing(t);
        let call = c
            .relocs
            .iter()
            .find(|r| r.kind == RelocKind::Arm64Call)
            .unwrap_or_else(|| panic!("{algo:?}: no call relocation\n{l}"));
        assert!(matches!(call.target, RelocTarget::User(_)));
        assert_eq!(t[call.offset as usize / 4], "bl #0", "{l}");
        let abs: Vec<_> = c
            .relocs
            .iter()
            .filter(|r| r.kind == RelocKind::Abs8)
            .collect();
        assert_eq!(abs.len(), 2, "stack limit + func_addr\n{l}");
        assert!(abs.iter().any(|r| r.target == RelocTarget::StackLimit));
        for r in &abs {
            assert_eq!(r.offset % 8, 0, "literal is aligned");
            // `ldr xN, #8; b #12` right before the literal.
            assert!(t[r.offset as usize / 4 - 2].starts_with("ldr x"), "{l}");
            assert_eq!(t[r.offset as usize / 4 - 1], "b #12", "{l}");
        }
        let trap = c.traps.iter().find(|t| t.code == TrapCode::StackOverflow);
        assert!(trap.is_some(), "{l}");
        assert_eq!(c.call_sites.len(), 1);
    });
}

#[test]
fn logical_and_arithmetic_immediates_and_shifted_operands() {
    let src = "function %f(i32, i64, i64) -> i32, i64 {
block0(v0: i32, v1: i64, v2: i64):
    v3 = iconst.i32 0xff00
    v4 = band v0, v3
    v5 = iconst.i64 3
    v6 = ishl v2, v5
    v7 = iadd v1, v6
    v8 = iconst.i64 -4095
    v9 = iadd v7, v8
    return v4, v9
}";
    for_both(src, |algo, _, t| {
        let l = listing(t);
        assert!(
            t.iter()
                .any(|s| s.starts_with("and w") && s.ends_with(", #0xff00")),
            "{algo:?}\n{l}"
        );
        assert!(
            t.iter()
                .any(|s| s.starts_with("add x") && s.ends_with(", lsl #3")),
            "{l}"
        );
        assert!(
            t.iter()
                .any(|s| s.starts_with("sub x") && s.ends_with("#4095")),
            "{l}"
        );
        assert!(!contains(t, "mov x") || !contains(t, "movk"), "{l}");
    });
}

#[test]
fn stack_arguments_in_both_directions() {
    let params = "i64, i64, i64, i64, i64, i64, i64, i64, i64, i32";
    let src = format!(
        "function %f({params}) -> i64 {{
    sig0 = ({params}) -> i64
    fn0 = u0:3 sig0
block0(v0: i64, v1: i64, v2: i64, v3: i64, v4: i64, v5: i64, v6: i64, v7: i64, v8: i64, v9: i32):
    v10 = sextend.i64 v9
    v11 = iadd v8, v10
    v12 = call fn0(v0, v1, v2, v3, v4, v5, v6, v7, v11, v9)
    return v12
}}"
    );
    for_both(&src, |algo, c, t| {
        let l = listing(t);
        // Incoming: above the frame record.
        assert!(
            t.iter()
                .any(|s| s.starts_with("ldr x") && s.ends_with("[x29, #16]")),
            "{algo:?}\n{l}"
        );
        assert!(
            t.iter()
                .any(|s| s.starts_with("ldr w") && s.ends_with("[x29, #24]")),
            "{l}"
        );
        // Outgoing: at the bottom of the frame.
        assert!(
            t.iter()
                .any(|s| s.starts_with("str x") && s.ends_with(", [sp]")),
            "{l}"
        );
        assert!(
            t.iter()
                .any(|s| s.starts_with("str w") && s.ends_with(", [sp, #8]")),
            "{l}"
        );
        assert!(c.frame_size >= 32, "{}", c.frame_size);
    });
}

#[test]
fn results_beyond_registers_use_the_return_area_in_x8() {
    let src = "function %f(i64) -> i64, i64, i64 {
block0(v0: i64):
    v1 = iadd v0, v0
    v2 = iadd v1, v0
    return v0, v1, v2
}";
    for_both(src, |algo, _, t| {
        let l = listing(t);
        // The third result is stored through the pointer that arrived in x8.
        let ptr = t
            .iter()
            .find_map(|s| s.strip_prefix("mov ")?.strip_suffix(", x8"))
            .unwrap_or("x8");
        assert!(
            t.iter()
                .any(|s| s.starts_with("str x") && s.ends_with(&format!("[{ptr}]"))),
            "{algo:?}\n{l}"
        );
    });
}

/// A function whose conditional branch must jump over `n` instructions of straight-line
/// code per arm: `cond` decides the branch form.
fn far_branch_src(cond: &str, n: usize) -> String {
    let mut s = format!(
        "function %far(i64, i64) -> i64 {{\nblock0(v0: i64, v1: i64):\n    {cond}\n    brif v2, block1, block2\nblock1:\n    v3 = iadd v0, v1\n"
    );
    for i in 0..n {
        let _ = writeln!(s, "    v{} = iadd v{}, v0", 4 + i, 3 + i);
    }
    let _ = writeln!(
        s,
        "    return v{}\nblock2:\n    v10000000 = bxor v0, v1",
        3 + n
    );
    for i in 0..n {
        let _ = writeln!(s, "    v{} = bxor v{}, v1", 10000001 + i, 10000000 + i);
    }
    let _ = writeln!(s, "    return v{}\n}}", 10000000 + n);
    s
}

/// Check that the first conditional branch of `code` reaches a block start (the first
/// `add`/`eor` of an arm) through a veneer, and return the kinds on the way.
fn check_far_branch(c: &CompiledCodeStencil, first: AArch64LabelUse) -> Vec<AArch64LabelUse> {
    let w = words(&c.code);
    let start = w
        .iter()
        .enumerate()
        .find_map(|(i, &x)| match branch_target(x, 4 * i as u64) {
            Some((_, k)) if k != AArch64LabelUse::Branch26 => Some(i as u64 * 4),
            _ => None,
        })
        .expect("a conditional branch");
    let mut kinds = Vec::new();
    let mut pc = start;
    while let Some((to, k)) = branch_target(w[(pc / 4) as usize], pc) {
        kinds.push(k);
        pc = to;
        assert!(kinds.len() < 4, "branch chain too long");
    }
    assert_eq!(kinds[0], first);
    assert!(
        kinds.len() >= 2,
        "the branch went through a veneer: {kinds:?}"
    );
    assert!(
        pc.abs_diff(start) > first.max_pos_range(),
        "final target {pc:#x} is out of the first kind's range from {start:#x}"
    );
    kinds
}

#[test]
fn tbz_beyond_32k_goes_through_a_veneer() {
    let src = far_branch_src(
        "v16000000 = iconst.i64 0\n    v2 = icmp slt v0, v16000000",
        9000,
    );
    for algo in ALGOS {
        let c = compile(&src, algo);
        let kinds = check_far_branch(&c, AArch64LabelUse::Branch14);
        assert_eq!(kinds[1], AArch64LabelUse::Branch26, "{algo:?}");
    }
}

#[test]
fn b_cond_beyond_1m_goes_through_a_veneer() {
    let src = far_branch_src("v2 = icmp ult v0, v1", 270_000);
    let f = parse(&src);
    let o = CompileOptions {
        regalloc: RegallocAlgorithm::SinglePass,
        regalloc_checker: false,
        verify: true,
        force_stack_check: false,
    };
    let c = compile_function(&f, &Aarch64Backend::default(), &o).expect("compiles");
    let kinds = check_far_branch(&c, AArch64LabelUse::Branch19);
    assert_eq!(kinds[1], AArch64LabelUse::Branch26);
}

#[test]
fn compiling_twice_gives_identical_bytes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../harness/tests/filetests/calls");
    let mut files = Vec::new();
    filetest_files(&dir, &mut files);
    let mut ctx = crate::machinst::CompileContext::<Aarch64Backend>::new();
    for p in files {
        let src = std::fs::read_to_string(&p).expect("readable");
        for f in parse_functions(&src).expect("parses") {
            let o = opts(RegallocAlgorithm::Backtracking);
            let a = ctx
                .compile(&Aarch64Backend::default(), &f, &o)
                .expect("compiles");
            let b = try_compile(&f, RegallocAlgorithm::Backtracking).expect("compiles");
            assert_eq!(a, b, "{}", p.display());
        }
    }
}
