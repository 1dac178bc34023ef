//! AArch64 physical registers, operand sizes and AAPCS64 register roles.
//!
//! Owns: the general-purpose registers ([`XReg`], x0–x30), the two meanings of register
//! number 31 ([`XRegOrZr`], [`XRegOrSp`]), the SIMD/FP registers ([`VReg`], v0–v31), the
//! integer operand size ([`Size`]), the scalar FP sizes ([`FpSize`], [`FpMemSize`]), the
//! NEON arrangements ([`VecArr`]) and the AAPCS64 register-role lists used by the ABI layer.
//!
//! Invariants:
//! - An [`XReg`] is never register 31. Whether an operand field numbered 31 means the zero
//!   register or the stack pointer is fixed by the instruction; every encoder states it by
//!   taking [`XRegOrZr`] or [`XRegOrSp`] for that field, so `sp` can never be passed where
//!   the hardware would read `xzr` (or vice versa). Both convert from [`XReg`] with `.into()`.
//! - x16 and x17 (IP0/IP1) are the veneer scratch registers (see `label_use`): any branch may
//!   be routed through a veneer that clobbers them, so they are **never allocatable** and
//!   appear in no allocatable list here ([`ALLOCATABLE_GPRS`]). x18 is the platform register
//!   (reserved on Apple and Windows) and is avoided everywhere. x29 (frame pointer) and x30
//!   (link register) are not allocatable either.

use core::fmt;

/// A 64-bit general-purpose register x0–x30 (never register 31), by hardware number.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum XReg {
    X0 = 0,
    X1,
    X2,
    X3,
    X4,
    X5,
    X6,
    X7,
    X8,
    X9,
    X10,
    X11,
    X12,
    X13,
    X14,
    X15,
    X16,
    X17,
    X18,
    X19,
    X20,
    X21,
    X22,
    X23,
    X24,
    X25,
    X26,
    X27,
    X28,
    X29,
    X30,
}

impl XReg {
    /// All 31 registers in encoding order.
    pub const ALL: [XReg; 31] = {
        use XReg::*;
        [
            X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13, X14, X15, X16, X17, X18,
            X19, X20, X21, X22, X23, X24, X25, X26, X27, X28, X29, X30,
        ]
    };
    /// The frame pointer, x29.
    pub const FP: XReg = XReg::X29;
    /// The link register, x30.
    pub const LR: XReg = XReg::X30;

    /// The hardware number, 0–30.
    #[inline]
    pub const fn enc(self) -> u32 {
        self as u32
    }

    /// The register numbered `n`, or `None` for `n >= 31`.
    #[inline]
    pub const fn from_enc(n: u32) -> Option<XReg> {
        if n < 31 {
            Some(XReg::ALL[n as usize])
        } else {
            None
        }
    }

    /// The name at `size` (`x3` / `w3`).
    pub fn name(self, size: Size) -> RegName {
        RegName(if size.is64() { 'x' } else { 'w' }, self.enc() as u8)
    }
}

impl fmt::Display for XReg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "x{}", self.enc())
    }
}

/// A register printed as a letter and a number, without allocating.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct RegName(char, u8);

impl fmt::Display for RegName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.0, self.1)
    }
}

/// A register field where number 31 means the **zero register** (`xzr`/`wzr`): most data
/// operands, load/store data registers, `csel` operands, compare-and-branch operands.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum XRegOrZr {
    /// x0–x30.
    X(XReg),
    /// `xzr` / `wzr`: reads as zero, writes are discarded.
    Zr,
}

impl XRegOrZr {
    /// The zero register.
    pub const ZR: XRegOrZr = XRegOrZr::Zr;

    /// The 5-bit field value (31 for the zero register).
    #[inline]
    pub const fn enc(self) -> u32 {
        match self {
            XRegOrZr::X(r) => r.enc(),
            XRegOrZr::Zr => 31,
        }
    }
}

impl From<XReg> for XRegOrZr {
    #[inline]
    fn from(r: XReg) -> Self {
        XRegOrZr::X(r)
    }
}

/// A register field where number 31 means the **stack pointer** (`sp`/`wsp`): base
/// registers of addresses, and the destination/first source of `add`/`sub` (immediate and
/// extended register) and of the non-flag-setting logical immediates.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum XRegOrSp {
    /// x0–x30.
    X(XReg),
    /// The stack pointer.
    Sp,
}

impl XRegOrSp {
    /// The stack pointer.
    pub const SP: XRegOrSp = XRegOrSp::Sp;

    /// The 5-bit field value (31 for the stack pointer).
    #[inline]
    pub const fn enc(self) -> u32 {
        match self {
            XRegOrSp::X(r) => r.enc(),
            XRegOrSp::Sp => 31,
        }
    }
}

impl From<XReg> for XRegOrSp {
    #[inline]
    fn from(r: XReg) -> Self {
        XRegOrSp::X(r)
    }
}

