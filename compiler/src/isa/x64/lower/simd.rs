//! x86_64 lowering of the vector operations added for Wasm SIMD: float lane arithmetic,
//! min/max and comparisons, rounding, the integer families (saturating arithmetic,
//! min/max, average, abs, popcnt, shifts by a scalar), `bitselect`, the reductions,
//! `shuffle`/`swizzle`, narrowing/widening and the vector conversions.
//!
//! Preconditions: SSSE3 and SSE4.1 (as for [`super::vector`]); verified IR — lane widths
//! an opcode does not take are refused as unsupported, never lowered as another width.
//! Sequences where no single
//! instruction exists:
//! - `fmin`/`fmax`: `minps`/`maxps` in both operand orders, OR-ed (min, so `-0 < +0`) or
//!   AND-ed (max); lanes where either input is NaN become the canonical NaN with the sign
//!   bit set (Wasm allows either sign);
//! - `fmin_pseudo a, b` is `minps b, a` (`b < a ? b : a`), `fmax_pseudo` is `maxps b, a`;
//! - 8-bit shifts widen to 16-bit lanes (`punpck*bw`), shift, and pack back; `sshr.i64x2`
//!   is `((x >>u n) ^ m) - m` with `m = 1 << 63 >> n`;
//! - `popcnt.i8x16` looks up both nibbles with `pshufb`;
//! - widening multiplies: 8-bit lanes widen then `pmullw`; 16-bit lanes interleave
//!   `pmullw` with `pmulhw`/`pmulhuw`; 32-bit lanes move the half into the even lanes for
//!   `pmuldq`/`pmuludq`; pairwise adds are `pmaddubsw`/`pmaddwd` with ones (the unsigned
//!   16-bit form biased by `0x8000`); `sdot` is `pmaddwd`; `sqmul_round_sat` is `pmulhrsw`
//!   with the one overflowing lane (`0x8000`) flipped to `0x7fff`;
//! - `iabs.i64x2` is `(x ^ s) - s` with `s` the broadcast sign;
//! - unsigned conversions split the value (f32 ← u32: low and high 16 bits; f64 ← u32:
//!   the `2^52` exponent trick), saturating float → int conversions mask NaN to 0 and fix
//!   up lanes out of range.

use regalloc2::RegClass;

use super::super::encoding::gpr::AluOp;
use super::super::encoding::sse::{FloatCmp, MovmskOp, SseCmpOp, SseImmOp, SseOp, XmmShiftImm};
use super::super::encoding::Cc;
use super::super::inst::MInst;
use super::super::regs::OperandSize;
use super::vector::{emit_vconst, finish, pshufd, splat_bits, xconst_op, xop, xshift};
use super::Ctx;
use crate::ir::{FloatCC, Inst, InstructionData, Opcode, Type};
use crate::machinst::{CodegenError, Reg};

type R = Result<(), CodegenError>;

fn xunary(ctx: &mut Ctx<'_>, op: SseOp, src: Reg) -> Reg {
    let dst = ctx.alloc_tmp(RegClass::Float);
    ctx.emit(MInst::XmmUnary { op, src, dst });
    dst
}

fn xrri(ctx: &mut Ctx<'_>, op: SseImmOp, a: Reg, b: Reg, imm: u8) -> Reg {
    let dst = ctx.alloc_tmp(RegClass::Float);
    ctx.emit(MInst::XmmRRImm {
        op,
        src1: a,
        src2: b,
        imm,
        dst,
    });
    dst
}

fn xconst(ctx: &mut Ctx<'_>, bits: u128) -> Reg {
    let dst = ctx.alloc_tmp(RegClass::Float);
    emit_vconst(ctx, dst, bits);
    dst
}

fn zero(ctx: &mut Ctx<'_>) -> Reg {
    xconst(ctx, 0)
}

