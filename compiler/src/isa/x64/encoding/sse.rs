//! SSE/SSE2 (baseline) and SSSE3/SSE4.1 (flag-gated) instruction forms.
//!
//! Every opcode enum states the ISA extension it needs ([`SseLevel`]); the encoders do not
//! check ISA flags — lowering only selects an opcode when its level is enabled.
//! Operand order is Intel's: `dst` first. Memory operands of packed forms (other than the
//! `movu*`/`movdqu` moves) must be 16-byte aligned at run time.

use super::gpr::Sink;
use super::rex::{emit_rm, emit_vex_rm, Imm, Map, Op, Rm};
use super::{Amode, GprMem, XmmMem};
use crate::isa::x64::regs::{Gpr, OperandSize, Xmm};

/// The instruction-set extension an opcode needs.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum SseLevel {
    /// SSE (baseline).
    Sse,
    /// SSE2 (baseline).
    Sse2,
    /// SSSE3.
    Ssse3,
    /// SSE4.1.
    Sse41,
    /// SSE4.2.
    Sse42,
}

#[inline]
fn xm(src: XmmMem<'_>) -> Rm<'_> {
    match src {
        XmmMem::Xmm(r) => Rm::Reg(r.enc()),
        XmmMem::Mem(a) => Rm::Mem(a),
    }
}

#[inline]
fn gm(src: GprMem<'_>) -> Rm<'_> {
    match src {
        GprMem::Gpr(r) => Rm::Reg(r.enc()),
        GprMem::Mem(a) => Rm::Mem(a),
    }
}

const fn ps(op: u8) -> Op {
    Op::of(op)
}
const fn pd(op: u8) -> Op {
    Op::of(op).p66()
}
const fn ss(op: u8) -> Op {
    Op::of(op).rep(0xF3)
}
const fn sd(op: u8) -> Op {
    Op::of(op).rep(0xF2)
}
const fn p38(op: u8) -> Op {
    Op::of(op).p66().map(Map::M0F38)
}
const fn p3a(op: u8) -> Op {
    Op::of(op).p66().map(Map::M0F3A)
}

macro_rules! sse_ops {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $enc:expr, $lvl:ident, $mn:literal;)* }) => {
        $(#[$m])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
        pub enum $name { $($(#[$vm])* #[doc = concat!("`", $mn, "`")] $v,)* }
        impl $name {
            /// Every opcode of this family.
            pub const ALL: &'static [$name] = &[$($name::$v,)*];
            /// Prefixes, map and opcode byte.
            pub const fn op(self) -> Op { match self { $($name::$v => $enc,)* } }
            /// The extension it needs.
            pub const fn level(self) -> SseLevel { match self { $($name::$v => SseLevel::$lvl,)* } }
            /// The mnemonic.
            pub const fn mnemonic(self) -> &'static str { match self { $($name::$v => $mn,)* } }
        }
    };
}

sse_ops! {
    /// Two-operand `op xmm, xmm/m` instructions (`dst = dst op src`, or `dst = op(src)` for
    /// the conversions and square roots; `ucomis*`/`ptest` only set flags).
    SseOp {
        Addss = ss(0x58), Sse, "addss";
        Addsd = sd(0x58), Sse2, "addsd";
        Addps = ps(0x58), Sse, "addps";
        Addpd = pd(0x58), Sse2, "addpd";
        Subss = ss(0x5C), Sse, "subss";
        Subsd = sd(0x5C), Sse2, "subsd";
        Subps = ps(0x5C), Sse, "subps";
        Subpd = pd(0x5C), Sse2, "subpd";
        Mulss = ss(0x59), Sse, "mulss";
        Mulsd = sd(0x59), Sse2, "mulsd";
        Mulps = ps(0x59), Sse, "mulps";
        Mulpd = pd(0x59), Sse2, "mulpd";
        Divss = ss(0x5E), Sse, "divss";
        Divsd = sd(0x5E), Sse2, "divsd";
        Divps = ps(0x5E), Sse, "divps";
        Divpd = pd(0x5E), Sse2, "divpd";
        Sqrtss = ss(0x51), Sse, "sqrtss";
        Sqrtsd = sd(0x51), Sse2, "sqrtsd";
        Sqrtps = ps(0x51), Sse, "sqrtps";
        Sqrtpd = pd(0x51), Sse2, "sqrtpd";
        Minss = ss(0x5D), Sse, "minss";
        Minsd = sd(0x5D), Sse2, "minsd";
        Minps = ps(0x5D), Sse, "minps";
        Minpd = pd(0x5D), Sse2, "minpd";
        Maxss = ss(0x5F), Sse, "maxss";
        Maxsd = sd(0x5F), Sse2, "maxsd";
        Maxps = ps(0x5F), Sse, "maxps";
        Maxpd = pd(0x5F), Sse2, "maxpd";
        Ucomiss = ps(0x2E), Sse, "ucomiss";
        Ucomisd = pd(0x2E), Sse2, "ucomisd";
        Cvtss2sd = ss(0x5A), Sse2, "cvtss2sd";
        Cvtsd2ss = sd(0x5A), Sse2, "cvtsd2ss";
        Cvtdq2ps = ps(0x5B), Sse2, "cvtdq2ps";
        Cvttps2dq = ss(0x5B), Sse2, "cvttps2dq";
        Andps = ps(0x54), Sse, "andps";
        Andpd = pd(0x54), Sse2, "andpd";
        Andnps = ps(0x55), Sse, "andnps";
        Andnpd = pd(0x55), Sse2, "andnpd";
        Orps = ps(0x56), Sse, "orps";
        Orpd = pd(0x56), Sse2, "orpd";
        Xorps = ps(0x57), Sse, "xorps";
        Xorpd = pd(0x57), Sse2, "xorpd";
        Paddb = pd(0xFC), Sse2, "paddb";
        Paddw = pd(0xFD), Sse2, "paddw";
        Paddd = pd(0xFE), Sse2, "paddd";
        Paddq = pd(0xD4), Sse2, "paddq";
        Psubb = pd(0xF8), Sse2, "psubb";
        Psubw = pd(0xF9), Sse2, "psubw";
        Psubd = pd(0xFA), Sse2, "psubd";
        Psubq = pd(0xFB), Sse2, "psubq";
        Pmullw = pd(0xD5), Sse2, "pmullw";
        Pmuludq = pd(0xF4), Sse2, "pmuludq";
        Pand = pd(0xDB), Sse2, "pand";
        Pandn = pd(0xDF), Sse2, "pandn";
        Por = pd(0xEB), Sse2, "por";
        Pxor = pd(0xEF), Sse2, "pxor";
        Pcmpeqb = pd(0x74), Sse2, "pcmpeqb";
        Pcmpeqw = pd(0x75), Sse2, "pcmpeqw";
        Pcmpeqd = pd(0x76), Sse2, "pcmpeqd";
        Pcmpgtb = pd(0x64), Sse2, "pcmpgtb";
        Pcmpgtw = pd(0x65), Sse2, "pcmpgtw";
        Pcmpgtd = pd(0x66), Sse2, "pcmpgtd";
        Punpcklbw = pd(0x60), Sse2, "punpcklbw";
        Punpcklwd = pd(0x61), Sse2, "punpcklwd";
        Punpckldq = pd(0x62), Sse2, "punpckldq";
        Punpcklqdq = pd(0x6C), Sse2, "punpcklqdq";
        Punpckhbw = pd(0x68), Sse2, "punpckhbw";
        Punpckhwd = pd(0x69), Sse2, "punpckhwd";
        Punpckhdq = pd(0x6A), Sse2, "punpckhdq";
        Punpckhqdq = pd(0x6D), Sse2, "punpckhqdq";
        Psllw = pd(0xF1), Sse2, "psllw";
        Pslld = pd(0xF2), Sse2, "pslld";
        Psllq = pd(0xF3), Sse2, "psllq";
        Psrlw = pd(0xD1), Sse2, "psrlw";
        Psrld = pd(0xD2), Sse2, "psrld";
        Psrlq = pd(0xD3), Sse2, "psrlq";
        Psraw = pd(0xE1), Sse2, "psraw";
        Psrad = pd(0xE2), Sse2, "psrad";
        Pshufb = p38(0x00), Ssse3, "pshufb";
        Pabsb = p38(0x1C), Ssse3, "pabsb";
        Pabsw = p38(0x1D), Ssse3, "pabsw";
        Pabsd = p38(0x1E), Ssse3, "pabsd";
        Pmulld = p38(0x40), Sse41, "pmulld";
        Pmulhw = pd(0xE5), Sse2, "pmulhw";
        Pmulhuw = pd(0xE4), Sse2, "pmulhuw";
        Pmaddwd = pd(0xF5), Sse2, "pmaddwd";
        Pmaddubsw = p38(0x04), Ssse3, "pmaddubsw";
        Pmulhrsw = p38(0x0B), Ssse3, "pmulhrsw";
        Pmuldq = p38(0x28), Sse41, "pmuldq";
        Pcmpeqq = p38(0x29), Sse41, "pcmpeqq";
        Pcmpgtq = p38(0x37), Sse42, "pcmpgtq";
        Pminsb = p38(0x38), Sse41, "pminsb";
        Pminsd = p38(0x39), Sse41, "pminsd";
        Pminuw = p38(0x3A), Sse41, "pminuw";
        Pminud = p38(0x3B), Sse41, "pminud";
        Pmaxsb = p38(0x3C), Sse41, "pmaxsb";
        Pmaxsd = p38(0x3D), Sse41, "pmaxsd";
        Pmaxuw = p38(0x3E), Sse41, "pmaxuw";
        Pmaxud = p38(0x3F), Sse41, "pmaxud";
        Ptest = p38(0x17), Sse41, "ptest";
        Paddsb = pd(0xEC), Sse2, "paddsb";
        Paddsw = pd(0xED), Sse2, "paddsw";
        Paddusb = pd(0xDC), Sse2, "paddusb";
        Paddusw = pd(0xDD), Sse2, "paddusw";
        Psubsb = pd(0xE8), Sse2, "psubsb";
        Psubsw = pd(0xE9), Sse2, "psubsw";
        Psubusb = pd(0xD8), Sse2, "psubusb";
        Psubusw = pd(0xD9), Sse2, "psubusw";
        Pavgb = pd(0xE0), Sse2, "pavgb";
        Pavgw = pd(0xE3), Sse2, "pavgw";
        Pminub = pd(0xDA), Sse2, "pminub";
        Pmaxub = pd(0xDE), Sse2, "pmaxub";
        Pminsw = pd(0xEA), Sse2, "pminsw";
        Pmaxsw = pd(0xEE), Sse2, "pmaxsw";
        Packsswb = pd(0x63), Sse2, "packsswb";
        Packuswb = pd(0x67), Sse2, "packuswb";
        Packssdw = pd(0x6B), Sse2, "packssdw";
        Packusdw = p38(0x2B), Sse41, "packusdw";
        Pmovsxbw = p38(0x20), Sse41, "pmovsxbw";
        Pmovsxwd = p38(0x23), Sse41, "pmovsxwd";
        Pmovsxdq = p38(0x25), Sse41, "pmovsxdq";
        Pmovzxbw = p38(0x30), Sse41, "pmovzxbw";
        Pmovzxwd = p38(0x33), Sse41, "pmovzxwd";
        Pmovzxdq = p38(0x35), Sse41, "pmovzxdq";
        Cvtdq2pd = ss(0xE6), Sse2, "cvtdq2pd";
        Cvtps2pd = ps(0x5A), Sse2, "cvtps2pd";
        Cvtpd2ps = pd(0x5A), Sse2, "cvtpd2ps";
        Cvttpd2dq = pd(0xE6), Sse2, "cvttpd2dq";
    }
}

impl SseOp {
    /// Does the VEX (AVX) form take three operands, `vop dst, src1, src2` with the same
    /// meaning as `op src1, src2` written to `dst`? False for the forms that only read
    /// their second operand (conversions, square roots, `pabs`, `pmovsx`/`pmovzx`) and for
    /// the flag-setting compares.
    pub const fn vex_three_operand(self) -> bool {
        use SseOp::*;
        !matches!(
            self,
            Sqrtss
                | Sqrtsd
                | Sqrtps
                | Sqrtpd
                | Ucomiss
                | Ucomisd
                | Cvtss2sd
                | Cvtsd2ss
                | Cvtdq2ps
                | Cvttps2dq
                | Cvtdq2pd
                | Cvtps2pd
                | Cvtpd2ps
                | Cvttpd2dq
                | Pabsb
                | Pabsw
                | Pabsd
                | Ptest
                | Pmovsxbw
                | Pmovsxwd
                | Pmovsxdq
                | Pmovzxbw
                | Pmovzxwd
                | Pmovzxdq
        )
    }
}

/// `vop dst, src1, src2[, imm]` (AVX, VEX.128): the legacy opcode `op` with `src1` in
/// `VEX.vvvv`, `dst` in ModRM.reg and `src2` in ModRM.rm.
fn vex_three(sink: &mut impl Sink, op: Op, dst: Xmm, src1: Xmm, src2: XmmMem<'_>, imm: Imm) {
    emit_vex_rm(sink, op, false, src1.enc(), dst.enc(), xm(src2), imm);
}

/// `vop dst, src1, src2` (AVX, VEX.128) for an [`SseOp`] with
/// [`SseOp::vex_three_operand`].
pub fn vex_rrm(sink: &mut impl Sink, op: SseOp, dst: Xmm, src1: Xmm, src2: XmmMem<'_>) {
    debug_assert!(op.vex_three_operand());
    vex_three(sink, op.op(), dst, src1, src2, Imm::None);
}

/// `op dst, src` for an [`SseOp`].
pub fn xmm_rmr(sink: &mut impl Sink, op: SseOp, dst: Xmm, src: XmmMem<'_>) {
    emit_rm(sink, op.op(), false, false, dst.enc(), xm(src), Imm::None);
}

sse_ops! {
    /// Register/memory moves: each has a load form (`xmm ← xmm/m`) and a store form
    /// (`m ← xmm`). `movss`/`movsd` between registers merge into the low lane only; loads
    /// zero the upper lanes.
    XmmMov {
        Movss = ss(0x10), Sse, "movss";
        Movsd = sd(0x10), Sse2, "movsd";
        Movaps = ps(0x28), Sse, "movaps";
        Movapd = pd(0x28), Sse2, "movapd";
        Movups = ps(0x10), Sse, "movups";
        Movupd = pd(0x10), Sse2, "movupd";
        Movdqa = pd(0x6F), Sse2, "movdqa";
        Movdqu = ss(0x6F), Sse2, "movdqu";
    }
}

impl XmmMov {
    fn store_op(self) -> Op {
        let o = self.op();
        let op = match o.op {
            0x10 => 0x11,
            0x28 => 0x29,
            _ => 0x7F,
        };
        Op { op, ..o }
    }
}

/// `op dst, src` between registers (load-form opcode).
pub fn xmm_mov_rr(sink: &mut impl Sink, op: XmmMov, dst: Xmm, src: Xmm) {
    emit_rm(
        sink,
        op.op(),
        false,
        false,
        dst.enc(),
        Rm::Reg(src.enc()),
        Imm::None,
    );
}

/// Load `op dst, [src]`.
pub fn xmm_load(sink: &mut impl Sink, op: XmmMov, dst: Xmm, src: &Amode) {
    emit_rm(
        sink,
        op.op(),
        false,
        false,
        dst.enc(),
        Rm::Mem(src),
        Imm::None,
    );
}

/// Store `op [dst], src`.
pub fn xmm_store(sink: &mut impl Sink, op: XmmMov, dst: &Amode, src: Xmm) {
    emit_rm(
        sink,
        op.store_op(),
        false,
        false,
        src.enc(),
        Rm::Mem(dst),
        Imm::None,
    );
}

/// `movd xmm, r/m32` (32-bit) or `movq xmm, r/m64` (64-bit): `66 [REX.W] 0F 6E /r`; the
/// upper lanes are zeroed. Precondition: `size` is 32 or 64 bits.
pub fn movd_to_xmm(sink: &mut impl Sink, size: OperandSize, dst: Xmm, src: GprMem<'_>) {
    debug_assert!(matches!(size, OperandSize::S32 | OperandSize::S64));
    emit_rm(
        sink,
        pd(0x6E),
        size == OperandSize::S64,
        false,
        dst.enc(),
        gm(src),
        Imm::None,
    );
}

/// `movd r/m32, xmm` or `movq r/m64, xmm`: `66 [REX.W] 0F 7E /r`. Precondition: `size` is
/// 32 or 64 bits.
pub fn movd_from_xmm(sink: &mut impl Sink, size: OperandSize, dst: GprMem<'_>, src: Xmm) {
    debug_assert!(matches!(size, OperandSize::S32 | OperandSize::S64));
    emit_rm(
        sink,
        pd(0x7E),
        size == OperandSize::S64,
        false,
        src.enc(),
        gm(dst),
        Imm::None,
    );
}

/// Integer → float conversions.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum CvtIntToFloat {
    /// `cvtsi2ss` (`F3 [REX.W] 0F 2A`).
    Cvtsi2ss,
    /// `cvtsi2sd` (`F2 [REX.W] 0F 2A`).
    Cvtsi2sd,
}

/// `cvtsi2s{s,d} dst, src` with a 32- or 64-bit signed integer source (register or
/// memory). Only the low lane of `dst` is written. Precondition: `size` is 32 or 64 bits.
pub fn cvt_int_to_float(
    sink: &mut impl Sink,
    op: CvtIntToFloat,
    size: OperandSize,
    dst: Xmm,
    src: GprMem<'_>,
) {
    debug_assert!(matches!(size, OperandSize::S32 | OperandSize::S64));
    let opc = match op {
        CvtIntToFloat::Cvtsi2ss => ss(0x2A),
        CvtIntToFloat::Cvtsi2sd => sd(0x2A),
    };
    emit_rm(
        sink,
        opc,
        size == OperandSize::S64,
        false,
        dst.enc(),
        gm(src),
        Imm::None,
    );
}

/// Truncating float → integer conversions.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum CvtFloatToInt {
    /// `cvttss2si` (`F3 [REX.W] 0F 2C`).
    Cvttss2si,
    /// `cvttsd2si` (`F2 [REX.W] 0F 2C`).
    Cvttsd2si,
}

/// `cvtts{s,d}2si dst, src` to a 32- or 64-bit signed integer (the "integer indefinite"
/// value `0x80..0` on NaN or overflow). Precondition: `size` is 32 or 64 bits.
pub fn cvt_float_to_int(
    sink: &mut impl Sink,
    op: CvtFloatToInt,
    size: OperandSize,
    dst: Gpr,
    src: XmmMem<'_>,
) {
    debug_assert!(matches!(size, OperandSize::S32 | OperandSize::S64));
    let opc = match op {
        CvtFloatToInt::Cvttss2si => ss(0x2C),
        CvtFloatToInt::Cvttsd2si => sd(0x2C),
    };
    emit_rm(
        sink,
        opc,
        size == OperandSize::S64,
        false,
        dst.enc(),
        xm(src),
        Imm::None,
    );
}

sse_ops! {
    /// `op dst, src, imm8` instructions.
    SseImmOp {
        Pshufd = pd(0x70), Sse2, "pshufd";
        Pshuflw = sd(0x70), Sse2, "pshuflw";
        Pshufhw = ss(0x70), Sse2, "pshufhw";
        Shufps = ps(0xC6), Sse, "shufps";
        Shufpd = pd(0xC6), Sse2, "shufpd";
        Palignr = p3a(0x0F), Ssse3, "palignr";
        Roundps = p3a(0x08), Sse41, "roundps";
        Roundpd = p3a(0x09), Sse41, "roundpd";
        Roundss = p3a(0x0A), Sse41, "roundss";
        Roundsd = p3a(0x0B), Sse41, "roundsd";
        Pblendw = p3a(0x0E), Sse41, "pblendw";
    }
}

/// `op dst, src, imm` for an [`SseImmOp`]. For `round*`, `imm` bits 0–1 are the rounding
/// mode (0 nearest, 1 down, 2 up, 3 toward zero), bit 2 selects MXCSR instead, bit 3
/// suppresses the precision exception.
pub fn xmm_rmri(sink: &mut impl Sink, op: SseImmOp, dst: Xmm, src: XmmMem<'_>, imm: u8) {
    emit_rm(
        sink,
        op.op(),
        false,
        false,
        dst.enc(),
        xm(src),
        Imm::I8(imm),
    );
}

impl SseImmOp {
    /// Does the operation combine two sources (`shufps`, `shufpd`, `palignr`, `pblendw`),
    /// so that its VEX form `vop dst, src1, src2, imm` is three-operand? The others read
    /// one source (`pshufd`, `round*`).
    pub const fn vex_two_source(self) -> bool {
        matches!(
            self,
            SseImmOp::Shufps | SseImmOp::Shufpd | SseImmOp::Palignr | SseImmOp::Pblendw
        )
    }
}

/// `vop dst, src1, src2, imm` (AVX, VEX.128) for an [`SseImmOp`] with
/// [`SseImmOp::vex_two_source`].
pub fn vex_rrmi(
    sink: &mut impl Sink,
    op: SseImmOp,
    dst: Xmm,
    src1: Xmm,
    src2: XmmMem<'_>,
    imm: u8,
) {
    debug_assert!(op.vex_two_source());
    vex_three(sink, op.op(), dst, src1, src2, Imm::I8(imm));
}

/// Floating-point compare predicates of `cmpps`/`cmppd`/`cmpss`/`cmpsd` (the imm8).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum FloatCmp {
    /// Equal (ordered, non-signaling).
    Eq = 0,
    /// Less than (ordered, signaling).
    Lt = 1,
    /// Less or equal (ordered, signaling).
    Le = 2,
    /// Unordered.
    Unord = 3,
    /// Not equal (unordered or unequal).
    Neq = 4,
    /// Not less than (unordered or `>=`).
    Nlt = 5,
    /// Not less or equal (unordered or `>`).
    Nle = 6,
    /// Ordered.
    Ord = 7,
}