/// A 128-bit SIMD/FP register v0–v31 (viewed as b/h/s/d/q scalars or vectors).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum VReg {
    V0 = 0,
    V1,
    V2,
    V3,
    V4,
    V5,
    V6,
    V7,
    V8,
    V9,
    V10,
    V11,
    V12,
    V13,
    V14,
    V15,
    V16,
    V17,
    V18,
    V19,
    V20,
    V21,
    V22,
    V23,
    V24,
    V25,
    V26,
    V27,
    V28,
    V29,
    V30,
    V31,
}

impl VReg {
    /// All 32 registers in encoding order.
    pub const ALL: [VReg; 32] = {
        use VReg::*;
        [
            V0, V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13, V14, V15, V16, V17, V18,
            V19, V20, V21, V22, V23, V24, V25, V26, V27, V28, V29, V30, V31,
        ]
    };

    /// The hardware number, 0–31.
    #[inline]
    pub const fn enc(self) -> u32 {
        self as u32
    }

    /// The register numbered `n & 31`.
    #[inline]
    pub const fn from_enc(n: u32) -> VReg {
        VReg::ALL[(n & 31) as usize]
    }
}

impl fmt::Display for VReg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.enc())
    }
}

/// The width of an integer operation (the `sf` bit).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Size {
    /// 32 bits (`w` registers; results are zero-extended into 64 bits).
    S32,
    /// 64 bits (`x` registers).
    S64,
}

impl Size {
    /// Is this the 64-bit size?
    #[inline]
    pub const fn is64(self) -> bool {
        matches!(self, Size::S64)
    }

    /// The `sf` bit (0 or 1).
    #[inline]
    pub const fn sf(self) -> u32 {
        self as u32
    }

    /// The width in bits.
    #[inline]
    pub const fn bits(self) -> u32 {
        if self.is64() {
            64
        } else {
            32
        }
    }
}

/// A scalar floating-point size for arithmetic.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum FpSize {
    /// Single precision (`s` registers).
    S,
    /// Double precision (`d` registers).
    D,
}

impl FpSize {
    /// The `ftype` field (00 single, 01 double).
    #[inline]
    pub const fn ftype(self) -> u32 {
        self as u32
    }

    /// The register-name prefix.
    #[inline]
    pub const fn prefix(self) -> char {
        match self {
            FpSize::S => 's',
            FpSize::D => 'd',
        }
    }
}

/// The size of a SIMD/FP register load or store.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum FpMemSize {
    /// 32 bits (`s`).
    S,
    /// 64 bits (`d`).
    D,
    /// 128 bits (`q`).
    Q,
}

impl FpMemSize {
    /// log2 of the access size in bytes.
    #[inline]
    pub const fn log2_bytes(self) -> u32 {
        match self {
            FpMemSize::S => 2,
            FpMemSize::D => 3,
            FpMemSize::Q => 4,
        }
    }

    /// The register-name prefix.
    #[inline]
    pub const fn prefix(self) -> char {
        match self {
            FpMemSize::S => 's',
            FpMemSize::D => 'd',
            FpMemSize::Q => 'q',
        }
    }
}

/// A NEON vector arrangement: lane size × lane count.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
#[allow(missing_docs)]
pub enum VecArr {
    B8,
    B16,
    H4,
    H8,
    S2,
    S4,
    D2,
}

impl VecArr {
    /// All arrangements.
    pub const ALL: [VecArr; 7] = [
        VecArr::B8,
        VecArr::B16,
        VecArr::H4,
        VecArr::H8,
        VecArr::S2,
        VecArr::S4,
        VecArr::D2,
    ];

    /// The `size` field: log2 of the lane size in bytes (0 = 8-bit … 3 = 64-bit).
    #[inline]
    pub const fn size(self) -> u32 {
        match self {
            VecArr::B8 | VecArr::B16 => 0,
            VecArr::H4 | VecArr::H8 => 1,
            VecArr::S2 | VecArr::S4 => 2,
            VecArr::D2 => 3,
        }
    }

    /// The `Q` bit: 1 for 128-bit vectors, 0 for 64-bit ones.
    #[inline]
    pub const fn q(self) -> u32 {
        match self {
            VecArr::B16 | VecArr::H8 | VecArr::S4 | VecArr::D2 => 1,
            _ => 0,
        }
    }

    /// The number of lanes.
    #[inline]
    pub const fn lanes(self) -> u32 {
        (8 << self.q()) >> self.size()
    }

    /// The assembly suffix (`"8b"`, `"16b"`, … `"2d"`).
    pub const fn suffix(self) -> &'static str {
        match self {
            VecArr::B8 => "8b",
            VecArr::B16 => "16b",
            VecArr::H4 => "4h",
            VecArr::H8 => "8h",
            VecArr::S2 => "2s",
            VecArr::S4 => "4s",
            VecArr::D2 => "2d",
        }
    }
}

/// The size of one vector element (for lane moves and `dup`).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
#[allow(missing_docs)]
pub enum ElemSize {
    B = 0,
    H = 1,
    S = 2,
    D = 3,
}

