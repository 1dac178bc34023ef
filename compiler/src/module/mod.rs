//! Modules: placing compiled functions into one text section and linking their calls.
//!
//! [`link_text`] lays finalized functions out one after another (each aligned to
//! [`FUNCTION_ALIGN`] and to its own required alignment, gaps filled with the target's
//! trapping pad byte) and resolves every PC-relative relocation whose target is another
//! function of the same section, so calls inside a module need no loader work. What only
//! the loader can know — absolute addresses, libcalls and the stack-limit address — is
//! returned as [`TextReloc`]s.
//!
//! # Sparse sections
//!
//! A [`TextSection`] is a list of [`TextSegment`]s (bytes at an offset) inside a virtual
//! extent of [`TextSection::len`] bytes; the bytes between segments are *virtual padding*:
//! never materialized, and a loader leaves them unmapped (executing them faults). Without
//! padding the section is one segment, byte for byte what a dense layout gives.
//!
//! The test-only [`LinkOptions::pad_between_functions`] inserts at least that many bytes
//! of virtual padding between consecutive functions (none after the last); each function
//! (with its island) is then its own segment, starting on a [`SEGMENT_ALIGN`] boundary so
//! that no two segments share a page. This exercises far calls without real gigabytes.
//!
//! # Far-call veneers
//!
//! A PC-relative call to a function of the section that its field cannot reach (x86_64
//! `call rel32`: ±2 GiB; AArch64 `bl`: ±128 MiB) is routed through a *veneer*: the ISA's
//! own position-independent 64-bit far-branch sequence (`crate::isa::far_call_veneer`;
//! 24 bytes; it clobbers `r10`/`r11` on x86_64 and `x16`/`x17` on AArch64, which no
//! calling convention of Kiln passes anything in), placed in an *island* right after the
//! calling function. The call is patched to the veneer (always in range: the veneer follows
//! its caller), the veneer's 64-bit offset to the callee. One veneer serves every call from
//! one function to one destination.
//!
//! Layout is a fixpoint: first without islands (which gives exactly the layout without
//! veneer support, so a module that needs no veneer links byte-identically); then, while
//! some call is out of range, its (caller, destination) pair is added to the set that gets
//! a veneer and the layout is redone. The set only grows, so this ends after at most as
//! many rounds as there are such pairs; a pair whose call would fit again after a later
//! round keeps its veneer (still correct).
//!
//! A veneer can only serve a *call*. x86_64 `func_addr` of a user function is
//! `lea r, [rip + rel32]` (`X86PCRel4`); if that cannot reach its function, linking fails
//! with [`LinkError::OutOfRange`] naming both functions (the padding option is test-only,
//! and no real module has a 2 GiB text section). AArch64 `func_addr` is an `Abs8` literal
//! and reaches anything.
//!
//! Invariants of a [`TextSection`]: segments are sorted, disjoint, non-empty and inside
//! `len`; `functions[i]` is where input `i` starts, inside a segment; every byte of a
//! function's code is copied unchanged except relocated fields; `traps` are sorted by
//! offset; `veneers` are sorted offsets of veneers, each inside a segment; no relocation in
//! `relocs` is a PC-relative one to a function of the section. Linking never panics: every
//! failure is a [`LinkError`] naming the function and the relocation kind.

pub mod compile;
pub mod elf;

pub use compile::{
    compile_module, translate_module, CompiledModule, ModuleError, ModuleFunction, ModuleOptions,
    ModuleStats, TrapSite,
};

use crate::ir::{LibCall, TrapCode, UserFuncName};
use crate::isa::{far_call_veneer, write_far_call_veneer, Arch};
use crate::machinst::buffer::RelocKind;
use crate::machinst::compiled::FinalRelocTarget;
use crate::machinst::{CompiledCodeBase, Final};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Minimum alignment of every function in a text section.
pub const FUNCTION_ALIGN: u32 = 16;

/// Alignment of every segment start when [`LinkOptions::pad_between_functions`] is
/// non-zero (a page, so that a loader can map each segment separately).
pub const SEGMENT_ALIGN: u64 = 4096;

