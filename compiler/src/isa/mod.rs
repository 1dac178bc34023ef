//! Instruction-set backends and the one interface the rest of Kiln uses to reach them.
//!
//! Code outside this module names an architecture only through [`Arch`] and compiles
//! through [`crate::compiler::CompilerBuilder`] and [`crate::compiler::Compiler`]. The
//! concrete backends (`x64`, `aarch64`) and the internal `TargetIsa` interface are
//! `pub(crate)`: no code outside the crate can name an ISA-specific type, and inside the
//! crate only this module constructs a backend (`lookup`, from [`Settings`]).
//!
//! Invariant: a backend is configured only by [`Settings`]; every ISA flag in
//! `crate::settings::isa` maps onto a field of that backend's flag struct here.

// The assembler layers are complete instruction-form sets (each form tested against an
// independent disassembler) of which lowering uses a subset; now that the backends are
// private to the crate, the unused forms would be reported as dead code.
#[allow(dead_code)]
pub(crate) mod aarch64;
#[allow(dead_code)]
pub(crate) mod x64;

pub mod fuzzing;
#[cfg(test)]
mod test_util;

use crate::ir::Function;
use crate::machinst::buffer::RelocKind;
use crate::machinst::{
    CodegenError, CompileContext, CompileOptions, CompiledCodeBase, LabelUse, LowerBackend, Stencil,
};
use crate::pool::Pool;
use crate::settings::{IsaFlags, Settings};

pub use crate::arch::{Arch, UnknownArch};

/// A backend ready to compile functions for one target. Shareable across threads.
pub(crate) trait TargetIsa: Send + Sync {
    /// Compile one function to stencil-form machine code.
    fn compile_function(
        &self,
        func: &Function,
        options: &CompileOptions,
    ) -> Result<CompiledCodeBase<Stencil>, CodegenError>;
}

/// A [`TargetIsa`] over any [`LowerBackend`], keeping a pool of compile contexts so that
/// repeated compiles reuse their allocations.
struct Isa<B: LowerBackend> {
    backend: B,
    contexts: Pool<CompileContext<B>>,
}

impl<B> TargetIsa for Isa<B>
where
    B: LowerBackend + Send + Sync,
    CompileContext<B>: Send,
{
    fn compile_function(
        &self,
        func: &Function,
        options: &CompileOptions,
    ) -> Result<CompiledCodeBase<Stencil>, CodegenError> {
        self.contexts
            .with(|ctx| ctx.compile(&self.backend, func, options))
    }
}

fn pooled<B>(backend: B) -> Box<dyn TargetIsa>
where
    B: LowerBackend + Send + Sync + 'static,
    CompileContext<B>: Send,
{
    Box::new(Isa {
        backend,
        contexts: Pool::default(),
    })
}

/// The x86_64 backend's flags for `flags`.
fn x64_flags(flags: &IsaFlags) -> x64::X64Flags {
    x64::X64Flags {
        has_sse3: flags.has("has_sse3"),
        has_ssse3: flags.has("has_ssse3"),
        has_sse41: flags.has("has_sse41"),
        has_sse42: flags.has("has_sse42"),
        has_popcnt: flags.has("has_popcnt"),
        has_lzcnt: flags.has("has_lzcnt"),
        has_bmi1: flags.has("has_bmi1"),
        has_bmi2: flags.has("has_bmi2"),
        has_avx: flags.has("has_avx"),
        has_avx2: flags.has("has_avx2"),
    }
}

/// The AArch64 backend's flags for `flags`.
fn aarch64_flags(flags: &IsaFlags) -> aarch64::flags::Aarch64Flags {
    aarch64::flags::Aarch64Flags {
        has_lse: flags.has("has_lse"),
    }
}

/// The backend for `settings` (its architecture and ISA flags).
pub(crate) fn lookup(settings: &Settings) -> Box<dyn TargetIsa> {
    match settings.arch() {
        Arch::X86_64 => pooled(x64::X64Backend::new(x64_flags(settings.isa()))),
        Arch::Aarch64 => pooled(aarch64::Aarch64Backend {
            flags: aarch64_flags(settings.isa()),
        }),
    }
}

/// How the linker can redirect an out-of-range PC-relative call through a veneer: the
/// ISA-neutral face of each backend's own far-branch veneer ([`LabelUse::generate_veneer`]
/// of x86_64 `JmpRel32` / AArch64 `Branch26`), so that `crate::module` never names an ISA
/// type.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) struct FarCallVeneer {
    /// Bytes of one veneer.
    pub size: u32,
    /// Required alignment of a veneer's start.
    pub align: u32,
    /// A call relocation with target address `S` and addend `A` transfers control to
    /// `S + A + dest_bias` (x86_64 `call rel32`: 4, since `A` compensates for the CPU
    /// measuring from the end of the 4-byte field; AArch64 `bl`: 0).
    pub dest_bias: i64,
}

