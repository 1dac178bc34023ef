//! Vector (NEON) lowering of the operations added for Wasm SIMD: float lane arithmetic and
//! comparisons, vector conversions, the integer vector families beyond lane-wise
//! add/sub/mul/bitwise/icmp (those, `splat`, lane moves and `vconst` stay in the parent)
//! and the vector memory forms. Widening multiplies are `smull{2}`/`umull{2}`, `sdot` is
//! `smull` + `smull2` + `addp`, pairwise adds are `saddlp`/`uaddlp`, `sqmul_round_sat` is
//! `sqrdmulh` (the same rounding and saturation); `load_splat` is a GPR load and `dup`,
//! `load_lane`/`store_lane` a GPR load/store with `ins`/`umov`.
//!
//! Invariant: [`lower`] claims every instruction whose operation on a vector type the
//! parent's scalar paths would get wrong; what it does not lower yet it refuses with
//! [`CodegenError::Unsupported`] rather than letting a scalar lowering touch one lane.

use super::super::encoding::fp::{VecFpOp3, VecLogicOp, VecMiscOp, VecOp3, VecPermOp};
use super::super::encoding::int::AluOp;
use super::super::encoding::{Cond, ImmLogic};
use super::super::inst::MInst;
use super::super::regs::{ElemSize, Size, VecArr};
use super::{
    alu, cmp_imm, elem_size, ftmp, gen_load, gen_store, lower_addr, lower_vconst, tmp, vec_arr, Ctx,
};
use crate::ir::{FloatCC, Inst, InstructionData, Opcode, Type, Value};
use crate::machinst::{CodegenError, Reg};

type R = Result<(), CodegenError>;

fn rrr(ctx: &mut Ctx<'_>, op: VecOp3, arr: VecArr, rn: Reg, rm: Reg) -> Reg {
    let dst = ftmp(ctx);
    ctx.emit(MInst::VecRRR {
        op,
        arr,
        dst,
        rn,
        rm,
    });
    dst
}

fn frrr(ctx: &mut Ctx<'_>, op: VecFpOp3, arr: VecArr, rn: Reg, rm: Reg) -> Reg {
    let dst = ftmp(ctx);
    ctx.emit(MInst::VecFpRRR {
        op,
        arr,
        dst,
        rn,
        rm,
    });
    dst
}

fn misc(ctx: &mut Ctx<'_>, op: VecMiscOp, arr: VecArr, rn: Reg) -> Reg {
    let dst = ftmp(ctx);
    ctx.emit(MInst::VecMisc { op, arr, dst, rn });
    dst
}

/// `smull{2}`/`umull{2}` of the half of the lanes `src` names.
fn mull(ctx: &mut Ctx<'_>, signed: bool, src: VecArr, rn: Reg, rm: Reg) -> Reg {
    let dst = ftmp(ctx);
    ctx.emit(MInst::VecMull {
        signed,
        src,
        dst,
        rn,
        rm,
    });
    dst
}

/// The arrangement naming the low (`8b 4h 2s`) or high (`16b 8h 4s`, the `2` forms) half
/// of the lanes of `ty` for the widening instructions.
fn half_arr(ty: Type, high: bool) -> VecArr {
    match (ty.lane_bits(), high) {
        (8, false) => VecArr::B8,
        (8, true) => VecArr::B16,
        (16, false) => VecArr::H4,
        (16, true) => VecArr::H8,
        (_, false) => VecArr::S2,
        (_, true) => VecArr::S4,
    }
}

fn logic(ctx: &mut Ctx<'_>, op: VecLogicOp, rn: Reg, rm: Reg) -> Reg {
    let dst = ftmp(ctx);
    ctx.emit(MInst::VecLogic { op, dst, rn, rm });
    dst
}

fn not(ctx: &mut Ctx<'_>, rn: Reg) -> Reg {
    let dst = ftmp(ctx);
    ctx.emit(MInst::VecNot { dst, rn });
    dst
}

