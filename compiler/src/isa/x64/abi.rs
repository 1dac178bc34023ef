//! Kiln's x86_64 calling convention (System V, `docs/abi.md`) as an [`AbiSpec`].
//!
//! Owns: the argument/result register lists, the hidden return-area pointer (first
//! integer argument, `rdi`), the callee-saved set, regalloc2's [`MachineEnv`], and the
//! prologue/epilogue:
//!
//! ```text
//! push rbp; mov rbp, rsp
//! [stack check against the StackLimit relocation target]
//! push <clobbered callee-saved GPRs>
//! sub rsp, fixed_frame_size
//! ...
//! add rsp, fixed_frame_size; pop <in reverse>; pop rbp; ret
//! ```
//!
//! The fixed frame includes the outgoing-argument area at SP (stack arguments and return
//! areas of the function's calls, sized by lowering through
//! `Lower::note_outgoing_area`), so SP is 16-byte aligned at every call.
//!
//! Allocatable registers: every GPR except `rsp`, `rbp` (frame pointer) and `r10`/`r11`
//! (the veneer scratch registers; `r11` is also regalloc2's integer scratch register for
//! cyclic moves, which never lives across a branch), and all sixteen XMM registers.

use std::sync::OnceLock;

use regalloc2::{MachineEnv, PReg, PRegSet, RegClass, SpillSlot};
use smallvec::SmallVec;

use super::encoding::sse::XmmMov;
use super::inst::{gpr_preg, xmm_preg, Addr, MInst};
use super::regs::{Gpr, OperandSize, Xmm, ALLOCATABLE_CALLEE_SAVED, ALLOCATABLE_CALLER_SAVED};
use crate::ir::Type;
use crate::machinst::abi::{AbiSpec, FrameLayout, RetAreaPtr};
use crate::machinst::Reg;

/// The x86_64 ABI.
pub struct X64Abi;

const INT_ARGS: [PReg; 6] = [
    gpr_preg(Gpr::Rdi),
    gpr_preg(Gpr::Rsi),
    gpr_preg(Gpr::Rdx),
    gpr_preg(Gpr::Rcx),
    gpr_preg(Gpr::R8),
    gpr_preg(Gpr::R9),
];
const FLOAT_ARGS: [PReg; 8] = [
    xmm_preg(Xmm::Xmm0),
    xmm_preg(Xmm::Xmm1),
    xmm_preg(Xmm::Xmm2),
    xmm_preg(Xmm::Xmm3),
    xmm_preg(Xmm::Xmm4),
    xmm_preg(Xmm::Xmm5),
    xmm_preg(Xmm::Xmm6),
    xmm_preg(Xmm::Xmm7),
];
const INT_RETS: [PReg; 2] = [gpr_preg(Gpr::Rax), gpr_preg(Gpr::Rdx)];
const FLOAT_RETS: [PReg; 2] = [xmm_preg(Xmm::Xmm0), xmm_preg(Xmm::Xmm1)];

fn int_size(ty: Type) -> OperandSize {
    match ty.bytes() {
        1 => OperandSize::S8,
        2 => OperandSize::S16,
        4 => OperandSize::S32,
        _ => OperandSize::S64,
    }
}

fn xmm_mov(ty: Type) -> XmmMov {
    match ty {
        Type::F32 => XmmMov::Movss,
        Type::F64 => XmmMov::Movsd,
        _ => XmmMov::Movups,
    }
}

impl AbiSpec for X64Abi {
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
        RetAreaPtr::FirstIntArg
    }

    fn callee_saved() -> PRegSet {
        let mut s = PRegSet::empty();
        for r in ALLOCATABLE_CALLEE_SAVED {
            s.add(gpr_preg(r));
        }
        s
    }

    fn machine_env() -> &'static MachineEnv {
        static ENV: OnceLock<MachineEnv> = OnceLock::new();
        ENV.get_or_init(|| {
            let mut pi = PRegSet::empty();
            for r in ALLOCATABLE_CALLER_SAVED {
                pi.add(gpr_preg(r));
            }
            let mut ni = PRegSet::empty();
            for r in ALLOCATABLE_CALLEE_SAVED {
                ni.add(gpr_preg(r));
            }
            let mut pf = PRegSet::empty();
            for x in Xmm::ALL {
                pf.add(xmm_preg(x));
            }
            MachineEnv {
                preferred_regs_by_class: [pi, pf, PRegSet::empty()],
                non_preferred_regs_by_class: [ni, PRegSet::empty(), PRegSet::empty()],
                scratch_by_class: [Some(gpr_preg(Gpr::R11)), None, None],
                fixed_stack_slots: Vec::new(),
            }
        })
    }

    fn frame_setup_size() -> u32 {
        16
    }

    fn clobber_save_size(regs: &[PReg]) -> u32 {
        8 * regs.len() as u32
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
        let addr = Addr::IncomingArg(offset);
        if ty.is_int_scalar() {
            MInst::Load {
                size: int_size(ty),
                addr,
                dst,
            }
        } else {
            MInst::XmmLoad {
                op: xmm_mov(ty),
                addr,
                dst,
            }
        }
    }

    fn gen_store_base_offset(base: Reg, offset: u32, src: Reg, ty: Type) -> MInst {
        let addr = Addr::RegOffset {
            base,
            offset: offset as i32,
        };
        if ty.is_int_scalar() {
            MInst::Store {
                size: int_size(ty),
                src,
                addr,
            }
        } else {
            MInst::XmmStore {
                op: xmm_mov(ty),
                src,
                addr,
            }
        }
    }

    fn gen_spill(slot: SpillSlot, src: PReg) -> MInst {
        let addr = Addr::SpillSlot(slot.index() as u32);
        match src.class() {
            RegClass::Int => MInst::Store {
                size: OperandSize::S64,
                src: Reg::from_preg(src),
                addr,
            },
            _ => MInst::XmmStore {
                op: XmmMov::Movups,
                src: Reg::from_preg(src),
                addr,
            },
        }
    }

    fn gen_reload(dst: PReg, slot: SpillSlot) -> MInst {
        let addr = Addr::SpillSlot(slot.index() as u32);
        match dst.class() {
            RegClass::Int => MInst::Load {
                size: OperandSize::S64,
                addr,
                dst: Reg::from_preg(dst),
            },
            _ => MInst::XmmLoad {
                op: XmmMov::Movups,
                addr,
                dst: Reg::from_preg(dst),
            },
        }
    }

    fn gen_prologue(frame: &FrameLayout, out: &mut SmallVec<[MInst; 16]>) {
        out.push(MInst::Push { reg: Gpr::Rbp });
        out.push(MInst::MovRspToRbp);
        if frame.stack_check {
            out.push(MInst::StackCheck {
                frame: frame.frame_below_fp(),
            });
        }
        for &p in &frame.clobbered_callee_saves {
            out.push(MInst::Push {
                reg: Gpr::from_enc(p.hw_enc() as u8),
            });
        }
        if frame.fixed_frame_size > 0 {
            out.push(MInst::AdjustSp {
                delta: frame.fixed_frame_size as i32,
            });
        }
    }

    fn gen_epilogue(frame: &FrameLayout, out: &mut SmallVec<[MInst; 16]>) {
        if frame.fixed_frame_size > 0 {
            out.push(MInst::AdjustSp {
                delta: -(frame.fixed_frame_size as i32),
            });
        }
        for &p in frame.clobbered_callee_saves.iter().rev() {
            out.push(MInst::Pop {
                reg: Gpr::from_enc(p.hw_enc() as u8),
            });
        }
        out.push(MInst::Pop { reg: Gpr::Rbp });
    }
}
