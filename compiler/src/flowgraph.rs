//! The control-flow graph: successors and predecessors of every block.
//!
//! Computed from the layout: the successors of a block are the distinct targets of its
//! *last* instruction when that is a branch (`jump`, `brif`, `br_table`), in operand order
//! (for `br_table`: the default first, then the table). Only blocks that are in the layout
//! are considered, on both ends of an edge; targets that are not in the layout (or do not
//! exist) are ignored here — the verifier reports them.
//!
//! Invariants after [`ControlFlowGraph::compute`]:
//! - `succs(b)` has no duplicates (a `brif` with both targets equal gives one edge);
//! - `b` is in `preds(s)` (with `b`'s terminator) exactly when `s` is in `succs(b)`;
//! - predecessors are listed in layout order of the predecessor block.
//!
//! Storage is two flat edge arrays indexed through per-block ranges (compressed sparse
//! rows), so `compute` allocates nothing once its vectors are large enough: reuse one
//! `ControlFlowGraph` across functions.

use crate::entity::{EntityRef, SecondaryMap};
use crate::ir::{Block, Function, Inst};

/// A predecessor edge: the block it comes from and the branch instruction taking it.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct BlockPredecessor {
    /// The predecessor block.
    pub block: Block,
    /// Its terminator (the branch to the successor).
    pub inst: Inst,
}

/// Successor and predecessor lists of every block of one function.
#[derive(Clone, Debug, Default)]
pub struct ControlFlowGraph {
    /// `succ_start[b]..succ_start[b + 1]` indexes `succ_edges` (length: blocks + 1).
    succ_start: Vec<u32>,
    succ_edges: Vec<Block>,
    /// `pred_start[b]..pred_start[b + 1]` indexes `pred_edges` (length: blocks + 1).
    pred_start: Vec<u32>,
    pred_edges: Vec<BlockPredecessor>,
    /// Scratch: per-block fill cursor while building predecessor lists.
    cursor: Vec<u32>,
    /// Scratch: terminators of blocks, indexed by block.
    terminator: SecondaryMap<Block, Option<Inst>>,
    valid: bool,
}

impl ControlFlowGraph {
    /// An empty graph (compute it with [`Self::compute`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// The graph of `func`, freshly computed.
    pub fn with_function(func: &Function) -> Self {
        let mut cfg = Self::new();
        cfg.compute(func);
        cfg
    }

    /// Forget the graph (keeps allocations).
    pub fn clear(&mut self) {
        self.succ_start.clear();
        self.succ_edges.clear();
        self.pred_start.clear();
        self.pred_edges.clear();
        self.cursor.clear();
        self.terminator.clear();
        self.valid = false;
    }

    /// Has [`Self::compute`] been run since the last [`Self::clear`]?
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// Compute the graph of `func`, reusing this graph's allocations. Never panics, whatever
    /// the function (dangling references are skipped).
    pub fn compute(&mut self, func: &Function) {
        self.clear();
        let dfg = &func.dfg;
        let layout = &func.layout;
        let nblocks = dfg.blocks.len();
        let in_layout = |b: Block| b.index() < nblocks && layout.is_block_inserted(b);

        // Successors, block by block in index order (blocks not in the layout get none).
        self.succ_start.resize(nblocks + 1, 0);
        // Visit the layout once to find terminators; bounded against corrupt lists.
        let mut steps = 0usize;
        for b in layout.blocks() {
            steps += 1;
            if steps > nblocks {
                break;
            }
            if b.index() >= nblocks {
                continue;
            }
            if let Some(last) = layout.last_inst(b) {
                if dfg.insts.get(last).is_some_and(|d| d.opcode().is_branch()) {
                    self.terminator.set(b, Some(last));
                }
            }
        }
        for bi in 0..nblocks {
            let b = Block::new(bi);
            self.succ_start[bi] = self.succ_edges.len() as u32;
            let Some(term) = *self.terminator.get(b) else {
                continue;
            };
            let Some(data) = dfg.insts.get(term) else {
                continue;
            };
            let start = self.succ_edges.len();
            for bc in data.branch_destinations(&dfg.jump_tables) {
                let t = bc.block;
                if in_layout(t) && !self.succ_edges[start..].contains(&t) {
                    self.succ_edges.push(t);
                }
            }
        }
        self.succ_start[nblocks] = self.succ_edges.len() as u32;

        // Predecessors: count, prefix-sum, fill (in block index order of the source). To
        // list them in layout order, fill while walking the layout.
        self.pred_start.resize(nblocks + 1, 0);
        for &s in &self.succ_edges {
            self.pred_start[s.index()] += 1;
        }
        let mut acc = 0u32;
        for slot in self.pred_start.iter_mut() {
            let n = *slot;
            *slot = acc;
            acc += n;
        }
        self.cursor.extend_from_slice(&self.pred_start[..nblocks]);
        let filler = BlockPredecessor {
            block: Block::new(0),
            inst: Inst::new(0),
        };
        self.pred_edges.resize(acc as usize, filler);
        let mut steps = 0usize;
        for b in layout.blocks() {
            steps += 1;
            if steps > nblocks {
                break;
            }
            if b.index() >= nblocks {
                continue;
            }
            let Some(term) = *self.terminator.get(b) else {
                continue;
            };
            let (lo, hi) = (
                self.succ_start[b.index()] as usize,
                self.succ_start[b.index() + 1] as usize,
            );
            for k in lo..hi {
                let s = self.succ_edges[k].index();
                let at = self.cursor[s] as usize;
                self.pred_edges[at] = BlockPredecessor {
                    block: b,
                    inst: term,
                };
                self.cursor[s] += 1;
            }
        }
        self.valid = true;
    }

