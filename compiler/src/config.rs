//! [`Config`]: the embedder's order-independent way to choose a compiler.
//!
//! Every `Config` method only *records* a choice into a plain [`CompilerConfig`]; nothing
//! is parsed, validated or applied until [`Config::build`], which applies everything in
//! one fixed order:
//!
//! 1. the target triple (the host's when none was chosen) → the architecture and the
//!    default [`Settings`] for it;
//! 2. the CPU preset, if one was chosen (it replaces the ISA flags);
//! 3. the named settings, in name order (each names a distinct setting, so the order
//!    among them cannot matter);
//! 4. the test-only link options ([`Config::link_padding`]), which only the linker reads,
//!    and the cache store ([`Config::cache_store`]), which changes where code comes from,
//!    never what it is;
//! 5. validation, by [`CompilerBuilder::build`] (the same for every way to make a
//!    compiler): settings no backend implements, and `enable_simd` on x86_64 without
//!    SSSE3 and SSE4.1 (an error that names the missing flags and the `x86_64-v2` preset);
//!    AArch64 always has NEON.
//!
//! The typed setters ([`Config::opt_level`], [`Config::regalloc`], [`Config::simd`],
//! [`Config::nan_canonicalization`]) record the same entry as `set(name, value)` for their
//! setting, so a typed call and a named call for one setting are the *same* setter.
//!
//! Laws (checked by property tests and the `config` fuzz target):
//! - calling a method twice equals calling it once;
//! - the last call to a setter wins (a setter is identified by what it records: the
//!   target, the preset, or one setting name);
//! - calls to different setters commute — including `target(...)` called after settings,
//!   which are kept and validated against the final target.
//!
//! Cache stores are compared by identity: recording the same `Arc` twice is one call
//! (idempotent), a different `Arc` is a different choice even if both stores hold the same
//! entries ([`CacheStoreRef`] equality is [`Arc::ptr_eq`]).
//!
//! ```
//! use kiln::{Config, OptLevel};
//!
//! let mut config = Config::new();
//! config
//!     .set("regalloc", "single_pass")
//!     .simd(true)
//!     .cpu("x86_64-v2")
//!     .target("x86_64-unknown-linux-gnu") // after the settings: nothing is lost
//!     .opt_level(OptLevel::Speed);
//! let compiler = config.build().unwrap();
//! assert_eq!(compiler.settings().get("regalloc"), Some("single_pass"));
//! assert!(compiler.settings().isa().has("has_sse41"));
//!
//! // SIMD on the SSE2 baseline is refused, naming what is missing.
//! let err = config.cpu("x86_64").build().err().unwrap().to_string();
//! assert!(err.contains("has_sse41") && err.contains("x86_64-v2"));
//! ```

use crate::cache::{CacheStore, CacheStoreRef};
use crate::compiler::{parse_triple, Compiler, CompilerBuilder, Triple};
use crate::machinst::RegallocAlgorithm;
use crate::settings::{shared::regalloc_name, OptLevel, SettingError, Settings};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The recorded choices of a [`Config`]: plain data, compared by value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompilerConfig {
    /// The target triple as given; `None` means the host.
    pub target: Option<String>,
    /// The CPU preset; `None` means the architecture's baseline.
    pub preset: Option<String>,
    /// Named settings (shared or ISA), the last value given for each name.
    pub settings: BTreeMap<String, String>,
    /// Test-only: bytes of virtual padding between functions when linking (0: none).
    pub link_padding: u64,
    /// The cache store every compile goes through (`None`: no cache). Compared by
    /// identity ([`Arc::ptr_eq`]).
    pub cache_store: Option<CacheStoreRef>,
}

/// An idempotent, order-independent compiler configuration. See the module docs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    config: CompilerConfig,
}

impl Config {
    /// No choices: the host target, baseline CPU, default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// The recorded choices.
    pub fn compiler_config(&self) -> &CompilerConfig {
        &self.config
    }

    /// Compile for the target triple `triple` (e.g. `x86_64-unknown-linux-gnu`, `aarch64`).
    pub fn target(&mut self, triple: &str) -> &mut Self {
        self.config.target = Some(triple.to_string());
        self
    }

    /// Use the CPU preset `name` (`x86_64`, `x86_64-v2`, `x86_64-v3`, `native`; on AArch64
    /// `generic`, `native`). Individual ISA settings adjust it, whatever the call order.
    pub fn cpu(&mut self, name: &str) -> &mut Self {
        self.config.preset = Some(name.to_string());
        self
    }

