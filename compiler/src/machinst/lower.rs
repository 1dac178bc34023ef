//! The lowering driver: IR → [`VCode`] over virtual registers.
//!
//! Owns the ISA-independent part of instruction selection:
//!
//! - **Block order.** Reverse post-order of the blocks reachable from the entry
//!   (unreachable blocks are dropped). Every *critical* edge — from a block whose
//!   terminator has several destinations (or is a `br_table`, which reads an index even
//!   with one destination) to a block with several incoming edges (counted with
//!   multiplicity, so `brif v, b1, b1` splits both edges) — gets an **edge block**
//!   placed right after its source. The edge block carries the edge's branch arguments
//!   and ends in a jump ([`MachInst::gen_jump`]); the source branches to it without
//!   arguments.
//! - **Values → vregs.** One virtual register per IR value: vreg index `PINNED_VREGS +
//!   value.index()`, class from the value's type ([`reg_class_of`]). Every Kiln type fits
//!   one register. Extra temporaries come from [`Lower::alloc_tmp`].
//! - **Use counts and fusion.** Blocks are lowered last-to-first and each block's
//!   instructions bottom-up, so every use of a value is lowered before its definition. A
//!   backend can then fold a definition into its user ([`Lower::sinkable`] +
//!   [`Lower::sink_inst`]: an `icmp` used only by a `brif` becomes compare-and-branch),
//!   read a constant as an immediate ([`Lower::iconst_of`]) without materializing it, or
//!   merge a single-use load into a memory operand ([`Lower::mergeable_load`]). A pure
//!   instruction whose results no lowered instruction asked for ([`Lower::value_reg`]) is
//!   not emitted at all.
//! - **ABI glue.** The entry block starts with the argument pseudo-instruction
//!   ([`AbiSpec::gen_args`]) plus loads of stack arguments; `return` is lowered here
//!   (return-area stores, then [`AbiSpec::gen_ret`]).
//!
//! The ISA plugs in through [`LowerBackend`]: plain Rust pattern matching per opcode
//! family. An opcode/type it cannot lower is [`CodegenError::Unsupported`], never a panic.
//!
//! Branch targets are [`MachLabel`]s: the label of VCode block `i` is `MachLabel(i)`.

use regalloc2::{PReg, RegClass, VReg};

use super::abi::{AbiSpec, ArgLoc, RetLoc, SigLocs};
use super::error::CodegenError;
use super::inst::{reg_class_of, MachInst, Reg, PINNED_VREGS};
use super::vcode::VCode;
use super::MachLabel;
use crate::dominator_tree::DominatorTree;
use crate::entity::EntityRef;
use crate::ir::{
    Block, Constant, Function, Inst, InstructionData, Opcode, RelSourceLoc, Signature, Type, Value,
};

/// An ISA's instruction selection. Implementations are stateless (or hold only ISA
/// flags); all per-function state is in [`Lower`].
pub trait LowerBackend {
    /// The ISA's machine instruction.
    type MInst: MachInst;
    /// The ISA's calling convention.
    type Abi: AbiSpec<I = Self::MInst>;

    /// Lower one non-branch instruction (including `trap` and other non-`return`
    /// terminators that have no successors). Emit the machine instructions with
    /// [`Lower::emit`], in forward order, defining [`Lower::output_reg`] of each result.
    /// The driver has already skipped instructions that are sunk or whose pure results
    /// are unused.
    fn lower_inst(&self, ctx: &mut Lower<'_, Self::MInst>, inst: Inst) -> Result<(), CodegenError>;

    /// Lower a branch (`jump`, `brif`, `br_table`). `targets[k]` is the label of the
    /// block that destination `k` (in `branch_destinations` order) goes to; branch
    /// arguments are already attached to the VCode successors, so the branch only jumps.
    /// The emitted terminator must be [`super::MachTerminator::Branch`] and must be the
    /// last instruction emitted.
    fn lower_branch(
        &self,
        ctx: &mut Lower<'_, Self::MInst>,
        inst: Inst,
        targets: &[MachLabel],
    ) -> Result<(), CodegenError>;
}

/// A block of the lowered order.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) enum LoweredBlock {
    /// An IR block.
    Orig(Block),
    /// The split edge `pred` → destination number `dest` of `pred`'s terminator.
    Edge { pred: Block, dest: u32 },
}

