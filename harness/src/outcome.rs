//! How one execution of a function ended, in a form every engine (IR interpreter, emulated
//! x86_64 and AArch64) reports identically so the differential checker can compare them.
//!
//! Invariants: exactly one [`Outcome`] per call; a trap is always one of Kiln's
//! [`TrapCode`]s; a memory fault is not a trap (loads and stores never trap on purpose, see
//! `kiln::ir::memflags`); running out of fuel is inconclusive, never a pass or a trap;
//! [`Outcome::Error`] means the engine could not run the case at all (the test is broken,
//! not the code under test). `Display` writes one line.

use crate::value::DataValue;
use core::fmt;
use kiln::ir::TrapCode;

/// The end of one call.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Returned normally with these values (in signature order).
    Returned(Vec<DataValue>),
    /// Stopped at a trap.
    Trapped(TrapCode),
    /// Accessed memory the engine did not provide: `size` bytes at `addr`.
    MemoryFault {
        /// The first byte's address.
        addr: u64,
        /// Access size in bytes.
        size: u32,
        /// A store (true) or a load (false).
        write: bool,
    },
    /// The instruction budget ran out (inconclusive).
    OutOfFuel,
    /// The case could not be run: a call to a function not in the file, an indirect call
    /// to a non-function address or with a mismatched signature, bad arguments, a malformed
    /// function, ...
    Error(String),
}

impl Outcome {
    /// Did the call return normally?
    pub fn is_returned(&self) -> bool {
        matches!(self, Outcome::Returned(_))
    }

    /// The trap code, when the call trapped.
    pub fn trap_code(&self) -> Option<TrapCode> {
        match self {
            Outcome::Trapped(c) => Some(*c),
            _ => None,
        }
    }

    /// Same outcome, comparing returned values with [`DataValue::eq_nan_agnostic`] (any
    /// NaN equals any NaN in the same position). Errors compare by message.
    pub fn eq_nan_agnostic(&self, other: &Outcome) -> bool {
        match (self, other) {
            (Outcome::Returned(a), Outcome::Returned(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_nan_agnostic(y))
            }
            _ => self == other,
        }
    }
}

/// `returned 3, 4`, or `returned nothing`: how outcomes and expectations print a return.
pub fn write_returned<T: fmt::Display>(f: &mut fmt::Formatter<'_>, values: &[T]) -> fmt::Result {
    if values.is_empty() {
        return f.write_str("returned nothing");
    }
    f.write_str("returned ")?;
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{v}")?;
    }
    Ok(())
}

impl fmt::Display for Outcome {
    /// `returned 3, 4` (`returned nothing` for no values), `trapped int_divz`,
    /// `memory fault reading 4 bytes at 0x10`, `out of fuel`, `error: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Returned(vs) => write_returned(f, vs),
            Outcome::Trapped(c) => write!(f, "trapped {c}"),
            Outcome::MemoryFault { addr, size, write } => write!(
                f,
                "memory fault {} {size} byte{} at {addr:#x}",
                if *write { "writing" } else { "reading" },
                if *size == 1 { "" } else { "s" }
            ),
            Outcome::OutOfFuel => f.write_str("out of fuel"),
            Outcome::Error(e) => write!(f, "error: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line() {
        assert_eq!(
            Outcome::Returned(vec![DataValue::I32(3), DataValue::I64(-4)]).to_string(),
            "returned 3, -4"
        );
        assert_eq!(Outcome::Returned(vec![]).to_string(), "returned nothing");
        assert_eq!(
            Outcome::Trapped(TrapCode::IntegerDivisionByZero).to_string(),
            "trapped int_divz"
        );
        assert_eq!(
            Outcome::Trapped(TrapCode::User(7)).to_string(),
            "trapped user7"
        );
        assert_eq!(
            Outcome::MemoryFault {
                addr: 0x10,
                size: 4,
                write: false
            }
            .to_string(),
            "memory fault reading 4 bytes at 0x10"
        );
        assert_eq!(
            Outcome::MemoryFault {
                addr: 0xff,
                size: 1,
                write: true
            }
            .to_string(),
            "memory fault writing 1 byte at 0xff"
        );
        assert_eq!(Outcome::OutOfFuel.to_string(), "out of fuel");
        assert_eq!(Outcome::Error("x".into()).to_string(), "error: x");
    }

    #[test]
    fn nan_agnostic_comparison() {
        let a = Outcome::Returned(vec![DataValue::F32(0x7fc0_0000)]);
        let b = Outcome::Returned(vec![DataValue::F32(0xffc0_0001)]);
        assert!(a.eq_nan_agnostic(&b));
        assert_ne!(a, b);
        assert!(!a.eq_nan_agnostic(&Outcome::Returned(vec![])));
        assert!(Outcome::OutOfFuel.eq_nan_agnostic(&Outcome::OutOfFuel));
    }
}
