//! The AArch64 backend.
//!
//! - [`regs`]: physical registers (with the xzr/sp distinction in the types), operand
//!   sizes, NEON arrangements and AAPCS64 register roles;
//! - [`label_use`]: [`label_use::AArch64LabelUse`], the label-use kinds and their veneers;
//! - [`encoding`]: condition codes, immediates, addressing modes and one encoding function
//!   per instruction form;
//! - [`flags`]: [`flags::Aarch64Flags`], optional ISA features;
//! - [`inst`]: [`inst::MInst`], machine instructions over registers, their regalloc2
//!   operands and emission;
//! - [`abi`]: [`abi::Aarch64Abi`], the AAPCS64-based calling convention and frame;
//! - [`lower`]: [`Aarch64Backend`], instruction selection.
//!
//! Compile a function with
//! `crate::machinst::compile_function(&func, &Aarch64Backend::default(), &CompileOptions::default())`.

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

pub use lower::Aarch64Backend;
