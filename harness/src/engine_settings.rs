//! Which engines a case runs on and how their compilers are configured: [`EngineKind`] (the
//! engines' names, architectures and command-line parsing), [`EngineSettings`] (the CPU
//! preset and named settings of the compiled engines) and the process-wide compilation
//! cache they compile through ([`set_engine_cache`]).
//!
//! This is plain configuration data with no engine code, so that test files (whose
//! `; engine-settings:` directive records an [`EngineSettings`]) and everything else can
//! name it without depending on the engines. The `engine` module, which sits above this
//! one, builds engines from it (`EngineKind::create_with`) and re-exports every item, so
//! the paths `engine::EngineSettings` and `engine::EngineKind` keep working.
//!
//! The compiled engines get their compiler from [`kiln::CompilerBuilder`] through
//! [`EngineSettings::builder`]: by default `regalloc_checker` on and the architecture's
//! baseline CPU plus what vector code needs (on x86_64 SSSE3 and SSE4.1); a CPU preset and
//! named settings can be added (`kiln run --cpu x86_64-v3 --set regalloc=single_pass`).
//! Each is applied to the compiled engines whose architecture it belongs to (shared
//! settings to all of them). `enable_simd` is on wherever the resulting CPU allows it
//! (`--cpu x86_64`, the plain SSE2 baseline, runs scalar code only) unless it is set
//! explicitly; `--set enable_simd=true` on a CPU without SSSE3 and SSE4.1 is refused with
//! the compiler's own error, as by `kiln compile` and `kiln::Config`.
//!
//! The x86_64 engine's CPU never has AVX: `has_avx` and `has_avx2` are turned off after the
//! preset and settings, because the emulator (unicorn 2.1.5, QEMU 5 TCG) executes VEX.128
//! SSE instructions as their two-operand legacy forms. The AVX forms of the lowering are
//! checked on the host CPU instead (`harness/tests/avx_native.rs`).
//!
//! Test-only: [`EngineSettings::link_padding`] (`kiln run --link-padding BYTES`) links
//! with that much virtual padding between functions (recorded in the compiler with
//! [`kiln::CompilerBuilder::link_padding`] and read back through
//! [`kiln::Compiler::link_options`]), so that calls between functions go through far-call
//! veneers while the image stays sparse (the padding is never mapped).

use kiln::isa::Arch;
use kiln::settings::isa::{preset_archs, simd_requirements};
use kiln::settings::{find_setting, SettingScope};
use kiln::CompilerBuilder;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

/// The compilation cache every compiled engine built from now on compiles through
/// (`kiln diff --cache DIR`): process-wide, so that every worker thread and every
/// reconfigured engine shares one store. `None` (the default): no cache.
static ENGINE_CACHE: RwLock<Option<Arc<dyn kiln::cache::CacheStore>>> = RwLock::new(None);

/// Set the compilation cache of the compiled engines built from now on (see
/// [`EngineSettings::builder`]); a cache never changes what they compute.
pub fn set_engine_cache(store: Option<Arc<dyn kiln::cache::CacheStore>>) {
    *ENGINE_CACHE.write().unwrap_or_else(|p| p.into_inner()) = store;
}

/// The compiled engines' compilation cache, if one was set.
pub fn engine_cache() -> Option<Arc<dyn kiln::cache::CacheStore>> {
    ENGINE_CACHE
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

/// The engines Kiln has. (Building one, `create` / `create_with`, is defined with the
/// engines in the `engine` module.)
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum EngineKind {
    /// The IR interpreter.
    Interp,
    /// Kiln's x86_64 backend under emulation.
    X86_64,
    /// Kiln's AArch64 backend under emulation.
    Aarch64,
}

impl EngineKind {
    /// Every engine, in report order.
    pub const ALL: &'static [EngineKind] =
        &[EngineKind::Interp, EngineKind::X86_64, EngineKind::Aarch64];

    /// The command-line name.
    pub const fn name(self) -> &'static str {
        match self {
            EngineKind::Interp => "interp",
            EngineKind::X86_64 => "x86_64",
            EngineKind::Aarch64 => "aarch64",
        }
    }

    /// The architecture of a compiled engine.
    pub const fn arch(self) -> Option<Arch> {
        match self {
            EngineKind::Interp => None,
            EngineKind::X86_64 => Some(Arch::X86_64),
            EngineKind::Aarch64 => Some(Arch::Aarch64),
        }
    }

    /// Parse a comma-separated engine list; `all` means every engine.
    pub fn parse_list(s: &str) -> Result<Vec<EngineKind>, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim) {
            if part == "all" {
                out.extend_from_slice(Self::ALL);
            } else {
                out.push(part.parse()?);
            }
        }
        out.dedup();
        Ok(out)
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown engine `{s}` (expected one of: {}, all)",
                    names.join(", ")
                )
            })
    }
}

