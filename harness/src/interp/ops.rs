//! Pure semantics of the value-computing opcodes: integer and float arithmetic,
//! comparisons, conversions and lane operations. Nothing here touches memory or control.
//!
//! Every function takes operand [`DataValue`]s, checks their types (an operand of the
//! wrong type is a malformed function and yields [`Outcome::Error`], never a panic), and
//! returns the result or a trap as `Err(Outcome::Trapped(..))`.
//!
//! NaN policy: the bit operations `fneg`, `fabs` and `fcopysign` preserve payloads exactly;
//! `fpromote` and `fdemote` keep the sign and payload of a NaN and quiet it, as both
//! backends' conversion instructions do ([`promote_nan`], [`demote_nan`]), so Wasm
//! modules whose other NaNs are canonicalized compare bit for bit on every engine.
//! Every other float operation whose result is NaN returns the canonical quiet NaN
//! (`0x7fc00000` / `0x7ff8000000000000`), so the interpreter's results do not depend on the
//! host CPU. (Wasm allows any NaN there; engines are compared NaN-agnostically.)

use super::vector::{self, get_lane, set_lane};
use crate::outcome::Outcome;
use crate::value::DataValue;
use kiln::ir::{FloatCC, IntCC, Opcode, TrapCode, Type};

/// Result of one operation.
pub(super) type OpResult = Result<DataValue, Outcome>;

/// `fpromote` of the NaN `x`: its sign and payload (shifted to the top of the wider
/// payload), quieted — what x86 `cvtss2sd` and AArch64 `fcvt` (default-NaN mode off) do.
pub fn promote_nan(x: u32) -> u64 {
    let sign = u64::from(x >> 31) << 63;
    let payload = u64::from(x & 0x003f_ffff) << 29;
    sign | CANON_NAN_F64 | payload
}

/// `fdemote` of the NaN `x`: its sign and the top of its payload, quieted — what x86
/// `cvtsd2ss` and AArch64 `fcvt` (default-NaN mode off) do.
pub fn demote_nan(x: u64) -> u32 {
    let sign = ((x >> 63) as u32) << 31;
    let payload = ((x >> 29) & 0x003f_ffff) as u32;
    sign | CANON_NAN_F32 | payload
}

/// Canonical quiet NaN bits of `f32`.
pub const CANON_NAN_F32: u32 = 0x7fc0_0000;
/// Canonical quiet NaN bits of `f64`.
pub const CANON_NAN_F64: u64 = 0x7ff8_0000_0000_0000;

#[cold]
pub(super) fn type_error(op: Opcode, what: &str) -> Outcome {
    Outcome::Error(format!("malformed `{op}`: {what}"))
}

#[cold]
fn operand_error(op: Opcode, vals: &[DataValue]) -> Outcome {
    let tys: Vec<&str> = vals.iter().map(|v| v.ty().name()).collect();
    type_error(
        op,
        &format!("unsupported operand types ({})", tys.join(", ")),
    )
}

#[inline]
fn trap(code: TrapCode) -> Outcome {
    Outcome::Trapped(code)
}

/// Sign-extend the low `w` bits of `x`.
#[inline]
pub(super) fn sext(x: u64, w: u32) -> i64 {
    let s = 64 - w;
    ((x << s) as i64) >> s
}

