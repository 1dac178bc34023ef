//! Operands chosen together rather than independently: edge-value pairs for trapping and
//! edge-sensitive operations, comparisons with the constant on the left or zero on the
//! right, float and vector values live across calls, and register pressure.
//!
//! - **Edge pairs.** Guards steer operands away from edge values, and independent draws
//!   almost never meet at one operation, so a quarter of divisions take both operands from
//!   a table of pairs (`MIN / -1`, `x / 0`, `MIN % -1`, ...), a quarter of shifts take an
//!   amount at or beyond the width, and a quarter of float/int conversions take an input at
//!   an exact bound (`±2³¹`, `2³²`, `2⁶³`, `-0.0`, NaN, ...). Trapping pairs are drawn only
//!   where an unguarded operation is allowed.
//! - **Opaque constants.** An edge value is either a plain constant (the lowering may
//!   fold it into an immediate or a special case) or *opaque*: `k + (x & 0)` for a pool
//!   value `x` (floats: a `bitcast` of that), so only the run time sees it.
//! - **Register pressure.** [`FnGen::pressure`] defines a dozen to three dozen float and
//!   vector values and folds them all at the end, so they are live at once; in a callee
//!   this clobbers most vector registers, and callers keep float and vector values live
//!   across calls ([`FnGen::live_across_call`]).

use super::FnGen;
use crate::gen::values::{below, chance};
use kiln::ir::{FloatCC, IntCC, MemFlags, Opcode, Type, Value};

/// Float inputs at exact bounds of float → integer conversions (as `f64`).
const CONVERSION_BOUNDS: &[f64] = &[
    2147483648.0,
    2147483647.0,
    2147483647.5,
    -2147483648.0,
    -2147483649.0,
    -2147483648.5,
    4294967296.0,
    4294967295.0,
    4294967295.5,
    9223372036854775808.0,
    -9223372036854775808.0,
    18446744073709551616.0,
    -1.0,
    -0.999,
    -0.0,
    0.0,
    0.5,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
];

/// `f32` bit patterns at exact conversion bounds that no `f64` above rounds to: the
/// largest floats below `2³¹`, `2³²`, `2⁶³` and `2⁶⁴`, and a negative NaN.
const F32_BOUND_BITS: &[u32] = &[
    0x4eff_ffff,
    0x4f7f_ffff,
    0x5eff_ffff,
    0x5f7f_ffff,
    0xffc0_0000,
];

/// Integer inputs at edges of integer → float conversions (rounding and sign).
const INT_CONVERSION_EDGES: &[i64] = &[
    i64::MIN,
    i64::MAX,
    -1,
    (1 << 53) + 1,
    (1 << 24) + 1,
    0x7fff_ffff,
    0xffff_ffff,
    1 << 31,
    -(1 << 31),
    (1 << 63) + 1025,
];

impl FnGen<'_, '_, '_, '_> {
    /// `k` of type `ty` (an integer scalar), plain or opaque (see the module docs).
    pub(super) fn edge_iconst(&mut self, ty: Type, k: i64) -> Option<Value> {
        let c = self.iconst(ty, k)?;
        if !(self.ok(Opcode::Band) && self.ok(Opcode::Iadd)) || chance(self.u, 1, 2) {
            return Some(c);
        }
        let x = self.pick(ty)?;
        let zero = self.iconst(ty, 0)?;
        let z = self.b.ins().band(x, zero);
        Some(self.b.ins().iadd(c, z))
    }

    /// A float of type `ty` with the given bits, plain or opaque.
    fn edge_fconst(&mut self, ty: Type, bits: u64) -> Option<Value> {
        if self.ok(Opcode::Bitcast) && chance(self.u, 1, 2) {
            let ity = ty.as_int();
            let i = self.edge_iconst(ity, bits as i64)?;
            let v = self.b.ins().bitcast(ty, i);
            self.set_taint(v, false);
            return Some(v);
        }
        self.fconst(ty, bits)
    }

