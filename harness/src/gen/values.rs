//! Edge-biased random values: integer and float bit patterns, vector lanes, and whole
//! [`DataValue`]s for arguments.
//!
//! Every function here is total: it never panics and never fails, whatever is left in the
//! [`Unstructured`] (when the bytes run out, `arbitrary` yields the lowest choice, which
//! here is always a simple value such as `0`).
//!
//! Bias: integers favour `0`, `±1`, `MIN`, `MAX`, powers of two and their neighbours and
//! small numbers; floats favour `±0`, `±1`, `±inf`, NaNs (quiet and signalling, with and
//! without payload, both signs), subnormals, `MIN_POSITIVE`, `±MAX`, rounding ties
//! (`0.5`, `1.5`, `2.5`) and the values around the boundaries of float → integer
//! conversions (`±2^31`, `2^32`, `±2^63`, `2^64`, `-1`), plus their bit-level neighbours.

use crate::value::DataValue;
use arbitrary::Unstructured;
use kiln::ir::Type;

/// A uniform index below `n` (`0` when `n <= 1` or when the bytes ran out).
pub(crate) fn below(u: &mut Unstructured<'_>, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    u.int_in_range(0..=n - 1).unwrap_or(0)
}

/// True with probability `num / den`; **false** once the bytes ran out, so that rare
/// events do not fire on exhausted input.
pub(crate) fn chance(u: &mut Unstructured<'_>, num: usize, den: usize) -> bool {
    if num == 0 || den == 0 {
        return false;
    }
    if num >= den {
        return true;
    }
    below(u, den) >= den - num
}

/// 64 arbitrary bits (`0` when exhausted).
pub(crate) fn bits64(u: &mut Unstructured<'_>) -> u64 {
    u.arbitrary::<u64>().unwrap_or(0)
}

/// An edge-biased integer of `bits` width (8, 16, 32 or 64), as raw bits in the low
/// `bits` bits (higher bits are garbage the caller truncates).
pub(crate) fn int_bits(u: &mut Unstructured<'_>, bits: u32) -> u64 {
    let bits = bits.clamp(1, 64);
    let min = 1u64 << (bits - 1);
    let k = below(u, bits as usize) as u32;
    match below(u, 14) {
        0 => 0,
        1 => 1,
        2 => u64::MAX,
        3 => min,
        4 => min.wrapping_sub(1),
        5 => 1u64 << k,
        6 => (1u64 << k).wrapping_sub(1),
        7 => (1u64 << k).wrapping_add(1),
        8 => (1u64 << k).wrapping_neg(),
        9 => below(u, 17) as u64,
        10 => (below(u, 16) as u64 + 1).wrapping_neg(),
        11 => min.wrapping_add(1),
        12 => 2,
        _ => bits64(u),
    }
}

const F32_SPECIAL: &[u32] = &[
    0x0000_0000, // 0.0
    0x8000_0000, // -0.0
    0x3f80_0000, // 1.0
    0xbf80_0000, // -1.0
    0x3f00_0000, // 0.5
    0xbf00_0000, // -0.5
    0x3fc0_0000, // 1.5
    0x4020_0000, // 2.5
    0xc020_0000, // -2.5
    0x7f80_0000, // inf
    0xff80_0000, // -inf
    0x7fc0_0000, // nan (canonical quiet)
    0xffc0_0000, // -nan
    0x7fc0_0001, // quiet nan with payload
    0x7fd2_3456, // quiet nan with payload
    0x7f80_0001, // signalling nan
    0x7fa0_0000, // signalling nan
    0xff80_0001, // negative signalling nan
    0x0000_0001, // smallest subnormal
    0x007f_ffff, // largest subnormal
    0x8000_0001, // negative subnormal
    0x0080_0000, // MIN_POSITIVE
    0x7f7f_ffff, // MAX
    0xff7f_ffff, // -MAX
    0x4f00_0000, // 2^31
    0xcf00_0000, // -2^31
    0x4f80_0000, // 2^32
    0x5f00_0000, // 2^63
    0xdf00_0000, // -2^63
    0x5f80_0000, // 2^64
    0x3f7f_ffff, // 0.99999994
    0xbf7f_ffff, // -0.99999994
    0x4b80_0000, // 2^24
    0x4b80_0001, // 2^24 + 2
];

