//! `VCode`: a function's machine instructions over virtual registers, in final block order,
//! and its regalloc2 [`regalloc2::Function`] implementation.
//!
//! Owns: the instructions (with the relative source location of the IR instruction each
//! came from), per-instruction regalloc2 operands and clobbers, blocks (instruction ranges,
//! successors, predecessors, parameters, per-successor branch arguments), the entry block
//! and the class of every vreg.
//!
//! Invariants once [`VCode::finish`] has run (lowering guarantees them for every verified
//! function; regalloc2 re-checks the structural ones):
//! - blocks are numbered `0..num_blocks()` in emission order; block 0 is the entry; block
//!   `i`'s label is `MachLabel(i)` (emission binds label `i` at block `i`);
//! - every block's instructions are one contiguous range, blocks are laid out in order,
//!   and each block ends with exactly one terminator ([`MachTerminator`]), which appears
//!   nowhere else;
//! - SSA: every vreg is defined once (by an instruction or as a block parameter); the
//!   entry block has no parameters and nothing is live into it;
//! - no critical edges: a block with several successors only targets blocks with one
//!   predecessor; branch arguments (one list per successor, matching the successor's
//!   parameters) are passed only to successors;
//! - a branch with register operands never targets a block with several predecessors
//!   (follows from the previous point, since only single-successor blocks target such
//!   blocks, and those end in operand-free jumps).
//!
//! All storage is flat vectors indexed by `u32` ranges and is kept across functions
//! ([`VCode::clear`]).

use regalloc2::{Block, Inst as RaInst, InstRange, Operand, PRegSet, RegClass, VReg};

use super::inst::{MachInst, MachTerminator, OperandCollector, PINNED_VREGS};
use crate::ir::RelSourceLoc;

/// A half-open `u32` range into one of the flat vectors.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub(crate) struct Range32 {
    pub start: u32,
    pub end: u32,
}

impl Range32 {
    #[inline]
    fn of(start: usize, end: usize) -> Self {
        Range32 {
            start: start as u32,
            end: end as u32,
        }
    }
    #[inline]
    fn slice<T>(self, v: &[T]) -> &[T] {
        v.get(self.start as usize..self.end as usize).unwrap_or(&[])
    }
}

/// Machine instructions of one function over virtual registers. See the module docs.
#[derive(Debug)]
pub struct VCode<I: MachInst> {
    pub(crate) insts: Vec<I>,
    pub(crate) srclocs: Vec<RelSourceLoc>,
    operands: Vec<Operand>,
    operand_ranges: Vec<Range32>,
    /// `(inst, clobbers)` for instructions with a non-empty clobber set, sorted by inst.
    clobbers: Vec<(u32, PRegSet)>,
    block_ranges: Vec<Range32>,
    succs: Vec<Block>,
    succ_ranges: Vec<Range32>,
    preds: Vec<Block>,
    pred_ranges: Vec<Range32>,
    params: Vec<VReg>,
    param_ranges: Vec<Range32>,
    /// Branch arguments: `branch_arg_ranges[k]` belongs to `succs[k]`.
    branch_args: Vec<VReg>,
    branch_arg_ranges: Vec<Range32>,
    /// Class of every vreg index (physical indices included, as `Int`).
    vreg_classes: Vec<RegClass>,
    /// Reverse-order construction state: block ranges in reversed instruction indices.
    rev_block_ranges: Vec<Range32>,
    cur_block_rev_start: u32,
    reversed: bool,
    /// Scratch for building predecessor lists.
    pred_counts: Vec<u32>,
}

impl<I: MachInst> Default for VCode<I> {
    fn default() -> Self {
        Self {
            insts: Vec::new(),
            srclocs: Vec::new(),
            operands: Vec::new(),
            operand_ranges: Vec::new(),
            clobbers: Vec::new(),
            block_ranges: Vec::new(),
            succs: Vec::new(),
            succ_ranges: Vec::new(),
            preds: Vec::new(),
            pred_ranges: Vec::new(),
            params: Vec::new(),
            param_ranges: Vec::new(),
            branch_args: Vec::new(),
            branch_arg_ranges: Vec::new(),
            vreg_classes: Vec::new(),
            rev_block_ranges: Vec::new(),
            cur_block_rev_start: 0,
            reversed: false,
            pred_counts: Vec::new(),
        }
    }
}

