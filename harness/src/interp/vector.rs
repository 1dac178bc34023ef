//! Lane-wise semantics of the vector operations: integer and float arithmetic on lanes,
//! saturation, min/max, shifts by a scalar, comparisons to lane masks, reductions
//! (`vany_true`, `vall_true`, `vhigh_bits`), permutations (`shuffle`, `swizzle`),
//! narrowing/widening and the vector conversions.
//!
//! Every function works on the 16 little-endian bytes of [`DataValue::V128`] and checks
//! operand types; a wrong type is [`Outcome::Error`], never a panic. Float lanes follow the
//! scalar NaN policy of [`super::ops`] lane by lane (a computed NaN lane is the canonical
//! NaN; `fneg`/`fabs` and the pseudo-min/max keep bits), so results do not depend on the
//! host CPU.

use super::ops::{self, f32_binary, f32_unary, f64_binary, f64_unary, promote_nan, sext, OpResult};
use crate::outcome::Outcome;
use crate::value::DataValue;
use kiln::ir::{FloatCC, Opcode, Type};

/// Read lane `i` (width `w` bits) of little-endian vector bytes, zero-extended.
#[inline]
pub(super) fn get_lane(b: &[u8; 16], i: usize, w: u32) -> u64 {
    let n = w as usize / 8;
    let mut buf = [0u8; 8];
    buf[..n].copy_from_slice(&b[i * n..(i + 1) * n]);
    u64::from_le_bytes(buf)
}

/// Write the low `w` bits of `x` into lane `i`.
#[inline]
pub(super) fn set_lane(b: &mut [u8; 16], i: usize, w: u32, x: u64) {
    let n = w as usize / 8;
    b[i * n..(i + 1) * n].copy_from_slice(&x.to_le_bytes()[..n]);
}

fn bad(op: Opcode, vals: &[DataValue]) -> Outcome {
    let tys: Vec<&str> = vals.iter().map(|v| v.ty().name()).collect();
    ops::type_error(
        op,
        &format!("unsupported operand types ({})", tys.join(", ")),
    )
}

/// Build a vector of `ty` lane by lane.
fn lanes(ty: Type, mut f: impl FnMut(usize) -> u64) -> DataValue {
    let w = ty.lane_bits();
    let mut out = [0u8; 16];
    for i in 0..ty.lane_count() as usize {
        set_lane(&mut out, i, w, f(i));
    }
    DataValue::V128(ty, out)
}

/// Clamp `x` to the signed (or unsigned) range of `w` bits.
fn saturate(x: i128, w: u32, signed: bool) -> u64 {
    let (lo, hi) = if signed {
        (-(1i128 << (w - 1)), (1i128 << (w - 1)) - 1)
    } else {
        (0, (1i128 << w) - 1)
    };
    x.clamp(lo, hi) as u64
}

/// A lane-wise integer operation on `w`-bit lanes; `None` if `op` is not one.
fn int_lane(op: Opcode, x: u64, y: u64, w: u32) -> Option<u64> {
    let (sx, sy) = (sext(x, w) as i128, sext(y, w) as i128);
    let (ux, uy) = (x as i128, y as i128);
    Some(match op {
        Opcode::Iadd => x.wrapping_add(y),
        Opcode::Isub => x.wrapping_sub(y),
        Opcode::Imul => x.wrapping_mul(y),
        Opcode::Band => x & y,
        Opcode::Bor => x | y,
        Opcode::Bxor => x ^ y,
        Opcode::BandNot => x & !y,
        Opcode::SaddSat => saturate(sx + sy, w, true),
        Opcode::SsubSat => saturate(sx - sy, w, true),
        Opcode::UaddSat => saturate(ux + uy, w, false),
        Opcode::UsubSat => saturate(ux - uy, w, false),
        Opcode::Smin => sx.min(sy) as u64,
        Opcode::Smax => sx.max(sy) as u64,
        Opcode::Umin => x.min(y),
        Opcode::Umax => x.max(y),
        Opcode::AvgRound => ((ux + uy + 1) >> 1) as u64,
        _ => return None,
    })
}