/// A two-operand integer operation on `w`-bit values held zero-extended in `u64`.
/// The result may have garbage above bit `w`; callers truncate.
#[inline]
fn int_op(op: Opcode, x: u64, y: u64, w: u32) -> Result<u64, Outcome> {
    let amt = (y & (w as u64 - 1)) as u32;
    Ok(match op {
        Opcode::Iadd => x.wrapping_add(y),
        Opcode::Isub => x.wrapping_sub(y),
        Opcode::Imul => x.wrapping_mul(y),
        Opcode::Umulhi => ((x as u128 * y as u128) >> w) as u64,
        Opcode::Smulhi => ((sext(x, w) as i128 * sext(y, w) as i128) >> w) as u64,
        Opcode::Sdiv => {
            let (a, b) = (sext(x, w), sext(y, w));
            if b == 0 {
                return Err(trap(TrapCode::IntegerDivisionByZero));
            }
            if b == -1 && a == sext(1 << (w - 1), w) {
                return Err(trap(TrapCode::IntegerOverflow));
            }
            a.wrapping_div(b) as u64
        }
        Opcode::Udiv => {
            if y == 0 {
                return Err(trap(TrapCode::IntegerDivisionByZero));
            }
            x / y
        }
        Opcode::Srem => {
            let (a, b) = (sext(x, w), sext(y, w));
            if b == 0 {
                return Err(trap(TrapCode::IntegerDivisionByZero));
            }
            // wrapping_rem gives 0 for MIN % -1.
            a.wrapping_rem(b) as u64
        }
        Opcode::Urem => {
            if y == 0 {
                return Err(trap(TrapCode::IntegerDivisionByZero));
            }
            x % y
        }
        Opcode::Band => x & y,
        Opcode::Bor => x | y,
        Opcode::Bxor => x ^ y,
        Opcode::BandNot => x & !y,
        Opcode::Ishl => x << amt,
        Opcode::Ushr => x >> amt,
        Opcode::Sshr => (sext(x, w) >> amt) as u64,
        Opcode::Rotl => {
            if amt == 0 {
                x
            } else {
                (x << amt) | (x >> (w - amt))
            }
        }
        Opcode::Rotr => {
            if amt == 0 {
                x
            } else {
                (x >> amt) | (x << (w - amt))
            }
        }
        _ => return Err(type_error(op, "not an integer binary operation")),
    })
}

/// Binary operations (`Binary` format): integer scalar and vector arithmetic, shifts, and
/// float arithmetic.
pub(super) fn binary(op: Opcode, a: DataValue, b: DataValue) -> OpResult {
    match (a, b) {
        (DataValue::F32(x), DataValue::F32(y)) => Ok(DataValue::F32(f32_binary(op, x, y)?)),
        (DataValue::F64(x), DataValue::F64(y)) => Ok(DataValue::F64(f64_binary(op, x, y)?)),
        (DataValue::V128(..), _) => vector::binary(op, a, b),
        _ => {
            let ty = a.ty();
            match (a.as_u64(), b.as_u64()) {
                (Some(x), Some(y)) if ty == b.ty() => {
                    let r = int_op(op, x, y, ty.bits())?;
                    DataValue::from_int(ty, r).ok_or_else(|| operand_error(op, &[a, b]))
                }
                _ => Err(operand_error(op, &[a, b])),
            }
        }
    }
}

macro_rules! float_ops {
    ($f:ty, $u:ty, $canon:expr) => {
        /// A NaN result becomes the canonical NaN.
        #[inline]
        fn canon(v: $f) -> $u {
            if v.is_nan() {
                $canon
            } else {
                v.to_bits()
            }
        }

        /// Float binary operation on raw bits.
        pub(in crate::interp) fn binary(op: Opcode, x: $u, y: $u) -> Result<$u, Outcome> {
            const SIGN: $u = 1 << (<$u>::BITS - 1);
            let (a, b) = (<$f>::from_bits(x), <$f>::from_bits(y));
            Ok(match op {
                Opcode::Fadd => canon(a + b),
                Opcode::Fsub => canon(a - b),
                Opcode::Fmul => canon(a * b),
                Opcode::Fdiv => canon(a / b),
                Opcode::Fmin | Opcode::Fmax => {
                    if a.is_nan() || b.is_nan() {
                        $canon
                    } else if a == b {
                        // Equal values differ at most in the sign of zero: -0 < +0.
                        if op == Opcode::Fmin {
                            x | y
                        } else {
                            x & y
                        }
                    } else if (a < b) == (op == Opcode::Fmin) {
                        x
                    } else {
                        y
                    }
                }
                Opcode::Fcopysign => (x & !SIGN) | (y & SIGN),
                _ => return Err(type_error(op, "not a float binary operation")),
            })
        }

        /// Float unary operation on raw bits.
        pub(in crate::interp) fn unary(op: Opcode, x: $u) -> Result<$u, Outcome> {
            const SIGN: $u = 1 << (<$u>::BITS - 1);
            let a = <$f>::from_bits(x);
            Ok(match op {
                Opcode::Fneg => x ^ SIGN,
                Opcode::Fabs => x & !SIGN,
                Opcode::Sqrt => canon(a.sqrt()),
                Opcode::Ceil => canon(a.ceil()),
                Opcode::Floor => canon(a.floor()),
                Opcode::Trunc => canon(a.trunc()),
                Opcode::Nearest => canon(a.round_ties_even()),
                _ => return Err(type_error(op, "not a float unary operation")),
            })
        }
    };
}

