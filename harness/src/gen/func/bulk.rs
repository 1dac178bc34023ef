//! Big functions, cheaply: long straight-line chunks placed at the start of the arms of
//! an `if`, the body of a top-tested loop or the body of a bottom-tested loop, so that the
//! construct's conditional branches (forward over an arm, backward to the loop start)
//! span more than the ±32 KiB of AArch64's `tbz`/`tbnz` and, in rare cases, more than the
//! ±1 MiB of `b.cond`/`cbz`. (Which branch spans a chunk depends on the block order the
//! backend picks: a top-tested loop's exit test may jump over the exit code to the body
//! instead. Chunks in both arms and rotating construct kinds make some branch span a
//! chunk whatever the order.) The branch conditions of those constructs are drawn
//! in the shapes each ISA lowers to its different branch forms (test of the sign bit,
//! comparison with zero, general comparison, plain value).
//!
//! A chunk is a chain `acc = acc op k` over fresh 64-bit constants from a SplitMix64 stream
//! (a few generator bytes seed it; the chunk itself consumes none), with a vector constant
//! folded in every 64 steps when vectors are allowed (constant-pool entries, and islands,
//! inside the function). Each pair is about 13 bytes of x86_64 and 20 bytes of AArch64.
//!
//! # Invariants
//!
//! - Chunk instructions do not count towards `max_insts` (the rest of the function is
//!   generated as usual) and their dynamic cost is added to the function's cost
//!   separately, so they do not starve the rest of the body of its budget.
//! - A chunk is only placed where the enclosing loops run it at most [`MAX_BULK_MULT`]
//!   times, keeping the worst-case dynamic count under the interpreter's fuel.

use super::FnGen;
use crate::gen::values::below;
use crate::hashing::splitmix64;
use kiln::ir::{IntCC, Opcode, Type, Value};

/// Most times the enclosing loops may run one chunk.
const MAX_BULK_MULT: u64 = 8;

/// Straight-line chunks one function receives: `chunks[i]` constant/operation pairs,
/// generated from `seed`.
#[derive(Clone, Debug)]
pub(crate) struct BulkPlan {
    pub chunks: Vec<usize>,
    pub seed: u64,
}

/// What is left of a function's [`BulkPlan`], and what its chunks cost.
#[derive(Default)]
pub(super) struct BulkState {
    chunks: Vec<usize>,
    seed: u64,
    /// Shape the next branch condition (set while a bulk construct is being opened).
    shape_next: bool,
    /// Rotates through the condition shapes.
    shape: usize,
    /// Instructions emitted by chunks (excluded from `max_insts`).
    pub insts: usize,
    /// Worst-case dynamic instructions of the chunks.
    pub cost: u64,
}

impl BulkState {
    pub(super) fn new(plan: Option<BulkPlan>) -> BulkState {
        match plan {
            Some(p) => BulkState {
                chunks: p.chunks,
                seed: p.seed,
                shape: (p.seed >> 32) as usize % 12,
                ..BulkState::default()
            },
            None => BulkState::default(),
        }
    }

    /// Should the next branch condition take one of the shapes (and which)? Clears the
    /// request.
    pub(super) fn shaped_conditions(&mut self) -> bool {
        std::mem::take(&mut self.shape_next)
    }

    /// The next shape of the rotation (callers take it modulo their number of shapes).
    pub(super) fn next_shape(&mut self) -> usize {
        self.shape += 1;
        self.shape
    }
}

impl FnGen<'_, '_, '_, '_> {
    /// Open constructs at the top of the function until every chunk is placed (chunks
    /// that find no construct are emitted in line).
    pub(super) fn place_bulk(&mut self) {
        let first = below(self.u, 3);
        for k in 0..8 {
            if self.bulk.chunks.is_empty() || self.b.is_filled() {
                break;
            }
            self.bulk.shape_next = true;
            match (first + k) % 3 {
                0 => self.if_else(1),
                1 => self.loop_(1),
                _ => self.do_while(1),
            }
            self.bulk.shape_next = false;
        }
        while let Some(n) = self.bulk.chunks.pop() {
            self.emit_bulk(n);
        }
    }

    /// At the start of an arm or loop body: place the next chunk, if any is left and the
    /// enclosing loops allow it.
    pub(super) fn bulk_here(&mut self) {
        if self.mult > MAX_BULK_MULT {
            return;
        }
        if let Some(n) = self.bulk.chunks.pop() {
            self.emit_bulk(n);
        }
    }

    /// A condition in one of the branch shapes, rotating: `x <s 0` / `x >=s 0` (a sign-bit
    /// test, `tbnz`/`tbz`), `x == 0` / `x != 0` (`cbz`/`cbnz`), `x <u y` (`b.cond`), and a
    /// plain value (`cbnz`).
    pub(super) fn shaped_cond(&mut self) -> Option<Value> {
        let shape = self.bulk.next_shape();
        let ty = self.int_ty();
        let x = self.pick(ty)?;
        if shape % 4 == 3 || !self.ok(Opcode::Icmp) {
            return Some(x);
        }
        let (cc, rhs) = match shape % 4 {
            0 => {
                let cc = [IntCC::SignedLessThan, IntCC::SignedGreaterThanOrEqual][below(self.u, 2)];
                (cc, self.iconst(ty, 0)?)
            }
            1 => {
                let cc = [IntCC::Equal, IntCC::NotEqual][below(self.u, 2)];
                (cc, self.iconst(ty, 0)?)
            }
            _ => (IntCC::UnsignedLessThan, self.pick(ty)?),
        };
        Some(self.b.ins().icmp(cc, x, rhs))
    }

    /// One straight-line chunk of `pairs` constant/operation pairs, folded into the
    /// accumulators.
    fn emit_bulk(&mut self, pairs: usize) {
        let ops: Vec<Opcode> = [Opcode::Iadd, Opcode::Bxor, Opcode::Isub]
            .into_iter()
            .filter(|&o| self.ok(o))
            .collect();
        if ops.is_empty() || !self.ok(Opcode::Iconst) {
            return;
        }
        let Some(mut acc) = self.pick_clean(Type::I64) else {
            return;
        };
        let before = self.insts();
        let vectors = self.vectors() && self.ok(Opcode::Vconst) && self.ok(Opcode::Bxor);
        let mut vacc: Option<Value> = None;
        let mut s = self.bulk.seed;
        for i in 0..pairs {
            let r = splitmix64(&mut s);
            let k = self.b.ins().iconst(Type::I64, r as i64);
            acc = match ops[(r >> 61) as usize % ops.len()] {
                Opcode::Iadd => self.b.ins().iadd(acc, k),
                Opcode::Bxor => self.b.ins().bxor(acc, k),
                _ => self.b.ins().isub(acc, k),
            };
            if vectors && i % 64 == 63 {
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&r.to_le_bytes());
                bytes[8..].copy_from_slice(&splitmix64(&mut s).to_le_bytes());
                let kv = self.b.ins().vconst(Type::I64X2, bytes);
                vacc = Some(match vacc {
                    Some(a) => self.b.ins().bxor(a, kv),
                    None => kv,
                });
            }
        }
        self.bulk.seed = s;
        let added = self.insts() - before;
        self.bulk.insts += added;
        self.bulk.cost += added as u64 * self.mult;
        self.push(acc, false);
        self.fold(acc);
        if let Some(v) = vacc {
            self.push(v, false);
            self.fold(v);
        }
    }
}
