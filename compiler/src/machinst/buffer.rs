//! `MachBuffer`: the byte buffer that machine code is emitted into.
//!
//! One buffer is used per function (and one, reused, for a module's text section). It owns:
//!
//! - the **bytes** written through [`CodeSink`];
//! - **labels** ([`MachBuffer::get_label`], [`MachBuffer::bind_label`]) and label
//!   **aliases** created by branch threading;
//! - label **fixups**: every [`CodeSink::use_label_at_offset`] call records a use of a
//!   label with the ISA's [`LabelUse`] kind. A use's **deadline** is
//!   `use_offset + kind.max_pos_range()`: the last offset at which the label (or a veneer
//!   standing in for it) can still be reached;
//! - **islands** ([`MachBuffer::island_needed`], [`MachBuffer::emit_island`]): pending
//!   constants and **veneers** placed in the middle of the code before a deadline passes;
//! - the **constant pool** ([`MachBuffer::register_constant`], [`MachBuffer::use_constant`]);
//! - **trap records**, **relocations**, **call sites** and **source-location ranges**;
//! - **data ranges**: the bytes that are data, not instructions — constants (with their
//!   alignment padding) and whatever the ISA marks with [`MachBuffer::mark_data`] (inline
//!   jump tables) — so that a disassembler never decodes them;
//! - **branch simplification** on the tail of the code
//!   ([`MachBuffer::add_uncond_branch`], [`MachBuffer::add_cond_branch`]).
//!
//! # Island protocol
//!
//! An island is data (constants, veneers) written in the middle of the instruction
//! stream, so control must never fall into it. The *caller* guarantees that, in one of
//! two ways:
//!
//! 1. at a point where control never falls through (right after an unconditional jump,
//!    a return, or a trap), or
//! 2. behind a jump-over:
//!    ```text
//!    if buf.island_needed(next_chunk_size + JUMP_SIZE) {
//!        let after = buf.get_label();
//!        <emit `jmp after`; use_label_at_offset; add_uncond_branch>
//!        buf.emit_island(next_chunk_size)?;
//!        buf.bind_label(after)?;
//!    }
//!    ```
//!
//! `distance` (for both calls) is the number of bytes the caller will emit before it
//! next asks `island_needed`; it must also cover the island growth caused by label uses
//! in that chunk (about `U::worst_case_veneer_size()` per use). The lowering checks before
//! every block (or instruction), so a chunk is small compared with the label-use ranges.
//! If the protocol is violated and a use can no longer reach its veneer, the buffer
//! returns [`BufferError::DeadlineMissed`]; it never emits wrong code.
//!
//! Labels bound at the current offset when `emit_island` is called denote "the next
//! instruction", so they move to the end of the island.
//!
//! # Branch simplification
//!
//! The lowering registers each branch right after emitting it (bytes written, label use
//! recorded at the branch start, nothing else recorded in between):
//! [`MachBuffer::add_uncond_branch`] / [`MachBuffer::add_cond_branch`] (the latter with
//! the encoding of the inverted branch). Unregistered branches are never touched. Each
//! time a branch is registered or a label is bound, the registered branches at the end
//! of the code are simplified until nothing applies:
//!
//! 1. a branch (conditional or not) to a label bound right after it is removed;
//! 2. threading: labels bound at an unconditional jump become aliases of its target
//!    (refused when it would form a cycle, e.g. `L: jmp L`), so every use of them goes
//!    straight to the final target;
//! 3. `jcc L1; jmp L2; L1:` becomes `jncc L2; L1:`;
//! 4. a branch right after an unconditional jump that no label reaches (its labels were
//!    threaded away) is unreachable and removed;
//! 5. `jcc L; jmp L` becomes `jmp L`.
//!
//! Editing is limited to the tail and guarded by invariant I3 below.
//!
//! # Veneers
//!
//! In an island, constants come first, then veneers in deadline order. A veneer's own use
//! (from [`LabelUse::generate_veneer`]) is a new fixup, handled like any other, so
//! promotion may chain (AArch64: 14/19 → 26 → 64-bit). A use whose kind has no veneer and
//! whose label is out of range is an [`BufferError::OutOfRange`] naming the kind and
//! distance.
//!
//! # Invariants
//!
//! - **I1 (labels)**: a label is bound at most once. A bound label's offset is `<=
//!   cur_offset()`. An alias is only ever set on a bound label, and the alias graph is
//!   acyclic (adding `l → t` is refused when `t` already resolves to `l`), so every label
//!   resolves to a unique final label.
//! - **I2 (fixups)**: every pending fixup lies in the written bytes (`offset +
//!   patch_size <= cur_offset()`) and is resolved exactly once: patched at an island or at
//!   `finish` when its (resolved) label is in range, or redirected through a veneer whose
//!   own use becomes a new pending fixup. The recorded earliest deadline is `<=` the true
//!   minimum over pending fixups that an island can help (veneer-capable or constant uses);
//!   it may be stale-low (conservative), never high.
//! - **I3 (frozen prefix)**: bytes before `frozen` are never removed or rewritten by
//!   simplification. Every trap, relocation, call site, non-branch label use, island,
//!   constant and every label that is no longer at the tail raises `frozen` past the byte
//!   it refers to. Hence simplification only edits *registered branches at the end of the
//!   code*, and only if nothing but their own label use refers into them.
//! - **I4 (tail branches)**: the registered tail branches are contiguous and the last
//!   ends at `cur_offset()`; writing any other byte makes the list stale (it is dropped
//!   lazily). Labels bound at the tail are recorded; when the tail is truncated to `T`,
//!   they move to `T` together with the unaliased labels bound at the start of the
//!   removed branch.
//! - **I5 (source locations)**: recorded ranges are non-empty, ordered and lie within the
//!   written bytes. Truncating the tail clips ranges that extend into the removed bytes
//!   (ranges wholly inside them are dropped); ranges before the truncation point are
//!   never changed.
//! - **I6 (no panics)**: no sequence of public calls panics. Calls that can fail return
//!   [`BufferError`]; [`CodeSink`] methods (which cannot return errors) record the first
//!   error, which `emit_island` and `finish` then return. After an error from
//!   `emit_island` or `finish` the buffer is poisoned until [`MachBuffer::clear`].
//! - **I7 (data ranges)**: recorded data ranges are non-empty, sorted, disjoint (adjacent
//!   ones merged) and lie in the frozen prefix: simplification never moves them.

use core::mem;
use core::ops::Range;
use std::collections::HashMap;

use smallvec::SmallVec;

use super::{CodeSink, LabelUse, MachLabel};
use crate::ir::{LibCall, RelSourceLoc, TrapCode, UserExternalNameRef};

const UNBOUND: u64 = u64::MAX;
const NO_LABEL: u32 = u32::MAX;
/// Longest veneer chain allowed for one use (guards against a `LabelUse` whose veneers
/// never reach further).
const MAX_VENEER_CHAIN: u8 = 8;
/// Largest constant alignment accepted.
pub const MAX_CONSTANT_ALIGN: u32 = 1 << 16;

/// A constant registered in a buffer's constant pool.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ConstantId(pub u32);

/// The name the VCode layer uses for a pool constant.
pub type VCodeConstant = ConstantId;

/// How a relocation patches its field (the field starts at the relocation's offset).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum RelocKind {
    /// 32-bit absolute address.
    Abs4,
    /// 64-bit absolute address.
    Abs8,
    /// x86_64: 32-bit PC-relative (`S + A - P`), e.g. RIP-relative data. `P` is the
    /// field's address; the CPU measures from the end of the instruction, so a disp32 that
    /// ends the instruction has addend `-4` (`-4 - n` when `n` immediate bytes follow it).
    /// The x86_64 backend uses it for `func_addr` of a user function (`lea r, [rip + rel32]`,
    /// addend `-4`).
    X86PCRel4,
    /// x86_64: 32-bit PC-relative call target (`call rel32`): `S + A - P` with `P` the
    /// field's address (the instruction start + 1) and addend `-4` (the field ends the
    /// instruction).
    X86CallPCRel4,
    /// AArch64: `bl` with a 26-bit word offset.
    Arm64Call,
    /// AArch64: `adrp` page offset (`R_AARCH64_ADR_PREL_PG_HI21`).
    Aarch64AdrPrelPgHi21,
    /// AArch64: `add` low 12 bits (`R_AARCH64_ADD_ABS_LO12_NC`).
    Aarch64AddAbsLo12Nc,
}

/// What a relocation refers to.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum RelocTarget {
    /// A user function named through the function parameters' name table.
    User(UserExternalNameRef),
    /// A runtime helper.
    LibCall(LibCall),
    /// The address where the embedder stores the 8-byte stack limit (read by prologues
    /// of functions that check the stack; see `docs/abi.md`).
    StackLimit,
}

/// A relocation: patch `kind` at `offset` with the address of `target` plus `addend`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct MachReloc {
    /// Offset of the relocated field.
    pub offset: u64,
    /// How to patch it.
    pub kind: RelocKind,
    /// The symbol.
    pub target: RelocTarget,
    /// Added to the symbol's address.
    pub addend: i64,
}

/// A trap site: the instruction at `offset` may trap with `code`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct MachTrap {
    /// Offset of the trapping instruction.
    pub offset: u64,
    /// Why it traps.
    pub code: TrapCode,
}

/// A range of code generated for one source location: bytes `start..end`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct MachSrcLoc {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// The location, relative to the function's base.
    pub loc: RelSourceLoc,
}

/// A call site, identified by its return address.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct MachCallSite {
    /// Offset just after the call instruction.
    pub ret_offset: u64,
}

/// Errors from a [`MachBuffer`]. Label-use kinds are named by their `Debug` form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BufferError {
    /// A label that this buffer did not create (or an internal constant label).
    #[error("label {0:?} was not created by this buffer (or is internal to the constant pool)")]
    UnknownLabel(MachLabel),
    /// `bind_label` on a label that is already bound.
    #[error("label {0:?} is already bound")]
    LabelAlreadyBound(MachLabel),
    /// A label used by the code was never bound.
    #[error("label {label:?} is used at offset {offset} but was never bound")]
    UnboundLabel {
        /// The label.
        label: MachLabel,
        /// Offset of the use.
        offset: u64,
    },
    /// A use is out of range and its kind cannot go through a veneer.
    #[error("{kind} label use at offset {offset} cannot reach offset {target}: distance {distance} is outside -{max_neg}..=+{max_pos} and {kind} has no veneer")]
    OutOfRange {
        /// The label-use kind (`Debug` form).
        kind: String,
        /// Offset of the use.
        offset: u64,
        /// Offset of the label.
        target: u64,
        /// `target - offset`.
        distance: i64,
        /// The kind's backward range.
        max_neg: u64,
        /// The kind's forward range.
        max_pos: u64,
    },
    /// An island came too late for a use (the island protocol was not followed).
    #[error("{kind} label use at offset {offset} needs a veneer but the island is at offset {veneer} (distance {distance} > range {max_pos}); islands must be emitted before deadlines pass")]
    DeadlineMissed {
        /// The label-use kind (`Debug` form).
        kind: String,
        /// Offset of the use.
        offset: u64,
        /// Where the veneer would go.
        veneer: u64,
        /// `veneer - offset`.
        distance: u64,
        /// The kind's forward range.
        max_pos: u64,
    },
    /// A label use or relocation refers to bytes that were not written.
    #[error("{what} at offset {offset} ({size} bytes) extends past the {len} bytes written")]
    OutOfBounds {
        /// What was recorded.
        what: &'static str,
        /// Its offset.
        offset: u64,
        /// Its size.
        size: u64,
        /// Bytes written at the time.
        len: u64,
    },
    /// A branch registration that doesn't match what was just emitted.
    #[error("invalid branch registration [{start}, {end}): {reason}")]
    InvalidBranch {
        /// Claimed start.
        start: u64,
        /// Claimed end.
        end: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A constant alignment that isn't a power of two up to [`MAX_CONSTANT_ALIGN`].
    #[error("constant alignment {0} is not a power of two between 1 and 65536")]
    BadAlignment(u32),
    /// A constant id this buffer did not hand out.
    #[error("unknown constant {0:?}")]
    UnknownConstant(ConstantId),
    /// The `LabelUse` implementation produced an unusable veneer.
    #[error("bad veneer for {kind}: {reason}")]
    BadVeneer {
        /// The label-use kind (`Debug` form).
        kind: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// More than `u32::MAX - 1` labels or constants.
    #[error("too many labels or constants")]
    TooManyEntities,
}

/// The result of [`MachBuffer::finish`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MachBufferFinalized {
    /// The code, islands and trailing constant pool and veneers, fully patched.
    pub data: Vec<u8>,
    /// Relocations, sorted by offset.
    pub relocs: Vec<MachReloc>,
    /// Trap sites, sorted by offset.
    pub traps: Vec<MachTrap>,
    /// Source-location ranges, in code order.
    pub srclocs: Vec<MachSrcLoc>,
    /// Call sites, sorted by return offset.
    pub call_sites: Vec<MachCallSite>,
    /// Byte ranges that are data (constants, jump tables), sorted and disjoint.
    pub data_ranges: Vec<Range<u64>>,
    /// Final offset of every label (after alias resolution); `u64::MAX` if never bound.
    pub label_offsets: Vec<u64>,
    /// Alignment the code must be placed at (constants and veneers assume it).
    pub alignment: u32,
}

