//! The order of blocks in a function and of instructions in blocks.
//!
//! Both are doubly linked lists threaded through [`SecondaryMap`]s, so inserting or removing
//! anywhere is O(1) and iteration allocates nothing.
//!
//! Invariants: a block is in the layout at most once; an instruction is in at most one
//! block, at most once. `inst_block(i)` is `Some(b)` exactly when `i` is in `b`'s list. The
//! first block in the layout is the entry block.

use super::entities::{Block, Inst};
use crate::entity::SecondaryMap;

#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
struct BlockNode {
    inserted: bool,
    prev: Option<Block>,
    next: Option<Block>,
    first_inst: Option<Inst>,
    last_inst: Option<Inst>,
}

#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
struct InstNode {
    block: Option<Block>,
    prev: Option<Inst>,
    next: Option<Inst>,
}

/// Block and instruction order.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Layout {
    blocks: SecondaryMap<Block, BlockNode>,
    insts: SecondaryMap<Inst, InstNode>,
    first_block: Option<Block>,
    last_block: Option<Block>,
}

impl Layout {
    /// An empty layout.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget everything (keeps allocations).
    pub fn clear(&mut self) {
        self.blocks.clear();
        self.insts.clear();
        self.first_block = None;
        self.last_block = None;
    }

    /// The entry block.
    pub fn entry_block(&self) -> Option<Block> {
        self.first_block
    }

    /// The last block.
    pub fn last_block(&self) -> Option<Block> {
        self.last_block
    }

    /// Is `block` in the layout?
    pub fn is_block_inserted(&self, block: Block) -> bool {
        self.blocks[block].inserted
    }

    /// Append `block` at the end. Does nothing if it is already inserted.
    pub fn append_block(&mut self, block: Block) {
        if self.is_block_inserted(block) {
            return;
        }
        let prev = self.last_block;
        self.blocks[block] = BlockNode {
            inserted: true,
            prev,
            next: None,
            first_inst: None,
            last_inst: None,
        };
        match prev {
            Some(p) => self.blocks[p].next = Some(block),
            None => self.first_block = Some(block),
        }
        self.last_block = Some(block);
    }

    /// Insert `block` right before `before` (which must be inserted). Does nothing if
    /// `block` is already inserted or `before` isn't.
    pub fn insert_block_before(&mut self, block: Block, before: Block) {
        if self.is_block_inserted(block) || !self.is_block_inserted(before) {
            return;
        }
        let prev = self.blocks[before].prev;
        self.blocks[block] = BlockNode {
            inserted: true,
            prev,
            next: Some(before),
            first_inst: None,
            last_inst: None,
        };
        self.blocks[before].prev = Some(block);
        match prev {
            Some(p) => self.blocks[p].next = Some(block),
            None => self.first_block = Some(block),
        }
    }

    /// Insert `block` right after `after` (which must be inserted).
    pub fn insert_block_after(&mut self, block: Block, after: Block) {
        match self.blocks[after].next {
            Some(n) => self.insert_block_before(block, n),
            None if self.is_block_inserted(after) => self.append_block(block),
            None => {}
        }
    }

    /// Remove an (empty or not) block from the layout; its instructions stay attached to
    /// it but the block is no longer iterated. Does nothing if it isn't inserted.
    pub fn remove_block(&mut self, block: Block) {
        if !self.is_block_inserted(block) {
            return;
        }
        let BlockNode { prev, next, .. } = self.blocks[block];
        match prev {
            Some(p) => self.blocks[p].next = next,
            None => self.first_block = next,
        }
        match next {
            Some(n) => self.blocks[n].prev = prev,
            None => self.last_block = prev,
        }
        let node = &mut self.blocks[block];
        node.inserted = false;
        node.prev = None;
        node.next = None;
    }

