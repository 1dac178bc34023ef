//! Modules: placing compiled functions into one text section and linking their calls.
//!
//! [`link_text`] lays finalized functions out one after another (each aligned to
//! [`FUNCTION_ALIGN`] and to its own required alignment, gaps filled with the target's
//! trapping pad byte) and resolves every PC-relative relocation whose target is another
//! function of the same section, so calls inside a module need no loader work. What only
//! the loader can know — absolute addresses, libcalls and the stack-limit address — is
//! returned as [`TextReloc`]s.
//!
//! Invariants of a [`TextSection`]: `functions[i]` is where input `i` starts; every byte of
//! a function's code is copied unchanged except relocated fields; `traps` are sorted by
//! offset; no relocation in `relocs` is a PC-relative one to a function of the section.

use crate::ir::{LibCall, TrapCode, UserFuncName};
use crate::isa::Arch;
use crate::machinst::buffer::RelocKind;
use crate::machinst::compiled::FinalRelocTarget;
use crate::machinst::{CompiledCodeBase, Final};

/// Minimum alignment of every function in a text section.
pub const FUNCTION_ALIGN: u32 = 16;

/// One function to place.
#[derive(Clone, Copy, Debug)]
pub struct LinkInput<'a> {
    /// The function's own name; calls to `UserFuncName::User(n)` resolve to it.
    pub name: &'a UserFuncName,
    /// Its finalized code.
    pub code: &'a CompiledCodeBase<Final>,
}

/// What a loader-resolved relocation refers to.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum TextRelocTarget {
    /// The start of function `i` of the section.
    Function(u32),
    /// A runtime helper.
    LibCall(LibCall),
    /// The address where the embedder stores the 8-byte stack limit.
    StackLimit,
}

/// A relocation left for the loader: patch `kind` at `offset` with the address of `target`
/// plus `addend`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct TextReloc {
    /// Offset of the field within the section.
    pub offset: u32,
    /// How to patch.
    pub kind: RelocKind,
    /// What it refers to.
    pub target: TextRelocTarget,
    /// Added to the target's address.
    pub addend: i64,
}

/// Linked code for one module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextSection {
    /// The bytes.
    pub code: Vec<u8>,
    /// Start offset of each input function, in input order.
    pub functions: Vec<u32>,
    /// Trap sites, sorted by offset.
    pub traps: Vec<(u32, TrapCode)>,
    /// Relocations the loader must apply, sorted by offset.
    pub relocs: Vec<TextReloc>,
}

impl TextSection {
    /// The trap code of the instruction at `offset`, if it is a trap site.
    pub fn trap_at(&self, offset: u32) -> Option<TrapCode> {
        self.traps
            .binary_search_by_key(&offset, |t| t.0)
            .ok()
            .map(|i| self.traps[i].1)
    }
}

/// Why linking failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// A call names a function the module does not contain.
    #[error("function {caller} calls {callee}, which is not part of the module")]
    UndefinedFunction {
        /// The caller's name.
        caller: String,
        /// The missing callee.
        callee: String,
    },
    /// A PC-relative call cannot reach its target (far-call veneers are not implemented yet).
    #[error("call from {caller} to {callee} is out of range for {kind:?} ({distance} bytes)")]
    OutOfRange {
        /// The caller's name.
        caller: String,
        /// The callee's name.
        callee: String,
        /// The relocation kind.
        kind: RelocKind,
        /// The distance that did not fit.
        distance: i64,
    },
    /// A relocation lies outside its function's code, or a kind that the target does not use.
    #[error("malformed relocation {kind:?} at offset {offset} of {caller}")]
    BadReloc {
        /// The function.
        caller: String,
        /// The kind.
        kind: RelocKind,
        /// Offset within the function.
        offset: u32,
    },
    /// The section would exceed 4 GiB.
    #[error("the text section exceeds 4 GiB")]
    TooLarge,
}

