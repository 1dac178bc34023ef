//! AArch64 instruction selection: [`Aarch64Backend`]'s [`LowerBackend`] implementation.
//!
//! One function per opcode family, plain pattern matching. Natural forms are chosen when
//! the operands allow:
//! - arithmetic immediates (`add`/`sub`/`cmp`/`cmn` with a 12-bit, optionally shifted,
//!   immediate), bitmask immediates for `and`/`orr`/`eor`/`tst`, shifted-register operands
//!   (`add x, y, z, lsl #k` from a single-use `ishl` by a constant), `bic`/`orn`/`eon` from
//!   a single-use `bnot`, `madd`/`msub` from a single-use `imul`;
//! - a single-use `icmp`/`fcmp` is fused into its `brif`/`select`/`trapz`/`trapnz`
//!   (`cmp` + `b.cond`/`csel`); a comparison with zero becomes `cbz`/`cbnz` (`eq`/`ne`) or
//!   `tbz`/`tbnz` on the sign bit (`slt`/`sge`);
//! - loads and stores fold `iadd base, index` (register offset) and `iadd base, iconst`
//!   (immediate offset) when the address is used once.
//!
//! Value rules (see `inst`): `i8`/`i16` values have undefined bits above their width, so
//! every operation whose result depends on those bits (comparisons, division, right
//! shifts, rotates, bit counts, extensions, conditions) extends or masks first.
//!
//! Semantics notes (`docs/kir.md`): division checks the divisor with `cbnz` over a `udf`
//! (`int_divz`) and `sdiv MIN, -1` with `cmn`/`ccmp`/`b.vc` (`int_ovf`); `srem`/`urem` are
//! `msub` after the division (hardware `sdiv MIN, -1` gives `MIN`, so `srem` gives 0).
//! `fmin`/`fmax` are the hardware instructions (NaN-propagating, `-0 < +0`). The `_sat`
//! conversions are `fcvtzs`/`fcvtzu` directly; the trapping ones check NaN (`bad_toint`)
//! and the exact representable range (`int_ovf`) first. `func_addr` loads an inline
//! 64-bit literal carrying an `Abs8` relocation (not position independent; chosen because
//! it reaches any address and needs no paired relocations).
//!
//! Anything a verified function can contain lowers; otherwise the result is
//! [`CodegenError::Unsupported`], never a panic.

use regalloc2::{PReg, RegClass};

mod simd;
use smallvec::SmallVec;

use super::abi::{call_clobbers, gen_load, gen_store, Aarch64Abi};
use super::encoding::fp::{FpuOp1, FpuOp2, VecLogicOp, VecMiscOp, VecOp3};
use super::encoding::int::{AluOp, DataProc1, DataProc2, LoadOp, StoreOp};
use super::encoding::{Cond, FpImm8, Imm12, ImmLogic, Shift};
use super::flags::Aarch64Flags;
use super::inst::{size_of_int, Addr, CallDest, CondKind, MInst};
use super::regs::{ElemSize, FpSize, Size, VecArr};
use crate::ir::{
    ExternalName, FloatCC, Inst, InstructionData, IntCC, Opcode, Signature, TrapCode, Type, Value,
};
use crate::machinst::abi::{align_to, ArgLoc, RetLoc, SigLocs};
use crate::machinst::{CodegenError, Lower, LowerBackend, MachLabel, Reg};

/// The AArch64 backend (baseline ARMv8.0-A with NEON).
#[derive(Copy, Clone, Debug, Default)]
pub struct Aarch64Backend {
    /// Optional features lowering may use.
    pub flags: Aarch64Flags,
}

type Ctx<'a> = Lower<'a, MInst>;
type R = Result<(), CodegenError>;

// ----------------------------------------------------------------------------- helpers

fn fp_size(ty: Type) -> FpSize {
    if ty == Type::F64 {
        FpSize::D
    } else {
        FpSize::S
    }
}

fn vec_arr(ty: Type) -> VecArr {
    match ty.lane_bits() {
        8 => VecArr::B16,
        16 => VecArr::H8,
        32 => VecArr::S4,
        _ => VecArr::D2,
    }
}

fn elem_size(ty: Type) -> ElemSize {
    match ty.lane_bits() {
        8 => ElemSize::B,
        16 => ElemSize::H,
        32 => ElemSize::S,
        _ => ElemSize::D,
    }
}

fn int_cond(cc: IntCC) -> Cond {
    match cc {
        IntCC::Equal => Cond::Eq,
        IntCC::NotEqual => Cond::Ne,
        IntCC::SignedLessThan => Cond::Lt,
        IntCC::SignedLessThanOrEqual => Cond::Le,
        IntCC::SignedGreaterThan => Cond::Gt,
        IntCC::SignedGreaterThanOrEqual => Cond::Ge,
        IntCC::UnsignedLessThan => Cond::Lo,
        IntCC::UnsignedLessThanOrEqual => Cond::Ls,
        IntCC::UnsignedGreaterThan => Cond::Hi,
        IntCC::UnsignedGreaterThanOrEqual => Cond::Hs,
    }
}

fn is_signed(cc: IntCC) -> bool {
    matches!(
        cc,
        IntCC::SignedLessThan
            | IntCC::SignedLessThanOrEqual
            | IntCC::SignedGreaterThan
            | IntCC::SignedGreaterThanOrEqual
    )
}

/// The flags condition after `fcmp a, b` that holds exactly when `a cc b`, if one exists
/// (`one` and `ueq` need two).
fn float_cond(cc: FloatCC) -> Option<Cond> {
    Some(match cc {
        FloatCC::Ordered => Cond::Vc,
        FloatCC::Unordered => Cond::Vs,
        FloatCC::Equal => Cond::Eq,
        FloatCC::NotEqual => Cond::Ne,
        FloatCC::LessThan => Cond::Mi,
        FloatCC::LessThanOrEqual => Cond::Ls,
        FloatCC::GreaterThan => Cond::Gt,
        FloatCC::GreaterThanOrEqual => Cond::Ge,
        FloatCC::UnorderedOrLessThan => Cond::Lt,
        FloatCC::UnorderedOrLessThanOrEqual => Cond::Le,
        FloatCC::UnorderedOrGreaterThan => Cond::Hi,
        FloatCC::UnorderedOrGreaterThanOrEqual => Cond::Hs,
        FloatCC::OrderedNotEqual | FloatCC::UnorderedOrEqual => return None,
    })
}

fn tmp(ctx: &mut Ctx<'_>) -> Reg {
    ctx.alloc_tmp(RegClass::Int)
}

fn ftmp(ctx: &mut Ctx<'_>) -> Reg {
    ctx.alloc_tmp(RegClass::Float)
}

fn imm_reg(ctx: &mut Ctx<'_>, size: Size, value: u64) -> Reg {
    let dst = tmp(ctx);
    ctx.emit(MInst::Imm { size, dst, value });
    dst
}

