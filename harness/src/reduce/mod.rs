//! Automatic test-case reduction: shrink a saved failing case while a caller-supplied
//! predicate ("is it still interesting?") keeps holding.
//!
//! - [`wasm`]: `.wasm` cases (a module and its invocations): the invocations, then the
//!   module with the `wasm-shrink` crate.
//! - [`kir`]: Kiln's own reducer for `.kir` cases (functions, heaps, run directives):
//!   delta debugging over run directives, functions and instructions, then local
//!   simplifications (branches, block and function parameters, values, constants), every
//!   candidate verified before the predicate sees it.

pub mod kir;
pub mod wasm;
