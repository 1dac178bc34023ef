//! Execution engines: the things a run directive can be executed on.
//!
//! Today: the IR interpreter (`interp`), the reference semantics. The emulated x86_64 and
//! AArch64 backends join as further [`EngineKind`]s; everything that runs cases (the
//! filetest runner, later the differential checker) goes through [`Engine`], so adding an
//! engine is one variant plus one `impl`.
//!
//! Invariant: an engine maps heap `hN` at [`HeapDecl::base`]`(N)` so that every engine
//! sees identical arguments.

use crate::filetest::{HeapDecl, TestFile};
use crate::interp::{Heap, Interpreter};
use crate::outcome::Outcome;
use crate::value::DataValue;
use std::fmt;
use std::str::FromStr;

/// Runs functions of a test file.
pub trait Engine {
    /// Short name used in reports and on the command line.
    fn name(&self) -> &'static str;

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
}

impl EngineKind {
    /// Every engine, in report order.
    pub const ALL: &'static [EngineKind] = &[EngineKind::Interp];

    /// The command-line name.
    pub const fn name(self) -> &'static str {
        match self {
            EngineKind::Interp => "interp",
        }
    }

    /// A fresh engine of this kind. `fuel` bounds the work of one run (instructions for the
    /// interpreter).
    pub fn create(self, fuel: u64) -> Box<dyn Engine> {
        match self {
            EngineKind::Interp => Box::new(InterpEngine { fuel }),
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