/// Mask of a type's bits.
fn mask_of(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// `v` (an integer of fewer than 64 bits unless `to64` is false) extended to 32 bits
/// (`to64` false) or 64 bits. Constants are materialized already extended.
fn extend(ctx: &mut Ctx<'_>, v: Value, signed: bool, to64: bool) -> Reg {
    let bits = ctx.value_type(v).bits();
    let size = if to64 { Size::S64 } else { Size::S32 };
    if bits == 64 || (bits == 32 && !to64) {
        return ctx.value_reg(v);
    }
    if let Some(c) = ctx.iconst_of(v) {
        let value = if signed {
            c as u64
        } else {
            (c as u64) & mask_of(bits)
        };
        return imm_reg(ctx, size, value);
    }
    let rn = ctx.value_reg(v);
    let dst = tmp(ctx);
    ctx.emit(MInst::Bitfield {
        signed,
        size,
        dst,
        rn,
        immr: 0,
        imms: (bits - 1) as u8,
    });
    dst
}

/// Emit `cmp rn, #c` (or `cmn`) when `c` (the comparison-width value) is encodable.
fn cmp_imm(ctx: &mut Ctx<'_>, size: Size, rn: Reg, c: i64) -> bool {
    if let Some(imm) = Imm12::maybe_from_u64(c as u64) {
        ctx.emit(MInst::CmpImm {
            size,
            rn,
            imm,
            negate: false,
        });
        true
    } else if let Some(imm) = c
        .checked_neg()
        .and_then(|n| Imm12::maybe_from_u64(n as u64))
    {
        ctx.emit(MInst::CmpImm {
            size,
            rn,
            imm,
            negate: true,
        });
        true
    } else {
        false
    }
}

/// Emit a comparison of scalar integers `x` and `y`; returns the condition for `x cc y`.
fn lower_icmp_flags(ctx: &mut Ctx<'_>, cc: IntCC, x: Value, y: Value) -> Cond {
    let ty = ctx.value_type(x);
    let bits = ty.bits();
    let size = size_of_int(bits);
    let signed = is_signed(cc);
    if ctx.iconst_of(x).is_some() && ctx.iconst_of(y).is_none() {
        return lower_icmp_flags(ctx, cc.swap_args(), y, x);
    }
    let lhs = extend(ctx, x, signed, false);
    if let Some(c) = ctx.iconst_of(y) {
        let c = if bits < 32 && !signed {
            ((c as u64) & mask_of(bits)) as i64
        } else if bits == 32 {
            i64::from(c as i32)
        } else {
            c
        };
        if cmp_imm(ctx, size, lhs, c) {
            return int_cond(cc);
        }
    }
    let rhs = extend(ctx, y, signed, false);
    ctx.emit(MInst::CmpRR {
        size,
        rn: lhs,
        rm: rhs,
    });
    int_cond(cc)
}

/// The sunk comparison defining `c`, if `c` is a single-use scalar `icmp`/`fcmp` that can
/// be fused (an `fcmp` only when one flags condition expresses it).
fn fusable_compare(ctx: &Ctx<'_>, c: Value) -> Option<Inst> {
    let d = ctx.sinkable(c)?;
    match *ctx.data(d) {
        InstructionData::IntCompare {
            opcode: Opcode::Icmp,
            args: [x, _],
            ..
        } if ctx.value_type(x).is_int_scalar() => Some(d),
        InstructionData::FloatCompare {
            opcode: Opcode::Fcmp,
            cond,
            ..
        } if float_cond(cond).is_some() => Some(d),
        _ => None,
    }
}

/// The condition "`c` is non-zero", emitting whatever it needs. A single-use compare is
/// fused, also behind single-use `uextend`s ([`Ctx::nonzero_source`]); a comparison with
/// zero becomes a register test (`cbz`/`tbz`).
fn lower_cond(ctx: &mut Ctx<'_>, c: Value) -> CondKind {
    let c = ctx.nonzero_source(c);
    if let Some(d) = fusable_compare(ctx, c) {
        ctx.sink_inst(d);
        match *ctx.data(d) {
            InstructionData::IntCompare {
                cond, args: [x, y], ..
            } => {
                let bits = ctx.value_type(x).bits();
                if ctx.iconst_of(y) == Some(0) {
                    match cond {
                        IntCC::Equal | IntCC::NotEqual if bits >= 32 => {
                            let r = ctx.value_reg(x);
                            let s = size_of_int(bits);
                            return if cond == IntCC::Equal {
                                CondKind::Zero(r, s)
                            } else {
                                CondKind::NonZero(r, s)
                            };
                        }
                        IntCC::SignedLessThan | IntCC::SignedGreaterThanOrEqual => {
                            let r = ctx.value_reg(x);
                            let bit = (bits - 1) as u8;
                            return if cond == IntCC::SignedLessThan {
                                CondKind::BitSet(r, bit)
                            } else {
                                CondKind::BitZero(r, bit)
                            };
                        }
                        _ => {}
                    }
                }
                return CondKind::Cond(lower_icmp_flags(ctx, cond, x, y));
            }
            InstructionData::FloatCompare {
                cond, args: [x, y], ..
            } => {
                let size = fp_size(ctx.value_type(x));
                let rn = ctx.value_reg(x);
                let rm = ctx.value_reg(y);
                ctx.emit(MInst::FpuCmp { size, rn, rm });
                return CondKind::Cond(float_cond(cond).unwrap_or(Cond::Ne));
            }
            _ => {}
        }
    }
    let bits = ctx.value_type(c).bits();
    let r = ctx.value_reg(c);
    if bits >= 32 {
        CondKind::NonZero(r, size_of_int(bits))
    } else {
        if let Some(imm) = ImmLogic::maybe_from_u64(mask_of(bits), Size::S32) {
            ctx.emit(MInst::TstImm {
                size: Size::S32,
                rn: r,
                imm,
            });
        }
        CondKind::Cond(Cond::Ne)
    }
}

/// `#0` as an arithmetic immediate.
const ZERO12: Imm12 = match Imm12::new(0) {
    Some(i) => i,
    None => panic!("0 fits"),
};

/// Like [`lower_cond`], but always as a flags condition (for `csel`).
fn lower_cond_flags(ctx: &mut Ctx<'_>, c: Value) -> Cond {
    match lower_cond(ctx, c) {
        CondKind::Cond(cc) => cc,
        k @ (CondKind::Zero(r, size) | CondKind::NonZero(r, size)) => {
            ctx.emit(MInst::CmpImm {
                size,
                rn: r,
                imm: ZERO12,
                negate: false,
            });
            if matches!(k, CondKind::Zero(..)) {
                Cond::Eq
            } else {
                Cond::Ne
            }
        }
        k @ (CondKind::BitZero(r, bit) | CondKind::BitSet(r, bit)) => {
            let size = if bit >= 32 { Size::S64 } else { Size::S32 };
            if let Some(imm) = ImmLogic::maybe_from_u64(1u64 << bit, size) {
                ctx.emit(MInst::TstImm { size, rn: r, imm });
            }
            if matches!(k, CondKind::BitSet(..)) {
                Cond::Ne
            } else {
                Cond::Eq
            }
        }
    }
}

/// Materialize an `fcmp` as 0/1 in `dst`.
fn lower_fcmp_value(ctx: &mut Ctx<'_>, dst: Reg, cc: FloatCC, x: Value, y: Value) {
    let size = fp_size(ctx.value_type(x));
    let rn = ctx.value_reg(x);
    let rm = ctx.value_reg(y);
    ctx.emit(MInst::FpuCmp { size, rn, rm });
    match float_cond(cc) {
        Some(cond) => ctx.emit(MInst::CSet {
            dst,
            cond,
            mask: false,
        }),
        None => {
            let (c1, c2) = if cc == FloatCC::OrderedNotEqual {
                (Cond::Mi, Cond::Gt)
            } else {
                (Cond::Eq, Cond::Vs)
            };
            let t1 = tmp(ctx);
            let t2 = tmp(ctx);
            ctx.emit(MInst::CSet {
                dst: t1,
                cond: c1,
                mask: false,
            });
            ctx.emit(MInst::CSet {
                dst: t2,
                cond: c2,
                mask: false,
            });
            ctx.emit(alu(AluOp::Orr, Size::S32, dst, t1, t2));
        }
    }
}

fn alu(op: AluOp, size: Size, dst: Reg, rn: Reg, rm: Reg) -> MInst {
    MInst::AluRRR {
        op,
        size,
        dst,
        rn,
        rm,
        shift: Shift::Lsl,
        amount: 0,
    }
}

fn bitfield(signed: bool, size: Size, dst: Reg, rn: Reg, immr: u32, imms: u32) -> MInst {
    MInst::Bitfield {
        signed,
        size,
        dst,
        rn,
        immr: immr as u8,
        imms: imms as u8,
    }
}

/// `lsl dst, rn, #k` at `size`.
fn lsl_imm(size: Size, dst: Reg, rn: Reg, k: u32) -> MInst {
    let w = size.bits();
    bitfield(false, size, dst, rn, (w - k) % w, w - 1 - k)
}

/// A single-use `ishl`/`ushr`/`sshr` by a constant that can become a shifted-register
/// operand at width `bits`: `(source, shift, amount)`.
fn shifted_operand(ctx: &mut Ctx<'_>, v: Value, bits: u32) -> Option<(Value, Shift, u8)> {
    let d = ctx.sinkable(v)?;
    if let InstructionData::Binary {
        opcode: op @ (Opcode::Ishl | Opcode::Ushr | Opcode::Sshr),
        args: [x, y],
    } = *ctx.data(d)
    {
        let k = ctx.iconst_of(y)? as u64 & u64::from(bits - 1);
        let shift = match op {
            Opcode::Ishl => Shift::Lsl,
            Opcode::Ushr if bits >= 32 => Shift::Lsr,
            Opcode::Sshr if bits >= 32 => Shift::Asr,
            _ => return None,
        };
        ctx.sink_inst(d);
        return Some((x, shift, k as u8));
    }
    None
}

/// A single-use `bnot` defining `v`: its operand.
fn bnot_operand(ctx: &mut Ctx<'_>, v: Value) -> Option<Value> {
    let d = ctx.sinkable(v)?;
    if let InstructionData::Unary {
        opcode: Opcode::Bnot,
        arg,
    } = *ctx.data(d)
    {
        ctx.sink_inst(d);
        return Some(arg);
    }
    None
}

/// A single-use `imul` defining `v`: its operands.
fn imul_operands(ctx: &mut Ctx<'_>, v: Value) -> Option<(Value, Value)> {
    let d = ctx.sinkable(v)?;
    if let InstructionData::Binary {
        opcode: Opcode::Imul,
        args: [a, b],
    } = *ctx.data(d)
    {
        ctx.sink_inst(d);
        return Some((a, b));
    }
    None
}

/// The value of constant `c` as an immediate at width `bits` (32-bit patterns for
/// types up to 32 bits).
fn imm_bits(c: i64, bits: u32) -> u64 {
    if bits == 64 {
        c as u64
    } else {
        (c as u64) & 0xffff_ffff
    }
}

// ------------------------------------------------------------------ integer families

fn lower_int_binary(ctx: &mut Ctx<'_>, inst: Inst, op: Opcode, x: Value, y: Value) -> R {
    let ty = ctx.value_type(x);
    let bits = ty.bits();
    let size = size_of_int(bits);
    let dst = ctx.output_reg(inst, 0)?;
    match op {
        Opcode::Iadd | Opcode::Isub => {
            // madd / msub.
            if let Some((a, b)) = imul_operands(ctx, y) {
                let (rn, rm, ra) = (ctx.value_reg(a), ctx.value_reg(b), ctx.value_reg(x));
                ctx.emit(MInst::MulAdd {
                    size,
                    dst,
                    rn,
                    rm,
                    ra,
                    sub: op == Opcode::Isub,
                });
                return Ok(());
            }
            if op == Opcode::Iadd {
                if let Some((a, b)) = imul_operands(ctx, x) {
                    let (rn, rm, ra) = (ctx.value_reg(a), ctx.value_reg(b), ctx.value_reg(y));
                    ctx.emit(MInst::MulAdd {
                        size,
                        dst,
                        rn,
                        rm,
                        ra,
                        sub: false,
                    });
                    return Ok(());
                }
            }
            // Immediates (negated ones flip add/sub).
            let (var, c, flip) = match (ctx.iconst_of(x), ctx.iconst_of(y)) {
                (_, Some(c)) => (x, Some(c), false),
                (Some(c), None) if op == Opcode::Iadd => (y, Some(c), false),
                (Some(0), None) => (y, Some(0), true),
                _ => (x, None, false),
            };
            if flip {
                // isub 0, y
                let rn = ctx.value_reg(var);
                ctx.emit(MInst::NegNot {
                    negate: true,
                    size,
                    dst,
                    rn,
                });
                return Ok(());
            }
            if let Some(c) = c {
                let c = if bits == 64 { c } else { i64::from(c as i32) };
                let c = if op == Opcode::Isub {
                    c.wrapping_neg()
                } else {
                    c
                };
                let pos = Imm12::maybe_from_u64(c as u64).map(|i| (AluOp::Add, i));
                let neg = c
                    .checked_neg()
                    .and_then(|n| Imm12::maybe_from_u64(n as u64))
                    .map(|i| (AluOp::Sub, i));
                if let Some((aop, imm)) = pos.or(neg) {
                    let rn = ctx.value_reg(var);
                    ctx.emit(MInst::AluRRImm12 {
                        op: aop,
                        size,
                        dst,
                        rn,
                        imm,
                    });
                    return Ok(());
                }
            }
            let aop = if op == Opcode::Iadd {
                AluOp::Add
            } else {
                AluOp::Sub
            };
            lower_shifted_alu(ctx, aop, size, bits, dst, x, y, op == Opcode::Iadd)
        }
        Opcode::Band | Opcode::Bor | Opcode::Bxor | Opcode::BandNot => {
            let (lop, nop) = match op {
                Opcode::Band => (AluOp::And, AluOp::Bic),
                Opcode::Bor => (AluOp::Orr, AluOp::Orn),
                Opcode::Bxor => (AluOp::Eor, AluOp::Eon),
                _ => (AluOp::Bic, AluOp::And),
            };
            // Bitmask immediates.
            let imm_of = |ctx: &Ctx<'_>, v: Value| {
                let c = imm_bits(ctx.iconst_of(v)?, bits);
                let c = if op == Opcode::BandNot { !c } else { c };
                ImmLogic::maybe_from_u64(c, size)
            };
            let logic = match lop {
                AluOp::Bic => AluOp::And,
                o => o,
            };
            if let Some(imm) = imm_of(ctx, y) {
                let rn = ctx.value_reg(x);
                ctx.emit(MInst::AluRRImmLogic {
                    op: logic,
                    size,
                    dst,
                    rn,
                    imm,
                });
                return Ok(());
            }
            if op != Opcode::BandNot {
                if let Some(imm) = imm_of(ctx, x) {
                    let rn = ctx.value_reg(y);
                    ctx.emit(MInst::AluRRImmLogic {
                        op: logic,
                        size,
                        dst,
                        rn,
                        imm,
                    });
                    return Ok(());
                }
                // bic / orn / eon from a single-use bnot.
                if let Some(n) = bnot_operand(ctx, y) {
                    let (rn, rm) = (ctx.value_reg(x), ctx.value_reg(n));
                    ctx.emit(alu(nop, size, dst, rn, rm));
                    return Ok(());
                }
                if let Some(n) = bnot_operand(ctx, x) {
                    let (rn, rm) = (ctx.value_reg(y), ctx.value_reg(n));
                    ctx.emit(alu(nop, size, dst, rn, rm));
                    return Ok(());
                }
            }
            lower_shifted_alu(ctx, lop, size, bits, dst, x, y, op != Opcode::BandNot)
        }
        Opcode::Imul => {
            let (rn, rm) = (ctx.value_reg(x), ctx.value_reg(y));
            ctx.emit(MInst::Mul { size, dst, rn, rm });
            Ok(())
        }
        Opcode::Umulhi | Opcode::Smulhi => {
            let signed = op == Opcode::Smulhi;
            if bits == 64 {
                let (rn, rm) = (ctx.value_reg(x), ctx.value_reg(y));
                ctx.emit(MInst::MulHi {
                    signed,
                    dst,
                    rn,
                    rm,
                });
            } else {
                let wide = if bits == 32 { Size::S64 } else { Size::S32 };
                let a = extend(ctx, x, signed, bits == 32);
                let b = extend(ctx, y, signed, bits == 32);
                let m = tmp(ctx);
                ctx.emit(MInst::Mul {
                    size: wide,
                    dst: m,
                    rn: a,
                    rm: b,
                });
                ctx.emit(bitfield(false, wide, dst, m, bits, wide.bits() - 1));
            }
            Ok(())
        }
        Opcode::Sdiv | Opcode::Udiv | Opcode::Srem | Opcode::Urem => {
            lower_div(ctx, op, bits, dst, x, y)
        }
        Opcode::Ishl | Opcode::Ushr | Opcode::Sshr => lower_shift(ctx, op, bits, dst, x, y),
        Opcode::Rotl | Opcode::Rotr => lower_rotate(ctx, op, bits, dst, x, y),
        _ => Err(ctx.unsupported(inst)),
    }
}

