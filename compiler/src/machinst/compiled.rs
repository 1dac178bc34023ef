//! Compiled code: [`CompiledCodeBase<Stencil>`] from the backend, and
//! [`CompiledCodeBase<Final>`] once the function's parameters are applied.
//!
//! The *stencil* form depends only on the function's stencil: relocations name
//! [`UserExternalNameRef`]s, libcalls or the stack limit, and source locations are relative
//! to the function's base. This is what the cache stores. [`CompiledCodeBase::apply_params`]
//! resolves names through [`FunctionParameters`] and makes locations absolute, giving the
//! *final* form. Renaming a callee or moving the function changes only the final form.
//!
//! The phase is a type-state marker ([`Stencil`] / [`Final`]), so code that needs real
//! names cannot accidentally consume a stencil.

use core::ops::Range;

use super::buffer::{MachBufferFinalized, MachCallSite, MachTrap, RelocKind, RelocTarget};
use super::error::CodegenError;
use crate::ir::{FunctionParameters, LibCall, RelSourceLoc, SourceLoc, UserExternalName};

/// A compilation phase: what relocation targets and source locations look like.
pub trait CompilePhase {
    /// Relocation target type.
    type Target: Copy + PartialEq + Eq + core::fmt::Debug;
    /// Source-location type.
    type SourceLoc: Copy + PartialEq + Eq + core::fmt::Debug;
}

/// The backend's output: names by reference, relative source locations.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Stencil {}

/// Finalized: real names, absolute source locations.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Final {}

impl CompilePhase for Stencil {
    type Target = RelocTarget;
    type SourceLoc = RelSourceLoc;
}

/// A relocation target after names are resolved.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum FinalRelocTarget {
    /// A user function.
    User(UserExternalName),
    /// A runtime helper.
    LibCall(LibCall),
    /// The address where the embedder stores the 8-byte stack limit.
    StackLimit,
}

impl CompilePhase for Final {
    type Target = FinalRelocTarget;
    type SourceLoc = SourceLoc;
}

/// A relocation in compiled code.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct CompiledReloc<T> {
    /// Offset of the relocated field in the code.
    pub offset: u32,
    /// How to patch it.
    pub kind: RelocKind,
    /// What it refers to.
    pub target: T,
    /// Added to the target's address.
    pub addend: i64,
}

/// A range of code generated for one source location.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct CompiledSrcLoc<L> {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
    /// The location.
    pub loc: L,
}

/// A trap site: the instruction at `offset` traps with `code`.
pub type CompiledTrap = MachTrap;

/// Machine code for one function in phase `P`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CompiledCodeBase<P: CompilePhase> {
    /// The code, including islands and the trailing constant pool.
    pub code: Vec<u8>,
    /// Required alignment of the code's start.
    pub alignment: u32,
    /// Relocations, sorted by offset.
    pub relocs: Vec<CompiledReloc<P::Target>>,
    /// Trap sites, sorted by offset.
    pub traps: Vec<CompiledTrap>,
    /// Source-location ranges, in code order.
    pub srclocs: Vec<CompiledSrcLoc<P::SourceLoc>>,
    /// Call sites (return offsets).
    pub call_sites: Vec<MachCallSite>,
    /// Byte ranges of `code` that are data, not instructions (constants, inline jump
    /// tables): sorted, disjoint, inside the code. Disassemblers list them as data.
    pub data_ranges: Vec<Range<u32>>,
    /// Bytes of stack the function's frame occupies, from the return address down to the
    /// stack pointer after the prologue (return address and saved frame pointer included).
    pub frame_size: u32,
}

