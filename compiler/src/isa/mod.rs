//! Instruction-set backends. Code outside this module never names a concrete ISA type.

pub mod aarch64;
pub mod x64;
