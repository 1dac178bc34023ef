//! Call lowering: `call`, `call_indirect`, `func_addr`, and the caller side of Kiln's
//! calling convention (`docs/abi.md`).
//!
//! A call sequence is: stores of stack arguments into the frame's outgoing-argument area
//! (`[rsp + offset]`, offsets from [`SigLocs`]); when the callee returns values in a return
//! area, `lea` of that area (placed right after the stack arguments, 16-aligned) as the
//! hidden first integer argument; the [`MInst::Call`] itself (register arguments as fixed
//! uses, register results as fixed defs, the other caller-saved registers clobbered); then
//! loads of the return-area results. The area's size is reported with
//! [`Lower::note_outgoing_area`](crate::machinst::Lower::note_outgoing_area), so the frame
//! reserves the largest one at SP. Functions containing calls check the stack limit in
//! their prologue (the framework sets `stack_check` when the IR has calls).
//!
//! Relocations: `call fnN` to a user function or libcall is `call rel32` with an
//! `X86CallPCRel4` relocation, addend `-4`; `func_addr` of a user function is `lea
//! r, [rip + rel32]` with `X86PCRel4`, addend `-4`, and of a libcall `movabs r, imm64` with
//! `Abs8`.

use regalloc2::RegClass;
use smallvec::SmallVec;

use super::super::abi::X64Abi;
use super::super::inst::{Addr, CallDest, MInst};
use super::super::regs::OperandSize;
use super::mem::xmm_mov;
use super::Ctx;
use crate::ir::{ExternalName, Inst, InstructionData, Value};
use crate::machinst::abi::{align_to, ArgLoc, RetLoc, SigLocs};
use crate::machinst::buffer::RelocTarget;
use crate::machinst::CodegenError;

fn target_of(name: ExternalName) -> RelocTarget {
    match name {
        ExternalName::User(r) => RelocTarget::User(r),
        ExternalName::LibCall(l) => RelocTarget::LibCall(l),
    }
}

pub(super) fn lower(ctx: &mut Ctx<'_>, inst: Inst) -> Result<(), CodegenError> {
    let func = ctx.func();
    match *ctx.data(inst) {
        InstructionData::Call { func_ref, args, .. } => {
            let ext = *func
                .dfg
                .ext_funcs
                .get(func_ref)
                .ok_or_else(|| CodegenError::InvalidFunction("unknown function reference"))?;
            let sig = func
                .dfg
                .signatures
                .get(ext.signature)
                .ok_or_else(|| CodegenError::InvalidFunction("unknown signature"))?;
            let dest = match ext.name {
                ExternalName::User(_) => CallDest::Direct(target_of(ext.name)),
                ExternalName::LibCall(_) => CallDest::Abs(target_of(ext.name)),
            };
            let args = func.dfg.value_lists.get(args);
            let locs = ctx.call_sig_locs::<X64Abi>(sig)?;
            let r = emit_call(ctx, inst, dest, &locs, args);
            ctx.recycle_sig_locs(locs);
            r
        }
        InstructionData::CallIndirect { sig_ref, args, .. } => {
            let sig = func
                .dfg
                .signatures
                .get(sig_ref)
                .ok_or_else(|| CodegenError::InvalidFunction("unknown signature"))?;
            let all = func.dfg.value_lists.get(args);
            let (&callee, args) = all
                .split_first()
                .ok_or_else(|| CodegenError::InvalidFunction("call_indirect without callee"))?;
            let callee = ctx.value_reg(callee);
            let locs = ctx.call_sig_locs::<X64Abi>(sig)?;
            let r = emit_call(ctx, inst, CallDest::Reg(callee), &locs, args);
            ctx.recycle_sig_locs(locs);
            r
        }
        InstructionData::FuncAddr { func_ref, .. } => {
            let ext = *func
                .dfg
                .ext_funcs
                .get(func_ref)
                .ok_or_else(|| CodegenError::InvalidFunction("unknown function reference"))?;
            let dst = ctx.output_reg(inst, 0)?;
            ctx.emit(MInst::FuncAddr {
                target: target_of(ext.name),
                dst,
            });
            Ok(())
        }
        _ => Err(ctx.unsupported(inst)),
    }
}

fn store_arg(ctx: &mut Ctx<'_>, src: crate::machinst::Reg, ty: crate::ir::Type, offset: u32) {
    let addr = Addr::OutgoingArg(offset);
    if ty.is_int_scalar() {
        ctx.emit(MInst::Store {
            size: OperandSize::S64,
            src,
            addr,
        });
    } else {
        ctx.emit(MInst::XmmStore {
            op: xmm_mov(ty),
            src,
            addr,
        });
    }
}

fn emit_call(
    ctx: &mut Ctx<'_>,
    inst: Inst,
    dest: CallDest,
    locs: &SigLocs,
    args: &[Value],
) -> Result<(), CodegenError> {
    if args.len() != locs.args.len() {
        return Err(CodegenError::InvalidFunction(
            "call arguments do not match the signature",
        ));
    }
    let ret_off = align_to(locs.stack_args_size, 16);
    let area = ret_off
        .checked_add(locs.ret_area_size)
        .ok_or_else(|| CodegenError::ImplLimit("outgoing argument area"))?;
    ctx.note_outgoing_area(area);
    let mut uses: SmallVec<[_; 6]> = SmallVec::new();
    for (&a, &(loc, ty)) in args.iter().zip(&locs.args) {
        let r = ctx.value_reg(a);
        match loc {
            ArgLoc::Reg(p) => uses.push((r, p)),
            ArgLoc::Stack { offset } => store_arg(ctx, r, ty, offset),
        }
    }
    if let Some(loc) = locs.ret_area_ptr {
        let t = ctx.alloc_tmp(RegClass::Int);
        ctx.emit(MInst::Lea {
            size: OperandSize::S64,
            addr: Addr::OutgoingArg(ret_off),
            dst: t,
        });
        match loc {
            ArgLoc::Reg(p) => uses.push((t, p)),
            ArgLoc::Stack { offset } => store_arg(ctx, t, crate::ir::Type::I64, offset),
        }
    }
    let mut defs: SmallVec<[_; 2]> = SmallVec::new();
    for (k, &(loc, _)) in locs.rets.iter().enumerate() {
        if let RetLoc::Reg(p) = loc {
            defs.push((ctx.output_reg(inst, k)?, p));
        }
    }
    ctx.emit(MInst::Call { dest, uses, defs });
    for (k, &(loc, ty)) in locs.rets.iter().enumerate() {
        if let RetLoc::RetArea { offset } = loc {
            let dst = ctx.output_reg(inst, k)?;
            let addr = Addr::OutgoingArg(ret_off + offset);
            if ty.is_int_scalar() {
                ctx.emit(MInst::Load {
                    size: super::cmp_size(ty),
                    addr,
                    dst,
                });
            } else {
                ctx.emit(MInst::XmmLoad {
                    op: xmm_mov(ty),
                    addr,
                    dst,
                });
            }
        }
    }
    Ok(())
}