/// A lane-sized float constant in every lane.
fn fsplat(f64_lanes: bool, v: f64) -> u128 {
    if f64_lanes {
        splat_bits(u128::from(v.to_bits()), 64)
    } else {
        splat_bits(u128::from((v as f32).to_bits()), 32)
    }
}

/// `cmpps`/`cmppd a, b, pred`.
fn fcmp_mask(ctx: &mut Ctx<'_>, f64_lanes: bool, pred: FloatCmp, a: Reg, b: Reg) -> Reg {
    let op = if f64_lanes {
        SseCmpOp::Cmppd
    } else {
        SseCmpOp::Cmpps
    };
    let dst = ctx.alloc_tmp(RegClass::Float);
    ctx.emit(MInst::XmmCmp {
        op,
        pred,
        src1: a,
        src2: b,
        dst,
    });
    dst
}

/// A float comparison as lane masks.
fn lower_fcmp(ctx: &mut Ctx<'_>, f64_lanes: bool, cc: FloatCC, a: Reg, b: Reg) -> Reg {
    use FloatCC::*;
    let c = |ctx: &mut Ctx<'_>, p, x, y| fcmp_mask(ctx, f64_lanes, p, x, y);
    match cc {
        Equal => c(ctx, FloatCmp::Eq, a, b),
        NotEqual => c(ctx, FloatCmp::Neq, a, b),
        LessThan => c(ctx, FloatCmp::Lt, a, b),
        LessThanOrEqual => c(ctx, FloatCmp::Le, a, b),
        GreaterThan => c(ctx, FloatCmp::Lt, b, a),
        GreaterThanOrEqual => c(ctx, FloatCmp::Le, b, a),
        Ordered => c(ctx, FloatCmp::Ord, a, b),
        Unordered => c(ctx, FloatCmp::Unord, a, b),
        UnorderedOrLessThan => c(ctx, FloatCmp::Nle, b, a),
        UnorderedOrLessThanOrEqual => c(ctx, FloatCmp::Nlt, b, a),
        UnorderedOrGreaterThan => c(ctx, FloatCmp::Nle, a, b),
        UnorderedOrGreaterThanOrEqual => c(ctx, FloatCmp::Nlt, a, b),
        OrderedNotEqual => {
            let o = c(ctx, FloatCmp::Ord, a, b);
            let n = c(ctx, FloatCmp::Neq, a, b);
            xop(ctx, SseOp::Pand, o, n)
        }
        UnorderedOrEqual => {
            let u = c(ctx, FloatCmp::Unord, a, b);
            let e = c(ctx, FloatCmp::Eq, a, b);
            xop(ctx, SseOp::Por, u, e)
        }
    }
}

/// Wasm `fmin`/`fmax` on float lanes.
fn lower_fminmax(ctx: &mut Ctx<'_>, f64_lanes: bool, max: bool, a: Reg, b: Reg) -> Reg {
    let op = match (max, f64_lanes) {
        (false, false) => SseOp::Minps,
        (false, true) => SseOp::Minpd,
        (true, false) => SseOp::Maxps,
        (true, true) => SseOp::Maxpd,
    };
    let t1 = xop(ctx, op, a, b);
    let t2 = xop(ctx, op, b, a);
    // Equal lanes differ at most in the sign of zero: OR picks -0 for min, AND +0 for max.
    let r = xop(ctx, if max { SseOp::Pand } else { SseOp::Por }, t1, t2);
    let nan = fcmp_mask(ctx, f64_lanes, FloatCmp::Unord, a, b);
    let r = xop(ctx, SseOp::Por, r, nan);
    // Keep sign, exponent and the quiet bit of NaN lanes: the canonical NaN.
    let (shift, k) = if f64_lanes {
        (XmmShiftImm::Psrlq, 13)
    } else {
        (XmmShiftImm::Psrld, 10)
    };
    let low = xshift(ctx, shift, nan, k);
    xop(ctx, SseOp::Pandn, low, r)
}

