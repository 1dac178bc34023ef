//! The shared instruction emitter: legacy prefixes, REX, opcode map, ModRM, SIB,
//! displacement and immediate, plus RIP-relative label-use recording.
//!
//! Every instruction form in [`super::gpr`] and [`super::sse`] is a thin call into
//! [`emit_rm`], [`emit_vex_rm`] (AVX) or [`emit_opreg`]. Invariants upheld here:
//! - prefix order is `66`, then `F2`/`F3`, then REX, then the `0F`/`0F 38`/`0F 3A` escape,
//!   then the opcode (the order the mandatory-prefix SSE encodings require);
//! - a REX byte is emitted iff one of W/R/X/B is set or the caller forces it (8-bit access
//!   to `spl`/`bpl`/`sil`/`dil`);
//! - memory operands use the shortest correct ModRM/SIB/displacement: SIB for `rsp`/`r12`
//!   bases, a disp8 of 0 for `rbp`/`r13` bases, disp8 when the displacement fits in `i8`;
//! - a RIP-relative operand records its label use after the immediate is written, with the
//!   disp32's offset from the instruction start and the number of trailing immediate bytes.

use super::Amode;
use crate::isa::x64::label_use::X64LabelUse;
use crate::machinst::CodeSink;

/// The opcode escape ("map") of an instruction.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Map {
    /// One-byte opcodes.
    Base,
    /// `0F xx`.
    M0F,
    /// `0F 38 xx`.
    M0F38,
    /// `0F 3A xx`.
    M0F3A,
}

/// Prefixes, map and opcode byte of an instruction (everything before ModRM except REX).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Op {
    /// Emit the `66` operand-size / mandatory prefix.
    pub p66: bool,
    /// `0`, or a `F2`/`F3` mandatory prefix.
    pub rep: u8,
    /// Opcode escape.
    pub map: Map,
    /// The opcode byte.
    pub op: u8,
}

impl Op {
    /// A one-byte opcode, no prefixes.
    pub const fn base(op: u8) -> Op {
        Op {
            p66: false,
            rep: 0,
            map: Map::Base,
            op,
        }
    }

    /// A `0F xx` opcode, no prefixes.
    pub const fn of(op: u8) -> Op {
        Op {
            p66: false,
            rep: 0,
            map: Map::M0F,
            op,
        }
    }

    /// The same with a `66` prefix.
    pub const fn p66(self) -> Op {
        Op { p66: true, ..self }
    }

    /// The same with a `66` prefix when `yes`.
    pub const fn p66_if(self, yes: bool) -> Op {
        Op {
            p66: self.p66 || yes,
            ..self
        }
    }

    /// The same with an `F2`/`F3` prefix.
    pub const fn rep(self, rep: u8) -> Op {
        Op { rep, ..self }
    }

    /// The same in another map.
    pub const fn map(self, map: Map) -> Op {
        Op { map, ..self }
    }
}

/// An immediate that follows ModRM/SIB/displacement.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Imm {
    /// None.
    None,
    /// One byte.
    I8(u8),
    /// Two bytes, little-endian.
    I16(u16),
    /// Four bytes, little-endian.
    I32(u32),
}

impl Imm {
    /// Its size in bytes.
    pub const fn size(self) -> u8 {
        match self {
            Imm::None => 0,
            Imm::I8(_) => 1,
            Imm::I16(_) => 2,
            Imm::I32(_) => 4,
        }
    }

    fn put<S: CodeSink<X64LabelUse>>(self, sink: &mut S) {
        match self {
            Imm::None => {}
            Imm::I8(v) => sink.put1(v),
            Imm::I16(v) => sink.put2(v),
            Imm::I32(v) => sink.put4(v),
        }
    }
}

/// The `r/m` operand in hardware-encoding terms.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Rm<'a> {
    /// A register (GPR or XMM) by encoding, 0–15.
    Reg(u8),
    /// Memory.
    Mem(&'a Amode),
}

#[inline]
const fn modrm(md: u8, reg: u8, rm: u8) -> u8 {
    (md << 6) | ((reg & 7) << 3) | (rm & 7)
}

fn put_prefixes_and_opcode<S: CodeSink<X64LabelUse>>(
    sink: &mut S,
    op: Op,
    rex: u8,
    force_rex: bool,
) {
    if op.p66 {
        sink.put1(0x66);
    }
    if op.rep != 0 {
        sink.put1(op.rep);
    }
    if rex != 0x40 || force_rex {
        sink.put1(rex);
    }
    match op.map {
        Map::Base => {}
        Map::M0F => sink.put1(0x0F),
        Map::M0F38 => {
            sink.put1(0x0F);
            sink.put1(0x38);
        }
        Map::M0F3A => {
            sink.put1(0x0F);
            sink.put1(0x3A);
        }
    }
    sink.put1(op.op);
}

/// Emit a complete ModRM-form instruction: `op` with REX.W = `w`, ModRM.reg = `reg` (a
/// register encoding 0–15 or an opcode extension `/0`–`/7`), ModRM.rm = `rm`, then `imm`.
/// `force_rex` emits a REX prefix even when no REX bit is needed (8-bit `spl`..`dil`).
pub fn emit_rm<S: CodeSink<X64LabelUse>>(
    sink: &mut S,
    op: Op,
    w: bool,
    force_rex: bool,
    reg: u8,
    rm: Rm<'_>,
    imm: Imm,
) {
    let start = sink.cur_offset();
    let r = (reg >> 3) & 1;
    let (x, b) = rm_ext(rm);
    let rex = 0x40 | ((w as u8) << 3) | (r << 2) | (x << 1) | b;
    put_prefixes_and_opcode(sink, op, rex, force_rex);
    put_operands(sink, start, reg, rm, imm);
}

