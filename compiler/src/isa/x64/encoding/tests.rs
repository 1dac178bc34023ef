//! Encoder tests against an independent disassembler (LLVM's `llvm-mc`).
//!
//! Each test builds a table of (encoding closure, expected Intel-syntax text), encodes all
//! cases into one buffer, and decodes them with a single `llvm-mc` run: every case's bytes
//! are followed by `cwde; hlt` (`98 F4`, emitted by no form under test) so each case's decoding can
//! be checked to be exactly one instruction with the expected text. Expected texts are
//! written by hand from the x86 manuals (with small formatting helpers for LLVM's printing
//! conventions: `[base + scale*index ± disp]`, `dword ptr`, signed imm8s, unsigned imm16s
//! and 32-bit imm32s, signed 64-bit immediates).

use super::gpr::*;
use super::sse::*;
use super::{Amode, Cc, GprMem, Scale, XmmMem};
use crate::ir::TrapCode;
use crate::isa::x64::label_use::X64LabelUse;
use crate::isa::x64::regs::{Gpr, OperandSize, Xmm};
use crate::machinst::{CodeSink, LabelUse, MachLabel};
use std::fmt::Write as _;

use OperandSize::{S16, S32, S64, S8};

/// A trivial sink recording bytes, label uses and traps.
#[derive(Default)]
pub(crate) struct VecSink {
    pub bytes: Vec<u8>,
    pub uses: Vec<(u64, MachLabel, X64LabelUse)>,
    pub traps: Vec<(u64, TrapCode)>,
}

impl CodeSink<X64LabelUse> for VecSink {
    fn cur_offset(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn put1(&mut self, b: u8) {
        self.bytes.push(b);
    }
    fn use_label_at_offset(&mut self, offset: u64, label: MachLabel, kind: X64LabelUse) {
        self.uses.push((offset, label, kind));
    }
    fn add_trap(&mut self, code: TrapCode) {
        self.traps.push((self.cur_offset(), code));
    }
}

/// Decode each chunk with one `llvm-mc` run; returns the normalized instruction texts of
/// each chunk and llvm-mc's stderr.
pub(crate) fn llvm_mc_decode(chunks: &[&[u8]]) -> (Vec<Vec<String>>, String) {
    let mut input = String::new();
    for c in chunks {
        for b in c.iter() {
            let _ = write!(input, "0x{b:02x} ");
        }
        // `cwde; hlt`: a prefix byte wrongly left at the end of a case would turn the `cwde`
        // into `cdqe` (REX.W), `cbw` (66) or `rep cwde` (F3), which the parser reports.
        input.push_str("\n0x98 0xf4\n");
    }
    let (text, stderr) = crate::isa::test_util::run_llvm_mc(
        &["-triple=x86_64", "-disassemble", "-output-asm-variant=1"],
        &input,
    );
    let mut result = vec![Vec::new()];
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let norm = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if norm.is_empty() || norm.starts_with('.') {
            continue;
        }
        if norm == "hlt" {
            let chunk = result.last_mut().expect("nonempty");
            match chunk.pop() {
                Some(l) if l == "cwde" => {}
                other => chunk.push(format!("<separator damaged: {other:?} before hlt>")),
            }
            result.push(Vec::new());
        } else {
            result.last_mut().expect("nonempty").push(norm);
        }
    }
    result.pop(); // after the last separator
    (result, stderr)
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A table of encoding cases checked in one llvm-mc run.
pub(crate) struct Cases {
    pub sink: VecSink,
    items: Vec<(usize, usize, String)>,
}

impl Cases {
    pub fn new() -> Cases {
        Cases {
            sink: VecSink::default(),
            items: Vec::new(),
        }
    }

    pub fn add(&mut self, expected: impl Into<String>, f: impl FnOnce(&mut VecSink)) {
        let start = self.sink.bytes.len();
        f(&mut self.sink);
        self.items
            .push((start, self.sink.bytes.len(), expected.into()));
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn check(&self, what: &str) {
        let chunks: Vec<&[u8]> = self
            .items
            .iter()
            .map(|(s, e, _)| &self.sink.bytes[*s..*e])
            .collect();
        let (decoded, stderr) = llvm_mc_decode(&chunks);
        let mut errors = String::new();
        let mut bad = 0;
        if decoded.len() != chunks.len() {
            let _ = writeln!(
                errors,
                "decoder returned {} chunks for {} cases (separators swallowed?)",
                decoded.len(),
                chunks.len()
            );
        }
        for (i, (s, e, expected)) in self.items.iter().enumerate() {
            let got = decoded.get(i).map(|v| v.join(" ; ")).unwrap_or_default();
            if got != *expected {
                bad += 1;
                let _ = writeln!(
                    errors,
                    "  case {i}: bytes [{}]\n    expected: {expected}\n    decoded:  {got}",
                    hex(&self.sink.bytes[*s..*e])
                );
            }
        }
        if bad > 0 || !errors.is_empty() {
            panic!(
                "{what}: {bad} of {} cases mismatch\n{errors}llvm-mc stderr:\n{stderr}",
                self.items.len()
            );
        }
        eprintln!("{what}: {} cases ok", self.items.len());
    }
}

// ----- Hand-written expectations -------------------------------------------------------

const R64: [&str; 16] = [
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15",
];
const R32: [&str; 16] = [
    "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d",
    "r13d", "r14d", "r15d",
];
const R16: [&str; 16] = [
    "ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w", "r13w",
    "r14w", "r15w",
];
const R8: [&str; 16] = [
    "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b", "r12b",
    "r13b", "r14b", "r15b",
];
const SIZES: [OperandSize; 4] = [S8, S16, S32, S64];

fn g(r: Gpr, size: OperandSize) -> &'static str {
    let i = r as usize;
    match size {
        S8 => R8[i],
        S16 => R16[i],
        S32 => R32[i],
        S64 => R64[i],
    }
}

fn x(r: Xmm) -> String {
    format!("xmm{}", r as u8)
}

fn ptr(size: OperandSize) -> &'static str {
    match size {
        S8 => "byte ptr",
        S16 => "word ptr",
        S32 => "dword ptr",
        S64 => "qword ptr",
    }
}

/// LLVM's rendering of an address.
fn mem(a: &Amode) -> String {
    match *a {
        Amode::RipLabel(_) => "[rip]".to_string(),
        Amode::Mem { base, index, disp } => {
            let mut s = format!("[{}", R64[base as usize]);
            if let Some(i) = index {
                let k = 1 << (i.scale() as u8);
                if k == 1 {
                    let _ = write!(s, " + {}", R64[i.reg() as usize]);
                } else {
                    let _ = write!(s, " + {k}*{}", R64[i.reg() as usize]);
                }
            }
            match disp {
                0 => {}
                d if d > 0 => {
                    let _ = write!(s, " + {d}");
                }
                d => {
                    let _ = write!(s, " - {}", (d as i64).unsigned_abs());
                }
            }
            s.push(']');
            s
        }
    }
}

fn pm(size: OperandSize, a: &Amode) -> String {
    format!("{} {}", ptr(size), mem(a))
}