impl FloatCmp {
    /// All predicates in encoding order.
    pub const ALL: [FloatCmp; 8] = [
        FloatCmp::Eq,
        FloatCmp::Lt,
        FloatCmp::Le,
        FloatCmp::Unord,
        FloatCmp::Neq,
        FloatCmp::Nlt,
        FloatCmp::Nle,
        FloatCmp::Ord,
    ];
}

sse_ops! {
    /// Floating-point compares producing lane masks.
    SseCmpOp {
        Cmpps = ps(0xC2), Sse, "cmpps";
        Cmppd = pd(0xC2), Sse2, "cmppd";
        Cmpss = ss(0xC2), Sse, "cmpss";
        Cmpsd = sd(0xC2), Sse2, "cmpsd";
    }
}

/// `cmp<pred>{ps,pd,ss,sd} dst, src`: each lane of `dst` becomes all-ones where
/// `dst <pred> src` holds, else zero.
pub fn xmm_cmp(sink: &mut impl Sink, op: SseCmpOp, dst: Xmm, src: XmmMem<'_>, pred: FloatCmp) {
    emit_rm(
        sink,
        op.op(),
        false,
        false,
        dst.enc(),
        xm(src),
        Imm::I8(pred as u8),
    );
}

/// `vcmp<pred>{ps,pd,ss,sd} dst, src1, src2` (AVX, VEX.128): lane masks of
/// `src1 pred src2` in `dst`.
pub fn vex_cmp(
    sink: &mut impl Sink,
    op: SseCmpOp,
    dst: Xmm,
    src1: Xmm,
    src2: XmmMem<'_>,
    pred: FloatCmp,
) {
    vex_three(sink, op.op(), dst, src1, src2, Imm::I8(pred as u8));
}

