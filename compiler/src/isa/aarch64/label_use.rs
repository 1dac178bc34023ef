//! AArch64 label-use kinds: how instructions refer to labels, their reach, how the
//! buffer patches them, and the veneers that extend them.
//!
//! All offsets are relative to the start of the referring instruction (or data word), as
//! the [`LabelUse`] contract requires. Instruction fields hold *signed* offsets; branch
//! and literal-load offsets are in words (4 bytes), `adr` offsets in bytes.
//!
//! | kind | instructions | field | reach |
//! |---|---|---|---|
//! | `Branch14` | `tbz`, `tbnz` | imm14, bits 5..=18 | −32 KiB ..= +32 KiB − 4 |
//! | `Branch19` | `b.cond`, `cbz`, `cbnz` | imm19, bits 5..=23 | −1 MiB ..= +1 MiB − 4 |
//! | `Branch26` | `b`, `bl` | imm26, bits 0..=25 | −128 MiB ..= +128 MiB − 4 |
//! | `Ldr19` | `ldr` (literal) | imm19, bits 5..=23 | −1 MiB ..= +1 MiB − 4 |
//! | `Adr21` | `adr` | immlo bits 29..=30, immhi bits 5..=23 | −1 MiB ..= +1 MiB − 1 |
//! | `PCRel32` | 32-bit data word | the word | ±2 GiB |
//! | `PCRel64` | 64-bit data word | the word | unlimited |
//!
//! Veneers:
//! - `Branch14`, `Branch19` → a single `b` (4 bytes) whose `Branch26` use targets the
//!   label. Conditional branches thus reach ±128 MiB.
//! - `Branch26` → a position-independent 24-byte sequence reaching any offset:
//!   ```text
//!   v+0:  adr  x17, #16          ; x17 = address of the data word
//!   v+4:  ldr  x16, #12          ; x16 = the data word (at v+16)
//!   v+8:  add  x16, x16, x17     ; x16 = target
//!   v+12: br   x16
//!   v+16: .quad target - (v+16)  ; PCRel64 use
//!   ```
//!   It clobbers x16 and x17, the AAPCS64 intra-procedure-call scratch registers (IP0 and
//!   IP1), which linkers' veneers also use. Because *any* `b`/`b.cond`/`cbz`/`tbz` (and
//!   `bl`) may be routed through such a veneer, the AArch64 backend must never keep a live
//!   value in x16 or x17 across a branch: they are not allocatable. Veneers are placed at
//!   8-byte alignment so the data word is naturally aligned.
//! - `Ldr19`, `Adr21`, `PCRel32`, `PCRel64`: no veneer; going out of range is an error.

use crate::machinst::LabelUse;

/// A kind of AArch64 label reference.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum AArch64LabelUse {
    /// `tbz` / `tbnz`: imm14 at bits 5..=18, ±32 KiB.
    Branch14,
    /// `b.cond` / `cbz` / `cbnz`: imm19 at bits 5..=23, ±1 MiB.
    Branch19,
    /// `b` / `bl`: imm26 at bits 0..=25, ±128 MiB.
    Branch26,
    /// `ldr` (literal): imm19 at bits 5..=23, ±1 MiB.
    Ldr19,
    /// `adr`: immlo at bits 29..=30, immhi at bits 5..=23, ±1 MiB (byte granular).
    Adr21,
    /// A little-endian 32-bit word holding `label - use_offset`.
    PCRel32,
    /// A little-endian 64-bit word holding `label - use_offset` (the 64-bit veneer's
    /// data word).
    PCRel64,
}

/// `b #0`
pub const B: u32 = 0x1400_0000;
/// `adr x17, #16`
pub const ADR_X17_16: u32 = 0x1000_0091;
/// `ldr x16, #12` (literal)
pub const LDR_X16_LIT12: u32 = 0x5800_0070;
/// `add x16, x16, x17`
pub const ADD_X16_X16_X17: u32 = 0x8b11_0210;
/// `br x16`
pub const BR_X16: u32 = 0xd61f_0200;

/// Size of the `Branch26` veneer.
pub const VENEER64_SIZE: u32 = 24;

fn read_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn write_u32(b: &mut [u8], w: u32) {
    b[..4].copy_from_slice(&w.to_le_bytes());
}

