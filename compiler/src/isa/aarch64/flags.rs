//! AArch64 ISA flags: which optional architecture features lowering may use.
//!
//! Owns [`Aarch64Flags`], a plain struct for now; a later change wires it to named
//! settings. Invariant: the default is the baseline (ARMv8.0-A with NEON), so code built
//! with default flags runs on every AArch64 machine.

/// Optional AArch64 features.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Aarch64Flags {
    /// ARMv8.1 Large System Extensions (atomics). No lowering uses it yet.
    pub has_lse: bool,
}