/// `(m & a) | (!m & b)`.
fn bsl(ctx: &mut Ctx<'_>, m: Reg, a: Reg, b: Reg) -> Reg {
    let dst = ftmp(ctx);
    ctx.emit(MInst::VecBsl {
        dst,
        mask: m,
        rn: a,
        rm: b,
    });
    dst
}

fn vconst(ctx: &mut Ctx<'_>, bytes: [u8; 16]) -> Reg {
    let dst = ftmp(ctx);
    lower_vconst(ctx, dst, bytes);
    dst
}

fn mov(ctx: &mut Ctx<'_>, src: Reg, dst: Reg) {
    ctx.emit(MInst::VecLogic {
        op: VecLogicOp::Orr,
        dst,
        rn: src,
        rm: src,
    });
}

/// Does `op` take vectors of `ty`'s lane width (as the verifier requires)? Unverified IR
/// with another width is refused, never encoded as an arrangement NEON lacks.
pub(super) fn takes_lane_width(op: Opcode, ty: Type) -> bool {
    use Opcode::*;
    let w = ty.lane_bits();
    ty.is_vector()
        && match op {
            SaddSat | UaddSat | SsubSat | UsubSat | AvgRound => w <= 16,
            Smin | Umin | Smax | Umax | SwidenLow | SwidenHigh | UwidenLow | UwidenHigh => w <= 32,
            SwidenMulLow | SwidenMulHigh | UwidenMulLow | UwidenMulHigh => w <= 32,
            SwidenAddPairwise | UwidenAddPairwise => w <= 16,
            Sdot | SqmulRoundSat => w == 16,
            Snarrow | Unarrow => w == 16 || w == 32,
            Swizzle | Popcnt => w == 8,
            _ => true,
        }
}

/// Is `inst` a vector operation this module owns?
fn owns(ctx: &Ctx<'_>, inst: Inst) -> bool {
    use Opcode::*;
    let data = ctx.data(inst);
    match data.opcode() {
        SaddSat | UaddSat | SsubSat | UsubSat | Smin | Umin | Smax | Umax | AvgRound | Iabs
        | FminPseudo | FmaxPseudo | Bitselect | VanyTrue | VallTrue | VhighBits | Shuffle
        | Swizzle | Snarrow | Unarrow | SwidenLow | SwidenHigh | UwidenLow | UwidenHigh
        | SwidenMulLow | SwidenMulHigh | UwidenMulLow | UwidenMulHigh | SwidenAddPairwise
        | UwidenAddPairwise | Sdot | SqmulRoundSat | LoadSplat | SloadWiden | UloadWiden
        | LoadZero | LoadLane | StoreLane => true,
        // Operations with scalar and vector forms: the vector ones (looked up only here,
        // off the path of every other instruction).
        Fadd | Fsub | Fmul | Fdiv | Fmin | Fmax | Fneg | Fabs | Sqrt | Ceil | Floor | Trunc
        | Nearest | Fcmp | Ishl | Ushr | Sshr | Popcnt | FcvtToSintSat | FcvtToUintSat
        | FcvtFromSint | FcvtFromUint | Fpromote | Fdemote => {
            ctx.ctrl_type(inst).is_some_and(|t| t.is_vector())
                || data
                    .arguments(&ctx.func().dfg.value_lists)
                    .first()
                    .is_some_and(|&v| ctx.value_type(v).is_vector())
        }
        _ => false,
    }
}

/// Lower `inst` if it is a vector operation of this module (see the module invariant).
pub(super) fn lower(ctx: &mut Ctx<'_>, inst: Inst) -> Option<R> {
    if !owns(ctx, inst) {
        return None;
    }
    Some(lower_owned(ctx, inst))
}