const NONE: u32 = u32::MAX;

/// Per-function lowering scratch, kept across functions by the compile context.
pub struct LowerScratch<I: MachInst> {
    pub(crate) order: Vec<LoweredBlock>,
    /// VCode index of each IR block (`NONE`: unreachable).
    block_index: Vec<u32>,
    /// Incoming edges of each IR block from reachable blocks (with multiplicity).
    pred_edges: Vec<u32>,
    /// IR uses of each value in reachable code (with multiplicity).
    value_uses: Vec<u32>,
    /// Some lowered instruction reads the value's vreg.
    value_needed: Vec<bool>,
    inst_sunk: Vec<bool>,
    /// Side-effect epoch of each instruction within its block.
    inst_color: Vec<u32>,
    targets: Vec<MachLabel>,
    pending: Vec<I>,
    pub(crate) sig: SigLocs,
    pairs: Vec<(Reg, PReg)>,
    pub(crate) has_calls: bool,
    /// Bytes the function's calls need at the bottom of the frame (outgoing stack
    /// arguments, return areas); see [`Lower::note_outgoing_area`].
    pub(crate) outgoing_area_size: u32,
    /// Reusable storage for the locations of a callee's signature
    /// ([`Lower::call_sig_locs`]).
    call_sig: SigLocs,
}

impl<I: MachInst> Default for LowerScratch<I> {
    fn default() -> Self {
        Self {
            order: Vec::new(),
            block_index: Vec::new(),
            pred_edges: Vec::new(),
            value_uses: Vec::new(),
            value_needed: Vec::new(),
            inst_sunk: Vec::new(),
            inst_color: Vec::new(),
            targets: Vec::new(),
            pending: Vec::new(),
            sig: SigLocs::default(),
            pairs: Vec::new(),
            has_calls: false,
            outgoing_area_size: 0,
            call_sig: SigLocs::default(),
        }
    }
}

/// The lowering context handed to a [`LowerBackend`].
pub struct Lower<'a, I: MachInst> {
    func: &'a Function,
    vcode: &'a mut VCode<I>,
    s: &'a mut LowerScratch<I>,
    next_vreg: usize,
    cur_loc: RelSourceLoc,
}