/// Lay out `funcs` for `arch` and resolve calls between them.
pub fn link_text(arch: Arch, funcs: &[LinkInput<'_>]) -> Result<TextSection, LinkError> {
    let mut out = TextSection::default();
    for f in funcs {
        let align = f.code.alignment.max(FUNCTION_ALIGN) as usize;
        let start = out.code.len().next_multiple_of(align);
        out.code.resize(start, arch.pad_byte());
        out.code.extend_from_slice(&f.code.code);
        if out.code.len() > u32::MAX as usize {
            return Err(LinkError::TooLarge);
        }
        out.functions.push(start as u32);
        for t in &f.code.traps {
            let at = u32::try_from(start as u64 + t.offset).map_err(|_| LinkError::TooLarge)?;
            out.traps.push((at, t.code));
        }
    }
    for (i, f) in funcs.iter().enumerate() {
        let base = out.functions[i];
        for r in &f.code.relocs {
            let caller = || f.name.to_string();
            let target = match r.target {
                FinalRelocTarget::User(name) => {
                    let wanted = UserFuncName::User(name);
                    let idx = funcs
                        .iter()
                        .position(|g| *g.name == wanted)
                        .ok_or_else(|| LinkError::UndefinedFunction {
                            caller: caller(),
                            callee: wanted.to_string(),
                        })?;
                    TextRelocTarget::Function(idx as u32)
                }
                FinalRelocTarget::LibCall(l) => TextRelocTarget::LibCall(l),
                FinalRelocTarget::StackLimit => TextRelocTarget::StackLimit,
            };
            let offset = base + r.offset;
            if let TextRelocTarget::Function(idx) = target {
                if patch_pc_relative(
                    arch,
                    &mut out.code,
                    offset,
                    r.kind,
                    out.functions[idx as usize],
                    r.addend,
                )
                .map_err(|e| match e {
                    PatchError::OutOfRange(distance) => LinkError::OutOfRange {
                        caller: caller(),
                        callee: funcs[idx as usize].name.to_string(),
                        kind: r.kind,
                        distance,
                    },
                    PatchError::Malformed => LinkError::BadReloc {
                        caller: caller(),
                        kind: r.kind,
                        offset: r.offset,
                    },
                })? {
                    continue;
                }
            }
            out.relocs.push(TextReloc {
                offset,
                kind: r.kind,
                target,
                addend: r.addend,
            });
        }
    }
    out.traps.sort_by_key(|t| t.0);
    out.relocs.sort_by_key(|r| r.offset);
    Ok(out)
}

/// Why a relocation could not be applied.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum PatchError {
    /// The value does not fit the field (the distance or value that didn't fit).
    OutOfRange(i64),
    /// The field lies outside the code, or the kind does not belong to the architecture.
    Malformed,
}

/// Apply a relocation whose target's address `s` is known, at section offset `offset`
/// whose address is `p`. Shared by the linker (section-relative addresses) and loaders
/// (absolute addresses). Returns `Ok(false)` for kinds that are not resolved this way.
pub fn apply_reloc(
    arch: Arch,
    code: &mut [u8],
    offset: u32,
    kind: RelocKind,
    p: u64,
    s: u64,
    addend: i64,
) -> Result<(), PatchError> {
    let value = (s as i64).wrapping_add(addend);
    let pcrel = value.wrapping_sub(p as i64);
    let at = offset as usize;
    match kind {
        RelocKind::Abs8 => {
            let f = code.get_mut(at..at + 8).ok_or(PatchError::Malformed)?;
            f.copy_from_slice(&(value as u64).to_le_bytes());
        }
        RelocKind::Abs4 => {
            let v = u32::try_from(value).map_err(|_| PatchError::OutOfRange(value))?;
            let f = code.get_mut(at..at + 4).ok_or(PatchError::Malformed)?;
            f.copy_from_slice(&v.to_le_bytes());
        }
        RelocKind::X86PCRel4 | RelocKind::X86CallPCRel4 if arch == Arch::X86_64 => {
            let v = i32::try_from(pcrel).map_err(|_| PatchError::OutOfRange(pcrel))?;
            let f = code.get_mut(at..at + 4).ok_or(PatchError::Malformed)?;
            f.copy_from_slice(&v.to_le_bytes());
        }
        RelocKind::Arm64Call if arch == Arch::Aarch64 => {
            if pcrel % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&pcrel) {
                return Err(PatchError::OutOfRange(pcrel));
            }
            let f = code.get_mut(at..at + 4).ok_or(PatchError::Malformed)?;
            let word = u32::from_le_bytes([f[0], f[1], f[2], f[3]]);
            let imm26 = ((pcrel >> 2) as u32) & 0x03ff_ffff;
            f.copy_from_slice(&((word & !0x03ff_ffff) | imm26).to_le_bytes());
        }
        _ => return Err(PatchError::Malformed),
    }
    Ok(())
}

