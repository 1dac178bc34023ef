//! x86_64 label-use kinds: how a branch or a RIP-relative operand refers to a label, and the
//! far-branch veneer.
//!
//! Contract terms (see [`crate::machinst::LabelUse`]): the `use_offset` given to
//! [`crate::machinst::CodeSink::use_label_at_offset`] is the offset of the **start of the
//! referring instruction**. On x86 the displacement field is *inside* the instruction, and
//! the CPU measures it from the *end* of the instruction. So every kind carries where its
//! field sits relative to the instruction start:
//!
//! - `patch_size()` is `field_offset + field width`: the patched window starts at the
//!   instruction start and ends at the end of the field. `patch` only rewrites the field
//!   (the last 4 or 8 bytes of the window); the bytes before it (prefixes, opcode, ModRM,
//!   SIB) are left untouched.
//! - The value written is `label_offset - (use_offset + field_offset + 4 + trailing)`,
//!   i.e. relative to the end of the instruction, where `trailing` is the number of
//!   immediate bytes that follow a RIP-relative disp32.
//!
//! Ranges are exact: a use is in range iff the written value fits in an `i32`.
//!
//! ## Veneer (`JmpRel32` only)
//!
//! An out-of-range `jmp`/`jcc`/`call rel32` is redirected to this 24-byte,
//! position-independent sequence, which reaches any 64-bit distance:
//!
//! ```text
//! V+0:   4C 8D 1D 00 00 00 00      lea    r11, [rip + 0]     ; r11 = V + 7
//! V+7:   49 BA <imm64>             movabs r10, imm64         ; imm64 = label - (V + 7)
//! V+17:  4F 8D 1C 13               lea    r11, [r11 + r10]   ; r11 = label
//! V+21:  41 FF E3                  jmp    r11
//! ```
//!
//! The veneer's own label use is at `V+7` (the `movabs`) with kind [`X64LabelUse::PCRel64`],
//! whose patch writes `label_offset - use_offset` into the imm64 (bytes 2..10 of the
//! `movabs`); since the `lea` leaves `r11 = V + 7` = that `use_offset`, the sum is the label.
//! The veneer **clobbers `r10` and `r11`** (caller-saved scratch in System V; Kiln never
//! passes arguments in them and register allocation never keeps a value live in them across
//! a branch or call that could be redirected). It preserves all other registers, the stack
//! (so a redirected `call` still pushes the right return address), and the flags (only
//! `lea`/`mov`/`jmp`).

use crate::machinst::LabelUse;

/// The displacement field of a rel32 branch ends the instruction: `E9`/`E8 rel32` (jmp,
/// call) have the field at offset 1, `0F 8x rel32` (jcc) at offset 2.
pub const JMP_FIELD_OFFSET: u8 = 1;
/// See [`JMP_FIELD_OFFSET`].
pub const JCC_FIELD_OFFSET: u8 = 2;

/// Size in bytes of the far-branch veneer.
pub const VENEER_SIZE: u32 = 24;
/// Offset of the veneer's `movabs` (its own label use) from the veneer start.
const VENEER_MOVABS_OFFSET: u32 = 7;

/// A kind of reference from x86_64 code to a label.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum X64LabelUse {
    /// A rel32 branch displacement that ends its instruction (`jmp`, `jcc`, `call`).
    /// `field_offset` is the offset of the 4-byte field from the instruction start
    /// ([`JMP_FIELD_OFFSET`] or [`JCC_FIELD_OFFSET`]). Range ±2 GiB; veneer available.
    JmpRel32 {
        /// Offset of the rel32 field from the instruction start.
        field_offset: u8,
    },
    /// A RIP-relative disp32 in a memory operand. `field_offset` is the offset of the field
    /// from the instruction start, `trailing` the number of immediate bytes after it (the
    /// CPU's RIP is the end of the whole instruction). Range ±2 GiB; no veneer.
    PCRel32 {
        /// Offset of the disp32 field from the instruction start.
        field_offset: u8,
        /// Immediate bytes that follow the field (0, 1, 2 or 4).
        trailing: u8,
    },
    /// The imm64 of a `movabs r64, imm64` (REX + opcode + imm64, 10 bytes) at the use
    /// offset, holding `label_offset - use_offset` (wrapping). Unlimited range. Used by the
    /// veneer.
    PCRel64,
}