impl<I: MachInst> VCode<I> {
    /// The union of every instruction's clobber set.
    pub fn all_clobbers(&self) -> PRegSet {
        let mut set = PRegSet::empty();
        for &(_, c) in &self.clobbers {
            set.union_from(c);
        }
        set
    }

    /// An empty VCode.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget everything, keeping allocations.
    pub fn clear(&mut self) {
        self.insts.clear();
        self.srclocs.clear();
        self.operands.clear();
        self.operand_ranges.clear();
        self.clobbers.clear();
        self.block_ranges.clear();
        self.succs.clear();
        self.succ_ranges.clear();
        self.preds.clear();
        self.pred_ranges.clear();
        self.params.clear();
        self.param_ranges.clear();
        self.branch_args.clear();
        self.branch_arg_ranges.clear();
        self.vreg_classes.clear();
        self.rev_block_ranges.clear();
        self.cur_block_rev_start = 0;
        self.reversed = false;
    }

    // ------------------------------------------------------------ construction (CFG)

    /// Start the CFG description. Blocks are then described in order, each with
    /// [`Self::add_block`] followed by its successors ([`Self::add_succ`]).
    pub(crate) fn begin_cfg(&mut self) {
        self.clear();
        self.vreg_classes.resize(PINNED_VREGS, RegClass::Int);
    }

    /// Declare the next block with its parameters.
    pub(crate) fn add_block(&mut self, params: impl IntoIterator<Item = VReg>) {
        let s = self.params.len();
        self.params.extend(params);
        self.param_ranges.push(Range32::of(s, self.params.len()));
        let n = self.succs.len();
        self.succ_ranges.push(Range32::of(n, n));
    }

    /// Add a successor (with its branch arguments) to the last declared block.
    pub(crate) fn add_succ(&mut self, succ: u32, args: impl IntoIterator<Item = VReg>) {
        self.succs.push(Block::new(succ as usize));
        if let Some(r) = self.succ_ranges.last_mut() {
            r.end = self.succs.len() as u32;
        }
        let s = self.branch_args.len();
        self.branch_args.extend(args);
        self.branch_arg_ranges
            .push(Range32::of(s, self.branch_args.len()));
    }

    /// Record the class of vreg index `index` (growing the table as needed).
    pub(crate) fn set_vreg_class(&mut self, index: usize, class: RegClass) {
        if self.vreg_classes.len() <= index {
            self.vreg_classes.resize(index + 1, RegClass::Int);
        }
        self.vreg_classes[index] = class;
    }

    // --------------------------------------------------- construction (instructions)

    /// Start the instructions of a block. Blocks are lowered in *reverse* order, each
    /// with its instructions pushed in reverse ([`Self::push_rev`]).
    pub(crate) fn start_block_rev(&mut self) {
        self.cur_block_rev_start = self.insts.len() as u32;
    }

    /// Push an instruction, in reverse order.
    pub(crate) fn push_rev(&mut self, inst: I, loc: RelSourceLoc) {
        self.insts.push(inst);
        self.srclocs.push(loc);
    }

    /// End the current block (in reverse order).
    pub(crate) fn end_block_rev(&mut self) {
        self.rev_block_ranges.push(Range32 {
            start: self.cur_block_rev_start,
            end: self.insts.len() as u32,
        });
    }