    /// Operands of a comparison of type `ty`: usually two pool values, sometimes a fresh
    /// constant on the *left* (so a lowering that swaps operands must swap the condition),
    /// sometimes zero on the right (compare-with-zero forms).
    pub(super) fn cmp_operands(&mut self, ty: Type) -> Option<(Value, Value)> {
        match below(self.u, 8) {
            0 | 1 => {
                let k = self.konst(ty)?;
                let x = self.pick(ty)?;
                Some((k, x))
            }
            2 if !ty.is_vector() => {
                let x = self.pick(ty)?;
                let zero = if ty.is_float() {
                    self.fconst(ty, 0)?
                } else {
                    self.iconst(ty, 0)?
                };
                Some((x, zero))
            }
            _ => {
                let a = self.pick(ty)?;
                let b = self.pick(ty)?;
                Some((a, b))
            }
        }
    }

    /// A shift amount at or beyond the width of `ty` (or just below it, or negative):
    /// shifts are defined modulo the width and the engines must agree.
    pub(super) fn edge_shift_amount(&mut self, ty: Type) -> Option<Value> {
        let w = i64::from(ty.bits());
        let amounts = [
            w,
            w + 1,
            w - 1,
            2 * w,
            2 * w - 1,
            -1,
            -w,
            63,
            64,
            65,
            127,
            128,
            255,
        ];
        let k = amounts[below(self.u, amounts.len())];
        self.edge_iconst(ty, k)
    }

    /// Dividend and divisor from a table of edge pairs for `op` at `ty`; pairs that trap
    /// (`x / 0`, signed `MIN / -1`) only when `may_trap`.
    pub(super) fn div_edge_pair(
        &mut self,
        op: Opcode,
        ty: Type,
        may_trap: bool,
    ) -> Option<(Value, Value)> {
        let min = 1i64.wrapping_shl(ty.bits() - 1);
        let max = min.wrapping_sub(1) & (u64::MAX >> (64 - ty.bits())) as i64;
        let signed = matches!(op, Opcode::Sdiv | Opcode::Srem);
        let pairs: Vec<(i64, i64)> = if signed {
            vec![
                (min, -1),
                (min, 1),
                (min, min),
                (-1, -1),
                (max, -1),
                (min, 2),
                (min, -2),
                (0, -1),
                (max, min),
                (min, max),
                (-1, min),
                (min, 0),
                (5, 0),
            ]
        } else {
            vec![
                (-1, 1),
                (-1, -1),
                (min, -1),
                (0, -1),
                (-1, min),
                (min, min),
                (1, -1),
                (-1, 2),
                (max, min),
                (-1, 0),
                (min, 0),
            ]
        };
        let traps = |&(n, d): &(i64, i64)| d == 0 || (op == Opcode::Sdiv && n == min && d == -1);
        let pairs: Vec<(i64, i64)> = pairs
            .into_iter()
            .filter(|p| may_trap || !traps(p))
            .collect();
        let (n, d) = self.choose(&pairs)?;
        let n = self.edge_iconst(ty, n)?;
        let d = self.edge_iconst(ty, d)?;
        Some((n, d))
    }

    /// The input of a conversion from `ty`: a quarter of the time a value at an exact
    /// bound (floats) or a rounding/sign edge (integers), otherwise a pool value.
    pub(super) fn conversion_input(&mut self, ty: Type) -> Option<Value> {
        if !chance(self.u, 1, 4) {
            return self.pick(ty);
        }
        match ty {
            Type::F64 => {
                let x = CONVERSION_BOUNDS[below(self.u, CONVERSION_BOUNDS.len())];
                self.edge_fconst(ty, x.to_bits())
            }
            Type::F32 => {
                let n = CONVERSION_BOUNDS.len() + F32_BOUND_BITS.len();
                let i = below(self.u, n);
                let bits = match CONVERSION_BOUNDS.get(i) {
                    Some(&x) => (x as f32).to_bits(),
                    None => F32_BOUND_BITS[i - CONVERSION_BOUNDS.len()],
                };
                self.edge_fconst(ty, u64::from(bits))
            }
            _ => {
                let k = INT_CONVERSION_EDGES[below(self.u, INT_CONVERSION_EDGES.len())];
                self.edge_iconst(ty, k)
            }
        }
    }