/// Packed shifts by an immediate count (`66 0F 71/72/73 /digit ib`).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum XmmShiftImm {
    /// `psrlw`
    Psrlw,
    /// `psraw`
    Psraw,
    /// `psllw`
    Psllw,
    /// `psrld`
    Psrld,
    /// `psrad`
    Psrad,
    /// `pslld`
    Pslld,
    /// `psrlq`
    Psrlq,
    /// `psllq`
    Psllq,
    /// `psrldq` (whole register, count in bytes)
    Psrldq,
    /// `pslldq` (whole register, count in bytes)
    Pslldq,
}

impl XmmShiftImm {
    /// Every form.
    pub const ALL: [XmmShiftImm; 10] = [
        XmmShiftImm::Psrlw,
        XmmShiftImm::Psraw,
        XmmShiftImm::Psllw,
        XmmShiftImm::Psrld,
        XmmShiftImm::Psrad,
        XmmShiftImm::Pslld,
        XmmShiftImm::Psrlq,
        XmmShiftImm::Psllq,
        XmmShiftImm::Psrldq,
        XmmShiftImm::Pslldq,
    ];

    const fn opcode_digit(self) -> (u8, u8) {
        match self {
            XmmShiftImm::Psrlw => (0x71, 2),
            XmmShiftImm::Psraw => (0x71, 4),
            XmmShiftImm::Psllw => (0x71, 6),
            XmmShiftImm::Psrld => (0x72, 2),
            XmmShiftImm::Psrad => (0x72, 4),
            XmmShiftImm::Pslld => (0x72, 6),
            XmmShiftImm::Psrlq => (0x73, 2),
            XmmShiftImm::Psrldq => (0x73, 3),
            XmmShiftImm::Psllq => (0x73, 6),
            XmmShiftImm::Pslldq => (0x73, 7),
        }
    }
}

