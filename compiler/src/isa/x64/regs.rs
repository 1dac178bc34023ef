//! x86_64 physical registers and operand sizes.
//!
//! Owns: the general-purpose registers ([`Gpr`]), the SSE registers ([`Xmm`]), their
//! hardware encodings (0–15; bit 3 goes into a REX prefix), their assembly names, the
//! System V register-role lists used by the ABI layer, and [`OperandSize`].
//!
//! Invariants: `Gpr::enc()` / `Xmm::enc()` are the hardware register numbers used in
//! ModRM/SIB/opcode fields, always `< 16`. The 8-bit views of `rsp`, `rbp`, `rsi`, `rdi`
//! (`spl`, `bpl`, `sil`, `dil`) exist only with a REX prefix; without one the same encodings
//! name `ah`, `ch`, `dh`, `bh`, which Kiln never uses — see [`Gpr::byte_needs_rex`].

use core::fmt;

/// A 64-bit general-purpose register, numbered by its hardware encoding.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Gpr {
    Rax = 0,
    Rcx = 1,
    Rdx = 2,
    Rbx = 3,
    Rsp = 4,
    Rbp = 5,
    Rsi = 6,
    Rdi = 7,
    R8 = 8,
    R9 = 9,
    R10 = 10,
    R11 = 11,
    R12 = 12,
    R13 = 13,
    R14 = 14,
    R15 = 15,
}

impl Gpr {
    /// All sixteen registers in encoding order.
    pub const ALL: [Gpr; 16] = [
        Gpr::Rax,
        Gpr::Rcx,
        Gpr::Rdx,
        Gpr::Rbx,
        Gpr::Rsp,
        Gpr::Rbp,
        Gpr::Rsi,
        Gpr::Rdi,
        Gpr::R8,
        Gpr::R9,
        Gpr::R10,
        Gpr::R11,
        Gpr::R12,
        Gpr::R13,
        Gpr::R14,
        Gpr::R15,
    ];

    /// The hardware encoding, 0–15.
    #[inline]
    pub const fn enc(self) -> u8 {
        self as u8
    }

    /// The register with hardware encoding `enc & 15`.
    #[inline]
    pub const fn from_enc(enc: u8) -> Gpr {
        Gpr::ALL[(enc & 15) as usize]
    }

    /// Does any use of this register need a REX prefix (bit 3 of the encoding set)?
    #[inline]
    pub const fn needs_rex(self) -> bool {
        self.enc() >= 8
    }

    /// Does the 8-bit view of this register need a REX prefix, even a bare `0x40`? True for
    /// `spl bpl sil dil` (encodings 4–7, which name `ah ch dh bh` without REX) and r8b–r15b.
    #[inline]
    pub const fn byte_needs_rex(self) -> bool {
        self.enc() >= 4
    }

    /// The register's name at the given operand size (`rax`/`eax`/`ax`/`al`, `r8`/`r8d`/`r8w`/`r8b`).
    pub const fn name(self, size: OperandSize) -> &'static str {
        const N64: [&str; 16] = [
            "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11",
            "r12", "r13", "r14", "r15",
        ];
        const N32: [&str; 16] = [
            "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d",
            "r12d", "r13d", "r14d", "r15d",
        ];
        const N16: [&str; 16] = [
            "ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w",
            "r13w", "r14w", "r15w",
        ];
        const N8: [&str; 16] = [
            "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b",
            "r12b", "r13b", "r14b", "r15b",
        ];
        let i = self.enc() as usize;
        match size {
            OperandSize::S8 => N8[i],
            OperandSize::S16 => N16[i],
            OperandSize::S32 => N32[i],
            OperandSize::S64 => N64[i],
        }
    }
}

impl fmt::Display for Gpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name(OperandSize::S64))
    }
}

/// A 128-bit SSE register, numbered by its hardware encoding.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Xmm {
    Xmm0 = 0,
    Xmm1 = 1,
    Xmm2 = 2,
    Xmm3 = 3,
    Xmm4 = 4,
    Xmm5 = 5,
    Xmm6 = 6,
    Xmm7 = 7,
    Xmm8 = 8,
    Xmm9 = 9,
    Xmm10 = 10,
    Xmm11 = 11,
    Xmm12 = 12,
    Xmm13 = 13,
    Xmm14 = 14,
    Xmm15 = 15,
}

impl Xmm {
    /// All sixteen registers in encoding order.
    pub const ALL: [Xmm; 16] = [
        Xmm::Xmm0,
        Xmm::Xmm1,
        Xmm::Xmm2,
        Xmm::Xmm3,
        Xmm::Xmm4,
        Xmm::Xmm5,
        Xmm::Xmm6,
        Xmm::Xmm7,
        Xmm::Xmm8,
        Xmm::Xmm9,
        Xmm::Xmm10,
        Xmm::Xmm11,
        Xmm::Xmm12,
        Xmm::Xmm13,
        Xmm::Xmm14,
        Xmm::Xmm15,
    ];

