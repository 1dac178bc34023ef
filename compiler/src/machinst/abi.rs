//! ISA-independent calling-convention and frame machinery.
//!
//! Owns:
//! - [`AbiSpec`], the per-ISA description of Kiln's calling convention (`docs/abi.md`):
//!   argument and result registers, where the hidden return-area pointer goes,
//!   callee-saved registers, the register environment for regalloc2, and hooks that build
//!   the ISA's argument/return pseudo-instructions, spills, reloads, prologue and epilogue;
//! - [`SigLocs`]: where each argument and result of a signature lives (registers first,
//!   then the stack; results beyond the result registers go to a caller-allocated return
//!   area whose address is a hidden argument);
//! - [`FrameLayout`]: the frame of one function, computed after register allocation from
//!   its stack slots, spill slots, clobbered callee-saved registers and outgoing-argument
//!   area.
//!
//! Frame picture (stack grows down; both ISAs set up a frame pointer):
//!
//! ```text
//!   incoming stack arguments        <- FP + setup_area_size (first stack argument)
//!   return address / saved FP (+LR) <- setup area, `setup_area_size` bytes, FP points at it
//!   saved callee-saved registers    <- `clobber_size` bytes
//!   stack slots (IR `stack_slots`)
//!   spill slots
//!   outgoing arguments              <- SP (16-byte aligned after the prologue)
//! ```
//!
//! Invariants: `clobber_size + fixed_frame_size` keeps SP 16-byte aligned after the
//! prologue; every stack slot's SP offset is a multiple of its alignment; spill slot `i`
//! is at SP offset `spill_area_offset + 8 * i`. A function that contains a call (or that
//! is compiled with the stack check forced) compares the SP it is about to create against
//! the stack limit (read through a `RelocTarget::StackLimit` relocation) before
//! allocating its frame, and traps with `stk_ovf` below it.

use regalloc2::{MachineEnv, PReg, PRegSet, RegClass, SpillSlot};
use smallvec::SmallVec;

use super::error::CodegenError;
use super::inst::{reg_class_of, MachInst, Reg};
use crate::entity::PrimaryMap;
use crate::ir::{Signature, StackSlot, StackSlotData, Type};

/// Where an argument lives at function entry.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum ArgLoc {
    /// In a register.
    Reg(PReg),
    /// On the stack, `offset` bytes above the first incoming stack argument.
    Stack {
        /// Byte offset in the incoming-argument area.
        offset: u32,
    },
}

/// Where a result lives at function return.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum RetLoc {
    /// In a register.
    Reg(PReg),
    /// In the caller's return area, `offset` bytes from its start.
    RetArea {
        /// Byte offset in the return area.
        offset: u32,
    },
}

/// Where the hidden return-area pointer is passed.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum RetAreaPtr {
    /// As the first integer-class argument, shifting the others by one (x86_64: `rdi`).
    FirstIntArg,
    /// In a dedicated register that is not an argument register (AArch64: `x8`).
    Reg(PReg),
}

/// The locations of a signature's arguments and results.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SigLocs {
    /// One per parameter, in order.
    pub args: Vec<(ArgLoc, Type)>,
    /// One per result, in order.
    pub rets: Vec<(RetLoc, Type)>,
    /// Where the return-area pointer is passed, when some result goes to the return area.
    pub ret_area_ptr: Option<ArgLoc>,
    /// Bytes of stack arguments (a multiple of 8; the caller rounds up to 16).
    pub stack_args_size: u32,
    /// Bytes of the return area.
    pub ret_area_size: u32,
}