/// Every base with a spread of displacements, and every (base, index) pair with rotating
/// scales and displacements.
fn amodes() -> Vec<Amode> {
    let mut v = Vec::new();
    for base in Gpr::ALL {
        for disp in [0, 8, -16, 127, 128, -128, -129, i32::MAX, i32::MIN] {
            v.push(Amode::base_disp(base, disp));
        }
    }
    let scales = [Scale::One, Scale::Two, Scale::Four, Scale::Eight];
    let disps = [0, 1, -1, 300, -300, 0x7fff_ffff];
    let mut k = 0;
    for base in Gpr::ALL {
        for index in Gpr::ALL {
            if let Some(a) = Amode::base_index(base, index, scales[k % 4], disps[k % 6]) {
                v.push(a);
                k += 1;
            }
        }
    }
    v
}

/// A few interesting addresses for forms where the address is not the point.
fn few_amodes() -> Vec<Amode> {
    vec![
        Amode::base_disp(Gpr::Rax, 0),
        Amode::base_disp(Gpr::Rsp, 8),
        Amode::base_disp(Gpr::R13, 0),
        Amode::base_disp(Gpr::R12, -200),
        Amode::base_index(Gpr::Rbp, Gpr::R12, Scale::Eight, 0x1234).expect("index"),
        Amode::base_index(Gpr::R15, Gpr::Rcx, Scale::Two, -1).expect("index"),
        Amode::rip(MachLabel(0)),
    ]
}

/// A rotation of register pairs covering every register in both positions.
fn pairs() -> impl Iterator<Item = (usize, usize)> {
    (0..16).map(|i| (i, (i * 5 + 3) % 16))
}

fn imm8_text(v: i32) -> String {
    format!("{}", v as i8)
}

/// LLVM prints a full-width immediate as unsigned for 16/32-bit operations and signed for
/// 64-bit (sign-extended) ones; 8-bit immediates print signed.
fn full_imm_text(size: OperandSize, v: i32) -> String {
    match size {
        S8 => format!("{}", v as i8),
        S16 => format!("{}", v as u16),
        S32 => format!("{}", v as u32),
        S64 => format!("{}", v as i64),
    }
}

/// Text of an immediate of an ALU/imul form that uses the imm8 encoding when it fits.
fn alu_imm_text(size: OperandSize, v: i32) -> String {
    let t = match size {
        S16 => v as i16 as i32,
        S8 => v as i8 as i32,
        _ => v,
    };
    if size == S8 || i8::try_from(t).is_ok() {
        imm8_text(t)
    } else {
        full_imm_text(size, v)
    }
}

const IMMS: [i32; 13] = [
    0,
    1,
    -1,
    127,
    128,
    -128,
    -129,
    255,
    0x1234,
    0x7fff,
    -0x8000,
    0x7fff_ffff,
    i32::MIN,
];

