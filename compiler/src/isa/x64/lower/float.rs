//! Scalar float lowering: constants, arithmetic, Wasm `fmin`/`fmax`, sign operations as
//! bit operations (NaN payloads preserved), `sqrt`, rounding (`round*` with SSE4.1, else a
//! libcall), conversions, `bitcast`, materialized `fcmp`.

use regalloc2::RegClass;

use super::super::encoding::sse::{CvtIntToFloat, SseImmOp, SseOp};
use super::super::inst::{xmm_preg, CallDest, MInst};
use super::super::regs::{OperandSize, Xmm};
use super::{lower_fcmp_flags, Ctx, X64Backend};
use crate::ir::{Inst, InstructionData, LibCall, Opcode, Type};
use crate::machinst::buffer::RelocTarget;
use crate::machinst::CodegenError;
use smallvec::smallvec;

pub(super) fn lower(
    b: &X64Backend,
    ctx: &mut Ctx<'_>,
    inst: Inst,
    op: Opcode,
    ty: Type,
) -> Result<(), CodegenError> {
    use Opcode::*;
    let data = *ctx.data(inst);
    let f64 = ty == Type::F64;
    let pick = |s: SseOp, d: SseOp| if f64 { d } else { s };
    let sign: u128 = if f64 { 1 << 63 } else { 1 << 31 };
    match (op, data) {
        (Fconst, InstructionData::UnaryIeee { bits, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            if bits == 0 {
                ctx.emit(MInst::XmmZero { dst });
            } else {
                let size = if f64 { 8 } else { 4 };
                ctx.emit(MInst::XmmConst {
                    dst,
                    bits: u128::from(bits),
                    size,
                });
            }
            Ok(())
        }
        (Fadd | Fsub | Fmul | Fdiv, InstructionData::Binary { args: [x, y], .. }) => {
            let sop = match op {
                Fadd => pick(SseOp::Addss, SseOp::Addsd),
                Fsub => pick(SseOp::Subss, SseOp::Subsd),
                Fmul => pick(SseOp::Mulss, SseOp::Mulsd),
                _ => pick(SseOp::Divss, SseOp::Divsd),
            };
            let dst = ctx.output_reg(inst, 0)?;
            let src1 = ctx.value_reg(x);
            let src2 = ctx.value_reg(y);
            ctx.emit(MInst::XmmRR {
                op: sop,
                src1,
                src2,
                dst,
            });
            Ok(())
        }
        (Fmin | Fmax, InstructionData::Binary { args: [x, y], .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let lhs = ctx.value_reg(x);
            let rhs = ctx.value_reg(y);
            ctx.emit(MInst::FMinMax {
                is_min: op == Fmin,
                f64,
                lhs,
                rhs,
                dst,
            });
            Ok(())
        }
        (Fneg | Fabs, InstructionData::Unary { arg, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let src1 = ctx.value_reg(arg);
            let (sop, bits) = if op == Fneg {
                (pick(SseOp::Xorps, SseOp::Xorpd), sign)
            } else {
                (pick(SseOp::Andps, SseOp::Andpd), !sign)
            };
            ctx.emit(MInst::XmmRConst {
                op: sop,
                src1,
                bits,
                dst,
            });
            Ok(())
        }
        (Fcopysign, InstructionData::Binary { args: [x, y], .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let xr = ctx.value_reg(x);
            let yr = ctx.value_reg(y);
            let and = pick(SseOp::Andps, SseOp::Andpd);
            let mag = ctx.alloc_tmp(RegClass::Float);
            ctx.emit(MInst::XmmRConst {
                op: and,
                src1: xr,
                bits: !sign,
                dst: mag,
            });
            let sgn = ctx.alloc_tmp(RegClass::Float);
            ctx.emit(MInst::XmmRConst {
                op: and,
                src1: yr,
                bits: sign,
                dst: sgn,
            });
            ctx.emit(MInst::XmmRR {
                op: pick(SseOp::Orps, SseOp::Orpd),
                src1: mag,
                src2: sgn,
                dst,
            });
            Ok(())
        }
        (Sqrt, InstructionData::Unary { arg, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let src = ctx.value_reg(arg);
            ctx.emit(MInst::XmmUnary {
                op: pick(SseOp::Sqrtss, SseOp::Sqrtsd),
                src,
                dst,
            });
            Ok(())
        }
        (Ceil | Floor | Trunc | Nearest, InstructionData::Unary { arg, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let src = ctx.value_reg(arg);
            if b.flags.has_sse41 {
                // Rounding mode in bits 0-1, bit 3 suppresses the precision exception.
                let mode = match op {
                    Nearest => 0,
                    Floor => 1,
                    Ceil => 2,
                    _ => 3,
                };
                ctx.emit(MInst::XmmUnaryImm {
                    op: if f64 {
                        SseImmOp::Roundsd
                    } else {
                        SseImmOp::Roundss
                    },
                    src,
                    imm: mode | 8,
                    dst,
                });
            } else {
                let lc = match (op, f64) {
                    (Ceil, false) => LibCall::CeilF32,
                    (Ceil, true) => LibCall::CeilF64,
                    (Floor, false) => LibCall::FloorF32,
                    (Floor, true) => LibCall::FloorF64,
                    (Trunc, false) => LibCall::TruncF32,
                    (Trunc, true) => LibCall::TruncF64,
                    (_, false) => LibCall::NearestF32,
                    (_, true) => LibCall::NearestF64,
                };
                let x0 = xmm_preg(Xmm::Xmm0);
                ctx.emit(MInst::Call {
                    dest: CallDest::Abs(RelocTarget::LibCall(lc)),
                    uses: smallvec![(src, x0)],
                    defs: smallvec![(dst, x0)],
                });
            }
            Ok(())
        }
        (
            Fcmp,
            InstructionData::FloatCompare {
                cond, args: [x, y], ..
            },
        ) => {
            let dst = ctx.output_reg(inst, 0)?;
            let c = lower_fcmp_flags(ctx, cond, x, y);
            if c.cc2.is_some() {
                let tmp = ctx.alloc_tmp(RegClass::Int);
                ctx.emit(MInst::SetccCond { cond: c, dst, tmp });
            } else {
                ctx.emit(MInst::Setcc { cc: c.cc1, dst });
            }
            Ok(())
        }
        (
            FcvtToSint | FcvtToUint | FcvtToSintSat | FcvtToUintSat,
            InstructionData::Unary { arg, .. },
        ) => {
            let dst = ctx.output_reg(inst, 0)?;
            let src = ctx.value_reg(arg);
            let tmp_xmm = ctx.alloc_tmp(RegClass::Float);
            let tmp_gpr = ctx.alloc_tmp(RegClass::Int);
            ctx.emit(MInst::CvtFloatToIntSeq {
                f64: ctx.value_type(arg) == Type::F64,
                size: if ty == Type::I64 {
                    OperandSize::S64
                } else {
                    OperandSize::S32
                },
                signed: matches!(op, FcvtToSint | FcvtToSintSat),
                sat: matches!(op, FcvtToSintSat | FcvtToUintSat),
                src,
                dst,
                tmp_xmm,
                tmp_gpr,
            });
            Ok(())
        }
        (FcvtFromSint | FcvtFromUint, InstructionData::Unary { arg, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let from = ctx.value_type(arg);
            let cvt = if f64 {
                CvtIntToFloat::Cvtsi2sd
            } else {
                CvtIntToFloat::Cvtsi2ss
            };
            let src = ctx.value_reg(arg);
            match (op, from) {
                (FcvtFromUint, Type::I64) => {
                    let tmp1 = ctx.alloc_tmp(RegClass::Int);
                    let tmp2 = ctx.alloc_tmp(RegClass::Int);
                    ctx.emit(MInst::CvtUint64ToFloat {
                        f64,
                        src,
                        dst,
                        tmp1,
                        tmp2,
                    });
                }
                (FcvtFromUint, _) => {
                    // u32 zero-extended is a non-negative i64.
                    let t = ctx.alloc_tmp(RegClass::Int);
                    ctx.emit(MInst::Ext {
                        signed: false,
                        mode: super::super::encoding::gpr::ExtMode::L2Q,
                        src,
                        dst: t,
                    });
                    ctx.emit(MInst::CvtIntToFloat {
                        op: cvt,
                        size: OperandSize::S64,
                        src: t,
                        dst,
                    });
                }
                _ => ctx.emit(MInst::CvtIntToFloat {
                    op: cvt,
                    size: if from == Type::I64 {
                        OperandSize::S64
                    } else {
                        OperandSize::S32
                    },
                    src,
                    dst,
                }),
            }
            Ok(())
        }
        (Fpromote | Fdemote, InstructionData::Unary { arg, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let src = ctx.value_reg(arg);
            ctx.emit(MInst::XmmUnary {
                op: if op == Fpromote {
                    SseOp::Cvtss2sd
                } else {
                    SseOp::Cvtsd2ss
                },
                src,
                dst,
            });
            Ok(())
        }
        (Bitcast, InstructionData::Unary { arg, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let from = ctx.value_type(arg);
            let src = ctx.value_reg(arg);
            let size = if from.bits() == 64 {
                OperandSize::S64
            } else {
                OperandSize::S32
            };
            if from.is_int_scalar() && ty.is_float_scalar() {
                ctx.emit(MInst::GprToXmm { size, src, dst });
            } else if from.is_float_scalar() && ty.is_int_scalar() {
                ctx.emit(MInst::XmmToGpr { size, src, dst });
            } else if from.is_vector() && ty.is_vector() {
                ctx.emit(MInst::XmmMovRR { src, dst });
            } else {
                return Err(ctx.unsupported(inst));
            }
            Ok(())
        }
        _ => Err(ctx.unsupported(inst)),
    }
}
