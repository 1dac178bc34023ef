//! End-to-end tests of the x86_64 slice: `.kir` text → compiled code, checked by decoding
//! it with LLVM's `llvm-mc` (an independent disassembler), with both register allocators
//! and regalloc2's checker on.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use super::{X64Backend, X64Flags};
use crate::ir::text::parse_functions;
use crate::ir::{Function, TrapCode};
use crate::machinst::buffer::{RelocKind, RelocTarget};
use crate::machinst::compiled::FinalRelocTarget;
use crate::machinst::{
    compile_function, CodegenError, CompileContext, CompileOptions, CompiledCodeStencil,
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

fn compile(src: &str, algo: RegallocAlgorithm) -> CompiledCodeStencil {
    let f = parse(src);
    match compile_function(&f, &X64Backend::default(), &opts(algo)) {
        Ok(c) => c,
        Err(e) => panic!("{algo:?}: {e}"),
    }
}

/// One decoded instruction: offset and normalized Intel-syntax text.
#[derive(Debug, Clone)]
struct Insn {
    offset: u32,
    text: String,
}

/// Decode `code` with llvm-mc (`-show-encoding` gives each instruction's length).
fn disasm(code: &[u8]) -> Vec<Insn> {
    let mut input = String::new();
    for b in code {
        let _ = write!(input, "0x{b:02x} ");
    }
    let mut child = ["llvm-mc", "llvm-mc-14"]
        .iter()
        .find_map(|exe| {
            Command::new(exe)
                .args([
                    "-triple=x86_64",
                    "-disassemble",
                    "-output-asm-variant=1",
                    "-show-encoding",
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .ok()
        })
        .expect("llvm-mc is installed (apt-get install llvm)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("llvm-mc ran");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut insns = Vec::new();
    let mut offset = 0u32;
    for line in text.lines() {
        let Some((asm, enc)) = line.split_once("# encoding: [") else {
            continue;
        };
        let len = enc.trim_end_matches(']').split(',').count() as u32;
        let norm = asm.split_whitespace().collect::<Vec<_>>().join(" ");
        insns.push(Insn { offset, text: norm });
        offset += len;
    }
    insns
}

/// Does an operand list start with a 32-bit register (`eax`, `r9d`, ...)?
fn is_reg32(ops: &str) -> bool {
    let r = ops.split(',').next().unwrap_or("");
    (r.starts_with('e') && r.len() == 3) || (r.starts_with('r') && r.ends_with('d'))
}

fn texts(insns: &[Insn]) -> Vec<&str> {
    insns.iter().map(|i| i.text.as_str()).collect()
}

/// No `mov r, r` (or `movaps x, x`) with the same source and destination.
fn assert_no_self_moves(insns: &[Insn]) {
    for i in insns {
        let t = &i.text;
        for m in ["mov ", "movaps "] {
            if let Some(ops) = t.strip_prefix(m) {
                if let Some((a, b)) = ops.split_once(", ") {
                    assert_ne!(a, b, "redundant move {t}");
                }
            }
        }
    }
}

/// The code up to and including the last `ret`/`ud2` (the rest is the constant pool).
fn code_part(insns: &[Insn]) -> &[Insn] {
    let end = insns
        .iter()
        .rposition(|i| i.text == "ret" || i.text == "ud2")
        .map_or(insns.len(), |p| p + 1);
    &insns[..end]
}

fn assert_frame_shape(insns: &[Insn]) {
    let t = texts(insns);
    assert_eq!(&t[..2], &["push rbp", "mov rbp, rsp"], "prologue: {t:#?}");
    let code = code_part(insns);
    let n = code.len();
    assert_eq!(code[n - 1].text, "ret", "{t:#?}");
    assert_eq!(code[n - 2].text, "pop rbp", "{t:#?}");
}

const ADD_IMM: &str = "
function %add5(i64) -> i64 {
block0(v0: i64):
    v1 = iconst.i64 5
    v2 = iadd v0, v1
    return v2
}";

#[test]
fn prologue_epilogue_and_immediate_operand() {
    for algo in ALGOS {
        let c = compile(ADD_IMM, algo);
        let insns = disasm(&c.code);
        let t = texts(&insns);
        assert_frame_shape(&insns);
        assert!(
            t.iter()
                .any(|s| s.starts_with("add ") && s.ends_with(", 5")),
            "{algo:?}: {t:#?}"
        );
        // The constant is an immediate, never materialized.
        assert!(
            !t.iter().any(|s| s.contains(", 5") && s.starts_with("mov")),
            "{t:#?}"
        );
        assert_no_self_moves(&insns);
        assert_eq!(c.frame_size, 16, "only return address and saved rbp");
        assert!(c.relocs.is_empty() && c.traps.is_empty());
    }
}

const MAX: &str = "
function %max(i64, i64) -> i64 {
block0(v0: i64, v1: i64):
    v2 = icmp sgt v0, v1
    brif v2, block1, block2

block1:
    return v0

block2:
    return v1
}";

#[test]
fn fused_compare_and_branch() {
    for algo in ALGOS {
        let c = compile(MAX, algo);
        let insns = disasm(&c.code);
        let t = texts(&insns);
        assert!(!t.iter().any(|s| s.starts_with("set")), "{algo:?}: {t:#?}");
        let k = t
            .iter()
            .position(|s| s.starts_with("cmp "))
            .unwrap_or_else(|| panic!("{algo:?}: no cmp in {t:#?}"));
        // The next instruction that is not a (flag-preserving) register move is the jcc.
        let next = t[k + 1..]
            .iter()
            .find(|s| !s.starts_with("mov "))
            .expect("something follows the cmp");
        assert!(
            matches!(next.split(' ').next(), Some("jg" | "jle")),
            "{algo:?}: cmp not followed by jcc: {t:#?}"
        );
        // Branch simplification: no jump to the next instruction.
        for i in &insns {
            if i.text.starts_with('j') {
                assert_ne!(i.text.split(' ').nth(1), Some("0"), "{t:#?}");
            }
        }
        assert_no_self_moves(&insns);
        assert_frame_shape(&insns);
    }
}

/// Wasm's comparisons are `uextend.i32 (icmp …)`: a branch or select on that fuses the
/// compare through the single-use extensions (no `setcc`, no `movzx`).
#[test]
fn compare_behind_uextend_fuses_into_branch_and_select() {
    let src = "
function %f(i32, i32, i64) -> i64 {
block0(v0: i32, v1: i32, v2: i64):
    v3 = icmp slt v0, v1
    v4 = uextend.i32 v3
    brif v4, block1, block2
block1:
    v5 = icmp ugt v0, v1
    v6 = uextend.i32 v5
    v7 = uextend.i64 v6
    v8 = iconst.i64 5
    v9 = select v7, v2, v8
    return v9
block2:
    return v2
}";
    for algo in ALGOS {
        let insns = disasm(&compile(src, algo).code);
        let t = texts(&insns);
        assert!(!t.iter().any(|s| s.starts_with("set")), "{algo:?}: {t:#?}");
        assert!(
            !t.iter().any(|s| s.starts_with("movzx")),
            "{algo:?}: {t:#?}"
        );
        assert!(
            t.iter()
                .any(|s| matches!(s.split(' ').next(), Some("jl" | "jge"))),
            "{algo:?}: {t:#?}"
        );
        assert!(t.iter().any(|s| s.starts_with("cmov")), "{algo:?}: {t:#?}");
    }
}

#[test]
fn icmp_materialized_with_setcc_movzx_and_compare_with_immediate() {
    let src = "
function %lt(i32, i32) -> i8 {
block0(v0: i32, v1: i32):
    v2 = icmp ult v0, v1
    return v2
}";
    let imm = "
function %lt10(i8) -> i8 {
block0(v0: i8):
    v1 = iconst.i8 10
    v2 = icmp slt v1, v0
    return v2
}";
    for algo in ALGOS {
        let insns = disasm(&compile(src, algo).code);
        let t = texts(&insns);
        let k = t.iter().position(|s| s.starts_with("cmp ")).expect("cmp");
        assert!(is_reg32(&t[k][4..]), "32-bit cmp: {t:#?}");
        assert!(t[k + 1].starts_with("setb "), "{t:#?}");
        assert!(t[k + 2].starts_with("movzx "), "{t:#?}");
        let insns = disasm(&compile(imm, algo).code);
        let t = texts(&insns);
        // 10 < v0 becomes v0 > 10 with an 8-bit immediate compare.
        let k = t.iter().position(|s| s.starts_with("cmp ")).expect("cmp");
        let r = t[k][4..].split(',').next().unwrap_or("");
        assert!(
            t[k].ends_with(", 10") && (r.ends_with('l') || r.ends_with('b')),
            "8-bit compare with an immediate: {t:#?}"
        );
        assert!(t[k + 1].starts_with("setg "), "{t:#?}");
    }
}

#[test]
fn select_uses_cmov_with_fused_compare() {
    let src = "
function %sel(i64, i64, i64) -> i64 {
block0(v0: i64, v1: i64, v2: i64):
    v3 = icmp eq v0, v1
    v4 = select v3, v1, v2
    v5 = bxor v4, v0
    v6 = band v5, v2
    v7 = bor v6, v1
    v8 = imul v7, v0
    v9 = iconst.i64 -3
    v10 = imul v8, v9
    v11 = isub v10, v0
    return v11
}";
    for algo in ALGOS {
        let insns = disasm(&compile(src, algo).code);
        let t = texts(&insns);
        let k = t.iter().position(|s| s.starts_with("cmp ")).expect("cmp");
        assert!(
            t[k + 1..]
                .iter()
                .take(3)
                .any(|s| s.starts_with("cmove ") || s.starts_with("cmovne ")),
            "{algo:?}: {t:#?}"
        );
        for m in ["xor ", "and ", "or ", "imul ", "sub "] {
            assert!(t.iter().any(|s| s.starts_with(m)), "{m}: {t:#?}");
        }
        assert!(
            t.iter()
                .any(|s| s.starts_with("imul ") && s.ends_with(", -3")),
            "{t:#?}"
        );
        assert!(!t.iter().any(|s| s.starts_with("set")), "{t:#?}");
        assert_no_self_moves(&insns);
    }
}

const LOOP: &str = "
function %sum_down(i64) -> i64 {
block0(v0: i64):
    v1 = iconst.i64 0
    jump block1(v0, v1)

block1(v2: i64, v3: i64):
    v4 = iadd v3, v2
    v5 = iconst.i64 1
    v6 = isub v2, v5
    v7 = icmp ne v6, v1
    brif v7, block1(v6, v4), block2

block2:
    return v4
}";

#[test]
fn loop_with_block_params_splits_the_critical_back_edge() {
    for algo in ALGOS {
        let f = parse(LOOP);
        let mut ctx = CompileContext::<X64Backend>::new();
        let c = ctx
            .compile(&X64Backend::default(), &f, &opts(algo))
            .expect("compiles");
        // block0, block1, edge block1->block1, block2.
        assert_eq!(ctx.vcode().num_blocks(), 4);
        let insns = disasm(&c.code);
        let t = texts(&insns);
        assert!(
            t.iter()
                .any(|s| s.starts_with("sub ") && s.ends_with(", 1")),
            "{t:#?}"
        );
        assert!(
            t.iter()
                .any(|s| s.starts_with("cmp ") && s.ends_with(", 0")),
            "{t:#?}"
        );
        assert!(!t.iter().any(|s| s.starts_with("set")), "{t:#?}");
        // A backward jump exists (the loop).
        assert!(t.iter().any(|s| s.starts_with('j')), "{t:#?}");
        assert_no_self_moves(&insns);
        assert_frame_shape(&insns);
    }
}

#[test]
fn trap_records_the_ud2_offset() {
    let src = "
function %t(i32) -> i32 {
block0(v0: i32):
    brif v0, block1, block2

block1:
    trap user7

block2:
    return v0
}";
    for algo in ALGOS {
        let c = compile(src, algo);
        let insns = disasm(&c.code);
        let ud2: Vec<_> = insns.iter().filter(|i| i.text == "ud2").collect();
        assert_eq!(ud2.len(), 1, "{insns:#?}");
        assert_eq!(c.traps.len(), 1);
        assert_eq!(c.traps[0].offset, u64::from(ud2[0].offset));
        assert_eq!(c.traps[0].code, TrapCode::User(7));
        // The condition is tested at its own width.
        assert!(
            texts(&insns)
                .iter()
                .any(|s| s.strip_prefix("test ").is_some_and(is_reg32)),
            "{insns:#?}"
        );
    }
}

#[test]
fn float_constant_and_add_use_xmm_registers_and_the_pool() {
    let src = "
function %fadd(f64, f32) -> f64, f32 {
block0(v0: f64, v1: f32):
    v2 = fconst.f64 1.5
    v3 = fadd v0, v2
    v4 = fconst.f32 0.0
    v5 = fadd v1, v4
    return v3, v5
}";
    for algo in ALGOS {
        let c = compile(src, algo);
        let insns = disasm(&c.code);
        let t = texts(&insns);
        assert!(t.iter().any(|s| s.starts_with("addsd xmm")), "{t:#?}");
        assert!(t.iter().any(|s| s.starts_with("addss xmm")), "{t:#?}");
        assert!(
            t.iter()
                .any(|s| s.starts_with("movsd xmm") && s.contains("[rip")),
            "{t:#?}"
        );
        assert!(t.iter().any(|s| s.starts_with("xorps xmm")), "{t:#?}");
        // 1.5 is in the trailing constant pool.
        let bits = 1.5f64.to_bits().to_le_bytes();
        assert!(c.code.windows(8).any(|w| w == bits));
        assert_no_self_moves(code_part(&insns));
    }
}

/// More simultaneously live values than allocatable registers: forces spills and the use
/// of callee-saved registers (saved and restored by the prologue and epilogue).
fn many_live_values(n: usize) -> String {
    // v0: argument; v(1000 + i): constants; v(i): products; v(2000 + i): running sums.
    let mut s = String::from("function %pressure(i64) -> i64 {\nblock0(v0: i64):\n");
    for i in 1..=n {
        let _ = writeln!(s, "    v{} = iconst.i64 {i}", 1000 + i);
        let _ = writeln!(s, "    v{i} = imul v0, v{}", 1000 + i);
    }
    let mut acc = 1;
    for i in 2..=n {
        let _ = writeln!(s, "    v{} = iadd v{acc}, v{i}", 2000 + i);
        acc = 2000 + i;
    }
    let _ = writeln!(s, "    return v{acc}\n}}");
    s
}

#[test]
fn register_pressure_spills_and_saves_callee_saved_registers() {
    let src = many_live_values(24);
    for algo in ALGOS {
        let f = parse(&src);
        let mut ctx = CompileContext::<X64Backend>::new();
        let c = ctx
            .compile(&X64Backend::default(), &f, &opts(algo))
            .expect("compiles");
        let insns = disasm(&c.code);
        let t = texts(&insns);
        assert!(ctx.frame().num_spill_slots > 0, "{algo:?}: no spills");
        assert!(!ctx.frame().clobbered_callee_saves.is_empty());
        assert!(t.iter().any(|s| s.starts_with("sub rsp, ")), "{t:#?}");
        assert!(
            t.iter().any(|s| s.starts_with("mov qword ptr [rsp")),
            "spill: {t:#?}"
        );
        let pushes = t.iter().filter(|s| s.starts_with("push ")).count();
        let pops = t.iter().filter(|s| s.starts_with("pop ")).count();
        assert_eq!(pushes, pops, "{t:#?}");
        assert_eq!(pushes, 1 + ctx.frame().clobbered_callee_saves.len());
        assert_eq!((c.frame_size - 16) % 16, 0);
        assert_no_self_moves(&insns);
        assert_frame_shape(&insns);
    }
}

#[test]
fn results_beyond_registers_go_to_the_return_area() {
    let src = "
function %three(i64, i32) -> i64, i64, i32 {
block0(v0: i64, v1: i32):
    return v0, v0, v1
}";
    for algo in ALGOS {
        let insns = disasm(&compile(src, algo).code);
        let t = texts(&insns);
        // The i32 result is stored through the hidden pointer (passed in rdi).
        assert!(
            t.iter().any(|s| s.starts_with("mov dword ptr [")),
            "{algo:?}: {t:#?}"
        );
        assert!(t.iter().any(|s| s.starts_with("mov rax, ")), "{t:#?}");
    }
}

#[test]
fn stack_arguments_are_loaded_from_the_incoming_area() {
    let src = "
function %eighth(i64, i64, i64, i64, i64, i64, i64, i64) -> i64 {
block0(v0: i64, v1: i64, v2: i64, v3: i64, v4: i64, v5: i64, v6: i64, v7: i64):
    v8 = iadd v6, v7
    return v8
}";
    for algo in ALGOS {
        let t = disasm(&compile(src, algo).code);
        let t = texts(&t);
        assert!(t.iter().any(|s| s.contains("[rbp + 16]")), "{t:#?}");
        assert!(t.iter().any(|s| s.contains("[rbp + 24]")), "{t:#?}");
    }
}

#[test]
fn forced_stack_check_reads_the_limit_through_a_relocation() {
    let f = parse(ADD_IMM);
    let mut o = opts(RegallocAlgorithm::Backtracking);
    o.force_stack_check = true;
    let c = compile_function(&f, &X64Backend::default(), &o).expect("compiles");
    assert_eq!(c.relocs.len(), 1);
    assert_eq!(c.relocs[0].kind, RelocKind::Abs8);
    assert_eq!(c.relocs[0].target, RelocTarget::StackLimit);
    let insns = disasm(&c.code);
    let t = texts(&insns);
    assert_eq!(&t[..2], &["push rbp", "mov rbp, rsp"]);
    assert!(t[2].starts_with("movabs r11, "), "{t:#?}");
    assert_eq!(c.relocs[0].offset, insns[2].offset + 2);
    assert_eq!(t[3], "mov r11, qword ptr [r11]");
    assert!(t[5].starts_with("cmp r10, r11"), "{t:#?}");
    assert!(t[6].starts_with("jae "), "{t:#?}");
    assert_eq!(t[7], "ud2");
    assert_eq!(c.traps[0].code, TrapCode::StackOverflow);
    assert_eq!(c.traps[0].offset, u64::from(insns[7].offset));
    let fin = c.apply_params(&f.params).expect("finalizes");
    assert_eq!(fin.relocs[0].target, FinalRelocTarget::StackLimit);
}

#[test]
fn unreachable_blocks_are_dropped_and_dead_pure_code_is_not_emitted() {
    let src = "
function %f(i64) -> i64 {
block0(v0: i64):
    v1 = iconst.i64 77777
    v2 = iadd v0, v1
    return v0

block1:
    v3 = iconst.i64 99999
    return v3
}";
    for algo in ALGOS {
        let f = parse(src);
        let mut ctx = CompileContext::<X64Backend>::new();
        let c = ctx
            .compile(&X64Backend::default(), &f, &opts(algo))
            .expect("compiles");
        assert_eq!(ctx.vcode().num_blocks(), 1);
        let t = disasm(&c.code);
        let t = texts(&t);
        assert!(
            !t.iter().any(|s| s.contains("77777") || s.contains("99999")),
            "{t:#?}"
        );
    }
}

#[test]
fn compiling_twice_gives_identical_bytes() {
    let srcs = [ADD_IMM, MAX, LOOP, &many_live_values(20)];
    for algo in ALGOS {
        let mut ctx = CompileContext::<X64Backend>::new();
        for src in srcs {
            let f = parse(src);
            let a = ctx
                .compile(&X64Backend::default(), &f, &opts(algo))
                .expect("compiles");
            let b = ctx
                .compile(&X64Backend::default(), &f, &opts(algo))
                .expect("compiles");
            let fresh =
                compile_function(&f, &X64Backend::default(), &opts(algo)).expect("compiles");
            assert_eq!(a, b);
            assert_eq!(a, fresh);
        }
    }
}

#[test]
fn source_locations_become_absolute_with_the_parameters() {
    let src = "
function %f(i64) -> i64 {
block0(v0: i64):
    @0010 v1 = iconst.i64 3
    @0014 v2 = imul v0, v1
    @0018 return v2
}";
    let f = parse(src);
    let c = compile_function(
        &f,
        &X64Backend::default(),
        &opts(RegallocAlgorithm::Backtracking),
    )
    .expect("compiles");
    assert!(!c.srclocs.is_empty());
    let fin = c.apply_params(&f.params).expect("finalizes");
    let locs: Vec<u32> = fin.srclocs.iter().map(|s| s.loc.bits()).collect();
    assert!(locs.contains(&0x14), "{locs:x?}");
    assert!(locs.contains(&0x18), "{locs:x?}");
    let mut moved = f.params.clone();
    moved.rebase_srclocs(0x100);
    let fin2 = c.apply_params(&moved).expect("finalizes");
    assert!(fin2.srclocs.iter().any(|s| s.loc.bits() == 0x114));
}

/// Every function of every filetest (`harness/tests/filetests/**/*.kir`), compiled with both
/// allocators and the checker, with every ISA flag off (plus SSSE3 and SSE4.1 for functions
/// with vector types, which need them) and with every flag on. Lists every failure.
#[test]
fn every_filetest_function_compiles() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../harness/tests/filetests");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("filetests directory") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "kir") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 150, "found only {} filetests", files.len());
    let mut failures = Vec::new();
    let mut compiled = 0usize;
    let mut functions = 0usize;
    for flags in [X64Flags::default(), X64Flags::all()] {
        let scalar = X64Backend::new(flags);
        let vector = X64Backend::new(X64Flags {
            has_ssse3: true,
            has_sse41: true,
            ..flags
        });
        let mut ctx = CompileContext::<X64Backend>::new();
        for path in &files {
            let src = std::fs::read_to_string(path).expect("readable");
            let Ok(funcs) = parse_functions(&src) else {
                continue; // Files that test the parser's errors.
            };
            for f in &funcs {
                functions += 1;
                let backend = match f.first_vector_type() {
                    Some(_) => &vector,
                    None => &scalar,
                };
                for algo in ALGOS {
                    match ctx.compile(backend, f, &opts(algo)) {
                        Ok(_) => compiled += 1,
                        Err(CodegenError::Verifier(_)) => {}
                        Err(e) => failures.push(format!(
                            "{} {} ({algo:?}, sse41={}): {e}",
                            path.strip_prefix(&root).unwrap_or(path).display(),
                            f.params.name,
                            flags.has_sse41
                        )),
                    }
                }
            }
        }
    }
    eprintln!(
        "{} files, {functions} function compiles x 2 allocators: {compiled} ok, {} failed",
        files.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn compile_with(src: &str, flags: X64Flags, algo: RegallocAlgorithm) -> CompiledCodeStencil {
    let f = parse(src);
    match compile_function(&f, &X64Backend::new(flags), &opts(algo)) {
        Ok(c) => c,
        Err(e) => panic!("{algo:?}: {e}"),
    }
}

fn has(t: &[&str], pred: impl Fn(&str) -> bool) -> bool {
    t.iter().any(|s| pred(s))
}

#[test]
fn sdiv_checks_zero_and_minus_one_before_idiv() {
    let src = "
function %d(i64, i64) -> i64 {
block0(v0: i64, v1: i64):
    v2 = sdiv v0, v1
    return v2
}";
    for algo in ALGOS {
        let c = compile(src, algo);
        let insns = disasm(&c.code);
        let t = texts(&insns);
        let pos = |p: &str| t.iter().position(|s| s.starts_with(p));
        let (test, cmp, neg, cqo, idiv) = (
            pos("test ").expect("zero check"),
            pos("cmp ").expect("-1 check"),
            pos("neg rax").expect("x / -1 == -x"),
            pos("cqo").expect("sign extension"),
            pos("idiv ").expect("idiv"),
        );
        assert!(test < cmp && cmp < neg && neg < cqo && cqo < idiv, "{t:#?}");
        assert!(t[cmp].ends_with(", -1"), "{t:#?}");
        let codes: Vec<_> = c.traps.iter().map(|t| t.code).collect();
        assert_eq!(
            codes,
            [TrapCode::IntegerDivisionByZero, TrapCode::IntegerOverflow]
        );
        for trap in &c.traps {
            let i = insns.iter().find(|i| u64::from(i.offset) == trap.offset);
            assert_eq!(i.map(|i| i.text.as_str()), Some("ud2"), "{t:#?}");
        }
    }
}

#[test]
fn srem_by_minus_one_is_zero_and_constant_divisors_skip_checks() {
    let src = "
function %r(i32, i32) -> i32 {
block0(v0: i32, v1: i32):
    v2 = srem v0, v1
    return v2
}";
    for algo in ALGOS {
        let c = compile(src, algo);
        let t = disasm(&c.code);
        let t = texts(&t);
        assert!(has(&t, |s| s == "xor edx, edx"), "{t:#?}");
        assert!(has(&t, |s| s == "cdq"), "{t:#?}");
        assert_eq!(c.traps.len(), 1, "only the zero check traps");
    }
    let src = "
function %q(i32) -> i32 {
block0(v0: i32):
    v1 = iconst.i32 7
    v2 = udiv v0, v1
    return v2
}";
    let c = compile(src, RegallocAlgorithm::Backtracking);
    let t = disasm(&c.code);
    let t = texts(&t);
    assert!(c.traps.is_empty(), "{t:#?}");
    assert!(has(&t, |s| s.starts_with("div ")), "{t:#?}");
}

#[test]
fn shifts_by_a_register_use_cl_and_mask_narrow_amounts() {
    let src = "
function %s(i64, i64) -> i64 {
block0(v0: i64, v1: i64):
    v2 = ishl v0, v1
    return v2
}";
    for algo in ALGOS {
        let c = compile(src, algo);
        let t = disasm(&c.code);
        let t = texts(&t);
        assert!(
            has(&t, |s| s.starts_with("shl r") && s.ends_with(", cl")),
            "{t:#?}"
        );
    }
    let src = "
function %u8(i8, i8) -> i8 {
block0(v0: i8, v1: i8):
    v2 = ushr v0, v1
    return v2
}";
    for algo in ALGOS {
        let c = compile(src, algo);
        let t = disasm(&c.code);
        let t = texts(&t);
        assert!(has(&t, |s| s.starts_with("movzx e")), "{t:#?}");
        assert!(
            has(&t, |s| s.starts_with("and ") && s.ends_with(", 7")),
            "{t:#?}"
        );
        assert!(
            has(&t, |s| s.starts_with("shr e") && s.ends_with(", cl")),
            "{t:#?}"
        );
    }
    // Constant amounts are masked to the width and become immediates.
    let src = "
function %c(i32) -> i32 {
block0(v0: i32):
    v1 = iconst.i32 35
    v2 = rotl v0, v1
    return v2
}";
    let c = compile(src, RegallocAlgorithm::Backtracking);
    let t = disasm(&c.code);
    let t = texts(&t);
    assert!(
        has(&t, |s| s.starts_with("rol e") && s.ends_with(", 3")),
        "{t:#?}"
    );
}

#[test]
fn fmin_is_the_wasm_sequence_not_a_bare_minss() {
    let src = "
function %m(f32, f32) -> f32 {
block0(v0: f32, v1: f32):
    v2 = fmin v0, v1
    return v2
}";
    for algo in ALGOS {
        let c = compile(src, algo);
        let t = disasm(&c.code);
        let t = texts(&t);
        let pos = |p: &str| t.iter().position(|s| s.starts_with(p)).expect(p);
        let (ucom, jne, jp, or, add, min) = (
            pos("ucomiss "),
            pos("jne "),
            pos("jp "),
            pos("orps "),
            pos("addss "),
            pos("minss "),
        );
        assert!(
            ucom < jne && jne < jp && jp < or && or < add && add < min,
            "{t:#?}"
        );
    }
}

#[test]
fn br_table_is_a_bounds_checked_jump_table_of_relative_entries() {
    let src = "
function %bt(i32) -> i32 {
block0(v0: i32):
    br_table v0, block3, [block1, block2, block3]

block1:
    v1 = iconst.i32 10
    return v1

block2:
    v2 = iconst.i32 20
    return v2

block3:
    v3 = iconst.i32 30
    return v3
}";
    for algo in ALGOS {
        let c = compile(src, algo);
        let insns = disasm(&c.code);
        let t = texts(&insns);
        let jmp = t
            .iter()
            .position(|s| s.starts_with("jmp r"))
            .expect("indirect jump");
        assert!(t[..jmp]
            .iter()
            .any(|s| s.starts_with("cmp ") && s.ends_with(", 3")));
        assert!(t[..jmp].iter().any(|s| s.starts_with("jae ")));
        assert!(t[..jmp].iter().any(|s| s.contains("[rip + ")), "{t:#?}");
        assert!(t[..jmp].iter().any(|s| s.starts_with("movsxd ")), "{t:#?}");
        // The table follows the jump: three entries relative to their own end, each
        // landing on the start of a block that materializes 10, 20, 30.
        // Offsets accumulate decoded lengths, so the next line starts right after the jump.
        let table = insns[jmp + 1].offset as usize;
        for (k, want) in [10, 20, 30].into_iter().enumerate() {
            let at = table + 4 * k;
            let rel = i32::from_le_bytes(c.code[at..at + 4].try_into().unwrap());
            let target = (at as i64 + 4 + i64::from(rel)) as usize;
            let rest = disasm(&c.code[target..]);
            assert!(
                rest[0].text.ends_with(&format!(", {want}")),
                "entry {k} -> {:?}",
                rest[0]
            );
        }
    }
}

#[test]
fn calls_use_a_pc_relative_relocation_and_check_the_stack() {
    let src = "
function %caller(i64) -> i64 {
    sig0 = (i64) -> i64
    fn0 = u0:7 sig0

block0(v0: i64):
    v1 = call fn0(v0)
    v2 = iadd v1, v0
    return v2
}";
    for algo in ALGOS {
        let c = compile(src, algo);
        let insns = disasm(&c.code);
        let t = texts(&insns);
        let call = insns
            .iter()
            .find(|i| i.text.starts_with("call "))
            .expect("a call");
        let r = c
            .relocs
            .iter()
            .find(|r| r.kind == RelocKind::X86CallPCRel4)
            .expect("call relocation");
        assert_eq!(r.offset, call.offset + 1);
        assert_eq!(r.addend, -4);
        assert!(matches!(r.target, RelocTarget::User(_)));
        assert_eq!(c.call_sites.len(), 1);
        assert_eq!(c.call_sites[0].ret_offset, u64::from(call.offset) + 5);
        assert!(
            c.relocs.iter().any(|r| r.target == RelocTarget::StackLimit),
            "functions with calls check the stack: {t:#?}"
        );
    }
}

#[test]
fn stack_arguments_go_to_the_outgoing_area_at_sp() {
    let src = "
function %caller(i64) -> i64 {
    sig0 = (i64, i64, i64, i64, i64, i64, i64, i64) -> i64
    fn0 = u0:1 sig0

block0(v0: i64):
    v1 = iconst.i64 1
    v2 = call fn0(v0, v0, v0, v0, v0, v0, v1, v0)
    return v2
}";
    for algo in ALGOS {
        let c = compile(src, algo);
        let insns = disasm(&c.code);
        let t = texts(&insns);
        let call = t.iter().position(|s| s.starts_with("call ")).expect("call");
        assert!(
            t[..call]
                .iter()
                .any(|s| s.starts_with("mov qword ptr [rsp], ")),
            "{t:#?}"
        );
        assert!(
            t[..call]
                .iter()
                .any(|s| s.starts_with("mov qword ptr [rsp + 8], ")),
            "{t:#?}"
        );
        assert!(t.iter().any(|s| s.starts_with("sub rsp, ")), "{t:#?}");
    }
}

#[test]
fn rounding_uses_roundss_with_sse41_and_a_libcall_without() {
    let src = "
function %c(f32) -> f32 {
block0(v0: f32):
    v1 = ceil v0
    return v1
}";
    let sse41 = X64Flags {
        has_sse41: true,
        ..X64Flags::default()
    };
    for algo in ALGOS {
        let c = compile_with(src, sse41, algo);
        let t = disasm(&c.code);
        let t = texts(&t);
        assert!(
            has(&t, |s| s.starts_with("roundss ") && s.ends_with(", 10")),
            "{t:#?}"
        );
        assert!(c.relocs.is_empty());

        let c = compile_with(src, X64Flags::default(), algo);
        let insns = disasm(&c.code);
        let t = texts(&insns);
        assert!(has(&t, |s| s == "call r11"), "{t:#?}");
        let r = c
            .relocs
            .iter()
            .find(|r| r.kind == RelocKind::Abs8)
            .expect("reloc");
        assert_eq!(r.target, RelocTarget::LibCall(crate::ir::LibCall::CeilF32));
    }
}

#[test]
fn bit_counts_use_their_instructions_only_with_the_flags() {
    let src = "
function %p(i64) -> i64, i64, i64 {
block0(v0: i64):
    v1 = popcnt v0
    v2 = clz v0
    v3 = ctz v0
    return v1, v2, v3
}";
    for algo in ALGOS {
        let c = compile_with(src, X64Flags::all(), algo);
        let t = disasm(&c.code);
        let t = texts(&t);
        for m in ["popcnt ", "lzcnt ", "tzcnt "] {
            assert!(has(&t, |s| s.starts_with(m)), "{m}: {t:#?}");
        }
        let c = compile_with(src, X64Flags::default(), algo);
        let t = disasm(&c.code);
        let t = texts(&t);
        for m in ["popcnt ", "lzcnt ", "tzcnt "] {
            assert!(!has(&t, |s| s.starts_with(m)), "{m}: {t:#?}");
        }
        assert!(has(&t, |s| s.starts_with("bsr ")), "{t:#?}");
        assert!(has(&t, |s| s.starts_with("bsf ")), "{t:#?}");
    }
}

#[test]
fn addresses_fold_into_the_addressing_mode() {
    let src = "
function %ld(i64, i64) -> i32 {
block0(v0: i64, v1: i64):
    v2 = iconst.i64 2
    v3 = ishl v1, v2
    v4 = iadd v0, v3
    v5 = load.i32 v4+12
    return v5
}";
    for algo in ALGOS {
        let c = compile(src, algo);
        let t = disasm(&c.code);
        let t = texts(&t);
        assert!(
            has(&t, |s| s.starts_with("mov e")
                && s.contains(" + 4*r")
                && s.ends_with(" + 12]")),
            "{t:#?}"
        );
        assert!(!has(&t, |s| s.starts_with("shl ")), "{t:#?}");
    }
}
