//! Integer and float literals of the `.kir` format, shared by the IR parser, the printer
//! and the harness's run directives.
//!
//! Invariants: `parse_f32(&format_f32(b)) == Ok(b)` for every bit pattern `b` (and likewise
//! for `f64`); `parse_int(&format_int(v, ty), ty) == Ok(v)` for every canonical `v` (the
//! value sign-extended from `ty`'s width).

use crate::ir::Type;
use core::fmt::Write;

/// Sign-extend the low `ty.lane_bits()` bits of `v` (the canonical form of an integer of
/// type `ty`).
pub fn sign_extend(v: u64, ty: Type) -> i64 {
    let bits = ty.lane_bits();
    if bits >= 64 {
        v as i64
    } else {
        let shift = 64 - bits;
        ((v << shift) as i64) >> shift
    }
}

/// Parse an integer literal for type `ty` (decimal or `0x` hex, optional `-`/`+`, `_`
/// separators allowed). It must fit the type's width as a signed or an unsigned number.
/// Returns the canonical (sign-extended) value.
pub fn parse_int(s: &str, ty: Type) -> Result<i64, String> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(h) => (16, h),
        None => (10, body),
    };
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(format!("`{s}` is not an integer literal"));
    }
    let mag = u128::from_str_radix(&digits, radix)
        .map_err(|_| format!("integer literal `{s}` is too large"))?;
    let bits = ty.lane_bits();
    let umax: u128 = (1u128 << bits) - 1;
    let smin_mag: u128 = 1u128 << (bits - 1);
    let value: u64 = if neg {
        if mag > smin_mag {
            return Err(format!(
                "integer literal `{s}` does not fit {}",
                ty.lane_type()
            ));
        }
        (mag as u64).wrapping_neg()
    } else {
        if mag > umax {
            return Err(format!(
                "integer literal `{s}` does not fit {}",
                ty.lane_type()
            ));
        }
        mag as u64
    };
    Ok(sign_extend(value, ty))
}

/// Format a canonical integer as the printer writes it (signed decimal).
pub fn format_int(v: i64, ty: Type) -> String {
    sign_extend(v as u64, ty).to_string()
}

macro_rules! float_lits {
    ($parse:ident, $format:ident, $write:ident, $fmtw:ident, $f:ty, $u:ty, $mbits:expr) => {
        /// Parse a float literal: decimal, `inf`, `-inf`, `nan`, `-nan`, or
        /// `[-]nan:0x<mantissa>`. Returns the raw bits.
        pub fn $parse(s: &str) -> Result<$u, String> {
            const MBITS: u32 = $mbits;
            const EXP_MASK: $u = !(0 as $u) >> 1 & !(((1 as $u) << MBITS) - 1);
            const SIGN: $u = (1 as $u) << (<$u>::BITS - 1);
            const QUIET: $u = (1 as $u) << (MBITS - 1);
            let (neg, body) = match s.as_bytes().first() {
                Some(b'-') => (true, &s[1..]),
                Some(b'+') => (false, &s[1..]),
                _ => (false, s),
            };
            let sign = if neg { SIGN } else { 0 };
            if body == "inf" {
                return Ok(sign | EXP_MASK);
            }
            if body == "nan" {
                return Ok(sign | EXP_MASK | QUIET);
            }
            if let Some(p) = body.strip_prefix("nan:0x") {
                let payload =
                    <$u>::from_str_radix(p, 16).map_err(|_| format!("bad NaN payload in `{s}`"))?;
                if payload == 0 || payload >> MBITS != 0 {
                    return Err(format!(
                        "NaN payload in `{s}` must be non-zero and fit {MBITS} bits"
                    ));
                }
                return Ok(sign | EXP_MASK | payload);
            }
            let ok = !body.is_empty()
                && body.as_bytes()[0].is_ascii_digit()
                && body
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
            if !ok {
                return Err(format!("`{s}` is not a float literal"));
            }
            let v: $f = body
                .parse()
                .map_err(|_| format!("`{s}` is not a float literal"))?;
            Ok(sign | v.to_bits())
        }

        /// Format float bits as the printer writes them (see the module invariant).
        pub fn $format(bits: $u) -> String {
            let mut s = String::new();
            $write(&mut s, bits);
            s
        }

        /// Write float bits as the printer writes them (into a `String`).
        pub fn $write(out: &mut String, bits: $u) {
            let _ = $fmtw(out, bits);
        }

        /// Write float bits as the printer writes them, into any [`core::fmt::Write`].
        pub fn $fmtw<W: Write + ?Sized>(out: &mut W, bits: $u) -> core::fmt::Result {
            const MBITS: u32 = $mbits;
            const SIGN: $u = (1 as $u) << (<$u>::BITS - 1);
            const QUIET: $u = (1 as $u) << (MBITS - 1);
            let v = <$f>::from_bits(bits);
            let sign = if bits & SIGN != 0 { "-" } else { "" };
            if v.is_nan() {
                let payload = bits & (((1 as $u) << MBITS) - 1);
                if payload == QUIET {
                    write!(out, "{sign}nan")
                } else {
                    write!(out, "{sign}nan:0x{payload:x}")
                }
            } else if v.is_infinite() {
                write!(out, "{sign}inf")
            } else {
                write!(out, "{v:?}")
            }
        }
    };
}

