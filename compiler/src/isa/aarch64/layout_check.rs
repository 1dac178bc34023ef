//! AArch64 branch forms for the `machbuffer` layout checker
//! ([`crate::machinst::layout_check`]): `b` (Branch26), `b.eq` (Branch19), `cbz x0`
//! (Branch19) and `tbz x0, #0` (Branch14), padded with `nop`s.
//!
//! The decoders read the immediate fields as the Arm ARM defines them (imm26 at bits
//! 0..=25, imm19 at bits 5..=23, imm14 at bits 5..=18, each a signed word offset from the
//! instruction) and recognise the two veneer shapes of [`AArch64LabelUse`]: a single `b`,
//! and the 24-byte `adr x17, #16; ldr x16, #12; add x16, x16, x17; br x16; .quad` sequence
//! whose data word is the target relative to itself.

use super::label_use::AArch64LabelUse;
use crate::machinst::buffer::MachBuffer;
use crate::machinst::layout_check::BranchKit;
use crate::machinst::{CodeSink, MachLabel};

/// The AArch64 kit.
pub(crate) struct Aarch64Branches;

const NOP: u32 = 0xd503_201f;
/// `adr x17, #16`: immlo = 0, immhi = 4, Rd = 17.
const VENEER_ADR_X17_16: u32 = 0x1000_0091;

/// `(opcode word, kind)` of each form, with a zero offset field.
const FORMS: [(u32, AArch64LabelUse); 4] = [
    (0x1400_0000, AArch64LabelUse::Branch26), // b
    (0x5400_0000, AArch64LabelUse::Branch19), // b.eq
    (0xb400_0000, AArch64LabelUse::Branch19), // cbz x0
    (0x3600_0000, AArch64LabelUse::Branch14), // tbz w0, #0
];

fn word(code: &[u8], at: u64) -> Result<u32, String> {
    let at = usize::try_from(at).map_err(|_| "offset overflow".to_string())?;
    code.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("offset {at:#x} is past the end of the code"))
}

/// Sign-extend the `bits`-bit field at `shift` of `w` and scale it by 4.
fn field(w: u32, shift: u32, bits: u32) -> i64 {
    let v = i64::from((w >> shift) & ((1 << bits) - 1));
    let v = (v << (64 - bits)) >> (64 - bits);
    v * 4
}

impl BranchKit for Aarch64Branches {
    type Use = AArch64LabelUse;
    const FORMS: usize = FORMS.len();
    const MAX_BRANCH: u64 = 4;
    const PAD_UNIT: u64 = 4;
    const MAX_SIZE: u64 = 3 << 20;

    fn emit_branch(buf: &mut MachBuffer<AArch64LabelUse>, form: usize, label: MachLabel) -> u64 {
        let (w, kind) = FORMS[form % FORMS.len()];
        let at = buf.cur_offset();
        buf.put4(w);
        buf.use_label_at_offset(at, label, kind);
        at
    }

    fn pad(buf: &mut MachBuffer<AArch64LabelUse>, units: u64) {
        for _ in 0..units {
            buf.put4(NOP);
        }
    }

    fn decode(code: &[u8], offset: u64, form: usize) -> Result<u64, String> {
        let w = word(code, offset)?;
        let delta = match form % FORMS.len() {
            0 if w & 0xfc00_0000 == 0x1400_0000 => field(w, 0, 26),
            1 if w & 0xff00_001f == 0x5400_0000 => field(w, 5, 19),
            2 if w & 0xff00_001f == 0xb400_0000 => field(w, 5, 19),
            3 if w & 0xfff8_001f == 0x3600_0000 => field(w, 5, 14),
            f => return Err(format!("form {f}: unexpected instruction word {w:#010x}")),
        };
        offset
            .checked_add_signed(delta)
            .ok_or_else(|| format!("branch at {offset:#x} points before the code"))
    }

    fn follow_veneer(code: &[u8], offset: u64) -> Option<u64> {
        let w = word(code, offset).ok()?;
        if w & 0xfc00_0000 == 0x1400_0000 {
            return offset.checked_add_signed(field(w, 0, 26));
        }
        if w == VENEER_ADR_X17_16 {
            let at = usize::try_from(offset + 16).ok()?;
            let data = i64::from_le_bytes(code.get(at..at + 8)?.try_into().ok()?);
            return (offset + 16).checked_add_signed(data);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machinst::layout_check::check_layout;

    #[test]
    fn random_layouts_reach_their_labels_including_through_veneers() {
        let mut veneered = 0;
        for seed in 0..40u32 {
            // A deterministic byte stream per seed, biased toward big padding so that
            // tbz (±32 KiB) and b.cond/cbz (±1 MiB) go out of range.
            let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
            let data: Vec<u8> = (0..400)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    if i % 9 == 0 {
                        7
                    } else {
                        x as u8
                    }
                })
                .collect();
            let s = check_layout::<Aarch64Branches>(&data)
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            veneered += s.through_veneers;
        }
        assert!(veneered > 0, "the layouts must exercise veneers");
    }

    #[test]
    fn decoders_read_the_manual_fields() {
        // b #-4; b.eq #8; cbz x0, #12; tbz w0, #0, #-8; adr x17, #16 (checked with llvm-mc).
        let code = [
            0x17ff_ffffu32,
            0x5400_0040,
            0xb400_0060,
            0x3607_ffc0,
            VENEER_ADR_X17_16,
        ];
        let bytes: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
        assert!(
            Aarch64Branches::decode(&bytes, 0, 0).is_err(),
            "target before the code"
        );
        assert!(
            Aarch64Branches::decode(&bytes, 4, 0).is_err(),
            "form mismatch"
        );
        assert_eq!(Aarch64Branches::decode(&bytes, 4, 1), Ok(12));
        assert_eq!(Aarch64Branches::decode(&bytes, 8, 2), Ok(20));
        assert_eq!(Aarch64Branches::decode(&bytes, 12, 3), Ok(4));
        assert_eq!(Aarch64Branches::follow_veneer(&bytes, 4), None);
    }
}
