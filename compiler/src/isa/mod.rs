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

use crate::ir::Function;
use crate::machinst::{
    CodegenError, CompileContext, CompileOptions, CompiledCodeBase, LowerBackend, Stencil,
};
use crate::settings::{IsaFlags, Settings};
use core::fmt;
use core::str::FromStr;
use std::sync::Mutex;

/// A target architecture.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Arch {
    /// x86_64 with the System V ABI.
    X86_64,
    /// AArch64 with AAPCS64.
    Aarch64,
}

impl Arch {
    /// Every architecture.
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// The canonical name (`x86_64`, `aarch64`).
    pub const fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The byte used to pad between functions: it traps if executed (`int3` on x86_64;
    /// on AArch64 a zero word is `udf #0`).
    pub const fn pad_byte(self) -> u8 {
        match self {
            Arch::X86_64 => 0xcc,
            Arch::Aarch64 => 0x00,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown architecture name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported target `{0}` (expected x86_64 or aarch64)")]
pub struct UnknownArch(pub String);

impl FromStr for Arch {
    type Err = UnknownArch;
    fn from_str(s: &str) -> Result<Arch, UnknownArch> {
        match s {
            "x86_64" | "x86-64" | "amd64" => Ok(Arch::X86_64),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            other => {
                // Accept full triples by their architecture component.
                let first = other.split('-').next().unwrap_or("");
                match first {
                    "x86_64" => Ok(Arch::X86_64),
                    "aarch64" | "arm64" => Ok(Arch::Aarch64),
                    _ => Err(UnknownArch(other.to_string())),
                }
            }
        }
    }
}

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
    contexts: Mutex<Vec<CompileContext<B>>>,
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
        let pooled = self.contexts.lock().ok().and_then(|mut p| p.pop());
        let mut ctx = pooled.unwrap_or_default();
        let result = ctx.compile(&self.backend, func, options);
        if let Ok(mut pool) = self.contexts.lock() {
            pool.push(ctx);
        }
        result
    }
}

fn pooled<B>(backend: B) -> Box<dyn TargetIsa>
where
    B: LowerBackend + Send + Sync + 'static,
    CompileContext<B>: Send,
{
    Box::new(Isa {
        backend,
        contexts: Mutex::new(Vec::new()),
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