    /// The hardware encoding, 0–15.
    #[inline]
    pub const fn enc(self) -> u8 {
        self as u8
    }

    /// The register with hardware encoding `enc & 15`.
    #[inline]
    pub const fn from_enc(enc: u8) -> Xmm {
        Xmm::ALL[(enc & 15) as usize]
    }

    /// Does any use of this register need a REX prefix?
    #[inline]
    pub const fn needs_rex(self) -> bool {
        self.enc() >= 8
    }

    /// The register's name (`xmm0` … `xmm15`).
    pub const fn name(self) -> &'static str {
        const N: [&str; 16] = [
            "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
            "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
        ];
        N[self.enc() as usize]
    }
}

impl fmt::Display for Xmm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The width of an integer operation.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum OperandSize {
    /// 8 bits (byte registers; a REX prefix is forced for `spl bpl sil dil`).
    S8,
    /// 16 bits (`0x66` operand-size prefix).
    S16,
    /// 32 bits (the default; writing a 32-bit register zero-extends into 64 bits).
    S32,
    /// 64 bits (`REX.W`).
    S64,
}

impl OperandSize {
    /// The width in bytes.
    pub const fn bytes(self) -> u32 {
        match self {
            OperandSize::S8 => 1,
            OperandSize::S16 => 2,
            OperandSize::S32 => 4,
            OperandSize::S64 => 8,
        }
    }

    /// The width in bits.
    pub const fn bits(self) -> u32 {
        self.bytes() * 8
    }
}

/// System V: integer argument registers, in order.
pub const SYSV_INT_ARGS: [Gpr; 6] = [Gpr::Rdi, Gpr::Rsi, Gpr::Rdx, Gpr::Rcx, Gpr::R8, Gpr::R9];
/// System V: integer return registers, in order.
pub const SYSV_INT_RETS: [Gpr; 2] = [Gpr::Rax, Gpr::Rdx];
/// System V: float/vector argument registers, in order.
pub const SYSV_FLOAT_ARGS: [Xmm; 8] = [
    Xmm::Xmm0,
    Xmm::Xmm1,
    Xmm::Xmm2,
    Xmm::Xmm3,
    Xmm::Xmm4,
    Xmm::Xmm5,
    Xmm::Xmm6,
    Xmm::Xmm7,
];
/// System V: float/vector return registers, in order.
pub const SYSV_FLOAT_RETS: [Xmm; 2] = [Xmm::Xmm0, Xmm::Xmm1];
/// System V: callee-saved general-purpose registers (besides `rsp`). No XMM register is
/// callee-saved in System V.
pub const SYSV_CALLEE_SAVED: [Gpr; 6] =
    [Gpr::Rbx, Gpr::Rbp, Gpr::R12, Gpr::R13, Gpr::R14, Gpr::R15];
/// System V: caller-saved (clobbered by calls) general-purpose registers.
pub const SYSV_CALLER_SAVED: [Gpr; 9] = [
    Gpr::Rax,
    Gpr::Rcx,
    Gpr::Rdx,
    Gpr::Rsi,
    Gpr::Rdi,
    Gpr::R8,
    Gpr::R9,
    Gpr::R10,
    Gpr::R11,
];
/// Scratch registers Kiln reserves for code it generates outside register allocation (the
/// far-call veneer, see `label_use`). They never carry arguments in Kiln and are
/// caller-saved in System V.
pub const SCRATCH: [Gpr; 2] = [Gpr::R10, Gpr::R11];

/// The caller-saved registers the allocator may use: [`SYSV_CALLER_SAVED`] without
/// [`SCRATCH`]. A call clobbers these (and every XMM register).
pub const ALLOCATABLE_CALLER_SAVED: [Gpr; 7] = [
    Gpr::Rax,
    Gpr::Rcx,
    Gpr::Rdx,
    Gpr::Rsi,
    Gpr::Rdi,
    Gpr::R8,
    Gpr::R9,
];
/// The callee-saved registers the allocator may use: [`SYSV_CALLEE_SAVED`] without `rbp`,
/// the frame pointer.
pub const ALLOCATABLE_CALLEE_SAVED: [Gpr; 5] = [Gpr::Rbx, Gpr::R12, Gpr::R13, Gpr::R14, Gpr::R15];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocatable_sets_are_the_system_v_sets_minus_reserved_registers() {
        let caller: Vec<Gpr> = SYSV_CALLER_SAVED
            .into_iter()
            .filter(|r| !SCRATCH.contains(r))
            .collect();
        assert_eq!(caller, ALLOCATABLE_CALLER_SAVED);
        let callee: Vec<Gpr> = SYSV_CALLEE_SAVED
            .into_iter()
            .filter(|&r| r != Gpr::Rbp)
            .collect();
        assert_eq!(callee, ALLOCATABLE_CALLEE_SAVED);
    }
}