impl<'a, I: MachInst> Lower<'a, I> {
    /// The function being lowered.
    pub fn func(&self) -> &'a Function {
        self.func
    }

    /// The operands of `inst`.
    pub fn data(&self, inst: Inst) -> &'a InstructionData {
        &self.func.dfg.insts[inst]
    }

    /// Value operand `idx` of `inst` (block-call arguments excluded).
    pub fn input(&self, inst: Inst, idx: usize) -> Result<Value, CodegenError> {
        self.func
            .dfg
            .inst_args(inst)
            .get(idx)
            .copied()
            .ok_or_else(|| CodegenError::InvalidFunction("missing instruction operand"))
    }

    /// The type of `v`.
    pub fn value_type(&self, v: Value) -> Type {
        self.func.dfg.value_type(v).unwrap_or(Type::I8)
    }

    /// The controlling type of `inst` (its first result's type, or a store's value type).
    pub fn ctrl_type(&self, inst: Inst) -> Option<Type> {
        self.func.dfg.ctrl_type(inst)
    }

    /// `Unsupported` error for `inst`.
    pub fn unsupported(&self, inst: Inst) -> CodegenError {
        CodegenError::Unsupported {
            opcode: self.func.dfg.insts[inst].opcode(),
            ty: self.ctrl_type(inst),
        }
    }

    fn vreg_of(&self, v: Value) -> Reg {
        Reg::virt(PINNED_VREGS + v.index(), reg_class_of(self.value_type(v)))
    }

    /// The vreg holding `v`, marking `v` as needed (its definition will be lowered).
    pub fn value_reg(&mut self, v: Value) -> Reg {
        if let Some(n) = self.s.value_needed.get_mut(v.index()) {
            *n = true;
        }
        self.vreg_of(v)
    }

    /// The vreg that result `idx` of `inst` must be defined in.
    pub fn output_reg(&self, inst: Inst, idx: usize) -> Result<Reg, CodegenError> {
        self.func
            .dfg
            .inst_results(inst)
            .get(idx)
            .map(|&v| self.vreg_of(v))
            .ok_or_else(|| CodegenError::InvalidFunction("missing instruction result"))
    }

    /// Record that a call sequence uses `bytes` bytes at the bottom of the frame (SP
    /// offsets `0..bytes` after the prologue: outgoing stack arguments and return areas).
    /// The frame's outgoing-argument area is the maximum over all calls.
    pub fn note_outgoing_area(&mut self, bytes: u32) {
        self.s.outgoing_area_size = self.s.outgoing_area_size.max(bytes);
    }

    /// A fresh temporary vreg of class `class`.
    pub fn alloc_tmp(&mut self, class: RegClass) -> Reg {
        let i = self.next_vreg;
        self.next_vreg += 1;
        self.vcode.set_vreg_class(i, class);
        Reg::virt(i, class)
    }

    /// The locations of a callee's signature under `A`'s convention. The storage is reused
    /// across calls: hand it back with [`Self::recycle_sig_locs`].
    pub fn call_sig_locs<A: AbiSpec>(&mut self, sig: &Signature) -> Result<SigLocs, CodegenError> {
        let mut locs = core::mem::take(&mut self.s.call_sig);
        locs.compute::<A>(sig)?;
        Ok(locs)
    }

    /// Return storage obtained from [`Self::call_sig_locs`].
    pub fn recycle_sig_locs(&mut self, locs: SigLocs) {
        self.s.call_sig = locs;
    }

    /// The instruction defining `v`, if `v` is an instruction result.
    pub fn def_inst(&self, v: Value) -> Option<Inst> {
        self.func.dfg.defining_inst(v)
    }

    /// The constant `v` holds, if it is defined by `iconst` (sign-extended from its type's
    /// width). Does not mark `v` as needed: a user that encodes it as an immediate never
    /// reads the vreg.
    pub fn iconst_of(&self, v: Value) -> Option<i64> {
        self.func.dfg.iconst_value(v)
    }

    /// Number of IR uses of `v` in reachable code.
    pub fn use_count(&self, v: Value) -> u32 {
        self.s.value_uses.get(v.index()).copied().unwrap_or(0)
    }

    /// The defining instruction of `v` if the user may compute it itself: `v` is used
    /// exactly once, and its definition is pure (no side effects, no memory read) and not
    /// already sunk. After [`Self::sink_inst`] the definition is not lowered on its own;
    /// the user reads the definition's operands with [`Self::value_reg`].
    pub fn sinkable(&self, v: Value) -> Option<Inst> {
        let d = self.def_inst(v)?;
        let op = self.func.dfg.insts[d].opcode();
        (self.use_count(v) == 1
            && self.func.dfg.inst_results(d).len() == 1
            && !op.has_side_effects()
            && !op.can_load()
            && !self.s.inst_sunk.get(d.index()).copied().unwrap_or(true))
        .then_some(d)
    }

    /// `v` with single-use scalar zero-extensions sunk away: for a user that only asks
    /// whether `v` is non-zero (a branch or select condition), `uextend x` is non-zero
    /// exactly when `x` is. Wasm comparisons are `uextend.i32 (icmp …)`, so this lets the
    /// user fuse the compare.
    pub fn nonzero_source(&mut self, mut v: Value) -> Value {
        while let Some(d) = self.sinkable(v) {
            match *self.data(d) {
                InstructionData::Unary {
                    opcode: Opcode::Uextend,
                    arg,
                } if self.value_type(arg).is_int_scalar() => {
                    self.sink_inst(d);
                    v = arg;
                }
                _ => break,
            }
        }
        v
    }

    /// The load defining `v` if it can become a memory operand of `into`: `v` is used
    /// once, the load is in the same block as `into`, and no instruction with side
    /// effects (store, call, trap) lies between them.
    pub fn mergeable_load(&self, v: Value, into: Inst) -> Option<Inst> {
        let d = self.def_inst(v)?;
        let op = self.func.dfg.insts[d].opcode();
        let layout = &self.func.layout;
        (op.can_load()
            && self.use_count(v) == 1
            && layout.inst_block(d).is_some()
            && layout.inst_block(d) == layout.inst_block(into)
            && self.s.inst_color.get(d.index()) == self.s.inst_color.get(into.index())
            && !self.s.inst_sunk.get(d.index()).copied().unwrap_or(true))
        .then_some(d)
    }

    /// Mark `inst` as computed by its user (see [`Self::sinkable`]).
    pub fn sink_inst(&mut self, inst: Inst) {
        if let Some(s) = self.s.inst_sunk.get_mut(inst.index()) {
            *s = true;
        }
    }

    /// Emit a machine instruction (in forward order within the current IR instruction).
    pub fn emit(&mut self, inst: I) {
        self.s.pending.push(inst);
    }

    /// The 16 bytes of constant-pool entry `c` (a `vconst` value or a `shuffle` mask).
    pub fn constant(&self, c: Constant) -> Result<[u8; 16], CodegenError> {
        self.func
            .dfg
            .constants
            .get(c)
            .copied()
            .ok_or_else(|| CodegenError::InvalidFunction("unknown constant"))
    }

    /// The instructions emitted so far for the IR instruction being lowered, in emission
    /// order, for a backend's rewrite of its own output (e.g. choosing another encoding).
    pub fn pending_mut(&mut self) -> &mut [I] {
        &mut self.s.pending
    }

    /// Move the pending instructions of one IR instruction into the VCode (reversed).
    fn flush(&mut self) {
        let loc = self.cur_loc;
        for i in self.s.pending.drain(..).rev() {
            self.vcode.push_rev(i, loc);
        }
    }
}

