//! Kiln's AArch64 calling convention (AAPCS64 variant, `docs/abi.md`) as an [`AbiSpec`].
//!
//! Owns: the argument/result register lists (`x0`–`x7`/`v0`–`v7`, results `x0 x1`/`v0 v1`),
//! the return-area pointer in `x8`, the callee-saved set (`x19`–`x28`, `d8`–`d15`), the
//! registers a call clobbers, regalloc2's [`MachineEnv`], and the prologue/epilogue:
//!
//! ```text
//! stp x29, x30, [sp, #-16]!      ; frame record
//! mov x29, sp
//! [stack check: x17 = sp - frame; x16 = *StackLimit (Abs8 literal); cmp x17, x16;
//!  b.hs ok; udf (stk_ovf); ok:]
//! sub sp, sp, #(clobber_size + fixed_frame_size)
//! str <callee-saved>, [sp, #fixed_frame_size + 8 * i]   ; x with str, d with str d
//! ...
//! ldr <callee-saved>, [sp, ...]; mov sp, x29; ldp x29, x30, [sp], #16; ret
//! ```
//!
//! Allocatable registers: x0–x15 (preferred) and x19–x28; never x16/x17 (veneer and
//! pseudo-instruction scratch), x18 (platform), x29/x30. Vector registers: v0–v7 and
//! v16–v31, all caller-saved. v8–v15 are **not allocated**: AAPCS64 preserves only their
//! low 64 bits across calls, so a 128-bit value could not live there across a call anyway,
//! and leaving them alone means no function ever has to save `d8`–`d15` (the framework
//! counts call clobbers as the function's own clobbers, so allocating them would make
//! every function with a call save all eight). 24 vector registers remain.

use std::sync::OnceLock;

use regalloc2::{MachineEnv, PReg, PRegSet, RegClass, SpillSlot};
use smallvec::SmallVec;

use super::encoding::int::{LoadOp, StoreOp};
use super::inst::{vpreg, xpreg, Addr, MInst};
use super::regs::{
    FpMemSize, VReg, XReg, ARG_GPRS, ARG_VREGS, CALLEE_SAVED_GPRS, CALLEE_SAVED_VREGS,
    CALLER_SAVED_GPRS, CALLER_SAVED_VREGS, INDIRECT_RESULT,
};
use crate::ir::Type;
use crate::machinst::abi::{align_to, AbiSpec, FrameLayout, RetAreaPtr};
use crate::machinst::Reg;

/// The AArch64 ABI.
pub struct Aarch64Abi;

const fn gprs<const N: usize>(rs: [XReg; N]) -> [PReg; N] {
    let mut out = [xpreg(XReg::X0); N];
    let mut i = 0;
    while i < N {
        out[i] = xpreg(rs[i]);
        i += 1;
    }
    out
}

const fn fprs<const N: usize>(rs: [VReg; N]) -> [PReg; N] {
    let mut out = [vpreg(VReg::V0); N];
    let mut i = 0;
    while i < N {
        out[i] = vpreg(rs[i]);
        i += 1;
    }
    out
}

const INT_ARGS: [PReg; 8] = gprs(ARG_GPRS);
const FLOAT_ARGS: [PReg; 8] = fprs(ARG_VREGS);
const INT_RETS: [PReg; 2] = [xpreg(XReg::X0), xpreg(XReg::X1)];
const FLOAT_RETS: [PReg; 2] = [vpreg(VReg::V0), vpreg(VReg::V1)];

/// Registers a call may overwrite, among the allocatable ones: x0–x15 and every
/// allocatable vector register (see the module docs).
pub fn call_clobbers() -> PRegSet {
    let mut s = PRegSet::empty();
    for r in CALLER_SAVED_GPRS {
        s.add(xpreg(r));
    }
    for v in CALLER_SAVED_VREGS {
        s.add(vpreg(v));
    }
    s
}

/// The integer load that reads a whole value of `ty` (`i8`–`i64`).
pub fn int_load_op(ty: Type) -> LoadOp {
    match ty.bytes() {
        1 => LoadOp::Ldrb,
        2 => LoadOp::Ldrh,
        4 => LoadOp::LdrW,
        _ => LoadOp::LdrX,
    }
}

/// The integer store that writes a whole value of `ty`.
pub fn int_store_op(ty: Type) -> StoreOp {
    match ty.bytes() {
        1 => StoreOp::Strb,
        2 => StoreOp::Strh,
        4 => StoreOp::StrW,
        _ => StoreOp::StrX,
    }
}

/// The SIMD/FP access size for a float or vector type.
pub fn fp_mem_size(ty: Type) -> FpMemSize {
    match ty {
        Type::F32 => FpMemSize::S,
        Type::F64 => FpMemSize::D,
        _ => FpMemSize::Q,
    }
}

/// Load a value of `ty` from `addr`.
pub fn gen_load(dst: Reg, ty: Type, addr: Addr) -> MInst {
    if ty.is_int_scalar() {
        MInst::Load {
            op: int_load_op(ty),
            dst,
            addr,
        }
    } else {
        MInst::FpuLoad {
            size: fp_mem_size(ty),
            dst,
            addr,
        }
    }
}

/// Store a value of `ty` to `addr`.
pub fn gen_store(src: Reg, ty: Type, addr: Addr) -> MInst {
    if ty.is_int_scalar() {
        MInst::Store {
            op: int_store_op(ty),
            src,
            addr,
        }
    } else {
        MInst::FpuStore {
            size: fp_mem_size(ty),
            src,
            addr,
        }
    }
}

