//! [`CompilerBuilder`] and [`Compiler`]: the only way the rest of the system configures
//! and reaches a backend.
//!
//! A builder holds a target triple (parsed by `target-lexicon`) and a [`Settings`] for the
//! triple's architecture; `set`, `enable` and `preset` change the settings *immediately*
//! and in call order (use [`crate::Config`] for an order-independent, idempotent record of
//! choices). [`CompilerBuilder::build`] returns a boxed [`Compiler`] that owns a copy of
//! the triple and the settings and compiles functions with them.
//!
//! Invariants:
//! - a builder's settings are always valid for its architecture (a refused `set` changes
//!   nothing); the triple always names a supported target (x86_64 or AArch64, 64-bit,
//!   little-endian, not Windows — Kiln generates System V / AAPCS64 code only);
//! - `build` refuses settings no backend honours (`enable_nan_canonicalization`), so a
//!   compiler never silently ignores a setting;
//! - a compiler's output depends only on its settings and the function's stencil:
//!   compiling the same function twice, or with two compilers of equal settings, gives
//!   byte-identical code;
//! - a function that uses a vector type on a compiler with `enable_simd` off is
//!   [`CodegenError::SimdDisabled`], never a crash;
//! - caching never changes results: [`Compiler::compile_function_cached`] returns what
//!   [`Compiler::compile_function`] returns, and a compiler built with a cache store
//!   ([`CompilerBuilder::cache_store`]) goes through it for every `compile_function`. The
//!   cache key covers the triple, the settings fingerprint and the stencil; a compiler
//!   computes the triple-and-settings part once, when it is built.
//!
//! ```
//! use kiln::compiler::CompilerBuilder;
//!
//! let mut b = CompilerBuilder::for_target("x86_64-unknown-linux-gnu").unwrap();
//! b.preset("x86_64-v3").unwrap();
//! b.set("regalloc", "single_pass").unwrap();
//! let compiler = b.build().unwrap();
//! assert!(compiler.settings().isa().has("has_avx2"));
//! assert!(b.set("has_lse", "true").unwrap_err().to_string().contains("aarch64"));
//! ```

use crate::cache::{CacheKey, CacheStore, CacheStoreRef, CachedCode, KeyPrefix};
use crate::ir::{Function, FunctionStencil};
use crate::isa::{Arch, TargetIsa};
use crate::machinst::{CodegenError, CompileOptions, CompiledCode, CompiledCodeStencil};
use crate::settings::{SettingError, Settings};
use core::str::FromStr;
use std::sync::Arc;
pub use target_lexicon::Triple;

/// A configured backend. Shareable across threads; see the module docs.
pub trait Compiler: Send + Sync {
    /// The target triple.
    fn triple(&self) -> &Triple;

    /// The settings it compiles with.
    fn settings(&self) -> &Settings;

    /// The target architecture.
    fn arch(&self) -> Arch {
        self.settings().arch()
    }

    /// The options to link this compiler's functions with ([`crate::module::link_text`]);
    /// only test-only options exist so far, all off by default.
    fn link_options(&self) -> LinkOptions;

    /// Compile one function to stencil-form code (names and source locations still
    /// relative to the function's parameters; this is what a cache stores).
    fn compile_function_stencil(
        &self,
        func: &Function,
    ) -> Result<CompiledCodeStencil, CodegenError>;

    /// Compile one function and apply its parameters. Goes through the compiler's cache
    /// store when it has one ([`Compiler::cache_store`]).
    fn compile_function(&self, func: &Function) -> Result<CompiledCode, CodegenError> {
        if let Some(store) = self.cache_store() {
            return Ok(self.compile_function_cached(func, &*store.0)?.code);
        }
        self.compile_function_stencil(func)?
            .apply_params(&func.params)
    }

    /// The cache key of `stencil` for this compiler (see [`crate::cache::key`]).
    fn cache_key(&self, stencil: &FunctionStencil) -> CacheKey {
        KeyPrefix::new(self.triple(), self.settings()).key(stencil)
    }

