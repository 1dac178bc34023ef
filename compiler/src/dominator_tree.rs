//! Dominator tree and reverse post-order of a function's reachable blocks.
//!
//! Computed from a [`ControlFlowGraph`] with the Cooper–Harvey–Kennedy algorithm ("A
//! Simple, Fast Dominance Algorithm") iterated over reverse post-order (RPO). The depth-first
//! search is iterative (explicit stack), so deep graphs cannot overflow the native stack.
//!
//! Invariants after [`DominatorTree::compute`]:
//! - `rpo()` lists exactly the blocks reachable from the entry block, entry first; every
//!   block comes before its successors except along back edges;
//! - `idom(entry) == None`; for every other reachable block `idom(b)` is reachable and comes
//!   before `b` in RPO; unreachable blocks have no `idom`;
//! - `dominates(a, b)` is reflexive; a reachable block is never dominated by an unreachable
//!   one, and an unreachable block is dominated only by itself.
//!
//! All vectors are kept across `compute` calls: reuse one tree across functions.

use crate::entity::{EntityRef, SecondaryMap};
use crate::flowgraph::ControlFlowGraph;
use crate::ir::{Block, Function, Inst, Layout, Value, ValueDef};

/// A point where a value can be defined: the start of a block (its parameters) or an
/// instruction.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum ProgramPoint {
    /// The top of a block: where its parameters are defined.
    Block(Block),
    /// An instruction: where its results are defined.
    Inst(Inst),
}

impl ProgramPoint {
    /// The definition point of `v` in `func`, if `v` is defined.
    pub fn of_value(func: &Function, v: Value) -> Option<ProgramPoint> {
        match func.dfg.values.get(v)?.def {
            ValueDef::Result(i, _) => Some(ProgramPoint::Inst(i)),
            ValueDef::Param(b, _) => Some(ProgramPoint::Block(b)),
            ValueDef::Unused => None,
        }
    }
}

/// Reverse post-order, immediate dominators and reachability of one function's blocks.
#[derive(Clone, Debug, Default)]
pub struct DominatorTree {
    /// Reachable blocks in post-order.
    postorder: Vec<Block>,
    /// Reachable blocks in reverse post-order.
    rpo: Vec<Block>,
    /// 1-based RPO number; 0 = unreachable.
    rpo_number: SecondaryMap<Block, u32>,
    /// Immediate dominator of each reachable non-entry block.
    idom: SecondaryMap<Block, Option<Block>>,
    /// DFS scratch: (block, index of the next successor to visit).
    stack: Vec<(Block, u32)>,
    /// DFS scratch: visited marks.
    visited: SecondaryMap<Block, bool>,
    /// Dominator-tree children in CSR form: `child_start[b]..child_start[b + 1]`.
    child_start: Vec<u32>,
    children: Vec<Block>,
    /// Pre-order and post-order numbers in the dominator tree (for O(1) `dominates`).
    pre: SecondaryMap<Block, u32>,
    post: SecondaryMap<Block, u32>,
    valid: bool,
}

impl DominatorTree {
    /// An empty tree (compute it with [`Self::compute`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// The tree of `func` given its control-flow graph.
    pub fn with_function(func: &Function, cfg: &ControlFlowGraph) -> Self {
        let mut t = Self::new();
        t.compute(func, cfg);
        t
    }

    /// Forget everything (keeps allocations).
    pub fn clear(&mut self) {
        self.postorder.clear();
        self.rpo.clear();
        self.rpo_number.clear();
        self.idom.clear();
        self.stack.clear();
        self.visited.clear();
        self.child_start.clear();
        self.children.clear();
        self.pre.clear();
        self.post.clear();
        self.valid = false;
    }

