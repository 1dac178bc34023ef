//! [`Arch`]: the target architectures Kiln generates code for. A leaf module: settings,
//! backends and everything above name an architecture through it.

use core::fmt;
use core::str::FromStr;

/// A target architecture.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Arch {
    /// x86_64 with the System V ABI.
    X86_64,
    /// AArch64 with AAPCS64.
    Aarch64,
}

impl Arch {
    /// Every architecture.
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// The canonical name (`x86_64`, `aarch64`).
    pub const fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The byte used to pad between functions: it traps if executed (`int3` on x86_64;
    /// on AArch64 a zero word is `udf #0`).
    pub const fn pad_byte(self) -> u8 {
        match self {
            Arch::X86_64 => 0xcc,
            Arch::Aarch64 => 0x00,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown architecture name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported target `{0}` (expected x86_64 or aarch64)")]
pub struct UnknownArch(pub String);

impl FromStr for Arch {
    type Err = UnknownArch;
    fn from_str(s: &str) -> Result<Arch, UnknownArch> {
        match s {
            "x86_64" | "x86-64" | "amd64" => Ok(Arch::X86_64),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            other => {
                // Accept full triples by their architecture component.
                let first = other.split('-').next().unwrap_or("");
                match first {
                    "x86_64" => Ok(Arch::X86_64),
                    "aarch64" | "arm64" => Ok(Arch::Aarch64),
                    _ => Err(UnknownArch(other.to_string())),
                }
            }
        }
    }
}