/// Lower `func` into `vcode` with `backend`. `func` must be verified (or at least
/// well-formed SSA with a verified structure); malformed input gives an error, not a
/// panic. Reuses `scratch` and `vcode`'s storage.
pub fn lower_function<B: LowerBackend>(
    backend: &B,
    func: &Function,
    domtree: &DominatorTree,
    scratch: &mut LowerScratch<B::MInst>,
    vcode: &mut VCode<B::MInst>,
) -> Result<(), CodegenError> {
    // Vreg indices must fit regalloc2's 30 bits, with room for temporaries.
    if func.dfg.values.len() >= VReg::MAX / 4 {
        return Err(CodegenError::ImplLimit("number of values"));
    }
    scratch.sig.compute::<B::Abi>(&func.signature)?;
    compute_order(func, domtree, scratch)?;
    count_uses(func, domtree, scratch);

    // Describe the CFG and the vreg classes.
    vcode.begin_cfg();
    let num_values = func.dfg.values.len();
    for (v, data) in func.dfg.values.iter() {
        vcode.set_vreg_class(PINNED_VREGS + v.index(), reg_class_of(data.ty));
    }
    // The driver's own vregs (the return-area pointer) follow the values.
    vcode.set_vreg_class(PINNED_VREGS + num_values, RegClass::Int);
    let vreg = |v: Value| -> VReg {
        let ty = func.dfg.value_type(v).unwrap_or(Type::I8);
        VReg::new(PINNED_VREGS + v.index(), reg_class_of(ty))
    };
    let entry = func
        .layout
        .entry_block()
        .ok_or_else(|| CodegenError::InvalidFunction("no entry block"))?;
    for (vi, &lb) in scratch.order.iter().enumerate() {
        let vi = vi as u32;
        match lb {
            LoweredBlock::Orig(b) => {
                if b == entry {
                    vcode.add_block(core::iter::empty());
                } else {
                    vcode.add_block(func.dfg.block_params(b).iter().map(|&v| vreg(v)));
                }
                let dests = terminator_dests(func, b);
                let mut edge = vi + 1;
                let multi = splits_edges(func, b);
                for bc in dests {
                    let t = *scratch
                        .block_index
                        .get(bc.block.index())
                        .ok_or_else(|| CodegenError::InvalidFunction("branch to unknown block"))?;
                    if t == NONE {
                        return Err(CodegenError::InvalidFunction("branch to unknown block"));
                    }
                    if multi && scratch.pred_edges[bc.block.index()] > 1 {
                        vcode.add_succ(edge, core::iter::empty());
                        edge += 1;
                    } else {
                        let args = func.dfg.block_call_args(bc);
                        for &a in args {
                            mark_needed(&mut scratch.value_needed, a);
                        }
                        vcode.add_succ(t, args.iter().map(|&a| vreg(a)));
                    }
                }
            }
            LoweredBlock::Edge { pred, dest } => {
                vcode.add_block(core::iter::empty());
                let dests = terminator_dests(func, pred);
                if let Some(bc) = dests.get(dest as usize) {
                    let t = scratch.block_index[bc.block.index()];
                    let args = func.dfg.block_call_args(bc);
                    for &a in args {
                        mark_needed(&mut scratch.value_needed, a);
                    }
                    vcode.add_succ(t, args.iter().map(|&a| vreg(a)));
                }
            }
        }
    }

    // Lower the instructions, last block first, bottom-up.
    let mut ctx = Lower {
        func,
        vcode,
        s: scratch,
        next_vreg: PINNED_VREGS + num_values + DRIVER_VREGS,
        cur_loc: RelSourceLoc::default(),
    };
    let n = ctx.s.order.len();
    for bi in (0..n).rev() {
        let lb = ctx.s.order[bi];
        ctx.vcode.start_block_rev();
        match lb {
            LoweredBlock::Edge { pred, dest } => {
                let dests = terminator_dests(func, pred);
                let t = dests
                    .get(dest as usize)
                    .map_or(0, |bc| ctx.s.block_index[bc.block.index()]);
                ctx.cur_loc = RelSourceLoc::default();
                ctx.emit(B::MInst::gen_jump(MachLabel(t)));
                ctx.flush();
            }
            LoweredBlock::Orig(b) => {
                lower_block::<B>(backend, &mut ctx, b, bi as u32)?;
                if b == entry {
                    gen_entry::<B::Abi>(&mut ctx, b)?;
                }
            }
        }
        ctx.vcode.end_block_rev();
    }
    ctx.vcode.finish();
    Ok(())
}