    /// Has [`Self::compute`] been run since the last [`Self::clear`]?
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// Compute the RPO and dominators of `func`, whose graph `cfg` must be current. Never
    /// panics; a function without an entry block gives an empty tree.
    pub fn compute(&mut self, func: &Function, cfg: &ControlFlowGraph) {
        self.clear();
        self.valid = true;
        let Some(entry) = func.layout.entry_block() else {
            return;
        };
        if entry.index() >= func.dfg.blocks.len() {
            return;
        }
        self.visited.resize(func.dfg.blocks.len());

        // Iterative DFS producing the post-order.
        self.visited[entry] = true;
        self.stack.push((entry, 0));
        while let Some(top) = self.stack.last_mut() {
            let (b, next) = *top;
            let succs = cfg.succs(b);
            if let Some(&s) = succs.get(next as usize) {
                top.1 += 1;
                if !self.visited[s] {
                    self.visited[s] = true;
                    self.stack.push((s, 0));
                }
            } else {
                self.stack.pop();
                self.postorder.push(b);
            }
        }
        self.rpo.extend(self.postorder.iter().rev().copied());
        for (i, &b) in self.rpo.iter().enumerate() {
            self.rpo_number[b] = i as u32 + 1;
        }

        // Cooper–Harvey–Kennedy: iterate to a fixpoint in RPO.
        let mut changed = true;
        while changed {
            changed = false;
            for i in 1..self.rpo.len() {
                let b = self.rpo[i];
                let mut new_idom: Option<Block> = None;
                for p in cfg.preds(b) {
                    let p = p.block;
                    if self.rpo_number[p] == 0 {
                        continue; // unreachable predecessor
                    }
                    if p != entry && self.idom[p].is_none() {
                        continue; // not processed yet
                    }
                    new_idom = Some(match new_idom {
                        None => p,
                        Some(cur) => self.intersect(cur, p, entry),
                    });
                }
                if new_idom.is_some() && self.idom[b] != new_idom {
                    self.idom[b] = new_idom;
                    changed = true;
                }
            }
        }
        self.number_tree(func.dfg.blocks.len(), entry);
    }

    /// Number the dominator tree in pre- and post-order (iteratively).
    fn number_tree(&mut self, nblocks: usize, entry: Block) {
        self.child_start.resize(nblocks + 1, 0);
        for &b in &self.rpo[1..] {
            if let Some(d) = self.idom[b] {
                self.child_start[d.index()] += 1;
            }
        }
        let mut acc = 0u32;
        for slot in self.child_start.iter_mut() {
            let n = *slot;
            *slot = acc;
            acc += n;
        }
        self.children.resize(acc as usize, entry);
        // Fill using `pre` as a temporary per-block cursor.
        for &b in &self.rpo[1..] {
            if let Some(d) = self.idom[b] {
                let at = self.child_start[d.index()] + self.pre[d];
                self.children[at as usize] = b;
                self.pre[d] += 1;
            }
        }
        self.pre.clear();
        let (mut pre_n, mut post_n) = (0u32, 0u32);
        self.stack.clear();
        pre_n += 1;
        self.pre[entry] = pre_n;
        self.stack.push((entry, 0));
        while let Some(top) = self.stack.last_mut() {
            let (b, next) = *top;
            let lo = self.child_start[b.index()] + next;
            if lo < self.child_start[b.index() + 1] {
                top.1 += 1;
                let c = self.children[lo as usize];
                pre_n += 1;
                self.pre[c] = pre_n;
                self.stack.push((c, 0));
            } else {
                self.stack.pop();
                post_n += 1;
                self.post[b] = post_n;
            }
        }
    }

    fn intersect(&self, mut a: Block, mut b: Block, entry: Block) -> Block {
        while a != b {
            while self.rpo_number[a] > self.rpo_number[b] {
                match self.idom[a] {
                    Some(x) => a = x,
                    None => return entry,
                }
            }
            while self.rpo_number[b] > self.rpo_number[a] {
                match self.idom[b] {
                    Some(x) => b = x,
                    None => return entry,
                }
            }
        }
        a
    }

    /// Reachable blocks in reverse post-order (entry first).
    pub fn rpo(&self) -> &[Block] {
        &self.rpo
    }

    /// Reachable blocks in post-order.
    pub fn postorder(&self) -> &[Block] {
        &self.postorder
    }

    /// Is `block` reachable from the entry block?
    pub fn is_reachable(&self, block: Block) -> bool {
        self.rpo_number[block] != 0
    }

    /// Position of a reachable block in [`Self::rpo`] (`None` when unreachable).
    pub fn rpo_index(&self, block: Block) -> Option<usize> {
        match self.rpo_number[block] {
            0 => None,
            n => Some(n as usize - 1),
        }
    }

    /// The immediate dominator of `block` (`None` for the entry and unreachable blocks).
    pub fn idom(&self, block: Block) -> Option<Block> {
        self.idom[block]
    }

    /// Does block `a` dominate block `b` (every path from the entry to `b` passes through
    /// `a`)? Reflexive. O(1): compares dominator-tree pre/post-order numbers.
    pub fn dominates(&self, a: Block, b: Block) -> bool {
        if a == b {
            return true;
        }
        if self.rpo_number[a] == 0 || self.rpo_number[b] == 0 {
            return false;
        }
        self.pre[a] <= self.pre[b] && self.post[b] <= self.post[a]
    }