#[test]
fn gpr_forms() {
    let mut c = Cases::new();
    let alu = [
        (AluOp::Add, "add"),
        (AluOp::Or, "or"),
        (AluOp::Adc, "adc"),
        (AluOp::Sbb, "sbb"),
        (AluOp::And, "and"),
        (AluOp::Sub, "sub"),
        (AluOp::Xor, "xor"),
        (AluOp::Cmp, "cmp"),
    ];
    let few = few_amodes();
    for (op, mn) in alu {
        for size in SIZES {
            for (d, s) in pairs() {
                let (d, s) = (Gpr::ALL[d], Gpr::ALL[s]);
                c.add(format!("{mn} {}, {}", g(d, size), g(s, size)), |k| {
                    alu_rmr(k, op, size, d, GprMem::Gpr(s))
                });
            }
            for (i, a) in few.iter().enumerate() {
                let r = Gpr::ALL[(i * 3 + 4) % 16];
                c.add(format!("{mn} {}, {}", g(r, size), pm(size, a)), |k| {
                    alu_rmr(k, op, size, r, a.into())
                });
                c.add(format!("{mn} {}, {}", pm(size, a), g(r, size)), |k| {
                    alu_mr(k, op, size, a, r)
                });
            }
            for (i, imm) in IMMS.iter().copied().enumerate() {
                let r = Gpr::ALL[(i * 7 + 2) % 16];
                c.add(
                    format!("{mn} {}, {}", g(r, size), alu_imm_text(size, imm)),
                    |k| alu_ri(k, op, size, r.into(), imm),
                );
                let a = &few[i % few.len()];
                c.add(
                    format!("{mn} {}, {}", pm(size, a), alu_imm_text(size, imm)),
                    |k| alu_ri(k, op, size, a.into(), imm),
                );
            }
        }
    }

    for size in SIZES {
        for (a, b) in pairs() {
            let (a, b) = (Gpr::ALL[a], Gpr::ALL[b]);
            c.add(format!("test {}, {}", g(a, size), g(b, size)), |k| {
                test_rr(k, size, a, b)
            });
            c.add(format!("mov {}, {}", g(a, size), g(b, size)), |k| {
                mov_rr(k, size, a, b)
            });
            if a != Gpr::Rax && b != Gpr::Rax {
                // (the rax forms may decode as the short `90+r` xchg)
                c.add(format!("xchg {}, {}", g(b, size), g(a, size)), |k| {
                    xchg_rr(k, size, a, b)
                });
            }
        }
        for (i, imm) in IMMS.iter().copied().enumerate() {
            let r = Gpr::ALL[(i * 5 + 1) % 16];
            c.add(
                format!("test {}, {}", g(r, size), full_imm_text(size, imm)),
                |k| test_ri(k, size, r.into(), imm),
            );
            let a = &few[i % few.len()];
            c.add(
                format!("test {}, {}", pm(size, a), full_imm_text(size, imm)),
                |k| test_ri(k, size, a.into(), imm),
            );
            c.add(
                format!("mov {}, {}", pm(size, a), full_imm_text(size, imm)),
                |k| mov_store_imm(k, size, a, imm),
            );
        }
        let unary_ops = [
            (UnaryOp::Not, "not"),
            (UnaryOp::Neg, "neg"),
            (UnaryOp::Mul, "mul"),
            (UnaryOp::Imul, "imul"),
            (UnaryOp::Div, "div"),
            (UnaryOp::Idiv, "idiv"),
        ];
        for (j, (op, mn)) in unary_ops.iter().copied().enumerate() {
            for r in Gpr::ALL {
                c.add(format!("{mn} {}", g(r, size)), |k| {
                    unary(k, op, size, r.into())
                });
            }
            let a = &few[j % few.len()];
            c.add(format!("{mn} {}", pm(size, a)), |k| {
                unary(k, op, size, a.into())
            });
        }
        let shifts = [
            (ShiftOp::Rol, "rol"),
            (ShiftOp::Ror, "ror"),
            (ShiftOp::Shl, "shl"),
            (ShiftOp::Shr, "shr"),
            (ShiftOp::Sar, "sar"),
        ];
        for (j, (op, mn)) in shifts.iter().copied().enumerate() {
            for (i, r) in Gpr::ALL.iter().copied().enumerate() {
                c.add(format!("{mn} {}, cl", g(r, size)), |k| {
                    shift_cl(k, op, size, r.into())
                });
                c.add(format!("{mn} {}", g(r, size)), |k| {
                    shift_imm(k, op, size, r.into(), 1)
                });
                let n = [2u8, 5, 7, 31, 63][i % 5];
                c.add(format!("{mn} {}, {n}", g(r, size)), |k| {
                    shift_imm(k, op, size, r.into(), n)
                });
            }
            let a = &few[j % few.len()];
            c.add(format!("{mn} {}, cl", pm(size, a)), |k| {
                shift_cl(k, op, size, a.into())
            });
            c.add(format!("{mn} {}, 3", pm(size, a)), |k| {
                shift_imm(k, op, size, a.into(), 3)
            });
        }
    }

    // Loads, stores and lea over the whole address corpus.
    for (i, a) in amodes().iter().enumerate() {
        let r = Gpr::ALL[(i * 7) % 16];
        let size = SIZES[i % 4];
        c.add(format!("mov {}, {}", g(r, S64), pm(S64, a)), |k| {
            mov_load(k, S64, r, a)
        });
        c.add(format!("mov {}, {}", pm(S64, a), g(r, S64)), |k| {
            mov_store(k, S64, a, r)
        });
        c.add(format!("mov {}, {}", g(r, size), pm(size, a)), |k| {
            mov_load(k, size, r, a)
        });
        c.add(format!("mov {}, {}", pm(size, a), g(r, size)), |k| {
            mov_store(k, size, a, r)
        });
        c.add(format!("lea {}, {}", g(r, S64), mem(a)), |k| {
            lea(k, S64, r, a)
        });
    }
    for a in &few {
        c.add(format!("lea eax, {}", mem(a)), |k| lea(k, S32, Gpr::Rax, a));
        c.add(format!("lea r9w, {}", mem(a)), |k| lea(k, S16, Gpr::R9, a));
    }

    // imul.
    for size in [S16, S32, S64] {
        for (d, s) in pairs() {
            let (d, s) = (Gpr::ALL[d], Gpr::ALL[s]);
            c.add(format!("imul {}, {}", g(d, size), g(s, size)), |k| {
                imul_rmr(k, size, d, s.into())
            });
        }
        for (i, imm) in IMMS.iter().copied().enumerate() {
            let (d, s) = (Gpr::ALL[(i * 3) % 16], Gpr::ALL[(i * 5 + 9) % 16]);
            c.add(
                format!(
                    "imul {}, {}, {}",
                    g(d, size),
                    g(s, size),
                    alu_imm_text(size, imm)
                ),
                |k| imul_rmri(k, size, d, s.into(), imm),
            );
            let a = &few[i % few.len()];
            c.add(
                format!(
                    "imul {}, {}, {}",
                    g(d, size),
                    pm(size, a),
                    alu_imm_text(size, imm)
                ),
                |k| imul_rmri(k, size, d, a.into(), imm),
            );
            c.add(format!("imul {}, {}", g(d, size), pm(size, a)), |k| {
                imul_rmr(k, size, d, a.into())
            });
        }
    }

    // cbw/cwd/cdq/cqo.
    for (size, t) in [(S8, "cbw"), (S16, "cwd"), (S32, "cdq"), (S64, "cqo")] {
        c.add(t, |k| sign_extend_rax(k, size));
    }

    // mov immediates.
    for (i, r) in Gpr::ALL.iter().copied().enumerate() {
        let v32 = [0u32, 1, 0x7fff_ffff, 0x8000_0000, u32::MAX][i % 5];
        c.add(format!("mov {}, {v32}", g(r, S32)), |k| {
            mov_r32_imm(k, r, v32)
        });
        let s32 = [0i32, -1, i32::MIN, i32::MAX, -129][i % 5];
        c.add(format!("mov {}, {s32}", g(r, S64)), |k| {
            mov_r64_simm32(k, r, s32)
        });
        let v64 = [0x1122_3344_5566_7788u64, u64::MAX, 1 << 63, 0x1_0000_0000][i % 4];
        c.add(format!("movabs {}, {}", g(r, S64), v64 as i64), |k| {
            movabs(k, r, v64)
        });
    }
    c.add("mov r11d, 4294967295", |k| {
        mov_imm64(k, Gpr::R11, 0xffff_ffff)
    });
    c.add("mov r11, -1", |k| mov_imm64(k, Gpr::R11, u64::MAX));
    c.add("mov r11, -2147483648", |k| {
        mov_imm64(k, Gpr::R11, 0xffff_ffff_8000_0000)
    });
    c.add("movabs r11, 4294967296", |k| {
        mov_imm64(k, Gpr::R11, 1 << 32)
    });
    c.add("movabs r11, -2147483649", |k| {
        mov_imm64(k, Gpr::R11, (-2147483649i64) as u64)
    });

    // movzx / movsx / movsxd.
    let ext = [
        (ExtMode::B2L, S32, S8),
        (ExtMode::B2Q, S64, S8),
        (ExtMode::W2L, S32, S16),
        (ExtMode::W2Q, S64, S16),
        (ExtMode::L2Q, S64, S32),
    ];
    for (j, (mode, to, from)) in ext.iter().copied().enumerate() {
        for (d, s) in pairs() {
            let (d, s) = (Gpr::ALL[d], Gpr::ALL[s]);
            let zx = if mode == ExtMode::L2Q {
                format!("mov {}, {}", g(d, S32), g(s, S32))
            } else {
                format!("movzx {}, {}", g(d, to), g(s, from))
            };
            c.add(zx, |k| movzx(k, mode, d, s.into()));
            let sx = if mode == ExtMode::L2Q {
                "movsxd"
            } else {
                "movsx"
            };
            c.add(format!("{sx} {}, {}", g(d, to), g(s, from)), |k| {
                movsx(k, mode, d, s.into())
            });
        }
        for (i, a) in few.iter().enumerate() {
            let d = Gpr::ALL[(i * 5 + j) % 16];
            let zx = if mode == ExtMode::L2Q {
                format!("mov {}, {}", g(d, S32), pm(S32, a))
            } else {
                format!("movzx {}, {}", g(d, to), pm(from, a))
            };
            c.add(zx, |k| movzx(k, mode, d, a.into()));
            let sx = if mode == ExtMode::L2Q {
                "movsxd"
            } else {
                "movsx"
            };
            c.add(format!("{sx} {}, {}", g(d, to), pm(from, a)), |k| {
                movsx(k, mode, d, a.into())
            });
        }
    }
    c.add("movsxd r8, r15d", |k| movsxd(k, Gpr::R8, Gpr::R15.into()));

    // setcc / cmovcc over all condition codes.
    let ccs = [
        "o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g",
    ];
    for (i, cc) in Cc::ALL.iter().copied().enumerate() {
        assert_eq!(cc.invert().invert(), cc);
        assert_eq!(ccs[cc.invert() as usize], ccs[i ^ 1]);
        for r in Gpr::ALL {
            c.add(format!("set{} {}", ccs[i], g(r, S8)), |k| setcc(k, cc, r));
        }
        for size in [S16, S32, S64] {
            let (d, s) = (Gpr::ALL[i], Gpr::ALL[15 - i]);
            c.add(
                format!("cmov{} {}, {}", ccs[i], g(d, size), g(s, size)),
                |k| cmov(k, cc, size, d, s.into()),
            );
            let a = &few[i % few.len()];
            c.add(
                format!("cmov{} {}, {}", ccs[i], g(s, size), pm(size, a)),
                |k| cmov(k, cc, size, s, a.into()),
            );
        }
    }

    // Control flow and stack.
    for r in Gpr::ALL {
        c.add(format!("call {}", g(r, S64)), |k| call_ind(k, r.into()));
        c.add(format!("jmp {}", g(r, S64)), |k| jmp_ind(k, r.into()));
        c.add(format!("push {}", g(r, S64)), |k| push(k, r));
        c.add(format!("pop {}", g(r, S64)), |k| pop(k, r));
    }
    for a in &few {
        c.add(format!("call {}", pm(S64, a)), |k| call_ind(k, a.into()));
        c.add(format!("jmp {}", pm(S64, a)), |k| jmp_ind(k, a.into()));
    }
    c.add("ret", ret);
    c.add("int3", int3);
    c.add("call 1000", |k| call_rel32(k, 1000));
    c.add("jmp -5", |k| jmp_rel32(k, -5));
    let trap_at = c.sink.cur_offset();
    c.add("ud2", |k| ud2(k, TrapCode::IntegerDivisionByZero));
    assert_eq!(
        c.sink.traps,
        vec![(trap_at, TrapCode::IntegerDivisionByZero)]
    );

    // Bit scans and counts.
    let bitops = [
        (BitOp::Bsr, "bsr"),
        (BitOp::Bsf, "bsf"),
        (BitOp::Lzcnt, "lzcnt"),
        (BitOp::Tzcnt, "tzcnt"),
        (BitOp::Popcnt, "popcnt"),
    ];
    for (j, (op, mn)) in bitops.iter().copied().enumerate() {
        for size in [S16, S32, S64] {
            for (d, s) in pairs() {
                let (d, s) = (Gpr::ALL[d], Gpr::ALL[s]);
                c.add(format!("{mn} {}, {}", g(d, size), g(s, size)), |k| {
                    bit_op(k, op, size, d, s.into())
                });
            }
            let a = &few[j % few.len()];
            c.add(
                format!(
                    "{mn} r10{}, {}",
                    ["w", "d", ""][size as usize - 1],
                    pm(size, a)
                ),
                |k| bit_op(k, op, size, Gpr::R10, a.into()),
            );
        }
    }

    // NOPs of every single-instruction length.
    let nops = [
        "nop",
        "nop",
        "nop dword ptr [rax]",
        "nop dword ptr [rax]",
        "nop dword ptr [rax + rax]",
        "nop word ptr [rax + rax]",
        "nop dword ptr [rax]",
        "nop dword ptr [rax + rax]",
        "nop word ptr [rax + rax]",
    ];
    for (i, t) in nops.iter().enumerate() {
        let before = c.sink.bytes.len();
        c.add(*t, |k| nop(k, i + 1));
        assert_eq!(c.sink.bytes.len() - before, i + 1);
    }
    c.add(
        "nop word ptr [rax + rax] ; nop word ptr [rax + rax] ; nop",
        |k| nop(k, 20),
    );

    // Every RIP-relative use recorded its field and trailing immediate.
    for &(off, _, kind) in &c.sink.uses {
        let X64LabelUse::PCRel32 {
            field_offset,
            trailing,
        } = kind
        else {
            panic!("unexpected kind {kind:?}");
        };
        let f = off as usize + field_offset as usize;
        assert_eq!(&c.sink.bytes[f..f + 4], &[0, 0, 0, 0]);
        assert_eq!(
            c.sink.bytes[f - 1] & 0xC7,
            0x05,
            "ModRM before the field is rip-relative"
        );
        let _ = trailing;
    }
    assert!(c.len() > 2000);
    c.check("gpr_forms");
}