pub(super) fn lower(ctx: &mut Ctx<'_>, inst: Inst, op: Opcode, ty: Type) -> R {
    use Opcode::*;
    let data = *ctx.data(inst);
    match data {
        InstructionData::Binary { args: [x, y], .. } => {
            let xty = ctx.value_type(x);
            let dst = ctx.output_reg(inst, 0)?;
            let a = ctx.value_reg(x);
            let b = ctx.value_reg(y);
            let r = lower_binary(ctx, inst, op, xty, a, b)?;
            finish(ctx, r, dst);
            Ok(())
        }
        InstructionData::Unary { arg, .. } => {
            let aty = ctx.value_type(arg);
            let dst = ctx.output_reg(inst, 0)?;
            let a = ctx.value_reg(arg);
            let r = lower_unary(ctx, inst, op, ty, aty, a)?;
            match op {
                VanyTrue | VallTrue | VhighBits => ctx.emit(MInst::MovRR { src: r, dst }),
                _ => finish(ctx, r, dst),
            }
            Ok(())
        }
        InstructionData::FloatCompare {
            cond, args: [x, y], ..
        } => {
            let f64_lanes = ctx.value_type(x).lane_bits() == 64;
            let dst = ctx.output_reg(inst, 0)?;
            let (a, b) = (ctx.value_reg(x), ctx.value_reg(y));
            let r = lower_fcmp(ctx, f64_lanes, cond, a, b);
            finish(ctx, r, dst);
            Ok(())
        }
        InstructionData::Ternary {
            opcode: Bitselect,
            args: [c, x, y],
        } => {
            let dst = ctx.output_reg(inst, 0)?;
            let (m, a, b) = (ctx.value_reg(c), ctx.value_reg(x), ctx.value_reg(y));
            let t = xop(ctx, SseOp::Pand, a, m);
            let e = xop(ctx, SseOp::Pandn, m, b);
            let r = xop(ctx, SseOp::Por, t, e);
            finish(ctx, r, dst);
            Ok(())
        }
        InstructionData::Shuffle {
            args: [x, y], mask, ..
        } => {
            let dst = ctx.output_reg(inst, 0)?;
            let m = ctx.constant(mask)?;
            let (a, b) = (ctx.value_reg(x), ctx.value_reg(y));
            let r = lower_shuffle(ctx, x == y, a, b, m);
            finish(ctx, r, dst);
            Ok(())
        }
        _ => Err(ctx.unsupported(inst)),
    }
}

fn lower_shuffle(ctx: &mut Ctx<'_>, same: bool, a: Reg, b: Reg, m: [u8; 16]) -> Reg {
    let pick = |from_b: bool| -> u128 {
        let mut bytes = [0x80u8; 16];
        for (i, &k) in m.iter().enumerate() {
            if same || (k >= 16) == from_b {
                bytes[i] = k & 15;
            }
        }
        u128::from_le_bytes(bytes)
    };
    if same || m.iter().all(|&k| k < 16) {
        return xconst_op(ctx, SseOp::Pshufb, a, pick(false));
    }
    if m.iter().all(|&k| k >= 16) {
        return xconst_op(ctx, SseOp::Pshufb, b, pick(true));
    }
    let ra = xconst_op(ctx, SseOp::Pshufb, a, pick(false));
    let rb = xconst_op(ctx, SseOp::Pshufb, b, pick(true));
    xop(ctx, SseOp::Por, ra, rb)
}

