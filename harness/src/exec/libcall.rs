//! The libcalls, computed in Rust on raw IEEE bits.
//!
//! Invariants: results are exactly the C library functions' (`ceil`, `floor`, `trunc`,
//! and round-to-nearest-ties-to-even for `nearest`); NaN inputs give a quiet NaN with the
//! input's payload and sign (the quiet bit set), infinities and zeros are returned
//! unchanged (sign included).

use kiln::ir::LibCall;

/// Apply `lc` to the argument bits (`f32` in the low 32 bits) and return the result bits.
pub(super) fn eval(lc: LibCall, bits: u64) -> u64 {
    match lc {
        LibCall::CeilF32 => f32_op(bits, f32::ceil),
        LibCall::FloorF32 => f32_op(bits, f32::floor),
        LibCall::TruncF32 => f32_op(bits, f32::trunc),
        LibCall::NearestF32 => f32_op(bits, f32::round_ties_even),
        LibCall::CeilF64 => f64_op(bits, f64::ceil),
        LibCall::FloorF64 => f64_op(bits, f64::floor),
        LibCall::TruncF64 => f64_op(bits, f64::trunc),
        LibCall::NearestF64 => f64_op(bits, f64::round_ties_even),
    }
}

fn f32_op(bits: u64, f: fn(f32) -> f32) -> u64 {
    let x = f32::from_bits(bits as u32);
    let r = if x.is_nan() {
        (bits as u32) | 0x0040_0000
    } else {
        f(x).to_bits()
    };
    u64::from(r)
}

fn f64_op(bits: u64, f: fn(f64) -> f64) -> u64 {
    let x = f64::from_bits(bits);
    if x.is_nan() {
        bits | 0x0008_0000_0000_0000
    } else {
        f(x).to_bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32r(lc: LibCall, x: f32) -> f32 {
        f32::from_bits(eval(lc, u64::from(x.to_bits())) as u32)
    }
    fn f64r(lc: LibCall, x: f64) -> f64 {
        f64::from_bits(eval(lc, x.to_bits()))
    }

    #[test]
    fn rounding_modes() {
        assert_eq!(f32r(LibCall::CeilF32, 1.25), 2.0);
        assert_eq!(f32r(LibCall::FloorF32, -1.25), -2.0);
        assert_eq!(f32r(LibCall::TruncF32, -1.75), -1.0);
        assert_eq!(f32r(LibCall::NearestF32, 2.5), 2.0);
        assert_eq!(f32r(LibCall::NearestF32, 3.5), 4.0);
        assert_eq!(
            f64r(LibCall::NearestF64, -0.5).to_bits(),
            (-0.0f64).to_bits()
        );
        assert_eq!(f64r(LibCall::CeilF64, -0.5).to_bits(), (-0.0f64).to_bits());
        assert_eq!(f64r(LibCall::FloorF64, 1e300), 1e300);
        assert_eq!(
            f64r(LibCall::TruncF64, f64::NEG_INFINITY),
            f64::NEG_INFINITY
        );
    }

    #[test]
    fn nans_are_quieted_keeping_payload() {
        assert_eq!(eval(LibCall::CeilF32, 0x7f80_0001), 0x7fc0_0001);
        assert_eq!(eval(LibCall::FloorF32, 0xffc0_0000), 0xffc0_0000);
        assert_eq!(
            eval(LibCall::NearestF64, 0x7ff0_0000_0000_0001),
            0x7ff8_0000_0000_0001
        );
    }
}