/// Which vector types each lane-wise integer binary opcode accepts.
fn int_binary_accepts(op: Opcode, ty: Type) -> bool {
    match op {
        Opcode::Iadd
        | Opcode::Isub
        | Opcode::Imul
        | Opcode::Band
        | Opcode::Bor
        | Opcode::Bxor
        | Opcode::BandNot => ty.is_int(),
        Opcode::SaddSat
        | Opcode::SsubSat
        | Opcode::UaddSat
        | Opcode::UsubSat
        | Opcode::AvgRound => {
            matches!(ty, Type::I8X16 | Type::I16X8)
        }
        Opcode::Smin | Opcode::Smax | Opcode::Umin | Opcode::Umax => {
            matches!(ty, Type::I8X16 | Type::I16X8 | Type::I32X4)
        }
        _ => false,
    }
}

/// One float lane of a binary operation.
fn float_lane(op: Opcode, lane: Type, x: u64, y: u64) -> Result<u64, Outcome> {
    let lt = |a: u64, b: u64| match lane {
        Type::F32 => f32::from_bits(a as u32) < f32::from_bits(b as u32),
        _ => f64::from_bits(a) < f64::from_bits(b),
    };
    Ok(match op {
        // Pseudo-min/max return an operand unchanged (NaNs included).
        Opcode::FminPseudo => {
            if lt(y, x) {
                y
            } else {
                x
            }
        }
        Opcode::FmaxPseudo => {
            if lt(x, y) {
                y
            } else {
                x
            }
        }
        _ if lane == Type::F32 => u64::from(f32_binary(op, x as u32, y as u32)?),
        _ => f64_binary(op, x, y)?,
    })
}

/// Binary operations on two vectors of the same type, and vector shifts (`a` a vector,
/// `b` an `i32` amount taken modulo the lane width).
pub(super) fn binary(op: Opcode, a: DataValue, b: DataValue) -> OpResult {
    let err = || bad(op, &[a, b]);
    let DataValue::V128(ty, x) = a else {
        return Err(err());
    };
    let w = ty.lane_bits();
    if matches!(op, Opcode::Ishl | Opcode::Ushr | Opcode::Sshr) {
        let (DataValue::I32(amt), true) = (b, ty.is_int()) else {
            return Err(err());
        };
        let amt = (amt as u32 % w) as u64;
        return Ok(lanes(ty, |i| {
            let v = get_lane(&x, i, w);
            match op {
                Opcode::Ishl => v << amt,
                Opcode::Ushr => v >> amt,
                _ => (sext(v, w) >> amt) as u64,
            }
        }));
    }
    let DataValue::V128(tb, y) = b else {
        return Err(err());
    };
    if ty != tb {
        return Err(err());
    }
    match op {
        Opcode::Swizzle if ty == Type::I8X16 => {
            Ok(lanes(ty, |i| x.get(y[i] as usize).map_or(0, |&v| v.into())))
        }
        Opcode::Snarrow | Opcode::Unarrow => Err(err()),
        _ if ty.is_float() => {
            let mut out = [0u8; 16];
            for i in 0..ty.lane_count() as usize {
                let r = float_lane(op, ty.lane_type(), get_lane(&x, i, w), get_lane(&y, i, w))?;
                set_lane(&mut out, i, w, r);
            }
            Ok(DataValue::V128(ty, out))
        }
        _ if int_binary_accepts(op, ty) => {
            let mut out = [0u8; 16];
            for i in 0..ty.lane_count() as usize {
                let r = int_lane(op, get_lane(&x, i, w), get_lane(&y, i, w), w).ok_or_else(err)?;
                set_lane(&mut out, i, w, r);
            }
            Ok(DataValue::V128(ty, out))
        }
        _ => Err(err()),
    }
}