    /// Put the instructions in forward order, compute block ranges and predecessors,
    /// and collect every instruction's operands.
    pub(crate) fn finish(&mut self) {
        if !self.reversed {
            self.insts.reverse();
            self.srclocs.reverse();
            self.reversed = true;
        }
        let n = self.insts.len() as u32;
        self.block_ranges.clear();
        for r in self.rev_block_ranges.iter().rev() {
            self.block_ranges.push(Range32 {
                start: n - r.end,
                end: n - r.start,
            });
        }
        // Predecessors, as a CSR built from the successor lists.
        let nb = self.num_blocks_internal();
        let mut counts = core::mem::take(&mut self.pred_counts);
        counts.clear();
        counts.resize(nb + 1, 0);
        for s in &self.succs {
            if let Some(c) = counts.get_mut(s.index() + 1) {
                *c += 1;
            }
        }
        for i in 1..=nb {
            counts[i] += counts[i - 1];
        }
        self.pred_ranges.clear();
        for &c in counts.iter().take(nb) {
            self.pred_ranges.push(Range32::of(c as usize, c as usize));
        }
        self.preds.clear();
        self.preds.resize(self.succs.len(), Block::new(0));
        for b in 0..nb {
            let r = self.succ_ranges[b];
            for k in r.start..r.end {
                let s = self.succs[k as usize].index();
                if let Some(pr) = self.pred_ranges.get_mut(s) {
                    self.preds[pr.end as usize] = Block::new(b);
                    pr.end += 1;
                }
            }
        }
        self.pred_counts = counts;
        // Operands.
        self.operands.clear();
        self.operand_ranges.clear();
        self.clobbers.clear();
        for (i, inst) in self.insts.iter_mut().enumerate() {
            let start = self.operands.len();
            let mut c = OperandCollector {
                operands: &mut self.operands,
                clobbers: PRegSet::empty(),
            };
            inst.get_operands(&mut c);
            let clobbers = c.clobbers;
            if clobbers != PRegSet::empty() {
                self.clobbers.push((i as u32, clobbers));
            }
            self.operand_ranges
                .push(Range32::of(start, self.operands.len()));
        }
    }

    fn num_blocks_internal(&self) -> usize {
        self.param_ranges.len()
    }

    // ------------------------------------------------------------------ queries

    /// Number of blocks.
    pub fn num_blocks(&self) -> usize {
        self.num_blocks_internal()
    }

    /// The instructions, in order (after [`Self::finish`]).
    pub fn insts(&self) -> &[I] {
        &self.insts
    }

    /// The instruction range of block `b`.
    pub fn block_range(&self, b: usize) -> core::ops::Range<usize> {
        match self.block_ranges.get(b) {
            Some(r) => r.start as usize..r.end as usize,
            None => 0..0,
        }
    }

    /// Successor blocks of `b`.
    pub fn succs(&self, b: usize) -> &[Block] {
        match self.succ_ranges.get(b) {
            Some(r) => r.slice(&self.succs),
            None => &[],
        }
    }

    /// The class of every vreg index (physical indices are reported as `Int`).
    pub fn vreg_classes(&self) -> &[RegClass] {
        &self.vreg_classes
    }

    /// The regalloc2 operands of instruction `i`.
    pub fn operands(&self, i: usize) -> &[Operand] {
        match self.operand_ranges.get(i) {
            Some(r) => r.slice(&self.operands),
            None => &[],
        }
    }

    /// Rewrite every instruction's registers with the allocations in `output`. Returns
    /// `false` if some operand did not get a register.
    pub(crate) fn apply_allocations(&mut self, output: &regalloc2::Output) -> bool {
        let mut ok = true;
        for (i, inst) in self.insts.iter_mut().enumerate() {
            let allocs = output.inst_allocs(RaInst::new(i));
            let mut rw = super::inst::AllocRewriter {
                allocs,
                next: 0,
                failed: false,
            };
            inst.get_operands(&mut rw);
            ok &= !rw.failed && rw.next == allocs.len();
        }
        ok
    }
}

impl<I: MachInst> regalloc2::Function for VCode<I> {
    fn num_insts(&self) -> usize {
        self.insts.len()
    }

    fn num_blocks(&self) -> usize {
        self.num_blocks_internal()
    }

    fn entry_block(&self) -> Block {
        Block::new(0)
    }

    fn block_insns(&self, block: Block) -> InstRange {
        let r = self.block_ranges[block.index()];
        InstRange::new(RaInst::new(r.start as usize), RaInst::new(r.end as usize))
    }