fn lower_owned(ctx: &mut Ctx<'_>, inst: Inst) -> R {
    use Opcode::*;
    let data = *ctx.data(inst);
    match data {
        InstructionData::Binary {
            opcode,
            args: [x, y],
        } => {
            let dst = ctx.output_reg(inst, 0)?;
            let r = lower_binary(ctx, inst, opcode, x, y)?;
            mov(ctx, r, dst);
            Ok(())
        }
        InstructionData::Unary { opcode, arg } => {
            let dst = ctx.output_reg(inst, 0)?;
            let aty = ctx.value_type(arg);
            let rty = ctx.ctrl_type(inst).unwrap_or(aty);
            let a = ctx.value_reg(arg);
            if matches!(opcode, VanyTrue | VallTrue | VhighBits) {
                lower_reduction(ctx, opcode, aty, a, dst);
                return Ok(());
            }
            let r = lower_unary(ctx, inst, opcode, aty, rty, a)?;
            mov(ctx, r, dst);
            Ok(())
        }
        InstructionData::FloatCompare {
            cond, args: [x, y], ..
        } => {
            let dst = ctx.output_reg(inst, 0)?;
            let arr = vec_arr(ctx.value_type(x));
            let (a, b) = (ctx.value_reg(x), ctx.value_reg(y));
            let r = lower_fcmp(ctx, arr, cond, a, b);
            mov(ctx, r, dst);
            Ok(())
        }
        InstructionData::Ternary {
            opcode: Bitselect,
            args: [c, x, y],
        } => {
            let dst = ctx.output_reg(inst, 0)?;
            let (m, a, b) = (ctx.value_reg(c), ctx.value_reg(x), ctx.value_reg(y));
            let r = bsl(ctx, m, a, b);
            mov(ctx, r, dst);
            Ok(())
        }
        InstructionData::Shuffle {
            args: [x, y], mask, ..
        } => {
            let dst = ctx.output_reg(inst, 0)?;
            let m = ctx.constant(mask)?;
            let r = lower_shuffle(ctx, x, y, m);
            mov(ctx, r, dst);
            Ok(())
        }
        InstructionData::Load {
            opcode,
            arg,
            offset,
            ..
        } => lower_vector_load(ctx, inst, opcode, arg, offset),
        InstructionData::MemLane {
            opcode,
            args: [v, base],
            offset,
            lane,
            ..
        } => {
            let vty = ctx.value_type(v);
            if !vty.has_lane(lane) {
                return Err(ctx.unsupported(inst));
            }
            let lane_ty = vty.lane_type().as_int();
            let elem = elem_size(vty);
            let vec = ctx.value_reg(v);
            let addr = lower_addr(ctx, base, offset);
            let g = tmp(ctx);
            if opcode == LoadLane {
                let dst = ctx.output_reg(inst, 0)?;
                ctx.emit(gen_load(g, lane_ty, addr));
                ctx.emit(MInst::InsGpr {
                    elem,
                    dst,
                    vec,
                    index: lane,
                    rn: g,
                });
            } else {
                ctx.emit(MInst::Umov {
                    elem,
                    dst: g,
                    rn: vec,
                    index: lane,
                });
                ctx.emit(gen_store(g, lane_ty, addr));
            }
            Ok(())
        }
        _ => Err(ctx.unsupported(inst)),
    }
}

/// `load_splat` (a GPR load, `dup`), `sload_widen`/`uload_widen` (`ldr d`, `sxtl`/`uxtl`)
/// and `load_zero` (`ldr s`/`ldr d`, which zero the rest of the register).
fn lower_vector_load(ctx: &mut Ctx<'_>, inst: Inst, op: Opcode, arg: Value, offset: i32) -> R {
    let ty = ctx.ctrl_type(inst).unwrap_or(Type::I8X16);
    if !ty.is_vector() {
        return Err(ctx.unsupported(inst));
    }
    let dst = ctx.output_reg(inst, 0)?;
    let addr = lower_addr(ctx, arg, offset);
    match op {
        Opcode::LoadSplat => {
            let g = tmp(ctx);
            ctx.emit(gen_load(g, ty.lane_type().as_int(), addr));
            ctx.emit(MInst::VecDup {
                arr: vec_arr(ty),
                dst,
                rn: g,
            });
        }
        Opcode::LoadZero => {
            let scalar = if ty.lane_bits() == 32 {
                Type::F32
            } else {
                Type::F64
            };
            ctx.emit(gen_load(dst, scalar, addr));
        }
        _ => {
            let low = ftmp(ctx);
            ctx.emit(gen_load(low, Type::F64, addr));
            let src = match ty.lane_bits() {
                16 => VecArr::B8,
                32 => VecArr::H4,
                _ => VecArr::S2,
            };
            let m = if op == Opcode::SloadWiden {
                VecMiscOp::Sxtl
            } else {
                VecMiscOp::Uxtl
            };
            ctx.emit(MInst::VecMisc {
                op: m,
                arr: src,
                dst,
                rn: low,
            });
        }
    }
    Ok(())
}

