//! Runtime values shared by every engine (the IR interpreter, emulated x86_64 and AArch64).
//!
//! [`DataValue`] holds one Kiln IR value. Invariants:
//! - the variant determines the type exactly ([`DataValue::ty`]); integers are stored in
//!   their own width, so they are always canonical (no stray high bits);
//! - floats are stored as raw IEEE bits, so NaN payloads and signed zeros survive every
//!   copy, and `==` (derived) compares bits;
//! - vectors carry their type and 16 little-endian bytes (lane 0 in the lowest bytes).
//!
//! Comparing results of different engines or against run directives goes through
//! [`DataValue::bits_equal`] and
//! [`DataValue::eq_nan_agnostic`]; see their docs for the NaN rules.

use core::fmt;
use kiln::ir::text::literals::{format_int, write_f32, write_f64};
use kiln::ir::Type;

/// One value of a Kiln IR type. `Copy`, 24 bytes.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum DataValue {
    /// `i8`
    I8(i8),
    /// `i16`
    I16(i16),
    /// `i32`
    I32(i32),
    /// `i64`
    I64(i64),
    /// `f32`, as raw bits.
    F32(u32),
    /// `f64`, as raw bits.
    F64(u64),
    /// A 128-bit vector of the given vector type, little-endian lane order.
    V128(Type, [u8; 16]),
}

/// The little-endian bytes of one value (see [`DataValue::to_le_bytes`]): derefs to a
/// slice of exactly the value's size.
#[derive(Copy, Clone, Debug)]
pub struct LeBytes {
    buf: [u8; 16],
    len: u8,
}

impl core::ops::Deref for LeBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

impl DataValue {
    /// The value's type.
    pub fn ty(&self) -> Type {
        match self {
            DataValue::I8(_) => Type::I8,
            DataValue::I16(_) => Type::I16,
            DataValue::I32(_) => Type::I32,
            DataValue::I64(_) => Type::I64,
            DataValue::F32(_) => Type::F32,
            DataValue::F64(_) => Type::F64,
            DataValue::V128(t, _) => *t,
        }
    }

    /// The all-zero value of `ty`.
    pub fn zero(ty: Type) -> DataValue {
        match ty {
            Type::I8 => DataValue::I8(0),
            Type::I16 => DataValue::I16(0),
            Type::I32 => DataValue::I32(0),
            Type::I64 => DataValue::I64(0),
            Type::F32 => DataValue::F32(0),
            Type::F64 => DataValue::F64(0),
            t => DataValue::V128(t, [0; 16]),
        }
    }

    /// An integer scalar of type `ty` from the low bits of `bits` (truncating). `None` when
    /// `ty` is not an integer scalar.
    #[inline]
    pub fn from_int(ty: Type, bits: u64) -> Option<DataValue> {
        Some(match ty {
            Type::I8 => DataValue::I8(bits as i8),
            Type::I16 => DataValue::I16(bits as i16),
            Type::I32 => DataValue::I32(bits as i32),
            Type::I64 => DataValue::I64(bits as i64),
            _ => return None,
        })
    }

    /// A scalar (integer or float) of type `ty` from the low `ty.bits()` bits of `bits`.
    /// `None` for vector types.
    #[inline]
    pub fn from_scalar_bits(ty: Type, bits: u64) -> Option<DataValue> {
        match ty {
            Type::F32 => Some(DataValue::F32(bits as u32)),
            Type::F64 => Some(DataValue::F64(bits)),
            t => DataValue::from_int(t, bits),
        }
    }

    /// An `f32` from a Rust float.
    pub fn f32(v: f32) -> DataValue {
        DataValue::F32(v.to_bits())
    }

    /// An `f64` from a Rust float.
    pub fn f64(v: f64) -> DataValue {
        DataValue::F64(v.to_bits())
    }

    /// A vector from its lanes (each given as raw bits, lane 0 first). `None` when `ty` is
    /// not a vector type or the lane count is wrong.
    pub fn vector_from_lanes(ty: Type, lanes: &[u64]) -> Option<DataValue> {
        if !ty.is_vector() || lanes.len() != ty.lane_count() as usize {
            return None;
        }
        let w = ty.lane_bits() as usize / 8;
        let mut bytes = [0u8; 16];
        for (i, &l) in lanes.iter().enumerate() {
            bytes[i * w..(i + 1) * w].copy_from_slice(&l.to_le_bytes()[..w]);
        }
        Some(DataValue::V128(ty, bytes))
    }

