//! Execution engines: the things a run directive can be executed on.
//!
//! - `interp`: the IR interpreter, the reference semantics;
//! - `x86_64`, `aarch64`: compile every function of the file with Kiln's backend, link them
//!   into one text section, and run it under unicorn ([`crate::exec`]).
//!
//! Owns the [`Engine`] trait, its implementations, [`PrepareError`], building an engine from
//! an [`EngineKind`] ([`EngineKind::create_with`]) and [`fresh_heaps`]. Everything that runs
//! cases (the filetest runner, the differential checker) goes through [`Engine`], so adding
//! an engine is one variant plus one `impl`.
//!
//! Layering: engines run test files ([`TestFile`], data from [`crate::filetest`]) on the
//! interpreter and the emulator; they never know who runs them. Which engines exist and how
//! their compilers are configured ([`EngineKind`], [`EngineSettings`], the compilation
//! cache) is configuration data in [`crate::engine_settings`], re-exported here.
//!
//! Invariant: an engine maps heap `hN` at [`HeapDecl::base`]`(N)` so that every engine
//! sees identical arguments.

pub use crate::engine_settings::{engine_cache, set_engine_cache, EngineKind, EngineSettings};

use crate::exec::{CodeImage, Executor};
use crate::filetest::{HeapDecl, TestFile};
use crate::heap::Heap;
use crate::interp::Interpreter;
use crate::outcome::Outcome;
use crate::value::DataValue;
use kiln::isa::Arch;
use kiln::machinst::CodegenError;
use kiln::module::{link_text, LinkInput};
use kiln::Compiler;
use std::fmt;

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

/// Building engines: the rest of [`EngineKind`] (names, architectures, parsing) is
/// configuration data and lives in [`crate::engine_settings`].
impl EngineKind {
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