fn mark_needed(needed: &mut [bool], v: Value) {
    if let Some(n) = needed.get_mut(v.index()) {
        *n = true;
    }
}

fn terminator_dests(func: &Function, b: Block) -> &[crate::ir::BlockCall] {
    match func.layout.last_inst(b) {
        Some(t) => func.dfg.branch_destinations(t),
        None => &[],
    }
}

/// Do `b`'s edges into blocks with several incoming edges get edge blocks? Yes when its
/// terminator has several destinations, and for a `br_table` even with one: it reads its
/// index, so regalloc2 could not place argument moves before it.
fn splits_edges(func: &Function, b: Block) -> bool {
    match func.layout.last_inst(b) {
        Some(t) => {
            func.dfg.branch_destinations(t).len() > 1
                || func.dfg.insts[t].opcode() == crate::ir::Opcode::BrTable
        }
        None => false,
    }
}

/// Compute the lowered block order (RPO + edge blocks) and each IR block's VCode index.
fn compute_order<I: MachInst>(
    func: &Function,
    domtree: &DominatorTree,
    s: &mut LowerScratch<I>,
) -> Result<(), CodegenError> {
    let nblocks = func.dfg.blocks.len();
    s.order.clear();
    s.block_index.clear();
    s.block_index.resize(nblocks, NONE);
    s.pred_edges.clear();
    s.pred_edges.resize(nblocks, 0);
    if domtree.rpo().is_empty() {
        return Err(CodegenError::InvalidFunction("no entry block"));
    }
    for &b in domtree.rpo() {
        for bc in terminator_dests(func, b) {
            if let Some(c) = s.pred_edges.get_mut(bc.block.index()) {
                *c += 1;
            }
        }
    }
    for &b in domtree.rpo() {
        s.block_index[b.index()] = s.order.len() as u32;
        s.order.push(LoweredBlock::Orig(b));
        let dests = terminator_dests(func, b);
        if splits_edges(func, b) {
            for (k, bc) in dests.iter().enumerate() {
                if s.pred_edges.get(bc.block.index()).copied().unwrap_or(0) > 1 {
                    s.order.push(LoweredBlock::Edge {
                        pred: b,
                        dest: k as u32,
                    });
                }
            }
        }
    }
    if s.order.len() >= u32::MAX as usize / 2 {
        return Err(CodegenError::ImplLimit("number of blocks"));
    }
    Ok(())
}

