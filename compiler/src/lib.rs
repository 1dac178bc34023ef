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

#![warn(missing_docs)]

pub mod dominator_tree;
pub mod entity;
pub mod flowgraph;
pub mod ir;
pub mod isa;
pub mod machinst;