impl ElemSize {
    /// All element sizes.
    pub const ALL: [ElemSize; 4] = [ElemSize::B, ElemSize::H, ElemSize::S, ElemSize::D];

    /// log2 of the element size in bytes.
    #[inline]
    pub const fn log2_bytes(self) -> u32 {
        self as u32
    }

    /// Number of such elements in a 128-bit register.
    #[inline]
    pub const fn lanes(self) -> u32 {
        16 >> (self as u32)
    }

    /// The lane letter (`b h s d`).
    #[inline]
    pub const fn letter(self) -> char {
        match self {
            ElemSize::B => 'b',
            ElemSize::H => 'h',
            ElemSize::S => 's',
            ElemSize::D => 'd',
        }
    }
}

use VReg::*;
use XReg::*;

/// AAPCS64 integer argument registers, in order.
pub const ARG_GPRS: [XReg; 8] = [X0, X1, X2, X3, X4, X5, X6, X7];
/// AAPCS64 integer return registers, in order (the same as the first eight arguments).
pub const RET_GPRS: [XReg; 8] = ARG_GPRS;
/// AAPCS64 SIMD/FP argument registers, in order.
pub const ARG_VREGS: [VReg; 8] = [V0, V1, V2, V3, V4, V5, V6, V7];
/// AAPCS64 SIMD/FP return registers, in order.
pub const RET_VREGS: [VReg; 8] = ARG_VREGS;
/// AAPCS64 indirect result location register (address of a large returned aggregate).
pub const INDIRECT_RESULT: XReg = X8;
/// IP0/IP1: the veneer scratch registers. Never allocatable, never live across a branch.
pub const VENEER_SCRATCH: [XReg; 2] = [X16, X17];
/// The platform register, avoided.
pub const PLATFORM_REG: XReg = X18;
/// AAPCS64 callee-saved integer registers (besides fp x29 and lr x30, saved by the frame).
pub const CALLEE_SAVED_GPRS: [XReg; 10] = [X19, X20, X21, X22, X23, X24, X25, X26, X27, X28];
/// AAPCS64 callee-saved SIMD/FP registers: only the low 64 bits (`d8`–`d15`) are preserved.
pub const CALLEE_SAVED_VREGS: [VReg; 8] = [V8, V9, V10, V11, V12, V13, V14, V15];
/// Integer registers clobbered by calls that an allocator may use: x0–x15. (x16/x17 are
/// veneer scratch, x18 is the platform register — all three are excluded.)
pub const CALLER_SAVED_GPRS: [XReg; 16] = [
    X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13, X14, X15,
];
/// SIMD/FP registers clobbered by calls (whole v0–v7 and v16–v31, and the upper halves of
/// v8–v15).
pub const CALLER_SAVED_VREGS: [VReg; 24] = [
    V0, V1, V2, V3, V4, V5, V6, V7, V16, V17, V18, V19, V20, V21, V22, V23, V24, V25, V26, V27,
    V28, V29, V30, V31,
];
/// Every integer register the register allocator may hand out, caller-saved first:
/// x0–x15 and x19–x28. Excludes x16/x17 (veneer scratch), x18 (platform), x29 (fp), x30 (lr).
pub const ALLOCATABLE_GPRS: [XReg; 26] = [
    X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13, X14, X15, X19, X20, X21, X22, X23,
    X24, X25, X26, X27, X28,
];
/// Every SIMD/FP register the allocator may hand out (all 32).
pub const ALLOCATABLE_VREGS: [VReg; 32] = VReg::ALL;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_lists_are_consistent() {
        for r in ALLOCATABLE_GPRS {
            assert!(!VENEER_SCRATCH.contains(&r), "{r} is veneer scratch");
            assert_ne!(r, PLATFORM_REG);
            assert!(r != XReg::FP && r != XReg::LR);
        }
        for r in CALLER_SAVED_GPRS.iter().chain(&CALLEE_SAVED_GPRS) {
            assert!(ALLOCATABLE_GPRS.contains(r));
        }
        assert_eq!(
            CALLER_SAVED_GPRS.len() + CALLEE_SAVED_GPRS.len(),
            ALLOCATABLE_GPRS.len()
        );
        for v in VReg::ALL {
            assert!(CALLER_SAVED_VREGS.contains(&v) != CALLEE_SAVED_VREGS.contains(&v));
        }
        assert_eq!(XRegOrZr::ZR.enc(), 31);
        assert_eq!(XRegOrSp::SP.enc(), 31);
        for (i, r) in XReg::ALL.iter().enumerate() {
            assert_eq!(r.enc(), i as u32);
            assert_eq!(XReg::from_enc(i as u32), Some(*r));
        }
        assert_eq!(XReg::from_enc(31), None);
        for a in VecArr::ALL {
            assert_eq!(a.lanes() << a.size(), 8 << a.q());
        }
    }
}