/// `f32` operations on raw bits.
mod f32ops {
    use super::*;
    float_ops!(f32, u32, CANON_NAN_F32);
}
/// `f64` operations on raw bits.
mod f64ops {
    use super::*;
    float_ops!(f64, u64, CANON_NAN_F64);
}
pub(super) use f32ops::{binary as f32_binary, unary as f32_unary};
pub(super) use f64ops::{binary as f64_binary, unary as f64_unary};

/// Unary operations whose result type equals the operand type: `bnot clz ctz popcnt` and
/// the float unary operations (also used for the rounding libcalls).
pub(super) fn unary(op: Opcode, a: DataValue) -> OpResult {
    match a {
        DataValue::F32(x) => Ok(DataValue::F32(f32_unary(op, x)?)),
        DataValue::F64(x) => Ok(DataValue::F64(f64_unary(op, x)?)),
        DataValue::V128(..) => vector::unary(op, a),
        _ => {
            let (ty, x) = match a.as_u64() {
                Some(x) => (a.ty(), x),
                None => return Err(operand_error(op, &[a])),
            };
            let w = ty.bits();
            let r = match op {
                Opcode::Bnot => !x,
                Opcode::Ineg => x.wrapping_neg(),
                Opcode::Clz => (x.leading_zeros() - (64 - w)) as u64,
                Opcode::Ctz => {
                    if x == 0 {
                        w as u64
                    } else {
                        x.trailing_zeros() as u64
                    }
                }
                Opcode::Popcnt => x.count_ones() as u64,
                _ => return Err(operand_error(op, &[a])),
            };
            DataValue::from_int(ty, r).ok_or_else(|| operand_error(op, &[a]))
        }
    }
}

/// Evaluate an integer condition on two `w`-bit values held zero-extended.
#[inline]
fn int_cc(cc: IntCC, x: u64, y: u64, w: u32) -> bool {
    let (sx, sy) = (sext(x, w), sext(y, w));
    match cc {
        IntCC::Equal => x == y,
        IntCC::NotEqual => x != y,
        IntCC::SignedLessThan => sx < sy,
        IntCC::SignedLessThanOrEqual => sx <= sy,
        IntCC::SignedGreaterThan => sx > sy,
        IntCC::SignedGreaterThanOrEqual => sx >= sy,
        IntCC::UnsignedLessThan => x < y,
        IntCC::UnsignedLessThanOrEqual => x <= y,
        IntCC::UnsignedGreaterThan => x > y,
        IntCC::UnsignedGreaterThanOrEqual => x >= y,
    }
}

/// `icmp`: `i8` 0/1 for scalars, lane masks for integer vectors.
pub(super) fn icmp(cc: IntCC, a: DataValue, b: DataValue) -> OpResult {
    match (a, b) {
        (DataValue::V128(ta, x), DataValue::V128(tb, y)) if ta == tb && ta.is_int() => {
            let w = ta.lane_bits();
            let mut out = [0u8; 16];
            for i in 0..ta.lane_count() as usize {
                let t = int_cc(cc, get_lane(&x, i, w), get_lane(&y, i, w), w);
                set_lane(&mut out, i, w, if t { u64::MAX } else { 0 });
            }
            Ok(DataValue::V128(ta, out))
        }
        _ => match (a.as_u64(), b.as_u64()) {
            (Some(x), Some(y)) if a.ty() == b.ty() => {
                Ok(DataValue::I8(int_cc(cc, x, y, a.ty().bits()) as i8))
            }
            _ => Err(operand_error(Opcode::Icmp, &[a, b])),
        },
    }
}

/// Evaluate a float condition (f32 operands are promoted exactly to f64 first).
#[inline]
pub(super) fn float_cc(cc: FloatCC, x: f64, y: f64) -> bool {
    let uno = x.is_nan() || y.is_nan();
    match cc {
        FloatCC::Ordered => !uno,
        FloatCC::Unordered => uno,
        FloatCC::Equal => x == y,
        FloatCC::NotEqual => x != y,
        FloatCC::OrderedNotEqual => !uno && x != y,
        FloatCC::UnorderedOrEqual => uno || x == y,
        FloatCC::LessThan => x < y,
        FloatCC::LessThanOrEqual => x <= y,
        FloatCC::GreaterThan => x > y,
        FloatCC::GreaterThanOrEqual => x >= y,
        FloatCC::UnorderedOrLessThan => uno || x < y,
        FloatCC::UnorderedOrLessThanOrEqual => uno || x <= y,
        FloatCC::UnorderedOrGreaterThan => uno || x > y,
        FloatCC::UnorderedOrGreaterThanOrEqual => uno || x >= y,
    }
}