/// Replace the `width`-bit field at bit `shift` of `w` with the low bits of `value`.
fn insert(w: u32, value: i64, shift: u32, width: u32) -> u32 {
    let mask = ((1u32 << width) - 1) << shift;
    (w & !mask) | (((value as u32) << shift) & mask)
}

impl LabelUse for AArch64LabelUse {
    fn max_pos_range(self) -> u64 {
        match self {
            Self::Branch14 => (1 << 15) - 4,
            Self::Branch19 | Self::Ldr19 => (1 << 20) - 4,
            Self::Branch26 => (1 << 27) - 4,
            Self::Adr21 => (1 << 20) - 1,
            Self::PCRel32 => i32::MAX as u64,
            Self::PCRel64 => i64::MAX as u64,
        }
    }

    fn max_neg_range(self) -> u64 {
        match self {
            Self::Branch14 => 1 << 15,
            Self::Branch19 | Self::Ldr19 | Self::Adr21 => 1 << 20,
            Self::Branch26 => 1 << 27,
            Self::PCRel32 => 1 << 31,
            Self::PCRel64 => i64::MAX as u64,
        }
    }

    fn patch_size(self) -> u32 {
        match self {
            Self::PCRel64 => 8,
            _ => 4,
        }
    }

    fn patch(self, buffer: &mut [u8], use_offset: u64, label_offset: u64) {
        let delta = label_offset.wrapping_sub(use_offset) as i64;
        match self {
            Self::PCRel64 => buffer[..8].copy_from_slice(&delta.to_le_bytes()),
            Self::PCRel32 => write_u32(buffer, delta as i32 as u32),
            _ => {
                let w = read_u32(buffer);
                let w = match self {
                    Self::Branch14 => insert(w, delta >> 2, 5, 14),
                    Self::Branch19 | Self::Ldr19 => insert(w, delta >> 2, 5, 19),
                    Self::Branch26 => insert(w, delta >> 2, 0, 26),
                    _ => insert(insert(w, delta & 3, 29, 2), delta >> 2, 5, 19),
                };
                write_u32(buffer, w);
            }
        }
    }

    fn supports_veneer(self) -> bool {
        matches!(self, Self::Branch14 | Self::Branch19 | Self::Branch26)
    }

    fn veneer_size(self) -> u32 {
        match self {
            Self::Branch14 | Self::Branch19 => 4,
            Self::Branch26 => VENEER64_SIZE,
            _ => 0,
        }
    }

    fn worst_case_veneer_size() -> u32 {
        VENEER64_SIZE
    }

    fn generate_veneer(self, buffer: &mut [u8], _veneer_offset: u64) -> (u32, Self) {
        match self {
            Self::Branch14 | Self::Branch19 => {
                write_u32(buffer, B);
                (0, Self::Branch26)
            }
            _ => {
                for (i, w) in [ADR_X17_16, LDR_X16_LIT12, ADD_X16_X16_X17, BR_X16]
                    .into_iter()
                    .enumerate()
                {
                    write_u32(&mut buffer[i * 4..], w);
                }
                buffer[16..24].fill(0);
                (16, Self::PCRel64)
            }
        }
    }

    fn veneer_align() -> u32 {
        8
    }
}

/// Decoding helpers shared by tests: where does the instruction at `pc` go?
#[cfg(test)]
fn sext(v: u32, bits: u32) -> i64 {
    i64::from(((v << (32 - bits)) as i32) >> (32 - bits))
}

