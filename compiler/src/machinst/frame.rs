//! [`FrameLayout`]: the frame of one compiled function, as data. The ABI layer
//! (`super::abi`, `FrameLayout::compute`) fills it; emission (`super::inst`) reads it to
//! resolve spill-slot, stack-slot and argument addresses. Kept apart so that neither of
//! those modules imports the other for it.
//!
//! Invariants (established by `compute`): SP is 16-byte aligned after the prologue
//! allocates `clobber_size + fixed_frame_size`; every offset is at most [`MAX_FRAME_SIZE`].

use crate::ir::StackSlot;
use regalloc2::{PReg, SpillSlot};
use smallvec::SmallVec;

/// Largest frame Kiln builds (bytes below the setup area); larger is an
/// [`CodegenError::ImplLimit`].
pub const MAX_FRAME_SIZE: u32 = 1 << 30;

/// The frame of one function. See the module docs for the picture and invariants.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct FrameLayout {
    /// Bytes of return address and saved frame pointer (and link register) above FP.
    pub setup_area_size: u32,
    /// Bytes of saved callee-saved registers, below FP.
    pub clobber_size: u32,
    /// Bytes allocated below the saved registers: stack slots, spill slots, outgoing
    /// arguments and alignment padding. SP is 16-byte aligned after allocating it.
    pub fixed_frame_size: u32,
    /// Bytes of outgoing arguments at the bottom of the frame.
    pub outgoing_args_size: u32,
    /// SP offset of the first spill slot.
    pub spill_area_offset: u32,
    /// Number of 8-byte spill slots.
    pub num_spill_slots: u32,
    /// SP offset of each IR stack slot, indexed by `StackSlot`.
    pub stack_slot_offsets: Vec<u32>,
    /// The callee-saved registers this function writes, in a fixed (register index) order.
    pub clobbered_callee_saves: SmallVec<[PReg; 16]>,
    /// Whether the prologue checks the stack limit.
    pub stack_check: bool,
}

impl FrameLayout {
    /// Bytes the prologue allocates below the setup area (saved registers plus fixed
    /// frame): how far SP moves after FP is set up.
    pub fn frame_below_fp(&self) -> u32 {
        self.clobber_size + self.fixed_frame_size
    }

    /// The whole frame: setup area plus everything below FP.
    pub fn total_size(&self) -> u32 {
        self.setup_area_size + self.frame_below_fp()
    }

    /// SP offset of spill slot `slot` (8-byte units, as regalloc2 numbers them).
    pub fn spill_slot_offset(&self, slot: SpillSlot) -> u32 {
        self.spill_area_offset + 8 * slot.index() as u32
    }

    /// SP offset of `slot` plus `offset` (`None` for an unknown slot).
    pub fn stack_slot_offset(&self, slot: StackSlot, offset: i32) -> Option<i32> {
        use crate::entity::EntityRef;
        let base = *self.stack_slot_offsets.get(slot.index())?;
        i32::try_from(base).ok()?.checked_add(offset)
    }
}