    /// Does the definition point `def` dominate the instruction `use_inst`, i.e. is a value
    /// defined at `def` available as an operand of `use_inst`? A block's parameters are
    /// available in the whole block; an instruction's results only strictly after it.
    /// Instructions not in the layout are dominated by nothing. Within one block this walks
    /// the block backwards from `use_inst`: O(block length).
    pub fn dominates_inst(&self, def: ProgramPoint, use_inst: Inst, layout: &Layout) -> bool {
        let Some(use_block) = layout.inst_block(use_inst) else {
            return false;
        };
        match def {
            ProgramPoint::Block(b) => self.dominates(b, use_block),
            ProgramPoint::Inst(d) => {
                let Some(def_block) = layout.inst_block(d) else {
                    return false;
                };
                if def_block != use_block {
                    return self.dominates(def_block, use_block);
                }
                let mut cur = layout.prev_inst(use_inst);
                while let Some(i) = cur {
                    if i == d {
                        return true;
                    }
                    cur = layout.prev_inst(i);
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{InstructionData, Opcode, Type};

    fn jump(func: &mut Function, from: Block, to: Block) -> Inst {
        let bc = func.dfg.block_call(to, &[]);
        let i = func.dfg.make_inst(InstructionData::Jump {
            opcode: Opcode::Jump,
            destination: bc,
        });
        func.layout.append_inst(i, from);
        i
    }

    fn brif(func: &mut Function, from: Block, c: Value, t: Block, e: Block) -> Inst {
        let (t, e) = (func.dfg.block_call(t, &[]), func.dfg.block_call(e, &[]));
        let i = func.dfg.make_inst(InstructionData::Brif {
            opcode: Opcode::Brif,
            arg: c,
            blocks: [t, e],
        });
        func.layout.append_inst(i, from);
        i
    }

    #[test]
    fn loop_diamond_and_unreachable() {
        // b0 -> b1; b1 -> b2 | b3; b2 -> b1 (back edge); b3 -> b4? no: b3 returns via trap.
        // b5 unreachable -> b3.
        let mut f = Function::default();
        let b: Vec<Block> = (0..6).map(|_| f.dfg.make_block()).collect();
        for &x in &b {
            f.layout.append_block(x);
        }
        let c = f.dfg.append_block_param(b[0], Type::I32);
        jump(&mut f, b[0], b[1]);
        brif(&mut f, b[1], c, b[2], b[3]);
        let back = jump(&mut f, b[2], b[1]);
        brif(&mut f, b[3], c, b[4], b[4]);
        let t = f.dfg.make_inst(InstructionData::Trap {
            opcode: Opcode::Trap,
            code: crate::ir::TrapCode::Unreachable,
        });
        f.layout.append_inst(t, b[4]);
        jump(&mut f, b[5], b[3]);
        let cfg = ControlFlowGraph::with_function(&f);
        let dt = DominatorTree::with_function(&f, &cfg);
        assert_eq!(dt.rpo()[0], b[0]);
        assert_eq!(dt.rpo().len(), 5);
        assert!(!dt.is_reachable(b[5]));
        assert_eq!(dt.idom(b[1]), Some(b[0]));
        assert_eq!(dt.idom(b[2]), Some(b[1]));
        assert_eq!(dt.idom(b[3]), Some(b[1]));
        assert_eq!(dt.idom(b[4]), Some(b[3]));
        assert!(dt.dominates(b[1], b[4]));
        assert!(!dt.dominates(b[2], b[3]));
        assert!(!dt.dominates(b[5], b[3]));
        assert!(dt.dominates(b[5], b[5]));
        assert!(dt.dominates_inst(ProgramPoint::Block(b[1]), back, &f.layout));
        assert!(!dt.dominates_inst(ProgramPoint::Inst(back), back, &f.layout));
        assert!(!dt.dominates_inst(ProgramPoint::Inst(back), t, &f.layout));
    }

    #[test]
    fn long_chain_does_not_overflow() {
        let mut f = Function::default();
        let n = 50_000;
        let b: Vec<Block> = (0..n).map(|_| f.dfg.make_block()).collect();
        for &x in &b {
            f.layout.append_block(x);
        }
        for i in 0..n - 1 {
            jump(&mut f, b[i], b[i + 1]);
        }
        let cfg = ControlFlowGraph::with_function(&f);
        let dt = DominatorTree::with_function(&f, &cfg);
        assert_eq!(dt.rpo().len(), n);
        assert_eq!(dt.idom(b[n - 1]), Some(b[n - 2]));
        assert!(dt.dominates(b[0], b[n - 1]));
    }
}
