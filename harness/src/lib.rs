//! Kiln's test harness: the IR interpreter (reference semantics), `.kir` test files with run
//! directives, execution engines, and the `kiln` command-line tool.
//!
//! Module map (see DESIGN.md): [`interp`] the interpreter; [`value`] runtime values shared
//! by every engine; [`outcome`] how a run ended; [`host`] host functions (runtime builtins,
//! imports) written once in Rust for every engine; [`engine`] the engines a case runs on;
//! [`filetest`] test files, their directives, and the runner; [`exec`] machine code under
//! emulation; [`disasm`] listings through `llvm-mc`; [`cache_check`] fresh-versus-cached
//! compile and execution checks of the compilation cache; [`diff`] the differential checker
//! (`kiln diff`, `kiln replay`, the `fuzzgen` target).

pub mod cache_check;
pub mod diff;
pub mod disasm;
pub mod engine;
pub mod exec;
pub mod files;
pub mod filetest;
pub mod fuzz;
pub mod gen;
pub mod heap;
pub mod host;
pub mod instance;
pub mod interp;
pub mod outcome;
pub mod reduce;
pub mod value;
pub mod wast;