fn tbl(ctx: &mut Ctx<'_>, table: Reg, idx: Reg) -> Reg {
    let dst = ftmp(ctx);
    ctx.emit(MInst::VecTbl { dst, table, idx });
    dst
}

/// `tbl` on each operand with the indices of its bytes (others out of range: 0), OR-ed.
fn lower_shuffle(ctx: &mut Ctx<'_>, x: Value, y: Value, m: [u8; 16]) -> Reg {
    let a = ctx.value_reg(x);
    if x == y || m.iter().all(|&k| k < 16) {
        let idx = vconst(ctx, m.map(|k| if x == y { k & 15 } else { k }));
        return tbl(ctx, a, idx);
    }
    let b = ctx.value_reg(y);
    if m.iter().all(|&k| k >= 16) {
        let idx = vconst(ctx, m.map(|k| k - 16));
        return tbl(ctx, b, idx);
    }
    let ia = vconst(ctx, m.map(|k| if k < 16 { k } else { 0xff }));
    let ib = vconst(ctx, m.map(|k| if k >= 16 { k - 16 } else { 0xff }));
    let ra = tbl(ctx, a, ia);
    let rb = tbl(ctx, b, ib);
    logic(ctx, VecLogicOp::Orr, ra, rb)
}

/// A float comparison as lane masks.
fn lower_fcmp(ctx: &mut Ctx<'_>, arr: VecArr, cc: FloatCC, a: Reg, b: Reg) -> Reg {
    use FloatCC::*;
    use VecFpOp3::{Fcmeq, Fcmge, Fcmgt};
    let f = |ctx: &mut Ctx<'_>, op, x, y| frrr(ctx, op, arr, x, y);
    match cc {
        Equal => f(ctx, Fcmeq, a, b),
        NotEqual => {
            let e = f(ctx, Fcmeq, a, b);
            not(ctx, e)
        }
        LessThan => f(ctx, Fcmgt, b, a),
        LessThanOrEqual => f(ctx, Fcmge, b, a),
        GreaterThan => f(ctx, Fcmgt, a, b),
        GreaterThanOrEqual => f(ctx, Fcmge, a, b),
        Ordered | Unordered => {
            let ea = f(ctx, Fcmeq, a, a);
            let eb = f(ctx, Fcmeq, b, b);
            let o = logic(ctx, VecLogicOp::And, ea, eb);
            if cc == Ordered {
                o
            } else {
                not(ctx, o)
            }
        }
        OrderedNotEqual | UnorderedOrEqual => {
            let gt = f(ctx, Fcmgt, a, b);
            let lt = f(ctx, Fcmgt, b, a);
            let ne = logic(ctx, VecLogicOp::Orr, gt, lt);
            if cc == OrderedNotEqual {
                ne
            } else {
                not(ctx, ne)
            }
        }
        UnorderedOrLessThan => {
            let t = f(ctx, Fcmge, a, b);
            not(ctx, t)
        }
        UnorderedOrLessThanOrEqual => {
            let t = f(ctx, Fcmgt, a, b);
            not(ctx, t)
        }
        UnorderedOrGreaterThan => {
            let t = f(ctx, Fcmge, b, a);
            not(ctx, t)
        }
        UnorderedOrGreaterThanOrEqual => {
            let t = f(ctx, Fcmgt, b, a);
            not(ctx, t)
        }
    }
}

