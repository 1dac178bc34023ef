//! Value types of Kiln IR.
//!
//! Scalars `i8 i16 i32 i64 f32 f64` and the 128-bit vectors `i8x16 i16x8 i32x4 i64x2 f32x4
//! f64x2`. Addresses are `i64` on every target ([`Type::ADDR`]). Comparison results are
//! `i8` (0 or 1) for scalars and lane masks (all zeros or all ones) of the same-width integer
//! vector type for vectors.

use core::fmt;
use core::str::FromStr;

/// A value type. Variants are named after their text form (`I32X4` is `i32x4`).
#[allow(missing_docs)]
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[repr(u8)]
pub enum Type {
    I8,
    I16,
    I32,
    I64,
    F32,
    F64,
    I8X16,
    I16X8,
    I32X4,
    I64X2,
    F32X4,
    F64X2,
}

impl Type {
    /// Every type, in a fixed order (used by generators and tests).
    pub const ALL: [Type; 12] = [
        Type::I8,
        Type::I16,
        Type::I32,
        Type::I64,
        Type::F32,
        Type::F64,
        Type::I8X16,
        Type::I16X8,
        Type::I32X4,
        Type::I64X2,
        Type::F32X4,
        Type::F64X2,
    ];

    /// The type of addresses (pointers) on every Kiln target.
    pub const ADDR: Type = Type::I64;

    /// Width of the whole value in bits.
    pub const fn bits(self) -> u32 {
        match self {
            Type::I8 => 8,
            Type::I16 => 16,
            Type::I32 | Type::F32 => 32,
            Type::I64 | Type::F64 => 64,
            _ => 128,
        }
    }

    /// Width of the whole value in bytes.
    pub const fn bytes(self) -> u32 {
        self.bits() / 8
    }

    /// The lane type (the type itself for scalars).
    pub const fn lane_type(self) -> Type {
        match self {
            Type::I8X16 => Type::I8,
            Type::I16X8 => Type::I16,
            Type::I32X4 => Type::I32,
            Type::I64X2 => Type::I64,
            Type::F32X4 => Type::F32,
            Type::F64X2 => Type::F64,
            t => t,
        }
    }

    /// Number of lanes (1 for scalars).
    pub const fn lane_count(self) -> u32 {
        self.bits() / self.lane_type().bits()
    }

    /// Width of one lane in bits.
    pub const fn lane_bits(self) -> u32 {
        self.lane_type().bits()
    }

    /// A 128-bit vector type?
    pub const fn is_vector(self) -> bool {
        self.bits() == 128
    }

    /// Integer scalar or integer-lane vector?
    pub const fn is_int(self) -> bool {
        matches!(
            self.lane_type(),
            Type::I8 | Type::I16 | Type::I32 | Type::I64
        )
    }

    /// Float scalar or float-lane vector?
    pub const fn is_float(self) -> bool {
        matches!(self.lane_type(), Type::F32 | Type::F64)
    }

    /// An integer scalar?
    pub const fn is_int_scalar(self) -> bool {
        self.is_int() && !self.is_vector()
    }

    /// A float scalar?
    pub const fn is_float_scalar(self) -> bool {
        self.is_float() && !self.is_vector()
    }

    /// The vector of `lane` with 128 bits in all, if `lane` is a scalar.
    pub const fn vector_of(lane: Type) -> Option<Type> {
        match lane {
            Type::I8 => Some(Type::I8X16),
            Type::I16 => Some(Type::I16X8),
            Type::I32 => Some(Type::I32X4),
            Type::I64 => Some(Type::I64X2),
            Type::F32 => Some(Type::F32X4),
            Type::F64 => Some(Type::F64X2),
            _ => None,
        }
    }

    /// Is `lane` a lane of this type (a vector with more than `lane` lanes)?
    pub const fn has_lane(self, lane: u8) -> bool {
        self.is_vector() && (lane as u32) < self.lane_count()
    }

    /// The integer type of the same shape (lane width and count): `f32 -> i32`,
    /// `f64x2 -> i64x2`. Integer types map to themselves.
    pub const fn as_int(self) -> Type {
        match self {
            Type::F32 => Type::I32,
            Type::F64 => Type::I64,
            Type::F32X4 => Type::I32X4,
            Type::F64X2 => Type::I64X2,
            t => t,
        }
    }

    /// The type of a comparison result on operands of this type: `i8` for scalars, the
    /// same-shape integer vector for vectors.
    pub const fn compare_result(self) -> Type {
        if self.is_vector() {
            self.as_int()
        } else {
            Type::I8
        }
    }

    /// The text name (`i32`, `f64x2`).
    pub const fn name(self) -> &'static str {
        match self {
            Type::I8 => "i8",
            Type::I16 => "i16",
            Type::I32 => "i32",
            Type::I64 => "i64",
            Type::F32 => "f32",
            Type::F64 => "f64",
            Type::I8X16 => "i8x16",
            Type::I16X8 => "i16x8",
            Type::I32X4 => "i32x4",
            Type::I64X2 => "i64x2",
            Type::F32X4 => "f32x4",
            Type::F64X2 => "f64x2",
        }
    }

    /// Mask of the low `bits()` bits, for integer scalars (all ones for 64-bit and wider).
    pub const fn int_mask(self) -> u64 {
        let b = self.lane_bits();
        if b >= 64 {
            u64::MAX
        } else {
            (1u64 << b) - 1
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for a type name that isn't one of Kiln's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown type `{0}` (expected one of i8 i16 i32 i64 f32 f64 i8x16 i16x8 i32x4 i64x2 f32x4 f64x2)")]
pub struct UnknownType(pub String);

impl FromStr for Type {
    type Err = UnknownType;
    fn from_str(s: &str) -> Result<Type, UnknownType> {
        Type::ALL
            .iter()
            .copied()
            .find(|t| t.name() == s)
            .ok_or_else(|| UnknownType(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_shapes() {
        for t in Type::ALL {
            assert_eq!(t.name().parse::<Type>().unwrap(), t);
            assert_eq!(t.lane_count() * t.lane_bits(), t.bits());
        }
        assert_eq!(Type::F32X4.compare_result(), Type::I32X4);
        assert_eq!(Type::F64.compare_result(), Type::I8);
        assert!("i128".parse::<Type>().is_err());
    }
}
