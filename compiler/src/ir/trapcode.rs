//! Trap codes: why execution stopped abnormally.

use core::fmt;
use core::str::FromStr;

/// The reason for a trap. Every engine (interpreter, emulated x86_64 and AArch64) reports
/// traps with these codes, and the differential harness compares them exactly.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum TrapCode {
    /// `unreachable` was executed.
    Unreachable,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// Integer overflow: `sdiv INT_MIN, -1`, or a float-to-int conversion out of range.
    IntegerOverflow,
    /// Float-to-int conversion of NaN.
    BadConversionToInteger,
    /// Linear-memory access out of bounds.
    HeapOutOfBounds,
    /// Table access out of bounds.
    TableOutOfBounds,
    /// Indirect call through a null table entry.
    IndirectCallToNull,
    /// Indirect call with a mismatched signature.
    BadSignature,
    /// The stack limit was reached.
    StackOverflow,
    /// A code chosen by the embedder.
    User(u16),
}

impl TrapCode {
    /// Every non-user code.
    pub const BUILTIN: [TrapCode; 9] = [
        TrapCode::Unreachable,
        TrapCode::IntegerDivisionByZero,
        TrapCode::IntegerOverflow,
        TrapCode::BadConversionToInteger,
        TrapCode::HeapOutOfBounds,
        TrapCode::TableOutOfBounds,
        TrapCode::IndirectCallToNull,
        TrapCode::BadSignature,
        TrapCode::StackOverflow,
    ];

    /// Text name of a non-user code; `None` for `User`.
    pub const fn builtin_name(self) -> Option<&'static str> {
        Some(match self {
            TrapCode::Unreachable => "unreachable",
            TrapCode::IntegerDivisionByZero => "int_divz",
            TrapCode::IntegerOverflow => "int_ovf",
            TrapCode::BadConversionToInteger => "bad_toint",
            TrapCode::HeapOutOfBounds => "heap_oob",
            TrapCode::TableOutOfBounds => "table_oob",
            TrapCode::IndirectCallToNull => "icall_null",
            TrapCode::BadSignature => "bad_sig",
            TrapCode::StackOverflow => "stk_ovf",
            TrapCode::User(_) => return None,
        })
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrapCode::User(n) => write!(f, "user{n}"),
            c => f.write_str(c.builtin_name().unwrap_or("?")),
        }
    }
}

/// Error for a trap code name that isn't one of Kiln's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown trap code `{0}` (expected unreachable, int_divz, int_ovf, bad_toint, heap_oob, table_oob, icall_null, bad_sig, stk_ovf or user<N> with N < 65536)")]
pub struct UnknownTrapCode(pub String);

impl FromStr for TrapCode {
    type Err = UnknownTrapCode;
    fn from_str(s: &str) -> Result<Self, UnknownTrapCode> {
        if let Some(c) = TrapCode::BUILTIN
            .iter()
            .find(|c| c.builtin_name() == Some(s))
        {
            return Ok(*c);
        }
        s.strip_prefix("user")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u16>().ok())
            .map(TrapCode::User)
            .ok_or_else(|| UnknownTrapCode(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in TrapCode::BUILTIN
            .into_iter()
            .chain([TrapCode::User(0), TrapCode::User(65535)])
        {
            assert_eq!(c.to_string().parse::<TrapCode>(), Ok(c));
        }
        assert!("user65536".parse::<TrapCode>().is_err());
        assert!("user".parse::<TrapCode>().is_err());
        assert!("user+1".parse::<TrapCode>().is_err());
    }
}
