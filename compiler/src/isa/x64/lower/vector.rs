//! 128-bit vector lowering: `vconst` (constant pool, or `xorps`/`pcmpeqd` for all-zero /
//! all-ones), lane-wise integer arithmetic and bitwise operations, `icmp` lane masks,
//! `splat`, `extractlane`, `insertlane`. Vector `select`, `bitcast`, loads and stores are
//! lowered with the scalar families (whole-register moves and `movdqu`/`movups`).
//!
//! Precondition: SSSE3 and SSE4.1. A function with vector types only reaches this module
//! through a compiler with `enable_simd`, which `CompilerBuilder::build` refuses on an x86_64
//! ISA level without them, so `pshufb`, `pmulld`, `pinsr`/`pextr` of every width and
//! `pcmpeqq` are always available (SSE4.2's `pcmpgtq` is not: see below).
//!
//! Sequences where no instruction exists:
//! - `imul.i8x16`: `pmullw` on the even and odd bytes separately, merged with a mask;
//! - `imul.i64x2`: `lo*lo + ((hi*lo + lo*hi) << 32)` from three `pmuludq`;
//! - `icmp sgt.i64x2` without SSE4.2: the sign of `(b & ~a) | (~(a ^ b) & (b - a))`,
//!   broadcast with `psrad 31` + `pshufd`;
//! - unsigned compares flip the lane sign bits and compare signed; `ne sge sle uge ule`
//!   invert another compare.

use regalloc2::RegClass;

use super::super::encoding::sse::{Lane, SseImmOp, SseOp, XmmShiftImm};
use super::super::inst::MInst;
use super::super::regs::OperandSize;
use super::{Ctx, X64Backend};
use crate::ir::{Inst, InstructionData, IntCC, Opcode, Type};
use crate::machinst::{CodegenError, Reg};

pub(super) fn xop(ctx: &mut Ctx<'_>, op: SseOp, a: Reg, b: Reg) -> Reg {
    let dst = ctx.alloc_tmp(RegClass::Float);
    ctx.emit(MInst::XmmRR {
        op,
        src1: a,
        src2: b,
        dst,
    });
    dst
}

pub(super) fn xshift(ctx: &mut Ctx<'_>, op: XmmShiftImm, src: Reg, imm: u8) -> Reg {
    let dst = ctx.alloc_tmp(RegClass::Float);
    ctx.emit(MInst::XmmShift { op, src, imm, dst });
    dst
}

pub(super) fn pshufd(ctx: &mut Ctx<'_>, src: Reg, imm: u8) -> Reg {
    let dst = ctx.alloc_tmp(RegClass::Float);
    ctx.emit(MInst::XmmUnaryImm {
        op: SseImmOp::Pshufd,
        src,
        imm,
        dst,
    });
    dst
}

pub(super) fn ones(ctx: &mut Ctx<'_>) -> Reg {
    let dst = ctx.alloc_tmp(RegClass::Float);
    ctx.emit(MInst::XmmOnes { dst });
    dst
}

pub(super) fn xconst_op(ctx: &mut Ctx<'_>, op: SseOp, src: Reg, bits: u128) -> Reg {
    let dst = ctx.alloc_tmp(RegClass::Float);
    ctx.emit(MInst::XmmRConst {
        op,
        src1: src,
        bits,
        dst,
    });
    dst
}

/// `dst = bits`: `xorps`/`pcmpeqd` for all-zero/all-ones, else a constant-pool load.
pub(super) fn emit_vconst(ctx: &mut Ctx<'_>, dst: Reg, bits: u128) {
    ctx.emit(match bits {
        0 => MInst::XmmZero { dst },
        u128::MAX => MInst::XmmOnes { dst },
        _ => MInst::XmmConst {
            dst,
            bits,
            size: 16,
        },
    });
}

/// Copy `src` into `dst` (the final result of a sequence).
pub(super) fn finish(ctx: &mut Ctx<'_>, src: Reg, dst: Reg) {
    ctx.emit(MInst::XmmMovRR { src, dst });
}

/// A 128-bit value with `pattern` (of `lane_bits` bits) in every lane.
pub(super) fn splat_bits(pattern: u128, lane_bits: u32) -> u128 {
    let mut v = 0u128;
    let mut i = 0;
    while i < 128 {
        v |= pattern << i;
        i += lane_bits;
    }
    v
}

