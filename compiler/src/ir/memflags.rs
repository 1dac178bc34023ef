//! Flags on memory accesses.
//!
//! Kiln bounds-checks linear memory explicitly (Wasm accesses are guarded by `trapnz ...,
//! heap_oob` before the load), so a load or store never traps on purpose. An access outside
//! memory the engine provides is a *memory fault*: a distinct outcome that the harness
//! reports with its address, never a trap code.

use core::fmt;

/// Flags of a `load`/`store`: `notrap` (the access is known to be in bounds), `aligned`
/// (the address is a multiple of the access size), `readonly` (the memory never changes).
/// Printed in that order, space separated.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct MemFlags(u8);

impl MemFlags {
    const NOTRAP: u8 = 1;
    const ALIGNED: u8 = 2;
    const READONLY: u8 = 4;
    /// Every flag name, in print order.
    pub const NAMES: [&'static str; 3] = ["notrap", "aligned", "readonly"];

    /// No flags.
    pub const fn new() -> Self {
        MemFlags(0)
    }
    /// `notrap` and `aligned`.
    pub const fn trusted() -> Self {
        MemFlags(Self::NOTRAP | Self::ALIGNED)
    }
    /// The raw bits (for canonical encodings).
    pub const fn bits(self) -> u8 {
        self.0
    }
    /// Rebuild from raw bits; `None` if an unknown bit is set.
    pub const fn from_bits(bits: u8) -> Option<Self> {
        if bits & !(Self::NOTRAP | Self::ALIGNED | Self::READONLY) == 0 {
            Some(MemFlags(bits))
        } else {
            None
        }
    }
    /// Is `notrap` set?
    pub const fn notrap(self) -> bool {
        self.0 & Self::NOTRAP != 0
    }
    /// Is `aligned` set?
    pub const fn aligned(self) -> bool {
        self.0 & Self::ALIGNED != 0
    }
    /// Is `readonly` set?
    pub const fn readonly(self) -> bool {
        self.0 & Self::READONLY != 0
    }
    /// Set the flag with this text name; false if the name is not a flag.
    pub fn set_by_name(&mut self, name: &str) -> bool {
        match Self::NAMES.iter().position(|n| *n == name) {
            Some(i) => {
                self.0 |= 1 << i;
                true
            }
            None => false,
        }
    }
    /// With `notrap` set.
    pub const fn with_notrap(self) -> Self {
        MemFlags(self.0 | Self::NOTRAP)
    }
    /// With `aligned` set.
    pub const fn with_aligned(self) -> Self {
        MemFlags(self.0 | Self::ALIGNED)
    }
    /// With `readonly` set.
    pub const fn with_readonly(self) -> Self {
        MemFlags(self.0 | Self::READONLY)
    }
}

impl fmt::Display for MemFlags {
    /// Each set flag preceded by a space (nothing for no flags), so it can follow an opcode.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in Self::NAMES.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                write!(f, " {n}")?;
            }
        }
        Ok(())
    }
}
