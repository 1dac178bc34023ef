//! Heap pointers built in several steps, and addresses in every shape a lowering can fold
//! into an addressing mode.
//!
//! A [`Ptr`] is a value known to equal `base + d` for a displacement `d` in `lo..=hi`
//! (`base` is the heap's base address, parameter 0). Pointers are derived from others by a
//! constant step (either operand order of `iadd`, or `isub`; steps of ±2³² make pointers
//! whose low 32 bits alone point elsewhere), by adding an index (masked, scaled by a shift,
//! zero- or sign-extended from 32 bits, possibly negative, possibly biased by ±2³²), by
//! `select` between two pointers, by a store to a stack slot and a load back, and through
//! block parameters of joins and loop headers.
//!
//! # Invariants
//!
//! - Every pointer's range is at most half the heap wide (`hi - lo ≤ size / 2`) and
//!   `|lo|, |hi| ≤ 2⁴⁰`, so any pointer can reach every byte of the heap with an index and
//!   an offset that fit their types.
//! - An access through [`FnGen::ptr_target`] adds an index and an immediate offset such
//!   that every byte it touches lies in `base..base + size` whatever the run-time values.
//! - Pointers passed through block parameters have ranges inside `0..=size / 2` ("near"
//!   pointers), so a join's parameter is `0..=size / 2` whatever arm it came from.
//! - Pointer values are the same on every engine (the heap base is a fixed address), but
//!   they never enter the value pool or the accumulators: only addresses use them.

use super::FnGen;
use crate::gen::values::{below, chance};
use kiln::ir::{Block, Opcode, Type, Value};

/// Furthest a pointer's displacement may be from the heap base.
const FAR: i64 = 1 << 40;

/// A heap pointer: `v == base + d` with `lo <= d <= hi`.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Ptr {
    v: Value,
    lo: i64,
    hi: i64,
}

impl Ptr {
    /// The heap base itself.
    pub(crate) fn base(v: Value) -> Ptr {
        Ptr { v, lo: 0, hi: 0 }
    }
}

impl FnGen<'_, '_, '_, '_> {
    fn heap_size(&self) -> Option<i64> {
        self.heap.map(|(_, size)| size as i64)
    }

    fn ptr_ops_ok(&self) -> bool {
        self.heap.is_some() && self.ok(Opcode::Iadd) && self.ok(Opcode::Iconst)
    }

    /// Sometimes (when there is a heap) give `blk` a trailing `i64` parameter for a near
    /// pointer; every edge to `blk` must then pass [`Self::near_ptr`].
    pub(super) fn ptr_param(&mut self, blk: Block) -> Option<Value> {
        if !self.ptr_ops_ok() || !chance(self.u, 1, 4) {
            return None;
        }
        Some(self.b.append_block_param(blk, Type::I64))
    }

    /// A pointer whose range lies in `0..=size / 2` (the base always qualifies).
    pub(super) fn near_ptr(&mut self) -> Option<Value> {
        let half = self.heap_size()? / 2;
        let near: Vec<Value> = self
            .ptrs
            .iter()
            .filter(|p| p.lo >= 0 && p.hi <= half)
            .map(|p| p.v)
            .collect();
        self.choose(&near)
    }

    /// Make a pointer block parameter (see [`Self::ptr_param`]) usable.
    pub(super) fn push_near_ptr(&mut self, v: Value) {
        if let Some(size) = self.heap_size() {
            self.ptrs.push(Ptr {
                v,
                lo: 0,
                hi: size / 2,
            });
        }
    }

    /// A new pointer derived from one in scope.
    pub(super) fn derive_ptr(&mut self) {
        let Some(size) = self.heap_size() else { return };
        if !self.ptr_ops_ok() {
            return;
        }
        let Some(p) = self.choose(&self.ptrs.clone()) else {
            return;
        };
        let half = size / 2;
        let new = match below(self.u, 5) {
            0 | 1 => {
                let k = match below(self.u, 4) {
                    0 => below(self.u, 2 * size as usize + 1) as i64 - size,
                    1 => {
                        let far = if chance(self.u, 1, 2) {
                            1 << 32
                        } else {
                            -(1 << 32)
                        };
                        far + below(self.u, size as usize) as i64
                    }
                    // Back towards the heap.
                    2 => below(self.u, half as usize + 1) as i64 - p.lo,
                    _ => below(self.u, size as usize) as i64,
                };
                let (lo, hi) = (p.lo + k, p.hi + k);
                if lo.abs() > FAR || hi.abs() > FAR {
                    return;
                }
                let v = match below(self.u, 3) {
                    0 if self.ok(Opcode::Isub) => {
                        let kv = self.b.ins().iconst(Type::I64, k.wrapping_neg());
                        self.b.ins().isub(p.v, kv)
                    }
                    1 => {
                        let kv = self.b.ins().iconst(Type::I64, k);
                        self.b.ins().iadd(kv, p.v)
                    }
                    _ => {
                        let kv = self.b.ins().iconst(Type::I64, k);
                        self.b.ins().iadd(p.v, kv)
                    }
                };
                Ptr { v, lo, hi }
            }
            2 => {
                let span = half - (p.hi - p.lo);
                let Some((idx, ilo, ihi)) = self.index(span, 0) else {
                    return;
                };
                let v = self.add_either_order(idx, p.v);
                Ptr {
                    v,
                    lo: p.lo + ilo,
                    hi: p.hi + ihi,
                }
            }
            3 => {
                if !self.ok(Opcode::Select) {
                    return;
                }
                let Some(q) = self.choose(&self.ptrs.clone()) else {
                    return;
                };
                let (lo, hi) = (p.lo.min(q.lo), p.hi.max(q.hi));
                if hi - lo > half {
                    return;
                }
                let cty = self.int_ty();
                let Some(c) = self.pick(cty) else { return };
                let v = self.b.ins().select(c, p.v, q.v);
                Ptr { v, lo, hi }
            }
            _ => {
                // Through memory: a stack slot, stored and loaded back.
                if !self.ok(Opcode::StackStore) || !self.ok(Opcode::StackLoad) {
                    return;
                }
                let Some((slot, ssize)) = self.choose(&self.slots.clone()) else {
                    return;
                };
                let off = below(self.u, (ssize / 8) as usize) as i32 * 8;
                self.b.ins().stack_store(p.v, slot, off);
                let v = self.b.ins().stack_load(Type::I64, slot, off);
                Ptr { v, ..p }
            }
        };
        self.ptrs.push(new);
    }