/// Count IR uses of every value in reachable code, colors, and whether there are calls.
fn count_uses<I: MachInst>(func: &Function, domtree: &DominatorTree, s: &mut LowerScratch<I>) {
    let nv = func.dfg.values.len();
    let ni = func.dfg.insts.len();
    s.value_uses.clear();
    s.value_uses.resize(nv, 0);
    s.value_needed.clear();
    s.value_needed.resize(nv, false);
    s.inst_sunk.clear();
    s.inst_sunk.resize(ni, false);
    s.inst_color.clear();
    s.inst_color.resize(ni, 0);
    s.has_calls = false;
    s.outgoing_area_size = 0;
    let dfg = &func.dfg;
    for &b in domtree.rpo() {
        let mut color = 0u32;
        for inst in func.layout.block_insts(b) {
            let data = &dfg.insts[inst];
            data.for_each_use(&dfg.value_lists, &dfg.jump_tables, |v| {
                if let Some(c) = s.value_uses.get_mut(v.index()) {
                    *c += 1;
                }
            });
            if let Some(c) = s.inst_color.get_mut(inst.index()) {
                *c = color;
            }
            let op = data.opcode();
            if op.has_side_effects() {
                color += 1;
            }
            s.has_calls |= op.is_call();
        }
    }
}

fn lower_block<B: LowerBackend>(
    backend: &B,
    ctx: &mut Lower<'_, B::MInst>,
    b: Block,
    vcode_index: u32,
) -> Result<(), CodegenError> {
    let func = ctx.func;
    let mut cur = func.layout.last_inst(b);
    let mut first = true;
    while let Some(inst) = cur {
        cur = func.layout.prev_inst(inst);
        let data = &func.dfg.insts[inst];
        let op = data.opcode();
        ctx.cur_loc = *func.srclocs.get(inst);
        if first {
            first = false;
            if !op.is_terminator() {
                return Err(CodegenError::InvalidFunction(
                    "block does not end in a terminator",
                ));
            }
            if op == Opcode::Return {
                lower_return::<B::Abi>(ctx, inst)?;
            } else if op.is_branch() {
                let ndests = func.dfg.branch_destinations(inst).len();
                let mut targets = core::mem::take(&mut ctx.s.targets);
                targets.clear();
                let succs = ctx.vcode.succs(vcode_index as usize);
                targets.extend(succs.iter().map(|s| MachLabel(s.index() as u32)));
                let r = if targets.len() == ndests {
                    backend.lower_branch(ctx, inst, &targets)
                } else {
                    Err(CodegenError::InvalidFunction("branch targets mismatch"))
                };
                ctx.s.targets = targets;
                r?;
            } else {
                backend.lower_inst(ctx, inst)?;
            }
            ctx.flush();
            continue;
        }
        if op.is_terminator() {
            return Err(CodegenError::InvalidFunction(
                "terminator in the middle of a block",
            ));
        }
        if ctx.s.inst_sunk.get(inst.index()).copied().unwrap_or(false) {
            continue;
        }
        let removable = !op.has_side_effects() && !op.can_load();
        if removable
            && !func
                .dfg
                .inst_results(inst)
                .iter()
                .any(|v| ctx.s.value_needed.get(v.index()).copied().unwrap_or(false))
        {
            continue;
        }
        backend.lower_inst(ctx, inst)?;
        ctx.flush();
    }
    Ok(())
}