#[test]
fn sse_forms() {
    let mut c = Cases::new();
    let few = few_amodes();
    // (op, mnemonic, memory operand size)
    let ops: &[(SseOp, &str, &str)] = &[
        (SseOp::Addss, "addss", "dword"),
        (SseOp::Addsd, "addsd", "qword"),
        (SseOp::Addps, "addps", "xmmword"),
        (SseOp::Addpd, "addpd", "xmmword"),
        (SseOp::Subss, "subss", "dword"),
        (SseOp::Subsd, "subsd", "qword"),
        (SseOp::Subps, "subps", "xmmword"),
        (SseOp::Subpd, "subpd", "xmmword"),
        (SseOp::Mulss, "mulss", "dword"),
        (SseOp::Mulsd, "mulsd", "qword"),
        (SseOp::Mulps, "mulps", "xmmword"),
        (SseOp::Mulpd, "mulpd", "xmmword"),
        (SseOp::Divss, "divss", "dword"),
        (SseOp::Divsd, "divsd", "qword"),
        (SseOp::Divps, "divps", "xmmword"),
        (SseOp::Divpd, "divpd", "xmmword"),
        (SseOp::Sqrtss, "sqrtss", "dword"),
        (SseOp::Sqrtsd, "sqrtsd", "qword"),
        (SseOp::Sqrtps, "sqrtps", "xmmword"),
        (SseOp::Sqrtpd, "sqrtpd", "xmmword"),
        (SseOp::Minss, "minss", "dword"),
        (SseOp::Minsd, "minsd", "qword"),
        (SseOp::Minps, "minps", "xmmword"),
        (SseOp::Minpd, "minpd", "xmmword"),
        (SseOp::Maxss, "maxss", "dword"),
        (SseOp::Maxsd, "maxsd", "qword"),
        (SseOp::Maxps, "maxps", "xmmword"),
        (SseOp::Maxpd, "maxpd", "xmmword"),
        (SseOp::Ucomiss, "ucomiss", "dword"),
        (SseOp::Ucomisd, "ucomisd", "qword"),
        (SseOp::Cvtss2sd, "cvtss2sd", "dword"),
        (SseOp::Cvtsd2ss, "cvtsd2ss", "qword"),
        (SseOp::Cvtdq2ps, "cvtdq2ps", "xmmword"),
        (SseOp::Cvttps2dq, "cvttps2dq", "xmmword"),
        (SseOp::Andps, "andps", "xmmword"),
        (SseOp::Andpd, "andpd", "xmmword"),
        (SseOp::Andnps, "andnps", "xmmword"),
        (SseOp::Andnpd, "andnpd", "xmmword"),
        (SseOp::Orps, "orps", "xmmword"),
        (SseOp::Orpd, "orpd", "xmmword"),
        (SseOp::Xorps, "xorps", "xmmword"),
        (SseOp::Xorpd, "xorpd", "xmmword"),
        (SseOp::Paddb, "paddb", "xmmword"),
        (SseOp::Paddw, "paddw", "xmmword"),
        (SseOp::Paddd, "paddd", "xmmword"),
        (SseOp::Paddq, "paddq", "xmmword"),
        (SseOp::Psubb, "psubb", "xmmword"),
        (SseOp::Psubw, "psubw", "xmmword"),
        (SseOp::Psubd, "psubd", "xmmword"),
        (SseOp::Psubq, "psubq", "xmmword"),
        (SseOp::Pmullw, "pmullw", "xmmword"),
        (SseOp::Pmuludq, "pmuludq", "xmmword"),
        (SseOp::Pand, "pand", "xmmword"),
        (SseOp::Pandn, "pandn", "xmmword"),
        (SseOp::Por, "por", "xmmword"),
        (SseOp::Pxor, "pxor", "xmmword"),
        (SseOp::Pcmpeqb, "pcmpeqb", "xmmword"),
        (SseOp::Pcmpeqw, "pcmpeqw", "xmmword"),
        (SseOp::Pcmpeqd, "pcmpeqd", "xmmword"),
        (SseOp::Pcmpgtb, "pcmpgtb", "xmmword"),
        (SseOp::Pcmpgtw, "pcmpgtw", "xmmword"),
        (SseOp::Pcmpgtd, "pcmpgtd", "xmmword"),
        (SseOp::Punpcklbw, "punpcklbw", "xmmword"),
        (SseOp::Punpcklwd, "punpcklwd", "xmmword"),
        (SseOp::Punpckldq, "punpckldq", "xmmword"),
        (SseOp::Punpcklqdq, "punpcklqdq", "xmmword"),
        (SseOp::Punpckhbw, "punpckhbw", "xmmword"),
        (SseOp::Punpckhwd, "punpckhwd", "xmmword"),
        (SseOp::Punpckhdq, "punpckhdq", "xmmword"),
        (SseOp::Punpckhqdq, "punpckhqdq", "xmmword"),
        (SseOp::Psllw, "psllw", "xmmword"),
        (SseOp::Pslld, "pslld", "xmmword"),
        (SseOp::Psllq, "psllq", "xmmword"),
        (SseOp::Psrlw, "psrlw", "xmmword"),
        (SseOp::Psrld, "psrld", "xmmword"),
        (SseOp::Psrlq, "psrlq", "xmmword"),
        (SseOp::Psraw, "psraw", "xmmword"),
        (SseOp::Psrad, "psrad", "xmmword"),
        (SseOp::Pshufb, "pshufb", "xmmword"),
        (SseOp::Pabsb, "pabsb", "xmmword"),
        (SseOp::Pabsw, "pabsw", "xmmword"),
        (SseOp::Pabsd, "pabsd", "xmmword"),
        (SseOp::Pmulld, "pmulld", "xmmword"),
        (SseOp::Pmulhw, "pmulhw", "xmmword"),
        (SseOp::Pmulhuw, "pmulhuw", "xmmword"),
        (SseOp::Pmaddwd, "pmaddwd", "xmmword"),
        (SseOp::Pmaddubsw, "pmaddubsw", "xmmword"),
        (SseOp::Pmulhrsw, "pmulhrsw", "xmmword"),
        (SseOp::Pmuldq, "pmuldq", "xmmword"),
        (SseOp::Pcmpeqq, "pcmpeqq", "xmmword"),
        (SseOp::Pcmpgtq, "pcmpgtq", "xmmword"),
        (SseOp::Pminsb, "pminsb", "xmmword"),
        (SseOp::Pminsd, "pminsd", "xmmword"),
        (SseOp::Pminuw, "pminuw", "xmmword"),
        (SseOp::Pminud, "pminud", "xmmword"),
        (SseOp::Pmaxsb, "pmaxsb", "xmmword"),
        (SseOp::Pmaxsd, "pmaxsd", "xmmword"),
        (SseOp::Pmaxuw, "pmaxuw", "xmmword"),
        (SseOp::Pmaxud, "pmaxud", "xmmword"),
        (SseOp::Ptest, "ptest", "xmmword"),
        (SseOp::Paddsb, "paddsb", "xmmword"),
        (SseOp::Paddsw, "paddsw", "xmmword"),
        (SseOp::Paddusb, "paddusb", "xmmword"),
        (SseOp::Paddusw, "paddusw", "xmmword"),
        (SseOp::Psubsb, "psubsb", "xmmword"),
        (SseOp::Psubsw, "psubsw", "xmmword"),
        (SseOp::Psubusb, "psubusb", "xmmword"),
        (SseOp::Psubusw, "psubusw", "xmmword"),
        (SseOp::Pavgb, "pavgb", "xmmword"),
        (SseOp::Pavgw, "pavgw", "xmmword"),
        (SseOp::Pminub, "pminub", "xmmword"),
        (SseOp::Pmaxub, "pmaxub", "xmmword"),
        (SseOp::Pminsw, "pminsw", "xmmword"),
        (SseOp::Pmaxsw, "pmaxsw", "xmmword"),
        (SseOp::Packsswb, "packsswb", "xmmword"),
        (SseOp::Packuswb, "packuswb", "xmmword"),
        (SseOp::Packssdw, "packssdw", "xmmword"),
        (SseOp::Packusdw, "packusdw", "xmmword"),
        (SseOp::Pmovsxbw, "pmovsxbw", "qword"),
        (SseOp::Pmovsxwd, "pmovsxwd", "qword"),
        (SseOp::Pmovsxdq, "pmovsxdq", "qword"),
        (SseOp::Pmovzxbw, "pmovzxbw", "qword"),
        (SseOp::Pmovzxwd, "pmovzxwd", "qword"),
        (SseOp::Pmovzxdq, "pmovzxdq", "qword"),
        (SseOp::Cvtdq2pd, "cvtdq2pd", "qword"),
        (SseOp::Cvtps2pd, "cvtps2pd", "qword"),
        (SseOp::Cvtpd2ps, "cvtpd2ps", "xmmword"),
        (SseOp::Cvttpd2dq, "cvttpd2dq", "xmmword"),
    ];
    assert_eq!(ops.len(), SseOp::ALL.len(), "every SseOp is tested");
    for (j, &(op, mn, msize)) in ops.iter().enumerate() {
        assert_eq!(op.mnemonic(), mn);
        for (d, s) in pairs() {
            let (d, s) = (Xmm::ALL[d], Xmm::ALL[s]);
            c.add(format!("{mn} {}, {}", x(d), x(s)), |k| {
                xmm_rmr(k, op, d, s.into())
            });
        }
        for (i, a) in few.iter().enumerate() {
            let d = Xmm::ALL[(i * 5 + j) % 16];
            c.add(format!("{mn} {}, {msize} ptr {}", x(d), mem(a)), |k| {
                xmm_rmr(k, op, d, XmmMem::Mem(a))
            });
        }
    }

    // AVX (VEX.128) three-operand forms: every register combination class (the two-byte
    // `C5` prefix, and `C4` for high `r/m` registers and the 0F38/0F3A maps) and memory.
    let mut vex = 0;
    for (j, &(op, mn, msize)) in ops.iter().enumerate() {
        if !op.vex_three_operand() {
            continue;
        }
        vex += 1;
        for (i, (d, s2)) in pairs().enumerate() {
            let s1 = (d + s2 + i + j) % 16;
            let (d, s1, s2) = (Xmm::ALL[d], Xmm::ALL[s1], Xmm::ALL[s2]);
            c.add(format!("v{mn} {}, {}, {}", x(d), x(s1), x(s2)), |k| {
                vex_rrm(k, op, d, s1, s2.into())
            });
        }
        for (i, a) in few.iter().enumerate() {
            let d = Xmm::ALL[(i * 5 + j) % 16];
            let s1 = Xmm::ALL[(i * 3 + j + 7) % 16];
            c.add(
                format!("v{mn} {}, {}, {msize} ptr {}", x(d), x(s1), mem(a)),
                |k| vex_rrm(k, op, d, s1, XmmMem::Mem(a)),
            );
        }
    }
    assert!(vex > 60, "{vex} VEX forms");

    let movs: &[(XmmMov, &str, &str)] = &[
        (XmmMov::Movss, "movss", "dword"),
        (XmmMov::Movsd, "movsd", "qword"),
        (XmmMov::Movaps, "movaps", "xmmword"),
        (XmmMov::Movapd, "movapd", "xmmword"),
        (XmmMov::Movups, "movups", "xmmword"),
        (XmmMov::Movupd, "movupd", "xmmword"),
        (XmmMov::Movdqa, "movdqa", "xmmword"),
        (XmmMov::Movdqu, "movdqu", "xmmword"),
    ];
    assert_eq!(movs.len(), XmmMov::ALL.len());
    let all = amodes();
    for (j, &(op, mn, msize)) in movs.iter().enumerate() {
        for (d, s) in pairs() {
            let (d, s) = (Xmm::ALL[d], Xmm::ALL[s]);
            c.add(format!("{mn} {}, {}", x(d), x(s)), |k| {
                xmm_mov_rr(k, op, d, s)
            });
        }
        for (i, a) in all.iter().enumerate().skip(j).step_by(7) {
            let r = Xmm::ALL[(i * 3) % 16];
            c.add(format!("{mn} {}, {msize} ptr {}", x(r), mem(a)), |k| {
                xmm_load(k, op, r, a)
            });
            c.add(format!("{mn} {msize} ptr {}, {}", mem(a), x(r)), |k| {
                xmm_store(k, op, a, r)
            });
        }
        let rip = &few[6];
        c.add(format!("{mn} xmm9, {msize} ptr [rip]"), |k| {
            xmm_load(k, op, Xmm::Xmm9, rip)
        });
    }

    // movd / movq between GPRs and XMMs.
    for (gi, xi) in pairs() {
        let (r, v) = (Gpr::ALL[gi], Xmm::ALL[xi]);
        c.add(format!("movd {}, {}", x(v), g(r, S32)), |k| {
            movd_to_xmm(k, S32, v, r.into())
        });
        c.add(format!("movq {}, {}", x(v), g(r, S64)), |k| {
            movd_to_xmm(k, S64, v, r.into())
        });
        c.add(format!("movd {}, {}", g(r, S32), x(v)), |k| {
            movd_from_xmm(k, S32, r.into(), v)
        });
        c.add(format!("movq {}, {}", g(r, S64), x(v)), |k| {
            movd_from_xmm(k, S64, r.into(), v)
        });
    }
    for (i, a) in few.iter().enumerate() {
        let v = Xmm::ALL[(i * 3 + 6) % 16];
        c.add(format!("movd {}, {}", x(v), pm(S32, a)), |k| {
            movd_to_xmm(k, S32, v, a.into())
        });
        c.add(format!("movq {}, {}", x(v), pm(S64, a)), |k| {
            movd_to_xmm(k, S64, v, a.into())
        });
        c.add(format!("movd {}, {}", pm(S32, a), x(v)), |k| {
            movd_from_xmm(k, S32, a.into(), v)
        });
        c.add(format!("movq {}, {}", pm(S64, a), x(v)), |k| {
            movd_from_xmm(k, S64, a.into(), v)
        });
    }

    // Conversions between integers and floats.
    for (gi, xi) in pairs() {
        let (r, v) = (Gpr::ALL[gi], Xmm::ALL[xi]);
        for size in [S32, S64] {
            c.add(format!("cvtsi2ss {}, {}", x(v), g(r, size)), |k| {
                cvt_int_to_float(k, CvtIntToFloat::Cvtsi2ss, size, v, r.into())
            });
            c.add(format!("cvtsi2sd {}, {}", x(v), g(r, size)), |k| {
                cvt_int_to_float(k, CvtIntToFloat::Cvtsi2sd, size, v, r.into())
            });
            c.add(format!("cvttss2si {}, {}", g(r, size), x(v)), |k| {
                cvt_float_to_int(k, CvtFloatToInt::Cvttss2si, size, r, v.into())
            });
            c.add(format!("cvttsd2si {}, {}", g(r, size), x(v)), |k| {
                cvt_float_to_int(k, CvtFloatToInt::Cvttsd2si, size, r, v.into())
            });
        }
    }
    for (i, a) in few.iter().enumerate() {
        let (r, v) = (Gpr::ALL[(i * 5 + 3) % 16], Xmm::ALL[(i * 3 + 7) % 16]);
        for size in [S32, S64] {
            c.add(format!("cvtsi2ss {}, {}", x(v), pm(size, a)), |k| {
                cvt_int_to_float(k, CvtIntToFloat::Cvtsi2ss, size, v, a.into())
            });
            c.add(format!("cvtsi2sd {}, {}", x(v), pm(size, a)), |k| {
                cvt_int_to_float(k, CvtIntToFloat::Cvtsi2sd, size, v, a.into())
            });
            c.add(
                format!("cvttss2si {}, dword ptr {}", g(r, size), mem(a)),
                |k| cvt_float_to_int(k, CvtFloatToInt::Cvttss2si, size, r, a.into()),
            );
            c.add(
                format!("cvttsd2si {}, qword ptr {}", g(r, size), mem(a)),
                |k| cvt_float_to_int(k, CvtFloatToInt::Cvttsd2si, size, r, a.into()),
            );
        }
    }

    // Immediate forms.
    let imm_ops: &[(SseImmOp, &str, &str)] = &[
        (SseImmOp::Pshufd, "pshufd", "xmmword"),
        (SseImmOp::Pshuflw, "pshuflw", "xmmword"),
        (SseImmOp::Pshufhw, "pshufhw", "xmmword"),
        (SseImmOp::Shufps, "shufps", "xmmword"),
        (SseImmOp::Shufpd, "shufpd", "xmmword"),
        (SseImmOp::Palignr, "palignr", "xmmword"),
        (SseImmOp::Roundps, "roundps", "xmmword"),
        (SseImmOp::Roundpd, "roundpd", "xmmword"),
        (SseImmOp::Roundss, "roundss", "dword"),
        (SseImmOp::Roundsd, "roundsd", "qword"),
        (SseImmOp::Pblendw, "pblendw", "xmmword"),
    ];
    assert_eq!(imm_ops.len(), SseImmOp::ALL.len());
    for (j, &(op, mn, msize)) in imm_ops.iter().enumerate() {
        for (i, (d, s)) in pairs().enumerate() {
            let (d, s) = (Xmm::ALL[d], Xmm::ALL[s]);
            let imm = [0u8, 1, 3, 27, 127, 128, 228, 255][i % 8];
            c.add(format!("{mn} {}, {}, {imm}", x(d), x(s)), |k| {
                xmm_rmri(k, op, d, s.into(), imm)
            });
        }
        for (i, a) in few.iter().enumerate() {
            let d = Xmm::ALL[(i * 5 + j) % 16];
            c.add(format!("{mn} {}, {msize} ptr {}, 9", x(d), mem(a)), |k| {
                xmm_rmri(k, op, d, a.into(), 9)
            });
        }
    }
    // Their VEX forms with two sources.
    let mut vex_imm = 0;
    for (j, &(op, mn, msize)) in imm_ops.iter().enumerate() {
        if !op.vex_two_source() {
            continue;
        }
        vex_imm += 1;
        for (i, (d, s2)) in pairs().enumerate() {
            let s1 = (d + s2 + i + j) % 16;
            let (d, s1, s2) = (Xmm::ALL[d], Xmm::ALL[s1], Xmm::ALL[s2]);
            let imm = [0u8, 1, 3, 27, 127, 128, 228, 255][i % 8];
            c.add(
                format!("v{mn} {}, {}, {}, {imm}", x(d), x(s1), x(s2)),
                |k| vex_rrmi(k, op, d, s1, s2.into(), imm),
            );
        }
        for (i, a) in few.iter().enumerate() {
            let (d, s1) = (Xmm::ALL[(i * 5 + j) % 16], Xmm::ALL[(i * 3 + j) % 16]);
            c.add(
                format!("v{mn} {}, {}, {msize} ptr {}, 9", x(d), x(s1), mem(a)),
                |k| vex_rrmi(k, op, d, s1, a.into(), 9),
            );
        }
    }
    assert_eq!(vex_imm, 4, "shufps, shufpd, palignr, pblendw");
    let preds = ["eq", "lt", "le", "unord", "neq", "nlt", "nle", "ord"];
    let cmps: &[(SseCmpOp, &str, &str)] = &[
        (SseCmpOp::Cmpps, "ps", "xmmword"),
        (SseCmpOp::Cmppd, "pd", "xmmword"),
        (SseCmpOp::Cmpss, "ss", "dword"),
        (SseCmpOp::Cmpsd, "sd", "qword"),
    ];
    for &(op, suffix, msize) in cmps {
        for (pi, pred) in FloatCmp::ALL.iter().copied().enumerate() {
            let (d, s) = (Xmm::ALL[pi * 2], Xmm::ALL[15 - pi]);
            c.add(
                format!("cmp{}{suffix} {}, {}", preds[pi], x(d), x(s)),
                |k| xmm_cmp(k, op, d, s.into(), pred),
            );
            let a = &few[pi % few.len()];
            c.add(
                format!("cmp{}{suffix} {}, {msize} ptr {}", preds[pi], x(s), mem(a)),
                |k| xmm_cmp(k, op, s, a.into(), pred),
            );
            let s1 = Xmm::ALL[(pi * 7 + 5) % 16];
            c.add(
                format!("vcmp{}{suffix} {}, {}, {}", preds[pi], x(d), x(s1), x(s)),
                |k| vex_cmp(k, op, d, s1, s.into(), pred),
            );
            c.add(
                format!(
                    "vcmp{}{suffix} {}, {}, {msize} ptr {}",
                    preds[pi],
                    x(s),
                    x(s1),
                    mem(a)
                ),
                |k| vex_cmp(k, op, s, s1, a.into(), pred),
            );
        }
    }
    let shifts = [
        "psrlw", "psraw", "psllw", "psrld", "psrad", "pslld", "psrlq", "psllq", "psrldq", "pslldq",
    ];
    for (j, op) in XmmShiftImm::ALL.iter().copied().enumerate() {
        for (i, r) in Xmm::ALL.iter().copied().enumerate() {
            let n = [0u8, 1, 7, 15, 31, 63][(i + j) % 6];
            c.add(format!("{} {}, {n}", shifts[j], x(r)), |k| {
                xmm_shift_imm(k, op, r, n)
            });
            let src = Xmm::ALL[(i * 5 + j + 3) % 16];
            c.add(format!("v{} {}, {}, {n}", shifts[j], x(r), x(src)), |k| {
                vex_shift_imm(k, op, r, src, n)
            });
        }
    }

    // Lane inserts and extracts.
    let lanes = [
        (Lane::B, "b", S32, S8),
        (Lane::W, "w", S32, S16),
        (Lane::D, "d", S32, S32),
        (Lane::Q, "q", S64, S64),
    ];
    for (j, &(lane, sfx, gsize, msize)) in lanes.iter().enumerate() {
        for (i, (gi, xi)) in pairs().enumerate() {
            let (r, v) = (Gpr::ALL[gi], Xmm::ALL[xi]);
            let n = (i + j) as u8 % 8;
            c.add(format!("pinsr{sfx} {}, {}, {n}", x(v), g(r, gsize)), |k| {
                pinsr(k, lane, v, r.into(), n)
            });
            c.add(format!("pextr{sfx} {}, {}, {n}", g(r, gsize), x(v)), |k| {
                pextr(k, lane, r.into(), v, n)
            });
        }
        for (i, a) in few.iter().enumerate() {
            let v = Xmm::ALL[(i * 3 + j) % 16];
            c.add(format!("pinsr{sfx} {}, {}, 1", x(v), pm(msize, a)), |k| {
                pinsr(k, lane, v, a.into(), 1)
            });
            c.add(format!("pextr{sfx} {}, {}, 1", pm(msize, a), x(v)), |k| {
                pextr(k, lane, a.into(), v, 1)
            });
        }
    }
    let msks = [
        (MovmskOp::Movmskps, "movmskps"),
        (MovmskOp::Movmskpd, "movmskpd"),
        (MovmskOp::Pmovmskb, "pmovmskb"),
    ];
    for (op, mn) in msks {
        for (gi, xi) in pairs() {
            let (r, v) = (Gpr::ALL[gi], Xmm::ALL[xi]);
            c.add(format!("{mn} {}, {}", g(r, S32), x(v)), |k| {
                movmsk(k, op, r, v)
            });
        }
    }
    c.check("sse_forms");
}