    /// Blocks in layout order.
    pub fn blocks(&self) -> Blocks<'_> {
        Blocks {
            layout: self,
            next: self.first_block,
        }
    }

    /// The block after `block`.
    pub fn next_block(&self, block: Block) -> Option<Block> {
        self.blocks[block].next
    }

    /// The block before `block`.
    pub fn prev_block(&self, block: Block) -> Option<Block> {
        self.blocks[block].prev
    }

    /// Append `inst` to the end of `block` (which must be inserted). Does nothing if `inst`
    /// is already in the layout.
    pub fn append_inst(&mut self, inst: Inst, block: Block) {
        if self.insts[inst].block.is_some() || !self.is_block_inserted(block) {
            return;
        }
        let prev = self.blocks[block].last_inst;
        self.insts[inst] = InstNode {
            block: Some(block),
            prev,
            next: None,
        };
        match prev {
            Some(p) => self.insts[p].next = Some(inst),
            None => self.blocks[block].first_inst = Some(inst),
        }
        self.blocks[block].last_inst = Some(inst);
    }

    /// Insert `inst` right before `before` (which must be in the layout).
    pub fn insert_inst_before(&mut self, inst: Inst, before: Inst) {
        let Some(block) = self.insts[before].block else {
            return;
        };
        if self.insts[inst].block.is_some() {
            return;
        }
        let prev = self.insts[before].prev;
        self.insts[inst] = InstNode {
            block: Some(block),
            prev,
            next: Some(before),
        };
        self.insts[before].prev = Some(inst);
        match prev {
            Some(p) => self.insts[p].next = Some(inst),
            None => self.blocks[block].first_inst = Some(inst),
        }
    }

    /// Remove `inst` from the layout. Does nothing if it isn't in it.
    pub fn remove_inst(&mut self, inst: Inst) {
        let InstNode { block, prev, next } = self.insts[inst];
        let Some(block) = block else { return };
        match prev {
            Some(p) => self.insts[p].next = next,
            None => self.blocks[block].first_inst = next,
        }
        match next {
            Some(n) => self.insts[n].prev = prev,
            None => self.blocks[block].last_inst = prev,
        }
        self.insts[inst] = InstNode::default();
    }

    /// The block containing `inst`.
    pub fn inst_block(&self, inst: Inst) -> Option<Block> {
        self.insts[inst].block
    }

    /// Instructions of `block` in order.
    pub fn block_insts(&self, block: Block) -> Insts<'_> {
        Insts {
            layout: self,
            next: self.blocks[block].first_inst,
        }
    }

    /// First instruction of `block`.
    pub fn first_inst(&self, block: Block) -> Option<Inst> {
        self.blocks[block].first_inst
    }

    /// Last instruction of `block` (its terminator, in a verified function).
    pub fn last_inst(&self, block: Block) -> Option<Inst> {
        self.blocks[block].last_inst
    }

    /// The instruction after `inst` in its block.
    pub fn next_inst(&self, inst: Inst) -> Option<Inst> {
        self.insts[inst].next
    }

    /// The instruction before `inst` in its block.
    pub fn prev_inst(&self, inst: Inst) -> Option<Inst> {
        self.insts[inst].prev
    }
}

/// Iterator over blocks in layout order.
pub struct Blocks<'a> {
    layout: &'a Layout,
    next: Option<Block>,
}

impl Iterator for Blocks<'_> {
    type Item = Block;
    fn next(&mut self) -> Option<Block> {
        let b = self.next?;
        self.next = self.layout.blocks[b].next;
        Some(b)
    }
}

/// Iterator over the instructions of a block.
pub struct Insts<'a> {
    layout: &'a Layout,
    next: Option<Inst>,
}

impl Iterator for Insts<'_> {
    type Item = Inst;
    fn next(&mut self) -> Option<Inst> {
        let i = self.next?;
        self.next = self.layout.insts[i].next;
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::EntityRef;

    #[test]
    fn insert_and_remove_keep_lists_consistent() {
        let mut l = Layout::new();
        let (b0, b1, b2) = (Block::new(0), Block::new(1), Block::new(2));
        l.append_block(b0);
        l.append_block(b2);
        l.insert_block_before(b1, b2);
        assert_eq!(l.blocks().collect::<Vec<_>>(), vec![b0, b1, b2]);
        let (i0, i1, i2) = (Inst::new(0), Inst::new(1), Inst::new(2));
        l.append_inst(i0, b1);
        l.append_inst(i2, b1);
        l.insert_inst_before(i1, i2);
        assert_eq!(l.block_insts(b1).collect::<Vec<_>>(), vec![i0, i1, i2]);
        l.remove_inst(i1);
        assert_eq!(l.block_insts(b1).collect::<Vec<_>>(), vec![i0, i2]);
        assert_eq!(l.inst_block(i1), None);
        l.remove_block(b0);
        assert_eq!(l.entry_block(), Some(b1));
        l.remove_block(b2);
        assert_eq!(l.last_block(), Some(b1));
        // Inserting twice is a no-op, not a corruption.
        l.append_block(b1);
        assert_eq!(l.blocks().count(), 1);
    }
}