/// The `(X, B)` register-extension bits of an `r/m` operand.
fn rm_ext(rm: Rm<'_>) -> (u8, u8) {
    match rm {
        Rm::Reg(e) => (0, (e >> 3) & 1),
        Rm::Mem(Amode::Mem { base, index, .. }) => (
            index.map_or(0, |i| (i.reg().enc() >> 3) & 1),
            (base.enc() >> 3) & 1,
        ),
        Rm::Mem(Amode::RipLabel(_)) => (0, 0),
    }
}

/// Emit a VEX-encoded (AVX, 128-bit, L = 0) ModRM-form instruction: `op`'s mandatory
/// prefix and map move into the VEX prefix (the two-byte `C5` form when it can express
/// them, else `C4`), `vvvv` is the extra source register, W = `w`.
pub fn emit_vex_rm<S: CodeSink<X64LabelUse>>(
    sink: &mut S,
    op: Op,
    w: bool,
    vvvv: u8,
    reg: u8,
    rm: Rm<'_>,
    imm: Imm,
) {
    let start = sink.cur_offset();
    let r = (reg >> 3) & 1;
    let (x, b) = rm_ext(rm);
    let pp = match (op.p66, op.rep) {
        (true, _) => 1,
        (false, 0xF3) => 2,
        (false, 0xF2) => 3,
        _ => 0,
    };
    let mmmmm = match op.map {
        Map::M0F38 => 2,
        Map::M0F3A => 3,
        _ => 1,
    };
    let v = (!vvvv & 0xF) << 3;
    if mmmmm == 1 && x == 0 && b == 0 && !w {
        sink.put1(0xC5);
        sink.put1(((!r & 1) << 7) | v | pp);
    } else {
        sink.put1(0xC4);
        sink.put1(((!r & 1) << 7) | ((!x & 1) << 6) | ((!b & 1) << 5) | mmmmm);
        sink.put1(((w as u8) << 7) | v | pp);
    }
    sink.put1(op.op);
    put_operands(sink, start, reg, rm, imm);
}

/// ModRM, SIB, displacement and immediate (and a RIP-relative label use, measured from the
/// instruction's `start`).
fn put_operands<S: CodeSink<X64LabelUse>>(sink: &mut S, start: u64, reg: u8, rm: Rm<'_>, imm: Imm) {
    match rm {
        Rm::Reg(e) => {
            sink.put1(modrm(3, reg, e));
            imm.put(sink);
        }
        Rm::Mem(&Amode::Mem { base, index, disp }) => {
            let b3 = base.enc() & 7;
            // rbp/r13 as a base with mod=00 would mean "no base" / RIP: force a disp8.
            let md = if disp == 0 && b3 != 5 {
                0
            } else if i8::try_from(disp).is_ok() {
                1
            } else {
                2
            };
            match index {
                None if b3 != 4 => sink.put1(modrm(md, reg, b3)),
                // rsp/r12 as a base needs a SIB byte (rm=100), with index=100 meaning none.
                None => {
                    sink.put1(modrm(md, reg, 4));
                    sink.put1(0x24);
                }
                Some(i) => {
                    sink.put1(modrm(md, reg, 4));
                    sink.put1(((i.scale() as u8) << 6) | ((i.reg().enc() & 7) << 3) | b3);
                }
            }
            match md {
                0 => {}
                1 => sink.put1(disp as u8),
                _ => sink.put4(disp as u32),
            }
            imm.put(sink);
        }
        Rm::Mem(&Amode::RipLabel(label)) => {
            sink.put1(modrm(0, reg, 5));
            let field_offset = (sink.cur_offset() - start) as u8;
            sink.put4(0);
            imm.put(sink);
            sink.use_label_at_offset(
                start,
                label,
                X64LabelUse::PCRel32 {
                    field_offset,
                    trailing: imm.size(),
                },
            );
        }
    }
}

/// Emit an opcode-plus-register instruction (`push`/`pop`/`mov r, imm`): `op.op + (reg & 7)`
/// with REX.B from `reg`, followed by `imm` and then `imm64` if given.
pub fn emit_opreg<S: CodeSink<X64LabelUse>>(
    sink: &mut S,
    op: Op,
    w: bool,
    reg: u8,
    imm: Imm,
    imm64: Option<u64>,
) {
    let rex = 0x40 | ((w as u8) << 3) | ((reg >> 3) & 1);
    let op = Op {
        op: op.op + (reg & 7),
        ..op
    };
    put_prefixes_and_opcode(sink, op, rex, false);
    imm.put(sink);
    if let Some(v) = imm64 {
        sink.put8(v);
    }
}

/// Emit an instruction without operands (`op` with optional REX.W).
pub fn emit_plain<S: CodeSink<X64LabelUse>>(sink: &mut S, op: Op, w: bool) {
    put_prefixes_and_opcode(sink, op, 0x40 | ((w as u8) << 3), false);
}
