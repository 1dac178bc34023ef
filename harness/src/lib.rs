//! Kiln's test harness: the IR interpreter (reference semantics), `.kir` test files with run
//! directives, execution engines, and the `kiln` command-line tool.
//!
//! Module map (see DESIGN.md): [`interp`] the interpreter; [`value`] runtime values shared
//! by every engine; [`outcome`] how a run ended; [`heap`] memory regions the code under test
//! accesses; [`host`] host functions (runtime builtins, imports) written once in Rust for
//! every engine; [`engine_settings`] which engines exist and how their compilers are
//! configured; [`engine`] the engines a case runs on; [`filetest`] test files and their
//! directives; [`filetest_runner`] running those directives on engines; [`exec`] machine
//! code under emulation; [`disasm`] listings through `llvm-mc`; [`cache_check`]
//! fresh-versus-cached compile and execution checks of the compilation cache; [`instance`]
//! Wasm modules instantiated on any engine, and on wasmi ([`instance::oracle`]); [`gen`]
//! random IR cases and wasm-smith configurations; [`diff`] the differential checker
//! (`kiln diff`, `kiln replay`, `kiln reduce`, the `fuzzgen` and `wasm_diff` targets);
//! [`reduce`] the test-case reducers; [`report`] benchmark reports (`kiln report`);
//! [`wast`] spec-test scripts; [`hashing`] SplitMix64 and
//! FNV-1a; [`files`] finding test files; [`fuzz`] the logic of every fuzz target.
//!
//! Dependencies between these modules point one way, from data to orchestration:
//! `value`, `outcome`, `heap`, `host`, `engine_settings`, `filetest`, `hashing` (data and
//! traits) ← `interp`, `exec` (the engines) ← `engine` (the [`engine::Engine`] trait over
//! them), `instance` (modules on engines and on wasmi) ← `gen` (generators: know no engine),
//! `reduce` (reducers: generic over a predicate) ← `filetest_runner`, `diff`, `wast`,
//! `cache_check`, `fuzz` (orchestration). `report` stands alone (criterion's data and the
//! suites' records in, markdown and SVG out).

pub mod cache_check;
pub mod diff;
pub mod disasm;
pub mod engine;
pub mod engine_settings;
pub mod exec;
pub mod files;
pub mod filetest;
pub mod filetest_runner;
pub mod fuzz;
pub mod gen;
pub mod hashing;
pub mod heap;
pub mod host;
pub mod instance;
pub mod interp;
pub mod outcome;
pub mod reduce;
pub mod report;
pub mod value;
pub mod wast;
