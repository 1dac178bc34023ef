//! x86_64 instruction selection: [`X64Backend`]'s [`LowerBackend`] implementation.
//!
//! One function per opcode family, plain pattern matching. Better forms are chosen when
//! the operands allow: an `iconst` operand that fits a sign-extended 32-bit immediate
//! becomes an immediate (the constant is then not materialized unless something else
//! needs it); an `icmp` used only by a `brif` or `select` is fused into it (`cmp` +
//! `jcc`/`cmovcc`, no `setcc`). Anything outside the supported subset is
//! [`CodegenError::Unsupported`].
//!
//! Supported: `iconst`; `iadd isub imul band bor bxor` on scalar integers (register and
//! immediate forms); `icmp` (fused or materialized with `setcc` + `movzx`); `select` on
//! scalar integers (`cmov`); `fconst`, `fadd` on `f32`/`f64`; `jump`, `brif`, `return`
//! (with block arguments and any number of results), `trap`.

use super::abi::X64Abi;
use super::encoding::gpr::AluOp;
use super::encoding::sse::SseOp;
use super::encoding::Cc;
use super::inst::MInst;
use super::regs::OperandSize;
use crate::ir::{Inst, InstructionData, IntCC, Opcode, Type, Value};
use crate::machinst::{CodegenError, Lower, LowerBackend, MachLabel};

/// The x86_64 backend (baseline SSE2; no ISA flags are used yet).
#[derive(Copy, Clone, Debug, Default)]
pub struct X64Backend;

type Ctx<'a> = Lower<'a, MInst>;

/// Width of an arithmetic operation on a value of type `ty`: 32 bits for `i8`–`i32`
/// (upper bits are undefined anyway), 64 for `i64`.
fn alu_size(ty: Type) -> OperandSize {
    if ty == Type::I64 {
        OperandSize::S64
    } else {
        OperandSize::S32
    }
}

/// Exact width of a comparison or test of a value of type `ty`.
fn cmp_size(ty: Type) -> OperandSize {
    match ty {
        Type::I8 => OperandSize::S8,
        Type::I16 => OperandSize::S16,
        Type::I32 => OperandSize::S32,
        _ => OperandSize::S64,
    }
}

fn int_cc(cc: IntCC) -> Cc {
    match cc {
        IntCC::Equal => Cc::E,
        IntCC::NotEqual => Cc::Ne,
        IntCC::SignedLessThan => Cc::L,
        IntCC::SignedLessThanOrEqual => Cc::Le,
        IntCC::SignedGreaterThan => Cc::G,
        IntCC::SignedGreaterThanOrEqual => Cc::Ge,
        IntCC::UnsignedLessThan => Cc::B,
        IntCC::UnsignedLessThanOrEqual => Cc::Be,
        IntCC::UnsignedGreaterThan => Cc::A,
        IntCC::UnsignedGreaterThanOrEqual => Cc::Ae,
    }
}

/// `v` as an immediate for an operation at type `ty`, if it is an `iconst` that fits.
/// Values of types up to 32 bits always fit (they are stored sign-extended).
fn imm32(ctx: &Ctx<'_>, v: Value, ty: Type) -> Option<i32> {
    let c = ctx.iconst_of(v)?;
    if ty == Type::I64 {
        i32::try_from(c).ok()
    } else {
        Some(c as i32)
    }
}

/// Emit a comparison of `x` and `y` and return the condition that holds when `x cc y`.
fn lower_icmp_flags(ctx: &mut Ctx<'_>, cc: IntCC, x: Value, y: Value) -> Cc {
    let ty = ctx.value_type(x);
    let size = cmp_size(ty);
    if let Some(imm) = imm32(ctx, y, ty) {
        let lhs = ctx.value_reg(x);
        ctx.emit(MInst::CmpRI { size, lhs, imm });
        int_cc(cc)
    } else if let Some(imm) = imm32(ctx, x, ty) {
        let lhs = ctx.value_reg(y);
        ctx.emit(MInst::CmpRI { size, lhs, imm });
        int_cc(cc.swap_args())
    } else {
        let lhs = ctx.value_reg(x);
        let rhs = ctx.value_reg(y);
        ctx.emit(MInst::CmpRR { size, lhs, rhs });
        int_cc(cc)
    }
}

/// Set the flags from condition value `c` (non-zero = true) and return the condition
/// code that holds when `c` is true. A single-use scalar `icmp` is fused.
fn lower_cond(ctx: &mut Ctx<'_>, c: Value) -> Cc {
    if let Some(d) = ctx.sinkable(c) {
        if let InstructionData::IntCompare {
            opcode: Opcode::Icmp,
            cond,
            args: [x, y],
        } = *ctx.data(d)
        {
            if ctx.value_type(x).is_int_scalar() {
                ctx.sink_inst(d);
                return lower_icmp_flags(ctx, cond, x, y);
            }
        }
    }
    let size = cmp_size(ctx.value_type(c));
    let src = ctx.value_reg(c);
    ctx.emit(MInst::Test { size, src });
    Cc::Ne
}