impl SigLocs {
    /// Compute the locations of `sig` under `A`'s convention, reusing `self`'s vectors.
    pub fn compute<A: AbiSpec>(&mut self, sig: &Signature) -> Result<(), CodegenError> {
        self.args.clear();
        self.rets.clear();
        self.ret_area_ptr = None;
        self.stack_args_size = 0;
        self.ret_area_size = 0;

        // Results first: whether a return area exists shifts the arguments on x86_64.
        let (mut ni, mut nf) = (0usize, 0usize);
        let mut area: u32 = 0;
        for &ty in &sig.returns {
            let regs = match reg_class_of(ty) {
                RegClass::Int => A::int_ret_regs(),
                _ => A::float_ret_regs(),
            };
            let next = if ty.is_int_scalar() { &mut ni } else { &mut nf };
            let loc = match regs.get(*next) {
                Some(&r) => {
                    *next += 1;
                    RetLoc::Reg(r)
                }
                None => {
                    let size = if ty.is_vector() { 16 } else { 8 };
                    area = align_to(area, size);
                    let off = area;
                    area = area
                        .checked_add(size)
                        .ok_or_else(|| CodegenError::ImplLimit("return area size"))?;
                    RetLoc::RetArea { offset: off }
                }
            };
            self.rets.push((loc, ty));
        }
        self.ret_area_size = area;

        let int_args = A::int_arg_regs();
        let float_args = A::float_arg_regs();
        let (mut ni, mut nf) = (0usize, 0usize);
        let mut stack: u32 = 0;
        if !self.rets.is_empty() && area > 0 {
            match A::ret_area_ptr() {
                RetAreaPtr::FirstIntArg => {
                    let loc = match int_args.first() {
                        Some(&r) => {
                            ni = 1;
                            ArgLoc::Reg(r)
                        }
                        None => {
                            stack = 8;
                            ArgLoc::Stack { offset: 0 }
                        }
                    };
                    self.ret_area_ptr = Some(loc);
                }
                RetAreaPtr::Reg(r) => self.ret_area_ptr = Some(ArgLoc::Reg(r)),
            }
        }
        for &ty in &sig.params {
            let (regs, next) = if ty.is_int_scalar() {
                (int_args, &mut ni)
            } else {
                (float_args, &mut nf)
            };
            let loc = match regs.get(*next) {
                Some(&r) => {
                    *next += 1;
                    ArgLoc::Reg(r)
                }
                None => {
                    let size = if ty.is_vector() { 16 } else { 8 };
                    stack = align_to(stack, size);
                    let off = stack;
                    stack = stack
                        .checked_add(size)
                        .ok_or_else(|| CodegenError::ImplLimit("stack argument area size"))?;
                    ArgLoc::Stack { offset: off }
                }
            };
            self.args.push((loc, ty));
        }
        self.stack_args_size = stack;
        Ok(())
    }
}

/// Round `x` up to a multiple of `align` (a power of two), saturating.
pub const fn align_to(x: u32, align: u32) -> u32 {
    let m = align - 1;
    match x.checked_add(m) {
        Some(v) => v & !m,
        None => !m,
    }
}

pub use super::frame::{FrameLayout, MAX_FRAME_SIZE};

