//! Machine instructions over registers: the [`MachInst`] trait every backend's instruction
//! enum implements, the [`Reg`] operand type, and [`OperandVisitor`], through which an
//! instruction reports its register operands to the register allocator and later has them
//! rewritten to the allocated physical registers.
//!
//! # Registers
//!
//! A [`Reg`] is a regalloc2 [`VReg`] whose index space is split in two:
//!
//! - indices `0..PINNED_VREGS` are **physical** registers: index `i` is `PReg::from_index(i)`
//!   (so a physical register is written `Reg::from_preg(p)`);
//! - indices `>= PINNED_VREGS` are **virtual** registers, allocated by regalloc2.
//!
//! Before register allocation an instruction may only name *non-allocatable* physical
//! registers directly (stack and frame pointers, reserved scratch registers); it is reported
//! as [`regalloc2::Operand::fixed_nonallocatable`]. A value that must be in an allocatable
//! register (an argument register, a `div` operand, a shift count) is a virtual register
//! with a *fixed-register constraint* ([`OperandVisitor::reg_fixed_use`] /
//! [`OperandVisitor::reg_fixed_def`]).
//!
//! # Operands: collect, then rewrite
//!
//! [`MachInst::get_operands`] visits every register operand in a fixed order. It runs twice
//! per instruction with the same order:
//!
//! 1. at VCode construction, with a collector that records one regalloc2 `Operand` per
//!    visited register (plus the clobber set);
//! 2. after allocation, with a rewriter that replaces each visited register by its
//!    allocation (always a physical register: backends only use register constraints).
//!
//! After step 2 every `Reg` in the instruction is physical, so `emit` needs no allocation
//! table. regalloc2 0.15 has no "modify" operand kind: a read-write operand (x86's
//! two-address `add dst, src`) is a use plus a def constrained to reuse the use's register
//! ([`OperandVisitor::reg_reuse_def`]); the reuse index counts operands in visit order.

use core::fmt::Debug;

use regalloc2::{
    Allocation, Operand, OperandConstraint, OperandKind, OperandPos, PReg, PRegSet, RegClass, VReg,
};

use super::buffer::MachBuffer;
use super::error::CodegenError;
use super::frame::FrameLayout;
use super::{LabelUse, MachLabel};
use crate::ir::Type;

/// Number of vreg indices reserved for physical registers (`PReg::NUM_INDEX`). Virtual
/// registers start here.
pub const PINNED_VREGS: usize = PReg::NUM_INDEX;

/// A register operand: physical or virtual (see the module docs).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reg(VReg);

impl Reg {
    /// The physical register `p`.
    #[inline]
    pub const fn from_preg(p: PReg) -> Reg {
        Reg(VReg::new(p.index(), p.class()))
    }

    /// The virtual register with index `index` (`>= PINNED_VREGS`) of class `class`.
    #[inline]
    pub const fn virt(index: usize, class: RegClass) -> Reg {
        Reg(VReg::new(index, class))
    }

    /// The regalloc2 view.
    #[inline]
    pub const fn to_vreg(self) -> VReg {
        self.0
    }

    /// The physical register, if this is one.
    #[inline]
    pub const fn to_preg(self) -> Option<PReg> {
        if self.0.vreg() < PINNED_VREGS {
            Some(PReg::from_index(self.0.vreg()))
        } else {
            None
        }
    }

    /// Is this a virtual register?
    #[inline]
    pub const fn is_virtual(self) -> bool {
        self.0.vreg() >= PINNED_VREGS
    }

    /// The register class.
    #[inline]
    pub const fn class(self) -> RegClass {
        self.0.class()
    }
}

impl Debug for Reg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.to_preg() {
            Some(p) => write!(f, "{p}"),
            None => write!(f, "v{}r", self.0.vreg() - PINNED_VREGS),
        }
    }
}

/// The register class holding values of `ty`: integers in [`RegClass::Int`]; floats and
/// every vector type in [`RegClass::Float`] (one class for float and vector registers).
pub const fn reg_class_of(ty: Type) -> RegClass {
    if ty.is_int_scalar() {
        RegClass::Int
    } else {
        RegClass::Float
    }
}

/// Receives an instruction's register operands (see the module docs). Implementations:
/// the VCode operand collector and the post-allocation rewriter.
pub trait OperandVisitor {
    /// One register operand with its constraint, kind and position.
    fn add_operand(
        &mut self,
        reg: &mut Reg,
        constraint: OperandConstraint,
        kind: OperandKind,
        pos: OperandPos,
    );

    /// Registers the instruction overwrites besides its defs (e.g. caller-saved registers
    /// at a call). They must not also appear as fixed defs or late fixed uses.
    fn reg_clobbers(&mut self, regs: PRegSet);

    /// Read at the start of the instruction, any register of the class.
    fn reg_use(&mut self, reg: &mut Reg) {
        self.add_operand(
            reg,
            OperandConstraint::Reg,
            OperandKind::Use,
            OperandPos::Early,
        );
    }

    /// Read "late": the register stays reserved until the defs are written (for
    /// multi-instruction sequences that read an input after writing an output).
    fn reg_late_use(&mut self, reg: &mut Reg) {
        self.add_operand(
            reg,
            OperandConstraint::Reg,
            OperandKind::Use,
            OperandPos::Late,
        );
    }

    /// Written at the end of the instruction, any register of the class.
    fn reg_def(&mut self, reg: &mut Reg) {
        self.add_operand(
            reg,
            OperandConstraint::Reg,
            OperandKind::Def,
            OperandPos::Late,
        );
    }