    /// The key of a module's translation memo for this compiler, from the module's
    /// environment digest (see [`crate::cache::memo`]).
    fn memo_key(&self, environment: &[u8; 32]) -> CacheKey {
        KeyPrefix::new(self.triple(), self.settings()).memo_key(environment)
    }

    /// The cache store this compiler was built with, if any.
    fn cache_store(&self) -> Option<&CacheStoreRef> {
        None
    }

    /// Compile one function through `store`: a hit is decoded and finalized with the
    /// function's parameters, a miss compiled and stored. The result equals
    /// [`Compiler::compile_function`]'s; [`CachedCode::hit`] says where it came from.
    /// See [`crate::cache`] for how bad entries and verify mode are handled.
    fn compile_function_cached(
        &self,
        func: &Function,
        store: &dyn CacheStore,
    ) -> Result<CachedCode, CodegenError> {
        crate::cache::compile_cached(
            func,
            store,
            || self.cache_key(&func.stencil),
            || self.compile_function_stencil(func),
        )
    }
}

/// Options of [`crate::module::link_text`] (owned here because a [`Compiler`] carries
/// them; the module layer above reads them).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LinkOptions {
    /// Test-only: bytes of virtual padding inserted between consecutive functions (see
    /// `crate::module`). 0, the default, gives one dense segment.
    pub pad_between_functions: u64,
}

/// Parse a target triple (`x86_64-unknown-linux-gnu`, or just `x86_64`, `aarch64`).
pub fn parse_triple(text: &str) -> Result<Triple, SettingError> {
    Triple::from_str(text).map_err(|e| SettingError::BadTriple {
        input: text.to_string(),
        reason: e.to_string(),
    })
}

/// The architecture Kiln generates for `triple`, or why it cannot.
pub fn triple_arch(triple: &Triple) -> Result<Arch, SettingError> {
    use target_lexicon::{Architecture, Endianness, OperatingSystem, PointerWidth};
    let refuse = |reason: String| SettingError::UnsupportedTarget {
        triple: triple.to_string(),
        reason,
    };
    let arch = match triple.architecture {
        Architecture::X86_64 | Architecture::X86_64h => Arch::X86_64,
        Architecture::Aarch64(_) => Arch::Aarch64,
        other => {
            return Err(refuse(format!(
                "Kiln generates code for x86_64 and aarch64 only, not {other}"
            )))
        }
    };
    if triple.endianness() != Ok(Endianness::Little) {
        return Err(refuse("only little-endian targets are supported".into()));
    }
    if triple.pointer_width() != Ok(PointerWidth::U64) {
        return Err(refuse("only 64-bit pointers are supported".into()));
    }
    if triple.operating_system == OperatingSystem::Windows {
        return Err(refuse(
            "Kiln's calling conventions are System V (x86_64) and AAPCS64; Windows is not supported"
                .into(),
        ));
    }
    Ok(arch)
}

/// Builds a [`Compiler`]: a triple plus settings applied in call order. See the module
/// docs.
#[derive(Clone, Debug)]
pub struct CompilerBuilder {
    triple: Triple,
    settings: Settings,
    link: LinkOptions,
    cache: Option<CacheStoreRef>,
}

impl CompilerBuilder {
    /// A builder for `triple` with default settings.
    pub fn new(triple: Triple) -> Result<Self, SettingError> {
        let arch = triple_arch(&triple)?;
        Ok(CompilerBuilder {
            triple,
            settings: Settings::new(arch),
            link: LinkOptions::default(),
            cache: None,
        })
    }

    /// A builder for the triple named by `text`.
    pub fn for_target(text: &str) -> Result<Self, SettingError> {
        Self::new(parse_triple(text)?)
    }

    /// A builder for the host.
    pub fn host() -> Result<Self, SettingError> {
        Self::new(Triple::host())
    }

    /// The target triple.
    pub fn triple(&self) -> &Triple {
        &self.triple
    }

    /// The current settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Set a shared or ISA setting by name from text. On error nothing changes.
    pub fn set(&mut self, name: &str, value: &str) -> Result<&mut Self, SettingError> {
        self.settings.set(name, value)?;
        Ok(self)
    }

