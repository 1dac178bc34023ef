//! Memory lowering: loads and stores of every width (extending loads, truncating stores,
//! immediate stores), vector loads and stores (`movdqu`/`movups`), the vector memory forms
//! (`load_splat`: a scalar load then the `splat` sequence; `sload_widen`/`uload_widen`:
//! `movsd` then `pmovsx`/`pmovzx`; `load_zero`: `movss`/`movsd`; `load_lane`: a GPR
//! load then `pinsr*`; `store_lane`: `pextr*` to a GPR then a store), stack slots, and
//! address-mode folding.
//!
//! Address folding ([`lower_addr`]): an address that is a single-use `iadd` (computed by
//! nothing else) is folded into the addressing mode: `iadd x, iconst` → `[x + c + off]`,
//! `iadd x, ishl(y, k)` with a single-use shift by 0–3 → `[x + y << k + off]`, otherwise
//! `[x + y + off]`. Loads never trap (Kiln's bounds checks are explicit), so no trap
//! records are emitted.

use regalloc2::RegClass;

use super::super::encoding::gpr::ExtMode;
use super::super::encoding::sse::{Lane, SseOp, XmmMov};
use super::super::inst::{Addr, MInst};
use super::super::regs::OperandSize;
use super::{cmp_size, vector, Ctx};
use crate::ir::{Inst, InstructionData, Opcode, Type, Value};
use crate::machinst::{CodegenError, Reg};

/// The addressing mode for `base + offset`, folding a single-use `iadd` into it.
pub(super) fn lower_addr(ctx: &mut Ctx<'_>, base: Value, offset: i32) -> Addr {
    if let Some(d) = ctx.sinkable(base) {
        if let InstructionData::Binary {
            opcode: Opcode::Iadd,
            args: [x, y],
        } = *ctx.data(d)
        {
            for (a, c) in [(x, y), (y, x)] {
                if let Some(k) = ctx.iconst_of(c) {
                    if let Some(off) = i32::try_from(k).ok().and_then(|k| k.checked_add(offset)) {
                        ctx.sink_inst(d);
                        let base = ctx.value_reg(a);
                        return Addr::RegOffset { base, offset: off };
                    }
                }
            }
            ctx.sink_inst(d);
            for (a, i) in [(x, y), (y, x)] {
                if let Some(s) = ctx.sinkable(i) {
                    if let InstructionData::Binary {
                        opcode: Opcode::Ishl,
                        args: [v, amt],
                    } = *ctx.data(s)
                    {
                        if let Some(k @ 0..=3) = ctx.iconst_of(amt) {
                            ctx.sink_inst(s);
                            let base = ctx.value_reg(a);
                            let index = ctx.value_reg(v);
                            return Addr::RegIndex {
                                base,
                                index,
                                shift: k as u8,
                                offset,
                            };
                        }
                    }
                }
            }
            let base = ctx.value_reg(x);
            let index = ctx.value_reg(y);
            return Addr::RegIndex {
                base,
                index,
                shift: 0,
                offset,
            };
        }
    }
    let base = ctx.value_reg(base);
    Addr::RegOffset { base, offset }
}

/// The XMM move for a float or vector type.
pub(super) fn xmm_mov(ty: Type) -> XmmMov {
    match ty {
        Type::F32 => XmmMov::Movss,
        Type::F64 => XmmMov::Movsd,
        Type::F32X4 | Type::F64X2 => XmmMov::Movups,
        _ => XmmMov::Movdqu,
    }
}