/// The shift amount `amt & (width - 1)` (plus `extra`) in an XMM register.
fn shift_amount(ctx: &mut Ctx<'_>, amt: Reg, width: u32, extra: i32) -> Reg {
    let g = ctx.alloc_tmp(RegClass::Int);
    ctx.emit(MInst::AluRI {
        op: AluOp::And,
        size: OperandSize::S32,
        src1: amt,
        imm: width as i32 - 1,
        dst: g,
    });
    let g = if extra != 0 {
        let g2 = ctx.alloc_tmp(RegClass::Int);
        ctx.emit(MInst::AluRI {
            op: AluOp::Add,
            size: OperandSize::S32,
            src1: g,
            imm: extra,
            dst: g2,
        });
        g2
    } else {
        g
    };
    let x = ctx.alloc_tmp(RegClass::Float);
    ctx.emit(MInst::GprToXmm {
        size: OperandSize::S32,
        src: g,
        dst: x,
    });
    x
}

fn lower_shift(ctx: &mut Ctx<'_>, op: Opcode, ty: Type, a: Reg, amt: Reg) -> Reg {
    let w = ty.lane_bits();
    if w == 8 {
        // Widen each half to 16-bit lanes, shift there, pack back.
        let signed = op == Opcode::Sshr;
        let n = shift_amount(ctx, amt, 8, if signed { 8 } else { 0 });
        let z = zero(ctx);
        let mut halves = [a; 2];
        for (i, h) in halves.iter_mut().enumerate() {
            let unpack = if i == 0 {
                SseOp::Punpcklbw
            } else {
                SseOp::Punpckhbw
            };
            // Signed: each word is x * 257 (x in the high byte); else zero-extended x.
            let wide = xop(ctx, unpack, a, if signed { a } else { z });
            let shifted = match op {
                Opcode::Ishl => {
                    let s = xop(ctx, SseOp::Psllw, wide, n);
                    xconst_op(ctx, SseOp::Pand, s, splat_bits(0x00ff, 16))
                }
                Opcode::Ushr => xop(ctx, SseOp::Psrlw, wide, n),
                _ => xop(ctx, SseOp::Psraw, wide, n),
            };
            *h = shifted;
        }
        let pack = if signed {
            SseOp::Packsswb
        } else {
            SseOp::Packuswb
        };
        return xop(ctx, pack, halves[0], halves[1]);
    }
    let n = shift_amount(ctx, amt, w, 0);
    let sse = match (op, w) {
        (Opcode::Ishl, 16) => SseOp::Psllw,
        (Opcode::Ishl, 32) => SseOp::Pslld,
        (Opcode::Ishl, _) => SseOp::Psllq,
        (Opcode::Ushr, 16) => SseOp::Psrlw,
        (Opcode::Ushr, 32) => SseOp::Psrld,
        (Opcode::Ushr, _) => SseOp::Psrlq,
        (_, 16) => SseOp::Psraw,
        (_, 32) => SseOp::Psrad,
        _ => {
            // sshr.i64x2: ((x >>u n) ^ m) - m, m = (1 << 63) >>u n.
            let t = xop(ctx, SseOp::Psrlq, a, n);
            let sign = xconst(ctx, splat_bits(1 << 63, 64));
            let m = xop(ctx, SseOp::Psrlq, sign, n);
            let t = xop(ctx, SseOp::Pxor, t, m);
            return xop(ctx, SseOp::Psubq, t, m);
        }
    };
    xop(ctx, sse, a, n)
}

