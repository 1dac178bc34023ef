//! Which locals each control construct of a function body may write.
//!
//! Without help, the SSA builder adds a block parameter whenever a local is read in a join
//! block (a `block`'s or an `if`'s exit with several incoming edges) or in a loop header
//! (unsealed until the loop's `end`), and finds most of them trivial later: every edge
//! passes the same value. In the testdata modules 92 % of the parameters it added were
//! trivial. A local that no `local.set` or `local.tee` inside a construct writes holds,
//! at the construct's exit and at a loop's header, the value it had where the construct
//! started. The translator tells the builder so ([`FunctionBuilder::set_passthrough`](
//! crate::ir::FunctionBuilder::set_passthrough)), and reads of such a local continue in
//! the block the construct started in instead of adding a parameter.
//!
//! [`ConstructWrites::scan`] reads the rest of the body once, from its first `block`,
//! `loop` or `if` on, and lists for every construct, numbered in the order the constructs
//! start, the locals written anywhere inside it (nested constructs included), sorted, and
//! whether any operator inside it makes a call ([`ConstructWrites::calls_nothing`]: a
//! `call`, a `call_indirect`, or an operator the translator turns into a runtime builtin
//! call, see [`makes_call`]). A loop that calls nothing cannot grow the memory, so the
//! memory's base and size loaded before it still hold at its header on every iteration.
//!
//! Cost: each closing construct sorts and deduplicates the writes inside it, so a write
//! is handled once per enclosing construct. Only constructs nested at most
//! [`MAX_TRACKED_DEPTH`] deep (counted from the first one scanned) get lists; deeper ones
//! get none, and their writes count for the tracked ones around them. The work is then
//! linear in the body (times that depth) even for a pathological nest of thousands of
//! blocks, whose inner exits simply get block parameters as before.
//!
//! Invariants: every local that an operator between a construct's start and its matching
//! `end` writes is in that construct's list, and a construct said to call nothing has no
//! operator for which [`makes_call`] holds (dead code included). A body the scan cannot read to its end (a
//! malformed one, which validation reports in the main pass) yields no lists, and
//! [`ConstructWrites::written`] is `None` for every construct: the translator then claims
//! nothing and the builder adds its parameters as before.

use wasmparser::{Operator, OperatorsReader};

/// Constructs nested deeper than this (from the first one scanned) get no list.
const MAX_TRACKED_DEPTH: usize = 64;

/// Per construct, the locals it may write (see the module docs).
#[derive(Default)]
pub(super) struct ConstructWrites {
    /// Whether [`Self::scan`] ran for this body.
    scanned: bool,
    /// Construct `i`'s locals are `locals[spans[i].0..spans[i].1]`; `None` until its `end`.
    spans: Vec<Option<(u32, u32)>>,
    /// Per construct: no operator inside it makes a call (false until its `end`).
    call_free: Vec<bool>,
    /// Scratch: operators making calls seen so far in this scan.
    calls_seen: usize,
    locals: Vec<u32>,
    /// Scratch: locals written inside the open constructs. Each open construct owns the
    /// tail from its mark on (a closed nested construct's entries stay in it, deduplicated).
    writes: Vec<u32>,
    /// Scratch: per open construct, its number, its mark in `writes` and `calls_seen` at
    /// its start; `None` for one nested deeper than [`MAX_TRACKED_DEPTH`].
    open: Vec<Option<(usize, usize, usize)>>,
}

impl ConstructWrites {
    /// Forget the previous body (keeps allocations).
    pub(super) fn clear(&mut self) {
        self.scanned = false;
        self.spans.clear();
        self.call_free.clear();
        self.locals.clear();
    }

    /// Whether the body was scanned already.
    pub(super) fn scanned(&self) -> bool {
        self.scanned
    }

    /// The locals construct number `n` may write, sorted; `None` when unknown.
    pub(super) fn written(&self, n: usize) -> Option<&[u32]> {
        let (start, end) = (*self.spans.get(n)?)?;
        Some(&self.locals[start as usize..end as usize])
    }

    /// Whether construct number `n` certainly makes no call (false when unknown).
    pub(super) fn calls_nothing(&self, n: usize) -> bool {
        self.call_free.get(n).copied().unwrap_or(false)
    }

    /// Scan from right after the body's first construct operator (`block`, `loop` or
    /// `if`) to the end of the body.
    pub(super) fn scan(&mut self, mut ops: OperatorsReader<'_>) {
        self.clear();
        self.scanned = true;
        self.writes.clear();
        self.open.clear();
        self.calls_seen = 0;
        self.open_construct();
        while !ops.eof() {
            let Ok(op) = ops.read() else {
                // Malformed: claim nothing about any construct.
                self.spans.clear();
                self.call_free.clear();
                self.locals.clear();
                return;
            };
            match op {
                Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                    self.open_construct()
                }
                Operator::End => {
                    // Nothing to record for the end of a construct opened before the first
                    // one scanned (the function body's own `end`), nor for an untracked one
                    // (nested deeper than `MAX_TRACKED_DEPTH`).
                    if let Some(Some(c)) = self.open.pop() {
                        self.close_construct(c);
                    }
                }
                Operator::LocalSet { local_index } | Operator::LocalTee { local_index }
                    if !self.open.is_empty() =>
                {
                    self.writes.push(local_index)
                }
                ref op if makes_call(op) => self.calls_seen += 1,
                _ => {}
            }
        }
    }

    fn open_construct(&mut self) {
        let tracked = self.open.len() < MAX_TRACKED_DEPTH;
        self.open
            .push(tracked.then_some((self.spans.len(), self.writes.len(), self.calls_seen)));
        self.spans.push(None);
        self.call_free.push(false);
    }

    /// Record construct `n`'s writes; leave them, deduplicated, in the enclosing
    /// construct's tail.
    fn close_construct(&mut self, (n, mark, calls_at_start): (usize, usize, usize)) {
        self.call_free[n] = self.calls_seen == calls_at_start;
        let tail = &mut self.writes[mark..];
        tail.sort_unstable();
        let mut keep = 0;
        for i in 0..tail.len() {
            if keep == 0 || tail[keep - 1] != tail[i] {
                tail[keep] = tail[i];
                keep += 1;
            }
        }
        self.writes.truncate(mark + keep);
        let start = self.locals.len() as u32;
        self.locals.extend_from_slice(&self.writes[mark..]);
        self.spans[n] = Some((start, self.locals.len() as u32));
        if self.open.is_empty() {
            self.writes.clear();
        }
    }
}

/// Whether the translator turns `op` into a call: `call`, `call_indirect`, and the
/// operators it implements with a runtime builtin (`docs/vmcontext.md`). A call may grow
/// the memory and move it.
pub(super) fn makes_call(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Call { .. }
            | Operator::CallIndirect { .. }
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::MemoryGrow { .. }
            | Operator::MemoryFill { .. }
            | Operator::MemoryCopy { .. }
            | Operator::MemoryInit { .. }
            | Operator::DataDrop { .. }
            | Operator::TableGrow { .. }
            | Operator::TableFill { .. }
            | Operator::TableCopy { .. }
            | Operator::TableInit { .. }
            | Operator::ElemDrop { .. }
    )
}