fn emit_load(
    ctx: &mut Ctx<'_>,
    inst: Inst,
    op: Opcode,
    ty: Type,
    addr: Addr,
) -> Result<(), CodegenError> {
    let dst = ctx.output_reg(inst, 0)?;
    let to64 = ty == Type::I64;
    let m = match op {
        Opcode::Uload8 => MInst::LoadExt {
            signed: false,
            mode: ExtMode::B2L,
            addr,
            dst,
        },
        Opcode::Sload8 => MInst::LoadExt {
            signed: true,
            mode: if to64 { ExtMode::B2Q } else { ExtMode::B2L },
            addr,
            dst,
        },
        Opcode::Uload16 => MInst::LoadExt {
            signed: false,
            mode: ExtMode::W2L,
            addr,
            dst,
        },
        Opcode::Sload16 => MInst::LoadExt {
            signed: true,
            mode: if to64 { ExtMode::W2Q } else { ExtMode::W2L },
            addr,
            dst,
        },
        Opcode::Uload32 => MInst::Load {
            size: OperandSize::S32,
            addr,
            dst,
        },
        Opcode::Sload32 => MInst::LoadExt {
            signed: true,
            mode: ExtMode::L2Q,
            addr,
            dst,
        },
        _ if ty.is_int_scalar() => MInst::Load {
            size: cmp_size(ty),
            addr,
            dst,
        },
        _ => MInst::XmmLoad {
            op: xmm_mov(ty),
            addr,
            dst,
        },
    };
    ctx.emit(m);
    Ok(())
}

fn emit_store(ctx: &mut Ctx<'_>, op: Opcode, value: Value, addr: Addr) -> Result<(), CodegenError> {
    let ty = ctx.value_type(value);
    let size = match op {
        Opcode::Istore8 => OperandSize::S8,
        Opcode::Istore16 => OperandSize::S16,
        Opcode::Istore32 => OperandSize::S32,
        _ => cmp_size(ty),
    };
    if ty.is_int_scalar() {
        let imm = ctx
            .iconst_of(value)
            .filter(|&c| size != OperandSize::S64 || i32::try_from(c).is_ok());
        if let Some(c) = imm {
            ctx.emit(MInst::StoreImm {
                size,
                imm: c as i32,
                addr,
            });
        } else {
            let src = ctx.value_reg(value);
            ctx.emit(MInst::Store { size, src, addr });
        }
    } else {
        let src = ctx.value_reg(value);
        ctx.emit(MInst::XmmStore {
            op: xmm_mov(ty),
            src,
            addr,
        });
    }
    Ok(())
}

/// Load an integer scalar of type `ty` into a GPR, zero-extended.
fn load_gpr(ctx: &mut Ctx<'_>, ty: Type, addr: Addr) -> Reg {
    let dst = ctx.alloc_tmp(RegClass::Int);
    ctx.emit(match ty {
        Type::I8 | Type::I16 => MInst::LoadExt {
            signed: false,
            mode: if ty == Type::I8 {
                ExtMode::B2L
            } else {
                ExtMode::W2L
            },
            addr,
            dst,
        },
        _ => MInst::Load {
            size: cmp_size(ty),
            addr,
            dst,
        },
    });
    dst
}

/// Load 4 (`movss`) or 8 (`movsd`) bytes into the low lane of `dst`, zeroing the rest.
fn load_xmm_low(ctx: &mut Ctx<'_>, bits: u32, addr: Addr, dst: Reg) {
    let f = if bits == 32 { Type::F32 } else { Type::F64 };
    ctx.emit(MInst::XmmLoad {
        op: xmm_mov(f),
        addr,
        dst,
    });
}

fn pinsr_width(bits: u32) -> Lane {
    match bits {
        8 => Lane::B,
        16 => Lane::W,
        32 => Lane::D,
        _ => Lane::Q,
    }
}

