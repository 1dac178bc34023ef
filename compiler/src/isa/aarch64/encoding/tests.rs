//! Encoder tests against an independent disassembler (LLVM's `llvm-mc`).
//!
//! Each test builds a table of (encoding closure, expected text), encodes all cases into
//! one buffer of 32-bit words and decodes them with a single `llvm-mc` run, one word per
//! input line. Words llvm-mc rejects are reported by input line on stderr and become
//! `<invalid encoding>`. Expected texts are written by hand from the A64 manual, in LLVM's
//! printing conventions: preferred aliases (`mov`, `cmp`, `tst`, `neg`, `lsl`, `cset`,
//! `sxtb`, …), decimal arithmetic immediates, hex bitmask immediates, byte offsets.

use super::fp::*;
use super::int::*;
use super::*;
use crate::ir::TrapCode;
use crate::isa::aarch64::label_use::AArch64LabelUse;
use crate::isa::aarch64::regs::{
    ElemSize, FpMemSize, FpSize, Size, VReg, VecArr, XReg, XRegOrSp, XRegOrZr,
};
use crate::machinst::{CodeSink, LabelUse, MachLabel};
use std::fmt::Write as _;

use Size::{S32, S64};

/// A trivial sink recording bytes, label uses and traps.
#[derive(Default)]
pub(crate) struct VecSink {
    pub bytes: Vec<u8>,
    pub uses: Vec<(u64, MachLabel, AArch64LabelUse)>,
    pub traps: Vec<(u64, TrapCode)>,
}

impl CodeSink<AArch64LabelUse> for VecSink {
    fn cur_offset(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn put1(&mut self, b: u8) {
        self.bytes.push(b);
    }
    fn use_label_at_offset(&mut self, offset: u64, label: MachLabel, kind: AArch64LabelUse) {
        self.uses.push((offset, label, kind));
    }
    fn add_trap(&mut self, code: TrapCode) {
        self.traps.push((self.cur_offset(), code));
    }
}

/// Decode `words` with one `llvm-mc` run: one normalized text per word.
pub(crate) fn llvm_mc_decode(words: &[u32]) -> (Vec<String>, String) {
    let mut input = String::new();
    for w in words {
        for b in w.to_le_bytes() {
            let _ = write!(input, "0x{b:02x} ");
        }
        input.push('\n');
    }
    let (text, stderr) = crate::isa::test_util::run_llvm_mc(
        &["-triple=aarch64", "-mattr=+neon,+fp-armv8", "-disassemble"],
        &input,
    );
    // `<stdin>:LINE:COL: warning: invalid instruction encoding`
    let invalid: Vec<usize> = stderr
        .lines()
        .filter(|l| l.contains("invalid instruction encoding"))
        .filter_map(|l| l.strip_prefix("<stdin>:")?.split(':').next()?.parse().ok())
        .collect();
    let mut decoded = text.lines().filter_map(|line| {
        let line = line.split("//").next().unwrap_or("");
        let norm = line.split_whitespace().collect::<Vec<_>>().join(" ");
        (!norm.is_empty() && !norm.starts_with('.')).then_some(norm)
    });
    let result = (1..=words.len())
        .map(|line| {
            if invalid.contains(&line) {
                "<invalid encoding>".to_string()
            } else {
                decoded.next().unwrap_or_else(|| "<missing>".into())
            }
        })
        .collect();
    (result, stderr)
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
        let end = self.sink.bytes.len();
        assert!(
            end > start && (end - start).is_multiple_of(4),
            "whole words"
        );
        self.items.push((start / 4, end / 4, expected.into()));
    }