impl FrameLayout {
    /// Compute the layout. `clobbered` is every physical register the function writes;
    /// only `A::callee_saved()` ones are saved. Reuses `self`'s vectors.
    pub fn compute<A: AbiSpec>(
        &mut self,
        stack_slots: &PrimaryMap<StackSlot, StackSlotData>,
        num_spill_slots: usize,
        clobbered: PRegSet,
        outgoing_args_size: u32,
        stack_check: bool,
    ) -> Result<(), CodegenError> {
        let too_big = || CodegenError::ImplLimit("frame size");
        self.setup_area_size = A::frame_setup_size();
        self.clobbered_callee_saves.clear();
        let saved = A::callee_saved();
        for p in clobbered {
            if saved.contains(p) {
                self.clobbered_callee_saves.push(p);
            }
        }
        self.clobber_size = A::clobber_save_size(&self.clobbered_callee_saves);
        self.outgoing_args_size = align_to(outgoing_args_size, 16);
        let mut off = self.outgoing_args_size;
        let spill_bytes = u32::try_from(num_spill_slots)
            .ok()
            .and_then(|n| n.checked_mul(8))
            .filter(|&b| b <= MAX_FRAME_SIZE)
            .ok_or_else(too_big)?;
        off = align_to(off, 16);
        self.spill_area_offset = off;
        self.num_spill_slots = spill_bytes / 8;
        off += spill_bytes;
        self.stack_slot_offsets.clear();
        for (_, data) in stack_slots.iter() {
            let align = 1u32 << data.align_shift.min(StackSlotData::MAX_ALIGN_SHIFT);
            off = align_to(off, align);
            self.stack_slot_offsets.push(off);
            off = off
                .checked_add(data.size)
                .filter(|&o| o <= MAX_FRAME_SIZE)
                .ok_or_else(too_big)?;
        }
        // SP must be 16-aligned after saving registers and allocating the fixed frame.
        let total = align_to(off + self.clobber_size, 16);
        if total > MAX_FRAME_SIZE {
            return Err(too_big());
        }
        self.fixed_frame_size = total - self.clobber_size;
        self.stack_check = stack_check;
        Ok(())
    }
}

/// One ISA's calling convention and frame hooks (see `docs/abi.md`).
pub trait AbiSpec {
    /// The ISA's machine instruction.
    type I: MachInst;

    /// Integer-class argument registers, in order.
    fn int_arg_regs() -> &'static [PReg];
    /// Float/vector-class argument registers, in order.
    fn float_arg_regs() -> &'static [PReg];
    /// Integer-class result registers, in order.
    fn int_ret_regs() -> &'static [PReg];
    /// Float/vector-class result registers, in order.
    fn float_ret_regs() -> &'static [PReg];
    /// Where the hidden return-area pointer goes.
    fn ret_area_ptr() -> RetAreaPtr;
    /// Registers a function must preserve (the frame pointer excluded: the prologue
    /// saves it unconditionally).
    fn callee_saved() -> PRegSet;
    /// Allocatable registers and scratch registers for regalloc2.
    fn machine_env() -> &'static MachineEnv;
    /// Bytes between FP and the first incoming stack argument (return address, saved FP,
    /// link register).
    fn frame_setup_size() -> u32;
    /// Bytes needed to save `regs` (the clobbered callee-saved registers).
    fn clobber_save_size(regs: &[PReg]) -> u32;

    /// The pseudo-instruction at the top of the entry block that defines each argument
    /// vreg in its fixed register.
    fn gen_args(args: &[(Reg, PReg)]) -> Self::I;
    /// The return instruction, reading each result vreg in its fixed register.
    fn gen_ret(rets: &[(Reg, PReg)]) -> Self::I;
    /// Load an incoming stack argument at `offset` in the incoming-argument area.
    fn gen_load_incoming_arg(dst: Reg, ty: Type, offset: u32) -> Self::I;
    /// Store `src` (of type `ty`) at `base + offset` (return-area results).
    fn gen_store_base_offset(base: Reg, offset: u32, src: Reg, ty: Type) -> Self::I;
    /// Store physical register `src` to spill slot `slot` (after register allocation).
    fn gen_spill(slot: SpillSlot, src: PReg) -> Self::I;
    /// Load physical register `dst` from spill slot `slot`.
    fn gen_reload(dst: PReg, slot: SpillSlot) -> Self::I;
    /// The prologue: set up FP, check the stack limit if `frame.stack_check`, save the
    /// clobbered callee-saved registers and allocate the fixed frame.
    fn gen_prologue(frame: &FrameLayout, out: &mut SmallVec<[Self::I; 16]>);
    /// The epilogue before each return (the return instruction itself excluded).
    fn gen_epilogue(frame: &FrameLayout, out: &mut SmallVec<[Self::I; 16]>);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::x64::abi::X64Abi;
    use crate::isa::x64::regs::{Gpr, Xmm};