/// `dst = x op y`, folding a shifted operand (`commutative`: also from `x`).
#[allow(clippy::too_many_arguments)]
fn lower_shifted_alu(
    ctx: &mut Ctx<'_>,
    op: AluOp,
    size: Size,
    bits: u32,
    dst: Reg,
    x: Value,
    y: Value,
    commutative: bool,
) -> R {
    let mut ops = (x, y, None);
    if let Some((s, shift, amount)) = shifted_operand(ctx, y, bits) {
        ops = (x, s, Some((shift, amount)));
    } else if commutative {
        if let Some((s, shift, amount)) = shifted_operand(ctx, x, bits) {
            ops = (y, s, Some((shift, amount)));
        }
    }
    let (a, b, sh) = ops;
    let (rn, rm) = (ctx.value_reg(a), ctx.value_reg(b));
    let (shift, amount) = sh.unwrap_or((Shift::Lsl, 0));
    ctx.emit(MInst::AluRRR {
        op,
        size,
        dst,
        rn,
        rm,
        shift,
        amount,
    });
    Ok(())
}

fn lower_div(ctx: &mut Ctx<'_>, op: Opcode, bits: u32, dst: Reg, x: Value, y: Value) -> R {
    let signed = matches!(op, Opcode::Sdiv | Opcode::Srem);
    let size = size_of_int(bits);
    let a = extend(ctx, x, signed, false);
    let b = extend(ctx, y, signed, false);
    let c = ctx.iconst_of(y);
    if c.is_none() || c == Some(0) {
        ctx.emit(MInst::TrapIf {
            kind: CondKind::Zero(b, size),
            code: TrapCode::IntegerDivisionByZero,
        });
    }
    let may_ovf = op == Opcode::Sdiv && (c.is_none() || c == Some(-1));
    if may_ovf && bits >= 32 {
        // b == -1 ? flags(a - 1) : 0; V set exactly for MIN / -1.
        ctx.emit(MInst::CmpImm {
            size,
            rn: b,
            imm: Imm12::new(1).unwrap_or(ZERO12),
            negate: true,
        });
        ctx.emit(MInst::CCmpImm {
            size,
            rn: a,
            imm5: 1,
            nzcv: 0,
            cond: Cond::Eq,
        });
        ctx.emit(MInst::TrapIf {
            kind: CondKind::Cond(Cond::Vs),
            code: TrapCode::IntegerOverflow,
        });
    }
    let dop = if signed {
        DataProc2::Sdiv
    } else {
        DataProc2::Udiv
    };
    let q = if matches!(op, Opcode::Sdiv | Opcode::Udiv) {
        dst
    } else {
        tmp(ctx)
    };
    ctx.emit(MInst::Dp2 {
        op: dop,
        size,
        dst: q,
        rn: a,
        rm: b,
    });
    if may_ovf && bits < 32 {
        // Only MIN / -1 gives 2^(bits-1) after extension to 32 bits.
        let r = q;
        if cmp_imm(ctx, Size::S32, r, 1i64 << (bits - 1)) {
            ctx.emit(MInst::TrapIf {
                kind: CondKind::Cond(Cond::Eq),
                code: TrapCode::IntegerOverflow,
            });
        }
    }
    if matches!(op, Opcode::Srem | Opcode::Urem) {
        ctx.emit(MInst::MulAdd {
            size,
            dst,
            rn: q,
            rm: b,
            ra: a,
            sub: true,
        });
    }
    Ok(())
}