    /// Raw bits of a scalar, zero-extended to 64 bits (`None` for vectors).
    #[inline]
    pub fn scalar_bits(&self) -> Option<u64> {
        Some(match *self {
            DataValue::I8(v) => v as u8 as u64,
            DataValue::I16(v) => v as u16 as u64,
            DataValue::I32(v) => v as u32 as u64,
            DataValue::I64(v) => v as u64,
            DataValue::F32(b) => b as u64,
            DataValue::F64(b) => b,
            DataValue::V128(..) => return None,
        })
    }

    /// An integer scalar's value sign-extended to `i64` (`None` for floats and vectors).
    #[inline]
    pub fn as_i64(&self) -> Option<i64> {
        Some(match *self {
            DataValue::I8(v) => v as i64,
            DataValue::I16(v) => v as i64,
            DataValue::I32(v) => v as i64,
            DataValue::I64(v) => v,
            _ => return None,
        })
    }

    /// An integer scalar's value zero-extended to `u64` (`None` for floats and vectors).
    #[inline]
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            DataValue::I8(_) | DataValue::I16(_) | DataValue::I32(_) | DataValue::I64(_) => {
                self.scalar_bits()
            }
            _ => None,
        }
    }

    /// The value's bytes in memory order (little-endian): exactly `ty().bytes()` of them.
    /// Allocation-free (derefs to `[u8]`).
    #[inline]
    pub fn to_le_bytes(&self) -> LeBytes {
        match *self {
            DataValue::V128(_, b) => LeBytes { buf: b, len: 16 },
            _ => {
                let mut buf = [0u8; 16];
                buf[..8].copy_from_slice(&self.scalar_bits().unwrap_or(0).to_le_bytes());
                LeBytes {
                    buf,
                    len: self.ty().bytes() as u8,
                }
            }
        }
    }

    /// Read a value of type `ty` from exactly `ty.bytes()` little-endian bytes. `None` when
    /// `bytes` has the wrong length.
    #[inline]
    pub fn from_le_bytes(ty: Type, bytes: &[u8]) -> Option<DataValue> {
        if bytes.len() != ty.bytes() as usize {
            return None;
        }
        if ty.is_vector() {
            let mut b = [0u8; 16];
            b.copy_from_slice(bytes);
            return Some(DataValue::V128(ty, b));
        }
        let mut b = [0u8; 8];
        b[..bytes.len()].copy_from_slice(bytes);
        DataValue::from_scalar_bits(ty, u64::from_le_bytes(b))
    }

    /// Lane `i` of a vector (as a scalar of the lane type), or the value itself for a
    /// scalar with `i == 0`. `None` when out of range.
    pub fn lane(&self, i: u32) -> Option<DataValue> {
        match *self {
            DataValue::V128(ty, b) => {
                if i >= ty.lane_count() {
                    return None;
                }
                let w = lane_bytes(ty);
                let s = i as usize * w;
                DataValue::from_le_bytes(ty.lane_type(), &b[s..s + w])
            }
            v if i == 0 => Some(v),
            _ => None,
        }
    }

    /// Exactly the same type and bits (NaN payloads and zero signs included).
    pub fn bits_equal(&self, other: &DataValue) -> bool {
        self == other
    }

    /// Is this a float scalar holding a NaN?
    pub fn is_nan(&self) -> bool {
        match self.scalar_bits() {
            Some(bits) => is_nan(bits, self.ty()),
            None => false,
        }
    }

    /// Equality for comparing two engines: same type and bits, except that two NaNs in the
    /// same float position (scalar or lane) are equal whatever their payloads and signs.
    /// (NaN bits produced by arithmetic differ between hardware and are not part of the IR
    /// semantics; bit-preserving operations are checked by [`Self::bits_equal`].)
    pub fn eq_nan_agnostic(&self, other: &DataValue) -> bool {
        self.lanes_match(other, |a, b, ty| a == b || (is_nan(a, ty) && is_nan(b, ty)))
    }

    /// Same type, and every lane (or the scalar) satisfies `f(self_bits, other_bits,
    /// lane_type)`; integer lanes must be bit-equal.
    fn lanes_match(&self, other: &DataValue, f: impl Fn(u64, u64, Type) -> bool) -> bool {
        let ty = self.ty();
        if ty != other.ty() {
            return false;
        }
        if !ty.is_float() {
            return self == other;
        }
        let lt = ty.lane_type();
        (0..ty.lane_count()).all(|i| {
            let a = self.lane(i).and_then(|v| v.scalar_bits());
            let b = other.lane(i).and_then(|v| v.scalar_bits());
            match (a, b) {
                (Some(a), Some(b)) => f(a, b, lt),
                _ => false,
            }
        })
    }
}

