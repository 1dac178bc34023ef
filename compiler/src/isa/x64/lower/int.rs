//! Scalar integer lowering: constants, ALU operations (with immediates, memory operands
//! and `lea`), `umulhi`/`smulhi`, checked division, shifts and rotates, bit counts,
//! `icmp`, extensions.
//!
//! `i8`/`i16`/`i32` values live in 32-bit registers with undefined high bits: wrapping
//! arithmetic, `band`/`bor`/`bxor`, `ishl` and rotates run at 32 bits (rotates at the
//! exact width, whose x86 count masking is harmless because 8 and 16 divide 32); anything
//! that reads the high bits (division, right shifts, `clz`, `popcnt`, high multiplies)
//! extends first. Shift amounts are masked to the width explicitly for `i8`/`i16`
//! (x86 masks the count mod 32 for them).

use regalloc2::RegClass;

use super::super::encoding::gpr::{AluOp, BitOp, ExtMode, ShiftOp, UnaryOp};
use super::super::inst::{Addr, DivKind, MInst};
use super::super::regs::OperandSize;
use super::{alu_size, cmp_size, imm32, lower_icmp_flags, Ctx, X64Backend};
use crate::ir::{Inst, InstructionData, Opcode, Type, Value};
use crate::machinst::{CodegenError, Reg};

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
        (Iconst, InstructionData::UnaryImm { imm, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            ctx.emit(MInst::Imm {
                dst,
                value: imm as u64,
            });
            Ok(())
        }
        (Iadd | Isub | Band | Bor | Bxor, InstructionData::Binary { args: [x, y], .. }) => {
            lower_alu(ctx, inst, op, x, y, ty)
        }
        (Imul, InstructionData::Binary { args: [x, y], .. }) => lower_imul(ctx, inst, x, y, ty),
        (BandNot, InstructionData::Binary { args: [x, y], .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let size = alu_size(ty);
            let yr = ctx.value_reg(y);
            let xr = ctx.value_reg(x);
            let t = ctx.alloc_tmp(RegClass::Int);
            ctx.emit(MInst::Unary {
                op: UnaryOp::Not,
                size,
                src: yr,
                dst: t,
            });
            ctx.emit(MInst::AluRR {
                op: AluOp::And,
                size,
                src1: t,
                src2: xr,
                dst,
            });
            Ok(())
        }
        (Bnot | Ineg, InstructionData::Unary { arg, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let src = ctx.value_reg(arg);
            ctx.emit(MInst::Unary {
                op: if op == Bnot {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                },
                size: alu_size(ty),
                src,
                dst,
            });
            Ok(())
        }
        (Umulhi | Smulhi, InstructionData::Binary { args: [x, y], .. }) => {
            lower_mulhi(ctx, inst, op == Smulhi, x, y, ty)
        }
        (Sdiv | Udiv | Srem | Urem, InstructionData::Binary { args: [x, y], .. }) => {
            let kind = match op {
                Sdiv => DivKind::Sdiv,
                Udiv => DivKind::Udiv,
                Srem => DivKind::Srem,
                _ => DivKind::Urem,
            };
            lower_div(ctx, inst, kind, x, y, ty)
        }
        (Ishl | Ushr | Sshr | Rotl | Rotr, InstructionData::Binary { args: [x, y], .. }) => {
            lower_shift(ctx, inst, op, x, y, ty)
        }
        (Clz, InstructionData::Unary { arg, .. }) => lower_clz(b, ctx, inst, arg, ty),
        (Ctz, InstructionData::Unary { arg, .. }) => lower_ctz(b, ctx, inst, arg, ty),
        (Popcnt, InstructionData::Unary { arg, .. }) => lower_popcnt(b, ctx, inst, arg, ty),
        (
            Icmp,
            InstructionData::IntCompare {
                cond, args: [x, y], ..
            },
        ) => {
            let dst = ctx.output_reg(inst, 0)?;
            let cc = lower_icmp_flags(ctx, cond, x, y);
            ctx.emit(MInst::Setcc { cc, dst });
            Ok(())
        }
        (Uextend | Sextend, InstructionData::Unary { arg, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let from = ctx.value_type(arg);
            let signed = op == Sextend;
            let mode = ext_mode(from, ty, signed);
            let src = ctx.value_reg(arg);
            ctx.emit(MInst::Ext {
                signed,
                mode,
                src,
                dst,
            });
            Ok(())
        }
        (Ireduce, InstructionData::Unary { arg, .. }) => {
            let dst = ctx.output_reg(inst, 0)?;
            let src = ctx.value_reg(arg);
            ctx.emit(MInst::MovRR { src, dst });
            Ok(())
        }
        _ => Err(ctx.unsupported(inst)),
    }
}

/// The extending move from `from` to `to`. Zero-extension to 64 bits uses the 32-bit
/// forms (a 32-bit write clears the upper half).
fn ext_mode(from: Type, to: Type, signed: bool) -> ExtMode {
    let to64 = to == Type::I64;
    match (from, signed && to64) {
        (Type::I8, true) => ExtMode::B2Q,
        (Type::I8, false) => ExtMode::B2L,
        (Type::I16, true) => ExtMode::W2Q,
        (Type::I16, false) => ExtMode::W2L,
        _ => ExtMode::L2Q,
    }
}

/// `v` extended to at least 32 bits (`i8`/`i16` values), or its own register.
fn ext32(ctx: &mut Ctx<'_>, v: Value, signed: bool) -> Reg {
    let ty = ctx.value_type(v);
    let src = ctx.value_reg(v);
    let mode = match ty {
        Type::I8 => ExtMode::B2L,
        Type::I16 => ExtMode::W2L,
        _ => return src,
    };
    let dst = ctx.alloc_tmp(RegClass::Int);
    ctx.emit(MInst::Ext {
        signed,
        mode,
        src,
        dst,
    });
    dst
}

/// `v` extended to 64 bits.
fn ext64(ctx: &mut Ctx<'_>, v: Value, signed: bool) -> Reg {
    let ty = ctx.value_type(v);
    let src = ctx.value_reg(v);
    if ty == Type::I64 {
        return src;
    }
    let mode = ext_mode(ty, Type::I64, signed);
    let dst = ctx.alloc_tmp(RegClass::Int);
    ctx.emit(MInst::Ext {
        signed,
        mode,
        src,
        dst,
    });
    dst
}

/// The address of a single-use full-width load of `v` that can become a memory operand of
/// `into`, sinking the load.
fn merge_load(ctx: &mut Ctx<'_>, v: Value, into: Inst, ty: Type) -> Option<Addr> {
    if !matches!(ty, Type::I32 | Type::I64) {
        return None;
    }
    let d = ctx.mergeable_load(v, into)?;
    match *ctx.data(d) {
        InstructionData::Load {
            opcode: Opcode::Load,
            arg,
            offset,
            ..
        } if ctx.value_type(v) == ty => {
            ctx.sink_inst(d);
            Some(super::mem::lower_addr(ctx, arg, offset))
        }
        InstructionData::StackLoad {
            opcode: Opcode::StackLoad,
            slot,
            offset,
        } if ctx.value_type(v) == ty => {
            ctx.sink_inst(d);
            Some(Addr::StackSlot { slot, offset })
        }
        _ => None,
    }
}

fn lower_alu(
    ctx: &mut Ctx<'_>,
    inst: Inst,
    op: Opcode,
    x: Value,
    y: Value,
    ty: Type,
) -> Result<(), CodegenError> {
    let size = alu_size(ty);
    let dst = ctx.output_reg(inst, 0)?;
    let alu = match op {
        Opcode::Iadd => AluOp::Add,
        Opcode::Isub => AluOp::Sub,
        Opcode::Band => AluOp::And,
        Opcode::Bor => AluOp::Or,
        _ => AluOp::Xor,
    };
    let commutative = op != Opcode::Isub;
    // Immediate forms.
    let imm_form = if let Some(imm) = imm32(ctx, y, ty) {
        Some((x, imm))
    } else if commutative {
        imm32(ctx, x, ty).map(|imm| (y, imm))
    } else {
        None
    };
    if let Some((v, imm)) = imm_form {
        let src1 = ctx.value_reg(v);
        if op == Opcode::Iadd && ctx.use_count(v) > 1 {
            // `lea` leaves the (still live) operand alone: no copy.
            ctx.emit(MInst::Lea {
                size,
                addr: Addr::RegOffset {
                    base: src1,
                    offset: imm,
                },
                dst,
            });
        } else {
            ctx.emit(MInst::AluRI {
                op: alu,
                size,
                src1,
                imm,
                dst,
            });
        }
        return Ok(());
    }
    // Memory operand forms.
    if let Some(addr) = merge_load(ctx, y, inst, ty) {
        let src1 = ctx.value_reg(x);
        ctx.emit(MInst::AluRM {
            op: alu,
            size,
            src1,
            addr,
            dst,
        });
        return Ok(());
    }
    if commutative {
        if let Some(addr) = merge_load(ctx, x, inst, ty) {
            let src1 = ctx.value_reg(y);
            ctx.emit(MInst::AluRM {
                op: alu,
                size,
                src1,
                addr,
                dst,
            });
            return Ok(());
        }
    }
    let (a, b) = if commutative && ctx.use_count(x) > 1 && ctx.use_count(y) == 1 {
        (y, x)
    } else {
        (x, y)
    };
    let src1 = ctx.value_reg(a);
    let src2 = ctx.value_reg(b);
    if op == Opcode::Iadd && ctx.use_count(a) > 1 {
        ctx.emit(MInst::Lea {
            size,
            addr: Addr::RegIndex {
                base: src1,
                index: src2,
                shift: 0,
                offset: 0,
            },
            dst,
        });
    } else {
        ctx.emit(MInst::AluRR {
            op: alu,
            size,
            src1,
            src2,
            dst,
        });
    }
    Ok(())
}

fn lower_imul(
    ctx: &mut Ctx<'_>,
    inst: Inst,
    x: Value,
    y: Value,
    ty: Type,
) -> Result<(), CodegenError> {
    let size = alu_size(ty);
    let dst = ctx.output_reg(inst, 0)?;
    let inst = if let Some(imm) = imm32(ctx, y, ty) {
        let src = ctx.value_reg(x);
        MInst::ImulRI {
            size,
            src,
            imm,
            dst,
        }
    } else if let Some(imm) = imm32(ctx, x, ty) {
        let src = ctx.value_reg(y);
        MInst::ImulRI {
            size,
            src,
            imm,
            dst,
        }
    } else {
        let src1 = ctx.value_reg(x);
        let src2 = ctx.value_reg(y);
        MInst::ImulRR {
            size,
            src1,
            src2,
            dst,
        }
    };
    ctx.emit(inst);
    Ok(())
}

fn lower_mulhi(
    ctx: &mut Ctx<'_>,
    inst: Inst,
    signed: bool,
    x: Value,
    y: Value,
    ty: Type,
) -> Result<(), CodegenError> {
    let dst = ctx.output_reg(inst, 0)?;
    if ty == Type::I64 {
        let lhs = ctx.value_reg(x);
        let rhs = ctx.value_reg(y);
        let lo = ctx.alloc_tmp(RegClass::Int);
        ctx.emit(MInst::MulHi {
            signed,
            size: OperandSize::S64,
            lhs,
            rhs,
            hi: dst,
            lo,
        });
        return Ok(());
    }
    // Narrower: the full product fits 64 bits.
    let a = ext64(ctx, x, signed);
    let b = ext64(ctx, y, signed);
    let p = ctx.alloc_tmp(RegClass::Int);
    ctx.emit(MInst::ImulRR {
        size: OperandSize::S64,
        src1: a,
        src2: b,
        dst: p,
    });
    ctx.emit(MInst::ShiftImm {
        op: if signed { ShiftOp::Sar } else { ShiftOp::Shr },
        size: OperandSize::S64,
        src: p,
        imm: ty.bits() as u8,
        dst,
    });
    Ok(())
}

fn lower_div(
    ctx: &mut Ctx<'_>,
    inst: Inst,
    kind: DivKind,
    x: Value,
    y: Value,
    ty: Type,
) -> Result<(), CodegenError> {
    let dst = ctx.output_reg(inst, 0)?;
    let signed = matches!(kind, DivKind::Sdiv | DivKind::Srem);
    let c = ctx.iconst_of(y);
    let check_zero = c.is_none_or(|c| c == 0);
    let check_minus_one = signed && c.is_none_or(|c| c == -1);
    let dividend = ext32(ctx, x, signed);
    let divisor = ext32(ctx, y, signed);
    let other = ctx.alloc_tmp(RegClass::Int);
    ctx.emit(MInst::Div {
        kind,
        size: alu_size(ty),
        ty_size: cmp_size(ty),
        check_zero,
        check_minus_one,
        dividend,
        divisor,
        dst,
        other,
    });
    Ok(())
}

fn lower_shift(
    ctx: &mut Ctx<'_>,
    inst: Inst,
    op: Opcode,
    x: Value,
    y: Value,
    ty: Type,
) -> Result<(), CodegenError> {
    let dst = ctx.output_reg(inst, 0)?;
    let bits = ty.bits();
    let narrow = bits < 32;
    let (sop, size, src) = match op {
        Opcode::Ishl => (ShiftOp::Shl, alu_size(ty), ctx.value_reg(x)),
        Opcode::Ushr => (ShiftOp::Shr, alu_size(ty), ext32(ctx, x, false)),
        Opcode::Sshr => (ShiftOp::Sar, alu_size(ty), ext32(ctx, x, true)),
        Opcode::Rotl => (ShiftOp::Rol, cmp_size(ty), ctx.value_reg(x)),
        _ => (ShiftOp::Ror, cmp_size(ty), ctx.value_reg(x)),
    };
    if let Some(c) = ctx.iconst_of(y) {
        let imm = (c as u64 & u64::from(bits - 1)) as u8;
        if imm == 0 {
            ctx.emit(MInst::MovRR { src, dst });
        } else {
            ctx.emit(MInst::ShiftImm {
                op: sop,
                size,
                src,
                imm,
                dst,
            });
        }
        return Ok(());
    }
    let mut amt = ctx.value_reg(y);
    if narrow && !matches!(sop, ShiftOp::Rol | ShiftOp::Ror) {
        let t = ctx.alloc_tmp(RegClass::Int);
        ctx.emit(MInst::AluRI {
            op: AluOp::And,
            size: OperandSize::S32,
            src1: amt,
            imm: (bits - 1) as i32,
            dst: t,
        });
        amt = t;
    }
    ctx.emit(MInst::ShiftCl {
        op: sop,
        size,
        src,
        amt,
        dst,
    });
    Ok(())
}

fn lower_clz(
    b: &X64Backend,
    ctx: &mut Ctx<'_>,
    inst: Inst,
    arg: Value,
    ty: Type,
) -> Result<(), CodegenError> {
    let dst = ctx.output_reg(inst, 0)?;
    let size = alu_size(ty);
    let narrow = ty.bits() < 32;
    let src = ext32(ctx, arg, false);
    let w: u32 = if ty == Type::I64 { 64 } else { 32 };
    let res = if narrow {
        ctx.alloc_tmp(RegClass::Int)
    } else {
        dst
    };
    if b.flags.has_lzcnt {
        ctx.emit(MInst::BitOp {
            op: BitOp::Lzcnt,
            size,
            src,
            dst: res,
        });
    } else {
        // bsr gives the index of the highest set bit (ZF on zero): clz = w-1 - index,
        // with index := -1 for zero.
        let idx = ctx.alloc_tmp(RegClass::Int);
        ctx.emit(MInst::BitOp {
            op: BitOp::Bsr,
            size,
            src,
            dst: idx,
        });
        let m1 = ctx.alloc_tmp(RegClass::Int);
        ctx.emit(MInst::Imm {
            dst: m1,
            value: u64::MAX,
        });
        let idx2 = ctx.alloc_tmp(RegClass::Int);
        ctx.emit(MInst::Cmov {
            cc: super::Cc::E,
            size,
            consequent: m1,
            alternative: idx,
            dst: idx2,
        });
        let t = ctx.alloc_tmp(RegClass::Int);
        ctx.emit(MInst::Imm {
            dst: t,
            value: u64::from(w - 1),
        });
        ctx.emit(MInst::AluRR {
            op: AluOp::Sub,
            size,
            src1: t,
            src2: idx2,
            dst: res,
        });
    }
    if narrow {
        ctx.emit(MInst::AluRI {
            op: AluOp::Sub,
            size: OperandSize::S32,
            src1: res,
            imm: (32 - ty.bits()) as i32,
            dst,
        });
    }
    Ok(())
}

fn lower_ctz(
    b: &X64Backend,
    ctx: &mut Ctx<'_>,
    inst: Inst,
    arg: Value,
    ty: Type,
) -> Result<(), CodegenError> {
    let dst = ctx.output_reg(inst, 0)?;
    let size = alu_size(ty);
    let mut src = ctx.value_reg(arg);
    let narrow = ty.bits() < 32;
    if narrow {
        // A sentinel bit just above the value: never zero, and ctz(0) == width.
        let t = ctx.alloc_tmp(RegClass::Int);
        ctx.emit(MInst::AluRI {
            op: AluOp::Or,
            size: OperandSize::S32,
            src1: src,
            imm: 1 << ty.bits(),
            dst: t,
        });
        src = t;
    }
    if b.flags.has_bmi1 || narrow {
        let op = if b.flags.has_bmi1 {
            BitOp::Tzcnt
        } else {
            BitOp::Bsf
        };
        ctx.emit(MInst::BitOp { op, size, src, dst });
        return Ok(());
    }
    let idx = ctx.alloc_tmp(RegClass::Int);
    ctx.emit(MInst::BitOp {
        op: BitOp::Bsf,
        size,
        src,
        dst: idx,
    });
    let w = ctx.alloc_tmp(RegClass::Int);
    ctx.emit(MInst::Imm {
        dst: w,
        value: u64::from(ty.bits()),
    });
    ctx.emit(MInst::Cmov {
        cc: super::Cc::E,
        size,
        consequent: w,
        alternative: idx,
        dst,
    });
    Ok(())
}

/// `dst = src & c` at `size`, through a register when `c` does not fit an imm32.
fn and_const(ctx: &mut Ctx<'_>, src: Reg, c: u64, size: OperandSize) -> Reg {
    let dst = ctx.alloc_tmp(RegClass::Int);
    if size == OperandSize::S32 || i32::try_from(c as i64).is_ok() {
        ctx.emit(MInst::AluRI {
            op: AluOp::And,
            size,
            src1: src,
            imm: c as i32,
            dst,
        });
    } else {
        let k = ctx.alloc_tmp(RegClass::Int);
        ctx.emit(MInst::Imm { dst: k, value: c });
        ctx.emit(MInst::AluRR {
            op: AluOp::And,
            size,
            src1: src,
            src2: k,
            dst,
        });
    }
    dst
}

fn shr(ctx: &mut Ctx<'_>, src: Reg, imm: u8, size: OperandSize) -> Reg {
    let dst = ctx.alloc_tmp(RegClass::Int);
    ctx.emit(MInst::ShiftImm {
        op: ShiftOp::Shr,
        size,
        src,
        imm,
        dst,
    });
    dst
}

fn alu(ctx: &mut Ctx<'_>, op: AluOp, a: Reg, b: Reg, size: OperandSize) -> Reg {
    let dst = ctx.alloc_tmp(RegClass::Int);
    ctx.emit(MInst::AluRR {
        op,
        size,
        src1: a,
        src2: b,
        dst,
    });
    dst
}

fn lower_popcnt(
    b: &X64Backend,
    ctx: &mut Ctx<'_>,
    inst: Inst,
    arg: Value,
    ty: Type,
) -> Result<(), CodegenError> {
    let dst = ctx.output_reg(inst, 0)?;
    let size = alu_size(ty);
    let x = ext32(ctx, arg, false);
    if b.flags.has_popcnt {
        ctx.emit(MInst::BitOp {
            op: BitOp::Popcnt,
            size,
            src: x,
            dst,
        });
        return Ok(());
    }
    let rep = |byte: u64| -> u64 {
        let v = byte * 0x0101_0101_0101_0101;
        if size == OperandSize::S32 {
            v & 0xffff_ffff
        } else {
            v
        }
    };
    // x - ((x >> 1) & 0x55..)
    let t = shr(ctx, x, 1, size);
    let t = and_const(ctx, t, rep(0x55), size);
    let x1 = alu(ctx, AluOp::Sub, x, t, size);
    // (x & 0x33..) + ((x >> 2) & 0x33..)
    let a = and_const(ctx, x1, rep(0x33), size);
    let t = shr(ctx, x1, 2, size);
    let t = and_const(ctx, t, rep(0x33), size);
    let x2 = alu(ctx, AluOp::Add, a, t, size);
    // (x + (x >> 4)) & 0x0f..
    let t = shr(ctx, x2, 4, size);
    let x3 = alu(ctx, AluOp::Add, x2, t, size);
    let x4 = and_const(ctx, x3, rep(0x0f), size);
    // (x * 0x01..) >> (w - 8)
    let p = ctx.alloc_tmp(RegClass::Int);
    if size == OperandSize::S32 {
        ctx.emit(MInst::ImulRI {
            size,
            src: x4,
            imm: 0x0101_0101,
            dst: p,
        });
    } else {
        let k = ctx.alloc_tmp(RegClass::Int);
        ctx.emit(MInst::Imm {
            dst: k,
            value: rep(0x01),
        });
        ctx.emit(MInst::ImulRR {
            size,
            src1: x4,
            src2: k,
            dst: p,
        });
    }
    let sh = if size == OperandSize::S32 { 24 } else { 56 };
    ctx.emit(MInst::ShiftImm {
        op: ShiftOp::Shr,
        size,
        src: p,
        imm: sh,
        dst,
    });
    Ok(())
}