/// The two-operand operations whose result lanes are wider than the operands':
/// `swiden_mul_low/high`, `uwiden_mul_low/high` (to `to`) and `sdot` (to `i32x4`).
pub(super) fn widening(op: Opcode, to: Type, a: DataValue, b: DataValue) -> OpResult {
    let err = || bad(op, &[a, b]);
    let (DataValue::V128(ta, x), DataValue::V128(tb, y)) = (a, b) else {
        return Err(err());
    };
    let (wi, wo) = (ta.lane_bits(), to.lane_bits());
    if ta != tb || !ta.is_int() || !to.is_int() || !to.is_vector() || wo != 2 * wi {
        return Err(err());
    }
    let n = ta.lane_count() as usize;
    let signed = matches!(
        op,
        Opcode::SwidenMulLow | Opcode::SwidenMulHigh | Opcode::Sdot
    );
    let ext = |v: &[u8; 16], i: usize| {
        let l = get_lane(v, i, wi);
        if signed {
            sext(l, wi) as u64
        } else {
            l
        }
    };
    let product = |i: usize| ext(&x, i).wrapping_mul(ext(&y, i));
    Ok(match op {
        Opcode::SwidenMulLow | Opcode::UwidenMulLow => lanes(to, product),
        Opcode::SwidenMulHigh | Opcode::UwidenMulHigh => lanes(to, |i| product(n / 2 + i)),
        Opcode::Sdot if ta == Type::I16X8 => {
            lanes(to, |i| product(2 * i).wrapping_add(product(2 * i + 1)))
        }
        _ => return Err(err()),
    })
}

/// `sqmul_round_sat` on `i16x8`: `sat16((a * b + 0x4000) >> 15)` per lane.
pub(super) fn sqmul_round_sat(a: DataValue, b: DataValue) -> OpResult {
    match (a, b) {
        (DataValue::V128(Type::I16X8, x), DataValue::V128(Type::I16X8, y)) => {
            Ok(lanes(Type::I16X8, |i| {
                let p = sext(get_lane(&x, i, 16), 16) * sext(get_lane(&y, i, 16), 16);
                saturate(i128::from((p + 0x4000) >> 15), 16, true)
            }))
        }
        _ => Err(bad(Opcode::SqmulRoundSat, &[a, b])),
    }
}

/// `snarrow`/`unarrow` to `to`: the lanes of `a`, then of `b`, saturated.
pub(super) fn narrow(op: Opcode, to: Type, a: DataValue, b: DataValue) -> OpResult {
    let err = || bad(op, &[a, b]);
    match (a, b) {
        (DataValue::V128(ta, x), DataValue::V128(tb, y))
            if ta == tb
                && matches!(
                    (ta, to),
                    (Type::I16X8, Type::I8X16) | (Type::I32X4, Type::I16X8)
                ) =>
        {
            let (wi, wo) = (ta.lane_bits(), to.lane_bits());
            let n = ta.lane_count() as usize;
            let signed = op == Opcode::Snarrow;
            Ok(lanes(to, |i| {
                let src = if i < n { &x } else { &y };
                let v = sext(get_lane(src, i % n, wi), wi) as i128;
                saturate(v, wo, signed)
            }))
        }
        _ => Err(err()),
    }
}