    /// Record the setting `name = value` (shared or ISA).
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.config
            .settings
            .insert(name.to_string(), value.to_string());
        self
    }

    /// Record the bool setting `name = true`.
    pub fn enable(&mut self, name: &str) -> &mut Self {
        self.set(name, "true")
    }

    /// The `opt_level` setting.
    pub fn opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.set("opt_level", level.name())
    }

    /// The `regalloc` setting.
    pub fn regalloc(&mut self, algorithm: RegallocAlgorithm) -> &mut Self {
        self.set("regalloc", regalloc_name(algorithm))
    }

    /// The `enable_simd` setting.
    pub fn simd(&mut self, enable: bool) -> &mut Self {
        self.set("enable_simd", if enable { "true" } else { "false" })
    }

    /// The `enable_nan_canonicalization` setting (building with it on is an error until a
    /// backend implements it).
    pub fn nan_canonicalization(&mut self, enable: bool) -> &mut Self {
        self.set(
            "enable_nan_canonicalization",
            if enable { "true" } else { "false" },
        )
    }

    /// Test-only: link with `bytes` of virtual padding between consecutive functions
    /// ([`crate::compiler::LinkOptions::pad_between_functions`]), so that calls between them
    /// need far-call veneers without gigabytes of real code. 0 (the default) links densely.
    pub fn link_padding(&mut self, bytes: u64) -> &mut Self {
        self.config.link_padding = bytes;
        self
    }

    /// Compile every function through `store` ([`crate::cache`]): hits are decoded and
    /// finalized instead of compiled. The last store given wins; giving the same `Arc`
    /// again changes nothing.
    pub fn cache_store(&mut self, store: Arc<dyn CacheStore>) -> &mut Self {
        self.config.cache_store = Some(CacheStoreRef(store));
        self
    }

    /// The triple this configuration targets.
    pub fn triple(&self) -> Result<Triple, SettingError> {
        match &self.config.target {
            Some(t) => parse_triple(t),
            None => Ok(Triple::host()),
        }
    }

    /// Apply the recorded choices in the fixed order (steps 1–4 of the module docs), giving
    /// the builder a compiler would be built from; [`Config::build`] validates (step 5).
    pub fn builder(&self) -> Result<CompilerBuilder, SettingError> {
        let mut builder = CompilerBuilder::new(self.triple()?)?;
        if let Some(p) = &self.config.preset {
            builder.preset(p)?;
        }
        for (name, value) in &self.config.settings {
            builder.set(name, value)?;
        }
        builder.link_padding(self.config.link_padding);
        builder.cache_store(self.config.cache_store.as_ref().map(|s| s.0.clone()));
        Ok(builder)
    }

    /// The settings a compiler built from this configuration would have.
    pub fn settings(&self) -> Result<Settings, SettingError> {
        Ok(*self.builder()?.settings())
    }

    /// Build the compiler.
    pub fn build(&self) -> Result<Box<dyn Compiler>, SettingError> {
        self.builder()?.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::Arch;

    fn x86() -> Config {
        let mut c = Config::new();
        c.target("x86_64-unknown-linux-gnu");
        c
    }

    #[test]
    fn duplicate_calls_and_reordering_record_the_same_config() {
        let mut a = x86();
        a.cpu("x86_64-v3").set("has_avx", "false").simd(true);
        let mut b = Config::new();
        b.simd(true)
            .simd(true)
            .set("has_avx", "false")
            .cpu("x86_64-v3")
            .target("x86_64-unknown-linux-gnu")
            .cpu("x86_64-v3");
        assert_eq!(a, b);
        let sa = a.settings().unwrap();
        assert_eq!(sa, b.settings().unwrap());
        assert!(!sa.isa().has("has_avx") && sa.isa().has("has_avx2"));
        assert!(sa.shared().enable_simd());
    }

    #[test]
    fn last_call_wins_across_typed_and_named_setters() {
        let mut c = x86();
        c.opt_level(OptLevel::Speed).set("opt_level", "none");
        assert_eq!(c.settings().unwrap().shared().opt_level(), OptLevel::None);
        c.set("regalloc", "backtracking")
            .regalloc(RegallocAlgorithm::SinglePass);
        assert_eq!(
            c.settings().unwrap().shared().regalloc(),
            RegallocAlgorithm::SinglePass
        );
    }

    #[test]
    fn target_after_settings_keeps_them() {
        let mut c = Config::new();
        c.enable("has_lse").target("aarch64-unknown-linux-gnu");
        let s = c.settings().unwrap();
        assert_eq!(s.arch(), Arch::Aarch64);
        assert!(s.isa().has("has_lse"));
        // The same setting against another target is an error naming it.
        c.target("x86_64");
        let e = c.build().err().unwrap().to_string();
        assert!(e.contains("`has_lse`") && e.contains("aarch64"), "{e}");
    }

    #[test]
    fn build_validates_simd_and_unimplemented_settings() {
        let mut c = x86();
        c.simd(true);
        let e = c.build().err().unwrap().to_string();
        assert!(
            e.contains("has_ssse3") && e.contains("has_sse41") && e.contains("x86_64-v2"),
            "{e}"
        );
        c.enable("has_ssse3").enable("has_sse41");
        c.build().unwrap();
        let mut a = Config::new();
        a.target("aarch64").simd(true);
        a.settings().unwrap();
        c.nan_canonicalization(true);
        let e = c.build().err().unwrap().to_string();
        assert!(e.contains("enable_nan_canonicalization"), "{e}");
    }

    #[test]
    fn link_padding_obeys_the_laws() {
        // Idempotent, last wins, and commutes with every other setter.
        let others: [fn(&mut Config); 5] = [
            |c| {
                c.target("aarch64");
            },
            |c| {
                c.cpu("generic");
            },
            |c| {
                c.simd(true);
            },
            |c| {
                c.regalloc(RegallocAlgorithm::SinglePass);
            },
            |c| {
                c.set("opt_level", "none");
            },
        ];
        let mut a = Config::new();
        a.link_padding(1 << 30);
        for f in others {
            f(&mut a);
        }
        let mut b = Config::new();
        for f in others.iter().rev() {
            f(&mut b);
        }
        b.link_padding(7)
            .link_padding(1 << 30)
            .link_padding(1 << 30);
        assert_eq!(a, b);
        assert_eq!(a.compiler_config().link_padding, 1 << 30);
        let ca = a.build().unwrap();
        assert_eq!(ca.link_options(), b.build().unwrap().link_options());
        assert_eq!(ca.link_options().pad_between_functions, 1 << 30);
        assert_eq!(Config::new().link_padding(0), &Config::new());
        assert_eq!(
            x86().build().unwrap().link_options(),
            crate::compiler::LinkOptions::default()
        );
    }

    #[test]
    fn cache_store_obeys_the_laws_and_is_used_by_the_compiler() {
        use crate::cache::MemoryStore;
        let s1: Arc<dyn CacheStore> = Arc::new(MemoryStore::new());
        let s2: Arc<dyn CacheStore> = Arc::new(MemoryStore::new());
        // Idempotent (same Arc), last wins, commutes with the other setters.
        let mut a = x86();
        a.cache_store(s1.clone()).simd(true).cpu("x86_64-v2");
        let mut b = Config::new();
        b.cpu("x86_64-v2")
            .cache_store(s2.clone())
            .cache_store(s1.clone())
            .cache_store(s1.clone())
            .simd(true)
            .target("x86_64-unknown-linux-gnu");
        assert_eq!(a, b);
        let mut c = a.clone();
        c.cache_store(s2.clone());
        assert_ne!(a, c, "a different store is a different choice");
        assert_ne!(a, x86().simd(true).cpu("x86_64-v2").clone());
        assert!(format!("{a:?}").contains("memory store"));
        // The built compiler compiles through the store, with unchanged results.
        let f = &crate::ir::text::parse_functions(
            "function %f(i32) -> i32 {\nblock0(v0: i32):\n    v1 = iadd v0, v0\n    return v1\n}\n",
        )
        .unwrap()[0];
        let plain = x86().simd(true).cpu("x86_64-v2").build().unwrap();
        let cached = a.build().unwrap();
        assert_eq!(cached.settings(), plain.settings());
        let fresh = plain.compile_function(f).unwrap();
        assert_eq!(cached.compile_function(f).unwrap(), fresh);
        assert_eq!(cached.compile_function(f).unwrap(), fresh);
        let st = s1.stats().snapshot();
        assert_eq!((st.lookups, st.hits, st.misses, st.inserts), (2, 1, 1, 1));
        assert_eq!(s2.stats().snapshot().lookups, 0);
    }

    #[test]
    fn bad_inputs_are_errors_naming_them() {
        for (config, words) in [
            (Config::new().target("pdp11").clone(), "`pdp11`"),
            (x86().cpu("pentium").clone(), "`pentium`"),
            (x86().set("opt_level", "max").clone(), "`max`"),
            (x86().enable("frobnicate").clone(), "`frobnicate`"),
            (x86().enable("regalloc").clone(), "`true`"),
        ] {
            let e = config.build().err().unwrap().to_string();
            assert!(e.contains(words), "{words}: {e}");
        }
    }
}
