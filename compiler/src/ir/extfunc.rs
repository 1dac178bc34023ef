//! Signatures and external functions: [`Signature`], the runtime helpers ([`LibCall`]),
//! and how a function names what it calls ([`ExternalName`], [`ExtFuncData`]). A leaf of
//! the IR: the DFG and the function both build on it.
//!
//! Invariant: an [`ExternalName`] never holds a name itself — user functions are named
//! through the function parameters' table (`UserExternalNameRef`), so renaming a callee
//! never changes a stencil.

use super::entities::{SigRef, UserExternalNameRef};
use super::types::Type;
use core::fmt;

/// A function signature: parameter and return types. The calling convention is the
/// target's platform convention (System V on x86_64, AAPCS64 on AArch64).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Signature {
    /// Parameter types.
    pub params: Vec<Type>,
    /// Return types.
    pub returns: Vec<Type>,
}

impl Signature {
    /// A signature from parameter and return types.
    pub fn new(params: &[Type], returns: &[Type]) -> Self {
        Self {
            params: params.to_vec(),
            returns: returns.to_vec(),
        }
    }
}

impl fmt::Display for Signature {
    /// `(i32, i64) -> f32, f64`; the arrow is omitted when nothing is returned.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, t) in self.params.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{t}")?;
        }
        f.write_str(")")?;
        if !self.returns.is_empty() {
            f.write_str(" -> ")?;
            for (i, t) in self.returns.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{t}")?;
            }
        }
        Ok(())
    }
}

/// Runtime helper functions that backends (and IR) may call.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum LibCall {
    /// `ceilf`
    CeilF32,
    /// `ceil`
    CeilF64,
    /// `floorf`
    FloorF32,
    /// `floor`
    FloorF64,
    /// `truncf`
    TruncF32,
    /// `trunc`
    TruncF64,
    /// round to nearest, ties to even (`f32`)
    NearestF32,
    /// round to nearest, ties to even (`f64`)
    NearestF64,
}

impl LibCall {
    /// Every libcall.
    pub const ALL: [LibCall; 8] = [
        LibCall::CeilF32,
        LibCall::CeilF64,
        LibCall::FloorF32,
        LibCall::FloorF64,
        LibCall::TruncF32,
        LibCall::TruncF64,
        LibCall::NearestF32,
        LibCall::NearestF64,
    ];

    /// The text name.
    pub const fn name(self) -> &'static str {
        match self {
            LibCall::CeilF32 => "ceil_f32",
            LibCall::CeilF64 => "ceil_f64",
            LibCall::FloorF32 => "floor_f32",
            LibCall::FloorF64 => "floor_f64",
            LibCall::TruncF32 => "trunc_f32",
            LibCall::TruncF64 => "trunc_f64",
            LibCall::NearestF32 => "nearest_f32",
            LibCall::NearestF64 => "nearest_f64",
        }
    }

    /// Look up by text name.
    pub fn from_name(s: &str) -> Option<LibCall> {
        LibCall::ALL.into_iter().find(|l| l.name() == s)
    }

    /// The libcall's signature.
    pub fn signature(self) -> Signature {
        let t = match self {
            LibCall::CeilF32 | LibCall::FloorF32 | LibCall::TruncF32 | LibCall::NearestF32 => {
                Type::F32
            }
            _ => Type::F64,
        };
        Signature::new(&[t], &[t])
    }
}

/// How the stencil names an external function.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum ExternalName {
    /// Through the parameters' name table.
    User(UserExternalNameRef),
    /// A runtime helper.
    LibCall(LibCall),
}

/// A declared external function.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct ExtFuncData {
    /// Its name.
    pub name: ExternalName,
    /// Its signature.
    pub signature: SigRef,
}