/// Largest virtual size of a text section: every offset fits a `u32`.
pub const MAX_TEXT_SIZE: u64 = 1 << 32;

pub use crate::compiler::LinkOptions;

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

/// Materialized bytes of a text section at `offset`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextSegment {
    /// Section offset of the first byte.
    pub offset: u32,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl TextSegment {
    /// One past the last byte's section offset.
    pub fn end(&self) -> u64 {
        u64::from(self.offset) + self.bytes.len() as u64
    }

    /// Does the segment hold the byte at section offset `offset`?
    pub fn contains(&self, offset: u32) -> bool {
        offset >= self.offset && u64::from(offset) < self.end()
    }
}

/// Linked code for one module: segments of bytes in a virtual extent (see the module docs
/// for the invariants).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextSection {
    /// The materialized bytes, sorted by offset, disjoint; the rest is virtual padding.
    pub segments: Vec<TextSegment>,
    /// The virtual size (the end of the last segment).
    pub len: u64,
    /// Start offset of each input function, in input order.
    pub functions: Vec<u32>,
    /// Trap sites, sorted by offset.
    pub traps: Vec<(u32, TrapCode)>,
    /// Relocations the loader must apply, sorted by offset.
    pub relocs: Vec<TextReloc>,
    /// Offsets of the far-call veneers, sorted.
    pub veneers: Vec<u32>,
}

impl TextSection {
    /// The trap code of the instruction at `offset`, if it is a trap site.
    pub fn trap_at(&self, offset: u32) -> Option<TrapCode> {
        self.traps
            .binary_search_by_key(&offset, |t| t.0)
            .ok()
            .map(|i| self.traps[i].1)
    }

    /// The segment holding the byte at `offset` (`None`: padding or outside).
    pub fn segment_at(&self, offset: u32) -> Option<&TextSegment> {
        let i = self.segments.partition_point(|s| s.offset <= offset);
        let s = self.segments.get(i.checked_sub(1)?)?;
        s.contains(offset).then_some(s)
    }