/// The vector memory forms: `load_splat`, `sload_widen`/`uload_widen`, `load_zero`.
fn emit_vector_load(
    ctx: &mut Ctx<'_>,
    inst: Inst,
    op: Opcode,
    ty: Type,
    addr: Addr,
) -> Result<(), CodegenError> {
    if !ty.is_vector() {
        return Err(ctx.unsupported(inst));
    }
    let dst = ctx.output_reg(inst, 0)?;
    let w = ty.lane_bits();
    match op {
        Opcode::LoadSplat if w <= 16 => {
            let x = load_gpr(ctx, ty.lane_type(), addr);
            vector::lower_splat(ctx, ty, x, dst);
        }
        Opcode::LoadSplat => {
            // The lane in an XMM register, then the float lanes' `splat` (`pshufd`).
            let x = ctx.alloc_tmp(RegClass::Float);
            load_xmm_low(ctx, w, addr, x);
            let shape = if w == 32 { Type::F32X4 } else { Type::F64X2 };
            vector::lower_splat(ctx, shape, x, dst);
        }
        Opcode::LoadZero => load_xmm_low(ctx, w, addr, dst),
        _ => {
            let x = ctx.alloc_tmp(RegClass::Float);
            load_xmm_low(ctx, 64, addr, x);
            let mov = match (op, w) {
                (Opcode::SloadWiden, 16) => SseOp::Pmovsxbw,
                (Opcode::SloadWiden, 32) => SseOp::Pmovsxwd,
                (Opcode::SloadWiden, _) => SseOp::Pmovsxdq,
                (_, 16) => SseOp::Pmovzxbw,
                (_, 32) => SseOp::Pmovzxwd,
                _ => SseOp::Pmovzxdq,
            };
            ctx.emit(MInst::XmmUnary {
                op: mov,
                src: x,
                dst,
            });
        }
    }
    Ok(())
}

pub(super) fn lower(ctx: &mut Ctx<'_>, inst: Inst, op: Opcode) -> Result<(), CodegenError> {
    let ty = ctx.ctrl_type(inst).unwrap_or(Type::I64);
    match *ctx.data(inst) {
        InstructionData::Load { arg, offset, .. }
            if matches!(
                op,
                Opcode::LoadSplat | Opcode::SloadWiden | Opcode::UloadWiden | Opcode::LoadZero
            ) =>
        {
            let addr = lower_addr(ctx, arg, offset);
            emit_vector_load(ctx, inst, op, ty, addr)
        }
        InstructionData::Load { arg, offset, .. } => {
            let addr = lower_addr(ctx, arg, offset);
            emit_load(ctx, inst, op, ty, addr)
        }
        InstructionData::MemLane {
            args: [v, base],
            offset,
            lane,
            ..
        } => {
            let vty = ctx.value_type(v);
            if !vty.has_lane(lane) {
                return Err(ctx.unsupported(inst));
            }
            let (lane_ty, bits) = (vty.lane_type().as_int(), vty.lane_bits());
            let addr = lower_addr(ctx, base, offset);
            let vr = ctx.value_reg(v);
            if op == Opcode::LoadLane {
                let dst = ctx.output_reg(inst, 0)?;
                let x = load_gpr(ctx, lane_ty, addr);
                let r = vector::pinsr(ctx, pinsr_width(bits), vr, x, lane);
                vector::finish(ctx, r, dst);
            } else {
                let x = ctx.alloc_tmp(RegClass::Int);
                ctx.emit(MInst::Pextr {
                    width: pinsr_width(bits),
                    src: vr,
                    lane,
                    dst: x,
                });
                ctx.emit(MInst::Store {
                    size: cmp_size(lane_ty),
                    src: x,
                    addr,
                });
            }
            Ok(())
        }
        InstructionData::Store {
            args: [value, base],
            offset,
            ..
        } => {
            let addr = lower_addr(ctx, base, offset);
            emit_store(ctx, op, value, addr)
        }
        InstructionData::StackLoad { slot, offset, .. } => {
            let addr = Addr::StackSlot { slot, offset };
            if op == Opcode::StackAddr {
                let dst = ctx.output_reg(inst, 0)?;
                ctx.emit(MInst::Lea {
                    size: OperandSize::S64,
                    addr,
                    dst,
                });
                Ok(())
            } else {
                emit_load(ctx, inst, op, ty, addr)
            }
        }
        InstructionData::StackStore {
            arg, slot, offset, ..
        } => emit_store(ctx, op, arg, Addr::StackSlot { slot, offset }),
        _ => Err(ctx.unsupported(inst)),
    }
}
