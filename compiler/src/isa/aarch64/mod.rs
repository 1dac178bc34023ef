//! The AArch64 backend (being written).
//!
//! - [`regs`]: physical registers (with the xzr/sp distinction in the types), operand
//!   sizes, NEON arrangements and AAPCS64 register roles;
//! - [`label_use`]: [`label_use::AArch64LabelUse`], the label-use kinds and their veneers;
//! - [`encoding`]: condition codes, immediates, addressing modes and one encoding function
//!   per instruction form.

pub mod encoding;
pub mod label_use;
pub mod regs;