    pub fn check(&self, what: &str) -> usize {
        let words: Vec<u32> = self
            .sink
            .bytes
            .chunks(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let (decoded, stderr) = llvm_mc_decode(&words);
        let mut errors = String::new();
        let mut bad = 0;
        for (i, (s, e, expected)) in self.items.iter().enumerate() {
            let got = decoded[*s..*e].join(" ; ");
            if got != *expected {
                bad += 1;
                let hex: Vec<String> = words[*s..*e].iter().map(|w| format!("{w:08x}")).collect();
                let _ = writeln!(
                    errors,
                    "  case {i}: word [{}]\n    expected: {expected}\n    decoded:  {got}",
                    hex.join(" ")
                );
            }
        }
        if bad > 0 {
            panic!(
                "{what}: {bad} of {} cases mismatch\n{errors}llvm-mc stderr:\n{stderr}",
                self.items.len()
            );
        }
        eprintln!("{what}: {} cases ok", self.items.len());
        self.items.len()
    }
}

// ----- Operand helpers and hand-written naming rules ------------------------------------

/// Register `i` (0–31) of a zero-register field.
fn z(i: usize) -> XRegOrZr {
    XReg::from_enc(i as u32).map_or(XRegOrZr::Zr, XRegOrZr::X)
}

/// Register `i` (0–31) of a stack-pointer field.
fn p(i: usize) -> XRegOrSp {
    XReg::from_enc(i as u32).map_or(XRegOrSp::Sp, XRegOrSp::X)
}

fn zn(r: XRegOrZr, size: Size) -> String {
    match (r, size) {
        (XRegOrZr::Zr, S64) => "xzr".into(),
        (XRegOrZr::Zr, S32) => "wzr".into(),
        (XRegOrZr::X(x), S64) => format!("x{}", x.enc()),
        (XRegOrZr::X(x), S32) => format!("w{}", x.enc()),
    }
}

fn pn(r: XRegOrSp, size: Size) -> String {
    match (r, size) {
        (XRegOrSp::Sp, S64) => "sp".into(),
        (XRegOrSp::Sp, S32) => "wsp".into(),
        (XRegOrSp::X(x), S64) => format!("x{}", x.enc()),
        (XRegOrSp::X(x), S32) => format!("w{}", x.enc()),
    }
}

fn v(i: usize) -> VReg {
    VReg::from_enc(i as u32)
}

const SIZES: [Size; 2] = [S32, S64];

/// `(rd, rn, rm, ra)` index quadruples covering every register number in every position,
/// with the four distinct.
fn quads() -> impl Iterator<Item = (usize, usize, usize, usize)> {
    (0..32).map(|i| (i, (i + 5) % 32, (i + 11) % 32, (i + 20) % 32))
}

fn shift_text(shift: Shift, amount: u8) -> String {
    if shift == Shift::Lsl && amount == 0 {
        String::new()
    } else {
        format!(", {} #{amount}", shift.name())
    }
}

/// Expected text of a shifted-register ALU op, with the A64 preferred aliases.
fn alu_text(
    op: AluOp,
    size: Size,
    rd: XRegOrZr,
    rn: XRegOrZr,
    rm: XRegOrZr,
    sh: Shift,
    amt: u8,
) -> String {
    let (d, n, m) = (zn(rd, size), zn(rn, size), zn(rm, size));
    let st = shift_text(sh, amt);
    let zr = XRegOrZr::Zr;
    match op {
        AluOp::Adds if rd == zr => format!("cmn {n}, {m}{st}"),
        AluOp::Subs if rd == zr => format!("cmp {n}, {m}{st}"),
        AluOp::Ands if rd == zr => format!("tst {n}, {m}{st}"),
        AluOp::Sub if rn == zr => format!("neg {d}, {m}{st}"),
        AluOp::Subs if rn == zr => format!("negs {d}, {m}{st}"),
        AluOp::Orr if rn == zr && st.is_empty() => format!("mov {d}, {m}"),
        AluOp::Orn if rn == zr => format!("mvn {d}, {m}{st}"),
        _ => {
            let mn = match op {
                AluOp::Add => "add",
                AluOp::Adds => "adds",
                AluOp::Sub => "sub",
                AluOp::Subs => "subs",
                AluOp::And => "and",
                AluOp::Ands => "ands",
                AluOp::Orr => "orr",
                AluOp::Eor => "eor",
                AluOp::Bic => "bic",
                AluOp::Bics => "bics",
                AluOp::Orn => "orn",
                AluOp::Eon => "eon",
            };
            format!("{mn} {d}, {n}, {m}{st}")
        }
    }
}

const ALU_OPS: [AluOp; 12] = [
    AluOp::Add,
    AluOp::Adds,
    AluOp::Sub,
    AluOp::Subs,
    AluOp::And,
    AluOp::Ands,
    AluOp::Orr,
    AluOp::Eor,
    AluOp::Bic,
    AluOp::Bics,
    AluOp::Orn,
    AluOp::Eon,
];

// ----- Integer forms --------------------------------------------------------------------

#[test]
fn int_alu_forms() {
    let mut c = Cases::new();
    for op in ALU_OPS {
        let logical = !matches!(op, AluOp::Add | AluOp::Adds | AluOp::Sub | AluOp::Subs);
        for size in SIZES {
            for (a, b, m, _) in quads() {
                let (rd, rn, rm) = (z(a), z(b), z(m));
                let shifts: &[Shift] = if logical {
                    &[Shift::Lsl, Shift::Lsr, Shift::Asr, Shift::Ror]
                } else {
                    &[Shift::Lsl, Shift::Lsr, Shift::Asr]
                };
                let sh = shifts[a % shifts.len()];
                let amt = match a % 4 {
                    0 => 0,
                    1 => 1,
                    2 => (size.bits() - 1) as u8,
                    _ => 17,
                };
                let amt = if amt == 0 && sh != Shift::Lsl { 3 } else { amt };
                c.add(alu_text(op, size, rd, rn, rm, sh, amt), |k| {
                    alu_rrr_shift(k, op, size, rd, rn, rm, sh, amt)
                });
            }
        }
    }
    for size in SIZES {
        for (a, b, m, _) in quads() {
            let (rd, rn, rm) = (z(a), z(b), z(m));
            let s = |r| zn(r, size);
            c.add(format!("mov {}, {}", s(rd), s(rm)), |k| {
                mov(k, size, rd, rm)
            });
            c.add(format!("mvn {}, {}", s(rd), s(rm)), |k| {
                mvn(k, size, rd, rm)
            });
            c.add(format!("neg {}, {}", s(rd), s(rm)), |k| {
                neg(k, size, rd, rm)
            });
            c.add(format!("cmp {}, {}", s(rn), s(rm)), |k| {
                cmp(k, size, rn, rm)
            });
            c.add(format!("cmp {}, {}, asr #5", s(rn), s(rm)), |k| {
                cmp_shift(k, size, rn, rm, Shift::Asr, 5)
            });
            c.add(format!("cmn {}, {}", s(rn), s(rm)), |k| {
                cmn(k, size, rn, rm)
            });
            c.add(format!("tst {}, {}", s(rn), s(rm)), |k| {
                tst(k, size, rn, rm)
            });
        }
    }
    // Immediates: 0, 1, 4095, and the lsl #12 forms, over every register incl. sp.
    let imms = [
        (Imm12::new(0).unwrap(), "#0"),
        (Imm12::new(1).unwrap(), "#1"),
        (Imm12::new(4095).unwrap(), "#4095"),
        (Imm12::new_shifted(0).unwrap(), "#0, lsl #12"),
        (Imm12::new_shifted(1).unwrap(), "#1, lsl #12"),
        (Imm12::new_shifted(4095).unwrap(), "#4095, lsl #12"),
    ];
    for size in SIZES {
        for (a, b, _, _) in quads() {
            let (imm, it) = imms[a % imms.len()];
            let (pd, pn_) = (p(a), p(b));
            let (d, n) = (pn(pd, size), pn(pn_, size));
            let is_mov = imm.value() == 0 && !imm.shift12() && (a == 31 || b == 31);
            let text = |mn: &str| {
                if is_mov && mn == "add" {
                    format!("mov {d}, {n}")
                } else {
                    format!("{mn} {d}, {n}, {it}")
                }
            };
            c.add(text("add"), |k| add_imm(k, size, pd, pn_, imm));
            c.add(text("sub"), |k| sub_imm(k, size, pd, pn_, imm));
            let zd = z(a);
            let zt = |mn: &str, alias: &str| {
                if a == 31 {
                    format!("{alias} {n}, {it}")
                } else {
                    format!("{mn} {}, {n}, {it}", zn(zd, size))
                }
            };
            c.add(zt("adds", "cmn"), |k| adds_imm(k, size, zd, pn_, imm));
            c.add(zt("subs", "cmp"), |k| subs_imm(k, size, zd, pn_, imm));
            c.add(format!("cmp {n}, {it}"), |k| cmp_imm(k, size, pn_, imm));
            c.add(format!("cmn {n}, {it}"), |k| cmn_imm(k, size, pn_, imm));
            c.add(format!("mov {d}, {n}"), |k| {
                if a == 31 || b == 31 {
                    mov_sp(k, size, pd, pn_)
                } else {
                    // Between ordinary registers `mov` is the orr form.
                    mov(k, size, z(a), z(b))
                }
            });
        }
    }
    assert_eq!(Imm12::maybe_from_u64(4095).map(|i| i.value()), Some(4095));
    assert_eq!(
        Imm12::maybe_from_u64(4095 << 12).map(|i| (i.bits(), i.shift12())),
        Some((4095, true))
    );
    assert_eq!(Imm12::maybe_from_u64(4097), None);
    assert_eq!(Imm12::maybe_from_u64(4096 << 12), None);
    assert_eq!(Imm12::new(4096), None);
    // Extended register.
    for size in SIZES {
        for (a, b, m, _) in quads() {
            // (32-bit forms with the x-register extends are skipped: not used by Kiln.)
            let ext = Extend::ALL[(a + b) % 8];
            if !size.is64() && ext.reads_x() {
                continue;
            }
            let amt = (a % 5) as u8;
            let (pd, pn_, rm) = (p(a), p(b), z(m));
            let msize = if size.is64() && ext.reads_x() {
                S64
            } else {
                S32
            };
            let (d, n, mm) = (pn(pd, size), pn(pn_, size), zn(rm, msize));
            // With sp involved, the size-matching unsigned extend prints as `lsl`.
            let uxt_full = ext
                == if size.is64() {
                    Extend::Uxtx
                } else {
                    Extend::Uxtw
                };
            let ext_text = |sp_involved: bool| {
                if sp_involved && uxt_full {
                    if amt == 0 {
                        String::new()
                    } else {
                        format!(", lsl #{amt}")
                    }
                } else if amt == 0 {
                    format!(", {}", ext.name())
                } else {
                    format!(", {} #{amt}", ext.name())
                }
            };
            let sp_dn = a == 31 || b == 31;
            c.add(format!("add {d}, {n}, {mm}{}", ext_text(sp_dn)), |k| {
                add_ext(k, size, pd, pn_, rm, ext, amt)
            });
            c.add(format!("sub {d}, {n}, {mm}{}", ext_text(sp_dn)), |k| {
                sub_ext(k, size, pd, pn_, rm, ext, amt)
            });
            let zd = z(a);
            let et = ext_text(b == 31);
            let flags = |mn: &str, alias: &str| {
                if a == 31 {
                    format!("{alias} {n}, {mm}{et}")
                } else {
                    format!("{mn} {}, {n}, {mm}{et}", zn(zd, size))
                }
            };
            c.add(flags("adds", "cmn"), |k| {
                adds_ext(k, size, zd, pn_, rm, ext, amt)
            });
            c.add(flags("subs", "cmp"), |k| {
                subs_ext(k, size, zd, pn_, rm, ext, amt)
            });
            c.add(format!("cmp {n}, {mm}{et}"), |k| {
                cmp_ext(k, size, pn_, rm, ext, amt)
            });
        }
    }
    c.check("int_alu_forms");
}

/// The bitmask immediate with element size `e`, `ones` consecutive ones rotated right by
/// `rot`, replicated to 64 bits (computed independently of the encoder).
fn bitmask(e: u32, ones: u32, rot: u32) -> u64 {
    let mut elem: u64 = 0;
    for i in 0..ones {
        elem |= 1 << ((i + e - rot % e) % e);
    }
    let mut v = 0u64;
    let mut at = 0;
    while at < 64 {
        v |= elem << at;
        at += e;
    }
    v
}

#[test]
fn logical_immediates() {
    let mut c = Cases::new();
    let mut n = 0;
    for e in [2u32, 4, 8, 16, 32, 64] {
        for ones in 1..e {
            for rot in [0, 1, e / 2, e - 1] {
                let v64 = bitmask(e, ones, rot);
                for size in SIZES {
                    if !size.is64() && e == 64 {
                        continue; // a 64-bit element does not exist at 32 bits
                    }
                    let val = if size.is64() { v64 } else { v64 & 0xffff_ffff };
                    let imm = ImmLogic::maybe_from_u64(val, size).unwrap_or_else(|| {
                        panic!("{val:#x} (e={e} ones={ones} rot={rot}) should be encodable")
                    });
                    assert_eq!(imm.value(), val);
                    n += 1;
                    // Rotate through the forms and registers (sp only as a destination).
                    let (a, b) = (n % 32, (n * 7 + 3) % 32);
                    let rn = z(b);
                    let nn = zn(rn, size);
                    match n % 4 {
                        0 => {
                            let rd = p(a);
                            c.add(format!("and {}, {nn}, #{val:#x}", pn(rd, size)), |k| {
                                and_imm(k, size, rd, rn, imm)
                            });
                        }
                        1 if b != 31 => {
                            let rd = p(a);
                            c.add(format!("orr {}, {nn}, #{val:#x}", pn(rd, size)), |k| {
                                orr_imm(k, size, rd, rn, imm)
                            });
                        }
                        2 => {
                            let rd = p(a);
                            c.add(format!("eor {}, {nn}, #{val:#x}", pn(rd, size)), |k| {
                                eor_imm(k, size, rd, rn, imm)
                            });
                        }
                        _ => {
                            let rd = z(a);
                            let text = if a == 31 {
                                format!("tst {nn}, #{val:#x}")
                            } else {
                                format!("ands {}, {nn}, #{val:#x}", zn(rd, size))
                            };
                            c.add(text, |k| ands_imm(k, size, rd, rn, imm));
                        }
                    }
                }
            }
        }
    }
    // Aliases.
    let imm = ImmLogic::maybe_from_u64(0xff00, S64).unwrap();
    c.add("tst x3, #0xff00", |k| tst_imm(k, S64, z(3), imm));
    let imm = ImmLogic::maybe_from_u64(0x5555_5555_5555_5555, S64).unwrap();
    c.add("mov x0, #6148914691236517205", |k| {
        mov_bitmask(k, S64, p(0), imm)
    });
    let imm = ImmLogic::maybe_from_u64(0x0f0f_0f0f, S32).unwrap();
    c.add("mov wsp, #252645135", |k| mov_bitmask(k, S32, p(31), imm));
    // Non-encodable values at both sizes.
    for val in [
        0u64,
        u64::MAX,
        0x1234_5678,
        0b1011,
        0x8000_0000_0000_0001 | 0x10,
        0x0000_ffff_0000_fffe,
    ] {
        assert!(!ImmLogic::is_encodable(val, S64), "{val:#x}");
    }
    for val in [
        0u64,
        0xffff_ffff,
        0x1234_5678,
        0xffff_ffff_0000_0000,
        0x8000_0011,
    ] {
        assert!(!ImmLogic::is_encodable(val, S32), "{val:#x}");
    }
    assert!(ImmLogic::is_encodable(0x0000_ffff_0000_ffff, S64));
    assert!(ImmLogic::is_encodable(0xffff_0000_0000_0000, S64));
    assert!(ImmLogic::is_encodable(0x7fff_ffff, S32));
    c.check("logical_immediates");
}

#[test]
fn int_misc_forms() {
    let mut c = Cases::new();
    // Move wide: every shift, boundary immediates, every register.
    for size in SIZES {
        for (a, _, _, _) in quads() {
            let rd = z(a);
            let d = zn(rd, size);
            let shifts: &[u8] = if size.is64() {
                &[0, 16, 32, 48]
            } else {
                &[0, 16]
            };
            let sh = shifts[a % shifts.len()];
            for imm in [0u16, 1, 0x1234, 0xffff] {
                let wide = u64::from(imm) << sh;
                // LLVM prints move-wide immediates as signed values of the operand size.
                let wide_text = if size.is64() {
                    (wide as i64).to_string()
                } else {
                    (wide as u32 as i32).to_string()
                };
                let z_text = if imm == 0 && sh != 0 {
                    format!("movz {d}, #0, lsl #{sh}")
                } else {
                    format!("mov {d}, #{wide_text}")
                };
                c.add(z_text, |k| movz(k, size, rd, imm, sh));
                let n_val: i64 = if size.is64() {
                    !wide as i64
                } else {
                    i64::from(!(wide as u32) as i32)
                };
                let n_text = if (imm == 0 && sh != 0) || (!size.is64() && imm == 0xffff) {
                    if sh == 0 {
                        format!("movn {d}, #{imm}")
                    } else {
                        format!("movn {d}, #{imm}, lsl #{sh}")
                    }
                } else {
                    format!("mov {d}, #{n_val}")
                };
                c.add(n_text, |k| movn(k, size, rd, imm, sh));
                let k_text = if sh == 0 {
                    format!("movk {d}, #{imm}")
                } else {
                    format!("movk {d}, #{imm}, lsl #{sh}")
                };
                c.add(k_text, |k| movk(k, size, rd, imm, sh));
            }
        }
    }
    // Multiply / divide / shifts / one-source.
    for size in SIZES {
        for (a, b, m, r) in quads() {
            let (rd, rn, rm, ra) = (z(a), z(b), z(m), z(r));
            let s = |x| zn(x, size);
            let (d, n, mm, aa) = (s(rd), s(rn), s(rm), s(ra));
            c.add(format!("mul {d}, {n}, {mm}"), |k| mul(k, size, rd, rn, rm));
            if r == 31 {
                c.add(format!("mul {d}, {n}, {mm}"), |k| {
                    madd(k, size, rd, rn, rm, ra)
                });
                c.add(format!("mneg {d}, {n}, {mm}"), |k| {
                    msub(k, size, rd, rn, rm, ra)
                });
            } else {
                c.add(format!("madd {d}, {n}, {mm}, {aa}"), |k| {
                    madd(k, size, rd, rn, rm, ra)
                });
                c.add(format!("msub {d}, {n}, {mm}, {aa}"), |k| {
                    msub(k, size, rd, rn, rm, ra)
                });
            }
            for (op, mn) in [
                (DataProc2::Udiv, "udiv"),
                (DataProc2::Sdiv, "sdiv"),
                (DataProc2::Lslv, "lsl"),
                (DataProc2::Lsrv, "lsr"),
                (DataProc2::Asrv, "asr"),
                (DataProc2::Rorv, "ror"),
            ] {
                c.add(format!("{mn} {d}, {n}, {mm}"), |k| {
                    dp2(k, op, size, rd, rn, rm)
                });
            }
            let mut ones = vec![
                (DataProc1::Rbit, "rbit"),
                (DataProc1::Rev16, "rev16"),
                (DataProc1::Rev, "rev"),
                (DataProc1::Clz, "clz"),
                (DataProc1::Cls, "cls"),
            ];
            if size.is64() {
                ones.push((DataProc1::Rev32, "rev32"));
            }
            for (op, mn) in ones {
                c.add(format!("{mn} {d}, {n}"), |k| dp1(k, op, size, rd, rn));
            }
            let w = size.bits();
            let amt = (a as u32 * 7 + 1) % w;
            let lamt = if amt == 0 { 1 } else { amt };
            c.add(format!("lsl {d}, {n}, #{lamt}"), |k| {
                lsl_imm(k, size, rd, rn, lamt)
            });
            c.add(format!("lsr {d}, {n}, #{amt}"), |k| {
                lsr_imm(k, size, rd, rn, amt)
            });
            c.add(format!("asr {d}, {n}, #{amt}"), |k| {
                asr_imm(k, size, rd, rn, amt)
            });
            c.add(format!("ror {d}, {n}, #{amt}"), |k| {
                ror_imm(k, size, rd, rn, amt)
            });
            c.add(format!("extr {d}, {n}, {mm}, #{amt}"), |k| {
                extr(k, size, rd, rn, rm, amt)
            });
            let wn = zn(rn, S32);
            c.add(format!("sxtb {d}, {wn}"), |k| sxtb(k, size, rd, rn));
            c.add(format!("sxth {d}, {wn}"), |k| sxth(k, size, rd, rn));
            // ubfx/sbfx away from the lsr/asr and extend aliases.
            let lsb = 1 + (a as u32 % (w - 20));
            let width = 1 + (b as u32 % 18);
            c.add(format!("ubfx {d}, {n}, #{lsb}, #{width}"), |k| {
                ubfx(k, size, rd, rn, lsb, width)
            });
            c.add(format!("sbfx {d}, {n}, #{lsb}, #{width}"), |k| {
                sbfx(k, size, rd, rn, lsb, width)
            });
            c.add(format!("bfxil {d}, {n}, #{lsb}, #{width}"), |k| {
                bfm(k, size, rd, rn, lsb, lsb + width - 1)
            });
        }
    }
    for (a, b, _, _) in quads() {
        let (rd, rn) = (z(a), z(b));
        let (xd, wd, wn) = (zn(rd, S64), zn(rd, S32), zn(rn, S32));
        c.add(format!("sxtw {xd}, {wn}"), |k| sxtw(k, rd, rn));
        c.add(format!("uxtb {wd}, {wn}"), |k| uxtb(k, rd, rn));
        c.add(format!("uxth {wd}, {wn}"), |k| uxth(k, rd, rn));
        let (xn, xm) = (zn(rn, S64), zn(z((b + 3) % 32), S64));
        c.add(format!("smulh {xd}, {xn}, {xm}"), |k| {
            smulh(k, rd, rn, z((b + 3) % 32))
        });
        c.add(format!("umulh {xd}, {xn}, {xm}"), |k| {
            umulh(k, rd, rn, z((b + 3) % 32))
        });
    }
    // Shift boundaries.
    c.add("lsl x1, x2, #63", |k| lsl_imm(k, S64, z(1), z(2), 63));
    c.add("lsl w1, w2, #31", |k| lsl_imm(k, S32, z(1), z(2), 31));
    c.add("lsr x1, x2, #63", |k| lsr_imm(k, S64, z(1), z(2), 63));
    c.add("asr w1, w2, #31", |k| asr_imm(k, S32, z(1), z(2), 31));
    c.add("ror x1, x2, #63", |k| ror_imm(k, S64, z(1), z(2), 63));
    // Conditional select over every condition.
    for size in SIZES {
        for (i, (a, b, m, _)) in quads().enumerate() {
            let cond = Cond::ALL[i % 14];
            let (rd, rn, rm) = (z(a), z(b), z(m));
            let s = |x| zn(x, size);
            let (d, n, mm, cn) = (s(rd), s(rn), s(rm), cond.name());
            c.add(format!("csel {d}, {n}, {mm}, {cn}"), |k| {
                csel(k, size, rd, rn, rm, cond)
            });
            for (op, mn) in [
                (CselOp::Csinc, "csinc"),
                (CselOp::Csinv, "csinv"),
                (CselOp::Csneg, "csneg"),
            ] {
                c.add(format!("{mn} {d}, {n}, {mm}, {cn}"), |k| {
                    csel_op(k, op, size, rd, rn, rm, cond)
                });
            }
            c.add(format!("cset {d}, {cn}"), |k| cset(k, size, rd, cond));
            c.add(format!("csetm {d}, {cn}"), |k| csetm(k, size, rd, cond));
            let nzcv = (i % 16) as u8;
            c.add(format!("ccmp {n}, {mm}, #{nzcv}, {cn}"), |k| {
                ccmp(k, size, rn, rm, nzcv, cond)
            });
            let imm5 = (i as u8 * 3) % 32;
            c.add(format!("ccmp {n}, #{imm5}, #{nzcv}, {cn}"), |k| {
                ccmp_imm(k, size, rn, imm5, nzcv, cond)
            });
        }
    }
    // Every condition and its inverse.
    for cond in &Cond::ALL[..14] {
        assert_eq!(cond.invert().invert(), *cond);
        assert_ne!(cond.invert(), *cond);
        c.add(format!("cset w5, {}", cond.name()), |k| {
            cset(k, S32, z(5), *cond)
        });
        c.add(format!("csel x1, x2, x3, {}", cond.invert().name()), |k| {
            csel(k, S64, z(1), z(2), z(3), cond.invert())
        });
    }
    // Indirect branches, traps, hints.
    for r in XReg::ALL {
        c.add(format!("br x{}", r.enc()), |k| br(k, r));
        c.add(format!("blr x{}", r.enc()), |k| blr(k, r));
        let rt = if r == XReg::LR {
            "ret".to_string()
        } else {
            format!("ret x{}", r.enc())
        };
        c.add(rt, |k| ret(k, r));
    }
    for imm in [0u16, 1, 0x7fff, 0xffff] {
        c.add(format!("udf #{imm}"), |k| {
            udf(k, imm, TrapCode::Unreachable)
        });
        // (LLVM prints a zero `brk` immediate without the 0x.)
        let bt = if imm == 0 {
            "brk #0".to_string()
        } else {
            format!("brk #{imm:#x}")
        };
        c.add(bt, |k| brk(k, imm));
    }
    c.add("nop", nop);
    let n_traps = c.sink.traps.len();
    assert_eq!(n_traps, 4);
    for &(at, code) in &c.sink.traps {
        let w = u32::from_le_bytes(
            c.sink.bytes[at as usize..at as usize + 4]
                .try_into()
                .unwrap(),
        );
        assert_eq!(w >> 16, 0, "trap recorded at the udf word");
        assert_eq!(code, TrapCode::Unreachable);
    }
    c.check("int_misc_forms");
}

// ----- Loads and stores ---------------------------------------------------------------

/// LLVM's text of an address for an access of `1 << log2` bytes.
fn amode_text(a: &AMode, log2: u32) -> String {
    match *a {
        AMode::Scaled { rn, offset } => {
            if offset == 0 {
                format!("[{}]", pn(rn, S64))
            } else {
                format!("[{}, #{offset}]", pn(rn, S64))
            }
        }
        AMode::Unscaled { rn, offset } => {
            if offset.value() == 0 {
                format!("[{}]", pn(rn, S64))
            } else {
                format!("[{}, #{}]", pn(rn, S64), offset.value())
            }
        }
        AMode::PreIndex { rn, offset } => format!("[{}, #{}]!", pn(rn, S64), offset.value()),
        AMode::PostIndex { rn, offset } => format!("[{}], #{}", pn(rn, S64), offset.value()),
        AMode::Reg {
            rn,
            rm,
            extend,
            scaled,
        } => {
            let m = zn(rm, if extend.reads_x() { S64 } else { S32 });
            let name = match extend {
                IndexExtend::Lsl => "lsl",
                IndexExtend::Uxtw => "uxtw",
                IndexExtend::Sxtw => "sxtw",
                IndexExtend::Sxtx => "sxtx",
            };
            let tail = match (extend, scaled) {
                (IndexExtend::Lsl, false) => String::new(),
                (_, false) => format!(", {name}"),
                (_, true) => format!(", {name} #{log2}"),
            };
            format!("[{}, {m}{tail}]", pn(rn, S64))
        }
    }
}

/// A spread of addresses for `log2`-byte accesses: every base register (incl. sp), every
/// index register, boundary offsets.
fn amodes(log2: u32) -> Vec<AMode> {
    let mut out = Vec::new();
    let max = 4095u32 << log2;
    let scaled = [0, 1 << log2, max];
    let simm = [-256i64, -1, 1, 255];
    let exts = [
        IndexExtend::Lsl,
        IndexExtend::Uxtw,
        IndexExtend::Sxtw,
        IndexExtend::Sxtx,
    ];
    for i in 0..32usize {
        let rn = p(i);
        out.push(AMode::Scaled {
            rn,
            offset: scaled[i % 3],
        });
        let off = SImm9::new(simm[i % 4]).unwrap();
        // Unscaled: include offsets that the scaled form could not express.
        out.push(AMode::Unscaled { rn, offset: off });
        out.push(AMode::PreIndex { rn, offset: off });
        out.push(AMode::PostIndex { rn, offset: off });
        out.push(AMode::Reg {
            rn,
            rm: z((i + 9) % 32),
            extend: exts[i % 4],
            scaled: i % 3 == 0,
        });
    }
    out
}

#[test]
fn load_store_forms() {
    let mut c = Cases::new();
    let loads = [
        (LoadOp::Ldrb, "ldrb", "ldurb", S32),
        (LoadOp::Ldrh, "ldrh", "ldurh", S32),
        (LoadOp::LdrW, "ldr", "ldur", S32),
        (LoadOp::LdrX, "ldr", "ldur", S64),
        (LoadOp::LdrsbW, "ldrsb", "ldursb", S32),
        (LoadOp::LdrsbX, "ldrsb", "ldursb", S64),
        (LoadOp::LdrshW, "ldrsh", "ldursh", S32),
        (LoadOp::LdrshX, "ldrsh", "ldursh", S64),
        (LoadOp::Ldrsw, "ldrsw", "ldursw", S64),
    ];
    for (op, mn, umn, size) in loads {
        let log2 = op.log2_bytes();
        for (i, a) in amodes(log2).iter().enumerate() {
            // Data registers avoid the base register for write-back forms.
            let t = z((i * 5 + 2) % 32);
            let m = if matches!(a, AMode::Unscaled { .. }) {
                umn
            } else {
                mn
            };
            if let (AMode::PreIndex { rn, .. } | AMode::PostIndex { rn, .. }, XRegOrZr::X(x)) =
                (a, t)
            {
                if rn.enc() == x.enc() {
                    continue;
                }
            }
            c.add(
                format!("{m} {}, {}", zn(t, size), amode_text(a, log2)),
                |k| load(k, op, t, a),
            );
        }
    }
    let stores = [
        (StoreOp::Strb, "strb", "sturb", S32),
        (StoreOp::Strh, "strh", "sturh", S32),
        (StoreOp::StrW, "str", "stur", S32),
        (StoreOp::StrX, "str", "stur", S64),
    ];
    for (op, mn, umn, size) in stores {
        let log2 = op as u32;
        for (i, a) in amodes(log2).iter().enumerate() {
            let t = z((i * 3 + 1) % 32);
            let m = if matches!(a, AMode::Unscaled { .. }) {
                umn
            } else {
                mn
            };
            if let (AMode::PreIndex { rn, .. } | AMode::PostIndex { rn, .. }, XRegOrZr::X(x)) =
                (a, t)
            {
                if rn.enc() == x.enc() {
                    continue;
                }
            }
            c.add(
                format!("{m} {}, {}", zn(t, size), amode_text(a, log2)),
                |k| store(k, op, t, a),
            );
        }
    }
    for size in [FpMemSize::S, FpMemSize::D, FpMemSize::Q] {
        let log2 = size.log2_bytes();
        let pf = size.prefix();
        for (i, a) in amodes(log2).iter().enumerate() {
            let t = v((i * 7 + 3) % 32);
            let unscaled = matches!(a, AMode::Unscaled { .. });
            let (lm, sm) = if unscaled {
                ("ldur", "stur")
            } else {
                ("ldr", "str")
            };
            let at = amode_text(a, log2);
            c.add(format!("{lm} {pf}{}, {at}", t.enc()), |k| {
                fp_load(k, size, t, a)
            });
            c.add(format!("{sm} {pf}{}, {at}", t.enc()), |k| {
                fp_store(k, size, t, a)
            });
        }
    }
    // AMode::offset picks the scaled form when possible.
    assert!(matches!(
        AMode::offset(p(1), 32760, 3),
        Some(AMode::Scaled { offset: 32760, .. })
    ));
    assert!(matches!(
        AMode::offset(p(1), -8, 3),
        Some(AMode::Unscaled { .. })
    ));
    assert!(matches!(
        AMode::offset(p(1), 12, 3),
        Some(AMode::Unscaled { .. })
    ));
    assert_eq!(AMode::offset(p(1), 32768, 3), None);
    assert_eq!(AMode::offset(p(1), -257, 0), None);
    assert_eq!(SImm9::new(256), None);
    assert_eq!(SImm9::new(-257), None);
    // Pairs.
    for size in SIZES {
        let rs = 4 << size.sf();
        for (a, b, m, _) in quads() {
            let (t1, t2, rn) = (z(a), z(b), p(m));
            let (s1, s2, n) = (zn(t1, size), zn(t2, size), pn(rn, S64));
            let off = [-64 * rs, 63 * rs, rs, 0][a % 4];
            let am = PairAMode::Offset { rn, offset: off };
            let ot = if off == 0 {
                format!("[{n}]")
            } else {
                format!("[{n}, #{off}]")
            };
            c.add(format!("ldp {s1}, {s2}, {ot}"), |k| {
                ldp(k, size, t1, t2, &am)
            });
            c.add(format!("stp {s1}, {s2}, {ot}"), |k| {
                stp(k, size, t1, t2, &am)
            });
            if a != m && b != m {
                let off = if off == 0 { -rs } else { off };
                let pre = PairAMode::PreIndex { rn, offset: off };
                let post = PairAMode::PostIndex { rn, offset: off };
                c.add(format!("stp {s1}, {s2}, [{n}, #{off}]!"), |k| {
                    stp(k, size, t1, t2, &pre)
                });
                c.add(format!("stp {s1}, {s2}, [{n}], #{off}"), |k| {
                    stp(k, size, t1, t2, &post)
                });
                if a != b {
                    c.add(format!("ldp {s1}, {s2}, [{n}, #{off}]!"), |k| {
                        ldp(k, size, t1, t2, &pre)
                    });
                    c.add(format!("ldp {s1}, {s2}, [{n}], #{off}"), |k| {
                        ldp(k, size, t1, t2, &post)
                    });
                }
            }
        }
    }
    // The prologue / epilogue idioms.
    let sp = XRegOrSp::SP;
    let (fp, lr) = (z(29), z(30));
    c.add("stp x29, x30, [sp, #-16]!", |k| {
        stp(
            k,
            S64,
            fp,
            lr,
            &PairAMode::PreIndex {
                rn: sp,
                offset: -16,
            },
        )
    });
    c.add("mov x29, sp", |k| mov_sp(k, S64, p(29), sp));
    c.add("ldp x29, x30, [sp], #16", |k| {
        ldp(k, S64, fp, lr, &PairAMode::PostIndex { rn: sp, offset: 16 })
    });
    for size in [FpMemSize::S, FpMemSize::D, FpMemSize::Q] {
        let rs = 1i32 << size.log2_bytes();
        let pf = size.prefix();
        for (i, off) in [-64 * rs, 63 * rs, 2 * rs].into_iter().enumerate() {
            let (t1, t2) = (v(8 + i), v(31 - i));
            let (a, b) = (t1.enc(), t2.enc());
            for (am, ot) in [
                (
                    PairAMode::Offset {
                        rn: sp,
                        offset: off,
                    },
                    format!("[sp, #{off}]"),
                ),
                (
                    PairAMode::PreIndex {
                        rn: sp,
                        offset: off,
                    },
                    format!("[sp, #{off}]!"),
                ),
                (
                    PairAMode::PostIndex {
                        rn: p(i),
                        offset: off,
                    },
                    format!("[x{i}], #{off}"),
                ),
            ] {
                c.add(format!("stp {pf}{a}, {pf}{b}, {ot}"), |k| {
                    fp_stp(k, size, t1, t2, &am)
                });
                c.add(format!("ldp {pf}{a}, {pf}{b}, {ot}"), |k| {
                    fp_ldp(k, size, t1, t2, &am)
                });
            }
        }
    }
    c.check("load_store_forms");
}

// ----- Floating point and NEON ------------------------------------------------------------

#[test]
fn fp_forms() {
    let mut c = Cases::new();
    for size in [FpSize::S, FpSize::D] {
        let pf = size.prefix();
        for (a, b, m, r) in quads() {
            let (rd, rn, rm, ra) = (v(a), v(b), v(m), v(r));
            let (d, n, mm, aa) = (
                format!("{pf}{a}"),
                format!("{pf}{b}"),
                format!("{pf}{m}"),
                format!("{pf}{r}"),
            );
            c.add(format!("fmov {d}, {n}"), |k| fmov(k, size, rd, rn));
            for (op, mn) in [
                (FpuOp2::Fadd, "fadd"),
                (FpuOp2::Fsub, "fsub"),
                (FpuOp2::Fmul, "fmul"),
                (FpuOp2::Fdiv, "fdiv"),
                (FpuOp2::Fmin, "fmin"),
                (FpuOp2::Fmax, "fmax"),
                (FpuOp2::Fminnm, "fminnm"),
                (FpuOp2::Fmaxnm, "fmaxnm"),
                (FpuOp2::Fnmul, "fnmul"),
            ] {
                c.add(format!("{mn} {d}, {n}, {mm}"), |k| {
                    fpu_rrr(k, op, size, rd, rn, rm)
                });
            }
            for (op, mn) in [
                (FpuOp1::Fabs, "fabs"),
                (FpuOp1::Fneg, "fneg"),
                (FpuOp1::Fsqrt, "fsqrt"),
                (FpuOp1::Frintn, "frintn"),
                (FpuOp1::Frintm, "frintm"),
                (FpuOp1::Frintp, "frintp"),
                (FpuOp1::Frintz, "frintz"),
            ] {
                c.add(format!("{mn} {d}, {n}"), |k| fpu_rr(k, op, size, rd, rn));
            }
            let other = if size == FpSize::S { 'd' } else { 's' };
            c.add(format!("fcvt {other}{a}, {n}"), |k| fcvt(k, size, rd, rn));
            c.add(format!("fmadd {d}, {n}, {mm}, {aa}"), |k| {
                fmadd(k, size, rd, rn, rm, ra)
            });
            c.add(format!("fmsub {d}, {n}, {mm}, {aa}"), |k| {
                fmsub(k, size, rd, rn, rm, ra)
            });
            c.add(format!("fcmp {n}, {mm}"), |k| fcmp(k, size, rn, rm));
            c.add(format!("fcmp {n}, #0.0"), |k| fcmp_zero(k, size, rn));
            let cond = Cond::ALL[a % 16];
            c.add(format!("fcsel {d}, {n}, {mm}, {}", cond.name()), |k| {
                fcsel(k, size, rd, rn, rm, cond)
            });
            // GPR <-> FPR, conversions.
            let g = z(m);
            let gsize = if size == FpSize::S { S32 } else { S64 };
            c.add(format!("fmov {}, {n}", zn(g, gsize)), |k| {
                fmov_to_gpr(k, size, g, rn)
            });
            c.add(format!("fmov {d}, {}", zn(g, gsize)), |k| {
                fmov_from_gpr(k, size, rd, g)
            });
            for isz in SIZES {
                let gi = zn(g, isz);
                c.add(format!("fcvtzs {gi}, {n}"), |k| fcvtzs(k, isz, size, g, rn));
                c.add(format!("fcvtzu {gi}, {n}"), |k| fcvtzu(k, isz, size, g, rn));
                c.add(format!("scvtf {d}, {gi}"), |k| scvtf(k, size, isz, rd, g));
                c.add(format!("ucvtf {d}, {gi}"), |k| ucvtf(k, size, isz, rd, g));
            }
        }
        // fmov immediates: the extremes and a few in between.
        for (i, val) in [1.0f64, 2.0, 0.125, 31.0, -1.9375, 0.1328125, -0.5, 10.5]
            .into_iter()
            .enumerate()
        {
            let imm = if size == FpSize::S {
                FpImm8::from_f32(val as f32)
            } else {
                FpImm8::from_f64(val)
            }
            .expect("encodable");
            let rd = v(i * 4 + 1);
            c.add(format!("fmov {pf}{}, #{val:.8}", rd.enc()), |k| {
                fmov_imm(k, size, rd, imm)
            });
        }
    }
    assert_eq!(FpImm8::from_f64(0.0), None);
    assert_eq!(FpImm8::from_f64(32.0), None);
    assert_eq!(FpImm8::from_f64(0.0625), None);
    assert_eq!(FpImm8::from_f32(1.03125), None);
    c.check("fp_forms");
}

#[test]
fn neon_forms() {
    let mut c = Cases::new();
    for (i, (a, b, m, _)) in quads().enumerate() {
        let (rd, rn, rm) = (v(a), v(b), v(m));
        for arr in VecArr::ALL {
            let t = arr.suffix();
            let (d, n, mm) = (
                format!("v{a}.{t}"),
                format!("v{b}.{t}"),
                format!("v{m}.{t}"),
            );
            for (op, mn) in [
                (VecOp3::Add, "add"),
                (VecOp3::Sub, "sub"),
                (VecOp3::Mul, "mul"),
                (VecOp3::Cmeq, "cmeq"),
                (VecOp3::Cmgt, "cmgt"),
                (VecOp3::Cmge, "cmge"),
                (VecOp3::Cmhi, "cmhi"),
                (VecOp3::Cmhs, "cmhs"),
            ] {
                if op == VecOp3::Mul && arr == VecArr::D2 {
                    continue;
                }
                c.add(format!("{mn} {d}, {n}, {mm}"), |k| {
                    vec_rrr(k, op, arr, rd, rn, rm)
                });
            }
            c.add(format!("neg {d}, {n}"), |k| {
                vec_misc(k, VecMiscOp::Neg, arr, rd, rn)
            });
            for (op, mn) in [
                (VecPermOp::Uzp1, "uzp1"),
                (VecPermOp::Uzp2, "uzp2"),
                (VecPermOp::Zip1, "zip1"),
                (VecPermOp::Zip2, "zip2"),
                (VecPermOp::Trn1, "trn1"),
                (VecPermOp::Trn2, "trn2"),
            ] {
                if arr == VecArr::D2 && i % 2 == 1 {
                    continue;
                }
                c.add(format!("{mn} {d}, {n}, {mm}"), |k| {
                    vec_perm(k, op, arr, rd, rn, rm)
                });
            }
            if !matches!(arr, VecArr::S2 | VecArr::D2) {
                let l = ElemSize::ALL[arr.size() as usize].letter();
                c.add(format!("addv {l}{a}, {n}"), |k| vec_addv(k, arr, rd, rn));
            }
            if matches!(arr, VecArr::S2 | VecArr::S4 | VecArr::D2) {
                for (op, mn) in [
                    (VecFpOp3::Fadd, "fadd"),
                    (VecFpOp3::Fsub, "fsub"),
                    (VecFpOp3::Fmul, "fmul"),
                    (VecFpOp3::Fdiv, "fdiv"),
                ] {
                    c.add(format!("{mn} {d}, {n}, {mm}"), |k| {
                        vec_fp_rrr(k, op, arr, rd, rn, rm)
                    });
                }
            }
            // dup from a GPR / lane.
            let g = z(m);
            let gs = if arr == VecArr::D2 { S64 } else { S32 };
            c.add(format!("dup {d}, {}", zn(g, gs)), |k| {
                dup_from_gpr(k, arr, rd, g)
            });
            let e = ElemSize::ALL[arr.size() as usize];
            let idx = (i as u32) % e.lanes();
            c.add(format!("dup {d}, v{b}.{}[{idx}]", e.letter()), |k| {
                dup_from_elem(k, arr, rd, rn, idx)
            });
        }
        for q128 in [false, true] {
            let t = if q128 { "16b" } else { "8b" };
            let (d, n, mm) = (
                format!("v{a}.{t}"),
                format!("v{b}.{t}"),
                format!("v{m}.{t}"),
            );
            for (op, mn) in [
                (VecLogicOp::And, "and"),
                (VecLogicOp::Bic, "bic"),
                (VecLogicOp::Orr, "orr"),
                (VecLogicOp::Orn, "orn"),
                (VecLogicOp::Eor, "eor"),
                (VecLogicOp::Bsl, "bsl"),
            ] {
                c.add(format!("{mn} {d}, {n}, {mm}"), |k| {
                    vec_logic(k, op, q128, rd, rn, rm)
                });
            }
            c.add(format!("mvn {d}, {n}"), |k| vec_not(k, q128, rd, rn));
            c.add(format!("cnt {d}, {n}"), |k| vec_cnt(k, q128, rd, rn));
            let idx = (i as u32) % if q128 { 16 } else { 8 };
            c.add(format!("ext {d}, {n}, {mm}, #{idx}"), |k| {
                ext(k, q128, rd, rn, rm, idx)
            });
            let imm = [0u8, 1, 0x80, 0xff][i % 4];
            c.add(format!("movi {d}, #{imm}"), |k| {
                movi_bytes(k, q128, rd, imm)
            });
        }
        c.add(format!("mov v{a}.16b, v{b}.16b"), |k| vec_mov(k, rd, rn));
        c.add(format!("movi v{a}.2d, #0000000000000000"), |k| {
            movi_zero(k, rd)
        });
        c.add(format!("tbl v{a}.16b, {{ v{b}.16b }}, v{m}.16b"), |k| {
            tbl(k, rd, rn, rm)
        });
        // Lane moves, every element size, first and last lanes.
        for e in ElemSize::ALL {
            let l = e.letter();
            let di = [0, e.lanes() - 1, 1][i % 3];
            let si = (i as u32 * 5) % e.lanes();
            let g = z(m);
            let gs = if e == ElemSize::D { S64 } else { S32 };
            c.add(format!("mov v{a}.{l}[{di}], {}", zn(g, gs)), |k| {
                ins_from_gpr(k, e, rd, di, g)
            });
            c.add(format!("mov v{a}.{l}[{di}], v{b}.{l}[{si}]"), |k| {
                ins_from_elem(k, e, rd, di, rn, si)
            });
            let um = if matches!(e, ElemSize::S | ElemSize::D) {
                "mov"
            } else {
                "umov"
            };
            c.add(format!("{um} {}, v{b}.{l}[{si}]", zn(g, gs)), |k| {
                umov(k, e, g, rn, si)
            });
            for sz in SIZES {
                if e == ElemSize::D || (e == ElemSize::S && sz == S32) {
                    continue;
                }
                c.add(format!("smov {}, v{b}.{l}[{si}]", zn(g, sz)), |k| {
                    smov(k, sz, e, g, rn, si)
                });
            }
        }
    }
    c.check("neon_forms");
}

/// The NEON forms of the Wasm SIMD lowering: the added three-same integer and float
/// operations, every [`VecMiscOp`] on each arrangement it takes, and `umaxv`.
/// Each half-width arrangement (`8b` the low half, `16b` the high half — the `2` forms —
/// and so on) with the arrangement of lanes twice as wide.
const HALVES: [(VecArr, &str); 6] = [
    (VecArr::B8, "8h"),
    (VecArr::B16, "8h"),
    (VecArr::H4, "4s"),
    (VecArr::H8, "4s"),
    (VecArr::S2, "2d"),
    (VecArr::S4, "2d"),
];

#[test]
fn neon_simd_forms() {
    let mut c = Cases::new();
    let int3 = [
        (VecOp3::Sqadd, "sqadd"),
        (VecOp3::Uqadd, "uqadd"),
        (VecOp3::Sqsub, "sqsub"),
        (VecOp3::Uqsub, "uqsub"),
        (VecOp3::Smax, "smax"),
        (VecOp3::Umax, "umax"),
        (VecOp3::Smin, "smin"),
        (VecOp3::Umin, "umin"),
        (VecOp3::Urhadd, "urhadd"),
        (VecOp3::Sshl, "sshl"),
        (VecOp3::Ushl, "ushl"),
    ];
    let fp3 = [
        (VecFpOp3::Fmax, "fmax"),
        (VecFpOp3::Fmin, "fmin"),
        (VecFpOp3::Fcmeq, "fcmeq"),
        (VecFpOp3::Fcmge, "fcmge"),
        (VecFpOp3::Fcmgt, "fcmgt"),
    ];
    for (i, (a, b, m, _)) in quads().enumerate() {
        let (rd, rn, rm) = (v(a), v(b), v(m));
        for arr in VecArr::ALL {
            let t = arr.suffix();
            let (d, n, mm) = (
                format!("v{a}.{t}"),
                format!("v{b}.{t}"),
                format!("v{m}.{t}"),
            );
            for (op, mn) in int3 {
                let no_d = !matches!(
                    op,
                    VecOp3::Sqadd
                        | VecOp3::Uqadd
                        | VecOp3::Sqsub
                        | VecOp3::Uqsub
                        | VecOp3::Sshl
                        | VecOp3::Ushl
                );
                if arr == VecArr::D2 && no_d {
                    continue;
                }
                c.add(format!("{mn} {d}, {n}, {mm}"), |k| {
                    vec_rrr(k, op, arr, rd, rn, rm)
                });
            }
            if matches!(arr, VecArr::S2 | VecArr::S4 | VecArr::D2) {
                for (op, mn) in fp3 {
                    c.add(format!("{mn} {d}, {n}, {mm}"), |k| {
                        vec_fp_rrr(k, op, arr, rd, rn, rm)
                    });
                }
                for (op, mn) in [
                    (VecMiscOp::Fabs, "fabs"),
                    (VecMiscOp::Fneg, "fneg"),
                    (VecMiscOp::Fsqrt, "fsqrt"),
                    (VecMiscOp::Frintn, "frintn"),
                    (VecMiscOp::Frintm, "frintm"),
                    (VecMiscOp::Frintp, "frintp"),
                    (VecMiscOp::Frintz, "frintz"),
                    (VecMiscOp::Fcvtzs, "fcvtzs"),
                    (VecMiscOp::Fcvtzu, "fcvtzu"),
                    (VecMiscOp::Scvtf, "scvtf"),
                    (VecMiscOp::Ucvtf, "ucvtf"),
                ] {
                    c.add(format!("{mn} {d}, {n}"), |k| vec_misc(k, op, arr, rd, rn));
                }
            }
            if arr != VecArr::D2 || i % 2 == 0 {
                c.add(format!("abs {d}, {n}"), |k| {
                    vec_misc(k, VecMiscOp::Abs, arr, rd, rn)
                });
                c.add(format!("cmlt {d}, {n}, #0"), |k| {
                    vec_misc(k, VecMiscOp::Cmlt0, arr, rd, rn)
                });
            }
        }
        // Narrowing: the narrow arrangement names the form (`.16b` etc. is the `2` form).
        for (narrow, wide) in HALVES {
            let two = if narrow.q() == 1 { "2" } else { "" };
            let t = narrow.suffix();
            for (op, mn) in [
                (VecMiscOp::Sqxtn, "sqxtn"),
                (VecMiscOp::Sqxtun, "sqxtun"),
                (VecMiscOp::Uqxtn, "uqxtn"),
            ] {
                c.add(format!("{mn}{two} v{a}.{t}, v{b}.{wide}"), |k| {
                    vec_misc(k, op, narrow, rd, rn)
                });
            }
        }
        // Widening: the source arrangement names the form (`.16b` etc. is the `2` form).
        for (src, wide) in HALVES {
            let two = if src.q() == 1 { "2" } else { "" };
            let t = src.suffix();
            // llvm-mc prints the `sxtl`/`uxtl` aliases as `sshll`/`ushll` with `#0`.
            for (op, mn) in [(VecMiscOp::Sxtl, "sshll"), (VecMiscOp::Uxtl, "ushll")] {
                c.add(format!("{mn}{two} v{a}.{wide}, v{b}.{t}, #0"), |k| {
                    vec_misc(k, op, src, rd, rn)
                });
            }
        }
        c.add(format!("fcvtn v{a}.2s, v{b}.2d"), |k| {
            vec_misc(k, VecMiscOp::Fcvtn, VecArr::D2, rd, rn)
        });
        c.add(format!("fcvtl v{a}.2d, v{b}.2s"), |k| {
            vec_misc(k, VecMiscOp::Fcvtl, VecArr::D2, rd, rn)
        });
        c.add(format!("umaxv b{a}, v{b}.16b"), |k| vec_umaxv(k, rd, rn));
        // Widening multiplies and pairwise adds: the source arrangement names the form.
        for (src, wide) in HALVES {
            let two = if src.q() == 1 { "2" } else { "" };
            let t = src.suffix();
            for (signed, mn) in [(true, "smull"), (false, "umull")] {
                c.add(format!("{mn}{two} v{a}.{wide}, v{b}.{t}, v{m}.{t}"), |k| {
                    vec_mull(k, signed, src, rd, rn, rm)
                });
            }
            // saddlp/uaddlp keep the register width: 8b -> 4h, 16b -> 8h, ...
            let pair = match src {
                VecArr::B8 => "4h",
                VecArr::B16 => "8h",
                VecArr::H4 => "2s",
                VecArr::H8 => "4s",
                VecArr::S2 => "1d",
                _ => "2d",
            };
            for (op, mn) in [(VecMiscOp::Saddlp, "saddlp"), (VecMiscOp::Uaddlp, "uaddlp")] {
                c.add(format!("{mn} v{a}.{pair}, v{b}.{t}"), |k| {
                    vec_misc(k, op, src, rd, rn)
                });
            }
        }
        for arr in [VecArr::H4, VecArr::H8, VecArr::S2, VecArr::S4] {
            let t = arr.suffix();
            c.add(format!("sqrdmulh v{a}.{t}, v{b}.{t}, v{m}.{t}"), |k| {
                vec_rrr(k, VecOp3::Sqrdmulh, arr, rd, rn, rm)
            });
        }
        for arr in VecArr::ALL {
            let t = arr.suffix();
            c.add(format!("addp v{a}.{t}, v{b}.{t}, v{m}.{t}"), |k| {
                vec_rrr(k, VecOp3::Addp, arr, rd, rn, rm)
            });
        }
    }
    c.check("neon_simd_forms");
}

// ----- Label uses --------------------------------------------------------------------------

/// Encode one label-referencing instruction with `f` after `pad` nops, patch its use so
/// the label lands at `target`, and return the patched word.
fn patched(pad: usize, target: u64, f: impl FnOnce(&mut VecSink)) -> (u32, u64, AArch64LabelUse) {
    let mut s = VecSink::default();
    for _ in 0..pad {
        nop(&mut s);
    }
    let start = s.bytes.len();
    f(&mut s);
    assert_eq!(s.bytes.len(), start + 4, "one word");
    assert_eq!(s.uses.len(), 1, "one label use");
    let (use_off, label, kind) = s.uses[0];
    assert_eq!(label, MachLabel(7));
    assert_eq!(use_off, start as u64, "use offset is the instruction start");
    let w0 = u32::from_le_bytes(s.bytes[start..start + 4].try_into().unwrap());
    kind.patch(&mut s.bytes[start..start + 4], use_off, target);
    let w = u32::from_le_bytes(s.bytes[start..start + 4].try_into().unwrap());
    // Before patching, the offset field is zero: the word is the instruction at #0.
    let field_mask = match kind {
        AArch64LabelUse::Branch26 => 0x03ff_ffff,
        AArch64LabelUse::Branch14 => 0x3fff << 5,
        AArch64LabelUse::Adr21 => (0x7ffff << 5) | (3 << 29),
        _ => 0x7ffff << 5,
    };
    assert_eq!(w0 & field_mask, 0, "placeholder field is zero");
    assert_eq!(w & !field_mask, w0, "patch only touches the field");
    (w, use_off, kind)
}

#[test]
fn label_uses() {
    use AArch64LabelUse as K;
    let l = MachLabel(7);
    let mut c = Cases::new();
    type Enc = Box<dyn Fn(&mut VecSink)>;
    // (encoder, kind, text before the offset)
    let mut forms: Vec<(Enc, K, String)> = vec![
        (Box::new(move |k| b(k, l)), K::Branch26, "b".into()),
        (Box::new(move |k| bl(k, l)), K::Branch26, "bl".into()),
        (
            Box::new(move |k| adr(k, z(4), l)),
            K::Adr21,
            "adr x4,".into(),
        ),
        (
            Box::new(move |k| adr(k, z(31), l)),
            K::Adr21,
            "adr xzr,".into(),
        ),
        (
            Box::new(move |k| ldr_literal(k, S64, z(3), l)),
            K::Ldr19,
            "ldr x3,".into(),
        ),
        (
            Box::new(move |k| ldr_literal(k, S32, z(30), l)),
            K::Ldr19,
            "ldr w30,".into(),
        ),
        (
            Box::new(move |k| ldrsw_literal(k, z(9), l)),
            K::Ldr19,
            "ldrsw x9,".into(),
        ),
        (
            Box::new(move |k| fp_load_literal(k, FpMemSize::S, v(1), l)),
            K::Ldr19,
            "ldr s1,".into(),
        ),
        (
            Box::new(move |k| fp_load_literal(k, FpMemSize::D, v(31), l)),
            K::Ldr19,
            "ldr d31,".into(),
        ),
        (
            Box::new(move |k| fp_load_literal(k, FpMemSize::Q, v(16), l)),
            K::Ldr19,
            "ldr q16,".into(),
        ),
    ];
    for cond in &Cond::ALL[..14] {
        let cond = *cond;
        forms.push((
            Box::new(move |k| b_cond(k, cond, l)),
            K::Branch19,
            format!("b.{}", cond.name()),
        ));
    }
    for i in [0usize, 17, 31] {
        for size in SIZES {
            let r = z(i);
            let rn = zn(r, size);
            forms.push((
                Box::new(move |k| cbz(k, size, r, l)),
                K::Branch19,
                format!("cbz {rn},"),
            ));
            forms.push((
                Box::new(move |k| cbnz(k, size, r, l)),
                K::Branch19,
                format!("cbnz {rn},"),
            ));
        }
    }
    for bit in 0..64u32 {
        let r = z((bit as usize * 3) % 32);
        let rn = zn(r, if bit >= 32 { S64 } else { S32 });
        forms.push((
            Box::new(move |k| tbz(k, r, bit, l)),
            K::Branch14,
            format!("tbz {rn}, #{bit},"),
        ));
        forms.push((
            Box::new(move |k| tbnz(k, r, bit, l)),
            K::Branch14,
            format!("tbnz {rn}, #{bit},"),
        ));
    }
    for (i, (enc, kind, text)) in forms.iter().enumerate() {
        // Targets: near forward, near backward, and both extremes of the kind's range.
        let pad = 3 + i % 5;
        let at = (pad * 4) as i64;
        let step = if *kind == K::Adr21 { 1 } else { 4 };
        let dists = [
            8 * step,
            -at,
            kind.max_pos_range() as i64,
            -(kind.max_neg_range() as i64),
            step,
        ];
        for d in dists {
            // Backward targets beyond the start of the buffer are fine virtually: the
            // patch only depends on the difference.
            let target = (at + d) as u64;
            let (w, use_off, k2) = patched(pad, target, |s| enc(s));
            assert_eq!(k2, *kind);
            assert_eq!(use_off as i64, at);
            c.add(format!("{text} #{d}"), |s| s.put4(w));
        }
    }
    c.check("label_uses");
}