fn lower_binary(
    ctx: &mut Ctx<'_>,
    inst: Inst,
    op: Opcode,
    xty: Type,
    a: Reg,
    b: Reg,
) -> Result<Reg, CodegenError> {
    use Opcode::*;
    let f64_lanes = xty.lane_bits() == 64;
    let pick = |s, d| if f64_lanes { d } else { s };
    let w = xty.lane_bits();
    let simple = match (op, w) {
        (Fadd, _) => pick(SseOp::Addps, SseOp::Addpd),
        (Fsub, _) => pick(SseOp::Subps, SseOp::Subpd),
        (Fmul, _) => pick(SseOp::Mulps, SseOp::Mulpd),
        (Fdiv, _) => pick(SseOp::Divps, SseOp::Divpd),
        (Fmin | Fmax, _) => return Ok(lower_fminmax(ctx, f64_lanes, op == Fmax, a, b)),
        (FminPseudo, _) => return Ok(xop(ctx, pick(SseOp::Minps, SseOp::Minpd), b, a)),
        (FmaxPseudo, _) => return Ok(xop(ctx, pick(SseOp::Maxps, SseOp::Maxpd), b, a)),
        (Ishl | Ushr | Sshr, _) => return Ok(lower_shift(ctx, op, xty, a, b)),
        (SaddSat, 8) => SseOp::Paddsb,
        (SaddSat, 16) => SseOp::Paddsw,
        (UaddSat, 8) => SseOp::Paddusb,
        (UaddSat, 16) => SseOp::Paddusw,
        (SsubSat, 8) => SseOp::Psubsb,
        (SsubSat, 16) => SseOp::Psubsw,
        (UsubSat, 8) => SseOp::Psubusb,
        (UsubSat, 16) => SseOp::Psubusw,
        (AvgRound, 8) => SseOp::Pavgb,
        (AvgRound, 16) => SseOp::Pavgw,
        (Smin, 8) => SseOp::Pminsb,
        (Smin, 16) => SseOp::Pminsw,
        (Smin, 32) => SseOp::Pminsd,
        (Smax, 8) => SseOp::Pmaxsb,
        (Smax, 16) => SseOp::Pmaxsw,
        (Smax, 32) => SseOp::Pmaxsd,
        (Umin, 8) => SseOp::Pminub,
        (Umin, 16) => SseOp::Pminuw,
        (Umin, 32) => SseOp::Pminud,
        (Umax, 8) => SseOp::Pmaxub,
        (Umax, 16) => SseOp::Pmaxuw,
        (Umax, 32) => SseOp::Pmaxud,
        (Snarrow, 16) => SseOp::Packsswb,
        (Snarrow, 32) => SseOp::Packssdw,
        (Unarrow, 16) => SseOp::Packuswb,
        (Unarrow, 32) => SseOp::Packusdw,
        (SwidenMulLow | SwidenMulHigh | UwidenMulLow | UwidenMulHigh, 8 | 16 | 32) => {
            return Ok(lower_widen_mul(ctx, op, w, a, b))
        }
        (Sdot, 16) => SseOp::Pmaddwd,
        (SqmulRoundSat, 16) => {
            // pmulhrsw is exact except for -2^15 * -2^15, which gives 0x8000 for 0x7fff.
            let r = xop(ctx, SseOp::Pmulhrsw, a, b);
            let m = xconst_op(ctx, SseOp::Pcmpeqw, r, splat_bits(0x8000, 16));
            return Ok(xop(ctx, SseOp::Pxor, r, m));
        }
        (Swizzle, 8) => {
            // Indices >= 16 get the top bit set (saturating), which pshufb maps to 0.
            let idx = xconst_op(ctx, SseOp::Paddusb, b, splat_bits(0x70, 8));
            return Ok(xop(ctx, SseOp::Pshufb, a, idx));
        }
        _ => return Err(ctx.unsupported(inst)),
    };
    Ok(xop(ctx, simple, a, b))
}