const F64_SPECIAL: &[u64] = &[
    0x0000_0000_0000_0000, // 0.0
    0x8000_0000_0000_0000, // -0.0
    0x3ff0_0000_0000_0000, // 1.0
    0xbff0_0000_0000_0000, // -1.0
    0x3fe0_0000_0000_0000, // 0.5
    0xbfe0_0000_0000_0000, // -0.5
    0x3ff8_0000_0000_0000, // 1.5
    0x4004_0000_0000_0000, // 2.5
    0xc004_0000_0000_0000, // -2.5
    0x7ff0_0000_0000_0000, // inf
    0xfff0_0000_0000_0000, // -inf
    0x7ff8_0000_0000_0000, // nan (canonical quiet)
    0xfff8_0000_0000_0000, // -nan
    0x7ff8_0000_0000_0001, // quiet nan with payload
    0x7ffa_bcde_f012_3456, // quiet nan with payload
    0x7ff0_0000_0000_0001, // signalling nan
    0x7ff4_0000_0000_0000, // signalling nan
    0xfff0_0000_0000_0001, // negative signalling nan
    0x0000_0000_0000_0001, // smallest subnormal
    0x000f_ffff_ffff_ffff, // largest subnormal
    0x8000_0000_0000_0001, // negative subnormal
    0x0010_0000_0000_0000, // MIN_POSITIVE
    0x7fef_ffff_ffff_ffff, // MAX
    0xffef_ffff_ffff_ffff, // -MAX
    0x41e0_0000_0000_0000, // 2^31
    0x41df_ffff_ffc0_0000, // 2^31 - 1
    0xc1e0_0000_0000_0000, // -2^31
    0xc1e0_0000_0020_0000, // -2^31 - 1
    0x41f0_0000_0000_0000, // 2^32
    0x41ef_ffff_ffe0_0000, // 2^32 - 1
    0x43e0_0000_0000_0000, // 2^63
    0xc3e0_0000_0000_0000, // -2^63
    0x43f0_0000_0000_0000, // 2^64
    0x4340_0000_0000_0000, // 2^53
    0x47ef_ffff_e000_0000, // f32::MAX
    0x47ef_ffff_f000_0000, // f32::MAX + half an f32 ulp (demotion rounds to inf)
    0x36a0_0000_0000_0000, // f32 smallest subnormal
    0x3690_0000_0000_0000, // half of it (demotion tie)
    0x3fef_ffff_ffff_ffff, // 0.9999999999999999
];

/// Edge-biased `f32` bits.
pub(crate) fn f32_bits(u: &mut Unstructured<'_>) -> u32 {
    match below(u, 8) {
        0..=3 => F32_SPECIAL[below(u, F32_SPECIAL.len())],
        4 => {
            // A bit-level neighbour of a special value (nextafter up or down).
            let s = F32_SPECIAL[below(u, F32_SPECIAL.len())];
            if chance(u, 1, 2) {
                s.wrapping_add(1)
            } else {
                s.wrapping_sub(1)
            }
        }
        5 => {
            let n = below(u, 65) as i32 - 32;
            (n as f32).to_bits()
        }
        6 => {
            // A NaN with an arbitrary payload and sign.
            let m = (bits64(u) as u32 & 0x007f_ffff).max(1);
            0x7f80_0000 | m | (u32::from(chance(u, 1, 2)) << 31)
        }
        _ => bits64(u) as u32,
    }
}