/// A per-lane shift amount vector: `amt & (w - 1)`, negated for right shifts (`sshl`/`ushl`
/// shift right by a negative amount).
fn shift_amounts(ctx: &mut Ctx<'_>, arr: VecArr, w: u32, amt: Reg, right: bool) -> Reg {
    let masked = tmp(ctx);
    let imm = ImmLogic::maybe_from_u64(u64::from(w - 1), Size::S32).expect("2^k - 1 encodes");
    ctx.emit(MInst::AluRRImmLogic {
        op: AluOp::And,
        size: Size::S32,
        dst: masked,
        rn: amt,
        imm,
    });
    let n = if right {
        let neg = tmp(ctx);
        ctx.emit(MInst::NegNot {
            negate: true,
            size: Size::S32,
            dst: neg,
            rn: masked,
        });
        neg
    } else {
        masked
    };
    let v = ftmp(ctx);
    // The amount is read from the bottom byte of each lane: a byte splat serves all widths.
    ctx.emit(MInst::VecDup {
        arr: VecArr::B16,
        dst: v,
        rn: n,
    });
    let _ = arr;
    v
}

fn lower_binary(
    ctx: &mut Ctx<'_>,
    inst: Inst,
    op: Opcode,
    x: Value,
    y: Value,
) -> Result<Reg, CodegenError> {
    use Opcode::*;
    let ty = ctx.value_type(x);
    if !takes_lane_width(op, ty) {
        return Err(ctx.unsupported(inst));
    }
    let arr = vec_arr(ty);
    let a = ctx.value_reg(x);
    let b = ctx.value_reg(y);
    let int = |ctx: &mut Ctx<'_>, op| rrr(ctx, op, arr, a, b);
    Ok(match op {
        Fadd => frrr(ctx, VecFpOp3::Fadd, arr, a, b),
        Fsub => frrr(ctx, VecFpOp3::Fsub, arr, a, b),
        Fmul => frrr(ctx, VecFpOp3::Fmul, arr, a, b),
        Fdiv => frrr(ctx, VecFpOp3::Fdiv, arr, a, b),
        Fmin => frrr(ctx, VecFpOp3::Fmin, arr, a, b),
        Fmax => frrr(ctx, VecFpOp3::Fmax, arr, a, b),
        FminPseudo => {
            // b < a ? b : a
            let m = frrr(ctx, VecFpOp3::Fcmgt, arr, a, b);
            bsl(ctx, m, b, a)
        }
        FmaxPseudo => {
            // a < b ? b : a
            let m = frrr(ctx, VecFpOp3::Fcmgt, arr, b, a);
            bsl(ctx, m, b, a)
        }
        SaddSat => int(ctx, VecOp3::Sqadd),
        UaddSat => int(ctx, VecOp3::Uqadd),
        SsubSat => int(ctx, VecOp3::Sqsub),
        UsubSat => int(ctx, VecOp3::Uqsub),
        Smin => int(ctx, VecOp3::Smin),
        Smax => int(ctx, VecOp3::Smax),
        Umin => int(ctx, VecOp3::Umin),
        Umax => int(ctx, VecOp3::Umax),
        AvgRound => int(ctx, VecOp3::Urhadd),
        Ishl | Ushr | Sshr => {
            let n = shift_amounts(ctx, arr, ty.lane_bits(), b, op != Ishl);
            let sop = if op == Sshr {
                VecOp3::Sshl
            } else {
                VecOp3::Ushl
            };
            rrr(ctx, sop, arr, a, n)
        }
        Swizzle => tbl(ctx, a, b),
        SwidenMulLow | SwidenMulHigh | UwidenMulLow | UwidenMulHigh => {
            let high = matches!(op, SwidenMulHigh | UwidenMulHigh);
            let signed = matches!(op, SwidenMulLow | SwidenMulHigh);
            mull(ctx, signed, half_arr(ty, high), a, b)
        }
        Sdot => {
            // Products of the low and high halves, then pairs added.
            let lo = mull(ctx, true, VecArr::H4, a, b);
            let hi = mull(ctx, true, VecArr::H8, a, b);
            rrr(ctx, VecOp3::Addp, VecArr::S4, lo, hi)
        }
        SqmulRoundSat => int(ctx, VecOp3::Sqrdmulh),
        Snarrow | Unarrow => {
            let nop = if op == Snarrow {
                VecMiscOp::Sqxtn
            } else {
                VecMiscOp::Sqxtun
            };
            let (lo_arr, hi_arr) = match ty.lane_bits() {
                16 => (VecArr::B8, VecArr::B16),
                _ => (VecArr::H4, VecArr::H8),
            };
            let lo = misc(ctx, nop, lo_arr, a);
            let dst = ftmp(ctx);
            ctx.emit(MInst::VecNarrowHigh {
                op: nop,
                arr: hi_arr,
                dst,
                lo,
                rn: b,
            });
            dst
        }
        _ => return Err(ctx.unsupported(inst)),
    })
}

