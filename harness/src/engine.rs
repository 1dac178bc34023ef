//! Execution engines: the things a run directive can be executed on.
//!
//! - `interp`: the IR interpreter, the reference semantics;
//! - `x86_64`, `aarch64`: compile every function of the file with Kiln's backend, link them
//!   into one text section, and run it under unicorn ([`crate::exec`]).
//!
//! Everything that runs cases (the filetest runner, later the differential checker) goes
//! through [`Engine`], so adding an engine is one variant plus one `impl`.
//!
//! Invariant: an engine maps heap `hN` at [`HeapDecl::base`]`(N)` so that every engine
//! sees identical arguments.
//!
//! The compiled engines get their compiler from [`kiln::CompilerBuilder`] with
//! [`EngineSettings`]: by default `enable_simd` and `regalloc_checker` on and the
//! architecture's baseline CPU; a CPU preset and named settings can be added (`kiln run
//! --cpu x86_64-v3 --set regalloc=single_pass`). Each is applied to the compiled engines
//! whose architecture it belongs to (shared settings to all of them).
//!
//! Test-only: [`EngineSettings::link_padding`] (`kiln run --link-padding BYTES`) links
//! with that much virtual padding between functions (recorded in the compiler with
//! [`kiln::CompilerBuilder::link_padding`] and read back through
//! [`kiln::Compiler::link_options`]), so that calls between functions go through far-call
//! veneers while the image stays sparse (the padding is never mapped).

use crate::exec::{CodeImage, Executor};
use crate::filetest::{HeapDecl, TestFile};
use crate::interp::{Heap, Interpreter};
use crate::outcome::Outcome;
use crate::value::DataValue;
use kiln::isa::Arch;
use kiln::machinst::CodegenError;
use kiln::module::{link_text, LinkInput};
use kiln::settings::{find_setting, isa::preset_archs, SettingScope};
use kiln::{Compiler, CompilerBuilder};
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

/// Why an engine cannot run a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrepareError {
    /// The engine lacks a feature the file needs (an instruction the backend cannot lower
    /// yet): the file's checks are *skipped* on this engine, counted and reported.
    Unsupported(String),
    /// Anything else (a compiler crash-class error, a link or load failure): every check of
    /// the file fails on this engine.
    Failed(String),
}

impl fmt::Display for PrepareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrepareError::Unsupported(m) => write!(f, "unsupported: {m}"),
            PrepareError::Failed(m) => write!(f, "{m}"),
        }
    }
}

/// Runs functions of a test file.
pub trait Engine {
    /// Short name used in reports and on the command line.
    fn name(&self) -> &'static str;

    /// Get ready to run `file` (compile and load it). Called once per file before any
    /// [`Engine::run`] on it.
    fn prepare(&mut self, file: &TestFile) -> Result<(), PrepareError> {
        let _ = file;
        Ok(())
    }

    /// Use `settings` for the files prepared from now on (the compiled engines rebuild
    /// their compiler when the settings changed, and keep their emulator: the differential
    /// checker varies settings per case without paying for a new unicorn instance). A
    /// compiler that cannot be built makes every later `prepare` fail with the reason.
    fn reconfigure(&mut self, settings: &EngineSettings) {
        let _ = settings;
    }

    /// Run `file.functions[func_index]` with `args`; `heaps` are fresh copies of the file's
    /// heaps, mapped at their fixed bases.
    fn run(
        &mut self,
        file: &TestFile,
        func_index: usize,
        args: &[DataValue],
        heaps: &mut [Heap],
    ) -> Outcome;
}