/// A float scalar as `f64` (exact for `f32`).
#[inline]
fn as_f64(v: DataValue) -> Option<f64> {
    match v {
        DataValue::F32(b) => Some(f32::from_bits(b) as f64),
        DataValue::F64(b) => Some(f64::from_bits(b)),
        _ => None,
    }
}

/// `fcmp` on float scalars: `i8` 0/1.
pub(super) fn fcmp(cc: FloatCC, a: DataValue, b: DataValue) -> OpResult {
    if let DataValue::V128(..) = a {
        return vector::fcmp(cc, a, b);
    }
    match (as_f64(a), as_f64(b)) {
        (Some(x), Some(y)) if a.ty() == b.ty() => Ok(DataValue::I8(float_cc(cc, x, y) as i8)),
        _ => Err(operand_error(Opcode::Fcmp, &[a, b])),
    }
}

/// Float to integer, trapping: `bad_toint` on NaN, `int_ovf` when the value truncated
/// toward zero is not representable in `bits` bits (signed or unsigned).
fn to_int_trapping(x: f64, bits: u32, signed: bool) -> Result<u64, Outcome> {
    if x.is_nan() {
        return Err(trap(TrapCode::BadConversionToInteger));
    }
    let t = x.trunc();
    // Powers of two up to 2^64 are exact in f64, so these bounds are exact.
    let in_range = if signed {
        let lim = (1u64 << (bits - 1)) as f64; // 2^(bits-1)
        t >= -lim && t < lim
    } else {
        let lim = 2f64.powi(bits as i32); // 2^bits
        t > -1.0 && t < lim
    };
    if !in_range {
        return Err(trap(TrapCode::IntegerOverflow));
    }
    Ok(if signed { t as i64 as u64 } else { t as u64 })
}

/// Conversions and other one-operand instructions whose result type is given explicitly:
/// `uextend sextend ireduce fcvt_* fpromote fdemote bitcast splat`.
pub(super) fn convert(op: Opcode, to: Type, a: DataValue) -> OpResult {
    let bad = || operand_error(op, &[a]);
    let bad_to = || type_error(op, &format!("cannot produce {to} from {}", a.ty()));
    if !matches!(op, Opcode::Bitcast | Opcode::Splat) && (to.is_vector() || a.ty().is_vector()) {
        return vector::convert(op, to, a);
    }
    match op {
        Opcode::Uextend | Opcode::Ireduce | Opcode::Sextend => {
            let x = if op == Opcode::Sextend {
                a.as_i64().map(|v| v as u64)
            } else {
                a.as_u64()
            };
            let x = x.ok_or_else(bad)?;
            let ok = if op == Opcode::Ireduce {
                to.bits() < a.ty().bits()
            } else {
                to.bits() > a.ty().bits()
            };
            if !ok {
                return Err(bad_to());
            }
            DataValue::from_int(to, x).ok_or_else(bad_to)
        }
        Opcode::FcvtToSint | Opcode::FcvtToUint => {
            let x = as_f64(a).ok_or_else(bad)?;
            if !matches!(to, Type::I32 | Type::I64) {
                return Err(bad_to());
            }
            let r = to_int_trapping(x, to.bits(), op == Opcode::FcvtToSint)?;
            DataValue::from_int(to, r).ok_or_else(bad_to)
        }
        Opcode::FcvtToSintSat | Opcode::FcvtToUintSat => {
            let x = as_f64(a).ok_or_else(bad)?;
            // Rust's float-to-int `as` saturates and maps NaN to 0: exactly Wasm's
            // `trunc_sat`. Promoting f32 to f64 first is exact.
            let signed = op == Opcode::FcvtToSintSat;
            Ok(match (to, signed) {
                (Type::I32, true) => DataValue::I32(x as i32),
                (Type::I64, true) => DataValue::I64(x as i64),
                (Type::I32, false) => DataValue::I32(x as u32 as i32),
                (Type::I64, false) => DataValue::I64(x as u64 as i64),
                _ => return Err(bad_to()),
            })
        }
        Opcode::FcvtFromSint | Opcode::FcvtFromUint => {
            if !matches!(a, DataValue::I32(_) | DataValue::I64(_)) {
                return Err(bad());
            }
            // Integer-to-float `as` rounds to nearest, ties to even (one rounding).
            let signed = op == Opcode::FcvtFromSint;
            let (s, u) = (a.as_i64().ok_or_else(bad)?, a.as_u64().ok_or_else(bad)?);
            Ok(match (to, signed) {
                (Type::F32, true) => DataValue::f32(s as f32),
                (Type::F32, false) => DataValue::f32(u as f32),
                (Type::F64, true) => DataValue::f64(s as f64),
                (Type::F64, false) => DataValue::f64(u as f64),
                _ => return Err(bad_to()),
            })
        }
        Opcode::Fpromote => match (a, to) {
            (DataValue::F32(x), Type::F64) => {
                let v = f32::from_bits(x);
                Ok(DataValue::F64(if v.is_nan() {
                    promote_nan(x)
                } else {
                    (v as f64).to_bits()
                }))
            }
            _ => Err(bad_to()),
        },
        Opcode::Fdemote => match (a, to) {
            (DataValue::F64(x), Type::F32) => {
                let v = f64::from_bits(x);
                Ok(DataValue::F32(if v.is_nan() {
                    demote_nan(x)
                } else {
                    (v as f32).to_bits()
                }))
            }
            _ => Err(bad_to()),
        },
        Opcode::Bitcast => {
            let n = to.bytes() as usize;
            if a.ty().bytes() as usize != n || a.ty() == to {
                return Err(bad_to());
            }
            DataValue::from_le_bytes(to, &a.to_le_bytes()[..n]).ok_or_else(bad_to)
        }
        Opcode::Splat => {
            if !to.is_vector() || a.ty() != to.lane_type() {
                return Err(bad_to());
            }
            let x = a.scalar_bits().ok_or_else(bad)?;
            let w = to.lane_bits();
            let mut out = [0u8; 16];
            for i in 0..to.lane_count() as usize {
                set_lane(&mut out, i, w, x);
            }
            Ok(DataValue::V128(to, out))
        }
        _ => Err(type_error(op, "not a conversion")),
    }
}