    /// `iadd a, b` or `iadd b, a`, at random: lowerings fold either order.
    fn add_either_order(&mut self, a: Value, b: Value) -> Value {
        if chance(self.u, 1, 2) {
            self.b.ins().iadd(a, b)
        } else {
            self.b.ins().iadd(b, a)
        }
    }

    /// An `i64` index whose value lies in `lo..=hi` (returned with it), `hi - lo <= span`,
    /// plus `bias`: masked, shifted, extended from 32 bits (unsigned, or signed and possibly
    /// negative), or a bare constant when those opcodes are not allowed.
    fn index(&mut self, span: i64, bias: i64) -> Option<(Value, i64, i64)> {
        if span < 0 || !self.ok(Opcode::Band) {
            return None;
        }
        // Widest mask `2^k - 1 <= span`, k >= 0.
        let max_k = 63 - (span as u64 + 1).leading_zeros() as i64;
        let shift = if self.ok(Opcode::Ishl) && max_k > 0 && chance(self.u, 1, 2) {
            // 1 to 3 fold into x86_64's scaled index; 4 must not.
            1 + below(self.u, max_k.min(4) as usize) as i64
        } else {
            0
        };
        let k = below(self.u, (max_k - shift).max(0) as usize + 1) as i64;
        let mask = (1i64 << k) - 1;
        let (mut v, mut lo, mut hi) = match below(self.u, 3) {
            0 if self.ok(Opcode::Uextend) => {
                let x = self.pick(Type::I32)?;
                let m = self.iconst(Type::I32, mask)?;
                let x = self.b.ins().band(x, m);
                (self.b.ins().uextend(Type::I64, x), 0, mask)
            }
            1 if self.ok(Opcode::Sextend) && self.ok(Opcode::Isub) => {
                // (x & mask) - c: negative for small x.
                let c = below(self.u, mask as usize + 1) as i64;
                let x = self.pick(Type::I32)?;
                let m = self.iconst(Type::I32, mask)?;
                let x = self.b.ins().band(x, m);
                let cv = self.iconst(Type::I32, c)?;
                let x = self.b.ins().isub(x, cv);
                (self.b.ins().sextend(Type::I64, x), -c, mask - c)
            }
            _ => {
                let x = self.pick(Type::I64)?;
                let m = self.iconst(Type::I64, mask)?;
                (self.b.ins().band(x, m), 0, mask)
            }
        };
        if shift > 0 {
            let s = self.iconst(Type::I64, shift)?;
            v = self.b.ins().ishl(v, s);
            lo <<= shift;
            hi <<= shift;
        }
        if bias != 0 {
            let b = self.iconst(Type::I64, bias)?;
            v = self.add_either_order(v, b);
            lo += bias;
            hi += bias;
        }
        Some((v, lo, hi))
    }

    /// An address and offset for a `bytes`-byte heap access through a pointer in scope,
    /// with an index added (either operand order) and an offset that may be negative.
    pub(super) fn ptr_target(&mut self, bytes: u32) -> Option<(Value, i32)> {
        let size = self.heap_size()?;
        if !self.ptr_ops_ok() {
            return None;
        }
        let p = self.choose(&self.ptrs.clone())?;
        let room = size - i64::from(bytes) - (p.hi - p.lo);
        if room < 0 {
            return None;
        }
        let (mut addr, mut lo, mut hi) = (p.v, p.lo, p.hi);
        let far = lo.abs() > i64::from(i32::MAX / 2);
        if far || chance(self.u, 2, 3) {
            let span = room / 2;
            // A far pointer is brought back by the index: a 64-bit index whose low 32 bits
            // alone would point elsewhere.
            let bias = if far {
                below(self.u, (room - span) as usize + 1) as i64 - lo
            } else {
                0
            };
            if let Some((idx, ilo, ihi)) = self.index(span, bias) {
                addr = self.add_either_order(idx, addr);
                lo += ilo;
                hi += ihi;
            }
        }
        if lo.abs() > i64::from(i32::MAX / 2) {
            let k = self.iconst(Type::I64, -lo)?;
            addr = self.b.ins().iadd(addr, k);
            hi -= lo;
            lo = 0;
        }
        // Every touched byte in 0..size: off in -lo ..= size - bytes - hi.
        let (omin, omax) = (-lo, size - i64::from(bytes) - hi);
        if omin > omax {
            return None;
        }
        let off = omin + below(self.u, (omax - omin) as usize + 1) as i64;
        Some((addr, off as i32))
    }
}