impl X64LabelUse {
    /// Offset of the field from the instruction start.
    const fn field_offset(self) -> u32 {
        match self {
            X64LabelUse::JmpRel32 { field_offset } => field_offset as u32,
            X64LabelUse::PCRel32 { field_offset, .. } => field_offset as u32,
            X64LabelUse::PCRel64 => 2,
        }
    }

    /// Distance from the instruction start to the point the 32-bit value is relative to.
    const fn anchor(self) -> u64 {
        match self {
            X64LabelUse::JmpRel32 { field_offset } => field_offset as u64 + 4,
            X64LabelUse::PCRel32 {
                field_offset,
                trailing,
            } => field_offset as u64 + 4 + trailing as u64,
            X64LabelUse::PCRel64 => 0,
        }
    }
}

impl LabelUse for X64LabelUse {
    fn max_pos_range(self) -> u64 {
        match self {
            X64LabelUse::PCRel64 => i64::MAX as u64,
            _ => i32::MAX as u64 + self.anchor(),
        }
    }

    fn max_neg_range(self) -> u64 {
        match self {
            X64LabelUse::PCRel64 => i64::MAX as u64,
            // value = label - (use + anchor) >= -2^31  <=>  use - label <= 2^31 - anchor.
            _ => (1u64 << 31) - self.anchor(),
        }
    }

    fn patch_size(self) -> u32 {
        match self {
            X64LabelUse::PCRel64 => 10,
            _ => self.field_offset() + 4,
        }
    }

    fn patch(self, buffer: &mut [u8], use_offset: u64, label_offset: u64) {
        let at = self.field_offset() as usize;
        match self {
            X64LabelUse::PCRel64 => {
                let v = label_offset.wrapping_sub(use_offset);
                if let Some(field) = buffer.get_mut(at..at + 8) {
                    field.copy_from_slice(&v.to_le_bytes());
                }
            }
            _ => {
                let v = label_offset.wrapping_sub(use_offset.wrapping_add(self.anchor()));
                debug_assert!(
                    (v as i64) >= i32::MIN as i64 && (v as i64) <= i32::MAX as i64,
                    "x64 label use {self:?} out of range: use {use_offset:#x}, label {label_offset:#x}"
                );
                if let Some(field) = buffer.get_mut(at..at + 4) {
                    field.copy_from_slice(&(v as u32).to_le_bytes());
                }
            }
        }
    }

    fn supports_veneer(self) -> bool {
        matches!(self, X64LabelUse::JmpRel32 { .. })
    }

    fn veneer_size(self) -> u32 {
        match self {
            X64LabelUse::JmpRel32 { .. } => VENEER_SIZE,
            _ => 0,
        }
    }

    fn worst_case_veneer_size() -> u32 {
        VENEER_SIZE
    }

    fn generate_veneer(self, buffer: &mut [u8], _veneer_offset: u64) -> (u32, Self) {
        debug_assert!(self.supports_veneer());
        const VENEER: [u8; VENEER_SIZE as usize] = [
            0x4C, 0x8D, 0x1D, 0x00, 0x00, 0x00, 0x00, // lea r11, [rip + 0]
            0x49, 0xBA, 0, 0, 0, 0, 0, 0, 0, 0, // movabs r10, imm64 (patched)
            0x4F, 0x8D, 0x1C, 0x13, // lea r11, [r11 + r10]
            0x41, 0xFF, 0xE3, // jmp r11
        ];
        if let Some(dst) = buffer.get_mut(..VENEER.len()) {
            dst.copy_from_slice(&VENEER);
        }
        (VENEER_MOVABS_OFFSET, X64LabelUse::PCRel64)
    }

    fn veneer_align() -> u32 {
        1
    }
}