/// Edge-biased `f64` bits.
pub(crate) fn f64_bits(u: &mut Unstructured<'_>) -> u64 {
    match below(u, 8) {
        0..=3 => F64_SPECIAL[below(u, F64_SPECIAL.len())],
        4 => {
            let s = F64_SPECIAL[below(u, F64_SPECIAL.len())];
            if chance(u, 1, 2) {
                s.wrapping_add(1)
            } else {
                s.wrapping_sub(1)
            }
        }
        5 => {
            let n = below(u, 65) as i64 - 32;
            (n as f64).to_bits()
        }
        6 => {
            let m = (bits64(u) & 0x000f_ffff_ffff_ffff).max(1);
            0x7ff0_0000_0000_0000 | m | (u64::from(chance(u, 1, 2)) << 63)
        }
        _ => bits64(u),
    }
}

/// Edge-biased raw bits of a scalar of type `ty` (low `ty.bits()` bits meaningful).
pub(crate) fn scalar_bits(u: &mut Unstructured<'_>, ty: Type) -> u64 {
    match ty {
        Type::F32 => u64::from(f32_bits(u)),
        Type::F64 => f64_bits(u),
        t => int_bits(u, t.bits()),
    }
}

/// Edge-biased 16 bytes of a vector of type `ty` (little-endian lane order): independent
/// lanes, one value splatted, or arbitrary bytes.
pub(crate) fn vector_bytes(u: &mut Unstructured<'_>, ty: Type) -> [u8; 16] {
    let lane = ty.lane_type();
    let w = (lane.bits() / 8).max(1) as usize;
    let n = 16 / w;
    let mut out = [0u8; 16];
    match below(u, 4) {
        0 => {
            let b = scalar_bits(u, lane).to_le_bytes();
            for i in 0..n {
                out[i * w..(i + 1) * w].copy_from_slice(&b[..w]);
            }
        }
        1 => {
            for b in out.iter_mut() {
                *b = u.arbitrary::<u8>().unwrap_or(0);
            }
        }
        _ => {
            for i in 0..n {
                let b = scalar_bits(u, lane).to_le_bytes();
                out[i * w..(i + 1) * w].copy_from_slice(&b[..w]);
            }
        }
    }
    out
}

/// An edge-biased value of type `ty`.
pub fn data_value(u: &mut Unstructured<'_>, ty: Type) -> DataValue {
    if ty.is_vector() {
        return DataValue::V128(ty, vector_bytes(u, ty));
    }
    let bits = scalar_bits(u, ty);
    DataValue::from_scalar_bits(ty, bits).unwrap_or(DataValue::zero(ty))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausted_input_gives_simple_values() {
        let mut u = Unstructured::new(&[]);
        assert_eq!(int_bits(&mut u, 32), 0);
        assert_eq!(f32_bits(&mut u), 0);
        assert_eq!(f64_bits(&mut u), 0);
        assert!(!chance(&mut u, 1, 10));
        assert_eq!(below(&mut u, 10), 0);
        for t in Type::ALL {
            assert_eq!(data_value(&mut u, t), DataValue::zero(t));
        }
    }

    #[test]
    fn specials_have_the_documented_meaning() {
        assert_eq!(f64::from_bits(0x41df_ffff_ffc0_0000), 2147483647.0);
        assert_eq!(f64::from_bits(0xc1e0_0000_0020_0000), -2147483649.0);
        assert_eq!(f64::from_bits(0x41ef_ffff_ffe0_0000), 4294967295.0);
        assert_eq!(f64::from_bits(0x47ef_ffff_e000_0000), f64::from(f32::MAX));
        assert_eq!(
            f64::from_bits(0x36a0_0000_0000_0000),
            f64::from(f32::from_bits(1))
        );
        assert_eq!(f32::from_bits(0x4f80_0000), 4294967296.0);
        assert!(f32::from_bits(0x7f80_0001).is_nan());
    }
}
