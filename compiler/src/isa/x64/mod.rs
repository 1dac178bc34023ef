//! The x86_64 backend.
//!
//! - [`regs`]: physical registers, operand sizes and System V register roles;
//! - [`label_use`]: [`label_use::X64LabelUse`], the label-use kinds and the far-branch veneer;
//! - [`encoding`]: addressing modes and one encoding function per instruction form;
//! - [`inst`]: [`inst::MInst`], machine instructions over registers, their regalloc2
//!   operands and emission;
//! - [`abi`]: [`abi::X64Abi`], the System V calling convention and frame;
//! - [`lower`]: [`X64Backend`], instruction selection.
//!
//! Compile a function with
//! `crate::machinst::compile_function(&func, &X64Backend, &CompileOptions::default())`.

pub mod abi;
pub mod encoding;
pub mod inst;
pub mod label_use;
pub mod lower;
pub mod regs;

#[cfg(test)]
mod tests;

pub use lower::X64Backend;
