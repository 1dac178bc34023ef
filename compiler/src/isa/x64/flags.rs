//! x86_64 ISA flags: which instruction-set extensions lowering may use.
//!
//! [`X64Flags::default()`] (every flag off) is the SSE2 baseline, which every x86_64 CPU
//! has. For scalar code each flag only *permits* an instruction; lowering always has a
//! correct baseline fallback (an instruction sequence, or a libcall for `ceil floor trunc
//! nearest` without SSE4.1), so any combination of flags is valid. Vector code needs
//! `has_ssse3` and `has_sse41` (`CompilerBuilder::build` refuses `enable_simd` without
//! them), and its lowering assumes both. The struct is plain data: the named
//! settings and CPU presets of `crate::settings` (`has_sse41`, `x86_64-v3`, ...) are
//! mapped onto it by `crate::isa::lookup`, the only place that constructs the backend.
//!
//! What each flag enables today:
//!
//! | flag | used for |
//! |---|---|
//! | `has_ssse3` | `pshufb` (i8x16 `splat`); required, with `has_sse41`, by `enable_simd` |
//! | `has_sse41` | `roundss/sd` (`ceil floor trunc nearest`); vector code assumes it (`pmulld`, `pinsrb/d/q`, `pextrb/d/q`, `pcmpeqq`) |
//! | `has_sse42` | `pcmpgtq` |
//! | `has_popcnt` | `popcnt` |
//! | `has_lzcnt` | `lzcnt` (`clz`) |
//! | `has_bmi1` | `tzcnt` (`ctz`) |
//!
//! `has_sse3`, `has_bmi2` and `has_avx2` are accepted but not used yet; `has_avx` selects the
//! VEX three-operand forms of the SSE operations (`lower::use_vex_forms`).

/// The x86_64 ISA flags. All false = SSE2 baseline. See the module docs.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct X64Flags {
    /// SSE3.
    pub has_sse3: bool,
    /// Supplemental SSE3.
    pub has_ssse3: bool,
    /// SSE4.1.
    pub has_sse41: bool,
    /// SSE4.2.
    pub has_sse42: bool,
    /// `popcnt`.
    pub has_popcnt: bool,
    /// `lzcnt` (ABM).
    pub has_lzcnt: bool,
    /// BMI1 (`tzcnt`, `andn`, ...).
    pub has_bmi1: bool,
    /// BMI2.
    pub has_bmi2: bool,
    /// AVX.
    pub has_avx: bool,
    /// AVX2.
    pub has_avx2: bool,
}

impl X64Flags {
    /// Every flag set (a recent x86_64 CPU).
    pub const fn all() -> Self {
        X64Flags {
            has_sse3: true,
            has_ssse3: true,
            has_sse41: true,
            has_sse42: true,
            has_popcnt: true,
            has_lzcnt: true,
            has_bmi1: true,
            has_bmi2: true,
            has_avx: true,
            has_avx2: true,
        }
    }
}