    /// Set a bool setting to `true`, or — when `name` is a CPU preset of the target —
    /// apply that preset.
    pub fn enable(&mut self, name: &str) -> Result<&mut Self, SettingError> {
        let arch = self.settings.arch();
        if crate::settings::presets(arch)
            .iter()
            .any(|p| p.name == name)
        {
            return self.preset(name);
        }
        self.settings.enable(name)?;
        Ok(self)
    }

    /// Test-only: insert `bytes` of virtual padding between consecutive functions when
    /// linking ([`LinkOptions::pad_between_functions`]), to exercise far-call veneers.
    pub fn link_padding(&mut self, bytes: u64) -> &mut Self {
        self.link.pad_between_functions = bytes;
        self
    }

    /// Compile every function through `store` (`None`: no cache, the default). Does not
    /// change the settings or the code.
    pub fn cache_store(&mut self, store: Option<Arc<dyn CacheStore>>) -> &mut Self {
        self.cache = store.map(CacheStoreRef);
        self
    }

    /// The link options the compiler will report.
    pub fn link_options(&self) -> LinkOptions {
        self.link
    }

    /// Replace the ISA flags with those of the CPU preset `name`.
    pub fn preset(&mut self, name: &str) -> Result<&mut Self, SettingError> {
        self.settings.apply_preset(name)?;
        Ok(self)
    }

    /// Build the compiler. Fails for settings no backend implements, and for `enable_simd`
    /// on an ISA level that lacks what vector code needs (on x86_64 SSSE3 and SSE4.1: the
    /// error names the missing flags and the `x86_64-v2` preset). Every way to make a
    /// compiler — [`crate::Config`], the CLI, the harness — ends here, so all refuse the
    /// same settings with the same error, and vector lowerings may assume SSE4.1.
    pub fn build(&self) -> Result<Box<dyn Compiler>, SettingError> {
        if self.settings.shared().enable_simd() {
            self.settings.isa().check_simd()?;
        }
        if self.settings.shared().enable_nan_canonicalization() {
            return Err(SettingError::Unimplemented {
                name: "enable_nan_canonicalization",
                reason: "no Kiln backend canonicalizes NaNs yet; leave it off",
            });
        }
        Ok(Box::new(BuiltCompiler {
            key_prefix: KeyPrefix::new(&self.triple, &self.settings),
            cache: self.cache.clone(),
            triple: self.triple.clone(),
            settings: self.settings,
            options: self.settings.shared().compile_options(),
            link: self.link,
            isa: crate::isa::lookup(&self.settings),
        }))
    }
}

/// The one [`Compiler`] implementation: settings plus a backend from `crate::isa`.
struct BuiltCompiler {
    triple: Triple,
    settings: Settings,
    options: CompileOptions,
    link: LinkOptions,
    isa: Box<dyn TargetIsa>,
    /// The key's triple-and-settings part, hashed once.
    key_prefix: KeyPrefix,
    cache: Option<CacheStoreRef>,
}

impl Compiler for BuiltCompiler {
    fn triple(&self) -> &Triple {
        &self.triple
    }

    fn settings(&self) -> &Settings {
        &self.settings
    }

    fn link_options(&self) -> LinkOptions {
        self.link
    }

    fn cache_key(&self, stencil: &FunctionStencil) -> CacheKey {
        self.key_prefix.key(stencil)
    }

    fn memo_key(&self, environment: &[u8; 32]) -> CacheKey {
        self.key_prefix.memo_key(environment)
    }

    fn cache_store(&self) -> Option<&CacheStoreRef> {
        self.cache.as_ref()
    }

    fn compile_function_stencil(
        &self,
        func: &Function,
    ) -> Result<CompiledCodeStencil, CodegenError> {
        if !self.settings.shared().enable_simd() {
            if let Some(ty) = func.first_vector_type() {
                return Err(CodegenError::SimdDisabled(ty));
            }
        }
        self.isa.compile_function(func, &self.options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::text::parse_functions;

    const VEC: &str = "function %v(i32x4) -> i32x4 {
block0(v0: i32x4):
    v1 = iadd v0, v0
    return v1
}
";
    const SCALAR: &str = "function %s(i32) -> i32 {
block0(v0: i32):
    v1 = iadd v0, v0
    return v1
}
";