fn lower_unary(
    ctx: &mut Ctx<'_>,
    inst: Inst,
    op: Opcode,
    aty: Type,
    rty: Type,
    a: Reg,
) -> Result<Reg, CodegenError> {
    use Opcode::*;
    use VecMiscOp as M;
    if !takes_lane_width(op, aty) {
        return Err(ctx.unsupported(inst));
    }
    let arr = vec_arr(aty);
    Ok(match op {
        Fneg => misc(ctx, M::Fneg, arr, a),
        Fabs => misc(ctx, M::Fabs, arr, a),
        Sqrt => misc(ctx, M::Fsqrt, arr, a),
        Ceil => misc(ctx, M::Frintp, arr, a),
        Floor => misc(ctx, M::Frintm, arr, a),
        Trunc => misc(ctx, M::Frintz, arr, a),
        Nearest => misc(ctx, M::Frintn, arr, a),
        Iabs => misc(ctx, M::Abs, arr, a),
        Popcnt => {
            let dst = ftmp(ctx);
            ctx.emit(MInst::VecCnt16 { dst, rn: a });
            dst
        }
        SwidenLow | SwidenHigh | UwidenLow | UwidenHigh => {
            let src_arr = half_arr(aty, matches!(op, SwidenHigh | UwidenHigh));
            let m = if matches!(op, SwidenLow | SwidenHigh) {
                M::Sxtl
            } else {
                M::Uxtl
            };
            misc(ctx, m, src_arr, a)
        }
        SwidenAddPairwise => misc(ctx, M::Saddlp, arr, a),
        UwidenAddPairwise => misc(ctx, M::Uaddlp, arr, a),
        FcvtFromSint | FcvtFromUint => {
            let signed = op == FcvtFromSint;
            let cvt = if signed { M::Scvtf } else { M::Ucvtf };
            if rty == Type::F64X2 {
                let ext = if signed { M::Sxtl } else { M::Uxtl };
                let wide = misc(ctx, ext, VecArr::S2, a);
                misc(ctx, cvt, VecArr::D2, wide)
            } else {
                misc(ctx, cvt, VecArr::S4, a)
            }
        }
        FcvtToSintSat | FcvtToUintSat => {
            let signed = op == FcvtToSintSat;
            let cvt = if signed { M::Fcvtzs } else { M::Fcvtzu };
            if aty == Type::F64X2 {
                let wide = misc(ctx, cvt, VecArr::D2, a);
                let narrow = if signed { M::Sqxtn } else { M::Uqxtn };
                misc(ctx, narrow, VecArr::S2, wide)
            } else {
                misc(ctx, cvt, VecArr::S4, a)
            }
        }
        Fpromote => misc(ctx, M::Fcvtl, VecArr::D2, a),
        Fdemote => misc(ctx, M::Fcvtn, VecArr::D2, a),
        _ => return Err(ctx.unsupported(inst)),
    })
}

