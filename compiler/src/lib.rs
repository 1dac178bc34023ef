//! Kiln: a WebAssembly compiler. Wasm → Kiln IR → x86_64 and AArch64 machine code.
//!
//! This crate is the whole compiler and never depends on an emulator. See `DESIGN.md` in
//! the shared project documents for the module map; each module's own docs state what it
//! owns and its invariants.
//!
//! - [`ir`]: the IR (types, entities, instructions, DFG, layout, functions), the
//!   [`ir::FunctionBuilder`], the verifier, and the `.kir` text format.
//! - [`entity`]: typed `u32` indices and the flat maps indexed by them.
//! - [`flowgraph`]: the control-flow graph (predecessors and successors of blocks).
//! - [`dominator_tree`]: reverse post-order and dominators.
//! - [`settings`]: shared and per-ISA settings, CPU presets, the settings fingerprint.
//! - [`compiler`]: [`CompilerBuilder`] and [`Compiler`], the one way to reach a backend
//!   (the concrete ISA backends are private to [`isa`]).
//! - [`config`]: [`Config`], the idempotent, order-independent configuration embedders use.
//! - [`cache`]: the compilation cache (content-addressed stencil-form code; in-memory and
//!   on-disk stores).
//! - [`machinst`]: the ISA-independent backend pipeline and compiled code; [`module`]:
//!   linking compiled functions into a text section.
//!
//! # Example
//!
//! Build a function with the [`ir::FunctionBuilder`], verify it, print it as `.kir`, and
//! compile it through a [`Config`]:
//!
//! ```
//! use kiln::ir::{Function, FunctionBuilder, FunctionBuilderContext, Signature, Type, UserFuncName};
//!
//! let mut func = Function::with_name_signature(
//!     UserFuncName::testcase("add1"),
//!     Signature::new(&[Type::I32], &[Type::I32]),
//! );
//! let mut ctx = FunctionBuilderContext::new();
//! let mut b = FunctionBuilder::new(&mut func, &mut ctx);
//! let entry = b.create_block();
//! b.append_block_params_for_function_params(entry);
//! b.switch_to_block(entry);
//! b.seal_block(entry);
//! let x = b.block_params(entry)[0];
//! let one = b.ins().iconst(Type::I32, 1);
//! let sum = b.ins().iadd(x, one);
//! b.ins().return_(&[sum]);
//! b.finalize().expect("a complete function");
//! kiln::ir::verify_function(&func).expect("the builder's output verifies");
//! assert!(func.to_string().contains("v2 = iadd v0, v1"));
//!
//! // Configure a compiler (calls are recorded; order and repetition do not matter) and
//! // compile the function.
//! let mut config = kiln::Config::new();
//! config
//!     .target("x86_64-unknown-linux-gnu")
//!     .cpu("x86_64-v3")
//!     .opt_level(kiln::OptLevel::Speed)
//!     .set("regalloc", "single_pass");
//! let compiler = config.build().expect("valid settings"); // errors name the bad input
//! let code = compiler.compile_function(&func).expect("compiles");
//! assert!(!code.code.is_empty());
//! let fingerprint: [u8; 32] = compiler.settings().fingerprint(); // stable across hosts
//! # let _ = fingerprint;
//! ```

#![warn(missing_docs)]
// `opt.ok_or(CodegenError::X("..."))` builds the error even when `opt` is `Some` and then
// drops it: a call to `CodegenError`'s drop glue on every success, which the optimizer
// does not remove. In lowering and emission that was 1.5 % of a single_pass compile
// (callgrind), so errors are built with `ok_or_else`, which this lint calls unnecessary.
#![allow(clippy::unnecessary_lazy_evaluations)]

pub mod arch;
pub mod cache;
pub mod compiler;
pub mod config;
pub mod dominator_tree;
pub mod entity;
pub mod flowgraph;
pub mod ir;
pub mod isa;
pub mod machinst;
pub mod module;
mod pool;
pub mod settings;
pub mod wasm;

pub use compiler::{Compiler, CompilerBuilder, Triple};
pub use config::{CompilerConfig, Config};
pub use isa::Arch;
pub use machinst::{CodegenError, RegallocAlgorithm};
pub use settings::{OptLevel, SettingError, Settings};