/// Unary operations on one vector whose result has the operand's type, plus the
/// reductions (`vany_true`, `vall_true` → `i8`; `vhigh_bits` → `i32`).
pub(super) fn unary(op: Opcode, a: DataValue) -> OpResult {
    let DataValue::V128(ty, x) = a else {
        return Err(bad(op, &[a]));
    };
    let w = ty.lane_bits();
    let n = ty.lane_count() as usize;
    let lane = |i| get_lane(&x, i, w);
    match op {
        Opcode::Bnot if ty.is_int() => Ok(lanes(ty, |i| !lane(i))),
        Opcode::Ineg if ty.is_int() => Ok(lanes(ty, |i| lane(i).wrapping_neg())),
        Opcode::Iabs if ty.is_int() => Ok(lanes(ty, |i| sext(lane(i), w).unsigned_abs())),
        Opcode::Popcnt if ty == Type::I8X16 => Ok(lanes(ty, |i| u64::from(lane(i).count_ones()))),
        Opcode::VanyTrue => Ok(DataValue::I8(x.iter().any(|&b| b != 0) as i8)),
        Opcode::VallTrue if ty.is_int() => Ok(DataValue::I8((0..n).all(|i| lane(i) != 0) as i8)),
        Opcode::VhighBits if ty.is_int() => {
            let bits = (0..n).fold(0u32, |acc, i| {
                acc | (((lane(i) >> (w - 1)) as u32 & 1) << i)
            });
            Ok(DataValue::I32(bits as i32))
        }
        _ if ty.is_float() => {
            let mut out = [0u8; 16];
            for i in 0..n {
                let r = match ty.lane_type() {
                    Type::F32 => u64::from(f32_unary(op, lane(i) as u32)?),
                    _ => f64_unary(op, lane(i))?,
                };
                set_lane(&mut out, i, w, r);
            }
            Ok(DataValue::V128(ty, out))
        }
        _ => Err(bad(op, &[a])),
    }
}

/// `fcmp` on float vectors: a lane mask of the same-shape integer vector.
pub(super) fn fcmp(cc: FloatCC, a: DataValue, b: DataValue) -> OpResult {
    match (a, b) {
        (DataValue::V128(ta, x), DataValue::V128(tb, y)) if ta == tb && ta.is_float() => {
            let w = ta.lane_bits();
            let f = |bits: u64| match w {
                32 => f32::from_bits(bits as u32) as f64,
                _ => f64::from_bits(bits),
            };
            Ok(lanes(ta.as_int(), |i| {
                let r = ops::float_cc(cc, f(get_lane(&x, i, w)), f(get_lane(&y, i, w)));
                if r {
                    u64::MAX
                } else {
                    0
                }
            }))
        }
        _ => Err(bad(Opcode::Fcmp, &[a, b])),
    }
}

/// `bitselect c, a, b`: `(a & c) | (b & !c)`.
pub(super) fn bitselect(c: DataValue, a: DataValue, b: DataValue) -> OpResult {
    match (c, a, b) {
        (DataValue::V128(tc, m), DataValue::V128(ta, x), DataValue::V128(tb, y))
            if tc == ta && ta == tb =>
        {
            let mut out = [0u8; 16];
            for i in 0..16 {
                out[i] = (x[i] & m[i]) | (y[i] & !m[i]);
            }
            Ok(DataValue::V128(ta, out))
        }
        _ => Err(bad(Opcode::Bitselect, &[c, a, b])),
    }
}

/// `shuffle a, b, mask`: byte `i` is byte `mask[i]` of `a:b`.
pub(super) fn shuffle(a: DataValue, b: DataValue, mask: &[u8; 16]) -> OpResult {
    match (a, b) {
        (DataValue::V128(Type::I8X16, x), DataValue::V128(Type::I8X16, y)) => {
            let mut out = [0u8; 16];
            for i in 0..16 {
                let k = mask[i] as usize;
                out[i] = match k {
                    0..=15 => x[k],
                    16..=31 => y[k - 16],
                    _ => return Err(ops::type_error(Opcode::Shuffle, "index not below 32")),
                };
            }
            Ok(DataValue::V128(Type::I8X16, out))
        }
        _ => Err(bad(Opcode::Shuffle, &[a, b])),
    }
}

/// Float to integer, saturating, NaN to 0 (Rust's `as` is exactly that).
fn to_int_sat(x: f64, signed: bool) -> u64 {
    if signed {
        x as i32 as u32 as u64
    } else {
        x as u32 as u64
    }
}

