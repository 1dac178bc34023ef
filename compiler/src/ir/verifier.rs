//! The IR verifier. (Being written: see the foundation issue.)

use super::Function;
use core::fmt;

/// One problem found by the verifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierError {
    /// Where: `inst12`, `block3`, `v7`, or `function`.
    pub location: String,
    /// The offending instruction in text form, when the problem is an instruction.
    pub context: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for VerifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.context {
            Some(c) => write!(f, "{}: {}: {}", self.location, c, self.message),
            None => write!(f, "{}: {}", self.location, self.message),
        }
    }
}

/// Every problem found in one function.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct VerifierErrors(pub Vec<VerifierError>);

impl fmt::Display for VerifierErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.0 {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for VerifierErrors {}

/// Check every invariant of `func`.
pub fn verify_function(_func: &Function) -> Result<(), VerifierErrors> {
    Ok(())
}