fn is_nan(bits: u64, ty: Type) -> bool {
    match ty {
        Type::F32 => f32::from_bits(bits as u32).is_nan(),
        Type::F64 => f64::from_bits(bits).is_nan(),
        _ => false,
    }
}

/// Bytes per lane of `ty` (the whole size for scalars).
#[inline]
fn lane_bytes(ty: Type) -> usize {
    ty.lane_bits() as usize / 8
}

impl fmt::Display for DataValue {
    /// The `.kir` literal form: signed decimal integers, floats as the printer writes them
    /// (`1.5`, `-0.0`, `inf`, `nan`, `nan:0x1`), vectors as `[l0 l1 ...]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DataValue::V128(ty, _) => {
                f.write_str("[")?;
                for i in 0..ty.lane_count() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    match self.lane(i) {
                        Some(l) => write!(f, "{l}")?,
                        None => f.write_str("?")?,
                    }
                }
                f.write_str("]")
            }
            DataValue::F32(b) => {
                let mut s = String::new();
                write_f32(&mut s, b);
                f.write_str(&s)
            }
            DataValue::F64(b) => {
                let mut s = String::new();
                write_f64(&mut s, b);
                f.write_str(&s)
            }
            v => {
                let n = v.as_i64().unwrap_or(0);
                f.write_str(&format_int(n, v.ty()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_canonical_ints() {
        for v in [
            DataValue::I8(-1),
            DataValue::I16(-2),
            DataValue::I32(0x1234_5678),
            DataValue::I64(i64::MIN),
            DataValue::F32(0x7f80_0001),
            DataValue::F64(0x8000_0000_0000_0000),
        ] {
            let b = v.to_le_bytes();
            assert_eq!(b.len(), v.ty().bytes() as usize);
            assert_eq!(DataValue::from_le_bytes(v.ty(), &b), Some(v));
        }
        assert_eq!(*DataValue::I32(0x0102_0304).to_le_bytes(), [4, 3, 2, 1]);
        assert_eq!(
            DataValue::from_int(Type::I8, 0x1ff),
            Some(DataValue::I8(-1))
        );
        assert_eq!(DataValue::I8(-1).as_u64(), Some(0xff));
        assert_eq!(DataValue::I16(-1).as_i64(), Some(-1));
        assert_eq!(DataValue::from_le_bytes(Type::I32, &[1, 2]), None);
    }

    #[test]
    fn display_uses_kir_literals() {
        assert_eq!(DataValue::I8(-1).to_string(), "-1");
        assert_eq!(DataValue::I64(i64::MIN).to_string(), "-9223372036854775808");
        assert_eq!(DataValue::f32(1.5).to_string(), "1.5");
        assert_eq!(DataValue::f64(-0.0).to_string(), "-0.0");
        assert_eq!(DataValue::F32(0x7fc0_0000).to_string(), "nan");
        assert_eq!(DataValue::F32(0xff80_0000).to_string(), "-inf");
        assert_eq!(DataValue::F32(0x7f80_0001).to_string(), "nan:0x1");
        let v = DataValue::vector_from_lanes(Type::I32X4, &[1, 2, 3, 0xffff_ffff]).unwrap();
        assert_eq!(v.to_string(), "[1 2 3 -1]");
        let v = DataValue::vector_from_lanes(
            Type::F64X2,
            &[0x3ff8_0000_0000_0000, 0x7ff8_0000_0000_0000],
        )
        .unwrap();
        assert_eq!(v.to_string(), "[1.5 nan]");
    }

    #[test]
    fn nan_agnostic_equality() {
        let neg_qnan = DataValue::F32(0xffc0_0000);
        let snan = DataValue::F32(0x7f80_0001);
        assert!(snan.is_nan() && !DataValue::f32(1.0).is_nan() && !DataValue::I32(-1).is_nan());
        // Engine comparison: NaN == NaN, other bits exact.
        assert!(snan.eq_nan_agnostic(&neg_qnan));
        assert!(!snan.bits_equal(&neg_qnan));
        assert!(!DataValue::f64(0.0).eq_nan_agnostic(&DataValue::f64(-0.0)));
        // Integer vectors never treat lanes as NaN.
        let iv = DataValue::vector_from_lanes(Type::I32X4, &[0x7fc0_0000, 0, 0, 0]).unwrap();
        let iw = DataValue::vector_from_lanes(Type::I32X4, &[0x7fc0_0001, 0, 0, 0]).unwrap();
        assert!(!iw.eq_nan_agnostic(&iv));
    }
}