/// `extractlane v, lane`.
pub(super) fn extractlane(a: DataValue, lane: u8) -> OpResult {
    match a {
        DataValue::V128(..) => a
            .lane(lane as u32)
            .ok_or_else(|| type_error(Opcode::Extractlane, "lane index out of range")),
        _ => Err(operand_error(Opcode::Extractlane, &[a])),
    }
}

/// `insertlane v, x, lane`.
pub(super) fn insertlane(a: DataValue, x: DataValue, lane: u8) -> OpResult {
    match a {
        DataValue::V128(ty, mut b)
            if x.ty() == ty.lane_type() && (lane as u32) < ty.lane_count() =>
        {
            let bits = x.scalar_bits().unwrap_or(0);
            set_lane(&mut b, lane as usize, ty.lane_bits(), bits);
            Ok(DataValue::V128(ty, b))
        }
        _ => Err(operand_error(Opcode::Insertlane, &[a, x])),
    }
}

/// Value of a sub-word or full load: `bytes` read from memory (little-endian), extended to
/// `to` as `op` says.
pub(super) fn load_value(op: Opcode, to: Type, bytes: &[u8]) -> OpResult {
    match op {
        Opcode::Load | Opcode::StackLoad => DataValue::from_le_bytes(to, bytes)
            .ok_or_else(|| type_error(op, "access size does not match the type")),
        Opcode::Uload8
        | Opcode::Sload8
        | Opcode::Uload16
        | Opcode::Sload16
        | Opcode::Uload32
        | Opcode::Sload32 => {
            let n = bytes.len();
            if !to.is_int_scalar() || n >= to.bytes() as usize || n > 8 {
                return Err(type_error(op, &format!("cannot extend to {to}")));
            }
            let mut buf = [0u8; 8];
            buf[..n].copy_from_slice(bytes);
            let x = u64::from_le_bytes(buf);
            let signed = matches!(op, Opcode::Sload8 | Opcode::Sload16 | Opcode::Sload32);
            let x = if signed {
                sext(x, n as u32 * 8) as u64
            } else {
                x
            };
            DataValue::from_int(to, x).ok_or_else(|| type_error(op, "bad result type"))
        }
        Opcode::LoadSplat | Opcode::LoadZero if to.is_vector() => {
            let lane = DataValue::from_le_bytes(to.lane_type(), bytes)
                .ok_or_else(|| type_error(op, "access size does not match the lane"))?;
            if op == Opcode::LoadSplat {
                let mut out = [0u8; 16];
                for chunk in out.chunks_mut(bytes.len()) {
                    chunk.copy_from_slice(bytes);
                }
                Ok(DataValue::V128(to, out))
            } else {
                insertlane(DataValue::V128(to, [0; 16]), lane, 0)
            }
        }
        Opcode::SloadWiden | Opcode::UloadWiden
            if matches!(to, Type::I16X8 | Type::I32X4 | Type::I64X2) && bytes.len() == 8 =>
        {
            let narrow = match to {
                Type::I16X8 => Type::I8X16,
                Type::I32X4 => Type::I16X8,
                _ => Type::I32X4,
            };
            let mut v = [0u8; 16];
            v[..8].copy_from_slice(bytes);
            let widen = if op == Opcode::SloadWiden {
                Opcode::SwidenLow
            } else {
                Opcode::UwidenLow
            };
            super::vector::convert(widen, to, DataValue::V128(narrow, v))
        }
        _ => Err(type_error(op, &format!("cannot load {to}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_op_widths() {
        // i8 wrap
        assert_eq!(
            binary(Opcode::Iadd, DataValue::I8(127), DataValue::I8(1)),
            Ok(DataValue::I8(-128))
        );
        // rotations of an i16 by >= width
        assert_eq!(
            binary(Opcode::Rotl, DataValue::I16(0x1234), DataValue::I16(20)),
            Ok(DataValue::I16(0x2341))
        );
        assert_eq!(
            binary(Opcode::Rotr, DataValue::I16(0x1234), DataValue::I16(4)),
            Ok(DataValue::I16(0x4123))
        );
        // sshr of negative i8 by 9 == by 1
        assert_eq!(
            binary(Opcode::Sshr, DataValue::I8(-128), DataValue::I8(9)),
            Ok(DataValue::I8(-64))
        );
        assert_eq!(
            binary(Opcode::Ushr, DataValue::I8(-128), DataValue::I8(9)),
            Ok(DataValue::I8(64))
        );
        // mixed types are an error, not a panic
        assert!(matches!(
            binary(Opcode::Iadd, DataValue::I8(1), DataValue::I16(1)),
            Err(Outcome::Error(_))
        ));
        assert!(matches!(
            binary(Opcode::Fadd, DataValue::I8(1), DataValue::I8(1)),
            Err(Outcome::Error(_))
        ));
    }

    #[test]
    fn to_int_boundaries() {
        // i32 signed: [-2^31, 2^31)
        assert_eq!(
            to_int_trapping(-2147483648.0, 32, true),
            Ok((-2147483648i64) as u64)
        );
        assert_eq!(
            to_int_trapping(-2147483648.9, 32, true),
            Ok((-2147483648i64) as u64)
        );
        assert_eq!(
            to_int_trapping(-2147483649.0, 32, true),
            Err(trap(TrapCode::IntegerOverflow))
        );
        assert_eq!(to_int_trapping(2147483647.9, 32, true), Ok(2147483647));
        assert_eq!(
            to_int_trapping(2147483648.0, 32, true),
            Err(trap(TrapCode::IntegerOverflow))
        );
        // unsigned: (-1, 2^bits)
        assert_eq!(to_int_trapping(-0.9, 32, false), Ok(0));
        assert_eq!(
            to_int_trapping(-1.0, 32, false),
            Err(trap(TrapCode::IntegerOverflow))
        );
        assert_eq!(to_int_trapping(4294967295.5, 32, false), Ok(4294967295));
        assert_eq!(
            to_int_trapping(4294967296.0, 32, false),
            Err(trap(TrapCode::IntegerOverflow))
        );
        assert_eq!(
            to_int_trapping(18446744073709549568.0, 64, false),
            Ok(18446744073709549568)
        );
        assert_eq!(
            to_int_trapping(18446744073709551616.0, 64, false),
            Err(trap(TrapCode::IntegerOverflow))
        );
        assert_eq!(
            to_int_trapping(-9223372036854775808.0, 64, true),
            Ok(i64::MIN as u64)
        );
        assert_eq!(
            to_int_trapping(9223372036854775808.0, 64, true),
            Err(trap(TrapCode::IntegerOverflow))
        );
        assert_eq!(
            to_int_trapping(f64::NAN, 64, true),
            Err(trap(TrapCode::BadConversionToInteger))
        );
        assert_eq!(
            to_int_trapping(f64::INFINITY, 64, false),
            Err(trap(TrapCode::IntegerOverflow))
        );
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn i32_op(op: Opcode, a: i32, b: i32) -> Result<i32, Outcome> {
        match binary(op, DataValue::I32(a), DataValue::I32(b))? {
            DataValue::I32(r) => Ok(r),
            v => panic!("{v:?}"),
        }
    }

    proptest! {
        /// Integer ops agree with Rust's native i32 / u32 operations (an independent
        /// statement of the same wrapping semantics).
        #[test]
        fn i32_ops_match_native(a: i32, b: i32) {
            prop_assert_eq!(i32_op(Opcode::Iadd, a, b), Ok(a.wrapping_add(b)));
            prop_assert_eq!(i32_op(Opcode::Isub, a, b), Ok(a.wrapping_sub(b)));
            prop_assert_eq!(i32_op(Opcode::Imul, a, b), Ok(a.wrapping_mul(b)));
            prop_assert_eq!(i32_op(Opcode::Ishl, a, b), Ok(a.wrapping_shl(b as u32)));
            prop_assert_eq!(i32_op(Opcode::Sshr, a, b), Ok(a.wrapping_shr(b as u32)));
            prop_assert_eq!(
                i32_op(Opcode::Ushr, a, b),
                Ok((a as u32).wrapping_shr(b as u32) as i32)
            );
            prop_assert_eq!(i32_op(Opcode::Rotl, a, b), Ok(a.rotate_left(b as u32 % 32)));
            prop_assert_eq!(i32_op(Opcode::Rotr, a, b), Ok(a.rotate_right(b as u32 % 32)));
            prop_assert_eq!(
                i32_op(Opcode::Umulhi, a, b),
                Ok(((a as u32 as u64 * b as u32 as u64) >> 32) as i32)
            );
            prop_assert_eq!(
                i32_op(Opcode::Smulhi, a, b),
                Ok(((a as i64 * b as i64) >> 32) as i32)
            );
            if b != 0 {
                prop_assert_eq!(i32_op(Opcode::Udiv, a, b), Ok(((a as u32) / (b as u32)) as i32));
                prop_assert_eq!(i32_op(Opcode::Urem, a, b), Ok(((a as u32) % (b as u32)) as i32));
                prop_assert_eq!(i32_op(Opcode::Srem, a, b), Ok(a.wrapping_rem(b)));
                match a.checked_div(b) {
                    Some(q) => prop_assert_eq!(i32_op(Opcode::Sdiv, a, b), Ok(q)),
                    None => prop_assert_eq!(
                        i32_op(Opcode::Sdiv, a, b),
                        Err(Outcome::Trapped(TrapCode::IntegerOverflow))
                    ),
                }
            }
        }

        /// Trapping float-to-int conversion agrees with Rust's checked semantics: it
        /// succeeds exactly when the saturating cast is exact for the truncated value.
        #[test]
        fn f64_to_i32_trap_iff_out_of_range(x: f64) {
            let r = convert(Opcode::FcvtToSint, Type::I32, DataValue::f64(x));
            if x.is_nan() {
                prop_assert_eq!(r, Err(Outcome::Trapped(TrapCode::BadConversionToInteger)));
            } else if x.trunc() >= -2147483648.0 && x.trunc() <= 2147483647.0 {
                prop_assert_eq!(r, Ok(DataValue::I32(x as i32)));
            } else {
                prop_assert_eq!(r, Err(Outcome::Trapped(TrapCode::IntegerOverflow)));
            }
        }
    }

    #[test]
    fn promote_and_demote_keep_nan_payloads_like_the_hardware() {
        // Values observed on x86_64 (cvtss2sd/cvtsd2ss) and AArch64 (fcvt) under emulation.
        assert_eq!(demote_nan(0xffff_ffff_7fff_ffff), 0xffff_fffb);
        assert_eq!(demote_nan(0x7ff0_0000_0000_0001), 0x7fc0_0000);
        assert_eq!(promote_nan(0xffff_ff7f), 0xffff_ffef_e000_0000);
        assert_eq!(promote_nan(0x7f80_0001), 0x7ff8_0000_2000_0000);
    }
}
