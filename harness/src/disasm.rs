//! Disassembly of Kiln's machine code through LLVM's `llvm-mc` (an independent decoder:
//! Kiln never disassembles with its own tables), for `kiln compile --disasm` and reports.
//!
//! Invariant: the listing has one line per decoded instruction, in code order, each with
//! its offset and bytes; bytes `llvm-mc` cannot decode are listed as `.byte` lines, so no
//! byte is ever dropped from a listing. Byte ranges the compiler marked as data
//! (`CompiledCode::data_ranges`: constants, inline jump tables) are never decoded: they
//! are listed as `.long` (whole 4-byte words) and `.byte` lines, and decoding resumes
//! right after them, so a jump table cannot throw the rest of an x86_64 listing out of
//! step.
//!
//! `llvm-mc -show-encoding` prints the bytes of a PC-relative field on x86_64 (`jcc`,
//! `jmp`, `call rel32`) as fixup letters (`[0x0f,0x83,A,A,A,A]`): those match any byte of
//! the code, and such an instruction's text gets its target as an offset in the code
//! (`jae 2 # -> 0x21`), as `llvm-mc` prints only the displacement.

use kiln::isa::Arch;
use std::fmt::Write as _;
use std::io::Write as _;
use std::ops::Range;
use std::process::{Command, Stdio};

/// Why a listing could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum DisasmError {
    /// `llvm-mc` is not installed or could not be run.
    #[error("cannot run `llvm-mc` ({0}); install LLVM (Debian package `llvm`) for disassembly")]
    NoLlvmMc(std::io::Error),
    /// `llvm-mc` failed.
    #[error("llvm-mc failed: {0}")]
    Failed(String),
}

/// One decoded instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Offset from the start of the code.
    pub offset: u32,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its text (Intel syntax on x86_64).
    pub text: String,
}

/// Decode `code` for `arch`, listing the bytes in `data` (sorted, disjoint ranges, as in
/// `CompiledCode::data_ranges`) as data. Ranges reaching past the code are clipped.
pub fn disassemble_with_data(
    arch: Arch,
    code: &[u8],
    data: &[Range<u32>],
) -> Result<Vec<Line>, DisasmError> {
    let mut lines = Vec::new();
    let mut at = 0usize;
    for d in data {
        let start = (d.start as usize).clamp(at, code.len());
        let end = (d.end as usize).clamp(start, code.len());
        if at < start {
            lines.extend(decode(arch, &code[..start], at)?);
        }
        push_data(&mut lines, code, start, end);
        at = end;
    }
    if at < code.len() {
        lines.extend(decode(arch, code, at)?);
    }
    Ok(lines)
}

/// Decode all of `code` for `arch` as instructions.
pub fn disassemble(arch: Arch, code: &[u8]) -> Result<Vec<Line>, DisasmError> {
    decode(arch, code, 0)
}