/// The explicit-type vector conversions: widening, `fcvt_to_*_sat`, `fcvt_from_*`,
/// `fpromote`, `fdemote`. Where the lane counts differ, the low lanes of the operand are
/// converted (`f64x2 ← i32x4`, `f64x2 ← f32x4`) or the result's upper lanes are zero
/// (`i32x4 ← f64x2`, `f32x4 ← f64x2`).
pub(super) fn convert(op: Opcode, to: Type, a: DataValue) -> OpResult {
    let err = || ops::type_error(op, &format!("cannot produce {to} from {}", a.ty().name()));
    let DataValue::V128(from, x) = a else {
        return Err(err());
    };
    let (wi, wo) = (from.lane_bits(), to.lane_bits());
    let lane = |i: usize| get_lane(&x, i, wi);
    let as_f64 = |bits: u64| match wi {
        32 => f32::from_bits(bits as u32) as f64,
        _ => f64::from_bits(bits),
    };
    let n_in = from.lane_count() as usize;
    Ok(match op {
        Opcode::SwidenLow | Opcode::SwidenHigh | Opcode::UwidenLow | Opcode::UwidenHigh => {
            if !from.is_int() || wo != 2 * wi || !to.is_int() || !to.is_vector() {
                return Err(err());
            }
            let base = if matches!(op, Opcode::SwidenHigh | Opcode::UwidenHigh) {
                n_in / 2
            } else {
                0
            };
            let signed = matches!(op, Opcode::SwidenLow | Opcode::SwidenHigh);
            lanes(to, |i| {
                let v = lane(base + i);
                if signed {
                    sext(v, wi) as u64
                } else {
                    v
                }
            })
        }
        Opcode::SwidenAddPairwise | Opcode::UwidenAddPairwise => {
            if !matches!(from, Type::I8X16 | Type::I16X8)
                || wo != 2 * wi
                || !to.is_int()
                || !to.is_vector()
            {
                return Err(err());
            }
            let signed = op == Opcode::SwidenAddPairwise;
            let ext = |v: u64| if signed { sext(v, wi) as u64 } else { v };
            lanes(to, |i| ext(lane(2 * i)).wrapping_add(ext(lane(2 * i + 1))))
        }
        Opcode::FcvtToSintSat | Opcode::FcvtToUintSat if from.is_float() && to == Type::I32X4 => {
            let signed = op == Opcode::FcvtToSintSat;
            lanes(to, |i| {
                if i < n_in {
                    to_int_sat(as_f64(lane(i)), signed)
                } else {
                    0
                }
            })
        }
        Opcode::FcvtFromSint | Opcode::FcvtFromUint if from == Type::I32X4 && to.is_float() => {
            let signed = op == Opcode::FcvtFromSint;
            lanes(to, |i| {
                let v = lane(i);
                match (to.lane_type(), signed) {
                    (Type::F32, true) => u64::from((v as u32 as i32 as f32).to_bits()),
                    (Type::F32, false) => u64::from((v as u32 as f32).to_bits()),
                    (_, true) => (v as u32 as i32 as f64).to_bits(),
                    (_, false) => (v as u32 as f64).to_bits(),
                }
            })
        }
        Opcode::Fpromote if from == Type::F32X4 && to == Type::F64X2 => lanes(to, |i| {
            let bits = lane(i) as u32;
            let v = f32::from_bits(bits);
            if v.is_nan() {
                promote_nan(bits)
            } else {
                (v as f64).to_bits()
            }
        }),
        Opcode::Fdemote if from == Type::F64X2 && to == Type::F32X4 => lanes(to, |i| {
            if i >= n_in {
                return 0;
            }
            let bits = lane(i);
            let v = f64::from_bits(bits);
            u64::from(if v.is_nan() {
                ops::demote_nan(bits)
            } else {
                (v as f32).to_bits()
            })
        }),
        _ => return Err(err()),
    })
}
