//! Instruction-set backends and the one interface the rest of Kiln uses to reach them.
//!
//! Code outside this module names an architecture only through [`Arch`] and compiles
//! through [`TargetIsa`] (obtained from [`lookup`]); the concrete backend types live in
//! [`x64`] and [`aarch64`].

pub mod aarch64;
pub mod x64;

use crate::ir::Function;
use crate::machinst::{
    CodegenError, CompileContext, CompileOptions, CompiledCodeBase, LowerBackend, Stencil,
};
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
pub trait TargetIsa: Send + Sync {
    /// The architecture.
    fn arch(&self) -> Arch;

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
    arch: Arch,
    backend: B,
    contexts: Mutex<Vec<CompileContext<B>>>,
}

impl<B> TargetIsa for Isa<B>
where
    B: LowerBackend + Send + Sync,
    CompileContext<B>: Send,
{
    fn arch(&self) -> Arch {
        self.arch
    }

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

/// The backend for `arch` with its baseline ISA features.
pub fn lookup(arch: Arch) -> Result<Box<dyn TargetIsa>, CodegenError> {
    match arch {
        Arch::X86_64 => Ok(Box::new(Isa {
            arch,
            backend: x64::X64Backend::default(),
            contexts: Mutex::new(Vec::new()),
        })),
        Arch::Aarch64 => Ok(Box::new(Isa {
            arch,
            backend: aarch64::Aarch64Backend::default(),
            contexts: Mutex::new(Vec::new()),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