/// Encode a use of `label` with `f` at the sink's current offset, patch it so the label
/// lands at `target`, and return the instruction's bytes with its recorded use.
fn patched(pad: usize, target: u64, f: impl FnOnce(&mut VecSink)) -> (Vec<u8>, X64LabelUse, u64) {
    let mut s = VecSink::default();
    nop(&mut s, pad);
    let start = s.bytes.len();
    f(&mut s);
    assert_eq!(s.uses.len(), 1, "one label use");
    let (use_off, label, kind) = s.uses[0];
    assert_eq!(label, MachLabel(7));
    assert_eq!(use_off, start as u64, "use offset is the instruction start");
    let n = kind.patch_size() as usize;
    assert!(n <= s.bytes.len() - start);
    kind.patch(&mut s.bytes[start..start + n], use_off, target);
    (s.bytes[start..].to_vec(), kind, use_off)
}

#[test]
fn label_uses() {
    let l = MachLabel(7);
    let rip = Amode::rip(l);
    let mut c = Cases::new();
    // (pad, target, expected text given the instruction end, encoder)
    type Enc = Box<dyn Fn(&mut VecSink)>;
    type Text = Box<dyn Fn(i64) -> String>;
    let cases: Vec<(usize, u64, Text, Enc)> = vec![
        (
            3,
            0x100,
            Box::new(|d| format!("jmp {d}")),
            Box::new(move |k| jmp_label(k, l)),
        ),
        (
            10,
            0,
            Box::new(|d| format!("jne {d}")),
            Box::new(move |k| jcc_label(k, Cc::Ne, l)),
        ),
        (
            0,
            0x7fff_0000,
            Box::new(|d| format!("call {d}")),
            Box::new(move |k| call_label(k, l)),
        ),
        (
            5,
            64,
            Box::new(|d| format!("mov rax, qword ptr [rip + {d}]")),
            Box::new(move |k| mov_load(k, S64, Gpr::Rax, &rip)),
        ),
        (
            1,
            0,
            Box::new(|d| format!("movss xmm12, dword ptr [rip - {}]", -d)),
            Box::new(move |k| xmm_load(k, XmmMov::Movss, Xmm::Xmm12, &rip)),
        ),
        (
            2,
            1000,
            Box::new(|d| format!("cmp dword ptr [rip + {d}], 5")),
            Box::new(move |k| alu_ri(k, AluOp::Cmp, S32, (&rip).into(), 5)),
        ),
        (
            2,
            1000,
            Box::new(|d| format!("mov qword ptr [rip + {d}], 305419896")),
            Box::new(move |k| mov_store_imm(k, S64, &rip, 0x1234_5678)),
        ),
        (
            4,
            2000,
            Box::new(|d| format!("test word ptr [rip + {d}], 4660")),
            Box::new(move |k| test_ri(k, S16, (&rip).into(), 0x1234)),
        ),
        (
            6,
            3,
            Box::new(|d| format!("pshufd xmm9, xmmword ptr [rip - {}], 27", -d)),
            Box::new(move |k| xmm_rmri(k, SseImmOp::Pshufd, Xmm::Xmm9, (&rip).into(), 27)),
        ),
        (
            0,
            77,
            Box::new(|d| format!("roundsd xmm1, qword ptr [rip + {d}], 3")),
            Box::new(move |k| xmm_rmri(k, SseImmOp::Roundsd, Xmm::Xmm1, (&rip).into(), 3)),
        ),
        (
            0,
            300,
            Box::new(|d| format!("lea r13, [rip + {d}]")),
            Box::new(move |k| lea(k, S64, Gpr::R13, &rip)),
        ),
    ];
    for (pad, target, text, enc) in &cases {
        let (bytes, kind, use_off) = patched(*pad, *target, |k| enc(k));
        // The CPU's reference point is the end of the instruction.
        let end = use_off + bytes.len() as u64;
        let disp = *target as i64 - end as i64;
        match kind {
            X64LabelUse::JmpRel32 { field_offset } => {
                assert_eq!(field_offset as usize + 4, bytes.len())
            }
            X64LabelUse::PCRel32 {
                field_offset,
                trailing,
            } => {
                assert_eq!(field_offset as usize + 4 + trailing as usize, bytes.len())
            }
            X64LabelUse::PCRel64 => panic!("unexpected kind"),
        }
        c.add(text(disp), |k| k.put_data(&bytes));
    }
    c.check("label_uses");
}