    fn block_succs(&self, block: Block) -> &[Block] {
        self.succ_ranges[block.index()].slice(&self.succs)
    }

    fn block_preds(&self, block: Block) -> &[Block] {
        self.pred_ranges[block.index()].slice(&self.preds)
    }

    fn block_params(&self, block: Block) -> &[VReg] {
        self.param_ranges[block.index()].slice(&self.params)
    }

    fn is_ret(&self, insn: RaInst) -> bool {
        matches!(
            self.insts[insn.index()].is_term(),
            MachTerminator::Ret | MachTerminator::Trap
        )
    }

    fn is_branch(&self, insn: RaInst) -> bool {
        self.insts[insn.index()].is_term() == MachTerminator::Branch
    }

    fn branch_blockparams(&self, block: Block, _insn: RaInst, succ_idx: usize) -> &[VReg] {
        let r = self.succ_ranges[block.index()];
        match self.branch_arg_ranges.get(r.start as usize + succ_idx) {
            Some(a) => a.slice(&self.branch_args),
            None => &[],
        }
    }

    fn inst_operands(&self, insn: RaInst) -> &[Operand] {
        self.operand_ranges[insn.index()].slice(&self.operands)
    }

    fn inst_clobbers(&self, insn: RaInst) -> PRegSet {
        let i = insn.index() as u32;
        match self.clobbers.binary_search_by_key(&i, |c| c.0) {
            Ok(k) => self.clobbers[k].1,
            Err(_) => PRegSet::empty(),
        }
    }

    fn num_vregs(&self) -> usize {
        self.vreg_classes.len()
    }