/// The CPU preset and named settings of the compiled engines. See the module docs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineSettings {
    /// A CPU preset, applied to the engine whose architecture has it.
    pub cpu: Option<String>,
    /// `(name, value)` settings, applied in order after the preset: shared ones to every
    /// compiled engine, ISA ones to the engine of their architecture.
    pub settings: Vec<(String, String)>,
    /// Test-only: bytes of virtual padding between linked functions (0: dense).
    pub link_padding: u64,
}

impl EngineSettings {
    /// Parse `name=value`.
    pub fn parse_assignment(text: &str) -> Result<(String, String), String> {
        match text.split_once('=') {
            Some((n, v)) if !n.trim().is_empty() => {
                Ok((n.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(format!("bad setting `{text}` (expected name=value)")),
        }
    }

    /// The compiler builder of the engine for `arch`: the engine defaults (the register
    /// allocation checker, link padding, the engine cache), then [`Self::configure`] with
    /// the preset and settings that belong to `arch`.
    pub fn builder(&self, arch: Arch) -> Result<CompilerBuilder, String> {
        let mut b = CompilerBuilder::for_target(arch.name()).map_err(|e| e.to_string())?;
        b.enable("regalloc_checker").map_err(|e| e.to_string())?;
        self.configure(&mut b, arch, false)?;
        if arch == Arch::X86_64 {
            // The emulator cannot execute VEX-encoded SSE instructions (module docs).
            b.set("has_avx", "false").map_err(|e| e.to_string())?;
            b.set("has_avx2", "false").map_err(|e| e.to_string())?;
        }
        b.link_padding(self.link_padding);
        b.cache_store(engine_cache());
        Ok(b)
    }

    /// The compiler builder of `kiln compile` for `target` (a triple or an architecture):
    /// [`Self::configure`] with every setting, so a preset or setting of another
    /// architecture is an error.
    pub fn cli_builder(&self, target: &str) -> Result<CompilerBuilder, String> {
        let mut b =
            CompilerBuilder::for_target(target).map_err(|e| format!("bad --target: {e}"))?;
        let arch =
            kiln::compiler::triple_arch(b.triple()).map_err(|e| format!("bad --target: {e}"))?;
        self.configure(&mut b, arch, true)?;
        Ok(b)
    }

    /// The CPU and settings every command shares: the preset, or without one the default
    /// CPU (the baseline plus what vector code needs); then the settings in order; then
    /// SIMD on wherever the CPU allows it, unless `enable_simd` was set explicitly (an
    /// explicit `true` on a CPU without what it needs is refused by `build`, as
    /// everywhere). With `all` false, a preset or ISA setting of another architecture is
    /// skipped instead of applied (and refused).
    fn configure(&self, b: &mut CompilerBuilder, arch: Arch, all: bool) -> Result<(), String> {
        match self
            .cpu
            .as_ref()
            .filter(|cpu| all || preset_archs(cpu).any(|a| a == arch))
        {
            Some(cpu) => {
                b.preset(cpu).map_err(|e| format!("--cpu: {e}"))?;
            }
            None => {
                for flag in simd_requirements(arch) {
                    b.enable(flag).map_err(|e| e.to_string())?;
                }
            }
        }
        for (name, value) in &self.settings {
            let applies = all
                || match find_setting(name).map(|s| s.scope) {
                    Some(SettingScope::Isa(owner)) => owner == arch,
                    // Shared, or unknown (so that setting it reports the error).
                    _ => true,
                };
            if applies {
                b.set(name, value)
                    .map_err(|e| format!("bad setting {name}={value}: {e}"))?;
            }
        }
        if !self.settings.iter().any(|(name, _)| name == "enable_simd") {
            let allowed = b.settings().isa().check_simd().is_ok();
            b.set("enable_simd", if allowed { "true" } else { "false" })
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Check that these settings are valid for the chosen engines: every name and value
    /// parses, and every preset and ISA setting belongs to at least one compiled engine.
    pub fn validate(&self, engines: &[EngineKind]) -> Result<(), String> {
        let archs: Vec<Arch> = engines.iter().filter_map(|e| e.arch()).collect();
        let names: Vec<&str> = archs.iter().map(|a| a.name()).collect();
        if archs.is_empty()
            && (self.cpu.is_some() || !self.settings.is_empty() || self.link_padding != 0)
        {
            return Err(
                "settings, --cpu and --link-padding apply to compiled engines, but none is selected"
                    .into(),
            );
        }
        if let Some(cpu) = &self.cpu {
            if !preset_archs(cpu).any(|a| archs.contains(&a)) {
                let valid: Vec<String> = archs
                    .iter()
                    .map(|a| {
                        let ps: Vec<_> =
                            kiln::settings::presets(*a).iter().map(|p| p.name).collect();
                        format!("{a}: {}", ps.join(", "))
                    })
                    .collect();
                return Err(format!(
                    "CPU preset `{cpu}` fits none of the selected engines ({}); valid presets: {}",
                    names.join(", "),
                    valid.join("; ")
                ));
            }
        }
        for (name, _) in &self.settings {
            if let Some(SettingScope::Isa(owner)) = find_setting(name).map(|s| s.scope) {
                if !archs.contains(&owner) {
                    return Err(format!(
                        "setting `{name}` belongs to {owner}, which is not among the selected engines ({})",
                        names.join(", ")
                    ));
                }
            }
        }
        for a in archs {
            self.builder(a)?.build().map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_lists_parse_and_reject_unknown_names() {
        assert_eq!(EngineKind::parse_list("all").unwrap(), EngineKind::ALL);
        assert_eq!(
            EngineKind::parse_list("interp").unwrap(),
            vec![EngineKind::Interp]
        );
        let e = EngineKind::parse_list("interp,x86").unwrap_err();
        assert!(
            e.contains("unknown engine `x86`") && e.contains("interp"),
            "{e}"
        );
    }

    #[test]
    fn simd_is_on_wherever_the_cpu_allows_it() {
        let simd = |s: &EngineSettings, arch: Arch| {
            let b = s.builder(arch).unwrap();
            (b.settings().shared().enable_simd(), *b.settings().isa())
        };
        // Default: the baseline plus SSSE3 and SSE4.1 on x86_64, SIMD on both engines.
        let (on, isa) = simd(&EngineSettings::default(), Arch::X86_64);
        assert!(on && isa.has("has_ssse3") && isa.has("has_sse41") && !isa.has("has_popcnt"));
        assert!(simd(&EngineSettings::default(), Arch::Aarch64).0);
        EngineSettings::default().validate(EngineKind::ALL).unwrap();
        // The plain baseline: SIMD off, unless asked for, which is refused.
        let mut base = EngineSettings {
            cpu: Some("x86_64".into()),
            ..EngineSettings::default()
        };
        assert!(!simd(&base, Arch::X86_64).0);
        assert!(simd(&base, Arch::Aarch64).0);
        base.settings.push(("enable_simd".into(), "true".into()));
        let e = base.validate(EngineKind::ALL).unwrap_err();
        assert!(e.contains("has_sse41") && e.contains("x86_64-v2"), "{e}");
        // An explicit `false` is kept where SIMD would be allowed.
        let off = EngineSettings {
            settings: vec![("enable_simd".into(), "false".into())],
            ..EngineSettings::default()
        };
        assert!(!simd(&off, Arch::X86_64).0 && !simd(&off, Arch::Aarch64).0);
    }

    #[test]
    fn engine_settings_apply_by_architecture_and_name_bad_input() {
        let s = EngineSettings {
            cpu: Some("x86_64-v3".into()),
            settings: vec![
                ("has_lse".into(), "true".into()),
                ("regalloc".into(), "single_pass".into()),
            ],
            link_padding: 1 << 20,
        };
        s.validate(EngineKind::ALL).unwrap();
        let x = s.builder(Arch::X86_64).unwrap();
        // The preset applies (BMI2 is x86_64-v3's), but the emulated engine never has AVX.
        assert!(x.settings().isa().has("has_bmi2"));
        assert!(!x.settings().isa().has("has_avx") && !x.settings().isa().has("has_avx2"));
        assert_eq!(x.settings().get("regalloc"), Some("single_pass"));
        assert_eq!(x.settings().get("regalloc_checker"), Some("true"));
        let a = s.builder(Arch::Aarch64).unwrap();
        assert!(a.settings().isa().has("has_lse"));
        assert_eq!(a.settings().get("regalloc"), Some("single_pass"));
        assert_eq!(a.link_options().pad_between_functions, 1 << 20);

        let e = s.validate(&[EngineKind::X86_64]).unwrap_err();
        assert!(e.contains("`has_lse`") && e.contains("aarch64"), "{e}");
        let bad = EngineSettings {
            cpu: Some("pentium".into()),
            ..EngineSettings::default()
        };
        let e = bad.validate(EngineKind::ALL).unwrap_err();
        assert!(e.contains("`pentium`") && e.contains("x86_64-v2"), "{e}");
        let bad = EngineSettings {
            settings: vec![("opt_level".into(), "max".into())],
            ..EngineSettings::default()
        };
        let e = bad.validate(&[EngineKind::X86_64]).unwrap_err();
        assert!(e.contains("`max`"), "{e}");
        assert!(EngineSettings::parse_assignment("novalue").is_err());
        assert_eq!(
            EngineSettings::parse_assignment("a=b").unwrap(),
            ("a".to_string(), "b".to_string())
        );
    }
}
