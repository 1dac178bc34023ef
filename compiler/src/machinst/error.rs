//! [`CodegenError`]: every way compiling a function can fail.
//!
//! Owns the error type shared by lowering, register allocation, emission and finalization.
//! Invariant: the backend never panics on a verified function; anything it cannot handle
//! is one of these variants, naming the input that caused it.

use crate::ir::{Opcode, Type, UserExternalNameRef, VerifierErrors};
use crate::machinst::buffer::BufferError;

/// Why a function could not be compiled.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CodegenError {
    /// The function failed IR verification (only when verification is enabled).
    #[error("the function failed verification:\n{0}")]
    Verifier(VerifierErrors),
    /// The backend has no lowering for this opcode at this (controlling) type.
    #[error("unsupported instruction: {opcode} with type {}", ty.map_or("none".to_string(), |t| t.to_string()))]
    Unsupported {
        /// The opcode.
        opcode: Opcode,
        /// Its controlling type, if it has one.
        ty: Option<Type>,
    },
    /// A signature uses a type the target's calling convention cannot pass.
    #[error("unsupported signature: {0}")]
    UnsupportedSignature(&'static str),
    /// The function is malformed in a way lowering noticed (only reachable without
    /// verification).
    #[error("invalid function: {0}")]
    InvalidFunction(&'static str),
    /// regalloc2 rejected the function or could not allocate it.
    #[error("register allocation failed: {0}")]
    Regalloc(String),
    /// regalloc2's checker found an allocation that does not preserve the program's
    /// data flow. Always a compiler bug.
    #[error("regalloc2 checker failed: {0}")]
    RegallocChecker(String),
    /// An internal limit was exceeded (frame size, instruction count, ...).
    #[error("implementation limit exceeded: {0}")]
    ImplLimit(&'static str),
    /// Emitting or finishing the machine code failed.
    #[error("machine buffer: {0}")]
    Buffer(#[from] BufferError),
    /// The function uses a vector type but the compiler was built with `enable_simd`
    /// off.
    #[error("the function uses the vector type {0}, but SIMD is disabled (enable the `enable_simd` setting)")]
    SimdDisabled(Type),
    /// Kiln has no backend for this target (yet).
    #[error("no backend for target {0}")]
    UnsupportedTarget(&'static str),
    /// A relocation names a `UserExternalNameRef` that the function parameters do not
    /// declare.
    #[error("relocation names {0}, which the function parameters do not declare")]
    UnknownExternalName(UserExternalNameRef),
    /// Cache verify mode: an entry differs from a fresh compile of the same function
    /// (always a bug: a key that misses part of what determines the code, or a
    /// nondeterministic backend). `report` shows both.
    #[error("cache verify mode: the entry for key {key} differs from a fresh compile; {report}")]
    CacheMismatch {
        /// The function's cache key (hex).
        key: String,
        /// Which fields differ, and both codes in full.
        report: String,
    },
}