/// The branch target of the word at `pc` (taken direction for conditional branches), or
/// for the 64-bit veneer sequence, its final target.
#[cfg(test)]
fn branch_target(code: &[u8], pc: u64) -> Option<u64> {
    let p = pc as usize;
    let w = read_u32(code.get(p..p + 4)?);
    let rel = |d: i64| (pc as i64 + d) as u64;
    if w & 0x7e00_0000 == 0x3600_0000 {
        Some(rel(sext((w >> 5) & 0x3fff, 14) * 4))
    } else if w & 0xff00_0010 == 0x5400_0000 || w & 0x7e00_0000 == 0x3400_0000 {
        Some(rel(sext((w >> 5) & 0x7ffff, 19) * 4))
    } else if w & 0x7c00_0000 == 0x1400_0000 {
        Some(rel(sext(w & 0x03ff_ffff, 26) * 4))
    } else if w == ADR_X17_16 {
        let words: Vec<u32> = (1..4).map(|i| read_u32(&code[p + 4 * i..])).collect();
        if words != [LDR_X16_LIT12, ADD_X16_X16_X17, BR_X16] {
            return None;
        }
        let mut q = [0u8; 8];
        q.copy_from_slice(&code[p + 16..p + 24]);
        Some((pc as i64 + 16 + i64::from_le_bytes(q)) as u64)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::AArch64LabelUse as K;
    use super::*;
    use crate::machinst::buffer::{BufferError, MachBuffer};
    use crate::machinst::{CodeSink, MachLabel};
    use std::io::Write;
    use std::process::{Command, Stdio};

    const NOP: u32 = 0xd503_201f;

    /// Disassemble `words` with one `llvm-mc` call; one line of text per word.
    fn llvm_mc(words: &[u32]) -> Vec<String> {
        let mut input = String::new();
        for w in words {
            for b in w.to_le_bytes() {
                input.push_str(&format!("0x{b:02x} "));
            }
            input.push('\n');
        }
        let child = Command::new("llvm-mc")
            .args(["-triple=aarch64", "-disassemble"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => panic!(
                "llvm-mc is required for the AArch64 encoding tests but could not be run ({e}); \
                 install the Debian `llvm` package (apt-get install llvm)"
            ),
        };
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "llvm-mc failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<String> = text
            .lines()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty() && !l.starts_with('.'))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            lines.len(),
            words.len(),
            "llvm-mc output:\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        lines
    }

    fn word_at(code: &[u8], off: u64) -> u32 {
        read_u32(&code[off as usize..])
    }

    fn emit(buf: &mut MachBuffer<K>, w: u32, label: Option<(MachLabel, K)>) -> u64 {
        let at = buf.cur_offset();
        buf.put4(w);
        if let Some((l, k)) = label {
            buf.use_label_at_offset(at, l, k);
        }
        at
    }

    #[test]
    fn ranges_match_field_widths() {
        for (k, bits, scale) in [
            (K::Branch14, 14, 4),
            (K::Branch19, 19, 4),
            (K::Branch26, 26, 4),
            (K::Ldr19, 19, 4),
            (K::Adr21, 21, 1),
        ] {
            let max = ((1u64 << (bits - 1)) - 1) * scale;
            let min = (1u64 << (bits - 1)) * scale;
            assert_eq!(k.max_pos_range(), max, "{k:?}");
            assert_eq!(k.max_neg_range(), min, "{k:?}");
        }
    }

    #[test]
    fn patch_field_arithmetic_round_trips() {
        // For every kind and a spread of in-range distances, patching then decoding the
        // field gives the distance back and leaves the other bits alone.
        let cases: [(K, u32, i64, i64); 5] = [
            (K::Branch14, 0x3600_0000 | 3, -(1 << 15), (1 << 15) - 4),
            (K::Branch19, 0x5400_0001, -(1 << 20), (1 << 20) - 4),
            (K::Branch26, 0x9400_0000, -(1 << 27), (1 << 27) - 4),
            (K::Ldr19, 0x5800_0005, -(1 << 20), (1 << 20) - 4),
            (K::Adr21, 0x1000_0007, -(1 << 20), (1 << 20) - 1),
        ];
        for (k, base, lo, hi) in cases {
            let step = if k == K::Adr21 { 1 } else { 4 };
            for d in [lo, lo + step, -step, 0, step, 12 * step, hi - step, hi] {
                let use_off: u64 = 1 << 28;
                let mut b = base.to_le_bytes();
                k.patch(&mut b, use_off, (use_off as i64 + d) as u64);
                let w = u32::from_le_bytes(b);
                let (got, field_mask) = match k {
                    K::Branch14 => (sext((w >> 5) & 0x3fff, 14) * 4, 0x3fffu32 << 5),
                    K::Branch19 | K::Ldr19 => (sext((w >> 5) & 0x7ffff, 19) * 4, 0x7ffff << 5),
                    K::Branch26 => (sext(w & 0x3ff_ffff, 26) * 4, 0x3ff_ffff),
                    _ => (
                        sext((((w >> 5) & 0x7ffff) << 2) | ((w >> 29) & 3), 21),
                        (0x7ffff << 5) | (3 << 29),
                    ),
                };
                assert_eq!(got, d, "{k:?} distance {d}");
                assert_eq!(w & !field_mask, base & !field_mask, "{k:?} other bits");
            }
        }
        let mut b = [0u8; 8];
        K::PCRel64.patch(&mut b, 100, 40);
        assert_eq!(i64::from_le_bytes(b), -60);
        let mut b = [0u8; 4];
        K::PCRel32.patch(&mut b, 8, 1 << 30);
        assert_eq!(i32::from_le_bytes(b), (1 << 30) - 8);
    }

    #[test]
    fn encodings_decode_with_llvm_mc() {
        let mut buf = MachBuffer::<K>::new();
        let fwd = buf.get_label();
        let back = buf.get_label();
        buf.put4(NOP);
        buf.bind_label(back).unwrap();
        let mut expect: Vec<(u64, String)> = Vec::new();
        // Forward uses to `fwd`, backward uses to `back` (at offset 4).
        let insts: [(u32, K, &str); 7] = [
            (0x3600_0000, K::Branch14, "tbz w0, #0"),
            (0x3700_0021, K::Branch14, "tbnz w1, #0"),
            (0x5400_0000, K::Branch19, "b.eq"),
            (0xb400_0002, K::Branch19, "cbz x2"),
            (0x1400_0000, K::Branch26, "b"),
            (0x9400_0000, K::Branch26, "bl"),
            (0x5800_0003, K::Ldr19, "ldr x3"),
        ];
        let mut uses = Vec::new();
        for (label, _) in [(fwd, "fwd"), (back, "back")] {
            for &(w, k, text) in &insts {
                let at = emit(&mut buf, w, Some((label, k)));
                uses.push((at, label, text.to_string()));
            }
            let at = emit(&mut buf, 0x1000_0004, Some((label, K::Adr21)));
            uses.push((at, label, "adr x4".to_string()));
        }
        buf.put4(NOP);
        buf.put4(NOP);
        buf.bind_label(fwd).unwrap();
        let fwd_off = buf.cur_offset();
        buf.put4(NOP);
        let fin = buf.finish().unwrap();
        for (at, label, text) in uses {
            let target = if label == fwd { fwd_off } else { 4 };
            let d = target as i64 - at as i64;
            // Mnemonics without operands (`b`, `bl`, `b.eq`) take the offset directly.
            let sep = if text.contains(' ') { ", " } else { " " };
            expect.push((at, format!("{text}{sep}#{d}")));
        }
        // The 64-bit veneer sequence too.
        let mut v = [0u8; 24];
        let (rel, k) = K::Branch26.generate_veneer(&mut v, 0);
        assert_eq!((rel, k), (16, K::PCRel64));
        let mut words: Vec<u32> = expect
            .iter()
            .map(|(at, _)| word_at(&fin.data, *at))
            .collect();
        words.extend((0..4).map(|i| read_u32(&v[i * 4..])));
        let mut wanted: Vec<String> = expect.into_iter().map(|(_, s)| s).collect();
        wanted.extend(
            [
                "adr x17, #16",
                "ldr x16, #12",
                "add x16, x16, x17",
                "br x16",
            ]
            .map(String::from),
        );
        wanted.push("b #0".into());
        words.push(B);
        let got = llvm_mc(&words);
        assert_eq!(got, wanted);
    }

    /// Emit `total` bytes of nops with the island protocol (jump-over `b`).
    fn pad_with_islands(buf: &mut MachBuffer<K>, total: u64) {
        let chunk = 4096u64;
        let nops: Vec<u8> = NOP.to_le_bytes().repeat((chunk / 4) as usize);
        let mut done = 0;
        while done < total {
            if buf.island_needed(chunk + 4 + 64) {
                let after = buf.get_label();
                let at = emit(buf, B, Some((after, K::Branch26)));
                buf.add_uncond_branch(at, at + 4, after).unwrap();
                buf.emit_island(chunk + 64).unwrap();
                buf.bind_label(after).unwrap();
            }
            buf.put_data(&nops);
            done += chunk;
        }
    }

    #[test]
    fn branch14_and_branch19_go_through_b_veneers() {
        let mut buf = MachBuffer::<K>::new();
        let far14 = buf.get_label();
        let far19 = buf.get_label();
        let tbz = emit(&mut buf, 0x3600_0000, Some((far14, K::Branch14)));
        let bcond = emit(&mut buf, 0x5400_0001, Some((far19, K::Branch19)));
        pad_with_islands(&mut buf, 40 * 1024);
        buf.bind_label(far14).unwrap();
        let t14 = buf.cur_offset();
        buf.put4(NOP);
        pad_with_islands(&mut buf, 1100 * 1024);
        buf.bind_label(far19).unwrap();
        let t19 = buf.cur_offset();
        buf.put4(NOP);
        let fin = buf.finish().unwrap();
        let code = &fin.data;
        for (at, target) in [(tbz, t14), (bcond, t19)] {
            let v = branch_target(code, at).unwrap();
            assert_ne!(v, target, "the short branch must go through a veneer");
            assert_eq!(word_at(code, v) & 0xfc00_0000, B, "veneer is a `b`");
            assert_eq!(v % 8, 0, "veneers are 8-byte aligned");
            assert_eq!(branch_target(code, v), Some(target));
        }
        let words = [word_at(code, tbz), word_at(code, bcond)];
        let v14 = branch_target(code, tbz).unwrap() - tbz;
        let v19 = branch_target(code, bcond).unwrap() - bcond;
        assert_eq!(
            llvm_mc(&words),
            [format!("tbz w0, #0, #{v14}"), format!("b.ne #{v19}")]
        );
    }

    #[test]
    fn branch26_veneer_reaches_far_targets() {
        // The 64-bit veneer computes `x17 + quad` with x17 = its data word's address:
        // check the arithmetic for targets far beyond ±128 MiB in both directions.
        for (v, target) in [
            (0u64, 5u64 << 30),
            (8u64 << 30, 1000),
            (1 << 20, (1 << 20) + 16),
        ] {
            let mut code = vec![0u8; 24];
            let (rel, k) = K::Branch26.generate_veneer(&mut code, v);
            k.patch(&mut code[rel as usize..], v + u64::from(rel), target);
            // Place it at `v` virtually: branch_target works relative to pc.
            let mut q = [0u8; 8];
            q.copy_from_slice(&code[16..24]);
            let x17 = v + 16;
            assert_eq!((x17 as i64 + i64::from_le_bytes(q)) as u64, target);
            let mut shifted = vec![0u8; 8];
            shifted.extend_from_slice(&code);
            let got = branch_target(&shifted, 8).map(|t| t.wrapping_sub(8).wrapping_add(v));
            assert_eq!(got, Some(target));
        }
    }

    #[test]
    fn ldr19_out_of_range_is_an_error() {
        let mut buf = MachBuffer::<K>::new();
        let l = buf.get_label();
        emit(&mut buf, 0x5800_0000, Some((l, K::Ldr19)));
        buf.put_data(&vec![0u8; (1 << 20) + 64]);
        buf.bind_label(l).unwrap();
        match buf.finish() {
            Err(BufferError::OutOfRange { kind, distance, .. }) => {
                assert_eq!(kind, "Ldr19");
                assert_eq!(distance, (1 << 20) + 68);
            }
            r => panic!("expected OutOfRange, got {r:?}"),
        }
    }

    #[test]
    fn constant_pool_ldr_literal() {
        let mut buf = MachBuffer::<K>::new();
        let c = buf
            .register_constant(&0x1122_3344_5566_7788u64.to_le_bytes(), 8)
            .unwrap();
        buf.put4(NOP);
        let at = buf.cur_offset();
        buf.put4(0x5800_0000);
        buf.use_constant(at, c, K::Ldr19).unwrap();
        let fin = buf.finish().unwrap();
        let t = branch_target(&fin.data, at);
        assert_eq!(t, None); // ldr is not a branch; decode its field directly:
        let w = word_at(&fin.data, at);
        let off = (at as i64 + sext((w >> 5) & 0x7ffff, 19) * 4) as usize;
        assert_eq!(off % 8, 0);
        assert_eq!(
            &fin.data[off..off + 8],
            &0x1122_3344_5566_7788u64.to_le_bytes()
        );
        assert_eq!(llvm_mc(&[w]), [format!("ldr x0, #{}", off as u64 - at)]);
    }
}