#[test]
fn label_ranges_are_exact() {
    let kinds = [
        X64LabelUse::JmpRel32 { field_offset: 1 },
        X64LabelUse::JmpRel32 { field_offset: 2 },
        X64LabelUse::PCRel32 {
            field_offset: 3,
            trailing: 0,
        },
        X64LabelUse::PCRel32 {
            field_offset: 6,
            trailing: 4,
        },
    ];
    for kind in kinds {
        let base: u64 = 1 << 33;
        let n = kind.patch_size() as usize;
        let mut buf = vec![0xAAu8; n];
        kind.patch(&mut buf, base, base + kind.max_pos_range());
        assert_eq!(&buf[n - 4..], &i32::MAX.to_le_bytes(), "{kind:?} forward");
        assert!(
            buf[..n - 4].iter().all(|&b| b == 0xAA),
            "prefix bytes untouched"
        );
        kind.patch(&mut buf, base, base - kind.max_neg_range());
        assert_eq!(&buf[n - 4..], &i32::MIN.to_le_bytes(), "{kind:?} backward");
        assert!(kind.max_pos_range() >= (1 << 31) - 1 && kind.max_neg_range() >= (1 << 31) - 16);
    }
    assert!(X64LabelUse::JmpRel32 { field_offset: 1 }.supports_veneer());
    assert!(!X64LabelUse::PCRel32 {
        field_offset: 2,
        trailing: 0
    }
    .supports_veneer());
    assert!(X64LabelUse::PCRel64.max_pos_range() > 1 << 40);
}