float_lits!(parse_f32, format_f32, write_f32, fmt_f32, f32, u32, 23);
float_lits!(parse_f64, format_f64, write_f64, fmt_f64, f64, u64, 52);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_fit_signed_or_unsigned() {
        assert_eq!(parse_int("255", Type::I8), Ok(-1));
        assert_eq!(parse_int("-1", Type::I8), Ok(-1));
        assert_eq!(parse_int("-128", Type::I8), Ok(-128));
        assert!(parse_int("256", Type::I8).is_err());
        assert!(parse_int("-129", Type::I8).is_err());
        assert_eq!(parse_int("0xffff_ffff", Type::I32), Ok(-1));
        assert_eq!(parse_int("0x8000000000000000", Type::I64), Ok(i64::MIN));
        assert!(parse_int("0x1_0000_0000_0000_0000", Type::I64).is_err());
        assert!(parse_int("", Type::I32).is_err());
        assert!(parse_int("12a", Type::I32).is_err());
        assert!(parse_int("-", Type::I32).is_err());
        assert_eq!(format_int(-1, Type::I8), "-1");
    }

    #[test]
    fn floats_round_trip_every_class() {
        let samples32: [u32; 10] = [
            0,
            0x8000_0000,
            1,
            0x7f7f_ffff,
            0x7f80_0000,
            0xff80_0000,
            0x7fc0_0000,
            0xffc0_0001,
            0x7f80_0001,
            0x3fc0_0000,
        ];
        for b in samples32 {
            assert_eq!(parse_f32(&format_f32(b)), Ok(b), "{}", format_f32(b));
        }
        let samples64: [u64; 6] = [
            0,
            0x8000_0000_0000_0000,
            1,
            0x7ff8_0000_0000_0000,
            0x7ff0_0000_0000_0001,
            0x3ff8_0000_0000_0000,
        ];
        for b in samples64 {
            assert_eq!(parse_f64(&format_f64(b)), Ok(b), "{}", format_f64(b));
        }
        assert_eq!(format_f32(0x7fc0_0000), "nan");
        assert_eq!(format_f32(0x8000_0000), "-0.0");
        assert_eq!(parse_f32("1.5"), Ok(0x3fc0_0000));
        assert!(parse_f32("nan:0x0").is_err());
        assert!(parse_f32("nan:0x800000").is_err());
        assert!(parse_f32("1.5x").is_err());
        assert!(parse_f32("infinity").is_err());
        assert!(parse_f32(".5").is_err());
    }
}
