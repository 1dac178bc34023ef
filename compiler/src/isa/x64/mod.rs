//! The x86_64 backend.
//!
//! - [`regs`]: physical registers, operand sizes and System V register roles;
//! - [`label_use`]: [`label_use::X64LabelUse`], the label-use kinds and the far-branch veneer;
//! - [`encoding`]: addressing modes and one encoding function per instruction form.

pub mod encoding;
pub mod label_use;
pub mod regs;