fn lower_shift(ctx: &mut Ctx<'_>, op: Opcode, bits: u32, dst: Reg, x: Value, y: Value) -> R {
    let size = size_of_int(bits);
    let w = size.bits();
    if let Some(c) = ctx.iconst_of(y) {
        let k = (c as u64 & u64::from(bits - 1)) as u32;
        let rn = ctx.value_reg(x);
        let inst = match op {
            Opcode::Ishl => lsl_imm(size, dst, rn, k),
            Opcode::Ushr if bits >= 32 => bitfield(false, size, dst, rn, k, w - 1),
            Opcode::Sshr if bits >= 32 => bitfield(true, size, dst, rn, k, w - 1),
            Opcode::Ushr => bitfield(false, size, dst, rn, k, bits - 1),
            _ => bitfield(true, size, dst, rn, k, bits - 1),
        };
        ctx.emit(inst);
        return Ok(());
    }
    let dop = match op {
        Opcode::Ishl => DataProc2::Lslv,
        Opcode::Ushr => DataProc2::Lsrv,
        _ => DataProc2::Asrv,
    };
    if bits >= 32 {
        let (rn, rm) = (ctx.value_reg(x), ctx.value_reg(y));
        ctx.emit(MInst::Dp2 {
            op: dop,
            size,
            dst,
            rn,
            rm,
        });
        return Ok(());
    }
    let amt = ctx.value_reg(y);
    let m = tmp(ctx);
    if let Some(imm) = ImmLogic::maybe_from_u64(u64::from(bits - 1), Size::S32) {
        ctx.emit(MInst::AluRRImmLogic {
            op: AluOp::And,
            size: Size::S32,
            dst: m,
            rn: amt,
            imm,
        });
    }
    let rn = match op {
        Opcode::Ishl => ctx.value_reg(x),
        Opcode::Ushr => extend(ctx, x, false, false),
        _ => extend(ctx, x, true, false),
    };
    ctx.emit(MInst::Dp2 {
        op: dop,
        size: Size::S32,
        dst,
        rn,
        rm: m,
    });
    Ok(())
}

fn lower_rotate(ctx: &mut Ctx<'_>, op: Opcode, bits: u32, dst: Reg, x: Value, y: Value) -> R {
    let size = size_of_int(bits);
    // Sub-word values are replicated across 32 bits so that a 32-bit rotate (whose
    // amount is taken mod 32, a multiple of the width) rotates the low `bits` correctly.
    let src = if bits >= 32 {
        ctx.value_reg(x)
    } else {
        let z = extend(ctx, x, false, false);
        let mut r = z;
        let mut w = bits;
        while w < 32 {
            let t = tmp(ctx);
            ctx.emit(MInst::AluRRR {
                op: AluOp::Orr,
                size: Size::S32,
                dst: t,
                rn: r,
                rm: r,
                shift: Shift::Lsl,
                amount: w as u8,
            });
            r = t;
            w *= 2;
        }
        r
    };
    if let Some(c) = ctx.iconst_of(y) {
        let k = (c as u64 & u64::from(bits - 1)) as u32;
        let k = if op == Opcode::Rotl {
            (bits - k) % bits
        } else {
            k
        };
        ctx.emit(MInst::Extr {
            size,
            dst,
            rn: src,
            rm: src,
            lsb: k as u8,
        });
        return Ok(());
    }
    let amt = ctx.value_reg(y);
    let amt = if op == Opcode::Rotl {
        let t = tmp(ctx);
        ctx.emit(MInst::NegNot {
            negate: true,
            size,
            dst: t,
            rn: amt,
        });
        t
    } else {
        amt
    };
    ctx.emit(MInst::Dp2 {
        op: DataProc2::Rorv,
        size,
        dst,
        rn: src,
        rm: amt,
    });
    Ok(())
}