/// The far-call veneer for a call relocation of `kind` on `arch`, or `None` when `kind` is
/// not a call that a veneer can serve (e.g. x86_64 `X86PCRel4`, a `lea` that computes an
/// address: a veneer is code, not the callee's address).
pub(crate) fn far_call_veneer(arch: Arch, kind: RelocKind) -> Option<FarCallVeneer> {
    match (arch, kind) {
        (Arch::X86_64, RelocKind::X86CallPCRel4) => {
            let u = x64_call_use();
            Some(FarCallVeneer {
                size: u.veneer_size(),
                align: x64::label_use::X64LabelUse::veneer_align(),
                dest_bias: 4,
            })
        }
        (Arch::Aarch64, RelocKind::Arm64Call) => {
            let u = aarch64::label_use::AArch64LabelUse::Branch26;
            Some(FarCallVeneer {
                size: u.veneer_size(),
                align: aarch64::label_use::AArch64LabelUse::veneer_align(),
                dest_bias: 0,
            })
        }
        _ => None,
    }
}

/// The x86_64 label use of a `call rel32` (its field is at instruction offset 1).
fn x64_call_use() -> x64::label_use::X64LabelUse {
    x64::label_use::X64LabelUse::JmpRel32 {
        field_offset: x64::label_use::JMP_FIELD_OFFSET,
    }
}

/// Write the far-call veneer for `kind` on `arch` into `buf` (exactly
/// [`FarCallVeneer::size`] bytes, to be placed at section offset `at`) so that it jumps to
/// section offset `dest`: the ISA's own `generate_veneer`, then its inner label use
/// (`PCRel64`) patched with the ISA's own `patch`. Returns `false` — writing nothing
/// meaningful — when `kind` has no veneer on `arch`, `buf` has the wrong size, or the
/// veneer cannot reach `dest`.
pub(crate) fn write_far_call_veneer(
    arch: Arch,
    kind: RelocKind,
    buf: &mut [u8],
    at: u64,
    dest: u64,
) -> bool {
    match (arch, kind) {
        (Arch::X86_64, RelocKind::X86CallPCRel4) => write_veneer(x64_call_use(), buf, at, dest),
        (Arch::Aarch64, RelocKind::Arm64Call) => {
            write_veneer(aarch64::label_use::AArch64LabelUse::Branch26, buf, at, dest)
        }
        _ => false,
    }
}

fn write_veneer<U: LabelUse>(kind: U, buf: &mut [u8], at: u64, dest: u64) -> bool {
    if !kind.supports_veneer() || buf.len() != kind.veneer_size() as usize {
        return false;
    }
    let (rel, inner) = kind.generate_veneer(buf, at);
    let use_at = at.wrapping_add(u64::from(rel));
    let reaches = if dest >= use_at {
        dest - use_at <= inner.max_pos_range()
    } else {
        use_at - dest <= inner.max_neg_range()
    };
    let start = rel as usize;
    let end = start + inner.patch_size() as usize;
    match buf.get_mut(start..end) {
        Some(field) if reaches => {
            inner.patch(field, use_at, dest);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::isa::{AARCH64_SETTINGS, X86_64_SETTINGS};

    #[test]
    fn every_isa_setting_reaches_the_backend_flags() {
        let mut all = Settings::new(Arch::X86_64);
        for info in X86_64_SETTINGS {
            let mut one = Settings::new(Arch::X86_64);
            one.set(info.name, "true").unwrap();
            all.set(info.name, "true").unwrap();
            assert_ne!(
                x64_flags(one.isa()),
                x64::X64Flags::default(),
                "{} maps to a field",
                info.name
            );
        }
        assert_eq!(x64_flags(all.isa()), x64::X64Flags::all());
        assert_eq!(
            x64_flags(&IsaFlags::baseline(Arch::X86_64)),
            x64::X64Flags::default()
        );
        for info in AARCH64_SETTINGS {
            let mut one = Settings::new(Arch::Aarch64);
            one.set(info.name, "true").unwrap();
            assert_ne!(
                aarch64_flags(one.isa()),
                aarch64::flags::Aarch64Flags::default(),
                "{}",
                info.name
            );
        }
    }

    #[test]
    fn far_call_veneers_exist_for_calls_only() {
        for (arch, kind) in [
            (Arch::X86_64, RelocKind::X86CallPCRel4),
            (Arch::Aarch64, RelocKind::Arm64Call),
        ] {
            let v = far_call_veneer(arch, kind).unwrap();
            assert_eq!(v.size, 24);
            let mut buf = vec![0u8; v.size as usize];
            assert!(write_far_call_veneer(
                arch,
                kind,
                &mut buf,
                1 << 20,
                5 << 30
            ));
            assert!(!write_far_call_veneer(arch, kind, &mut buf[1..], 0, 0));
        }
        for (arch, kind) in [
            (Arch::X86_64, RelocKind::X86PCRel4),
            (Arch::X86_64, RelocKind::Arm64Call),
            (Arch::Aarch64, RelocKind::X86CallPCRel4),
            (Arch::Aarch64, RelocKind::Abs8),
        ] {
            assert_eq!(far_call_veneer(arch, kind), None);
            assert!(!write_far_call_veneer(arch, kind, &mut [0; 24], 0, 0));
        }
    }

    #[test]
    fn arch_names_and_triples_parse() {
        for a in Arch::ALL {
            assert_eq!(a.name().parse::<Arch>(), Ok(a));
        }
        assert_eq!("x86_64-unknown-linux-gnu".parse::<Arch>(), Ok(Arch::X86_64));
        assert_eq!("aarch64-apple-darwin".parse::<Arch>(), Ok(Arch::Aarch64));
        let e = "riscv64".parse::<Arch>().unwrap_err().to_string();
        assert!(e.contains("riscv64") && e.contains("x86_64"), "{e}");
    }
}
