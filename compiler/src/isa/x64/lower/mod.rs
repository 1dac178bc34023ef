//! x86_64 instruction selection: [`X64Backend`]'s [`LowerBackend`] implementation.
//!
//! Plain pattern matching, one submodule per opcode family: [`int`] (scalar integer
//! arithmetic, shifts, bit counts, compares, extensions, division), [`float`] (scalar
//! float arithmetic, `fmin`/`fmax`, rounding, conversions, `fcmp`), [`mem`] (loads,
//! stores, stack slots, address-mode folding), [`call`] (calls, `func_addr`) and
//! [`vector`] (128-bit vectors). This module holds the shared pieces: condition lowering
//! (compare fused into branch / select / trap), `select`, branches and traps.
//!
//! Better forms are chosen when the operands allow: an `iconst` operand that fits a
//! sign-extended 32-bit immediate becomes an immediate (the constant is then not
//! materialized unless something else needs it); an `icmp` or `fcmp` used only by a
//! `brif`, `select`, `trapz` or `trapnz` is fused into it (no `setcc`); a single-use
//! `iadd` (of a constant or of an optionally shifted index) forming an address is folded
//! into the addressing mode; a single-use full-width load feeding an ALU operation becomes
//! its memory operand; `iadd` uses `lea` when its first operand stays live.
//!
//! ISA flags ([`X64Flags`]) select `popcnt`, `lzcnt`, `tzcnt`, `round*`, `pmulld`,
//! `pshufb`, `pinsr*`/`pextr*`, `pcmpeqq`, `pcmpgtq`; without them a baseline sequence
//! (or a libcall, for rounding) is used. Nothing is [`CodegenError::Unsupported`] for a
//! verified function.
//!
//! Invariant: lowering never panics on a verified function; malformed input (only
//! reachable without verification) is [`CodegenError::InvalidFunction`].

mod call;
mod float;
mod int;
mod mem;
mod simd;
mod vector;

use super::abi::X64Abi;
pub(super) use super::encoding::Cc;
use super::flags::X64Flags;
use super::inst::{Cond, MInst};
use super::regs::OperandSize;
use crate::ir::{FloatCC, Inst, InstructionData, IntCC, Opcode, Type, Value};
use crate::machinst::{CodegenError, Lower, LowerBackend, MachLabel};
use regalloc2::RegClass;

/// The x86_64 backend, configured by its ISA flags (all off = SSE2 baseline).
#[derive(Copy, Clone, Debug, Default)]
pub struct X64Backend {
    /// The ISA extensions lowering may use.
    pub flags: X64Flags,
}

impl X64Backend {
    /// A backend that may use the extensions in `flags`.
    pub const fn new(flags: X64Flags) -> Self {
        X64Backend { flags }
    }
}

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

/// Emit `ucomis` for `x cc y` and return the condition. After `ucomis a, b`: `a < b` sets
/// CF, `a == b` ZF, unordered sets ZF, PF and CF.
fn lower_fcmp_flags(ctx: &mut Ctx<'_>, cc: FloatCC, x: Value, y: Value) -> Cond {
    use FloatCC::*;
    let op = if ctx.value_type(x) == Type::F64 {
        super::encoding::sse::SseOp::Ucomisd
    } else {
        super::encoding::sse::SseOp::Ucomiss
    };
    let (swap, cond) = match cc {
        Ordered => (false, Cond::one(Cc::Np)),
        Unordered => (false, Cond::one(Cc::P)),
        Equal => (
            false,
            Cond {
                cc1: Cc::E,
                cc2: Some(Cc::Np),
                and: true,
            },
        ),
        NotEqual => (
            false,
            Cond {
                cc1: Cc::Ne,
                cc2: Some(Cc::P),
                and: false,
            },
        ),
        OrderedNotEqual => (false, Cond::one(Cc::Ne)),
        UnorderedOrEqual => (false, Cond::one(Cc::E)),
        GreaterThan => (false, Cond::one(Cc::A)),
        GreaterThanOrEqual => (false, Cond::one(Cc::Ae)),
        LessThan => (true, Cond::one(Cc::A)),
        LessThanOrEqual => (true, Cond::one(Cc::Ae)),
        UnorderedOrLessThan => (false, Cond::one(Cc::B)),
        UnorderedOrLessThanOrEqual => (false, Cond::one(Cc::Be)),
        UnorderedOrGreaterThan => (true, Cond::one(Cc::B)),
        UnorderedOrGreaterThanOrEqual => (true, Cond::one(Cc::Be)),
    };
    let (l, r) = if swap { (y, x) } else { (x, y) };
    let lhs = ctx.value_reg(l);
    let rhs = ctx.value_reg(r);
    ctx.emit(MInst::Ucomis { op, lhs, rhs });
    cond
}