fn lower_bitcount(ctx: &mut Ctx<'_>, op: Opcode, x: Value, dst: Reg) -> R {
    let bits = ctx.value_type(x).bits();
    let size = size_of_int(bits);
    let rn = ctx.value_reg(x);
    match op {
        Opcode::Clz => {
            let src = if bits >= 32 {
                rn
            } else {
                // Move the value to the top and plant a stop bit just below it.
                let t = tmp(ctx);
                ctx.emit(lsl_imm(Size::S32, t, rn, 32 - bits));
                let t2 = tmp(ctx);
                if let Some(imm) = ImmLogic::maybe_from_u64(1u64 << (31 - bits), Size::S32) {
                    ctx.emit(MInst::AluRRImmLogic {
                        op: AluOp::Orr,
                        size: Size::S32,
                        dst: t2,
                        rn: t,
                        imm,
                    });
                }
                t2
            };
            ctx.emit(MInst::Dp1 {
                op: DataProc1::Clz,
                size,
                dst,
                rn: src,
            });
        }
        Opcode::Ctz => {
            let src = if bits >= 32 {
                rn
            } else {
                let t = tmp(ctx);
                if let Some(imm) = ImmLogic::maybe_from_u64(1u64 << bits, Size::S32) {
                    ctx.emit(MInst::AluRRImmLogic {
                        op: AluOp::Orr,
                        size: Size::S32,
                        dst: t,
                        rn,
                        imm,
                    });
                }
                t
            };
            let r = tmp(ctx);
            ctx.emit(MInst::Dp1 {
                op: DataProc1::Rbit,
                size,
                dst: r,
                rn: src,
            });
            ctx.emit(MInst::Dp1 {
                op: DataProc1::Clz,
                size,
                dst,
                rn: r,
            });
        }
        _ => {
            let src = if bits >= 32 {
                rn
            } else {
                extend(ctx, x, false, false)
            };
            let v = ftmp(ctx);
            ctx.emit(MInst::MovToFpu {
                size: if bits == 64 { FpSize::D } else { FpSize::S },
                dst: v,
                rn: src,
            });
            let c = ftmp(ctx);
            ctx.emit(MInst::VecCnt { dst: c, rn: v });
            let s = ftmp(ctx);
            ctx.emit(MInst::VecAddv {
                arr: VecArr::B8,
                dst: s,
                rn: c,
            });
            ctx.emit(MInst::Umov {
                elem: ElemSize::B,
                dst,
                rn: s,
                index: 0,
            });
        }
    }
    Ok(())
}

// -------------------------------------------------------------------- float families

fn fp_const(ctx: &mut Ctx<'_>, ty: Type, bits: u64) -> Reg {
    let dst = ftmp(ctx);
    emit_fconst(ctx, dst, ty, bits);
    dst
}

fn emit_fconst(ctx: &mut Ctx<'_>, dst: Reg, ty: Type, bits: u64) {
    let size = fp_size(ty);
    let imm = if ty == Type::F64 {
        FpImm8::from_f64(f64::from_bits(bits))
    } else {
        FpImm8::from_f32(f32::from_bits(bits as u32))
    };
    if bits == 0 {
        ctx.emit(MInst::VecZero { dst });
    } else if let Some(imm) = imm {
        ctx.emit(MInst::FpuImm { size, dst, imm });
    } else {
        ctx.emit(MInst::FpuConst {
            dst,
            bits: u128::from(bits),
            size: if ty == Type::F64 { 8 } else { 4 },
        });
    }
}

fn fbits(ty: Type, v: f64) -> u64 {
    if ty == Type::F64 {
        v.to_bits()
    } else {
        u64::from((v as f32).to_bits())
    }
}

/// Trapping float-to-int conversion: NaN → `bad_toint`, out of range → `int_ovf`.
fn lower_fcvt_to_int(ctx: &mut Ctx<'_>, signed: bool, out: Type, x: Value, dst: Reg) {
    let fty = ctx.value_type(x);
    let size = fp_size(fty);
    let rn = ctx.value_reg(x);
    ctx.emit(MInst::FpuCmp { size, rn, rm: rn });
    ctx.emit(MInst::TrapIf {
        kind: CondKind::Cond(Cond::Vs),
        code: TrapCode::BadConversionToInteger,
    });
    let out_bits = out.bits();
    // (lower bound, fail condition for x vs lower bound), upper bound (fail if x >= it).
    let (lo, lo_fail, hi) = if signed {
        let min = -(2f64.powi(out_bits as i32 - 1));
        let hi = 2f64.powi(out_bits as i32 - 1);
        if fty == Type::F64 && out_bits == 32 {
            (min - 1.0, Cond::Le, hi)
        } else {
            (min, Cond::Lt, hi)
        }
    } else {
        (-1.0, Cond::Le, 2f64.powi(out_bits as i32))
    };
    let lo_r = fp_const(ctx, fty, fbits(fty, lo));
    ctx.emit(MInst::FpuCmp { size, rn, rm: lo_r });
    ctx.emit(MInst::TrapIf {
        kind: CondKind::Cond(lo_fail),
        code: TrapCode::IntegerOverflow,
    });
    let hi_r = fp_const(ctx, fty, fbits(fty, hi));
    ctx.emit(MInst::FpuCmp { size, rn, rm: hi_r });
    ctx.emit(MInst::TrapIf {
        kind: CondKind::Cond(Cond::Ge),
        code: TrapCode::IntegerOverflow,
    });
    ctx.emit(MInst::FpuToInt {
        signed,
        int: size_of_int(out_bits),
        fp: size,
        dst,
        rn,
    });
}

fn lower_fcopysign(ctx: &mut Ctx<'_>, ty: Type, x: Value, y: Value, dst: Reg) {
    let (size, fsz, sign) = if ty == Type::F64 {
        (Size::S64, FpSize::D, 1u64 << 63)
    } else {
        (Size::S32, FpSize::S, 1u64 << 31)
    };
    let (a, b) = (ctx.value_reg(x), ctx.value_reg(y));
    let (ga, gb) = (tmp(ctx), tmp(ctx));
    ctx.emit(MInst::MovFromFpu {
        size: fsz,
        dst: ga,
        rn: a,
    });
    ctx.emit(MInst::MovFromFpu {
        size: fsz,
        dst: gb,
        rn: b,
    });
    let (ma, mb) = (tmp(ctx), tmp(ctx));
    let mag = ImmLogic::maybe_from_u64(sign - 1, size);
    let sgn = ImmLogic::maybe_from_u64(sign, size);
    if let (Some(mag), Some(sgn)) = (mag, sgn) {
        ctx.emit(MInst::AluRRImmLogic {
            op: AluOp::And,
            size,
            dst: ma,
            rn: ga,
            imm: mag,
        });
        ctx.emit(MInst::AluRRImmLogic {
            op: AluOp::And,
            size,
            dst: mb,
            rn: gb,
            imm: sgn,
        });
    }
    let r = tmp(ctx);
    ctx.emit(alu(AluOp::Orr, size, r, ma, mb));
    ctx.emit(MInst::MovToFpu {
        size: fsz,
        dst,
        rn: r,
    });
}

// ------------------------------------------------------------------------- memory

/// The address `addr + offset`, folding a single-use `iadd` into it.
fn lower_addr(ctx: &mut Ctx<'_>, addr: Value, offset: i32) -> Addr {
    if let Some(d) = ctx.sinkable(addr) {
        if let InstructionData::Binary {
            opcode: Opcode::Iadd,
            args: [a, b],
        } = *ctx.data(d)
        {
            let (ca, cb) = (ctx.iconst_of(a), ctx.iconst_of(b));
            match (ca, cb) {
                (_, Some(c)) | (Some(c), None) => {
                    let base = if cb.is_some() { a } else { b };
                    ctx.sink_inst(d);
                    return Addr::RegOffset {
                        base: ctx.value_reg(base),
                        offset: c.wrapping_add(i64::from(offset)),
                    };
                }
                (None, None) if offset == 0 => {
                    ctx.sink_inst(d);
                    return Addr::RegReg {
                        base: ctx.value_reg(a),
                        index: ctx.value_reg(b),
                    };
                }
                _ => {}
            }
        }
    }
    Addr::RegOffset {
        base: ctx.value_reg(addr),
        offset: i64::from(offset),
    }
}