    /// The `len` materialized bytes at `offset` (`None` unless they lie in one segment).
    pub fn bytes_at(&self, offset: u32, len: usize) -> Option<&[u8]> {
        let s = self.segment_at(offset)?;
        let at = (offset - s.offset) as usize;
        s.bytes.get(at..at.checked_add(len)?)
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
    /// A PC-relative reference to a function cannot reach it and no veneer can serve it
    /// (x86_64 `func_addr`'s `X86PCRel4`; or a call to its own veneer beyond the call's
    /// reach, which takes a function larger than that reach).
    #[error("reference from {caller} to {callee} is out of range for {kind:?} ({distance} bytes) and no veneer can serve it")]
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
    /// The section (with its padding) would exceed 4 GiB.
    #[error("the text section exceeds 4 GiB (at function {function})")]
    TooLarge {
        /// The function that did not fit.
        function: String,
    },
}

/// A relocation with its target resolved to the section's terms.
#[derive(Copy, Clone, Debug)]
struct Resolved {
    /// Offset within its function.
    offset: u32,
    kind: RelocKind,
    target: TextRelocTarget,
    addend: i64,
}

/// A veneer's identity within one caller: the call kind (as its discriminant, for
/// ordering) and the destination (callee index and the call's addend).
type VeneerKey = (u8, u32, i64);

fn veneer_key(kind: RelocKind, callee: u32, addend: i64) -> VeneerKey {
    (kind as u8, callee, addend)
}

/// The layout of a whole section for one set of veneers.
struct Layout {
    /// Function starts.
    starts: Vec<u64>,
    /// Veneer offsets per function, by key.
    veneers: Vec<BTreeMap<VeneerKey, u64>>,
    /// End of each function's island (or code, without one).
    ends: Vec<u64>,
}

/// Lay out `funcs` for `arch` and resolve calls between them, inserting far-call veneers
/// where a call cannot reach its callee (see the module docs).
pub fn link_text(
    arch: Arch,
    funcs: &[LinkInput<'_>],
    options: &LinkOptions,
) -> Result<TextSection, LinkError> {
    let resolved = resolve_all(funcs)?;
    // The veneer fixpoint.
    let mut wanted: Vec<BTreeMap<VeneerKey, RelocKind>> = vec![BTreeMap::new(); funcs.len()];
    let layout = loop {
        let layout = lay_out(arch, funcs, options, &wanted)?;
        let mut grew = false;
        for (i, relocs) in resolved.iter().enumerate() {
            for r in relocs {
                let TextRelocTarget::Function(j) = r.target else {
                    continue;
                };
                let key = veneer_key(r.kind, j, r.addend);
                if far_call_veneer(arch, r.kind).is_none() || wanted[i].contains_key(&key) {
                    continue;
                }
                let p = layout.starts[i] + u64::from(r.offset);
                let s = layout.starts[j as usize];
                if !reaches(arch, r.kind, p, s, r.addend) {
                    wanted[i].insert(key, r.kind);
                    grew = true;
                }
            }
        }
        if !grew {
            break layout;
        }
    };
    emit(arch, funcs, options, &resolved, &layout)
}

/// Every function's relocations with their targets resolved (a missing callee is an error
/// naming caller and callee).
fn resolve_all(funcs: &[LinkInput<'_>]) -> Result<Vec<Vec<Resolved>>, LinkError> {
    let mut by_name: HashMap<&UserFuncName, u32> = HashMap::new();
    for (i, f) in funcs.iter().enumerate().rev() {
        // The first function of a name wins, as a linear search would find it.
        by_name.insert(f.name, i as u32);
    }
    funcs
        .iter()
        .map(|f| {
            f.code
                .relocs
                .iter()
                .map(|r| {
                    let target = match r.target {
                        FinalRelocTarget::User(name) => {
                            let wanted = UserFuncName::User(name);
                            let idx = by_name.get(&wanted).copied().ok_or_else(|| {
                                LinkError::UndefinedFunction {
                                    caller: f.name.to_string(),
                                    callee: wanted.to_string(),
                                }
                            })?;
                            TextRelocTarget::Function(idx)
                        }
                        FinalRelocTarget::LibCall(l) => TextRelocTarget::LibCall(l),
                        FinalRelocTarget::StackLimit => TextRelocTarget::StackLimit,
                    };
                    // The field must lie inside the function's own code.
                    let width = if r.kind == RelocKind::Abs8 { 8 } else { 4 };
                    if u64::from(r.offset) + width > f.code.code.len() as u64 {
                        return Err(LinkError::BadReloc {
                            caller: f.name.to_string(),
                            kind: r.kind,
                            offset: r.offset,
                        });
                    }
                    Ok(Resolved {
                        offset: r.offset,
                        kind: r.kind,
                        target,
                        addend: r.addend,
                    })
                })
                .collect()
        })
        .collect()
}

/// Does a PC-relative `kind` at `p` reach `s + addend`? (Malformed kinds "reach": the
/// error surfaces when the relocation is applied.)
fn reaches(arch: Arch, kind: RelocKind, p: u64, s: u64, addend: i64) -> bool {
    let mut scratch = [0u8; 4];
    !matches!(
        apply_reloc(arch, &mut scratch, 0, kind, p, s, addend),
        Err(PatchError::OutOfRange(_))
    )
}

/// Place every function (and an island with the veneers in `wanted`) for `options`.
fn lay_out(
    arch: Arch,
    funcs: &[LinkInput<'_>],
    options: &LinkOptions,
    wanted: &[BTreeMap<VeneerKey, RelocKind>],
) -> Result<Layout, LinkError> {
    let pad = options.pad_between_functions;
    let mut layout = Layout {
        starts: Vec::with_capacity(funcs.len()),
        veneers: Vec::with_capacity(funcs.len()),
        ends: Vec::with_capacity(funcs.len()),
    };
    let mut pos = 0u64;
    for (i, f) in funcs.iter().enumerate() {
        let too_large = || LinkError::TooLarge {
            function: f.name.to_string(),
        };
        let mut align = u64::from(f.code.alignment.max(FUNCTION_ALIGN));
        if pad > 0 {
            align = align.max(SEGMENT_ALIGN);
            if i > 0 {
                pos = pos.checked_add(pad).ok_or_else(too_large)?;
            }
        }
        let start = pos.checked_next_multiple_of(align).ok_or_else(too_large)?;
        let mut end = start
            .checked_add(f.code.code.len() as u64)
            .ok_or_else(too_large)?;
        let mut veneers = BTreeMap::new();
        for (&key, &kind) in wanted.get(i).into_iter().flatten() {
            // Only kinds with a veneer are ever wanted.
            let Some(v) = far_call_veneer(arch, kind) else {
                continue;
            };
            let at = end
                .checked_next_multiple_of(u64::from(v.align.max(1)))
                .ok_or_else(too_large)?;
            veneers.insert(key, at);
            end = at + u64::from(v.size);
        }
        if end > MAX_TEXT_SIZE {
            return Err(too_large());
        }
        layout.starts.push(start);
        layout.veneers.push(veneers);
        layout.ends.push(end);
        pos = end;
    }
    Ok(layout)
}

/// Materialize `layout`: copy the code, write the veneers, apply the section-internal
/// relocations, collect traps and the loader's relocations.
fn emit(
    arch: Arch,
    funcs: &[LinkInput<'_>],
    options: &LinkOptions,
    resolved: &[Vec<Resolved>],
    layout: &Layout,
) -> Result<TextSection, LinkError> {
    let dense = options.pad_between_functions == 0;
    let mut out = TextSection {
        len: layout.ends.last().copied().unwrap_or(0),
        ..TextSection::default()
    };
    // (segment index, section offset of the segment) of each function. Layout checked
    // every end against MAX_TEXT_SIZE, so offsets fit a u32.
    let mut seg_of = Vec::with_capacity(funcs.len());
    for (i, f) in funcs.iter().enumerate() {
        let start = layout.starts[i];
        if out.segments.is_empty() || !dense {
            // The segment's final size is known: one allocation, no regrowth copies.
            let len = if dense {
                out.len
            } else {
                layout.ends[i] - start
            };
            out.segments.push(TextSegment {
                offset: start as u32,
                bytes: Vec::with_capacity(len as usize),
            });
        }
        let si = out.segments.len() - 1;
        let seg = &mut out.segments[si];
        let base = u64::from(seg.offset);
        // Alignment gap (dense), the code, then the island (gaps filled with pad bytes).
        seg.bytes.resize((start - base) as usize, arch.pad_byte());
        seg.bytes.extend_from_slice(&f.code.code);
        seg.bytes
            .resize((layout.ends[i] - base) as usize, arch.pad_byte());
        seg_of.push((si, base));
        out.functions.push(start as u32);
        for t in &f.code.traps {
            let at = start
                .checked_add(t.offset)
                .and_then(|a| u32::try_from(a).ok())
                .ok_or_else(|| LinkError::TooLarge {
                    function: f.name.to_string(),
                })?;
            out.traps.push((at, t.code));
        }
    }
    for (i, f) in funcs.iter().enumerate() {
        let (si, base) = seg_of[i];
        let start = layout.starts[i];
        let caller = || f.name.to_string();
        let name_of = |j: u32| {
            funcs
                .get(j as usize)
                .map_or_else(|| format!("function #{j}"), |g| g.name.to_string())
        };
        let mut written: BTreeSet<VeneerKey> = BTreeSet::new();
        for r in &resolved[i] {
            let bad = || LinkError::BadReloc {
                caller: caller(),
                kind: r.kind,
                offset: r.offset,
            };
            let offset = start + u64::from(r.offset);
            let local = u32::try_from(offset - base).map_err(|_| bad())?;
            let offset32 = u32::try_from(offset).map_err(|_| bad())?;
            let TextRelocTarget::Function(j) = r.target else {
                out.relocs.push(loader_reloc(offset32, r));
                continue;
            };
            if !matches!(
                r.kind,
                RelocKind::X86PCRel4 | RelocKind::X86CallPCRel4 | RelocKind::Arm64Call
            ) {
                out.relocs.push(loader_reloc(offset32, r));
                continue;
            }
            let callee = layout.starts[j as usize];
            let key = veneer_key(r.kind, j, r.addend);
            let seg = &mut out.segments[si].bytes;
            // Through the veneer, or directly.
            let (s, addend, to) = match (layout.veneers[i].get(&key), far_call_veneer(arch, r.kind))
            {
                (Some(&at), Some(v)) => {
                    if written.insert(key) {
                        let dest = (callee as i64)
                            .wrapping_add(r.addend)
                            .wrapping_add(v.dest_bias) as u64;
                        let lo = (at - base) as usize;
                        let ok = seg
                            .get_mut(lo..lo + v.size as usize)
                            .is_some_and(|buf| write_far_call_veneer(arch, r.kind, buf, at, dest));
                        if !ok {
                            return Err(bad());
                        }
                        out.veneers.push(at as u32);
                    }
                    (at, -v.dest_bias, format!("its veneer to {}", name_of(j)))
                }
                _ => (callee, r.addend, name_of(j)),
            };
            apply_reloc(arch, seg, local, r.kind, offset, s, addend).map_err(|e| match e {
                PatchError::OutOfRange(distance) => LinkError::OutOfRange {
                    caller: caller(),
                    callee: to,
                    kind: r.kind,
                    distance,
                },
                PatchError::Malformed => bad(),
            })?;
        }
    }
    out.traps.sort_by_key(|t| t.0);
    out.relocs.sort_by_key(|r| r.offset);
    out.veneers.sort_unstable();
    Ok(out)
}

/// The relocation `r` (at section offset `offset`) for the loader.
fn loader_reloc(offset: u32, r: &Resolved) -> TextReloc {
    TextReloc {
        offset,
        kind: r.kind,
        target: r.target,
        addend: r.addend,
    }
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
/// (absolute addresses). `code` holds the field at `offset` (a segment's bytes and the
/// offset within them); `p` is the field's own address. Kinds of the other architecture,
/// and fields outside `code`, are [`PatchError::Malformed`].
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

    /// Three functions: u0:0 calls u0:2 (forward), u0:2 calls u0:1 twice (backward, one
    /// veneer for both), u0:1 takes the address of u0:0 (`func_addr`).
    const MODULE: &str = "
function u0:0(i64) -> i64 {
    sig0 = (i64) -> i64
    fn0 = u0:2 sig0
block0(v0: i64):
    v1 = call fn0(v0)
    return v1
}

function u0:1(i64) -> i64 {
block0(v0: i64):
    v1 = iadd v0, v0
    return v1
}

function u0:2(i64) -> i64 {
    sig0 = (i64) -> i64
    fn0 = u0:1 sig0
block0(v0: i64):
    v1 = call fn0(v0)
    v2 = call fn0(v1)
    return v2
}
";

    const FUNC_ADDR: &str = "
function u0:0() -> i64 {
    sig0 = (i64) -> i64
    fn0 = u0:1 sig0
block0:
    v0 = func_addr fn0
    return v0
}

function u0:1(i64) -> i64 {
block0(v0: i64):
    return v0
}
";

    fn compile_all(
        arch: Arch,
        src: &str,
    ) -> (Vec<crate::ir::Function>, Vec<CompiledCodeBase<Final>>) {
        let funcs = parse_functions(src).unwrap();
        let isa = CompilerBuilder::for_target(arch.name())
            .unwrap()
            .build()
            .unwrap();
        let code = funcs
            .iter()
            .map(|f| isa.compile_function(f).unwrap())
            .collect();
        (funcs, code)
    }

    fn link(
        arch: Arch,
        funcs: &[crate::ir::Function],
        code: &[CompiledCodeBase<Final>],
        pad: u64,
    ) -> Result<TextSection, LinkError> {
        let inputs: Vec<_> = funcs
            .iter()
            .zip(code)
            .map(|(f, c)| LinkInput {
                name: &f.params.name,
                code: c,
            })
            .collect();
        link_text(
            arch,
            &inputs,
            &LinkOptions {
                pad_between_functions: pad,
            },
        )
    }

    fn read_u32(t: &TextSection, at: u64) -> u32 {
        u32::from_le_bytes(t.bytes_at(at as u32, 4).unwrap().try_into().unwrap())
    }

    fn read_i64(t: &TextSection, at: u64) -> i64 {
        i64::from_le_bytes(t.bytes_at(at as u32, 8).unwrap().try_into().unwrap())
    }

    /// Where the call whose field is at `field` goes, and where it ends up when that is a
    /// veneer (the veneer's 64-bit arithmetic).
    fn call_dest(arch: Arch, t: &TextSection, field: u64) -> (u64, u64) {
        let first = match arch {
            Arch::X86_64 => (field as i64 + 4 + i64::from(read_u32(t, field) as i32)) as u64,
            Arch::Aarch64 => {
                let w = read_u32(t, field);
                let imm = (((w & 0x03ff_ffff) << 6) as i32 >> 6) as i64 * 4;
                (field as i64 + imm) as u64
            }
        };
        if !t.veneers.contains(&(first as u32)) {
            return (first, first);
        }
        let (data, anchor) = match arch {
            Arch::X86_64 => (first + 9, first + 7),
            Arch::Aarch64 => (first + 16, first + 16),
        };
        (first, (anchor as i64 + read_i64(t, data)) as u64)
    }

    /// Every PC-relative call field of the section: (section offset, caller, callee index).
    fn call_fields(
        funcs: &[crate::ir::Function],
        code: &[CompiledCodeBase<Final>],
        t: &TextSection,
    ) -> Vec<(u64, usize, usize)> {
        let mut out = Vec::new();
        for (i, c) in code.iter().enumerate() {
            for r in &c.relocs {
                if let (
                    RelocKind::X86CallPCRel4 | RelocKind::Arm64Call,
                    FinalRelocTarget::User(n),
                ) = (r.kind, r.target)
                {
                    let j = funcs
                        .iter()
                        .position(|f| f.params.name == UserFuncName::User(n))
                        .unwrap();
                    out.push((u64::from(t.functions[i]) + u64::from(r.offset), i, j));
                }
            }
        }
        out
    }

    #[test]
    fn without_padding_the_layout_is_the_dense_one_byte_for_byte() {
        for arch in Arch::ALL {
            let (funcs, code) = compile_all(arch, MODULE);
            let t = link(arch, &funcs, &code, 0).unwrap();
            // The layout the linker had before veneers and sparse sections: functions
            // back to back, 16-aligned, pad bytes between, calls patched in place.
            let mut dense: Vec<u8> = Vec::new();
            let mut starts = Vec::new();
            for c in &code {
                let start = dense.len().next_multiple_of(c.alignment.max(16) as usize);
                dense.resize(start, arch.pad_byte());
                dense.extend_from_slice(&c.code);
                starts.push(start as u64);
            }
            for (field, _, j) in call_fields(&funcs, &code, &t) {
                let kind = match arch {
                    Arch::X86_64 => RelocKind::X86CallPCRel4,
                    Arch::Aarch64 => RelocKind::Arm64Call,
                };
                let addend = if arch == Arch::X86_64 { -4 } else { 0 };
                apply_reloc(
                    arch,
                    &mut dense,
                    field as u32,
                    kind,
                    field,
                    starts[j],
                    addend,
                )
                .unwrap();
            }
            assert_eq!(
                t.segments,
                vec![TextSegment {
                    offset: 0,
                    bytes: dense.clone()
                }],
                "{arch}"
            );
            assert_eq!(t.len, dense.len() as u64);
            assert!(t.veneers.is_empty());
            let starts32: Vec<u32> = starts.iter().map(|&s| s as u32).collect();
            assert_eq!(t.functions, starts32);
        }
    }

    #[test]
    fn padding_in_range_gives_page_aligned_segments_and_no_veneers() {
        for arch in Arch::ALL {
            let (funcs, code) = compile_all(arch, MODULE);
            let t = link(arch, &funcs, &code, 1 << 20).unwrap();
            assert_eq!(t.segments.len(), 3, "{arch}");
            assert!(t.veneers.is_empty(), "{arch}");
            for (i, seg) in t.segments.iter().enumerate() {
                assert_eq!(u64::from(seg.offset) % SEGMENT_ALIGN, 0);
                assert_eq!(seg.offset, t.functions[i]);
                assert_eq!(seg.bytes.len(), code[i].code.len(), "no island");
                if i > 0 {
                    assert!(
                        u64::from(seg.offset) >= t.segments[i - 1].end() + (1 << 20),
                        "{arch}: at least the padding between segments"
                    );
                }
            }
            assert_eq!(t.len, t.segments[2].end());
            assert_eq!(t.segment_at(t.functions[1] - 1), None, "padding");
            for (field, _, j) in call_fields(&funcs, &code, &t) {
                let (first, last) = call_dest(arch, &t, field);
                let f = u64::from(t.functions[j]);
                assert_eq!((first, last), (f, f));
            }
        }
    }

    #[test]
    fn out_of_range_calls_go_through_one_veneer_per_destination() {
        // x86_64: 1.5 GiB between functions, so u0:0 -> u0:2 (3 GiB) needs a veneer while
        // u0:2 -> u0:1 stays direct; AArch64: 100 MiB (same shape) and 200 MiB (all far).
        for (arch, pad, expect_veneers) in [
            (Arch::X86_64, 3 << 29, 1),
            (Arch::Aarch64, 100 << 20, 1),
            (Arch::Aarch64, 200 << 20, 2),
        ] {
            let (funcs, code) = compile_all(arch, MODULE);
            let t = link(arch, &funcs, &code, pad).unwrap();
            assert_eq!(t.veneers.len(), expect_veneers, "{arch} {pad:#x}");
            for (field, i, j) in call_fields(&funcs, &code, &t) {
                let (first, last) = call_dest(arch, &t, field);
                assert_eq!(last, u64::from(t.functions[j]), "{arch}: call {i} -> {j}");
                let far = u64::from(t.functions[j]).abs_diff(field)
                    > match arch {
                        Arch::X86_64 => 1 << 31,
                        Arch::Aarch64 => 1 << 27,
                    };
                assert_eq!(first != last, far, "{arch}: veneer iff far ({i} -> {j})");
                if far {
                    // The veneer is in the caller's island, in the caller's segment.
                    let seg = t.segment_at(first as u32).unwrap();
                    assert_eq!(seg.offset, t.functions[i]);
                    assert!(first >= u64::from(t.functions[i]) + code[i].code.len() as u64);
                }
            }
        }
    }

    #[test]
    fn unserviceable_and_oversized_links_are_named_errors() {
        // x86_64 func_addr is a `lea` (X86PCRel4): no veneer can serve it.
        let (funcs, code) = compile_all(Arch::X86_64, FUNC_ADDR);
        link(Arch::X86_64, &funcs, &code, 1 << 30).unwrap();
        let e = link(Arch::X86_64, &funcs, &code, 5 << 29).unwrap_err();
        assert!(
            matches!(
                e,
                LinkError::OutOfRange {
                    kind: RelocKind::X86PCRel4,
                    ..
                }
            ),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("u0:0") && msg.contains("u0:1") && msg.contains("no veneer"),
            "{msg}"
        );
        // AArch64 func_addr is an Abs8 literal: left for the loader at any distance.
        let (funcs, code) = compile_all(Arch::Aarch64, FUNC_ADDR);
        let t = link(Arch::Aarch64, &funcs, &code, 3 << 30).unwrap();
        assert!(t
            .relocs
            .iter()
            .any(|r| r.kind == RelocKind::Abs8 && r.target == TextRelocTarget::Function(1)));
        // 3 functions with 3 GiB between each: beyond 4 GiB, naming the function.
        let (funcs, code) = compile_all(Arch::Aarch64, MODULE);
        let e = link(Arch::Aarch64, &funcs, &code, 3 << 30).unwrap_err();
        assert_eq!(
            e,
            LinkError::TooLarge {
                function: "u0:2".into()
            }
        );
        let e = link(Arch::Aarch64, &funcs, &code, u64::MAX).unwrap_err();
        assert!(matches!(e, LinkError::TooLarge { .. }));
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
        let [Ok(Ok(callee)), Ok(Ok(caller))] = &compiled[..] else {
            panic!("both functions compile: {compiled:?}");
        };
        {
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
                &LinkOptions::default(),
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
                &LinkOptions::default(),
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