#[test]
fn veneer() {
    let v = X64LabelUse::JmpRel32 { field_offset: 2 };
    let veneer_offset: u64 = 0x1_0000;
    // Far targets in both directions (the original use is at 0x100, the veneer at 64 KiB).
    for target in [
        veneer_offset + (5u64 << 30),
        0x20,
        veneer_offset + 24,
        veneer_offset + (1 << 62),
    ] {
        let mut buf = vec![0u8; v.veneer_size() as usize];
        assert_eq!(v.veneer_size(), X64LabelUse::worst_case_veneer_size());
        let (off, kind) = v.generate_veneer(&mut buf, veneer_offset);
        assert_eq!(kind, X64LabelUse::PCRel64);
        let use_off = veneer_offset + off as u64;
        let n = kind.patch_size() as usize;
        kind.patch(&mut buf[off as usize..off as usize + n], use_off, target);

        // Decode: four instructions, r10/r11 only.
        let (decoded, stderr) = llvm_mc_decode(&[&buf]);
        let lines = &decoded[0];
        assert_eq!(lines.len(), 4, "{lines:?} {stderr}");
        assert_eq!(lines[0], "lea r11, [rip]");
        let imm: i64 = lines[1]
            .strip_prefix("movabs r10, ")
            .unwrap_or_else(|| panic!("movabs expected, got {}", lines[1]))
            .parse()
            .expect("decimal immediate");
        assert_eq!(lines[2], "lea r11, [r11 + r10]");
        assert_eq!(lines[3], "jmp r11");
        // Execute the arithmetic: lea is 7 bytes, so r11 = veneer + 7 + 0.
        let r11 = veneer_offset + 7;
        let r11 = r11.wrapping_add(imm as u64);
        assert_eq!(r11, target, "veneer lands on the label");
    }
}
