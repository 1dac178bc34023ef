//! The x86_64 backend.
//!
//! - [`regs`]: physical registers, operand sizes and System V register roles;
//! - [`label_use`]: [`label_use::X64LabelUse`], the label-use kinds and the far-branch veneer;
//! - [`encoding`]: addressing modes and one encoding function per instruction form;
//! - [`inst`]: [`inst::MInst`], machine instructions over registers, their regalloc2
//!   operands and emission;
//! - [`abi`]: [`abi::X64Abi`], the System V calling convention and frame;
//! - [`flags`]: [`X64Flags`], the ISA extensions lowering may use (all off = SSE2);
//! - [`lower`]: [`X64Backend`], instruction selection (every IR opcode at every type the
//!   verifier accepts), split by opcode family.
//!
//! Compile a function with
//! `crate::machinst::compile_function(&func, &X64Backend::new(flags), &CompileOptions::default())`
//! (`X64Backend::default()` is the SSE2 baseline).

pub mod abi;
pub mod encoding;
pub mod flags;
pub mod inst;
pub mod label_use;
pub(crate) mod layout_check;
pub mod lower;
pub mod regs;

#[cfg(test)]
mod tests;

pub use flags::X64Flags;
pub use lower::X64Backend;