    /// The distinct successors of `block` (empty for unknown blocks).
    pub fn succs(&self, block: Block) -> &[Block] {
        let i = block.index();
        match (self.succ_start.get(i), self.succ_start.get(i + 1)) {
            (Some(&lo), Some(&hi)) => self.succ_edges.get(lo as usize..hi as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The predecessors of `block`, one per predecessor block (empty for unknown blocks).
    pub fn preds(&self, block: Block) -> &[BlockPredecessor] {
        let i = block.index();
        match (self.pred_start.get(i), self.pred_start.get(i + 1)) {
            (Some(&lo), Some(&hi)) => self.pred_edges.get(lo as usize..hi as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Number of predecessors of `block`.
    pub fn pred_count(&self, block: Block) -> usize {
        self.preds(block).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Function, InstructionData, Opcode, Type};

    fn jump(func: &mut Function, from: Block, to: Block) {
        let bc = func.dfg.block_call(to, &[]);
        let i = func.dfg.make_inst(InstructionData::Jump {
            opcode: Opcode::Jump,
            destination: bc,
        });
        func.layout.append_inst(i, from);
    }

    #[test]
    fn diamond_and_same_target_brif() {
        let mut f = Function::default();
        let b: Vec<Block> = (0..4).map(|_| f.dfg.make_block()).collect();
        for &x in &b {
            f.layout.append_block(x);
        }
        let c = f.dfg.append_block_param(b[0], Type::I32);
        let (t, e) = (f.dfg.block_call(b[1], &[]), f.dfg.block_call(b[2], &[]));
        let br = f.dfg.make_inst(InstructionData::Brif {
            opcode: Opcode::Brif,
            arg: c,
            blocks: [t, e],
        });
        f.layout.append_inst(br, b[0]);
        jump(&mut f, b[1], b[3]);
        // brif to the same block twice: one edge.
        let (t, e) = (f.dfg.block_call(b[3], &[]), f.dfg.block_call(b[3], &[]));
        let br2 = f.dfg.make_inst(InstructionData::Brif {
            opcode: Opcode::Brif,
            arg: c,
            blocks: [t, e],
        });
        f.layout.append_inst(br2, b[2]);
        let cfg = ControlFlowGraph::with_function(&f);
        assert_eq!(cfg.succs(b[0]), &[b[1], b[2]]);
        assert_eq!(cfg.succs(b[2]), &[b[3]]);
        assert_eq!(cfg.preds(b[3]).len(), 2);
        assert_eq!(cfg.preds(b[3])[0].block, b[1]);
        assert_eq!(
            cfg.preds(b[3])[1],
            BlockPredecessor {
                block: b[2],
                inst: br2
            }
        );
        assert!(cfg.preds(b[0]).is_empty());
        assert!(cfg.succs(Block::new(99)).is_empty());
    }
}