impl MachBufferFinalized {
    /// Final offset of `label`, if it was created by the buffer and bound.
    pub fn label_offset(&self, label: MachLabel) -> Option<u64> {
        match self.label_offsets.get(label.0 as usize) {
            Some(&o) if o != UNBOUND => Some(o),
            _ => None,
        }
    }
}

#[derive(Copy, Clone, Debug)]
struct LabelData {
    /// Bound offset or `UNBOUND`.
    offset: u64,
    /// Label this one forwards to, or `NO_LABEL`.
    alias: u32,
    /// Created by the constant pool; not bindable by callers.
    internal: bool,
}

#[derive(Copy, Clone, Debug)]
struct Fixup<U> {
    offset: u64,
    label: MachLabel,
    kind: U,
    /// A use of a pool constant (islands always place pending constants).
    is_const: bool,
    /// Veneers between the original use and this one.
    depth: u8,
}

impl<U: LabelUse> Fixup<U> {
    fn deadline(&self) -> u64 {
        self.offset.saturating_add(self.kind.max_pos_range())
    }
    /// Can an island help this use (so its deadline counts)?
    fn tracked(&self) -> bool {
        self.is_const || self.kind.supports_veneer()
    }
    fn island_cost(&self) -> u64 {
        if self.kind.supports_veneer() {
            u64::from(self.kind.veneer_size()) + u64::from(veneer_align::<U>() - 1)
        } else {
            0
        }
    }
}

fn veneer_align<U: LabelUse>() -> u32 {
    U::veneer_align().max(1)
}

fn kind_name<U: LabelUse>(kind: U) -> String {
    format!("{kind:?}")
}

fn in_range<U: LabelUse>(kind: U, use_offset: u64, target: u64) -> bool {
    if target >= use_offset {
        target - use_offset <= kind.max_pos_range()
    } else {
        use_offset - target <= kind.max_neg_range()
    }
}