/// Resolve a PC-relative relocation to a function of the section at link time. Returns
/// `Ok(false)` when the kind is absolute (left for the loader).
fn patch_pc_relative(
    arch: Arch,
    code: &mut [u8],
    offset: u32,
    kind: RelocKind,
    target_offset: u32,
    addend: i64,
) -> Result<bool, PatchError> {
    match kind {
        RelocKind::X86PCRel4 | RelocKind::X86CallPCRel4 | RelocKind::Arm64Call => {
            apply_reloc(
                arch,
                code,
                offset,
                kind,
                u64::from(offset),
                u64::from(target_offset),
                addend,
            )?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiler::CompilerBuilder;
    use crate::ir::{text::parse_functions, UserExternalName};

    const SRC: &str = "
function u0:1(i32) -> i32 {
block0(v0: i32):
    v1 = iadd v0, v0
    return v1
}

function %caller(i32) -> i32 {
    sig0 = (i32) -> i32
    fn0 = u0:1 sig0
block0(v0: i32):
    v1 = call fn0(v0)
    return v1
}
";

    #[test]
    fn pad_alignment_and_pc_relative_patching() {
        let mut code = vec![0u8; 16];
        apply_reloc(
            Arch::X86_64,
            &mut code,
            4,
            RelocKind::X86CallPCRel4,
            4,
            100,
            -4,
        )
        .unwrap();
        assert_eq!(i32::from_le_bytes(code[4..8].try_into().unwrap()), 92);
        let mut word = 0x9400_0000u32.to_le_bytes().to_vec(); // bl #0
        apply_reloc(Arch::Aarch64, &mut word, 0, RelocKind::Arm64Call, 0, 8, 0).unwrap();
        assert_eq!(
            u32::from_le_bytes(word[..].try_into().unwrap()),
            0x9400_0002
        );
        assert_eq!(
            apply_reloc(
                Arch::Aarch64,
                &mut word,
                0,
                RelocKind::Arm64Call,
                0,
                1 << 28,
                0
            ),
            Err(PatchError::OutOfRange(1 << 28))
        );
        assert_eq!(
            apply_reloc(Arch::X86_64, &mut word, 2, RelocKind::X86PCRel4, 0, 0, 0),
            Err(PatchError::Malformed),
            "field past the end"
        );
    }

    #[test]
    fn missing_callee_is_a_named_error() {
        let funcs = parse_functions(SRC).unwrap();
        let isa = CompilerBuilder::for_target("x86_64")
            .unwrap()
            .build()
            .unwrap();
        let compiled: Vec<_> = funcs
            .iter()
            .map(|f| {
                isa.compile_function_stencil(f)
                    .map(|c| c.apply_params(&f.params))
            })
            .collect();
        // Calls may not be lowered by every backend yet; only check linking when they are.
        if let [Ok(Ok(callee)), Ok(Ok(caller))] = &compiled[..] {
            let other = UserFuncName::User(UserExternalName::new(9, 9));
            let e = link_text(
                Arch::X86_64,
                &[
                    LinkInput {
                        name: &other,
                        code: callee,
                    },
                    LinkInput {
                        name: &funcs[1].params.name,
                        code: caller,
                    },
                ],
            )
            .unwrap_err();
            assert!(e.to_string().contains("calls u0:1"), "{e}");
            let text = link_text(
                Arch::X86_64,
                &[
                    LinkInput {
                        name: &funcs[0].params.name,
                        code: callee,
                    },
                    LinkInput {
                        name: &funcs[1].params.name,
                        code: caller,
                    },
                ],
            )
            .unwrap();
            assert_eq!(text.functions[0], 0);
            assert_eq!(text.functions[1] % FUNCTION_ALIGN, 0);
            assert!(text
                .relocs
                .iter()
                .all(|r| !matches!(r.target, TextRelocTarget::Function(_))
                    || matches!(r.kind, RelocKind::Abs8 | RelocKind::Abs4)));
        }
    }
}