/// Decode `code[from..]` (offsets and branch targets stay those of `code`).
fn decode(arch: Arch, code: &[u8], from: usize) -> Result<Vec<Line>, DisasmError> {
    let (triple, extra): (&str, &[&str]) = match arch {
        Arch::X86_64 => ("x86_64", &["-output-asm-variant=1"]),
        Arch::Aarch64 => ("aarch64", &["-mattr=+neon,+fp-armv8"]),
    };
    let mut child = Command::new("llvm-mc")
        .args(["-triple", triple, "-disassemble", "-show-encoding"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(DisasmError::NoLlvmMc)?;
    let mut input = String::with_capacity((code.len() - from) * 5);
    for b in &code[from..] {
        let _ = write!(input, "0x{b:02x} ");
    }
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| DisasmError::Failed(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| DisasmError::Failed(e.to_string()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = Vec::new();
    let mut offset = from;
    for l in text.lines() {
        let Some((insn, enc)) = l.split_once("encoding: [") else {
            continue;
        };
        // The comment marker before "encoding" is `#` on x86_64 and `//` on AArch64.
        let insn = insn
            .trim()
            .trim_end_matches('#')
            .trim_end_matches("//")
            .trim();
        // A byte, or `None` for a fixup letter (any byte).
        let pattern: Vec<Option<u8>> = enc
            .trim_end_matches(']')
            .split(',')
            .map(|b| {
                let b = b.trim();
                b.strip_prefix("0x")
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect();
        if pattern.is_empty() {
            continue;
        }
        let matches = |at: usize| {
            code.get(at..at + pattern.len()).is_some_and(|c| {
                c.iter()
                    .zip(&pattern)
                    .all(|(b, p)| p.is_none_or(|p| p == *b))
            })
        };
        // llvm-mc skips bytes it cannot decode; find where this instruction really starts
        // and list the skipped bytes.
        let Some(skip) = (0..=16).find(|k| matches(offset + k)) else {
            break;
        };
        push_bytes(&mut lines, code, offset, offset + skip);
        offset += skip;
        let end = offset + pattern.len();
        let mut text = insn.replace('\t', " ");
        if pattern.contains(&None) {
            if let Some(target) = pc_relative_target(&text, end) {
                let _ = write!(text, " # -> {target:#x}");
            }
        }
        lines.push(Line {
            offset: offset as u32,
            bytes: code[offset..end].to_vec(),
            text,
        });
        offset = end;
    }
    push_bytes(&mut lines, code, offset, code.len());
    Ok(lines)
}

/// The target of a PC-relative instruction whose text ends in its displacement and which
/// ends at `end` (x86_64 displacements count from the next instruction).
fn pc_relative_target(text: &str, end: usize) -> Option<i64> {
    let disp: i64 = text.split_whitespace().last()?.parse().ok()?;
    Some(end as i64 + disp)
}

/// List the data `code[from..to]` as `.long` lines (little-endian words), with `.byte`
/// lines for a ragged end.
fn push_data(lines: &mut Vec<Line>, code: &[u8], from: usize, to: usize) {
    let Some(range) = code.get(from..to) else {
        return;
    };
    let words = range.len() / 4 * 4;
    for (i, w) in range[..words].chunks(4).enumerate() {
        let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        lines.push(Line {
            offset: (from + i * 4) as u32,
            bytes: w.to_vec(),
            text: format!(".long {v:#010x}"),
        });
    }
    push_bytes(lines, code, from + words, to);
}

/// List `code[from..to]` as `.byte` lines of at most 4 bytes.
fn push_bytes(lines: &mut Vec<Line>, code: &[u8], from: usize, to: usize) {
    let Some(range) = code.get(from..to) else {
        return;
    };
    for (i, chunk) in range.chunks(4).enumerate() {
        let list: Vec<String> = chunk.iter().map(|b| format!("0x{b:02x}")).collect();
        lines.push(Line {
            offset: (from + i * 4) as u32,
            bytes: chunk.to_vec(),
            text: format!(".byte {}", list.join(", ")),
        });
    }
}

/// Format a listing: `offset: bytes  text`, one instruction per line.
pub fn format_listing(lines: &[Line]) -> String {
    let mut s = String::new();
    for l in lines {
        let hex: Vec<String> = l.bytes.iter().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(s, "  {:6x}:  {:<30} {}", l.offset, hex.join(" "), l.text);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_arches_and_keeps_undecodable_bytes() {
        // add rax, rbx; ret; then two bytes that are not an instruction on their own.
        let lines = disassemble(Arch::X86_64, &[0x48, 0x01, 0xd8, 0xc3, 0x0f, 0x0b]).unwrap();
        let texts: Vec<_> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["add rax, rbx", "ret", "ud2"]);
        assert_eq!(lines[1].offset, 3);
        // ret; an undecodable word (a literal in an island); ret; 2 stray bytes.
        let code = [
            0xc0, 0x03, 0x5f, 0xd6, 0xff, 0xff, 0xff, 0xff, 0xc0, 0x03, 0x5f, 0xd6, 1, 2,
        ];
        let lines = disassemble(Arch::Aarch64, &code).unwrap();
        let texts: Vec<_> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "ret",
                ".byte 0xff, 0xff, 0xff, 0xff",
                "ret",
                ".byte 0x01, 0x02"
            ]
        );
        assert_eq!(lines[2].offset, 8);
        let total: usize = lines.iter().map(|l| l.bytes.len()).sum();
        assert_eq!(total, code.len(), "no byte is dropped");
        assert!(format_listing(&lines).contains("ret"));
    }

    #[test]
    fn x86_64_branches_with_fixup_letters_decode_in_place() {
        // 0: jae +2 (6 bytes); 6: ud2; 8: call +0; 13: jmp -15 (to 0); 15: je +2; 17: ud2
        // (not reached); 19: ret. llvm-mc shows every displacement byte as a fixup letter.
        let code = [
            0x0f, 0x83, 0x02, 0x00, 0x00, 0x00, 0x0f, 0x0b, 0xe8, 0x00, 0x00, 0x00, 0x00, 0xeb,
            0xf1, 0x74, 0x02, 0x0f, 0x0b, 0xc3,
        ];
        let lines = disassemble(Arch::X86_64, &code).unwrap();
        let got: Vec<(u32, &str)> = lines.iter().map(|l| (l.offset, l.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (0, "jae 2 # -> 0x8"),
                (6, "ud2"),
                (8, "call 0 # -> 0xd"),
                (13, "jmp -15 # -> 0x0"),
                (15, "je 2 # -> 0x13"),
                (17, "ud2"),
                (19, "ret"),
            ]
        );
        let bytes: Vec<u8> = lines.iter().flat_map(|l| l.bytes.clone()).collect();
        assert_eq!(bytes, code, "every byte listed once, in order");
    }
}