fn lower_load(ctx: &mut Ctx<'_>, inst: Inst, op: Opcode, arg: Value, offset: i32) -> R {
    let ty = ctx.ctrl_type(inst).unwrap_or(Type::I64);
    let dst = ctx.output_reg(inst, 0)?;
    let addr = lower_addr(ctx, arg, offset);
    let wide = ty == Type::I64;
    let lop = match op {
        Opcode::Load => {
            ctx.emit(gen_load(dst, ty, addr));
            return Ok(());
        }
        Opcode::Uload8 => LoadOp::Ldrb,
        Opcode::Sload8 if wide => LoadOp::LdrsbX,
        Opcode::Sload8 => LoadOp::LdrsbW,
        Opcode::Uload16 => LoadOp::Ldrh,
        Opcode::Sload16 if wide => LoadOp::LdrshX,
        Opcode::Sload16 => LoadOp::LdrshW,
        Opcode::Uload32 => LoadOp::LdrW,
        Opcode::Sload32 => LoadOp::Ldrsw,
        _ => return Err(ctx.unsupported(inst)),
    };
    ctx.emit(MInst::Load { op: lop, dst, addr });
    Ok(())
}

fn lower_store(ctx: &mut Ctx<'_>, inst: Inst, op: Opcode, args: [Value; 2], offset: i32) -> R {
    let ty = ctx.value_type(args[0]);
    let src = ctx.value_reg(args[0]);
    let addr = lower_addr(ctx, args[1], offset);
    let sop = match op {
        Opcode::Store => {
            ctx.emit(gen_store(src, ty, addr));
            return Ok(());
        }
        Opcode::Istore8 => StoreOp::Strb,
        Opcode::Istore16 => StoreOp::Strh,
        Opcode::Istore32 => StoreOp::StrW,
        _ => return Err(ctx.unsupported(inst)),
    };
    ctx.emit(MInst::Store { op: sop, src, addr });
    Ok(())
}

// ------------------------------------------------------------------------ vectors

fn lower_vector_binary(ctx: &mut Ctx<'_>, inst: Inst, op: Opcode, x: Value, y: Value) -> R {
    let ty = ctx.value_type(x);
    let arr = vec_arr(ty);
    let dst = ctx.output_reg(inst, 0)?;
    let (rn, rm) = (ctx.value_reg(x), ctx.value_reg(y));
    let inst = match op {
        Opcode::Iadd => MInst::VecRRR {
            op: VecOp3::Add,
            arr,
            dst,
            rn,
            rm,
        },
        Opcode::Isub => MInst::VecRRR {
            op: VecOp3::Sub,
            arr,
            dst,
            rn,
            rm,
        },
        Opcode::Imul if arr != VecArr::D2 => MInst::VecRRR {
            op: VecOp3::Mul,
            arr,
            dst,
            rn,
            rm,
        },
        Opcode::Imul => {
            // No `mul .2d`: multiply the two lanes in GPRs.
            let mut prods = [rn; 2];
            for (lane, p) in prods.iter_mut().enumerate() {
                let (a, b, m) = (tmp(ctx), tmp(ctx), tmp(ctx));
                for (d, s) in [(a, rn), (b, rm)] {
                    ctx.emit(MInst::Umov {
                        elem: ElemSize::D,
                        dst: d,
                        rn: s,
                        index: lane as u8,
                    });
                }
                ctx.emit(MInst::Mul {
                    size: Size::S64,
                    dst: m,
                    rn: a,
                    rm: b,
                });
                *p = m;
            }
            let lo = ftmp(ctx);
            ctx.emit(MInst::VecDup {
                arr: VecArr::D2,
                dst: lo,
                rn: prods[0],
            });
            MInst::InsGpr {
                elem: ElemSize::D,
                dst,
                vec: lo,
                index: 1,
                rn: prods[1],
            }
        }
        Opcode::Band => MInst::VecLogic {
            op: VecLogicOp::And,
            dst,
            rn,
            rm,
        },
        Opcode::Bor => MInst::VecLogic {
            op: VecLogicOp::Orr,
            dst,
            rn,
            rm,
        },
        Opcode::Bxor => MInst::VecLogic {
            op: VecLogicOp::Eor,
            dst,
            rn,
            rm,
        },
        Opcode::BandNot => MInst::VecLogic {
            op: VecLogicOp::Bic,
            dst,
            rn,
            rm,
        },
        _ => return Err(ctx.unsupported(inst)),
    };
    ctx.emit(inst);
    Ok(())
}

fn lower_vector_icmp(ctx: &mut Ctx<'_>, dst: Reg, cc: IntCC, x: Value, y: Value) {
    let arr = vec_arr(ctx.value_type(x));
    let (a, b) = (ctx.value_reg(x), ctx.value_reg(y));
    let (op, swap) = match cc {
        IntCC::Equal | IntCC::NotEqual => (VecOp3::Cmeq, false),
        IntCC::SignedGreaterThan => (VecOp3::Cmgt, false),
        IntCC::SignedGreaterThanOrEqual => (VecOp3::Cmge, false),
        IntCC::SignedLessThan => (VecOp3::Cmgt, true),
        IntCC::SignedLessThanOrEqual => (VecOp3::Cmge, true),
        IntCC::UnsignedGreaterThan => (VecOp3::Cmhi, false),
        IntCC::UnsignedGreaterThanOrEqual => (VecOp3::Cmhs, false),
        IntCC::UnsignedLessThan => (VecOp3::Cmhi, true),
        IntCC::UnsignedLessThanOrEqual => (VecOp3::Cmhs, true),
    };
    let (rn, rm) = if swap { (b, a) } else { (a, b) };
    if cc == IntCC::NotEqual {
        let t = ftmp(ctx);
        ctx.emit(MInst::VecRRR {
            op,
            arr,
            dst: t,
            rn,
            rm,
        });
        ctx.emit(MInst::VecNot { dst, rn: t });
    } else {
        ctx.emit(MInst::VecRRR {
            op,
            arr,
            dst,
            rn,
            rm,
        });
    }
}

fn lower_vconst(ctx: &mut Ctx<'_>, dst: Reg, bytes: [u8; 16]) {
    if bytes == [0; 16] {
        ctx.emit(MInst::VecZero { dst });
    } else if bytes.iter().all(|&b| b == bytes[0]) {
        ctx.emit(MInst::VecMoviBytes {
            dst,
            imm8: bytes[0],
        });
    } else {
        ctx.emit(MInst::FpuConst {
            dst,
            bits: u128::from_le_bytes(bytes),
            size: 16,
        });
    }
}

fn lower_select(ctx: &mut Ctx<'_>, ty: Type, dst: Reg, c: Value, a: Value, b: Value) {
    let cond = lower_cond_flags(ctx, c);
    let (rn, rm) = (ctx.value_reg(a), ctx.value_reg(b));
    if ty.is_int_scalar() {
        ctx.emit(MInst::CSel {
            size: size_of_int(ty.bits()),
            dst,
            rn,
            rm,
            cond,
        });
    } else if ty.is_float_scalar() {
        ctx.emit(MInst::FpuCsel {
            size: fp_size(ty),
            dst,
            rn,
            rm,
            cond,
        });
    } else {
        let m = tmp(ctx);
        ctx.emit(MInst::CSet {
            dst: m,
            cond,
            mask: true,
        });
        let mask = ftmp(ctx);
        ctx.emit(MInst::VecDup {
            arr: VecArr::D2,
            dst: mask,
            rn: m,
        });
        ctx.emit(MInst::VecBsl { dst, mask, rn, rm });
    }
}

// -------------------------------------------------------------------------- calls

fn lower_call(ctx: &mut Ctx<'_>, inst: Inst, sig: &Signature, dest: CallDest, args: &[Value]) -> R {
    let locs = ctx.call_sig_locs::<Aarch64Abi>(sig)?;
    let r = lower_call_with(ctx, inst, &locs, dest, args);
    ctx.recycle_sig_locs(locs);
    r
}