    fn g(r: Gpr) -> PReg {
        PReg::new(r.enc() as usize, RegClass::Int)
    }
    fn x(r: Xmm) -> PReg {
        PReg::new(r.enc() as usize, RegClass::Float)
    }

    #[test]
    fn classes_are_assigned_independently_then_stack() {
        let sig = Signature::new(
            &[
                Type::I32,
                Type::F64,
                Type::I64,
                Type::I8,
                Type::I16,
                Type::I32,
                Type::I64,
                Type::I64,
                Type::F32X4,
            ],
            &[Type::I32],
        );
        let mut locs = SigLocs::default();
        locs.compute::<X64Abi>(&sig).unwrap();
        assert_eq!(locs.args[0].0, ArgLoc::Reg(g(Gpr::Rdi)));
        assert_eq!(locs.args[1].0, ArgLoc::Reg(x(Xmm::Xmm0)));
        assert_eq!(locs.args[2].0, ArgLoc::Reg(g(Gpr::Rsi)));
        assert_eq!(locs.args[6].0, ArgLoc::Reg(g(Gpr::R9)));
        assert_eq!(locs.args[7].0, ArgLoc::Stack { offset: 0 });
        assert_eq!(locs.args[8].0, ArgLoc::Reg(x(Xmm::Xmm1)));
        assert_eq!(locs.stack_args_size, 8);
        assert_eq!(locs.ret_area_ptr, None);
        assert_eq!(locs.rets[0].0, RetLoc::Reg(g(Gpr::Rax)));
    }

    #[test]
    fn extra_results_go_to_the_return_area_and_shift_int_args() {
        let sig = Signature::new(
            &[Type::I64],
            &[
                Type::I64,
                Type::F64,
                Type::I32,
                Type::I8,
                Type::F32X4,
                Type::F32,
            ],
        );
        let mut locs = SigLocs::default();
        locs.compute::<X64Abi>(&sig).unwrap();
        assert_eq!(locs.ret_area_ptr, Some(ArgLoc::Reg(g(Gpr::Rdi))));
        assert_eq!(locs.args[0].0, ArgLoc::Reg(g(Gpr::Rsi)));
        assert_eq!(locs.rets[0].0, RetLoc::Reg(g(Gpr::Rax)));
        assert_eq!(locs.rets[1].0, RetLoc::Reg(x(Xmm::Xmm0)));
        assert_eq!(locs.rets[2].0, RetLoc::Reg(g(Gpr::Rdx)));
        assert_eq!(locs.rets[3].0, RetLoc::RetArea { offset: 0 });
        assert_eq!(locs.rets[4].0, RetLoc::Reg(x(Xmm::Xmm1)));
        assert_eq!(locs.rets[5].0, RetLoc::RetArea { offset: 8 });
        assert_eq!(locs.ret_area_size, 16);
    }

    #[test]
    fn frame_layout_aligns_and_saves_only_callee_saved() {
        let mut slots = PrimaryMap::new();
        slots.push(StackSlotData::new(4));
        slots.push(StackSlotData {
            size: 16,
            align_shift: 4,
        });
        let mut clobbered = PRegSet::empty();
        clobbered.add(g(Gpr::Rbx));
        clobbered.add(g(Gpr::Rax));
        clobbered.add(g(Gpr::R12));
        let mut f = FrameLayout::default();
        f.compute::<X64Abi>(&slots, 3, clobbered, 0, false).unwrap();
        assert_eq!(
            f.clobbered_callee_saves.as_slice(),
            &[g(Gpr::Rbx), g(Gpr::R12)]
        );
        assert_eq!(f.clobber_size, 16);
        assert_eq!(f.spill_area_offset, 0);
        assert_eq!(f.stack_slot_offsets, vec![24, 32]);
        assert_eq!((f.clobber_size + f.fixed_frame_size) % 16, 0);
        assert!(f.fixed_frame_size >= 48);
    }
}