impl<P: CompilePhase> CompiledCodeBase<P> {
    /// Which parts of `self` and `other` differ, named in declaration order (`code`, then
    /// its first differing byte's offset, when the bytes differ). Empty when equal. Every
    /// field is compared: a field added to the struct must be added here (the struct is
    /// destructured, so forgetting it does not compile).
    pub fn differences(&self, other: &Self) -> Vec<String> {
        let CompiledCodeBase {
            code,
            alignment,
            relocs,
            traps,
            srclocs,
            call_sites,
            data_ranges,
            frame_size,
        } = self;
        let mut out = Vec::new();
        if *code != other.code {
            let at = code
                .iter()
                .zip(&other.code)
                .position(|(a, b)| a != b)
                .unwrap_or(code.len().min(other.code.len()));
            out.push(format!(
                "code (first difference at byte {at:#x}; {} vs {} bytes)",
                code.len(),
                other.code.len()
            ));
        }
        for (name, same) in [
            ("alignment", *alignment == other.alignment),
            ("relocations", *relocs == other.relocs),
            ("traps", *traps == other.traps),
            ("source locations", *srclocs == other.srclocs),
            ("call sites", *call_sites == other.call_sites),
            ("data ranges", *data_ranges == other.data_ranges),
            ("frame size", *frame_size == other.frame_size),
        ] {
            if !same {
                out.push(name.to_string());
            }
        }
        out
    }
}

/// What the backend returns.
pub type CompiledCodeStencil = CompiledCodeBase<Stencil>;
/// Finalized code.
pub type CompiledCode = CompiledCodeBase<Final>;

impl CompiledCodeBase<Stencil> {
    /// The finished buffer of a function whose frame is `frame_size` bytes (offsets must
    /// fit in 32 bits).
    pub(crate) fn from_buffer(
        done: MachBufferFinalized,
        frame_size: u32,
    ) -> Result<Self, CodegenError> {
        let MachBufferFinalized {
            data: code,
            relocs,
            traps,
            srclocs,
            call_sites,
            data_ranges,
            label_offsets: _,
            alignment,
        } = done;
        let off = |o: u64| u32::try_from(o).map_err(|_| CodegenError::ImplLimit("code size"));
        let mut rs = Vec::with_capacity(relocs.len());
        for r in &relocs {
            rs.push(CompiledReloc {
                offset: off(r.offset)?,
                kind: r.kind,
                target: r.target,
                addend: r.addend,
            });
        }
        let mut ls = Vec::with_capacity(srclocs.len());
        for s in &srclocs {
            ls.push(CompiledSrcLoc {
                start: off(s.start)?,
                end: off(s.end)?,
                loc: s.loc,
            });
        }
        let mut ds = Vec::with_capacity(data_ranges.len());
        for d in &data_ranges {
            ds.push(off(d.start)?..off(d.end)?);
        }
        off(code.len() as u64)?;
        Ok(Self {
            code,
            alignment,
            relocs: rs,
            traps,
            srclocs: ls,
            call_sites,
            data_ranges: ds,
            frame_size,
        })
    }

    /// Resolve relocation names through `params` and make source locations absolute.
    /// A name reference that `params` does not declare is an error.
    pub fn apply_params(
        &self,
        params: &FunctionParameters,
    ) -> Result<CompiledCodeBase<Final>, CodegenError> {
        let mut relocs = Vec::with_capacity(self.relocs.len());
        for r in &self.relocs {
            let target = match r.target {
                RelocTarget::User(n) => FinalRelocTarget::User(
                    params
                        .user_name(n)
                        .ok_or_else(|| CodegenError::UnknownExternalName(n))?,
                ),
                RelocTarget::LibCall(l) => FinalRelocTarget::LibCall(l),
                RelocTarget::StackLimit => FinalRelocTarget::StackLimit,
            };
            relocs.push(CompiledReloc {
                offset: r.offset,
                kind: r.kind,
                target,
                addend: r.addend,
            });
        }
        let base = params.base_srcloc();
        let srclocs = self
            .srclocs
            .iter()
            .map(|s| CompiledSrcLoc {
                start: s.start,
                end: s.end,
                loc: s.loc.expand(base),
            })
            .collect();
        Ok(CompiledCodeBase {
            code: self.code.clone(),
            alignment: self.alignment,
            relocs,
            traps: self.traps.clone(),
            srclocs,
            call_sites: self.call_sites.clone(),
            data_ranges: self.data_ranges.clone(),
            frame_size: self.frame_size,
        })
    }
}