fn lower_call_with(
    ctx: &mut Ctx<'_>,
    inst: Inst,
    locs: &SigLocs,
    dest: CallDest,
    args: &[Value],
) -> R {
    if locs.args.len() != args.len() {
        return Err(CodegenError::InvalidFunction(
            "call arguments do not match the signature",
        ));
    }
    let mut uses: SmallVec<[(Reg, PReg); 8]> = SmallVec::new();
    for (k, &v) in args.iter().enumerate() {
        let (loc, ty) = locs.args[k];
        let r = ctx.value_reg(v);
        match loc {
            ArgLoc::Reg(p) => uses.push((r, p)),
            ArgLoc::Stack { offset } => ctx.emit(gen_store(r, ty, Addr::SpOffset(offset))),
        }
    }
    let ret_area_off = align_to(locs.stack_args_size, 16);
    if let Some(ArgLoc::Reg(p)) = locs.ret_area_ptr {
        let ptr = tmp(ctx);
        ctx.emit(MInst::LoadAddr {
            dst: ptr,
            addr: Addr::SpOffset(ret_area_off),
        });
        uses.push((ptr, p));
    }
    let area = ret_area_off
        .checked_add(locs.ret_area_size)
        .ok_or_else(|| CodegenError::ImplLimit("outgoing area"))?;
    if area > 0 {
        ctx.note_outgoing_area(area);
    }
    let results = ctx.func().dfg.inst_results(inst);
    if results.len() != locs.rets.len() {
        return Err(CodegenError::InvalidFunction(
            "call results do not match the signature",
        ));
    }
    let mut defs: SmallVec<[(Reg, PReg); 4]> = SmallVec::new();
    let mut clobbers = call_clobbers();
    for (k, &(loc, _)) in locs.rets.iter().enumerate() {
        if let RetLoc::Reg(p) = loc {
            defs.push((ctx.output_reg(inst, k)?, p));
            clobbers.remove(p);
        }
    }
    ctx.emit(MInst::Call {
        dest,
        uses,
        defs,
        clobbers,
    });
    for (k, &(loc, ty)) in locs.rets.iter().enumerate() {
        if let RetLoc::RetArea { offset } = loc {
            let dst = ctx.output_reg(inst, k)?;
            ctx.emit(gen_load(dst, ty, Addr::SpOffset(ret_area_off + offset)));
        }
    }
    Ok(())
}

// ------------------------------------------------------------------- the backend

impl LowerBackend for Aarch64Backend {
    type MInst = MInst;
    type Abi = Aarch64Abi;

    fn lower_inst(&self, ctx: &mut Ctx<'_>, inst: Inst) -> Result<(), CodegenError> {
        if let Some(r) = simd::lower(ctx, inst) {
            return r;
        }
        let ty = ctx.ctrl_type(inst);
        let data = *ctx.data(inst);
        match data {
            InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm,
            } => {
                let t = ty.unwrap_or(Type::I64);
                let dst = ctx.output_reg(inst, 0)?;
                ctx.emit(MInst::Imm {
                    size: size_of_int(t.bits()),
                    dst,
                    value: imm as u64,
                });
                Ok(())
            }
            InstructionData::UnaryIeee {
                opcode: Opcode::Fconst,
                bits,
            } => {
                let dst = ctx.output_reg(inst, 0)?;
                emit_fconst(ctx, dst, ty.unwrap_or(Type::F64), bits);
                Ok(())
            }
            InstructionData::UnaryConst {
                opcode: Opcode::Vconst,
                constant,
            } => {
                let bytes = ctx.constant(constant)?;
                let dst = ctx.output_reg(inst, 0)?;
                lower_vconst(ctx, dst, bytes);
                Ok(())
            }
            InstructionData::Binary {
                opcode,
                args: [x, y],
            } => {
                let t = ctx.value_type(x);
                if t.is_vector() {
                    return lower_vector_binary(ctx, inst, opcode, x, y);
                }
                if t.is_int_scalar() {
                    return lower_int_binary(ctx, inst, opcode, x, y);
                }
                let dst = ctx.output_reg(inst, 0)?;
                let size = fp_size(t);
                let op = match opcode {
                    Opcode::Fadd => FpuOp2::Fadd,
                    Opcode::Fsub => FpuOp2::Fsub,
                    Opcode::Fmul => FpuOp2::Fmul,
                    Opcode::Fdiv => FpuOp2::Fdiv,
                    Opcode::Fmin => FpuOp2::Fmin,
                    Opcode::Fmax => FpuOp2::Fmax,
                    Opcode::Fcopysign => {
                        lower_fcopysign(ctx, t, x, y, dst);
                        return Ok(());
                    }
                    _ => return Err(ctx.unsupported(inst)),
                };
                let (rn, rm) = (ctx.value_reg(x), ctx.value_reg(y));
                ctx.emit(MInst::FpuRRR {
                    op,
                    size,
                    dst,
                    rn,
                    rm,
                });
                Ok(())
            }
            InstructionData::Unary { opcode, arg } => lower_unary(ctx, inst, opcode, arg),
            InstructionData::IntCompare {
                opcode: Opcode::Icmp,
                cond,
                args: [x, y],
            } => {
                let dst = ctx.output_reg(inst, 0)?;
                if ctx.value_type(x).is_vector() {
                    lower_vector_icmp(ctx, dst, cond, x, y);
                } else {
                    let cond = lower_icmp_flags(ctx, cond, x, y);
                    ctx.emit(MInst::CSet {
                        dst,
                        cond,
                        mask: false,
                    });
                }
                Ok(())
            }
            InstructionData::FloatCompare {
                opcode: Opcode::Fcmp,
                cond,
                args: [x, y],
            } => {
                let dst = ctx.output_reg(inst, 0)?;
                lower_fcmp_value(ctx, dst, cond, x, y);
                Ok(())
            }
            InstructionData::Ternary {
                opcode: Opcode::Select,
                args: [c, a, b],
            } => {
                let dst = ctx.output_reg(inst, 0)?;
                lower_select(ctx, ctx.value_type(a), dst, c, a, b);
                Ok(())
            }
            InstructionData::ExtractLane {
                opcode: Opcode::Extractlane,
                arg,
                lane,
            } => {
                let vty = ctx.value_type(arg);
                if !vty.has_lane(lane) {
                    return Err(ctx.unsupported(inst));
                }
                let dst = ctx.output_reg(inst, 0)?;
                let rn = ctx.value_reg(arg);
                if vty.lane_type().is_int_scalar() {
                    ctx.emit(MInst::Umov {
                        elem: elem_size(vty),
                        dst,
                        rn,
                        index: lane,
                    });
                } else {
                    ctx.emit(MInst::VecDupElem {
                        arr: vec_arr(vty),
                        dst,
                        rn,
                        index: lane,
                    });
                }
                Ok(())
            }
            InstructionData::InsertLane {
                opcode: Opcode::Insertlane,
                args: [v, x],
                lane,
            } => {
                let vty = ctx.value_type(v);
                if !vty.has_lane(lane) {
                    return Err(ctx.unsupported(inst));
                }
                let dst = ctx.output_reg(inst, 0)?;
                let (vec, rn) = (ctx.value_reg(v), ctx.value_reg(x));
                let elem = elem_size(vty);
                ctx.emit(if vty.lane_type().is_int_scalar() {
                    MInst::InsGpr {
                        elem,
                        dst,
                        vec,
                        index: lane,
                        rn,
                    }
                } else {
                    MInst::InsElem {
                        elem,
                        dst,
                        vec,
                        index: lane,
                        rn,
                        src_index: 0,
                    }
                });
                Ok(())
            }
            InstructionData::Load {
                opcode,
                arg,
                offset,
                ..
            } => lower_load(ctx, inst, opcode, arg, offset),
            InstructionData::Store {
                opcode,
                args,
                offset,
                ..
            } => lower_store(ctx, inst, opcode, args, offset),
            InstructionData::StackLoad {
                opcode,
                slot,
                offset,
            } => {
                let dst = ctx.output_reg(inst, 0)?;
                let addr = Addr::StackSlot { slot, offset };
                match opcode {
                    Opcode::StackLoad => ctx.emit(gen_load(dst, ty.unwrap_or(Type::I64), addr)),
                    Opcode::StackAddr => ctx.emit(MInst::LoadAddr { dst, addr }),
                    _ => return Err(ctx.unsupported(inst)),
                }
                Ok(())
            }
            InstructionData::StackStore {
                opcode: Opcode::StackStore,
                arg,
                slot,
                offset,
            } => {
                let src = ctx.value_reg(arg);
                let t = ctx.value_type(arg);
                ctx.emit(gen_store(src, t, Addr::StackSlot { slot, offset }));
                Ok(())
            }
            InstructionData::Trap {
                opcode: Opcode::Trap,
                code,
            } => {
                ctx.emit(MInst::Udf { code });
                Ok(())
            }
            InstructionData::CondTrap { opcode, arg, code } => {
                let kind = lower_cond(ctx, arg);
                let kind = if opcode == Opcode::Trapz {
                    kind.invert()
                } else {
                    kind
                };
                ctx.emit(MInst::TrapIf { kind, code });
                Ok(())
            }
            InstructionData::Call {
                opcode: Opcode::Call,
                func_ref,
                args,
            } => {
                let func = ctx.func();
                let ext =
                    func.dfg.ext_funcs.get(func_ref).ok_or_else(|| {
                        CodegenError::InvalidFunction("unknown function reference")
                    })?;
                let sig = func
                    .dfg
                    .signatures
                    .get(ext.signature)
                    .ok_or_else(|| CodegenError::InvalidFunction("unknown signature"))?;
                let args = func.dfg.value_lists.get(args);
                lower_call(ctx, inst, sig, CallDest::Name(ext.name), args)
            }
            InstructionData::CallIndirect {
                opcode: Opcode::CallIndirect,
                sig_ref,
                args,
            } => {
                let func = ctx.func();
                let sig = func
                    .dfg
                    .signatures
                    .get(sig_ref)
                    .ok_or_else(|| CodegenError::InvalidFunction("unknown signature"))?;
                let all = func.dfg.value_lists.get(args);
                let (&callee, args) = all
                    .split_first()
                    .ok_or_else(|| CodegenError::InvalidFunction("call_indirect without callee"))?;
                let r = ctx.value_reg(callee);
                lower_call(ctx, inst, sig, CallDest::Reg(r), args)
            }
            InstructionData::FuncAddr {
                opcode: Opcode::FuncAddr,
                func_ref,
            } => {
                let ext =
                    ctx.func().dfg.ext_funcs.get(func_ref).ok_or_else(|| {
                        CodegenError::InvalidFunction("unknown function reference")
                    })?;
                let name: ExternalName = ext.name;
                let dst = ctx.output_reg(inst, 0)?;
                ctx.emit(MInst::FuncAddr { dst, name });
                Ok(())
            }
            _ => Err(ctx.unsupported(inst)),
        }
    }

    fn lower_branch(
        &self,
        ctx: &mut Ctx<'_>,
        inst: Inst,
        targets: &[MachLabel],
    ) -> Result<(), CodegenError> {
        match (*ctx.data(inst), targets) {
            (InstructionData::Jump { .. }, &[target]) => {
                ctx.emit(MInst::Jump { target });
                Ok(())
            }
            (InstructionData::Brif { arg, .. }, &[taken, not_taken]) => {
                let kind = lower_cond(ctx, arg);
                ctx.emit(MInst::CondBr {
                    kind,
                    taken,
                    not_taken,
                });
                Ok(())
            }
            (InstructionData::BranchTable { arg, .. }, [default, table @ ..]) => {
                let index = ctx.value_reg(arg);
                ctx.emit(MInst::BrTable {
                    index,
                    default: *default,
                    targets: table.into(),
                });
                Ok(())
            }
            _ => Err(ctx.unsupported(inst)),
        }
    }
}