/// The engines Kiln has.
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

    /// A fresh engine of this kind. `fuel` bounds the work of one run (instructions, for
    /// the interpreter and the emulator alike).
    pub fn create(self, fuel: u64) -> Box<dyn Engine> {
        self.create_with(fuel, &EngineSettings::default())
    }

    /// A fresh engine of this kind whose compiler (if it has one) uses `settings`. A
    /// compiler that cannot be built makes every file fail on the engine with the reason.
    pub fn create_with(self, fuel: u64, settings: &EngineSettings) -> Box<dyn Engine> {
        match self {
            EngineKind::Interp => Box::new(InterpEngine { fuel }),
            EngineKind::X86_64 => Box::new(CompiledEngine::new(Arch::X86_64, fuel, settings)),
            EngineKind::Aarch64 => Box::new(CompiledEngine::new(Arch::Aarch64, fuel, settings)),
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

    /// The compiler builder of the engine for `arch`: the engine defaults, then the preset
    /// and settings that belong to `arch`.
    pub fn builder(&self, arch: Arch) -> Result<CompilerBuilder, String> {
        let mut b = CompilerBuilder::for_target(arch.name()).map_err(|e| e.to_string())?;
        b.enable("enable_simd").map_err(|e| e.to_string())?;
        b.enable("regalloc_checker").map_err(|e| e.to_string())?;
        if let Some(cpu) = &self.cpu {
            if preset_archs(cpu).any(|a| a == arch) {
                b.preset(cpu).map_err(|e| format!("--cpu: {e}"))?;
            }
        }
        for (name, value) in &self.settings {
            let applies = match find_setting(name).map(|s| s.scope) {
                Some(SettingScope::Isa(owner)) => owner == arch,
                // Shared, or unknown (so that setting it reports the error).
                _ => true,
            };
            if applies {
                b.set(name, value).map_err(|e| e.to_string())?;
            }
        }
        b.link_padding(self.link_padding);
        b.cache_store(engine_cache());
        Ok(b)
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

/// The interpreter as an engine.
struct InterpEngine {
    fuel: u64,
}

impl Engine for InterpEngine {
    fn name(&self) -> &'static str {
        EngineKind::Interp.name()
    }

    fn run(
        &mut self,
        file: &TestFile,
        func_index: usize,
        args: &[DataValue],
        heaps: &mut [Heap],
    ) -> Outcome {
        Interpreter::new(&file.functions)
            .with_fuel(self.fuel)
            .call(func_index, args, heaps)
    }
}

/// A Kiln backend plus the emulator: compiles and links a whole file in `prepare`.
struct CompiledEngine {
    arch: Arch,
    fuel: u64,
    /// The settings `compiler` was built from.
    settings: EngineSettings,
    /// The compiler, or why it could not be built (every file then fails with it).
    compiler: Result<Box<dyn Compiler>, String>,
    /// Created on first use (unicorn instances are not free).
    executor: Option<Executor>,
}

impl CompiledEngine {
    fn new(arch: Arch, fuel: u64, settings: &EngineSettings) -> Self {
        let compiler = settings
            .builder(arch)
            .and_then(|b| b.build().map_err(|e| e.to_string()));
        CompiledEngine {
            arch,
            fuel,
            settings: settings.clone(),
            compiler,
            executor: None,
        }
    }
}

/// `Unsupported` for what the backend cannot do yet, `Failed` for everything else.
fn classify(func: &str, e: CodegenError) -> PrepareError {
    match e {
        CodegenError::Unsupported { .. }
        | CodegenError::UnsupportedSignature(_)
        | CodegenError::SimdDisabled(_)
        | CodegenError::UnsupportedTarget(_) => PrepareError::Unsupported(format!("{func}: {e}")),
        e => PrepareError::Failed(format!("compile error in {func}: {e}")),
    }
}

impl Engine for CompiledEngine {
    fn name(&self) -> &'static str {
        self.arch.name()
    }

    fn reconfigure(&mut self, settings: &EngineSettings) {
        if *settings != self.settings {
            self.compiler = settings
                .builder(self.arch)
                .and_then(|b| b.build().map_err(|e| e.to_string()));
            self.settings = settings.clone();
        }
    }

    fn prepare(&mut self, file: &TestFile) -> Result<(), PrepareError> {
        let compiler = self
            .compiler
            .as_ref()
            .map_err(|e| PrepareError::Failed(format!("{} compiler: {e}", self.arch)))?;
        let mut compiled = Vec::with_capacity(file.functions.len());
        for f in &file.functions {
            let name = f.params.name.to_string();
            let code = compiler
                .compile_function(f)
                .map_err(|e| classify(&name, e))?;
            compiled.push(code);
        }
        let inputs: Vec<LinkInput<'_>> = file
            .functions
            .iter()
            .zip(&compiled)
            .map(|(f, code)| LinkInput {
                name: &f.params.name,
                code,
            })
            .collect();
        let text = link_text(self.arch, &inputs, &compiler.link_options())
            .map_err(|e| PrepareError::Failed(format!("link error: {e}")))?;
        let symbols = file
            .functions
            .iter()
            .map(|f| (f.params.name.to_string(), f.signature.clone()))
            .collect();
        let image = CodeImage::from_text(self.arch, text, symbols);
        if self.executor.is_none() {
            let ex = Executor::new(self.arch)
                .map_err(|e| PrepareError::Failed(format!("emulator: {e}")))?;
            self.executor = Some(ex);
        }
        let executor = self
            .executor
            .as_mut()
            .ok_or_else(|| PrepareError::Failed("emulator unavailable".to_string()))?;
        executor
            .load(&image)
            .map_err(|e| PrepareError::Failed(format!("load error: {e}")))
    }

    fn run(
        &mut self,
        _file: &TestFile,
        func_index: usize,
        args: &[DataValue],
        heaps: &mut [Heap],
    ) -> Outcome {
        match self.executor.as_mut() {
            Some(ex) => ex.call(func_index, args, heaps, self.fuel),
            None => Outcome::Error("run before prepare".to_string()),
        }
    }
}

/// Fresh copies of a file's heaps at their fixed bases.
pub fn fresh_heaps(file: &TestFile) -> Vec<Heap> {
    file.heaps
        .iter()
        .enumerate()
        .map(|(i, h)| Heap {
            base: HeapDecl::base(i),
            bytes: h.initial_bytes(),
        })
        .collect()
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
        assert!(x.settings().isa().has("has_avx2"));
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