fn signed_distance(from: u64, to: u64) -> i64 {
    let d = i128::from(to) - i128::from(from);
    d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

#[derive(Clone, Debug)]
struct BranchRec {
    start: u64,
    end: u64,
    target: MachLabel,
    /// Index of this branch's use in `pending`.
    fixup: usize,
    /// For a conditional branch: the encoding with the inverted condition.
    inverted: Option<SmallVec<[u8; 8]>>,
    /// Labels bound at `start` when the branch was registered.
    labels_at_start: SmallVec<[MachLabel; 4]>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum ConstState {
    /// Registered, no current copy.
    Unused,
    /// Used; will be placed in the next island or at `finish`.
    Pending,
    /// Placed at this offset.
    Emitted(u64),
}

#[derive(Copy, Clone, Debug)]
struct ConstData {
    start: usize,
    len: usize,
    align: u32,
    label: u32,
    state: ConstState,
    next_same_hash: u32,
}

fn hash_bytes(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ (data.len() as u64)
}

/// The machine-code buffer. See the module docs for the invariants every method keeps.
pub struct MachBuffer<U: LabelUse> {
    data: Vec<u8>,
    labels: Vec<LabelData>,
    pending: Vec<Fixup<U>>,
    fixup_scratch: Vec<Fixup<U>>,
    urgent_scratch: Vec<Fixup<U>>,
    /// Earliest deadline over tracked pending fixups (stale-low allowed).
    deadline: u64,
    /// Worst-case size of an island emitted now (first-hop veneers + constants).
    worst: u64,
    branches: Vec<BranchRec>,
    labels_at_tail: SmallVec<[MachLabel; 4]>,
    labels_at_tail_off: u64,
    frozen: u64,
    ref_seq: u64,
    /// `ref_seq` right after the last fixup was pushed; `u64::MAX` if invalidated.
    last_fixup_seq: u64,
    frozen_before_last_fixup: u64,
    traps: Vec<MachTrap>,
    relocs: Vec<MachReloc>,
    srclocs: Vec<MachSrcLoc>,
    call_sites: Vec<MachCallSite>,
    data_ranges: Vec<Range<u64>>,
    cur_srcloc: Option<(u64, RelSourceLoc)>,
    constants: Vec<ConstData>,
    const_bytes: Vec<u8>,
    const_dedup: HashMap<u64, u32>,
    pending_constants: Vec<ConstantId>,
    max_align: u32,
    error: Option<BufferError>,
}

impl<U: LabelUse> Default for MachBuffer<U> {
    fn default() -> Self {
        Self::new()
    }
}

impl<U: LabelUse> MachBuffer<U> {
    /// An empty buffer.
    pub fn new() -> Self {
        MachBuffer {
            data: Vec::new(),
            labels: Vec::new(),
            pending: Vec::new(),
            fixup_scratch: Vec::new(),
            urgent_scratch: Vec::new(),
            deadline: u64::MAX,
            worst: 0,
            branches: Vec::new(),
            labels_at_tail: SmallVec::new(),
            labels_at_tail_off: 0,
            frozen: 0,
            ref_seq: 0,
            last_fixup_seq: u64::MAX,
            frozen_before_last_fixup: 0,
            traps: Vec::new(),
            relocs: Vec::new(),
            srclocs: Vec::new(),
            call_sites: Vec::new(),
            data_ranges: Vec::new(),
            cur_srcloc: None,
            constants: Vec::new(),
            const_bytes: Vec::new(),
            const_dedup: HashMap::new(),
            pending_constants: Vec::new(),
            max_align: 1,
            error: None,
        }
    }

    /// Reset to the empty state, keeping allocations. Afterwards the buffer behaves
    /// exactly like `MachBuffer::new()` (same labels, same output for the same calls).
    pub fn clear(&mut self) {
        self.data.clear();
        self.labels.clear();
        self.pending.clear();
        self.fixup_scratch.clear();
        self.urgent_scratch.clear();
        self.deadline = u64::MAX;
        self.worst = 0;
        self.branches.clear();
        self.labels_at_tail.clear();
        self.labels_at_tail_off = 0;
        self.frozen = 0;
        self.ref_seq = 0;
        self.last_fixup_seq = u64::MAX;
        self.frozen_before_last_fixup = 0;
        self.traps.clear();
        self.relocs.clear();
        self.srclocs.clear();
        self.call_sites.clear();
        self.data_ranges.clear();
        self.cur_srcloc = None;
        self.constants.clear();
        self.const_bytes.clear();
        self.const_dedup.clear();
        self.pending_constants.clear();
        self.max_align = 1;
        self.error = None;
    }

    /// The bytes written so far (fixups not yet patched).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The first error recorded by a [`CodeSink`] method or a failed island, if any.
    pub fn error(&self) -> Option<&BufferError> {
        self.error.as_ref()
    }

    fn set_error(&mut self, e: BufferError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    fn check_error(&self) -> Result<(), BufferError> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn cur(&self) -> u64 {
        self.data.len() as u64
    }

    // ---------------------------------------------------------------- labels

    /// A new, unbound label. Preserves all invariants (nothing else changes).
    pub fn get_label(&mut self) -> MachLabel {
        self.new_label(false)
    }

    fn new_label(&mut self, internal: bool) -> MachLabel {
        if self.labels.len() >= (NO_LABEL - 1) as usize {
            self.set_error(BufferError::TooManyEntities);
            return MachLabel(NO_LABEL);
        }
        let l = MachLabel(self.labels.len() as u32);
        self.labels.push(LabelData {
            offset: UNBOUND,
            alias: NO_LABEL,
            internal,
        });
        l
    }

    /// Number of labels created so far.
    pub fn num_labels(&self) -> usize {
        self.labels.len()
    }

    fn label_data(&self, label: MachLabel) -> Option<&LabelData> {
        self.labels.get(label.0 as usize)
    }

    /// Follow aliases to the final label (bounded, so it cannot loop even if I1 broke).
    fn resolve(&self, label: MachLabel) -> MachLabel {
        let mut l = label;
        for _ in 0..=self.labels.len() {
            match self.labels.get(l.0 as usize) {
                Some(d) if d.alias != NO_LABEL => l = MachLabel(d.alias),
                _ => return l,
            }
        }
        l
    }

    fn offset_of(&self, label: MachLabel) -> u64 {
        self.labels
            .get(label.0 as usize)
            .map_or(UNBOUND, |d| d.offset)
    }

    /// The offset `label` currently resolves to (after aliases), if bound. A label at the
    /// tail can still move if the tail is simplified or an island is emitted.
    pub fn label_offset(&self, label: MachLabel) -> Option<u64> {
        self.label_data(label)?;
        match self.offset_of(self.resolve(label)) {
            UNBOUND => None,
            o => Some(o),
        }
    }

    /// Bind `label` to the current offset, then simplify the tail.
    ///
    /// Preserves I1 (errors if already bound or unknown), I3 (labels bound earlier that
    /// are no longer at the tail become frozen) and I4 (the label joins the tail labels;
    /// simplification may truncate the tail, moving all tail labels to the new end).
    pub fn bind_label(&mut self, label: MachLabel) -> Result<(), BufferError> {
        match self.label_data(label) {
            None => return Err(BufferError::UnknownLabel(label)),
            Some(d) if d.internal => return Err(BufferError::UnknownLabel(label)),
            Some(d) if d.offset != UNBOUND => return Err(BufferError::LabelAlreadyBound(label)),
            Some(_) => {}
        }
        self.settle_tail_labels();
        let cur = self.cur();
        self.labels[label.0 as usize].offset = cur;
        self.labels_at_tail.push(label);
        self.labels_at_tail_off = cur;
        self.simplify();
        Ok(())
    }

    /// Tail labels recorded at an earlier offset are no longer at the tail: freeze them.
    fn settle_tail_labels(&mut self) {
        let cur = self.cur();
        if self.labels_at_tail_off != cur {
            if !self.labels_at_tail.is_empty() {
                self.frozen = self.frozen.max(self.labels_at_tail_off);
                self.labels_at_tail.clear();
            }
            self.labels_at_tail_off = cur;
        }
    }

    // ---------------------------------------------------------------- fixups

    fn push_fixup(&mut self, f: Fixup<U>) {
        if f.tracked() {
            self.deadline = self.deadline.min(f.deadline());
            self.worst = self.worst.saturating_add(f.island_cost());
        }
        self.pending.push(f);
    }

    fn record_use(&mut self, offset: u64, label: MachLabel, kind: U, is_const: bool) {
        self.push_fixup(Fixup {
            offset,
            label,
            kind,
            is_const,
            depth: 0,
        });
        self.frozen_before_last_fixup = self.frozen;
        self.frozen = self.frozen.max(offset.saturating_add(1));
        self.ref_seq += 1;
        self.last_fixup_seq = self.ref_seq;
    }

    fn note_reference(&mut self, freeze_to: u64) {
        self.frozen = self.frozen.max(freeze_to);
        self.ref_seq += 1;
    }

    fn check_use_bounds(
        &self,
        what: &'static str,
        offset: u64,
        size: u64,
    ) -> Result<(), BufferError> {
        match offset.checked_add(size) {
            Some(end) if end <= self.cur() => Ok(()),
            _ => Err(BufferError::OutOfBounds {
                what,
                offset,
                size,
                len: self.cur(),
            }),
        }
    }

    /// The earliest deadline over pending uses that an island can help (`u64::MAX` if
    /// none).
    pub fn earliest_deadline(&self) -> u64 {
        self.deadline
    }

    /// Upper bound on the size of an island emitted now (first-hop veneers, pending
    /// constants, alignment).
    pub fn worst_case_island_size(&self) -> u64 {
        self.worst
    }

    /// Would emitting `distance` more bytes, plus a worst-case island, pass the earliest
    /// deadline? If so, the caller emits an island now (see the module docs for the
    /// protocol). Does not change the buffer.
    pub fn island_needed(&self, distance: u64) -> bool {
        self.cur()
            .saturating_add(distance)
            .saturating_add(self.worst)
            > self.deadline
    }

    // ---------------------------------------------------------------- branches

    /// Register the unconditional branch just emitted at `start..end` (`end ==
    /// cur_offset()`; its label use at `start`, targeting `target`, must be the last
    /// thing recorded). Labels bound at `start` become aliases of `target` (threading),
    /// unless that would form a cycle. Then the tail is simplified.
    ///
    /// If a trap, relocation or other record was made after the branch's label use, or
    /// refers into the branch, the branch is registered but stays frozen (never edited).
    /// On error nothing is registered and the buffer stays valid (the branch is simply
    /// not a candidate for simplification). Preserves I1 (acyclic aliases), I3 (releases
    /// only the freeze of the branch's own use) and I4.
    pub fn add_uncond_branch(
        &mut self,
        start: u64,
        end: u64,
        target: MachLabel,
    ) -> Result<(), BufferError> {
        self.add_branch(start, end, target, None)
    }

    /// Register the conditional branch just emitted at `start..end`, like
    /// [`add_uncond_branch`](Self::add_uncond_branch). `inverted` is the encoding of the
    /// same branch with the inverted condition (same length, same label-use kind at the
    /// same offset, placeholder field); simplification may swap it in.
    pub fn add_cond_branch(
        &mut self,
        start: u64,
        end: u64,
        target: MachLabel,
        inverted: &[u8],
    ) -> Result<(), BufferError> {
        if end.checked_sub(start) != Some(inverted.len() as u64) {
            return Err(BufferError::InvalidBranch {
                start,
                end,
                reason: "inverted encoding has a different length",
            });
        }
        self.add_branch(start, end, target, Some(SmallVec::from_slice(inverted)))
    }

    fn add_branch(
        &mut self,
        start: u64,
        end: u64,
        target: MachLabel,
        inverted: Option<SmallVec<[u8; 8]>>,
    ) -> Result<(), BufferError> {
        let bad = |reason| Err(BufferError::InvalidBranch { start, end, reason });
        if self.label_data(target).is_none() {
            return Err(BufferError::UnknownLabel(target));
        }
        if start >= end || end != self.cur() {
            return bad("the branch must be non-empty and end at the current offset");
        }
        let fixup = self.pending.len().wrapping_sub(1);
        match self.pending.last() {
            Some(f) if f.offset == start && f.label == target && !f.is_const => {}
            _ => return bad("the branch's label use must be the last one recorded"),
        }
        if !self.labels_at_tail.is_empty() && self.labels_at_tail_off > start {
            return bad("a label is bound inside or after the branch");
        }
        if let Some(last) = self.branches.last() {
            if last.end > start {
                return bad("the branch overlaps the previous branch");
            }
            if last.end < start {
                self.branches.clear();
            }
        }
        // Release the freeze of the branch's own use, unless something was recorded
        // after it (then the branch stays frozen: registered, but never edited).
        if self.last_fixup_seq == self.ref_seq {
            self.frozen = self.frozen_before_last_fixup;
        }
        self.last_fixup_seq = u64::MAX;
        let labels_at_start = if self.labels_at_tail_off == start {
            mem::take(&mut self.labels_at_tail)
        } else {
            self.settle_tail_labels();
            SmallVec::new()
        };
        self.labels_at_tail.clear();
        self.labels_at_tail_off = end;
        if inverted.is_none() {
            // Threading: a label at an unconditional jump means the jump's target.
            let final_target = self.resolve(target);
            for &l in &labels_at_start {
                if l != final_target {
                    self.labels[l.0 as usize].alias = target.0;
                }
            }
        }
        self.branches.push(BranchRec {
            start,
            end,
            target,
            fixup,
            inverted,
            labels_at_start,
        });
        self.simplify();
        Ok(())
    }

    fn is_aliased(&self, l: MachLabel) -> bool {
        self.labels
            .get(l.0 as usize)
            .is_some_and(|d| d.alias != NO_LABEL)
    }

    /// Can `b` (whose bytes end at `end_limit`) be edited: nothing but its own use
    /// refers into it?
    fn branch_editable(&self, b: &BranchRec) -> bool {
        b.start >= self.frozen
            && self
                .pending
                .get(b.fixup)
                .is_some_and(|f| f.offset == b.start && f.label == b.target && !f.is_const)
    }

    fn tail_has(&self, label: MachLabel) -> bool {
        self.labels_at_tail_off == self.cur() && self.labels_at_tail.contains(&label)
    }

    /// Simplify the registered tail branches until nothing applies.
    fn simplify(&mut self) {
        loop {
            let cur = self.cur();
            let n = self.branches.len();
            let Some(b) = self.branches.last() else {
                return;
            };
            if b.end != cur {
                self.branches.clear();
                return;
            }
            if !self.branch_editable(b) {
                return;
            }
            // (1) A branch to the fallthrough does nothing.
            if self.tail_has(self.resolve(b.target)) {
                self.truncate_last_branch();
                continue;
            }
            let b_uncond = b.inverted.is_none();
            let b_unreachable_entry = b.labels_at_start.iter().all(|&l| self.is_aliased(l));
            if n >= 2 {
                let p = &self.branches[n - 2];
                if p.end == b.start {
                    // (4) Nothing reaches a branch right after an unconditional jump
                    // (labels at it were threaded elsewhere).
                    if p.inverted.is_none() && b_unreachable_entry {
                        self.truncate_last_branch();
                        continue;
                    }
                    if b_uncond
                        && b_unreachable_entry
                        && self.branch_editable(p)
                        && p.fixup < b.fixup
                    {
                        let p_target = self.resolve(p.target);
                        // (3) `jcc L1; jmp L2; L1:` → `jncc L2; L1:`.
                        if self.tail_has(p_target) {
                            let new_target = b.target;
                            self.truncate_last_branch();
                            self.invert_last_branch(new_target);
                            continue;
                        }
                        // (5) `jcc L; jmp L` → `jmp L`.
                        if p_target == self.resolve(b.target) {
                            self.drop_cond_before_jump();
                            continue;
                        }
                    }
                }
            }
            return;
        }
    }

    /// Remove the last registered branch. Precondition: `branch_editable(last)` and it
    /// ends at the current offset.
    fn truncate_last_branch(&mut self) {
        let Some(b) = self.branches.pop() else { return };
        let t = b.start;
        let cur = self.cur();
        if self.labels_at_tail_off == cur {
            for &l in &self.labels_at_tail {
                if let Some(d) = self.labels.get_mut(l.0 as usize) {
                    d.offset = t;
                }
            }
        } else {
            self.labels_at_tail.clear();
        }
        for &l in &b.labels_at_start {
            if !self.is_aliased(l) {
                self.labels_at_tail.push(l);
            }
        }
        self.labels_at_tail_off = t;
        self.data.truncate(t as usize);
        if b.fixup < self.pending.len() {
            let f = self.pending.remove(b.fixup);
            if f.tracked() {
                self.worst = self.worst.saturating_sub(f.island_cost());
            }
        }
        self.last_fixup_seq = u64::MAX;
        while let Some(r) = self.srclocs.last_mut() {
            if r.end <= t {
                break;
            }
            if r.start >= t {
                self.srclocs.pop();
            } else {
                r.end = t;
                break;
            }
        }
        if let Some((s, _)) = &mut self.cur_srcloc {
            *s = (*s).min(t);
        }
    }

    /// Swap in the inverted encoding of the last branch (conditional) and retarget it.
    fn invert_last_branch(&mut self, new_target: MachLabel) {
        let Some(c) = self.branches.last_mut() else {
            return;
        };
        let Some(inv) = c.inverted.as_mut() else {
            return;
        };
        let (s, e) = (c.start as usize, c.end as usize);
        if let Some(bytes) = self.data.get_mut(s..e) {
            if bytes.len() == inv.len() {
                bytes.swap_with_slice(inv);
                c.target = new_target;
                if let Some(f) = self.pending.get_mut(c.fixup) {
                    f.label = new_target;
                }
            }
        }
    }

    /// `jcc L; jmp L` (both going to the same place): remove the conditional branch by
    /// re-emitting the jump at its start.
    fn drop_cond_before_jump(&mut self) {
        let n = self.branches.len();
        let b = &self.branches[n - 1];
        let jump: SmallVec<[u8; 16]> =
            SmallVec::from_slice(&self.data[b.start as usize..b.end as usize]);
        let fix = self.pending[b.fixup];
        let target = b.target;
        self.truncate_last_branch();
        self.truncate_last_branch();
        let start = self.cur();
        self.data.extend_from_slice(&jump);
        self.record_use(start, target, fix.kind, false);
        // Cannot fail: the preconditions hold by construction; on failure the jump simply
        // stays unregistered, which is still correct code.
        let _ = self.add_branch(start, self.cur(), target, None);
    }

    // ---------------------------------------------------------------- constants

    /// Register `data` (aligned to `align`, a power of two) in the constant pool.
    /// Identical data gets the same id (the alignment becomes the larger one).
    /// Preserves all invariants; nothing is emitted until the constant is used.
    pub fn register_constant(
        &mut self,
        data: &[u8],
        align: u32,
    ) -> Result<ConstantId, BufferError> {
        if !align.is_power_of_two() || align > MAX_CONSTANT_ALIGN {
            return Err(BufferError::BadAlignment(align));
        }
        let h = hash_bytes(data);
        let mut next = self.const_dedup.get(&h).copied().unwrap_or(NO_LABEL);
        while let Some(c) = self.constants.get_mut(next as usize) {
            if &self.const_bytes[c.start..c.start + c.len] == data {
                if align > c.align {
                    if c.state == ConstState::Pending {
                        self.worst = self.worst.saturating_add(u64::from(align - c.align));
                    }
                    c.align = align;
                    if let ConstState::Emitted(at) = c.state {
                        if at % u64::from(align) != 0 {
                            c.state = ConstState::Unused;
                        }
                    }
                }
                return Ok(ConstantId(next));
            }
            next = c.next_same_hash;
        }
        if self.constants.len() >= (NO_LABEL - 1) as usize {
            return Err(BufferError::TooManyEntities);
        }
        let id = self.constants.len() as u32;
        let prev_head = self.const_dedup.insert(h, id).unwrap_or(NO_LABEL);
        self.constants.push(ConstData {
            start: self.const_bytes.len(),
            len: data.len(),
            align,
            label: NO_LABEL,
            state: ConstState::Unused,
            next_same_hash: prev_head,
        });
        self.const_bytes.extend_from_slice(data);
        Ok(ConstantId(id))
    }

    /// The instruction at `offset` (already written) refers to `constant` as `kind`.
    /// The constant is placed in the next island (or at `finish`) unless a copy placed
    /// earlier is within the kind's backward range. Freezes the bytes of the use (I3).
    pub fn use_constant(
        &mut self,
        offset: u64,
        constant: ConstantId,
        kind: U,
    ) -> Result<(), BufferError> {
        self.check_use_bounds("constant use", offset, u64::from(kind.patch_size()))?;
        let Some(c) = self.constants.get(constant.0 as usize).copied() else {
            return Err(BufferError::UnknownConstant(constant));
        };
        let label = match c.state {
            ConstState::Emitted(at) if c.label != NO_LABEL && in_range(kind, offset, at) => c.label,
            ConstState::Pending if c.label != NO_LABEL => c.label,
            _ => {
                let l = self.new_label(true);
                if l.0 == NO_LABEL {
                    return Err(BufferError::TooManyEntities);
                }
                let c = &mut self.constants[constant.0 as usize];
                c.label = l.0;
                c.state = ConstState::Pending;
                let cost = c.len as u64 + u64::from(c.align - 1);
                self.worst = self.worst.saturating_add(cost);
                self.pending_constants.push(constant);
                l.0
            }
        };
        self.record_use(offset, MachLabel(label), kind, true);
        Ok(())
    }

    fn align_to(&mut self, align: u32) {
        let a = u64::from(align.max(1));
        let pad = (a - self.cur() % a) % a;
        self.data.resize(self.data.len() + pad as usize, 0);
    }

    fn emit_pending_constants(&mut self) {
        let pending = mem::take(&mut self.pending_constants);
        let start = self.cur();
        for &id in &pending {
            let Some(c) = self.constants.get(id.0 as usize).copied() else {
                continue;
            };
            if c.state != ConstState::Pending {
                continue;
            }
            self.align_to(c.align);
            self.max_align = self.max_align.max(c.align);
            let at = self.cur();
            if let Some(d) = self.labels.get_mut(c.label as usize) {
                d.offset = at;
            }
            self.data
                .extend_from_slice(&self.const_bytes[c.start..c.start + c.len]);
            self.constants[id.0 as usize].state = ConstState::Emitted(at);
        }
        self.mark_data(start);
        self.pending_constants = pending;
        self.pending_constants.clear();
    }

    // ---------------------------------------------------------------- records

    /// The bytes from `start` to the current offset are data, not instructions (an
    /// inline jump table, say): listings show them as data. Freezes them (I3, I7). A
    /// `start` at or past the current offset records nothing.
    pub fn mark_data(&mut self, start: u64) {
        let end = self.cur();
        if start >= end {
            return;
        }
        self.frozen = self.frozen.max(end);
        match self.data_ranges.last_mut() {
            Some(last) if last.end >= start => last.end = last.end.max(end),
            _ => self.data_ranges.push(start..end),
        }
    }

    /// Record a relocation whose field starts at the current offset (call this after
    /// writing the opcode bytes, before the field). Freezes the bytes up to the field.
    pub fn add_reloc(&mut self, kind: RelocKind, target: RelocTarget, addend: i64) {
        let offset = self.cur();
        self.relocs.push(MachReloc {
            offset,
            kind,
            target,
            addend,
        });
        self.note_reference(offset.saturating_add(1));
    }

    /// Record a relocation at an explicit `offset` (at most the current offset).
    pub fn add_reloc_at_offset(
        &mut self,
        offset: u64,
        kind: RelocKind,
        target: RelocTarget,
        addend: i64,
    ) -> Result<(), BufferError> {
        self.check_use_bounds("relocation", offset, 0)?;
        self.relocs.push(MachReloc {
            offset,
            kind,
            target,
            addend,
        });
        self.note_reference(offset.saturating_add(1));
        Ok(())
    }

    /// Record a call site whose return address is the current offset (call after the
    /// call instruction). Freezes everything before it.
    pub fn add_call_site(&mut self) {
        let ret_offset = self.cur();
        self.call_sites.push(MachCallSite { ret_offset });
        self.note_reference(ret_offset);
    }

    /// Start a source-location range at the current offset (ending any open one).
    pub fn start_srcloc(&mut self, loc: RelSourceLoc) {
        self.end_srcloc();
        self.cur_srcloc = Some((self.cur(), loc));
    }

    /// End the open source-location range at the current offset (no-op if none is open;
    /// empty ranges are dropped).
    pub fn end_srcloc(&mut self) {
        if let Some((start, loc)) = self.cur_srcloc.take() {
            let end = self.cur();
            if end > start {
                self.srclocs.push(MachSrcLoc { start, end, loc });
            }
        }
    }

    // ---------------------------------------------------------------- islands

    /// Emit an island at the current offset: all pending constants, then veneers for
    /// every use that is out of range of its (bound) label, or whose label is unbound and
    /// whose deadline falls before `cur + distance + 2 * worst_case_island_size()` (the
    /// earliest a later island could come). Control must not fall into the island (see the
    /// module docs). Labels bound at the current offset move to the end of the island.
    ///
    /// Ends the editable tail (I3: everything before the island end is frozen). Uses of
    /// bound labels in range are patched now. On error the buffer is poisoned.
    pub fn emit_island(&mut self, distance: u64) -> Result<(), BufferError> {
        self.check_error()?;
        let r = self.emit_island_inner(distance);
        if let Err(e) = &r {
            self.set_error(e.clone());
        }
        r
    }

    fn emit_island_inner(&mut self, distance: u64) -> Result<(), BufferError> {
        let cur = self.cur();
        let threshold = cur
            .saturating_add(distance)
            .saturating_add(self.worst.saturating_mul(2));
        let moved = if self.labels_at_tail_off == cur {
            mem::take(&mut self.labels_at_tail)
        } else {
            SmallVec::new()
        };
        for &l in &moved {
            self.labels[l.0 as usize].offset = UNBOUND;
        }
        let open = self.cur_srcloc.map(|(_, loc)| loc);
        self.end_srcloc();
        self.branches.clear();
        self.emit_pending_constants();
        let r = self.process_fixups(Some(threshold));
        let end = self.cur();
        for &l in &moved {
            self.labels[l.0 as usize].offset = end;
        }
        self.labels_at_tail = moved;
        self.labels_at_tail_off = end;
        if let Some(loc) = open {
            self.cur_srcloc = Some((end, loc));
        }
        self.frozen = end;
        self.last_fixup_seq = u64::MAX;
        self.recompute_deadline();
        r
    }

    fn recompute_deadline(&mut self) {
        let mut deadline = u64::MAX;
        let mut worst: u64 = 0;
        for f in &self.pending {
            if f.tracked() {
                deadline = deadline.min(f.deadline());
                worst = worst.saturating_add(f.island_cost());
            }
        }
        for id in &self.pending_constants {
            if let Some(c) = self.constants.get(id.0 as usize) {
                worst = worst.saturating_add(c.len as u64 + u64::from(c.align - 1));
            }
        }
        self.deadline = deadline;
        self.worst = worst;
    }

    fn patch(&mut self, f: &Fixup<U>, target: u64) -> Result<(), BufferError> {
        let size = u64::from(f.kind.patch_size());
        self.check_use_bounds("label use", f.offset, size)?;
        let (s, e) = (f.offset as usize, (f.offset + size) as usize);
        f.kind.patch(&mut self.data[s..e], f.offset, target);
        Ok(())
    }

    /// Resolve, veneer or keep every pending fixup. `threshold`: `Some` for an island
    /// (unbound labels stay pending unless their deadline is before it), `None` for
    /// `finish` (unbound labels are errors).
    fn process_fixups(&mut self, threshold: Option<u64>) -> Result<(), BufferError> {
        let mut work = mem::take(&mut self.fixup_scratch);
        let mut urgent = mem::take(&mut self.urgent_scratch);
        work.clear();
        urgent.clear();
        mem::swap(&mut work, &mut self.pending);
        self.worst = 0;
        self.deadline = u64::MAX;
        let r = self.process_worklists(&mut work, &mut urgent, threshold);
        work.clear();
        urgent.clear();
        self.fixup_scratch = work;
        self.urgent_scratch = urgent;
        r
    }

    fn process_worklists(
        &mut self,
        work: &mut Vec<Fixup<U>>,
        urgent: &mut Vec<Fixup<U>>,
        threshold: Option<u64>,
    ) -> Result<(), BufferError> {
        while !work.is_empty() {
            for f in work.drain(..) {
                let label = self.resolve(f.label);
                let target = self.offset_of(label);
                if target != UNBOUND {
                    if in_range(f.kind, f.offset, target) {
                        self.patch(&f, target)?;
                    } else if f.kind.supports_veneer() {
                        urgent.push(f);
                    } else {
                        return Err(BufferError::OutOfRange {
                            kind: kind_name(f.kind),
                            offset: f.offset,
                            target,
                            distance: signed_distance(f.offset, target),
                            max_neg: f.kind.max_neg_range(),
                            max_pos: f.kind.max_pos_range(),
                        });
                    }
                    continue;
                }
                match threshold {
                    None => {
                        return Err(BufferError::UnboundLabel {
                            label: f.label,
                            offset: f.offset,
                        })
                    }
                    Some(t) if f.kind.supports_veneer() && f.deadline() < t => urgent.push(f),
                    Some(_) => self.push_fixup(f),
                }
            }
            // Most urgent first, so the tightest deadlines get the nearest veneers.
            urgent.sort_unstable_by_key(|f| (f.deadline(), f.offset));
            for f in urgent.drain(..) {
                let nf = self.emit_veneer(&f)?;
                work.push(nf);
            }
        }
        Ok(())
    }

    fn emit_veneer(&mut self, f: &Fixup<U>) -> Result<Fixup<U>, BufferError> {
        let bad = |reason| BufferError::BadVeneer {
            kind: kind_name(f.kind),
            reason,
        };
        if f.depth >= MAX_VENEER_CHAIN {
            return Err(bad(
                "veneer chain too long (veneers do not extend the range)",
            ));
        }
        let size = f.kind.veneer_size();
        if size == 0 {
            return Err(bad("veneer size is zero"));
        }
        let align = veneer_align::<U>();
        self.align_to(align);
        self.max_align = self
            .max_align
            .max(if align.is_power_of_two() { align } else { 1 });
        let v = self.cur();
        let distance = v.saturating_sub(f.offset);
        if distance > f.kind.max_pos_range() || v < f.offset {
            return Err(BufferError::DeadlineMissed {
                kind: kind_name(f.kind),
                offset: f.offset,
                veneer: v,
                distance,
                max_pos: f.kind.max_pos_range(),
            });
        }
        self.patch(f, v)?;
        let s = self.data.len();
        self.data.resize(s + size as usize, 0);
        let (rel, kind) = f.kind.generate_veneer(&mut self.data[s..], v);
        if u64::from(rel) + u64::from(kind.patch_size()) > u64::from(size) {
            return Err(bad("the veneer's label use lies outside the veneer"));
        }
        Ok(Fixup {
            offset: v + u64::from(rel),
            label: f.label,
            kind,
            is_const: f.is_const,
            depth: f.depth + 1,
        })
    }

    // ---------------------------------------------------------------- finish

    /// Emit pending constants (and any veneers still needed) at the end, patch every
    /// label use, and return the finished code. Errors: a used label never bound, a use
    /// out of range without a veneer, or an error recorded earlier. Labels created but
    /// never used need not be bound.
    pub fn finish(mut self) -> Result<MachBufferFinalized, BufferError> {
        self.finish_inner()
    }

    /// Like [`finish`](Self::finish), then [`clear`](Self::clear) so the buffer (and its
    /// internal allocations) can be reused for the next function.
    pub fn finish_and_clear(&mut self) -> Result<MachBufferFinalized, BufferError> {
        let r = self.finish_inner();
        self.clear();
        r
    }

    fn finish_inner(&mut self) -> Result<MachBufferFinalized, BufferError> {
        self.check_error()?;
        self.end_srcloc();
        self.branches.clear();
        self.emit_pending_constants();
        if let Err(e) = self.process_fixups(None) {
            self.set_error(e.clone());
            return Err(e);
        }
        let label_offsets = (0..self.labels.len())
            .map(|i| self.offset_of(self.resolve(MachLabel(i as u32))))
            .collect();
        let mut relocs = mem::take(&mut self.relocs);
        relocs.sort_by_key(|r| r.offset);
        let mut traps = mem::take(&mut self.traps);
        traps.sort_by_key(|t| t.offset);
        let mut call_sites = mem::take(&mut self.call_sites);
        call_sites.sort_by_key(|c| c.ret_offset);
        Ok(MachBufferFinalized {
            data: mem::take(&mut self.data),
            relocs,
            traps,
            srclocs: mem::take(&mut self.srclocs),
            call_sites,
            data_ranges: mem::take(&mut self.data_ranges),
            label_offsets,
            alignment: self.max_align,
        })
    }
}

impl<U: LabelUse> CodeSink<U> for MachBuffer<U> {
    fn cur_offset(&self) -> u64 {
        self.cur()
    }

    #[inline]
    fn put1(&mut self, b: u8) {
        self.data.push(b);
    }

    #[inline]
    fn put2(&mut self, v: u16) {
        self.data.extend_from_slice(&v.to_le_bytes());
    }

    #[inline]
    fn put4(&mut self, v: u32) {
        self.data.extend_from_slice(&v.to_le_bytes());
    }

    #[inline]
    fn put8(&mut self, v: u64) {
        self.data.extend_from_slice(&v.to_le_bytes());
    }

    #[inline]
    fn put_data(&mut self, data: &[u8]) {
        self.data.extend_from_slice(data);
    }

    /// Records a pending fixup (I2) and freezes the use's bytes (I3) until
    /// `add_*_branch` registers it as a branch. Errors (unknown label, use past the
    /// written bytes) are recorded and returned by `emit_island` / `finish`.
    fn use_label_at_offset(&mut self, offset: u64, label: MachLabel, kind: U) {
        if self.label_data(label).is_none() {
            return self.set_error(BufferError::UnknownLabel(label));
        }
        if let Err(e) = self.check_use_bounds("label use", offset, u64::from(kind.patch_size())) {
            return self.set_error(e);
        }
        self.record_use(offset, label, kind, false);
    }

    /// Records a trap at the current offset; freezes the tail up to and including it.
    fn add_trap(&mut self, code: TrapCode) {
        let offset = self.cur();
        self.traps.push(MachTrap { offset, code });
        self.note_reference(offset.saturating_add(1));
    }
}

#[doc(hidden)]
pub mod testing {
    //! A fake ISA for exercising `MachBuffer` with small buffers, a decoder/interpreter
    //! for it, and [`check_random_layout`], the layout checker behind the buffer's
    //! randomized test and fuzz target.
    //!
    //! Instructions are 4-byte little-endian words with the opcode in bits 24..31:
    //! `NOP`, `MARK id` (id in bits 0..15), `JMP_S` / `JCC_S cond` (cond in bits 16..19,
    //! inverted by `cond ^ 1`; 16-bit signed byte offset in bits 0..15, reach ±256
    //! bytes: [`TestLabelUse::Short`]), `JMP_L` (24-bit signed byte offset, reach ±64 KiB:
    //! [`TestLabelUse::Long`]), `FAR` (followed by a 64-bit signed byte offset:
    //! [`TestLabelUse::Far`], unlimited) and `LDC` (16-bit signed byte offset to an 8-byte
    //! constant, ±256 bytes, no veneer: [`TestLabelUse::Data`]). Veneers: Short → one
    //! `JMP_L`, Long → one `FAR`. All offsets are relative to the instruction start.

    use super::*;

    /// `nop`
    pub const OP_NOP: u8 = 0x01;
    /// `mark id`: an observable event.
    pub const OP_MARK: u8 = 0x02;
    /// short unconditional jump
    pub const OP_JMP_S: u8 = 0x10;
    /// short conditional jump
    pub const OP_JCC_S: u8 = 0x11;
    /// long unconditional jump
    pub const OP_JMP_L: u8 = 0x20;
    /// far jump (12 bytes)
    pub const OP_FAR: u8 = 0x30;
    /// load of an 8-byte constant
    pub const OP_LDC: u8 = 0x40;

    /// Label-use kinds of the fake ISA.
    #[derive(Copy, Clone, PartialEq, Eq, Debug)]
    pub enum TestLabelUse {
        /// ±256 bytes, veneer → `Long`.
        Short,
        /// ±64 KiB, veneer → `Far`.
        Long,
        /// 64-bit offset; no veneer.
        Far,
        /// ±256 bytes, constant loads; no veneer.
        Data,
    }

    /// An instruction word.
    pub fn word(op: u8, low24: u32) -> u32 {
        (u32::from(op) << 24) | (low24 & 0x00ff_ffff)
    }

    fn read4(b: &[u8]) -> u32 {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    impl LabelUse for TestLabelUse {
        fn max_pos_range(self) -> u64 {
            match self {
                Self::Short | Self::Data => 256,
                Self::Long => 65536,
                Self::Far => i64::MAX as u64,
            }
        }
        fn max_neg_range(self) -> u64 {
            self.max_pos_range()
        }
        fn patch_size(self) -> u32 {
            match self {
                Self::Far => 12,
                _ => 4,
            }
        }
        fn patch(self, buffer: &mut [u8], use_offset: u64, label_offset: u64) {
            let delta = label_offset.wrapping_sub(use_offset) as i64;
            match self {
                Self::Short | Self::Data | Self::Long => {
                    let w = read4(buffer);
                    let w = if self == Self::Long {
                        (w & 0xff00_0000) | (delta as u32 & 0x00ff_ffff)
                    } else {
                        (w & 0xffff_0000) | u32::from(delta as i16 as u16)
                    };
                    buffer[..4].copy_from_slice(&w.to_le_bytes());
                }
                Self::Far => buffer[4..12].copy_from_slice(&delta.to_le_bytes()),
            }
        }
        fn supports_veneer(self) -> bool {
            matches!(self, Self::Short | Self::Long)
        }
        fn veneer_size(self) -> u32 {
            match self {
                Self::Short => 4,
                Self::Long => 12,
                _ => 0,
            }
        }
        fn worst_case_veneer_size() -> u32 {
            12
        }
        fn generate_veneer(self, buffer: &mut [u8], _veneer_offset: u64) -> (u32, Self) {
            match self {
                Self::Short => {
                    buffer[..4].copy_from_slice(&word(OP_JMP_L, 0).to_le_bytes());
                    (0, Self::Long)
                }
                _ => {
                    buffer[..4].copy_from_slice(&word(OP_FAR, 0).to_le_bytes());
                    buffer[4..12].fill(0);
                    (0, Self::Far)
                }
            }
        }
        fn veneer_align() -> u32 {
            4
        }
    }

    /// The test buffer type.
    pub type TestBuffer = MachBuffer<TestLabelUse>;

    /// Emit `mark id`.
    pub fn mark(buf: &mut TestBuffer, id: u16) {
        buf.put4(word(OP_MARK, u32::from(id)));
    }

    /// Emit `n` nops.
    pub fn nops(buf: &mut TestBuffer, n: u32) {
        for _ in 0..n {
            buf.put4(word(OP_NOP, 0));
        }
    }

    /// Emit an unconditional jump of `kind` (`Short` or `Long`) to `label`; register it
    /// for simplification if `register`.
    pub fn jmp(
        buf: &mut TestBuffer,
        label: MachLabel,
        kind: TestLabelUse,
        register: bool,
    ) -> Result<(), BufferError> {
        let start = buf.cur_offset();
        let op = if kind == TestLabelUse::Long {
            OP_JMP_L
        } else {
            OP_JMP_S
        };
        buf.put4(word(op, 0));
        buf.use_label_at_offset(start, label, kind);
        if register {
            buf.add_uncond_branch(start, start + 4, label)?;
        }
        Ok(())
    }

    /// Emit a short conditional jump with condition `cond` (0..16) to `label`.
    pub fn jcc(
        buf: &mut TestBuffer,
        cond: u8,
        label: MachLabel,
        register: bool,
    ) -> Result<(), BufferError> {
        let start = buf.cur_offset();
        let c = u32::from(cond & 15);
        buf.put4(word(OP_JCC_S, c << 16));
        buf.use_label_at_offset(start, label, TestLabelUse::Short);
        if register {
            let inv = word(OP_JCC_S, (c ^ 1) << 16).to_le_bytes();
            buf.add_cond_branch(start, start + 4, label, &inv)?;
        }
        Ok(())
    }

    /// Emit `ldc` of `constant`; returns the instruction's offset.
    pub fn ldc(buf: &mut TestBuffer, constant: ConstantId) -> Result<u64, BufferError> {
        let start = buf.cur_offset();
        buf.put4(word(OP_LDC, 0));
        buf.use_constant(start, constant, TestLabelUse::Data)?;
        Ok(start)
    }

    /// Is condition `cond` true under `mask`? (`cond ^ 1` is always the opposite.)
    pub fn cond_taken(cond: u8, mask: u32) -> bool {
        ((mask >> ((cond & 15) >> 1)) & 1 == 1) ^ (cond & 1 == 1)
    }

    /// If the word at `pc` is a jump, its target (for a conditional one, the taken
    /// target) and its condition.
    pub fn decode_jump(code: &[u8], pc: u64) -> Result<Option<(u64, Option<u8>)>, String> {
        let p = usize::try_from(pc).map_err(|_| "pc overflow".to_string())?;
        let w = code
            .get(p..p + 4)
            .map(read4)
            .ok_or_else(|| format!("pc {pc:#x} outside the code"))?;
        let sext16 = i64::from(w as u16 as i16);
        let sext24 = i64::from(((w << 8) as i32) >> 8);
        let rel = |d: i64| -> Result<u64, String> {
            let t = i128::from(pc) + i128::from(d);
            u64::try_from(t).map_err(|_| format!("jump at {pc:#x} to negative offset {t}"))
        };
        Ok(match (w >> 24) as u8 {
            OP_JMP_S => Some((rel(sext16)?, None)),
            OP_JCC_S => Some((rel(sext16)?, Some(((w >> 16) & 15) as u8))),
            OP_JMP_L => Some((rel(sext24)?, None)),
            OP_FAR => {
                let b = code
                    .get(p + 4..p + 12)
                    .ok_or_else(|| format!("far jump at {pc:#x} truncated"))?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Some((rel(i64::from_le_bytes(a))?, None))
            }
            _ => None,
        })
    }

    /// Follow a jump at `pc` (taking conditional ones) through any chain of
    /// unconditional jumps/veneers it lands on; returns the first non-jump offset reached
    /// (or `stop` if reached). `max_hops` bounds the walk.
    pub fn follow(code: &[u8], pc: u64, stop: u64, max_hops: usize) -> Result<u64, String> {
        let mut pc = match decode_jump(code, pc)? {
            Some((t, _)) => t,
            None => return Err(format!("no jump at {pc:#x}")),
        };
        for _ in 0..max_hops {
            if pc == stop {
                return Ok(pc);
            }
            match decode_jump(code, pc)? {
                Some((t, None)) => pc = t,
                _ => return Ok(pc),
            }
        }
        Err(format!("jump chain from {pc:#x} too long"))
    }

    /// How a run ended.
    #[derive(Copy, Clone, PartialEq, Eq, Debug)]
    pub enum Stop {
        /// Reached the end of the code.
        End,
        /// Produced the maximum number of marks.
        Cap,
        /// Entered a loop that produces no marks (a jump target was revisited without a
        /// mark in between: the run is deterministic, so it loops forever).
        Loop,
    }

    /// The mark id that ends a run.
    pub const END_MARK: u16 = 0xffff;

    /// Run the code from offset 0 until `mark END_MARK`, `max_marks` marks, or a loop
    /// without marks. Executing anything but code, or more than `max_insts`
    /// instructions, is an error.
    pub fn run(
        code: &[u8],
        mask: u32,
        max_marks: usize,
        max_insts: u64,
    ) -> Result<(Vec<u16>, Stop), String> {
        let mut marks = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut pc = 0u64;
        for _ in 0..max_insts {
            if let Some((t, cond)) = decode_jump(code, pc)? {
                pc = match cond {
                    Some(c) if !cond_taken(c, mask) => pc + 4,
                    _ => t,
                };
                if !seen.insert(pc) {
                    return Ok((marks, Stop::Loop));
                }
                continue;
            }
            let w = read4(&code[pc as usize..]);
            match (w >> 24) as u8 {
                OP_NOP | OP_LDC => pc += 4,
                OP_MARK if w as u16 == END_MARK => return Ok((marks, Stop::End)),
                OP_MARK => {
                    marks.push(w as u16);
                    if marks.len() >= max_marks {
                        return Ok((marks, Stop::Cap));
                    }
                    seen.clear();
                    pc += 4;
                }
                _ => return Err(format!("executed non-code word {w:#010x} at {pc:#x}")),
            }
        }
        Err(format!("more than {max_insts} instructions executed"))
    }

    /// A deterministic linear congruential generator.
    #[derive(Clone, Debug)]
    pub struct Lcg(u64);

    impl Lcg {
        /// Seeded generator.
        pub fn new(seed: u64) -> Self {
            Lcg(seed ^ 0x9e37_79b9_7f4a_7c15)
        }
        /// Next 32 random bits.
        pub fn next_u32(&mut self) -> u32 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 32) as u32
        }
        /// Uniform-ish in `0..n` (`n > 0`).
        pub fn below(&mut self, n: u32) -> u32 {
            self.next_u32() % n.max(1)
        }
        /// True with probability `pct` percent.
        pub fn pct(&mut self, pct: u32) -> bool {
            self.below(100) < pct
        }
    }

    #[derive(Copy, Clone, Debug)]
    enum Item {
        Mark {
            id: u16,
            trap: bool,
            reloc: bool,
            srcloc: bool,
        },
        Bind(usize),
        Jmp {
            label: usize,
            long: bool,
            register: bool,
        },
        Jcc {
            cond: u8,
            label: usize,
            register: bool,
        },
        Pad(u32),
        Ldc(usize),
    }

    impl Item {
        fn size(&self) -> u64 {
            match self {
                Item::Bind(_) => 0,
                Item::Pad(n) => u64::from(*n) * 4,
                _ => 4,
            }
        }
    }

    struct Layout {
        items: Vec<Item>,
        nlabels: usize,
        consts: Vec<[u8; 8]>,
    }

    fn gen_layout(rng: &mut Lcg) -> Layout {
        let nlabels = 1 + rng.below(10) as usize;
        let nconsts = 1 + rng.below(4) as usize;
        let consts: Vec<[u8; 8]> = (0..nconsts)
            .map(|i| {
                // Every word decodes as an invalid opcode (0xEE), so executing a constant
                // is caught. Some constants repeat to exercise deduplication.
                let v = if rng.pct(30) { 0 } else { i as u8 + 1 };
                [v, 0x11, 0x22, 0xee, v, 0x33, 0x44, 0xee]
            })
            .collect();
        let n = 1 + rng.below(60) as usize;
        let mut items = Vec::with_capacity(n + nlabels);
        let mut bound = vec![false; nlabels];
        let mut next_mark = 1u16;
        for _ in 0..n {
            let r = rng.below(100);
            let item = if r < 25 {
                next_mark += 1;
                Item::Mark {
                    id: next_mark,
                    trap: rng.pct(20),
                    reloc: rng.pct(20),
                    srcloc: rng.pct(30),
                }
            } else if r < 40 {
                let l = rng.below(nlabels as u32) as usize;
                if bound[l] {
                    continue;
                }
                bound[l] = true;
                Item::Bind(l)
            } else if r < 60 {
                Item::Jmp {
                    label: rng.below(nlabels as u32) as usize,
                    long: rng.pct(30),
                    register: rng.pct(85),
                }
            } else if r < 80 {
                Item::Jcc {
                    cond: rng.below(8) as u8,
                    label: rng.below(nlabels as u32) as usize,
                    register: rng.pct(85),
                }
            } else if r < 90 {
                let words = match rng.below(100) {
                    0..=79 => rng.below(8),
                    80..=95 => rng.below(100),
                    _ => rng.below(20_000),
                };
                Item::Pad(words)
            } else {
                Item::Ldc(rng.below(nconsts as u32) as usize)
            };
            items.push(item);
        }
        for (l, &b) in bound.iter().enumerate() {
            if !b {
                let at = rng.below(items.len() as u32 + 1) as usize;
                items.insert(at, Item::Bind(l));
            }
        }
        Layout {
            items,
            nlabels,
            consts,
        }
    }

    const JUMP_OVER: u64 = 4;
    const GROWTH_MARGIN: u64 = 32;

    struct Emitted {
        fin: MachBufferFinalized,
        ldcs: Vec<(u64, usize)>,
    }

    fn emit_layout(buf: &mut TestBuffer, lay: &Layout) -> Result<Emitted, String> {
        let e = |e: BufferError| e.to_string();
        let labels: Vec<MachLabel> = (0..lay.nlabels).map(|_| buf.get_label()).collect();
        let consts = lay
            .consts
            .iter()
            .map(|c| buf.register_constant(c, 8))
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        let mut ldcs = Vec::new();
        for item in &lay.items {
            let size = item.size();
            if buf.island_needed(size + JUMP_OVER + GROWTH_MARGIN) {
                let after = buf.get_label();
                jmp(buf, after, TestLabelUse::Long, true).map_err(e)?;
                buf.emit_island(size + GROWTH_MARGIN).map_err(e)?;
                buf.bind_label(after).map_err(e)?;
            }
            match *item {
                Item::Mark {
                    id,
                    trap,
                    reloc,
                    srcloc,
                } => {
                    if srcloc {
                        buf.start_srcloc(RelSourceLoc::from_base_offset(
                            crate::ir::SourceLoc::new(0),
                            crate::ir::SourceLoc::new(u32::from(id)),
                        ));
                    }
                    if trap {
                        buf.add_trap(TrapCode::User(id));
                    }
                    if reloc {
                        buf.add_reloc(
                            RelocKind::Abs4,
                            RelocTarget::LibCall(LibCall::CeilF32),
                            i64::from(id),
                        );
                    }
                    mark(buf, id);
                    if srcloc {
                        buf.end_srcloc();
                    }
                }
                Item::Bind(l) => buf.bind_label(labels[l]).map_err(e)?,
                Item::Jmp {
                    label,
                    long,
                    register,
                } => {
                    let kind = if long {
                        TestLabelUse::Long
                    } else {
                        TestLabelUse::Short
                    };
                    jmp(buf, labels[label], kind, register).map_err(e)?
                }
                Item::Jcc {
                    cond,
                    label,
                    register,
                } => jcc(buf, cond, labels[label], register).map_err(e)?,
                Item::Pad(n) => nops(buf, n),
                Item::Ldc(c) => ldcs.push((ldc(buf, consts[c]).map_err(e)?, c)),
            }
        }
        if buf.island_needed(4 + JUMP_OVER + GROWTH_MARGIN) {
            let after = buf.get_label();
            jmp(buf, after, TestLabelUse::Long, true).map_err(e)?;
            buf.emit_island(4 + GROWTH_MARGIN).map_err(e)?;
            buf.bind_label(after).map_err(e)?;
        }
        mark(buf, END_MARK);
        let fin = buf.finish_and_clear().map_err(e)?;
        Ok(Emitted { fin, ldcs })
    }

    /// Run the layout itself (the reference semantics).
    fn run_reference(lay: &Layout, mask: u32, max_marks: usize) -> (Vec<u16>, Stop) {
        let mut pos = vec![lay.items.len(); lay.nlabels];
        for (i, it) in lay.items.iter().enumerate() {
            if let Item::Bind(l) = it {
                pos[*l] = i;
            }
        }
        let mut marks = Vec::new();
        let mut seen = vec![false; lay.items.len() + 1];
        let mut pc = 0usize;
        loop {
            let Some(it) = lay.items.get(pc) else {
                return (marks, Stop::End);
            };
            let next = match *it {
                Item::Mark { id, .. } => {
                    marks.push(id);
                    if marks.len() >= max_marks {
                        return (marks, Stop::Cap);
                    }
                    seen.fill(false);
                    pc + 1
                }
                Item::Jmp { label, .. } => pos[label],
                Item::Jcc { cond, label, .. } if cond_taken(cond, mask) => pos[label],
                _ => pc + 1,
            };
            if matches!(it, Item::Jmp { .. } | Item::Jcc { .. }) {
                if seen[next] {
                    return (marks, Stop::Loop);
                }
                seen[next] = true;
            }
            pc = next;
        }
    }

    fn check_emitted(lay: &Layout, em: &Emitted, rng: &mut Lcg) -> Result<(), String> {
        let code = &em.fin.data;
        let word_at = |o: u64| -> Result<u32, String> {
            code.get(o as usize..o as usize + 4)
                .map(read4)
                .ok_or_else(|| format!("offset {o:#x} outside the code"))
        };
        let mark_id = |o: u64| -> Result<u16, String> {
            let w = word_at(o)?;
            if (w >> 24) as u8 != OP_MARK {
                return Err(format!(
                    "record at {o:#x} does not point at a mark (word {w:#010x})"
                ));
            }
            Ok(w as u16)
        };
        for t in &em.fin.traps {
            if TrapCode::User(mark_id(t.offset)?) != t.code {
                return Err(format!("trap {t:?} points at the wrong mark"));
            }
        }
        for r in &em.fin.relocs {
            if i64::from(mark_id(r.offset)?) != r.addend {
                return Err(format!("reloc {r:?} points at the wrong mark"));
            }
        }
        for s in &em.fin.srclocs {
            let id = mark_id(s.start)?;
            if s.end != s.start + 4 || s.loc.offset() != Some(u32::from(id)) {
                return Err(format!("srcloc {s:?} does not cover exactly its mark"));
            }
        }
        // I7: data ranges are non-empty, sorted, disjoint, inside the code; they cover every
        // constant and no instruction with a record.
        let ranges = &em.fin.data_ranges;
        if ranges
            .iter()
            .any(|d| d.start >= d.end || d.end > code.len() as u64)
            || ranges.windows(2).any(|w| w[0].end >= w[1].start)
        {
            return Err(format!("malformed data ranges {ranges:?}"));
        }
        let in_data = |o: u64| ranges.iter().any(|d| d.contains(&o));
        let records = em.fin.traps.iter().map(|t| t.offset);
        let records = records.chain(em.fin.relocs.iter().map(|r| r.offset));
        let records = records.chain(em.fin.srclocs.iter().map(|s| s.start));
        if let Some(o) = records
            .chain(em.ldcs.iter().map(|l| l.0))
            .find(|&o| in_data(o))
        {
            return Err(format!("the instruction at {o:#x} lies in a data range"));
        }
        for &(o, c) in &em.ldcs {
            let w = word_at(o)?;
            let t = o as i64 + i64::from(w as u16 as i16);
            let got = code.get(t as usize..t as usize + 8);
            if t < 0 || got != Some(&lay.consts[c][..]) {
                return Err(format!(
                    "ldc at {o:#x} reads {got:?} at {t:#x}, expected constant {c}"
                ));
            }
            if !ranges
                .iter()
                .any(|d| d.start <= t as u64 && t as u64 + 8 <= d.end)
            {
                return Err(format!("constant {c} at {t:#x} is not in a data range"));
            }
        }
        let masks = [0u32, u32::MAX, rng.next_u32()];
        for mask in masks {
            let (rm, rs) = run_reference(lay, mask, 64);
            let (mm, ms) = run(code, mask, 64, 50_000_000)?;
            if rm != mm || rs != ms {
                return Err(format!(
                    "mask {mask:#x}: reference marks {rm:?} ({rs:?}) but machine code gives {mm:?} ({ms:?})"
                ));
            }
        }
        Ok(())
    }

    /// Build a random layout of labels, branches (registered or not, short or long),
    /// padding, constant loads and recorded marks from `seed_bytes`, emit it with the
    /// island protocol, and check that the machine code behaves exactly like the layout
    /// (every branch lands on its label, through veneers if needed), that constant loads
    /// read their constants, that trap/reloc/srcloc records point at their marks, and
    /// that reusing the buffer after `finish_and_clear` gives identical output.
    /// Build a random layout of labels, branches (registered or not, short or long),
    /// padding, constant loads and recorded marks from `seed_bytes`, emit it with the
    /// island protocol, and check that the machine code behaves exactly like the layout
    /// (every branch lands on its label, through veneers if needed), that constant loads
    /// read their constants, that trap/reloc/srcloc records point at their marks, and
    /// that reusing the buffer after `finish_and_clear` gives identical output.
    pub fn check_random_layout_debug(seed_bytes: &[u8]) -> Result<(), String> {
        let mut rng = Lcg::new(hash_bytes(seed_bytes));
        let lay = gen_layout(&mut rng);
        for (i, it) in lay.items.iter().enumerate() {
            eprintln!("{i}: {it:?}");
        }
        let mut buf = TestBuffer::new();
        let first = emit_layout(&mut buf, &lay)?;

        for (i, w) in first.fin.data.chunks(4).enumerate() {
            if i < 200 {
                eprintln!(
                    "{:4x}: {:08x}",
                    i * 4,
                    u32::from_le_bytes([w[0], w[1], w[2], w[3]])
                );
            }
        }
        check_emitted(&lay, &first, &mut rng)
    }
    pub fn check_random_layout_stats(seed_bytes: &[u8]) -> (usize, usize, usize) {
        let mut rng = Lcg::new(hash_bytes(seed_bytes));
        let lay = gen_layout(&mut rng);
        let mut buf = TestBuffer::new();
        let first = emit_layout(&mut buf, &lay).unwrap();
        let far = first
            .fin
            .data
            .chunks(4)
            .filter(|w| w.len() == 4 && w[3] == OP_FAR)
            .count();
        let jl = first
            .fin
            .data
            .chunks(4)
            .filter(|w| w.len() == 4 && w[3] == OP_JMP_L)
            .count();
        (far, jl, first.fin.data.len())
    }
    pub fn check_random_layout(seed_bytes: &[u8]) -> Result<(), String> {
        let mut rng = Lcg::new(hash_bytes(seed_bytes));
        let lay = gen_layout(&mut rng);
        let mut buf = TestBuffer::new();
        let first = emit_layout(&mut buf, &lay)?;
        check_emitted(&lay, &first, &mut rng)?;
        let second = emit_layout(&mut buf, &lay)?;
        if second.fin != first.fin {
            return Err("reusing the buffer gave different output".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::ir::SourceLoc;

    fn w(code: &[u8], off: u64) -> u32 {
        let o = off as usize;
        u32::from_le_bytes([code[o], code[o + 1], code[o + 2], code[o + 3]])
    }

    fn words(code: &[u8]) -> Vec<u32> {
        (0..code.len() as u64 / 4).map(|i| w(code, i * 4)).collect()
    }

    fn m(id: u16) -> u32 {
        word(OP_MARK, u32::from(id))
    }

    fn target(code: &[u8], at: u64) -> u64 {
        decode_jump(code, at).unwrap().unwrap().0
    }

    fn rel(id: u32) -> RelSourceLoc {
        RelSourceLoc::from_base_offset(SourceLoc::new(0), SourceLoc::new(id))
    }

    #[test]
    fn jump_to_fallthrough_is_removed() {
        let mut b = TestBuffer::new();
        let l = b.get_label();
        mark(&mut b, 1);
        jmp(&mut b, l, TestLabelUse::Short, true).unwrap();
        assert_eq!(b.cur_offset(), 8);
        b.bind_label(l).unwrap();
        assert_eq!(b.cur_offset(), 4, "jmp removed");
        assert_eq!(b.label_offset(l), Some(4));
        mark(&mut b, 2);
        let f = b.finish().unwrap();
        assert_eq!(words(&f.data), [m(1), m(2)]);
        assert_eq!(f.label_offset(l), Some(4));
    }

    #[test]
    fn cond_jump_to_fallthrough_is_removed_and_labels_move() {
        let mut b = TestBuffer::new();
        let (a, l) = (b.get_label(), b.get_label());
        mark(&mut b, 1);
        b.bind_label(a).unwrap();
        jcc(&mut b, 3, l, true).unwrap();
        b.bind_label(l).unwrap();
        assert_eq!(b.cur_offset(), 4);
        assert_eq!(
            b.label_offset(a),
            Some(4),
            "label at the removed branch stays at the truncation point"
        );
        assert_eq!(
            b.label_offset(l),
            Some(4),
            "label at the old end moves back"
        );
        // A later jump back to `a` still works.
        mark(&mut b, 2);
        jmp(&mut b, a, TestLabelUse::Short, true).unwrap();
        let f = b.finish().unwrap();
        assert_eq!(words(&f.data)[..2], [m(1), m(2)]);
        assert_eq!(target(&f.data, 8), 4);
    }

    #[test]
    fn chained_removals_move_all_tail_labels() {
        // jcc L; jmp L; L:  → everything disappears.
        let mut b = TestBuffer::new();
        let l = b.get_label();
        mark(&mut b, 1);
        jcc(&mut b, 0, l, true).unwrap();
        jmp(&mut b, l, TestLabelUse::Short, true).unwrap();
        b.bind_label(l).unwrap();
        assert_eq!(b.cur_offset(), 4);
        mark(&mut b, 2);
        let f = b.finish().unwrap();
        assert_eq!(words(&f.data), [m(1), m(2)]);
    }

    #[test]
    fn unregistered_branches_are_never_touched() {
        let mut b = TestBuffer::new();
        let l = b.get_label();
        jmp(&mut b, l, TestLabelUse::Short, false).unwrap();
        b.bind_label(l).unwrap();
        let f = b.finish().unwrap();
        assert_eq!(words(&f.data), [word(OP_JMP_S, 4)]);
    }

    #[test]
    fn threading_through_empty_blocks() {
        // jcc A; mark 1; A: jmp B; mark 2; B: mark 3
        let mut b = TestBuffer::new();
        let (a, bl) = (b.get_label(), b.get_label());
        jcc(&mut b, 2, a, true).unwrap();
        mark(&mut b, 1);
        b.bind_label(a).unwrap();
        jmp(&mut b, bl, TestLabelUse::Short, true).unwrap();
        mark(&mut b, 2);
        b.bind_label(bl).unwrap();
        mark(&mut b, 3);
        let f = b.finish().unwrap();
        assert_eq!(words(&f.data)[1..], [m(1), word(OP_JMP_S, 8), m(2), m(3)]);
        assert_eq!(target(&f.data, 0), 16, "jcc threaded straight to B");
        assert_eq!(f.label_offset(a), Some(16), "A is an alias of B");
    }

    #[test]
    fn threading_guards_against_cycles() {
        // L: jmp L
        let mut b = TestBuffer::new();
        let l = b.get_label();
        mark(&mut b, 1);
        b.bind_label(l).unwrap();
        jmp(&mut b, l, TestLabelUse::Short, true).unwrap();
        let f = b.finish().unwrap();
        assert_eq!(words(&f.data), [m(1), word(OP_JMP_S, 0)]);
        // L: jmp M; M: jmp L  (two-label cycle)
        let mut b = TestBuffer::new();
        let (l, mm) = (b.get_label(), b.get_label());
        mark(&mut b, 1);
        b.bind_label(l).unwrap();
        jmp(&mut b, mm, TestLabelUse::Short, true).unwrap();
        b.bind_label(mm).unwrap();
        jmp(&mut b, l, TestLabelUse::Short, true).unwrap();
        mark(&mut b, 2);
        let f = b.finish().unwrap();
        // Whatever was simplified, running it loops forever after mark 1.
        assert_eq!(run(&f.data, 0, 10, 1000).unwrap(), (vec![1], Stop::Loop));
        assert_eq!(f.label_offset(l), f.label_offset(mm));
    }

    #[test]
    fn cond_over_uncond_is_inverted() {
        // jcc(5) L1; jmp L2; L1: mark 1; L2: mark 2
        let mut b = TestBuffer::new();
        let (l1, l2) = (b.get_label(), b.get_label());
        mark(&mut b, 9);
        jcc(&mut b, 5, l1, true).unwrap();
        jmp(&mut b, l2, TestLabelUse::Short, true).unwrap();
        assert_eq!(b.cur_offset(), 12);
        b.bind_label(l1).unwrap();
        assert_eq!(b.cur_offset(), 8, "the jmp is gone");
        mark(&mut b, 1);
        b.bind_label(l2).unwrap();
        mark(&mut b, 2);
        let f = b.finish().unwrap();
        let code = words(&f.data);
        assert_eq!(
            code[1] & 0xffff_0000,
            word(OP_JCC_S, 4 << 16),
            "condition inverted 5 → 4"
        );
        assert_eq!(target(&f.data, 4), 12, "inverted branch goes to L2");
        assert_eq!(code[2..], [m(1), m(2)]);
        assert_eq!(f.label_offset(l1), Some(8));
    }

    #[test]
    fn cond_and_uncond_to_same_target_become_one_jump() {
        // mark; X: jcc L; jmp L; mark; L: mark
        let mut b = TestBuffer::new();
        let (x, l) = (b.get_label(), b.get_label());
        mark(&mut b, 1);
        b.bind_label(x).unwrap();
        jcc(&mut b, 1, l, true).unwrap();
        jmp(&mut b, l, TestLabelUse::Long, true).unwrap();
        assert_eq!(b.cur_offset(), 8);
        mark(&mut b, 2);
        b.bind_label(l).unwrap();
        mark(&mut b, 3);
        let f = b.finish().unwrap();
        assert_eq!(words(&f.data)[0], m(1));
        assert_eq!(w(&f.data, 4) >> 24, u32::from(OP_JMP_L));
        assert_eq!(target(&f.data, 4), 12);
        assert_eq!(f.label_offset(x), Some(12), "X threaded to L");
    }

    #[test]
    fn unreachable_jump_after_jump_is_removed() {
        // jmp A; jmp B (nothing reaches it); A: mark
        let mut b = TestBuffer::new();
        let (a, bl) = (b.get_label(), b.get_label());
        jmp(&mut b, a, TestLabelUse::Short, true).unwrap();
        jmp(&mut b, bl, TestLabelUse::Short, true).unwrap();
        assert_eq!(b.cur_offset(), 4);
        b.bind_label(a).unwrap();
        assert_eq!(b.cur_offset(), 0);
        mark(&mut b, 1);
        b.bind_label(bl).unwrap();
        let f = b.finish().unwrap();
        assert_eq!(words(&f.data), [m(1)]);
    }

    #[test]
    fn records_block_or_survive_simplification() {
        // Records before the tail branch are unaffected; a trap or reloc *at* the
        // branch blocks its removal.
        let mut b = TestBuffer::new();
        let (l, l2) = (b.get_label(), b.get_label());
        b.start_srcloc(rel(7));
        b.add_trap(TrapCode::HeapOutOfBounds);
        b.add_reloc(RelocKind::Abs8, RelocTarget::LibCall(LibCall::FloorF64), 3);
        mark(&mut b, 1);
        b.end_srcloc();
        b.add_call_site();
        b.start_srcloc(rel(8));
        jmp(&mut b, l, TestLabelUse::Short, true).unwrap();
        b.end_srcloc();
        b.bind_label(l).unwrap();
        assert_eq!(b.cur_offset(), 4, "unrelated tail jump removed");
        b.add_trap(TrapCode::Unreachable);
        let at = b.cur_offset();
        jmp(&mut b, l2, TestLabelUse::Short, true).unwrap();
        b.bind_label(l2).unwrap();
        assert_eq!(b.cur_offset(), 8, "jump with a trap record is kept");
        let f = b.finish().unwrap();
        assert_eq!(
            f.traps,
            [
                MachTrap {
                    offset: 0,
                    code: TrapCode::HeapOutOfBounds
                },
                MachTrap {
                    offset: at,
                    code: TrapCode::Unreachable
                }
            ]
        );
        assert_eq!(f.relocs.len(), 1);
        assert_eq!(f.relocs[0].offset, 0);
        assert_eq!(f.call_sites, [MachCallSite { ret_offset: 4 }]);
        assert_eq!(
            f.srclocs,
            [MachSrcLoc {
                start: 0,
                end: 4,
                loc: rel(7)
            }],
            "range over the removed jump dropped"
        );
    }

    #[test]
    fn srcloc_ranges_are_clipped_by_truncation() {
        let mut b = TestBuffer::new();
        let l = b.get_label();
        b.start_srcloc(rel(1));
        mark(&mut b, 1);
        jmp(&mut b, l, TestLabelUse::Short, true).unwrap();
        b.end_srcloc();
        b.bind_label(l).unwrap();
        let f = b.finish().unwrap();
        assert_eq!(
            f.srclocs,
            [MachSrcLoc {
                start: 0,
                end: 4,
                loc: rel(1)
            }]
        );
    }

    #[test]
    fn fixups_resolve_forward_and_backward() {
        let mut b = TestBuffer::new();
        let (back, fwd) = (b.get_label(), b.get_label());
        b.bind_label(back).unwrap();
        mark(&mut b, 1);
        jcc(&mut b, 0, fwd, false).unwrap();
        jmp(&mut b, back, TestLabelUse::Long, false).unwrap();
        mark(&mut b, 2);
        b.bind_label(fwd).unwrap();
        mark(&mut b, 3);
        let f = b.finish().unwrap();
        assert_eq!(target(&f.data, 4), 16);
        assert_eq!(target(&f.data, 8), 0);
        assert_eq!(w(&f.data, 4) & 0xffff, 12);
        assert_eq!(w(&f.data, 8) & 0xff_ffff, (-8i32 as u32) & 0xff_ffff);
    }

    #[test]
    fn deadline_forces_an_island_with_a_veneer() {
        let mut b = TestBuffer::new();
        let l = b.get_label();
        jmp(&mut b, l, TestLabelUse::Short, false).unwrap();
        assert_eq!(b.earliest_deadline(), 256);
        assert_eq!(b.worst_case_island_size(), 4 + 3);
        assert!(!b.island_needed(200));
        assert!(b.island_needed(250));
        let mut islands = 0;
        for _ in 0..100 {
            if b.island_needed(8) {
                islands += 1;
                // Protocol variant 1: after an unconditional jump (here: a `jmp` to the
                // code after the island that simplification cannot remove).
                let after = b.get_label();
                jmp(&mut b, after, TestLabelUse::Long, false).unwrap();
                b.emit_island(8).unwrap();
                b.bind_label(after).unwrap();
            }
            nops(&mut b, 1);
        }
        assert_eq!(islands, 1);
        b.bind_label(l).unwrap();
        let lo = b.cur_offset();
        mark(&mut b, 1);
        let f = b.finish().unwrap();
        let v = target(&f.data, 0);
        assert!(v < 256 && v > 200, "veneer at {v}");
        assert_eq!(w(&f.data, v) >> 24, u32::from(OP_JMP_L));
        assert_eq!(target(&f.data, v), lo);
        assert_eq!(follow(&f.data, 0, u64::MAX, 4).unwrap(), lo);
    }

    #[test]
    fn labels_at_the_island_point_move_past_the_island() {
        let mut b = TestBuffer::new();
        let l2 = b.get_label();
        let c = b.register_constant(&[0xee; 8], 8).unwrap();
        ldc(&mut b, c).unwrap();
        mark(&mut b, 9);
        // After an unconditional jump (unregistered, so it stays): bind the next block's
        // label, then the island.
        jmp(&mut b, l2, TestLabelUse::Short, false).unwrap();
        b.bind_label(l2).unwrap();
        let before = b.cur_offset();
        b.emit_island(0).unwrap();
        assert!(b.cur_offset() > before, "constant placed");
        assert_eq!(
            b.label_offset(l2),
            Some(b.cur_offset()),
            "l2 moved past the island"
        );
        mark(&mut b, 1);
        mark(&mut b, END_MARK);
        let f = b.finish().unwrap();
        assert_eq!(run(&f.data, 0, 10, 100).unwrap(), (vec![9, 1], Stop::End));
        assert_eq!(target(&f.data, 8), f.label_offset(l2).unwrap());
    }

    #[test]
    fn in_range_uses_need_no_veneer() {
        let mut b = TestBuffer::new();
        let l = b.get_label();
        jmp(&mut b, l, TestLabelUse::Short, false).unwrap();
        nops(&mut b, 20);
        b.bind_label(l).unwrap();
        b.emit_island(0).unwrap();
        let f = b.finish().unwrap();
        assert_eq!(f.data.len(), 84, "empty island");
        assert_eq!(target(&f.data, 0), 84);
    }

    /// Emit `n` nops in chunks, with the jump-over island protocol.
    fn pad(b: &mut TestBuffer, n: u32) -> u32 {
        let mut islands = 0;
        for _ in 0..n / 8 {
            if b.island_needed(32 + 4 + 32) {
                islands += 1;
                let after = b.get_label();
                jmp(b, after, TestLabelUse::Long, true).unwrap();
                b.emit_island(32 + 32).unwrap();
                b.bind_label(after).unwrap();
            }
            nops(b, 8);
        }
        islands
    }

    #[test]
    fn veneer_chain_short_long_far() {
        let mut b = TestBuffer::new();
        let l = b.get_label();
        let back = b.get_label();
        b.bind_label(back).unwrap();
        mark(&mut b, 1);
        jcc(&mut b, 0, l, false).unwrap();
        let islands = pad(&mut b, 40_000); // 160 KB > the Long range
        assert!(islands >= 2);
        b.bind_label(l).unwrap();
        let lo = b.cur_offset();
        mark(&mut b, 2);
        // And a backward short jump over the same distance.
        let jb = b.cur_offset();
        jmp(&mut b, back, TestLabelUse::Short, false).unwrap();
        pad(&mut b, 16);
        mark(&mut b, END_MARK);
        let f = b.finish().unwrap();
        let code = &f.data;
        // Forward: jcc → JMP_L → FAR → l.
        let v1 = target(code, 4);
        assert_eq!(w(code, v1) >> 24, u32::from(OP_JMP_L));
        let v2 = target(code, v1);
        assert_eq!(w(code, v2) >> 24, u32::from(OP_FAR));
        assert_eq!(target(code, v2), lo);
        assert!(v1 - 4 <= 256 && v2 - v1 <= 65536);
        // Backward: jmp → JMP_L → FAR → back.
        let u1 = target(code, jb);
        let u2 = target(code, u1);
        assert_eq!(w(code, u2) >> 24, u32::from(OP_FAR));
        assert_eq!(target(code, u2), 0);
        assert_eq!(
            run(code, 1, 3, 1 << 20).unwrap(),
            (vec![1, 2, 1], Stop::Cap)
        );
        assert_eq!(
            run(code, 0, 3, 1 << 20).unwrap(),
            (vec![1, 2, 1], Stop::Cap)
        );
    }

    #[test]
    fn constants_are_deduplicated_and_placed() {
        let mut b = TestBuffer::new();
        let c1 = b.register_constant(&[1, 2, 3, 4, 5, 6, 7, 8], 4).unwrap();
        let c2 = b.register_constant(&[9; 8], 8).unwrap();
        let c3 = b.register_constant(&[1, 2, 3, 4, 5, 6, 7, 8], 8).unwrap();
        assert_eq!(c1, c3);
        assert_ne!(c1, c2);
        assert!(matches!(
            b.register_constant(&[1], 3),
            Err(BufferError::BadAlignment(3))
        ));
        assert!(matches!(
            b.use_constant(0, ConstantId(99), TestLabelUse::Data),
            Err(BufferError::OutOfBounds { .. })
        ));
        mark(&mut b, 1);
        let a = ldc(&mut b, c1).unwrap();
        let a2 = ldc(&mut b, c3).unwrap();
        mark(&mut b, 2);
        let f = b.finish().unwrap();
        // One copy, 8-aligned, after the code.
        let t1 = (a as i64 + i64::from(w(&f.data, a) as u16 as i16)) as usize;
        let t2 = (a2 as i64 + i64::from(w(&f.data, a2) as u16 as i16)) as usize;
        assert_eq!(t1, t2);
        assert_eq!(t1, 16);
        assert_eq!(&f.data[t1..t1 + 8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(f.data.len(), 24, "unused constant c2 not emitted");
        assert_eq!(f.alignment, 8);
        assert_eq!(
            f.data_ranges,
            [Range { start: 16, end: 24 }],
            "the pool is data"
        );
    }

    #[test]
    fn marked_data_is_recorded_merged_and_survives_simplification() {
        let mut b = TestBuffer::new();
        let l = b.get_label();
        mark(&mut b, 1);
        b.mark_data(4);
        b.mark_data(99);
        let start = b.cur_offset();
        nops(&mut b, 2);
        b.mark_data(start);
        nops(&mut b, 1);
        b.mark_data(start + 8);
        // A branch to the next byte after the data is removed; the data stays.
        jmp(&mut b, l, TestLabelUse::Short, true).unwrap();
        b.bind_label(l).unwrap();
        mark(&mut b, 2);
        let f = b.finish().unwrap();
        assert_eq!(f.data.len(), 20);
        assert_eq!(
            f.data_ranges,
            [Range { start: 4, end: 16 }],
            "empty ranges dropped, adjacent ones merged"
        );
    }

    #[test]
    fn constants_go_into_islands_and_are_re_emitted_when_far() {
        let mut b = TestBuffer::new();
        let c = b.register_constant(&[0xee; 8], 8).unwrap();
        let a = ldc(&mut b, c).unwrap();
        assert!(b.island_needed(256));
        let islands = pad(&mut b, 200);
        assert_eq!(islands, 1);
        let a2 = ldc(&mut b, c).unwrap();
        let f = b.finish().unwrap();
        let t = |at: u64| (at as i64 + i64::from(w(&f.data, at) as u16 as i16)) as u64;
        assert!(t(a) < 256, "first copy in the island");
        assert!(t(a2) > a2, "far use gets a second copy at the end");
        assert_eq!(&f.data[t(a) as usize..t(a) as usize + 8], &[0xee; 8]);
        assert_eq!(&f.data[t(a2) as usize..t(a2) as usize + 8], &[0xee; 8]);
        // Both copies are data (with any padding before them); the island's jump-over
        // and the code around it are not.
        assert_eq!(f.data_ranges.len(), 2, "{:?}", f.data_ranges);
        assert!(f.data_ranges[0].contains(&t(a)) && f.data_ranges[0].end == t(a) + 8);
        assert!(f.data_ranges[1].contains(&t(a2)) && f.data_ranges[1].end == t(a2) + 8);
        assert!(!f
            .data_ranges
            .iter()
            .any(|d| d.contains(&a) || d.contains(&a2)));
    }

    #[test]
    fn out_of_range_without_veneer_is_an_error() {
        let mut b = TestBuffer::new();
        let c = b.register_constant(&[1; 8], 8).unwrap();
        ldc(&mut b, c).unwrap();
        nops(&mut b, 100);
        match b.finish() {
            Err(BufferError::OutOfRange {
                kind,
                distance,
                offset,
                ..
            }) => {
                assert_eq!((kind.as_str(), offset, distance), ("Data", 0, 408));
            }
            r => panic!("{r:?}"),
        }
        let mut b = TestBuffer::new();
        let l = b.get_label();
        let at = b.cur_offset();
        b.put4(word(OP_FAR, 0));
        b.put8(0);
        b.use_label_at_offset(at, l, TestLabelUse::Far);
        b.bind_label(l).unwrap();
        assert!(b.finish().is_ok());
    }

    #[test]
    fn missed_deadline_is_an_error_not_a_panic() {
        let mut b = TestBuffer::new();
        let l = b.get_label();
        jmp(&mut b, l, TestLabelUse::Short, false).unwrap();
        nops(&mut b, 100);
        let e = b.emit_island(0).unwrap_err();
        assert!(matches!(e, BufferError::DeadlineMissed { .. }), "{e}");
        assert!(e.to_string().contains("Short"));
        // The buffer is poisoned.
        assert_eq!(b.finish().unwrap_err(), e);
    }

    #[test]
    fn unbound_label_at_finish_is_an_error() {
        let mut b = TestBuffer::new();
        let l = b.get_label();
        let _unused = b.get_label();
        mark(&mut b, 1);
        jmp(&mut b, l, TestLabelUse::Short, true).unwrap();
        assert_eq!(
            b.finish().unwrap_err(),
            BufferError::UnboundLabel {
                label: l,
                offset: 4
            }
        );
    }

    #[test]
    fn misuse_is_reported_not_panicking() {
        let mut b = TestBuffer::new();
        let l = b.get_label();
        assert_eq!(
            b.bind_label(MachLabel(7)),
            Err(BufferError::UnknownLabel(MachLabel(7)))
        );
        b.bind_label(l).unwrap();
        assert_eq!(b.bind_label(l), Err(BufferError::LabelAlreadyBound(l)));
        assert!(b.add_uncond_branch(0, 4, l).is_err());
        mark(&mut b, 1);
        assert!(
            b.add_uncond_branch(0, 4, l).is_err(),
            "no label use recorded"
        );
        b.put4(0);
        b.use_label_at_offset(4, l, TestLabelUse::Short);
        assert!(b.add_cond_branch(4, 8, l, &[0; 3]).is_err());
        b.add_trap(TrapCode::Unreachable);
        b.add_uncond_branch(4, 8, l).unwrap();
        assert_eq!(
            b.cur_offset(),
            8,
            "registered but frozen by the trap recorded after it"
        );
        b.use_label_at_offset(100, l, TestLabelUse::Short);
        b.use_label_at_offset(0, MachLabel(55), TestLabelUse::Short);
        assert!(matches!(b.error(), Some(BufferError::OutOfBounds { .. })));
        assert!(b.emit_island(0).is_err());
        assert!(b.finish().is_err());
        // Arbitrary end_srcloc / clear sequences are harmless.
        let mut b = TestBuffer::new();
        b.end_srcloc();
        b.clear();
        b.emit_island(u64::MAX).unwrap();
        assert!(!b.island_needed(u64::MAX));
        assert_eq!(b.finish().unwrap().data.len(), 0);
    }

    fn build_sample(b: &mut TestBuffer) -> MachBufferFinalized {
        let (l1, l2) = (b.get_label(), b.get_label());
        let c = b.register_constant(&[3; 8], 8).unwrap();
        b.start_srcloc(rel(4));
        mark(b, 1);
        b.end_srcloc();
        jcc(b, 2, l1, true).unwrap();
        jmp(b, l2, TestLabelUse::Short, true).unwrap();
        b.bind_label(l1).unwrap();
        ldc(b, c).unwrap();
        b.add_trap(TrapCode::IntegerOverflow);
        mark(b, 2);
        pad(b, 100);
        b.bind_label(l2).unwrap();
        b.finish_and_clear().unwrap()
    }

    #[test]
    fn clear_and_reuse_gives_identical_output() {
        let mut b = TestBuffer::new();
        let first = build_sample(&mut b);
        let second = build_sample(&mut b);
        assert_eq!(first, second);
        let mut fresh = TestBuffer::new();
        assert_eq!(build_sample(&mut fresh), first);
        // A buffer abandoned mid-way and cleared also behaves like a new one.
        let mut b = TestBuffer::new();
        let l = b.get_label();
        jmp(&mut b, l, TestLabelUse::Short, true).unwrap();
        b.clear();
        assert_eq!(build_sample(&mut b), first);
    }

    #[test]
    fn random_layouts() {
        for seed in 0u32..1500 {
            if let Err(e) = check_random_layout(&seed.to_le_bytes()) {
                panic!("seed {seed}: {e}");
            }
        }
    }

    /// Arbitrary sequences of public calls with arbitrary arguments never panic (I6).
    #[test]
    fn random_api_sequences_never_panic() {
        for seed in 0u64..300 {
            let mut r = Lcg::new(seed);
            let mut b = TestBuffer::new();
            let kinds = [
                TestLabelUse::Short,
                TestLabelUse::Long,
                TestLabelUse::Far,
                TestLabelUse::Data,
            ];
            for _ in 0..200 {
                let cur = b.cur_offset();
                let off = if r.pct(80) {
                    cur.saturating_sub(u64::from(r.below(16)))
                } else {
                    u64::from(r.next_u32())
                };
                let label = MachLabel(r.below(b.num_labels() as u32 + 2));
                let kind = kinds[r.below(4) as usize];
                match r.below(16) {
                    0 => {
                        b.get_label();
                    }
                    1 => {
                        let _ = b.bind_label(label);
                    }
                    2 => b.put4(r.next_u32()),
                    3 => nops(&mut b, r.below(80)),
                    4 => b.use_label_at_offset(off, label, kind),
                    5 => {
                        let _ = b.add_uncond_branch(off, cur, label);
                    }
                    6 => {
                        let _ = b.add_cond_branch(off, cur, label, &[1, 2, 3, 4]);
                    }
                    7 => {
                        let _ = jmp(&mut b, label, kinds[r.below(2) as usize], r.pct(80));
                    }
                    8 => {
                        let _ = jcc(&mut b, r.below(16) as u8, label, r.pct(80));
                    }
                    9 => {
                        if let Ok(c) = b.register_constant(&[r.below(3) as u8; 8], 1 << r.below(5))
                        {
                            let _ = b.use_constant(off, c, kind);
                        }
                    }
                    10 => b.add_trap(TrapCode::User(1)),
                    11 => b.add_reloc(RelocKind::Abs8, RelocTarget::LibCall(LibCall::TruncF32), 0),
                    12 => {
                        if r.pct(50) {
                            b.start_srcloc(rel(r.below(9)))
                        } else {
                            b.end_srcloc()
                        }
                    }
                    13 => {
                        let _ = b.island_needed(u64::from(r.next_u32()));
                        if r.pct(50) {
                            let _ = b.emit_island(u64::from(r.below(1000)));
                        }
                    }
                    14 => b.add_call_site(),
                    _ => {
                        if r.pct(10) {
                            let _ = b.finish_and_clear();
                        }
                    }
                }
            }
            let _ = b.finish();
        }
    }
}