/// Set the flags from condition value `c` (non-zero = true) and return the condition
/// that holds when `c` is true. A single-use scalar `icmp` or `fcmp` is fused, also
/// behind single-use `uextend`s ([`Ctx::nonzero_source`]).
fn lower_cond(ctx: &mut Ctx<'_>, c: Value) -> Cond {
    let c = ctx.nonzero_source(c);
    if let Some(d) = ctx.sinkable(c) {
        match *ctx.data(d) {
            InstructionData::IntCompare {
                opcode: Opcode::Icmp,
                cond,
                args: [x, y],
            } if ctx.value_type(x).is_int_scalar() => {
                ctx.sink_inst(d);
                return Cond::one(lower_icmp_flags(ctx, cond, x, y));
            }
            InstructionData::FloatCompare {
                opcode: Opcode::Fcmp,
                cond,
                args: [x, y],
            } if ctx.value_type(x).is_float_scalar() => {
                ctx.sink_inst(d);
                return lower_fcmp_flags(ctx, cond, x, y);
            }
            _ => {}
        }
    }
    let size = cmp_size(ctx.value_type(c));
    let src = ctx.value_reg(c);
    ctx.emit(MInst::Test { size, src });
    Cond::one(Cc::Ne)
}

/// `select c, a, b` on any type.
fn lower_select(
    ctx: &mut Ctx<'_>,
    inst: Inst,
    c: Value,
    a: Value,
    b: Value,
    ty: Type,
) -> Result<(), CodegenError> {
    let dst = ctx.output_reg(inst, 0)?;
    let mut cond = lower_cond(ctx, c);
    let (mut a, mut b) = (a, b);
    if cond.cc2.is_some() && cond.and {
        // a if (p && q) else b  ==  b if (!p || !q) else a.
        cond = cond.invert();
        core::mem::swap(&mut a, &mut b);
    }
    let consequent = ctx.value_reg(a);
    let alternative = ctx.value_reg(b);
    if ty.is_int_scalar() {
        let size = alu_size(ty);
        match cond.cc2 {
            None => ctx.emit(MInst::Cmov {
                cc: cond.cc1,
                size,
                consequent,
                alternative,
                dst,
            }),
            Some(cc2) => {
                let t = ctx.alloc_tmp(RegClass::Int);
                ctx.emit(MInst::Cmov {
                    cc: cond.cc1,
                    size,
                    consequent,
                    alternative,
                    dst: t,
                });
                ctx.emit(MInst::Cmov {
                    cc: cc2,
                    size,
                    consequent,
                    alternative: t,
                    dst,
                });
            }
        }
    } else {
        ctx.emit(MInst::XmmCmov {
            cond,
            consequent,
            alternative,
            dst,
        });
    }
    Ok(())
}

impl LowerBackend for X64Backend {
    type MInst = MInst;
    type Abi = X64Abi;

    fn lower_inst(&self, ctx: &mut Ctx<'_>, inst: Inst) -> Result<(), CodegenError> {
        lower_inst_sse(self, ctx, inst)?;
        if self.flags.has_avx {
            use_vex_forms(ctx.pending_mut());
        }
        Ok(())
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
                let cond = lower_cond(ctx, arg);
                let inst = match (cond.cc2, cond.and) {
                    (None, _) => MInst::JmpCond {
                        cc: cond.cc1,
                        taken,
                        not_taken,
                    },
                    (Some(cc2), false) => MInst::JmpCondOr {
                        cc1: cond.cc1,
                        cc2,
                        taken,
                        not_taken,
                    },
                    (Some(_), true) => {
                        let inv = cond.invert();
                        MInst::JmpCondOr {
                            cc1: inv.cc1,
                            cc2: inv.cc2.unwrap_or(inv.cc1),
                            taken: not_taken,
                            not_taken: taken,
                        }
                    }
                };
                ctx.emit(inst);
                Ok(())
            }
            (InstructionData::BranchTable { arg, .. }, [default, table @ ..]) => {
                let idx = ctx.value_reg(arg);
                let tmp1 = ctx.alloc_tmp(RegClass::Int);
                let tmp2 = ctx.alloc_tmp(RegClass::Int);
                ctx.emit(MInst::JmpTable {
                    idx,
                    tmp1,
                    tmp2,
                    default: *default,
                    targets: table.into(),
                });
                Ok(())
            }
            _ => Err(ctx.unsupported(inst)),
        }
    }
}