impl AbiSpec for Aarch64Abi {
    type I = MInst;

    fn int_arg_regs() -> &'static [PReg] {
        &INT_ARGS
    }
    fn float_arg_regs() -> &'static [PReg] {
        &FLOAT_ARGS
    }
    fn int_ret_regs() -> &'static [PReg] {
        &INT_RETS
    }
    fn float_ret_regs() -> &'static [PReg] {
        &FLOAT_RETS
    }
    fn ret_area_ptr() -> RetAreaPtr {
        RetAreaPtr::Reg(xpreg(INDIRECT_RESULT))
    }

    fn callee_saved() -> PRegSet {
        let mut s = PRegSet::empty();
        for r in CALLEE_SAVED_GPRS {
            s.add(xpreg(r));
        }
        // d8–d15 too, although they are never allocated (see the module docs).
        for v in CALLEE_SAVED_VREGS {
            s.add(vpreg(v));
        }
        s
    }

    fn machine_env() -> &'static MachineEnv {
        static ENV: OnceLock<MachineEnv> = OnceLock::new();
        ENV.get_or_init(|| {
            let mut pi = PRegSet::empty();
            for r in CALLER_SAVED_GPRS {
                pi.add(xpreg(r));
            }
            let mut ni = PRegSet::empty();
            for r in CALLEE_SAVED_GPRS {
                ni.add(xpreg(r));
            }
            let mut pf = PRegSet::empty();
            for v in CALLER_SAVED_VREGS {
                pf.add(vpreg(v));
            }
            MachineEnv {
                preferred_regs_by_class: [pi, pf, PRegSet::empty()],
                non_preferred_regs_by_class: [ni, PRegSet::empty(), PRegSet::empty()],
                scratch_by_class: [None, None, None],
                fixed_stack_slots: Vec::new(),
            }
        })
    }

    fn frame_setup_size() -> u32 {
        16
    }

    fn clobber_save_size(regs: &[PReg]) -> u32 {
        align_to(8 * regs.len() as u32, 16)
    }

    fn gen_args(args: &[(Reg, PReg)]) -> MInst {
        MInst::Args {
            args: SmallVec::from_slice(args),
        }
    }

    fn gen_ret(rets: &[(Reg, PReg)]) -> MInst {
        MInst::Ret {
            rets: SmallVec::from_slice(rets),
        }
    }

    fn gen_load_incoming_arg(dst: Reg, ty: Type, offset: u32) -> MInst {
        gen_load(dst, ty, Addr::IncomingArg(offset))
    }

    fn gen_store_base_offset(base: Reg, offset: u32, src: Reg, ty: Type) -> MInst {
        gen_store(
            src,
            ty,
            Addr::RegOffset {
                base,
                offset: i64::from(offset),
            },
        )
    }

    fn gen_spill(slot: SpillSlot, src: PReg) -> MInst {
        let addr = Addr::SpillSlot(slot.index() as u32);
        match src.class() {
            RegClass::Int => MInst::Store {
                op: StoreOp::StrX,
                src: Reg::from_preg(src),
                addr,
            },
            _ => MInst::FpuStore {
                size: FpMemSize::Q,
                src: Reg::from_preg(src),
                addr,
            },
        }
    }

    fn gen_reload(dst: PReg, slot: SpillSlot) -> MInst {
        let addr = Addr::SpillSlot(slot.index() as u32);
        match dst.class() {
            RegClass::Int => MInst::Load {
                op: LoadOp::LdrX,
                dst: Reg::from_preg(dst),
                addr,
            },
            _ => MInst::FpuLoad {
                size: FpMemSize::Q,
                dst: Reg::from_preg(dst),
                addr,
            },
        }
    }

    fn gen_prologue(frame: &FrameLayout, out: &mut SmallVec<[MInst; 16]>) {
        out.push(MInst::PushFrame);
        if frame.stack_check {
            out.push(MInst::StackCheck {
                frame: frame.frame_below_fp(),
            });
        }
        out.push(MInst::AdjustSp {
            delta: i64::from(frame.frame_below_fp()),
        });
        for (i, &p) in frame.clobbered_callee_saves.iter().enumerate() {
            let addr = Addr::SpOffset(frame.fixed_frame_size + 8 * i as u32);
            out.push(match p.class() {
                RegClass::Int => MInst::Store {
                    op: StoreOp::StrX,
                    src: Reg::from_preg(p),
                    addr,
                },
                _ => MInst::FpuStore {
                    size: FpMemSize::D,
                    src: Reg::from_preg(p),
                    addr,
                },
            });
        }
    }

    fn gen_epilogue(frame: &FrameLayout, out: &mut SmallVec<[MInst; 16]>) {
        for (i, &p) in frame.clobbered_callee_saves.iter().enumerate() {
            let addr = Addr::SpOffset(frame.fixed_frame_size + 8 * i as u32);
            out.push(match p.class() {
                RegClass::Int => MInst::Load {
                    op: LoadOp::LdrX,
                    dst: Reg::from_preg(p),
                    addr,
                },
                _ => MInst::FpuLoad {
                    size: FpMemSize::D,
                    dst: Reg::from_preg(p),
                    addr,
                },
            });
        }
        if frame.frame_below_fp() > 0 {
            out.push(MInst::MovSpFp);
        }
        out.push(MInst::PopFrame);
    }
}