    /// Up to three float or vector values of the pool, to fold after a call (so they are
    /// live across it).
    pub(super) fn live_across_call(&mut self) -> Vec<Value> {
        let mut cands: Vec<Value> = Vec::new();
        for ty in Type::ALL {
            if ty.is_float() || ty.is_vector() {
                cands.extend(self.pool[ty as usize].iter().rev().take(4));
            }
        }
        let n = below(self.u, 4);
        (0..n).filter_map(|_| self.choose(&cands)).collect()
    }

    /// Many float and vector values live at once, then all folded.
    pub(super) fn pressure(&mut self) {
        let n = 12 + below(self.u, 25);
        let mut vals = Vec::with_capacity(n);
        for _ in 0..n {
            let ty = if self.vectors() && chance(self.u, 2, 3) {
                Type::ALL[6 + below(self.u, 6)]
            } else {
                self.float_ty()
            };
            let v = if ty.is_float_scalar() && self.ok(Opcode::Fadd) {
                let (Some(a), Some(k)) = (self.pick(ty), self.konst(ty)) else {
                    continue;
                };
                let v = self.b.ins().fadd(a, k);
                self.set_taint(v, true);
                v
            } else if ty.is_vector() && !ty.is_float() && self.ok(Opcode::Iadd) {
                let (Some(a), Some(k)) = (self.pick(ty), self.konst(ty)) else {
                    continue;
                };
                let v = self.b.ins().iadd(a, k);
                self.set_taint(v, false);
                v
            } else {
                match self.konst(ty) {
                    Some(v) => v,
                    None => continue,
                }
            };
            vals.push(v);
        }
        for v in vals {
            self.fold(v);
        }
    }

    /// A comparison only its user will use (so the lowering can fuse it): integer or
    /// float, any condition, against zero or another value.
    pub(super) fn fresh_compare(&mut self) -> Option<Value> {
        if self.ok(Opcode::Fcmp) && chance(self.u, 1, 3) {
            let ty = self.float_ty();
            let (a, b) = self.cmp_operands(ty)?;
            let cc = FloatCC::ALL[below(self.u, FloatCC::ALL.len())];
            return Some(self.b.ins().fcmp(cc, a, b));
        }
        if !self.ok(Opcode::Icmp) {
            return None;
        }
        let ty = self.int_ty();
        let (a, b) = self.cmp_operands(ty)?;
        let cc = IntCC::ALL[below(self.u, IntCC::ALL.len())];
        Some(self.b.ins().icmp(cc, a, b))
    }

    /// `op (inner), y` with a single-use inner value on the *left* that a lowering may
    /// fuse: a plain load of the same type (x86_64 folds it into a memory operand) or, for
    /// `iadd`, an `imul` (AArch64's `madd`).
    pub(super) fn fused_left(&mut self, op: Opcode, ty: Type) -> Option<Value> {
        if !matches!(ty, Type::I32 | Type::I64) {
            return None;
        }
        let inner = if op == Opcode::Iadd && self.ok(Opcode::Imul) && chance(self.u, 1, 2) {
            let a = self.pick(ty)?;
            let b = self.pick(ty)?;
            self.b.ins().imul(a, b)
        } else if self.r.memory && self.ok(Opcode::Load) {
            let (addr, off, aligned) = self.mem_target(ty.bytes(), false)?;
            let flags = if aligned {
                MemFlags::new().with_aligned()
            } else {
                MemFlags::new()
            };
            self.b.ins().load(ty, flags, addr, off)
        } else {
            return None;
        };
        self.set_taint(inner, false);
        let y = self.pick(ty)?;
        Some(self.bin(op, inner, y))
    }
}