    #[test]
    fn triples_are_parsed_and_refused_by_name() {
        for ok in [
            "x86_64",
            "aarch64",
            "x86_64-unknown-linux-gnu",
            "aarch64-apple-darwin",
        ] {
            CompilerBuilder::for_target(ok).unwrap();
        }
        for (bad, words) in [
            ("bogus-triple", "`bogus-triple`"),
            ("riscv64gc-unknown-linux-gnu", "riscv64"),
            ("x86_64-pc-windows-msvc", "Windows"),
            ("x86_64-unknown-linux-gnux32", "64-bit"),
            ("aarch64_be-unknown-linux-gnu", "little-endian"),
        ] {
            let e = CompilerBuilder::for_target(bad).unwrap_err().to_string();
            assert!(e.contains(words), "{bad}: {e}");
        }
    }

    #[test]
    fn builder_applies_in_call_order_and_validates() {
        let mut b = CompilerBuilder::for_target("x86_64").unwrap();
        b.enable("x86_64-v3").unwrap();
        b.set("has_avx2", "false").unwrap();
        assert!(b.settings().isa().has("has_avx"));
        assert!(!b.settings().isa().has("has_avx2"));
        let e = b.enable("generic").unwrap_err().to_string();
        assert!(e.contains("`generic`"), "{e}");
        b.enable("enable_nan_canonicalization").unwrap();
        let e = b.build().err().unwrap().to_string();
        assert!(e.contains("enable_nan_canonicalization"), "{e}");
        b.set("enable_nan_canonicalization", "false").unwrap();
        let c = b.build().unwrap();
        assert_eq!(c.settings(), b.settings());
        assert_eq!(c.arch(), Arch::X86_64);
        assert_eq!(c.triple().to_string(), "x86_64-unknown-unknown-elf");
    }

    #[test]
    fn vector_functions_need_enable_simd() {
        let vec = &parse_functions(VEC).unwrap()[0];
        let scalar = &parse_functions(SCALAR).unwrap()[0];
        for arch in Arch::ALL {
            let mut b = CompilerBuilder::for_target(arch.name()).unwrap();
            let c = b.build().unwrap();
            match c.compile_function(vec) {
                Err(CodegenError::SimdDisabled(t)) => assert_eq!(t, crate::ir::Type::I32X4),
                other => panic!("{arch}: {other:?}"),
            }
            let e = c.compile_function(vec).unwrap_err().to_string();
            assert!(e.contains("i32x4") && e.contains("enable_simd"), "{e}");
            assert!(!c.compile_function(scalar).unwrap().code.is_empty());
            b.enable("enable_simd").unwrap();
            if arch == Arch::X86_64 {
                // The SSE2 baseline cannot run vector code: `build` refuses, naming what
                // is missing and the preset that has it.
                let e = b.build().err().unwrap().to_string();
                assert!(
                    e.contains("has_ssse3") && e.contains("has_sse41") && e.contains("x86_64-v2"),
                    "{e}"
                );
                b.enable("has_ssse3").unwrap();
                let e = b.build().err().unwrap().to_string();
                assert!(e.contains("missing: has_sse41"), "{e}");
                b.enable("has_sse41").unwrap();
            }
            let c = b.build().unwrap();
            assert!(!c.compile_function(vec).unwrap().code.is_empty());
        }
    }

    #[test]
    fn equal_settings_give_identical_code() {
        let f = &parse_functions(SCALAR).unwrap()[0];
        let a = CompilerBuilder::for_target("x86_64")
            .unwrap()
            .build()
            .unwrap();
        let b = CompilerBuilder::for_target("x86_64-unknown-linux-gnu")
            .unwrap()
            .build()
            .unwrap();
        let ca = a.compile_function(f).unwrap();
        assert_eq!(ca.code, a.compile_function(f).unwrap().code);
        assert_eq!(ca.code, b.compile_function(f).unwrap().code);
    }
}