    fn spillslot_size(&self, regclass: RegClass) -> usize {
        // Spill slots are 8 bytes; float/vector registers hold up to 128 bits.
        match regclass {
            RegClass::Int => 1,
            RegClass::Float | RegClass::Vector => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    //! VCode construction and regalloc2 on it, through the x86_64 lowering: structure of
    //! the lowered CFG, then both allocators with the checker.
    use super::*;
    use crate::ir::text::parse_functions;
    use crate::isa::x64::abi::X64Abi;
    use crate::isa::x64::inst::MInst;
    use crate::isa::x64::X64Backend;
    use crate::machinst::abi::AbiSpec;
    use crate::machinst::lower::{lower_function, LowerScratch};
    use regalloc2::{Algorithm, Function as _, RegallocOptions};

    fn lower(src: &str) -> VCode<MInst> {
        let f = parse_functions(src).expect("parses").remove(0);
        crate::ir::verify_function(&f).expect("verifies");
        let mut vcode = VCode::new();
        let mut scratch = LowerScratch::default();
        let cfg = crate::flowgraph::ControlFlowGraph::with_function(&f);
        let domtree = crate::dominator_tree::DominatorTree::with_function(&f, &cfg);
        lower_function(
            &X64Backend::default(),
            &f,
            &domtree,
            &mut scratch,
            &mut vcode,
        )
        .expect("lowers");
        vcode
    }

    /// Allocate with both algorithms, run the checker, and return the spill-slot counts.
    fn allocate_checked(vcode: &VCode<MInst>) -> Vec<usize> {
        let env = X64Abi::machine_env();
        let mut spills = Vec::new();
        for algorithm in [Algorithm::Ion, Algorithm::Fastalloc] {
            let opts = RegallocOptions {
                verbose_log: false,
                validate_ssa: true,
                algorithm,
            };
            let out = regalloc2::run(vcode, env, &opts)
                .unwrap_or_else(|e| panic!("{algorithm:?}: {e:?}"));
            let mut checker = regalloc2::checker::Checker::new(vcode, env);
            checker.prepare(&out);
            checker
                .run()
                .unwrap_or_else(|e| panic!("{algorithm:?}: checker: {e:?}"));
            spills.push(out.num_spillslots);
        }
        spills
    }

    fn succ_indices(v: &VCode<MInst>, b: usize) -> Vec<usize> {
        v.succs(b).iter().map(|s| s.index()).collect()
    }

    #[test]
    fn diamond() {
        let v = lower(
            "
function %diamond(i32, i32) -> i32 {
block0(v0: i32, v1: i32):
    brif v0, block1, block2

block1:
    v2 = iadd v0, v1
    jump block3(v2)

block2:
    v3 = isub v0, v1
    jump block3(v3)

block3(v4: i32):
    return v4
}",
        );
        // RPO, no critical edges (block1 and block2 each have one predecessor).
        assert_eq!(v.num_blocks(), 4);
        assert_eq!(succ_indices(&v, 0).len(), 2);
        let join = succ_indices(&v, 1)[0];
        assert_eq!(succ_indices(&v, 2), vec![join]);
        assert_eq!(v.block_preds(Block::new(join)).len(), 2);
        assert_eq!(v.block_params(Block::new(join)).len(), 1);
        assert_eq!(
            v.block_params(Block::new(0)).len(),
            0,
            "entry has no params"
        );
        // Each jump into the join block passes one argument.
        for b in [1, 2] {
            let last = v.block_insns(Block::new(b)).last();
            assert!(v.is_branch(last));
            assert_eq!(v.branch_blockparams(Block::new(b), last, 0).len(), 1);
        }
        // The entry starts with the argument pseudo-instruction.
        assert!(matches!(v.insts()[0], MInst::Args { .. }));
        assert_eq!(
            allocate_checked(&v)[0],
            0,
            "backtracking needs no spill here"
        );
    }

    #[test]
    fn loop_with_block_params() {
        let v = lower(
            "
function %count(i64) -> i64 {
block0(v0: i64):
    v1 = iconst.i64 0
    jump block1(v1, v0)

block1(v2: i64, v3: i64):
    v4 = iadd v2, v3
    v5 = iconst.i64 -1
    v6 = iadd v3, v5
    brif v6, block1(v4, v6), block2(v4)

block2(v7: i64):
    return v7
}",
        );
        // block0, block1, edge block1→block1 (critical: two successors, two preds),
        // block2 (one predecessor: no edge block).
        assert_eq!(v.num_blocks(), 4);
        let s = succ_indices(&v, 1);
        assert_eq!(s.len(), 2);
        assert_eq!(
            succ_indices(&v, s[0]),
            vec![1],
            "edge block jumps to the header"
        );
        assert_eq!(
            v.branch_blockparams(Block::new(s[0]), v.block_insns(Block::new(s[0])).last(), 0)
                .len(),
            2,
            "the edge block carries the arguments"
        );
        assert_eq!(v.block_params(Block::new(1)).len(), 2);
        for b in 0..v.num_blocks() {
            for &succ in v.block_succs(Block::new(b)) {
                assert!(
                    v.block_succs(Block::new(b)).len() == 1 || v.block_preds(succ).len() == 1,
                    "critical edge {b} -> {succ:?}"
                );
            }
        }
        assert_eq!(
            allocate_checked(&v)[0],
            0,
            "backtracking needs no spill here"
        );
    }

    #[test]
    fn more_live_values_than_registers_spills() {
        use core::fmt::Write as _;
        let n = 30;
        let mut src = String::from("function %p(i64) -> i64 {\nblock0(v0: i64):\n");
        for i in 1..=n {
            let _ = writeln!(src, "    v{} = iconst.i64 {i}", 1000 + i);
            let _ = writeln!(src, "    v{i} = iadd v0, v{}", 1000 + i);
        }
        // A diamond in the middle keeps every value live across a branch.
        let _ = writeln!(
            src,
            "    brif v0, block1, block2\n\nblock1:\n    jump block3\n"
        );
        let _ = writeln!(src, "block2:\n    jump block3\n\nblock3:");
        let mut acc = 1;
        for i in 2..=n {
            let _ = writeln!(src, "    v{} = imul v{acc}, v{i}", 2000 + i);
            acc = 2000 + i;
        }
        let _ = writeln!(src, "    return v{acc}\n}}");
        let v = lower(&src);
        let spills = allocate_checked(&v);
        assert!(spills.iter().all(|&s| s > 0), "{spills:?}");
    }
}