/// `op dst, imm` for an [`XmmShiftImm`] (SSE2).
pub fn xmm_shift_imm(sink: &mut impl Sink, op: XmmShiftImm, dst: Xmm, imm: u8) {
    let (opc, digit) = op.opcode_digit();
    emit_rm(
        sink,
        pd(opc),
        false,
        false,
        digit,
        Rm::Reg(dst.enc()),
        Imm::I8(imm),
    );
}

/// `vpsrld dst, src, imm` etc. (AVX, VEX.128): the destination is `VEX.vvvv`, the source
/// `r/m`.
pub fn vex_shift_imm(sink: &mut impl Sink, op: XmmShiftImm, dst: Xmm, src: Xmm, imm: u8) {
    let (opc, digit) = op.opcode_digit();
    emit_vex_rm(
        sink,
        pd(opc),
        false,
        dst.enc(),
        digit,
        Rm::Reg(src.enc()),
        Imm::I8(imm),
    );
}

/// Lane width of `pinsr*`/`pextr*`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Lane {
    /// Byte (`pinsrb`/`pextrb`, SSE4.1).
    B,
    /// Word (`pinsrw`/`pextrw`, SSE2; `pextrw` to memory needs SSE4.1).
    W,
    /// Doubleword (`pinsrd`/`pextrd`, SSE4.1).
    D,
    /// Quadword (`pinsrq`/`pextrq`, SSE4.1, REX.W).
    Q,
}