/// The lane-wise subtraction (`psubb`/`psubw`/`psubd`/`psubq`) for `lane_bits`-wide lanes.
fn psub(lane_bits: u32) -> SseOp {
    match lane_bits {
        8 => SseOp::Psubb,
        16 => SseOp::Psubw,
        32 => SseOp::Psubd,
        _ => SseOp::Psubq,
    }
}

pub(super) fn lower(
    b: &X64Backend,
    ctx: &mut Ctx<'_>,
    inst: Inst,
    op: Opcode,
    ty: Type,
) -> Result<(), CodegenError> {
    use Opcode::*;
    let data = *ctx.data(inst);
    match (op, data) {
        (Vconst, InstructionData::UnaryConst { constant, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let bits = u128::from_le_bytes(ctx.constant(constant)?);
            emit_vconst(ctx, dst, bits);
            Ok(())
        }
        (
            Iadd | Isub | Band | Bor | Bxor | BandNot | Imul,
            InstructionData::Binary { args: [x, y], .. },
        ) => {
            let dst = ctx.output_reg(inst, 0)?;
            let a = ctx.value_reg(x);
            let bb = ctx.value_reg(y);
            let lane = ty.lane_bits();
            let simple = match (op, lane) {
                (Iadd, 8) => Some((SseOp::Paddb, a, bb)),
                (Iadd, 16) => Some((SseOp::Paddw, a, bb)),
                (Iadd, 32) => Some((SseOp::Paddd, a, bb)),
                (Iadd, _) => Some((SseOp::Paddq, a, bb)),
                (Isub, _) => Some((psub(lane), a, bb)),
                (Band, _) => Some((SseOp::Pand, a, bb)),
                (Bor, _) => Some((SseOp::Por, a, bb)),
                (Bxor, _) => Some((SseOp::Pxor, a, bb)),
                // pandn computes ~src1 & src2.
                (BandNot, _) => Some((SseOp::Pandn, bb, a)),
                (Imul, 16) => Some((SseOp::Pmullw, a, bb)),
                (Imul, 32) => Some((SseOp::Pmulld, a, bb)),
                _ => None,
            };
            if let Some((op, src1, src2)) = simple {
                ctx.emit(MInst::XmmRR {
                    op,
                    src1,
                    src2,
                    dst,
                });
                return Ok(());
            }
            let r = match lane {
                8 => {
                    let even = xop(ctx, SseOp::Pmullw, a, bb);
                    let even = xconst_op(ctx, SseOp::Pand, even, splat_bits(0x00ff, 16));
                    let ah = xshift(ctx, XmmShiftImm::Psrlw, a, 8);
                    let bh = xshift(ctx, XmmShiftImm::Psrlw, bb, 8);
                    let odd = xop(ctx, SseOp::Pmullw, ah, bh);
                    let odd = xshift(ctx, XmmShiftImm::Psllw, odd, 8);
                    xop(ctx, SseOp::Por, even, odd)
                }
                _ => {
                    let ah = xshift(ctx, XmmShiftImm::Psrlq, a, 32);
                    let t1 = xop(ctx, SseOp::Pmuludq, ah, bb);
                    let bh = xshift(ctx, XmmShiftImm::Psrlq, bb, 32);
                    let t2 = xop(ctx, SseOp::Pmuludq, a, bh);
                    let s = xop(ctx, SseOp::Paddq, t1, t2);
                    let s = xshift(ctx, XmmShiftImm::Psllq, s, 32);
                    let lo = xop(ctx, SseOp::Pmuludq, a, bb);
                    xop(ctx, SseOp::Paddq, lo, s)
                }
            };
            finish(ctx, r, dst);
            Ok(())
        }
        (Ineg, InstructionData::Unary { arg, .. }) => {
            // 0 - a: x86 has no vector negate.
            let dst = ctx.output_reg(inst, 0)?;
            let a = ctx.value_reg(arg);
            let z = ctx.alloc_tmp(RegClass::Float);
            ctx.emit(MInst::XmmZero { dst: z });
            ctx.emit(MInst::XmmRR {
                op: psub(ty.lane_bits()),
                src1: z,
                src2: a,
                dst,
            });
            Ok(())
        }
        (Bnot, InstructionData::Unary { arg, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let a = ctx.value_reg(arg);
            let m = ones(ctx);
            ctx.emit(MInst::XmmRR {
                op: SseOp::Pxor,
                src1: a,
                src2: m,
                dst,
            });
            Ok(())
        }
        (
            Icmp,
            InstructionData::IntCompare {
                cond, args: [x, y], ..
            },
        ) => {
            let dst = ctx.output_reg(inst, 0)?;
            let vty = ctx.value_type(x);
            let a = ctx.value_reg(x);
            let bb = ctx.value_reg(y);
            let r = lower_vicmp(b, ctx, cond, vty, a, bb);
            finish(ctx, r, dst);
            Ok(())
        }
        (Splat, InstructionData::Unary { arg, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let x = ctx.value_reg(arg);
            lower_splat(ctx, ty, x, dst);
            Ok(())
        }
        (Extractlane, InstructionData::ExtractLane { arg, lane, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let vty = ctx.value_type(arg);
            let v = ctx.value_reg(arg);
            lower_extract(ctx, vty, v, lane, dst);
            Ok(())
        }
        (
            Insertlane,
            InstructionData::InsertLane {
                args: [v, x], lane, ..
            },
        ) => {
            let dst = ctx.output_reg(inst, 0)?;
            let v = ctx.value_reg(v);
            let x = ctx.value_reg(x);
            lower_insert(ctx, ty, v, x, lane, dst);
            Ok(())
        }
        _ => super::simd::lower(ctx, inst, op, ty),
    }
}

fn vnot(ctx: &mut Ctx<'_>, x: Reg) -> Reg {
    let m = ones(ctx);
    xop(ctx, SseOp::Pxor, x, m)
}

fn veq(ctx: &mut Ctx<'_>, lane: u32, a: Reg, bb: Reg) -> Reg {
    match lane {
        8 => xop(ctx, SseOp::Pcmpeqb, a, bb),
        16 => xop(ctx, SseOp::Pcmpeqw, a, bb),
        32 => xop(ctx, SseOp::Pcmpeqd, a, bb),
        _ => xop(ctx, SseOp::Pcmpeqq, a, bb),
    }
}

/// Signed `a > b` lane masks.
fn vgt(b: &X64Backend, ctx: &mut Ctx<'_>, lane: u32, a: Reg, bb: Reg) -> Reg {
    match lane {
        8 => xop(ctx, SseOp::Pcmpgtb, a, bb),
        16 => xop(ctx, SseOp::Pcmpgtw, a, bb),
        32 => xop(ctx, SseOp::Pcmpgtd, a, bb),
        _ if b.flags.has_sse42 => xop(ctx, SseOp::Pcmpgtq, a, bb),
        _ => {
            let d = xop(ctx, SseOp::Psubq, bb, a);
            let x = xop(ctx, SseOp::Pxor, a, bb);
            let t2 = xop(ctx, SseOp::Pandn, x, d);
            let t3 = xop(ctx, SseOp::Pandn, a, bb);
            let r = xop(ctx, SseOp::Por, t2, t3);
            let r = xshift(ctx, XmmShiftImm::Psrad, r, 31);
            pshufd(ctx, r, 0xF5)
        }
    }
}

fn lower_vicmp(b: &X64Backend, ctx: &mut Ctx<'_>, cond: IntCC, vty: Type, a: Reg, bb: Reg) -> Reg {
    use IntCC::*;
    let lane = vty.lane_bits();
    let unsigned = matches!(
        cond,
        UnsignedLessThan
            | UnsignedLessThanOrEqual
            | UnsignedGreaterThan
            | UnsignedGreaterThanOrEqual
    );
    let (a, bb) = if unsigned {
        let flip = splat_bits(1u128 << (lane - 1), lane);
        (
            xconst_op(ctx, SseOp::Pxor, a, flip),
            xconst_op(ctx, SseOp::Pxor, bb, flip),
        )
    } else {
        (a, bb)
    };
    match cond {
        Equal => veq(ctx, lane, a, bb),
        NotEqual => {
            let e = veq(ctx, lane, a, bb);
            vnot(ctx, e)
        }
        SignedGreaterThan | UnsignedGreaterThan => vgt(b, ctx, lane, a, bb),
        SignedLessThan | UnsignedLessThan => vgt(b, ctx, lane, bb, a),
        SignedGreaterThanOrEqual | UnsignedGreaterThanOrEqual => {
            let t = vgt(b, ctx, lane, bb, a);
            vnot(ctx, t)
        }
        SignedLessThanOrEqual | UnsignedLessThanOrEqual => {
            let t = vgt(b, ctx, lane, a, bb);
            vnot(ctx, t)
        }
    }
}

fn gpr_to_xmm(ctx: &mut Ctx<'_>, size: OperandSize, src: Reg) -> Reg {
    let dst = ctx.alloc_tmp(RegClass::Float);
    ctx.emit(MInst::GprToXmm { size, src, dst });
    dst
}

pub(super) fn lower_splat(ctx: &mut Ctx<'_>, ty: Type, x: Reg, dst: Reg) {
    let r = match ty.lane_type() {
        Type::I8 => {
            let t = gpr_to_xmm(ctx, OperandSize::S32, x);
            let z = ctx.alloc_tmp(RegClass::Float);
            ctx.emit(MInst::XmmZero { dst: z });
            ctx.emit(MInst::XmmRR {
                op: SseOp::Pshufb,
                src1: t,
                src2: z,
                dst,
            });
            return;
        }
        Type::I16 => {
            let t = gpr_to_xmm(ctx, OperandSize::S32, x);
            let t2 = ctx.alloc_tmp(RegClass::Float);
            ctx.emit(MInst::XmmUnaryImm {
                op: SseImmOp::Pshuflw,
                src: t,
                imm: 0,
                dst: t2,
            });
            pshufd(ctx, t2, 0)
        }
        Type::I32 => {
            let t = gpr_to_xmm(ctx, OperandSize::S32, x);
            pshufd(ctx, t, 0)
        }
        Type::I64 => {
            let t = gpr_to_xmm(ctx, OperandSize::S64, x);
            pshufd(ctx, t, 0x44)
        }
        Type::F32 => pshufd(ctx, x, 0),
        _ => pshufd(ctx, x, 0x44),
    };
    finish(ctx, r, dst);
}

fn lower_extract(ctx: &mut Ctx<'_>, vty: Type, v: Reg, lane: u8, dst: Reg) {
    let width = match vty.lane_type() {
        Type::I8 => Lane::B,
        Type::I16 => Lane::W,
        Type::I32 => Lane::D,
        Type::I64 => Lane::Q,
        lt => {
            if lane == 0 {
                ctx.emit(MInst::XmmMovRR { src: v, dst });
            } else {
                let imm = if lt == Type::F32 { lane } else { 0xEE };
                ctx.emit(MInst::XmmUnaryImm {
                    op: SseImmOp::Pshufd,
                    src: v,
                    imm,
                    dst,
                });
            }
            return;
        }
    };
    ctx.emit(MInst::Pextr {
        width,
        src: v,
        lane,
        dst,
    });
}

pub(super) fn pinsr(ctx: &mut Ctx<'_>, width: Lane, v: Reg, x: Reg, lane: u8) -> Reg {
    let dst = ctx.alloc_tmp(RegClass::Float);
    ctx.emit(MInst::Pinsr {
        width,
        src1: v,
        src2: x,
        lane,
        dst,
    });
    dst
}

fn lower_insert(ctx: &mut Ctx<'_>, ty: Type, v: Reg, x: Reg, lane: u8, dst: Reg) {
    let r = match ty.lane_type() {
        Type::I8 => pinsr(ctx, Lane::B, v, x, lane),
        Type::I16 => pinsr(ctx, Lane::W, v, x, lane),
        Type::I32 => pinsr(ctx, Lane::D, v, x, lane),
        Type::I64 => pinsr(ctx, Lane::Q, v, x, lane),
        Type::F32 => {
            let g = ctx.alloc_tmp(RegClass::Int);
            ctx.emit(MInst::XmmToGpr {
                size: OperandSize::S32,
                src: x,
                dst: g,
            });
            pinsr(ctx, Lane::D, v, g, lane)
        }
        _ => {
            if lane == 0 {
                let dst2 = ctx.alloc_tmp(RegClass::Float);
                ctx.emit(MInst::XmmRRImm {
                    op: SseImmOp::Shufpd,
                    src1: x,
                    src2: v,
                    imm: 0b10,
                    dst: dst2,
                });
                dst2
            } else {
                xop(ctx, SseOp::Punpcklqdq, v, x)
            }
        }
    };
    finish(ctx, r, dst);
}