fn lower_unary(
    ctx: &mut Ctx<'_>,
    inst: Inst,
    op: Opcode,
    ty: Type,
    aty: Type,
    a: Reg,
) -> Result<Reg, CodegenError> {
    use Opcode::*;
    let f64_lanes = aty.lane_bits() == 64;
    let w = aty.lane_bits();
    let sign = if f64_lanes {
        splat_bits(1 << 63, 64)
    } else {
        splat_bits(1 << 31, 32)
    };
    Ok(match op {
        Fneg => xconst_op(ctx, SseOp::Xorps, a, sign),
        Fabs => xconst_op(ctx, SseOp::Andps, a, !sign),
        Sqrt => xunary(
            ctx,
            if f64_lanes {
                SseOp::Sqrtpd
            } else {
                SseOp::Sqrtps
            },
            a,
        ),
        Ceil | Floor | Trunc | Nearest => {
            let mode = match op {
                Nearest => 0,
                Floor => 1,
                Ceil => 2,
                _ => 3,
            };
            let round = if f64_lanes {
                SseImmOp::Roundpd
            } else {
                SseImmOp::Roundps
            };
            let dst = ctx.alloc_tmp(RegClass::Float);
            ctx.emit(MInst::XmmUnaryImm {
                op: round,
                src: a,
                imm: mode,
                dst,
            });
            dst
        }
        Iabs => match w {
            8 => xunary(ctx, SseOp::Pabsb, a),
            16 => xunary(ctx, SseOp::Pabsw, a),
            32 => xunary(ctx, SseOp::Pabsd, a),
            _ => {
                let hi = pshufd(ctx, a, 0xF5);
                let s = xshift(ctx, XmmShiftImm::Psrad, hi, 31);
                let t = xop(ctx, SseOp::Pxor, a, s);
                xop(ctx, SseOp::Psubq, t, s)
            }
        },
        Popcnt if w == 8 => {
            let nib = splat_bits(0x0f, 8);
            let lo = xconst_op(ctx, SseOp::Pand, a, nib);
            let hi = xshift(ctx, XmmShiftImm::Psrlw, a, 4);
            let hi = xconst_op(ctx, SseOp::Pand, hi, nib);
            let table = u128::from_le_bytes([0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4]);
            let t1 = xconst(ctx, table);
            let c1 = xop(ctx, SseOp::Pshufb, t1, lo);
            let t2 = xconst(ctx, table);
            let c2 = xop(ctx, SseOp::Pshufb, t2, hi);
            xop(ctx, SseOp::Paddb, c1, c2)
        }
        SwidenLow | SwidenHigh | UwidenLow | UwidenHigh if w <= 32 => {
            let src = if matches!(op, SwidenHigh | UwidenHigh) {
                pshufd(ctx, a, 0xEE)
            } else {
                a
            };
            let signed = matches!(op, SwidenLow | SwidenHigh);
            let mov = match (w, signed) {
                (8, true) => SseOp::Pmovsxbw,
                (16, true) => SseOp::Pmovsxwd,
                (_, true) => SseOp::Pmovsxdq,
                (8, false) => SseOp::Pmovzxbw,
                (16, false) => SseOp::Pmovzxwd,
                (_, false) => SseOp::Pmovzxdq,
            };
            xunary(ctx, mov, src)
        }
        SwidenAddPairwise if w == 8 => {
            // pmaddubsw multiplies unsigned bytes of its first operand by signed bytes of
            // its second: 1 * x[2i] + 1 * x[2i+1], never saturating.
            let ones = xconst(ctx, splat_bits(1, 8));
            xop(ctx, SseOp::Pmaddubsw, ones, a)
        }
        UwidenAddPairwise if w == 8 => xconst_op(ctx, SseOp::Pmaddubsw, a, splat_bits(1, 8)),
        SwidenAddPairwise if w == 16 => xconst_op(ctx, SseOp::Pmaddwd, a, splat_bits(1, 16)),
        UwidenAddPairwise if w == 16 => {
            // Bias to signed, add pairs with pmaddwd, then add back 2 * 0x8000.
            let t = xconst_op(ctx, SseOp::Pxor, a, splat_bits(0x8000, 16));
            let t = xconst_op(ctx, SseOp::Pmaddwd, t, splat_bits(1, 16));
            xconst_op(ctx, SseOp::Paddd, t, splat_bits(0x1_0000, 32))
        }
        VanyTrue | VallTrue | VhighBits => return Ok(lower_reduction(ctx, op, w, a)),
        FcvtFromSint if ty == Type::F32X4 => xunary(ctx, SseOp::Cvtdq2ps, a),
        FcvtFromSint => xunary(ctx, SseOp::Cvtdq2pd, a),
        FcvtFromUint if ty == Type::F32X4 => {
            // Low 16 bits convert exactly; the high part is halved to stay signed.
            let z = zero(ctx);
            let lo = xrri(ctx, SseImmOp::Pblendw, a, z, 0xAA);
            let hi = xop(ctx, SseOp::Psubd, a, lo);
            let flo = xunary(ctx, SseOp::Cvtdq2ps, lo);
            let hi = xshift(ctx, XmmShiftImm::Psrld, hi, 1);
            let fhi = xunary(ctx, SseOp::Cvtdq2ps, hi);
            let fhi = xop(ctx, SseOp::Addps, fhi, fhi);
            xop(ctx, SseOp::Addps, fhi, flo)
        }
        FcvtFromUint => {
            // 0x4330_0000:x is the double 2^52 + x.
            let t = xconst_op(ctx, SseOp::Punpckldq, a, splat_bits(0x4330_0000, 32));
            xconst_op(ctx, SseOp::Subpd, t, fsplat(true, 4503599627370496.0))
        }
        FcvtToSintSat if !f64_lanes => {
            let ord = fcmp_mask(ctx, false, FloatCmp::Eq, a, a);
            let x = xop(ctx, SseOp::Pand, a, ord);
            let r = xunary(ctx, SseOp::Cvttps2dq, x);
            let lim = xconst(ctx, fsplat(false, 2147483648.0));
            let ovf = fcmp_mask(ctx, false, FloatCmp::Le, lim, x);
            xop(ctx, SseOp::Pxor, r, ovf)
        }
        FcvtToSintSat => {
            let ord = fcmp_mask(ctx, true, FloatCmp::Eq, a, a);
            let x = xop(ctx, SseOp::Pand, a, ord);
            let x = xconst_op(ctx, SseOp::Minpd, x, fsplat(true, 2147483647.0));
            xunary(ctx, SseOp::Cvttpd2dq, x)
        }
        FcvtToUintSat if !f64_lanes => {
            let z = zero(ctx);
            let x = xop(ctx, SseOp::Maxps, a, z); // NaN -> 0 too
            let lo = xunary(ctx, SseOp::Cvttps2dq, x);
            let two31 = xconst(ctx, fsplat(false, 2147483648.0));
            let big = fcmp_mask(ctx, false, FloatCmp::Le, two31, x);
            let rest = xconst_op(ctx, SseOp::Subps, x, fsplat(false, 2147483648.0));
            let rest = xop(ctx, SseOp::Pand, rest, big);
            let hi = xunary(ctx, SseOp::Cvttps2dq, rest);
            let sum = xop(ctx, SseOp::Paddd, lo, hi);
            let two32 = xconst(ctx, fsplat(false, 4294967296.0));
            let ovf = fcmp_mask(ctx, false, FloatCmp::Le, two32, x);
            xop(ctx, SseOp::Por, sum, ovf)
        }
        FcvtToUintSat => {
            let z = zero(ctx);
            let x = xop(ctx, SseOp::Maxpd, a, z); // NaN -> 0 too
            let x = xconst_op(ctx, SseOp::Minpd, x, fsplat(true, 4294967295.0));
            let dst = ctx.alloc_tmp(RegClass::Float);
            ctx.emit(MInst::XmmUnaryImm {
                op: SseImmOp::Roundpd,
                src: x,
                imm: 3,
                dst,
            });
            let t = xconst_op(ctx, SseOp::Addpd, dst, fsplat(true, 4503599627370496.0));
            let z = zero(ctx);
            xrri(ctx, SseImmOp::Shufps, t, z, 0x88)
        }
        Fpromote => xunary(ctx, SseOp::Cvtps2pd, a),
        Fdemote => xunary(ctx, SseOp::Cvtpd2ps, a),
        _ => return Err(ctx.unsupported(inst)),
    })
}