/// `pinsr{b,w,d,q} dst, src, lane`: insert the low bits of a GPR (given as `r32`, or `r64`
/// for `Q`) or a memory operand into lane `lane` of `dst`.
pub fn pinsr(sink: &mut impl Sink, width: Lane, dst: Xmm, src: GprMem<'_>, lane: u8) {
    let (op, w) = match width {
        Lane::B => (p3a(0x20), false),
        Lane::W => (pd(0xC4), false),
        Lane::D => (p3a(0x22), false),
        Lane::Q => (p3a(0x22), true),
    };
    emit_rm(sink, op, w, false, dst.enc(), gm(src), Imm::I8(lane));
}

/// `pextr{b,w,d,q} dst, src, lane`: extract lane `lane` of `src`, zero-extended, into a GPR
/// (`r32`, or `r64` for `Q`) or store it to memory.
pub fn pextr(sink: &mut impl Sink, width: Lane, dst: GprMem<'_>, src: Xmm, lane: u8) {
    match (width, dst) {
        // SSE2 register form: the GPR is in ModRM.reg.
        (Lane::W, GprMem::Gpr(r)) => {
            emit_rm(
                sink,
                pd(0xC5),
                false,
                false,
                r.enc(),
                Rm::Reg(src.enc()),
                Imm::I8(lane),
            );
        }
        _ => {
            let (op, w) = match width {
                Lane::B => (p3a(0x14), false),
                Lane::W => (p3a(0x15), false),
                Lane::D => (p3a(0x16), false),
                Lane::Q => (p3a(0x16), true),
            };
            emit_rm(sink, op, w, false, src.enc(), gm(dst), Imm::I8(lane));
        }
    }
}

sse_ops! {
    /// Sign-bit mask extraction into a 32-bit GPR.
    MovmskOp {
        Movmskps = ps(0x50), Sse, "movmskps";
        Movmskpd = pd(0x50), Sse2, "movmskpd";
        Pmovmskb = pd(0xD7), Sse2, "pmovmskb";
    }
}

/// `op dst32, src` for a [`MovmskOp`].
pub fn movmsk(sink: &mut impl Sink, op: MovmskOp, dst: Gpr, src: Xmm) {
    emit_rm(
        sink,
        op.op(),
        false,
        false,
        dst.enc(),
        Rm::Reg(src.enc()),
        Imm::None,
    );
}