fn lower_unary(ctx: &mut Ctx<'_>, inst: Inst, opcode: Opcode, arg: Value) -> R {
    let aty = ctx.value_type(arg);
    let rty = ctx.ctrl_type(inst).unwrap_or(aty);
    let dst = ctx.output_reg(inst, 0)?;
    match opcode {
        Opcode::Bnot if aty.is_vector() => {
            let rn = ctx.value_reg(arg);
            ctx.emit(MInst::VecNot { dst, rn });
        }
        Opcode::Ineg if aty.is_vector() => {
            let rn = ctx.value_reg(arg);
            ctx.emit(MInst::VecMisc {
                op: VecMiscOp::Neg,
                arr: vec_arr(aty),
                dst,
                rn,
            });
        }
        Opcode::Bnot | Opcode::Ineg => {
            let rn = ctx.value_reg(arg);
            ctx.emit(MInst::NegNot {
                negate: opcode == Opcode::Ineg,
                size: size_of_int(aty.bits()),
                dst,
                rn,
            });
        }
        Opcode::Clz | Opcode::Ctz | Opcode::Popcnt => lower_bitcount(ctx, opcode, arg, dst)?,
        Opcode::Uextend | Opcode::Sextend => {
            let signed = opcode == Opcode::Sextend;
            let from = aty.bits();
            let to64 = rty.bits() == 64;
            let rn = ctx.value_reg(arg);
            ctx.emit(bitfield(
                signed,
                if to64 { Size::S64 } else { Size::S32 },
                dst,
                rn,
                0,
                from - 1,
            ));
        }
        Opcode::Ireduce => {
            let src = ctx.value_reg(arg);
            ctx.emit(MInst::Mov { dst, src });
        }
        Opcode::Fneg
        | Opcode::Fabs
        | Opcode::Sqrt
        | Opcode::Ceil
        | Opcode::Floor
        | Opcode::Trunc
        | Opcode::Nearest => {
            let op = match opcode {
                Opcode::Fneg => FpuOp1::Fneg,
                Opcode::Fabs => FpuOp1::Fabs,
                Opcode::Sqrt => FpuOp1::Fsqrt,
                Opcode::Ceil => FpuOp1::Frintp,
                Opcode::Floor => FpuOp1::Frintm,
                Opcode::Trunc => FpuOp1::Frintz,
                _ => FpuOp1::Frintn,
            };
            let rn = ctx.value_reg(arg);
            ctx.emit(MInst::FpuRR {
                op,
                size: fp_size(aty),
                dst,
                rn,
            });
        }
        Opcode::FcvtToSint | Opcode::FcvtToUint => {
            lower_fcvt_to_int(ctx, opcode == Opcode::FcvtToSint, rty, arg, dst)
        }
        Opcode::FcvtToSintSat | Opcode::FcvtToUintSat => {
            let rn = ctx.value_reg(arg);
            ctx.emit(MInst::FpuToInt {
                signed: opcode == Opcode::FcvtToSintSat,
                int: size_of_int(rty.bits()),
                fp: fp_size(aty),
                dst,
                rn,
            });
        }
        Opcode::FcvtFromSint | Opcode::FcvtFromUint => {
            let signed = opcode == Opcode::FcvtFromSint;
            let rn = if aty.bits() < 32 {
                extend(ctx, arg, signed, false)
            } else {
                ctx.value_reg(arg)
            };
            ctx.emit(MInst::IntToFpu {
                signed,
                fp: fp_size(rty),
                int: size_of_int(aty.bits()),
                dst,
                rn,
            });
        }
        Opcode::Fpromote | Opcode::Fdemote => {
            let rn = ctx.value_reg(arg);
            ctx.emit(MInst::FpuCvt {
                from: fp_size(aty),
                dst,
                rn,
            });
        }
        Opcode::Bitcast => {
            let rn = ctx.value_reg(arg);
            if aty.is_int_scalar() {
                ctx.emit(MInst::MovToFpu {
                    size: fp_size(rty),
                    dst,
                    rn,
                });
            } else if rty.is_int_scalar() {
                ctx.emit(MInst::MovFromFpu {
                    size: fp_size(aty),
                    dst,
                    rn,
                });
            } else {
                ctx.emit(MInst::FpuMove { dst, src: rn });
            }
        }
        Opcode::Splat => {
            let arr = vec_arr(rty);
            let rn = ctx.value_reg(arg);
            if aty.is_int_scalar() {
                ctx.emit(MInst::VecDup { arr, dst, rn });
            } else {
                ctx.emit(MInst::VecDupElem {
                    arr,
                    dst,
                    rn,
                    index: 0,
                });
            }
        }
        _ => return Err(ctx.unsupported(inst)),
    }
    Ok(())
}