fn lower_int_binary(
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
        Opcode::Iadd => Some(AluOp::Add),
        Opcode::Isub => Some(AluOp::Sub),
        Opcode::Band => Some(AluOp::And),
        Opcode::Bor => Some(AluOp::Or),
        Opcode::Bxor => Some(AluOp::Xor),
        _ => None,
    };
    let commutative = op != Opcode::Isub;
    if let Some(alu) = alu {
        let inst = if let Some(imm) = imm32(ctx, y, ty) {
            let src1 = ctx.value_reg(x);
            MInst::AluRI {
                op: alu,
                size,
                src1,
                imm,
                dst,
            }
        } else if let (true, Some(imm)) = (commutative, imm32(ctx, x, ty)) {
            let src1 = ctx.value_reg(y);
            MInst::AluRI {
                op: alu,
                size,
                src1,
                imm,
                dst,
            }
        } else {
            let src1 = ctx.value_reg(x);
            let src2 = ctx.value_reg(y);
            MInst::AluRR {
                op: alu,
                size,
                src1,
                src2,
                dst,
            }
        };
        ctx.emit(inst);
        return Ok(());
    }
    // imul: three-operand immediate form when either side is a constant.
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

impl LowerBackend for X64Backend {
    type MInst = MInst;
    type Abi = X64Abi;

    fn lower_inst(&self, ctx: &mut Ctx<'_>, inst: Inst) -> Result<(), CodegenError> {
        let ty = ctx.ctrl_type(inst);
        match *ctx.data(inst) {
            InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm,
            } if ty.is_some_and(Type::is_int_scalar) => {
                let dst = ctx.output_reg(inst, 0)?;
                ctx.emit(MInst::Imm {
                    dst,
                    value: imm as u64,
                });
                Ok(())
            }
            InstructionData::UnaryIeee {
                opcode: Opcode::Fconst,
                bits,
            } if matches!(ty, Some(Type::F32 | Type::F64)) => {
                let dst = ctx.output_reg(inst, 0)?;
                if bits == 0 {
                    ctx.emit(MInst::XmmZero { dst });
                } else {
                    let size = if ty == Some(Type::F32) { 4 } else { 8 };
                    ctx.emit(MInst::XmmConst { dst, bits, size });
                }
                Ok(())
            }
            InstructionData::Binary {
                opcode:
                    op @ (Opcode::Iadd
                    | Opcode::Isub
                    | Opcode::Imul
                    | Opcode::Band
                    | Opcode::Bor
                    | Opcode::Bxor),
                args: [x, y],
            } if ty.is_some_and(Type::is_int_scalar) => {
                lower_int_binary(ctx, inst, op, x, y, ty.unwrap_or(Type::I64))
            }
            InstructionData::Binary {
                opcode: Opcode::Fadd,
                args: [x, y],
            } if matches!(ty, Some(Type::F32 | Type::F64)) => {
                let op = if ty == Some(Type::F32) {
                    SseOp::Addss
                } else {
                    SseOp::Addsd
                };
                let dst = ctx.output_reg(inst, 0)?;
                let src1 = ctx.value_reg(x);
                let src2 = ctx.value_reg(y);
                ctx.emit(MInst::XmmRR {
                    op,
                    src1,
                    src2,
                    dst,
                });
                Ok(())
            }
            InstructionData::IntCompare {
                opcode: Opcode::Icmp,
                cond,
                args: [x, y],
            } if ctx.value_type(x).is_int_scalar() => {
                let dst = ctx.output_reg(inst, 0)?;
                let cc = lower_icmp_flags(ctx, cond, x, y);
                ctx.emit(MInst::Setcc { cc, dst });
                Ok(())
            }
            InstructionData::Ternary {
                opcode: Opcode::Select,
                args: [c, a, b],
            } if ty.is_some_and(Type::is_int_scalar) => {
                let dst = ctx.output_reg(inst, 0)?;
                let size = alu_size(ty.unwrap_or(Type::I64));
                let cc = lower_cond(ctx, c);
                let consequent = ctx.value_reg(a);
                let alternative = ctx.value_reg(b);
                ctx.emit(MInst::Cmov {
                    cc,
                    size,
                    consequent,
                    alternative,
                    dst,
                });
                Ok(())
            }
            InstructionData::Trap {
                opcode: Opcode::Trap,
                code,
            } => {
                ctx.emit(MInst::Ud2 { code });
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
                ctx.emit(MInst::Jmp { target });
                Ok(())
            }
            (InstructionData::Brif { arg, .. }, &[taken, not_taken]) => {
                let cc = lower_cond(ctx, arg);
                ctx.emit(MInst::JmpCond {
                    cc,
                    taken,
                    not_taken,
                });
                Ok(())
            }
            _ => Err(ctx.unsupported(inst)),
        }
    }
}