/// `swiden_mul_*`/`uwiden_mul_*` of operands with `w`-bit lanes.
fn lower_widen_mul(ctx: &mut Ctx<'_>, op: Opcode, w: u32, a: Reg, b: Reg) -> Reg {
    use Opcode::*;
    let high = matches!(op, SwidenMulHigh | UwidenMulHigh);
    let signed = matches!(op, SwidenMulLow | SwidenMulHigh);
    match w {
        8 => {
            // Widen both halves to 16 bits, then pmullw.
            let mov = if signed {
                SseOp::Pmovsxbw
            } else {
                SseOp::Pmovzxbw
            };
            let mut widen = |x| {
                let x = if high { pshufd(ctx, x, 0xEE) } else { x };
                xunary(ctx, mov, x)
            };
            let (wa, wb) = (widen(a), widen(b));
            xop(ctx, SseOp::Pmullw, wa, wb)
        }
        16 => {
            // Low and high 16 bits of each product, interleaved into 32-bit lanes.
            let lo = xop(ctx, SseOp::Pmullw, a, b);
            let mulh = if signed {
                SseOp::Pmulhw
            } else {
                SseOp::Pmulhuw
            };
            let hi = xop(ctx, mulh, a, b);
            let unpack = if high {
                SseOp::Punpckhwd
            } else {
                SseOp::Punpcklwd
            };
            xop(ctx, unpack, lo, hi)
        }
        _ => {
            // pmuldq/pmuludq multiply the even 32-bit lanes: move lanes 0, 1 (or 2, 3) there.
            let imm = if high { 0xFA } else { 0x50 };
            let (sa, sb) = (pshufd(ctx, a, imm), pshufd(ctx, b, imm));
            let mul = if signed {
                SseOp::Pmuldq
            } else {
                SseOp::Pmuludq
            };
            xop(ctx, mul, sa, sb)
        }
    }
}