    /// Written "early": never shares a register with any use of the instruction.
    fn reg_early_def(&mut self, reg: &mut Reg) {
        self.add_operand(
            reg,
            OperandConstraint::Reg,
            OperandKind::Def,
            OperandPos::Early,
        );
    }

    /// Written in the register of use operand number `idx` (visit order): a read-write
    /// operand such as x86's two-address destination.
    fn reg_reuse_def(&mut self, reg: &mut Reg, idx: usize) {
        self.add_operand(
            reg,
            OperandConstraint::Reuse(idx),
            OperandKind::Def,
            OperandPos::Late,
        );
    }

    /// Read from the physical register `preg`.
    fn reg_fixed_use(&mut self, reg: &mut Reg, preg: PReg) {
        self.add_operand(
            reg,
            OperandConstraint::FixedReg(preg),
            OperandKind::Use,
            OperandPos::Early,
        );
    }

    /// Written to the physical register `preg`.
    fn reg_fixed_def(&mut self, reg: &mut Reg, preg: PReg) {
        self.add_operand(
            reg,
            OperandConstraint::FixedReg(preg),
            OperandKind::Def,
            OperandPos::Late,
        );
    }
}

/// Records regalloc2 operands for one instruction (used by VCode construction).
pub(crate) struct OperandCollector<'a> {
    pub operands: &'a mut Vec<Operand>,
    pub clobbers: PRegSet,
}

impl OperandVisitor for OperandCollector<'_> {
    fn add_operand(
        &mut self,
        reg: &mut Reg,
        constraint: OperandConstraint,
        kind: OperandKind,
        pos: OperandPos,
    ) {
        let op = match reg.to_preg() {
            Some(p) => Operand::fixed_nonallocatable(p),
            None => Operand::new(reg.to_vreg(), constraint, kind, pos),
        };
        self.operands.push(op);
    }

    fn reg_clobbers(&mut self, regs: PRegSet) {
        self.clobbers.union_from(regs);
    }
}

/// Replaces each visited register by its allocation (used after register allocation).
pub(crate) struct AllocRewriter<'a> {
    pub allocs: &'a [Allocation],
    pub next: usize,
    /// Set when an allocation was missing or not a register.
    pub failed: bool,
}

impl OperandVisitor for AllocRewriter<'_> {
    fn add_operand(
        &mut self,
        reg: &mut Reg,
        _constraint: OperandConstraint,
        _kind: OperandKind,
        _pos: OperandPos,
    ) {
        match self.allocs.get(self.next).and_then(|a| a.as_reg()) {
            Some(p) => *reg = Reg::from_preg(p),
            None => self.failed = true,
        }
        self.next += 1;
    }

    fn reg_clobbers(&mut self, _regs: PRegSet) {}
}

/// How an instruction ends a block, if it does.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum MachTerminator {
    /// Not a terminator.
    None,
    /// A return: the framework emits the epilogue right before it.
    Ret,
    /// Ends execution without returning (a trap). Like `Ret` for regalloc2 (no
    /// successors), but no epilogue.
    Trap,
    /// A branch to the block's successors. The successor labels are the ones of the VCode
    /// block's successors (see [`super::vcode`]: block `i`'s label is `MachLabel(i)`), in
    /// the order the VCode lists them.
    Branch,
}

/// What `emit` may consult besides the instruction: the final frame layout (to resolve
/// spill-slot, stack-slot and incoming-argument addresses).
pub struct EmitContext<'a> {
    /// The function's frame.
    pub frame: &'a FrameLayout,
}

/// A machine instruction of one ISA, over [`Reg`]s.
///
/// Contract:
/// - `get_operands` visits the same registers in the same order every time it is called
///   on the same instruction (see the module docs), and reports every register the
///   instruction reads or writes (writes not reported as defs must be clobbers).
/// - After rewriting, `emit` writes the instruction's bytes into the buffer, recording
///   label uses, traps and relocations per [`MachBuffer`]'s contract. A branch registers
///   itself with `add_uncond_branch` / `add_cond_branch` right after its bytes so the
///   buffer can simplify it. `emit` writes at most `worst_case_size()` bytes.
/// - `emit` never panics on an instruction that lowering produced and regalloc rewrote.
pub trait MachInst: Clone + Debug {
    /// The ISA's label-use kinds.
    type LabelUse: LabelUse;

    /// Visit every register operand (see [`OperandVisitor`]).
    fn get_operands<V: OperandVisitor>(&mut self, visitor: &mut V);

    /// If this is a plain register-to-register copy of a whole register, `(dst, src)`.
    /// Emission skips a move whose allocated `dst` and `src` are the same register.
    fn is_move(&self) -> Option<(Reg, Reg)>;

    /// Terminator kind.
    fn is_term(&self) -> MachTerminator;

    /// A whole-register copy `dst := src` of class `class` (used for regalloc moves).
    fn gen_move(dst: Reg, src: Reg, class: RegClass) -> Self;

    /// An unconditional jump to `target` (used for edge blocks).
    fn gen_jump(target: MachLabel) -> Self;

    /// Upper bound on the bytes `emit` writes for any one instruction (for island
    /// decisions).
    fn worst_case_size() -> u32;

    /// Write the (rewritten) instruction into `sink`.
    fn emit(
        &self,
        sink: &mut MachBuffer<Self::LabelUse>,
        ctx: &EmitContext<'_>,
    ) -> Result<(), CodegenError>;
}
