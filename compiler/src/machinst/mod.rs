//! The ISA-independent machine layer: labels, label uses, the code-sink interface that
//! encoders write through, and (in submodules) `MachBuffer`, `VCode`, the regalloc2
//! adapter and compiled code.
//!
//! Pipeline ([`compile::compile_function`]): verify → [`lower`] (IR → [`vcode::VCode`]
//! over virtual registers, via an ISA's [`lower::LowerBackend`]) → regalloc2 (optionally
//! checked) → frame layout ([`abi`]) → emission into a [`buffer::MachBuffer`] (prologue,
//! blocks with islands, epilogues) → [`compiled::CompiledCodeBase`].
//!
//! Contract between encoders and buffers: an encoder writes bytes through [`CodeSink`].
//! When an instruction refers to a label (a branch, a RIP-relative or PC-relative load),
//! the encoder writes the instruction with a zero placeholder field and then calls
//! [`CodeSink::use_label_at_offset`] with the offset of the *instruction start* and the
//! ISA's [`LabelUse`] kind; the buffer patches the field once the label's offset is known
//! (or routes the use through a veneer when the label is out of range).

pub mod abi;
pub mod buffer;
pub mod compile;
pub mod compiled;
pub mod error;
pub mod frame;
pub mod inst;
pub mod layout_check;
pub mod lower;
pub mod timing;
pub mod vcode;

pub use compile::{compile_function, CompileContext, CompileOptions, RegallocAlgorithm};
pub use compiled::{CompiledCode, CompiledCodeBase, CompiledCodeStencil, Final, Stencil};
pub use error::CodegenError;
pub use inst::{EmitContext, MachInst, MachTerminator, OperandVisitor, Reg};
pub use lower::{Lower, LowerBackend};
pub use timing::{take_phase_times, PhaseTimes};
pub use vcode::VCode;

use crate::ir::TrapCode;

/// A position in the code, bound to an offset at some point during emission.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct MachLabel(pub u32);

/// A kind of reference from code to a label, with its reach and patching rule. Each ISA
/// defines an enum implementing this (x86_64: `JmpRel32`, `PCRel32`; AArch64: `Branch14`,
/// `Branch19`, `Branch26`, `Ldr19`, `Adr21`, ...).
///
/// Offsets are byte offsets from the start of the buffer. `use_offset` is the offset of
/// the start of the referring instruction.
pub trait LabelUse: Copy + Eq + core::fmt::Debug {
    /// Largest forward distance `label_offset - use_offset` this kind can encode.
    fn max_pos_range(self) -> u64;
    /// Largest backward distance `use_offset - label_offset` this kind can encode.
    fn max_neg_range(self) -> u64;
    /// Number of bytes at `use_offset` that `patch` rewrites.
    fn patch_size(self) -> u32;
    /// Write the distance to the label into `buffer` (which starts at `use_offset` and is
    /// `patch_size()` long). Precondition: the distance is within range.
    fn patch(self, buffer: &mut [u8], use_offset: u64, label_offset: u64);
    /// Can an out-of-range use be redirected through a veneer?
    fn supports_veneer(self) -> bool;
    /// Bytes of the veneer this kind needs.
    fn veneer_size(self) -> u32;
    /// The largest `veneer_size()` over all kinds of this ISA (for island sizing).
    fn worst_case_veneer_size() -> u32;
    /// Write a veneer into `buffer` (`veneer_size()` bytes at `veneer_offset`) and return
    /// the offset *within the veneer* of the new label use and its kind; the new use
    /// targets the original label. The original use is then patched to the veneer start.
    fn generate_veneer(self, buffer: &mut [u8], veneer_offset: u64) -> (u32, Self);
    /// Required alignment of an island containing veneers (and of the veneer itself).
    fn veneer_align() -> u32;
}

/// Where encoders write. Implemented by `MachBuffer` (and by trivial sinks in tests).
pub trait CodeSink<U: LabelUse> {
    /// Offset of the next byte.
    fn cur_offset(&self) -> u64;
    /// Append one byte.
    fn put1(&mut self, b: u8);
    /// Append a little-endian `u16`.
    fn put2(&mut self, v: u16) {
        self.put_data(&v.to_le_bytes());
    }
    /// Append a little-endian `u32`.
    fn put4(&mut self, v: u32) {
        self.put_data(&v.to_le_bytes());
    }
    /// Append a little-endian `u64`.
    fn put8(&mut self, v: u64) {
        self.put_data(&v.to_le_bytes());
    }
    /// Append bytes.
    fn put_data(&mut self, data: &[u8]) {
        for &b in data {
            self.put1(b);
        }
    }
    /// The instruction starting at `offset` (already written) refers to `label` as `kind`.
    fn use_label_at_offset(&mut self, offset: u64, label: MachLabel, kind: U);
    /// The instruction about to be written (at `cur_offset()`) may trap with `code`.
    fn add_trap(&mut self, code: TrapCode);
}
