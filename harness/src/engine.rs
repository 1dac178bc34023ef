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

use crate::exec::{CodeImage, Executor};
use crate::filetest::{HeapDecl, TestFile};
use crate::interp::{Heap, Interpreter};
use crate::outcome::Outcome;
use crate::value::DataValue;
use kiln::isa::{lookup, Arch, TargetIsa};
use kiln::machinst::{CodegenError, CompileOptions};
use kiln::module::{link_text, LinkInput};
use std::fmt;
use std::str::FromStr;

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
        match self {
            EngineKind::Interp => Box::new(InterpEngine { fuel }),
            EngineKind::X86_64 => Box::new(CompiledEngine::new(Arch::X86_64, fuel)),
            EngineKind::Aarch64 => Box::new(CompiledEngine::new(Arch::Aarch64, fuel)),
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
    isa: Result<Box<dyn TargetIsa>, CodegenError>,
    options: CompileOptions,
    /// Created on first use (unicorn instances are not free).
    executor: Option<Executor>,
}

impl CompiledEngine {
    fn new(arch: Arch, fuel: u64) -> Self {
        CompiledEngine {
            arch,
            fuel,
            isa: lookup(arch),
            options: CompileOptions {
                regalloc_checker: true,
                ..CompileOptions::default()
            },
            executor: None,
        }
    }
}

/// `Unsupported` for what the backend cannot do yet, `Failed` for everything else.
fn classify(func: &str, e: CodegenError) -> PrepareError {
    match e {
        CodegenError::Unsupported { .. }
        | CodegenError::UnsupportedSignature(_)
        | CodegenError::UnsupportedTarget(_) => PrepareError::Unsupported(format!("{func}: {e}")),
        e => PrepareError::Failed(format!("compile error in {func}: {e}")),
    }
}

impl Engine for CompiledEngine {
    fn name(&self) -> &'static str {
        self.arch.name()
    }

    fn prepare(&mut self, file: &TestFile) -> Result<(), PrepareError> {
        let isa = self
            .isa
            .as_ref()
            .map_err(|e| classify(self.arch.name(), e.clone()))?;
        let mut compiled = Vec::with_capacity(file.functions.len());
        for f in &file.functions {
            let name = f.params.name.to_string();
            let code = isa
                .compile_function(f, &self.options)
                .and_then(|c| c.apply_params(&f.params))
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
        let text = link_text(self.arch, &inputs)
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
}