/// The entry block's first instructions: the argument pseudo-instruction and loads of
/// stack arguments (pushed last because lowering runs bottom-up).
fn gen_entry<A: AbiSpec>(ctx: &mut Lower<'_, A::I>, entry: Block) -> Result<(), CodegenError> {
    let func = ctx.func;
    let params = func.dfg.block_params(entry);
    if params.len() != ctx.s.sig.args.len() {
        return Err(CodegenError::InvalidFunction(
            "entry block parameters do not match the signature",
        ));
    }
    ctx.cur_loc = RelSourceLoc::default();
    let mut pairs = core::mem::take(&mut ctx.s.pairs);
    pairs.clear();
    let ret_area = ret_area_reg(ctx);
    if let Some(loc) = ctx.s.sig.ret_area_ptr {
        match loc {
            ArgLoc::Reg(p) => pairs.push((ret_area, p)),
            ArgLoc::Stack { .. } => {}
        }
    }
    for (k, &v) in params.iter().enumerate() {
        if let (ArgLoc::Reg(p), _) = ctx.s.sig.args[k] {
            pairs.push((ctx.vreg_of(v), p));
        }
    }
    ctx.emit(A::gen_args(&pairs));
    ctx.s.pairs = pairs;
    if let Some(ArgLoc::Stack { offset }) = ctx.s.sig.ret_area_ptr {
        ctx.emit(A::gen_load_incoming_arg(ret_area, Type::I64, offset));
    }
    for (k, &v) in params.iter().enumerate() {
        if let (ArgLoc::Stack { offset }, ty) = ctx.s.sig.args[k] {
            let r = ctx.vreg_of(v);
            ctx.emit(A::gen_load_incoming_arg(r, ty, offset));
        }
    }
    ctx.flush();
    Ok(())
}

/// The vreg holding the return-area pointer: the first vreg after the values.
fn ret_area_reg<I: MachInst>(ctx: &Lower<'_, I>) -> Reg {
    Reg::virt(PINNED_VREGS + ctx.func.dfg.values.len(), RegClass::Int)
}

fn lower_return<A: AbiSpec>(ctx: &mut Lower<'_, A::I>, inst: Inst) -> Result<(), CodegenError> {
    let func = ctx.func;
    let args = func.dfg.inst_args(inst);
    if args.len() != ctx.s.sig.rets.len() {
        return Err(CodegenError::InvalidFunction(
            "return values do not match the signature",
        ));
    }
    let mut pairs = core::mem::take(&mut ctx.s.pairs);
    pairs.clear();
    let ret_area = ret_area_reg(ctx);
    for (k, &v) in args.iter().enumerate() {
        let r = ctx.value_reg(v);
        match ctx.s.sig.rets[k] {
            (RetLoc::Reg(p), _) => pairs.push((r, p)),
            (RetLoc::RetArea { offset }, ty) => {
                ctx.emit(A::gen_store_base_offset(ret_area, offset, r, ty));
            }
        }
    }
    ctx.emit(A::gen_ret(&pairs));
    ctx.s.pairs = pairs;
    Ok(())
}

/// Reserve the vreg numbers used by the driver itself (the return-area pointer) so that
/// [`Lower::alloc_tmp`] starts after them.
pub(crate) const DRIVER_VREGS: usize = 1;