/// `vany_true`, `vall_true` (0 or 1) and `vhigh_bits` into the GPR `dst`.
fn lower_reduction(ctx: &mut Ctx<'_>, op: Opcode, aty: Type, a: Reg, dst: Reg) {
    let arr = vec_arr(aty);
    let umax_byte = |ctx: &mut Ctx<'_>, v: Reg| {
        let m = ftmp(ctx);
        ctx.emit(MInst::VecUmaxv { dst: m, rn: v });
        let g = tmp(ctx);
        ctx.emit(MInst::Umov {
            elem: ElemSize::B,
            dst: g,
            rn: m,
            index: 0,
        });
        g
    };
    match op {
        Opcode::VanyTrue | Opcode::VallTrue => {
            let (v, cond) = if op == Opcode::VanyTrue {
                (a, Cond::Ne)
            } else {
                // Lanes equal to zero become all ones; none may exist.
                let z = vconst(ctx, [0; 16]);
                (rrr(ctx, VecOp3::Cmeq, arr, a, z), Cond::Eq)
            };
            let g = umax_byte(ctx, v);
            cmp_imm(ctx, Size::S32, g, 0);
            ctx.emit(MInst::CSet {
                dst,
                cond,
                mask: false,
            });
        }
        _ => {
            // Negative lanes → all ones; keep bit i in lane i; add the lanes up.
            let neg = misc(ctx, VecMiscOp::Cmlt0, arr, a);
            let n = aty.lane_count() as usize;
            let w = aty.lane_bits() as usize / 8;
            let mut weights = [0u8; 16];
            for i in 0..n {
                let bit = 1u64 << (i % 8);
                weights[i * w..(i + 1) * w].copy_from_slice(&bit.to_le_bytes()[..w]);
            }
            let wv = vconst(ctx, weights);
            let bits = logic(ctx, VecLogicOp::And, neg, wv);
            match aty.lane_bits() {
                8 => {
                    // Lanes 0-7 and 8-15 separately: interleave the halves into 16-bit
                    // lanes (low byte from lanes 0-7, high byte from 8-15), then add.
                    let hi = ftmp(ctx);
                    ctx.emit(MInst::VecExt {
                        dst: hi,
                        rn: bits,
                        rm: bits,
                        index: 8,
                    });
                    let z = ftmp(ctx);
                    ctx.emit(MInst::VecPerm {
                        op: VecPermOp::Zip1,
                        arr: VecArr::B16,
                        dst: z,
                        rn: bits,
                        rm: hi,
                    });
                    let s = ftmp(ctx);
                    ctx.emit(MInst::VecAddv {
                        arr: VecArr::H8,
                        dst: s,
                        rn: z,
                    });
                    ctx.emit(MInst::Umov {
                        elem: ElemSize::H,
                        dst,
                        rn: s,
                        index: 0,
                    });
                }
                64 => {
                    let (l0, l1) = (tmp(ctx), tmp(ctx));
                    for (i, g) in [(0u8, l0), (1, l1)] {
                        ctx.emit(MInst::Umov {
                            elem: ElemSize::D,
                            dst: g,
                            rn: bits,
                            index: i,
                        });
                    }
                    ctx.emit(alu(AluOp::Orr, Size::S32, dst, l0, l1));
                }
                _ => {
                    let s = ftmp(ctx);
                    ctx.emit(MInst::VecAddv {
                        arr,
                        dst: s,
                        rn: bits,
                    });
                    let elem = if aty.lane_bits() == 16 {
                        ElemSize::H
                    } else {
                        ElemSize::S
                    };
                    ctx.emit(MInst::Umov {
                        elem,
                        dst,
                        rn: s,
                        index: 0,
                    });
                }
            }
        }
    }
}