/// `vany_true` / `vall_true` (0 or 1) and `vhigh_bits` in a GPR.
fn lower_reduction(ctx: &mut Ctx<'_>, op: Opcode, w: u32, a: Reg) -> Reg {
    let movmsk = |ctx: &mut Ctx<'_>, op, src| {
        let dst = ctx.alloc_tmp(RegClass::Int);
        ctx.emit(MInst::Movmsk { op, src, dst });
        dst
    };
    match op {
        Opcode::VhighBits => match w {
            8 => movmsk(ctx, MovmskOp::Pmovmskb, a),
            16 => {
                let z = zero(ctx);
                let p = xop(ctx, SseOp::Packsswb, a, z);
                movmsk(ctx, MovmskOp::Pmovmskb, p)
            }
            32 => movmsk(ctx, MovmskOp::Movmskps, a),
            _ => movmsk(ctx, MovmskOp::Movmskpd, a),
        },
        _ => {
            // Lanes equal to zero, as a byte mask.
            let z = zero(ctx);
            let eq = match (op, w) {
                (Opcode::VanyTrue, _) | (_, 8) => SseOp::Pcmpeqb,
                (_, 16) => SseOp::Pcmpeqw,
                (_, 32) => SseOp::Pcmpeqd,
                _ => SseOp::Pcmpeqq,
            };
            let e = xop(ctx, eq, a, z);
            let m = movmsk(ctx, MovmskOp::Pmovmskb, e);
            let (imm, cc) = if op == Opcode::VanyTrue {
                (0xffff, Cc::Ne) // not every byte is zero
            } else {
                (0, Cc::E) // no lane is zero
            };
            ctx.emit(MInst::CmpRI {
                size: OperandSize::S32,
                lhs: m,
                imm,
            });
            let dst = ctx.alloc_tmp(RegClass::Int);
            ctx.emit(MInst::Setcc { cc, dst });
            dst
        }
    }
}
