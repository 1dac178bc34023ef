//! x86_64 branch forms for the `machbuffer` layout checker
//! ([`crate::machinst::layout_check`]): `jmp rel32`, `je rel32` and `call rel32`, padded
//! with one-byte `nop`s.
//!
//! The decoder reads the rel32 field as the Intel SDM defines it: a signed displacement
//! from the end of the instruction. It recognises the far-branch veneer of
//! [`X64LabelUse`] (`lea r11, [rip + 0]; movabs r10, imm64; lea r11, [r11 + r10];
//! jmp r11`), whose target is the address after the `lea` plus `imm64`.

use super::label_use::{X64LabelUse, JCC_FIELD_OFFSET, JMP_FIELD_OFFSET};
use crate::machinst::buffer::MachBuffer;
use crate::machinst::layout_check::BranchKit;
use crate::machinst::{CodeSink, MachLabel};

/// The x86_64 kit.
pub(crate) struct X64Branches;

/// `(opcode bytes, rel32 field offset)` of each form.
const FORMS: [(&[u8], u8); 3] = [
    (&[0xe9], JMP_FIELD_OFFSET),       // jmp rel32
    (&[0x0f, 0x84], JCC_FIELD_OFFSET), // je rel32
    (&[0xe8], JMP_FIELD_OFFSET),       // call rel32
];

/// `lea r11, [rip + 0]`, the first instruction of the veneer.
const VENEER_LEA: [u8; 7] = [0x4c, 0x8d, 0x1d, 0, 0, 0, 0];

impl BranchKit for X64Branches {
    type Use = X64LabelUse;
    const FORMS: usize = FORMS.len();
    const MAX_BRANCH: u64 = 6;
    const PAD_UNIT: u64 = 1;
    const MAX_SIZE: u64 = 1 << 20;

    fn emit_branch(buf: &mut MachBuffer<X64LabelUse>, form: usize, label: MachLabel) -> u64 {
        let (opcode, field_offset) = FORMS[form % FORMS.len()];
        let at = buf.cur_offset();
        buf.put_data(opcode);
        buf.put4(0);
        buf.use_label_at_offset(at, label, X64LabelUse::JmpRel32 { field_offset });
        at
    }

    fn pad(buf: &mut MachBuffer<X64LabelUse>, units: u64) {
        for _ in 0..units {
            buf.put1(0x90);
        }
    }

    fn decode(code: &[u8], offset: u64, form: usize) -> Result<u64, String> {
        let (opcode, field_offset) = FORMS[form % FORMS.len()];
        let at = usize::try_from(offset).map_err(|_| "offset overflow".to_string())?;
        let field = at + usize::from(field_offset);
        let (Some(op), Some(rel)) = (code.get(at..field), code.get(field..field + 4)) else {
            return Err(format!("offset {at:#x} is past the end of the code"));
        };
        if op != opcode {
            return Err(format!("form {form}: unexpected opcode bytes {op:02x?}"));
        }
        let rel = i32::from_le_bytes([rel[0], rel[1], rel[2], rel[3]]);
        ((field + 4) as u64)
            .checked_add_signed(i64::from(rel))
            .ok_or_else(|| format!("branch at {offset:#x} points before the code"))
    }

    fn follow_veneer(code: &[u8], offset: u64) -> Option<u64> {
        let at = usize::try_from(offset).ok()?;
        if code.get(at..at + 7)? != VENEER_LEA || code.get(at + 7..at + 9)? != [0x49, 0xba] {
            return None;
        }
        let imm = i64::from_le_bytes(code.get(at + 9..at + 17)?.try_into().ok()?);
        (offset + 7).checked_add_signed(imm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machinst::layout_check::check_layout;

    #[test]
    fn random_layouts_reach_their_labels() {
        let mut branches = 0;
        for seed in 0..40u32 {
            let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(7);
            let data: Vec<u8> = (0..400)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let s =
                check_layout::<X64Branches>(&data).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            branches += s.branches;
        }
        assert!(branches > 200, "only {branches} branches checked");
    }

    #[test]
    fn decoder_reads_rel32_from_the_end_of_the_instruction() {
        // jmp +0x10 at 0; je -6 at 5 (to offset 5); call +0 at 11.
        let code = [
            0xe9, 0x10, 0, 0, 0, 0x0f, 0x84, 0xfa, 0xff, 0xff, 0xff, 0xe8, 0, 0, 0, 0,
        ];
        assert_eq!(X64Branches::decode(&code, 0, 0), Ok(0x15));
        assert_eq!(X64Branches::decode(&code, 5, 1), Ok(5));
        assert_eq!(X64Branches::decode(&code, 11, 2), Ok(16));
        assert!(X64Branches::decode(&code, 0, 1).is_err(), "form mismatch");
        assert_eq!(X64Branches::follow_veneer(&code, 0), None);
    }
}