/// Lower one instruction with SSE encodings (the AVX rewrite, if any, comes after).
fn lower_inst_sse(b: &X64Backend, ctx: &mut Ctx<'_>, inst: Inst) -> Result<(), CodegenError> {
    use Opcode::*;
    let op = ctx.data(inst).opcode();
    let ty = ctx.ctrl_type(inst).unwrap_or(Type::I64);
    match op {
        Iconst | Iadd | Isub | Imul | Umulhi | Smulhi | Sdiv | Udiv | Srem | Urem | Band | Bor
        | Bxor | BandNot | Bnot | Ineg | Ishl | Ushr | Sshr | Rotl | Rotr | Clz | Ctz | Popcnt
        | Uextend | Sextend | Ireduce => {
            if ty.is_vector() {
                vector::lower(b, ctx, inst, op, ty)
            } else {
                int::lower(b, ctx, inst, op, ty)
            }
        }
        Icmp => {
            let x = ctx.input(inst, 0)?;
            if ctx.value_type(x).is_vector() {
                vector::lower(b, ctx, inst, op, ty)
            } else {
                int::lower(b, ctx, inst, op, ty)
            }
        }
        Select => match *ctx.data(inst) {
            InstructionData::Ternary {
                args: [c, a, b], ..
            } => lower_select(ctx, inst, c, a, b, ty),
            _ => Err(ctx.unsupported(inst)),
        },
        Fadd | Fsub | Fmul | Fdiv | Fmin | Fmax | Fneg | Fabs | Sqrt | Ceil | Floor | Trunc
        | Nearest | FcvtToSintSat | FcvtToUintSat | FcvtFromSint | FcvtFromUint | Fpromote
        | Fdemote
            if ty.is_vector() =>
        {
            vector::lower(b, ctx, inst, op, ty)
        }
        Fcmp if ctx.value_type(ctx.input(inst, 0)?).is_vector() => {
            vector::lower(b, ctx, inst, op, ty)
        }
        Fconst | Fadd | Fsub | Fmul | Fdiv | Fmin | Fmax | Fcopysign | Fneg | Fabs | Sqrt
        | Ceil | Floor | Trunc | Nearest | Fcmp | FcvtToSint | FcvtToUint | FcvtToSintSat
        | FcvtToUintSat | FcvtFromSint | FcvtFromUint | Fpromote | Fdemote | Bitcast => {
            float::lower(b, ctx, inst, op, ty)
        }
        Load | Uload8 | Sload8 | Uload16 | Sload16 | Uload32 | Sload32 | Store | Istore8
        | Istore16 | Istore32 | StackLoad | StackStore | StackAddr | LoadSplat | SloadWiden
        | UloadWiden | LoadZero | LoadLane | StoreLane => mem::lower(ctx, inst, op),
        Call | CallIndirect | FuncAddr => call::lower(ctx, inst),
        Vconst | Splat | Extractlane | Insertlane | SaddSat | UaddSat | SsubSat | UsubSat
        | Smin | Umin | Smax | Umax | AvgRound | Iabs | FminPseudo | FmaxPseudo | Bitselect
        | VanyTrue | VallTrue | VhighBits | Shuffle | Swizzle | Snarrow | Unarrow | SwidenLow
        | SwidenHigh | UwidenLow | UwidenHigh | SwidenMulLow | SwidenMulHigh | UwidenMulLow
        | UwidenMulHigh | SwidenAddPairwise | UwidenAddPairwise | Sdot | SqmulRoundSat => {
            vector::lower(b, ctx, inst, op, ty)
        }
        Trap => match *ctx.data(inst) {
            InstructionData::Trap { code, .. } => {
                ctx.emit(MInst::Ud2 { code });
                Ok(())
            }
            _ => Err(ctx.unsupported(inst)),
        },
        Trapz | Trapnz => match *ctx.data(inst) {
            InstructionData::CondTrap { arg, code, .. } => {
                let cond = lower_cond(ctx, arg);
                let cond = if op == Trapz { cond.invert() } else { cond };
                ctx.emit(MInst::TrapIf { cond, code });
                Ok(())
            }
            _ => Err(ctx.unsupported(inst)),
        },
        Jump | Brif | BrTable | Return => Err(ctx.unsupported(inst)),
    }
}

/// With AVX: rewrite the two-address SSE operations just emitted into their three-operand
/// VEX forms (register, constant-pool and immediate operands, shifts by an immediate and
/// float compares), so the destination need not be the first source (saving the copy the
/// register allocator would insert when that source stays live).
fn use_vex_forms(insts: &mut [MInst]) {
    for i in insts {
        *i = match *i {
            MInst::XmmRR {
                op,
                src1,
                src2,
                dst,
            } if op.vex_three_operand() => MInst::XmmRRRVex {
                op,
                src1,
                src2,
                dst,
            },
            MInst::XmmRConst {
                op,
                src1,
                bits,
                dst,
            } if op.vex_three_operand() => MInst::XmmRConstVex {
                op,
                src1,
                bits,
                dst,
            },
            MInst::XmmRRImm {
                op,
                src1,
                src2,
                imm,
                dst,
            } if op.vex_two_source() => MInst::XmmRRImmVex {
                op,
                src1,
                src2,
                imm,
                dst,
            },
            MInst::XmmShift { op, src, imm, dst } => MInst::XmmShiftVex { op, src, imm, dst },
            MInst::XmmCmp {
                op,
                pred,
                src1,
                src2,
                dst,
            } => MInst::XmmCmpVex {
                op,
                pred,
                src1,
                src2,
                dst,
            },
            _ => continue,
        };
    }
}
