//! The interpreter's address space: the caller's [`Heap`]s plus the stack slots of the
//! live frames.
//!
//! Stack slots live in one bump-allocated byte array that represents addresses from
//! [`STACK_BASE`] upward. Each frame's slots are placed after the previous frame's, each
//! aligned to its own alignment and followed by a [`SLOT_GAP`]-byte gap that belongs to no
//! slot, so running off the end of a slot faults. Slots are zero-initialized.
//!
//! Invariants: `slots` is sorted by address and holds exactly the slots of live frames
//! (frames are pushed and popped in stack order); every slot lies inside `bytes`.
//! An access succeeds only if it lies entirely inside one heap or one live slot; heaps are
//! searched first, in order. Anything else is an [`Outcome::MemoryFault`].

use crate::outcome::Outcome;
use kiln::entity::PrimaryMap;
use kiln::ir::{StackSlot, StackSlotData};

pub use crate::heap::Heap;

/// Address of the first byte of the interpreter's stack area.
pub const STACK_BASE: u64 = 0x7f00_0000_0000;
/// Total bytes of stack slots (all live frames, gaps included) before the interpreter
/// reports `stk_ovf`.
pub const STACK_LIMIT: usize = 64 << 20;
/// Unowned bytes after every slot.
pub const SLOT_GAP: usize = 16;

/// One live stack slot.
#[derive(Copy, Clone, Debug)]
pub(super) struct Region {
    pub addr: u64,
    pub size: u64,
}

/// Stack slots of the live frames.
#[derive(Default)]
pub(super) struct StackMemory {
    bytes: Vec<u8>,
    slots: Vec<Region>,
}

/// Where a frame's slots start in [`StackMemory`], for popping it again.
#[derive(Copy, Clone, Debug)]
pub(super) struct FrameSlots {
    /// Index of the frame's first slot.
    pub first: usize,
    /// Number of slots.
    pub count: usize,
    /// Stack bytes in use before the frame was pushed.
    pub top: usize,
}

#[inline]
fn fault(addr: u64, size: usize, write: bool) -> Outcome {
    Outcome::MemoryFault {
        addr,
        size: size as u32,
        write,
    }
}

impl StackMemory {
    /// Forget every frame.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.slots.clear();
    }

    /// Allocate the slots of a new frame. `stk_ovf` when the stack limit is exceeded;
    /// `Error` for an alignment above 16 bytes (the verifier rejects those).
    pub fn push_frame(
        &mut self,
        slots: &PrimaryMap<StackSlot, StackSlotData>,
    ) -> Result<FrameSlots, Outcome> {
        let top = self.bytes.len();
        let first = self.slots.len();
        if slots.is_empty() {
            return Ok(FrameSlots {
                first,
                count: 0,
                top,
            });
        }
        let mut cursor = top;
        for (ss, d) in slots.iter() {
            if d.align_shift > StackSlotData::MAX_ALIGN_SHIFT {
                self.slots.truncate(first);
                return Err(Outcome::Error(format!(
                    "{ss} has alignment 2^{} (at most 16 bytes allowed)",
                    d.align_shift
                )));
            }
            let align = 1usize << d.align_shift;
            cursor = cursor.next_multiple_of(align);
            let end = cursor
                .saturating_add(d.size as usize)
                .saturating_add(SLOT_GAP);
            if end > STACK_LIMIT {
                self.slots.truncate(first);
                return Err(Outcome::Trapped(kiln::ir::TrapCode::StackOverflow));
            }
            self.slots.push(Region {
                addr: STACK_BASE + cursor as u64,
                size: d.size as u64,
            });
            cursor = end;
        }
        self.bytes.resize(cursor, 0);
        Ok(FrameSlots {
            first,
            count: slots.len(),
            top,
        })
    }

    /// Free the slots of the most recently pushed frame.
    pub fn pop_frame(&mut self, f: FrameSlots) {
        self.slots.truncate(f.first);
        self.bytes.truncate(f.top);
    }

    /// Address of `slot` of the frame `f`.
    #[inline]
    pub fn slot_addr(&self, f: FrameSlots, slot: StackSlot) -> Option<u64> {
        let i = slot.as_u32() as usize;
        if i >= f.count {
            return None;
        }
        self.slots.get(f.first + i).map(|r| r.addr)
    }

    /// Offset into `bytes` of an access of `size` bytes at `addr`, if it lies inside one
    /// live slot.
    #[inline]
    fn locate(&self, addr: u64, size: usize) -> Option<usize> {
        if addr < STACK_BASE {
            return None;
        }
        let i = self.slots.partition_point(|r| r.addr <= addr);
        let r = self.slots.get(i.checked_sub(1)?)?;
        let end = (addr - r.addr).checked_add(size as u64)?;
        if end > r.size {
            return None;
        }
        Some((addr - STACK_BASE) as usize)
    }

    /// Read `size` bytes at `addr` from a heap or a live slot.
    #[inline]
    pub fn read<'a>(
        &'a self,
        heaps: &'a [Heap],
        addr: u64,
        size: usize,
    ) -> Result<&'a [u8], Outcome> {
        for h in heaps {
            if let Some(off) = heap_offset(h, addr, size) {
                return Ok(&h.bytes[off..off + size]);
            }
        }
        match self.locate(addr, size) {
            Some(off) => self
                .bytes
                .get(off..off + size)
                .ok_or_else(|| fault(addr, size, false)),
            None => Err(fault(addr, size, false)),
        }
    }

    /// Write `data` at `addr` into a heap or a live slot.
    #[inline]
    pub fn write(&mut self, heaps: &mut [Heap], addr: u64, data: &[u8]) -> Result<(), Outcome> {
        let size = data.len();
        for h in heaps.iter_mut() {
            if let Some(off) = heap_offset(h, addr, size) {
                h.bytes[off..off + size].copy_from_slice(data);
                return Ok(());
            }
        }
        let off = self
            .locate(addr, size)
            .ok_or_else(|| fault(addr, size, true))?;
        match self.bytes.get_mut(off..off + size) {
            Some(dst) => {
                dst.copy_from_slice(data);
                Ok(())
            }
            None => Err(fault(addr, size, true)),
        }
    }
}

/// Offset of an access inside heap `h`, if it lies entirely inside it.
#[inline]
fn heap_offset(h: &Heap, addr: u64, size: usize) -> Option<usize> {
    let off = addr.checked_sub(h.base)?;
    let end = off.checked_add(size as u64)?;
    if end <= h.bytes.len() as u64 {
        Some(off as usize)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_aligned_disjoint_and_freed() {
        let mut slots: PrimaryMap<StackSlot, StackSlotData> = PrimaryMap::new();
        slots.push(StackSlotData::new(3));
        slots.push(StackSlotData {
            size: 16,
            align_shift: 4,
        });
        slots.push(StackSlotData {
            size: 0,
            align_shift: 0,
        });
        let mut m = StackMemory::default();
        let f = m.push_frame(&slots).unwrap();
        let a0 = m.slot_addr(f, StackSlot::from_u32(0)).unwrap();
        let a1 = m.slot_addr(f, StackSlot::from_u32(1)).unwrap();
        let a2 = m.slot_addr(f, StackSlot::from_u32(2)).unwrap();
        assert_eq!(a1 % 16, 0);
        assert!(a0 + 3 < a1 && a1 + 16 < a2);
        assert!(m.slot_addr(f, StackSlot::from_u32(3)).is_none());
        m.write(&mut [], a1, &[1, 2, 3, 4]).unwrap();
        assert_eq!(m.read(&[], a1 + 1, 2).unwrap(), &[2, 3]);
        // Crossing the end of slot 0 faults, even a byte into the gap.
        assert!(m.read(&[], a0 + 1, 3).is_err());
        assert!(m.read(&[], a0, 3).is_ok());
        assert!(m.read(&[], a2, 1).is_err());
        let g = m.push_frame(&slots).unwrap();
        let b0 = m.slot_addr(g, StackSlot::from_u32(0)).unwrap();
        assert!(b0 > a2);
        m.pop_frame(g);
        assert!(m.read(&[], b0, 1).is_err(), "popped frame's slots are gone");
        assert!(m.read(&[], a0, 1).is_ok());
    }

    #[test]
    fn heaps_bounds_and_overflow() {
        let mut heaps = [Heap::zeroed(0x1000, 8), Heap::zeroed(u64::MAX - 3, 4)];
        let m = StackMemory::default();
        assert!(m.read(&heaps, 0x1000, 8).is_ok());
        assert_eq!(
            m.read(&heaps, 0x1001, 8),
            Err(Outcome::MemoryFault {
                addr: 0x1001,
                size: 8,
                write: false
            })
        );
        assert!(m.read(&heaps, u64::MAX - 3, 4).is_ok());
        assert!(m.read(&heaps, u64::MAX - 1, 4).is_err(), "no wrap-around");
        let mut m = m;
        assert!(m.write(&mut heaps, 0xfff, &[1]).is_err());
        m.write(&mut heaps, 0x1007, &[9]).unwrap();
        assert_eq!(heaps[0].bytes[7], 9);
    }

    #[test]
    fn stack_limit_is_stack_overflow() {
        let mut slots: PrimaryMap<StackSlot, StackSlotData> = PrimaryMap::new();
        slots.push(StackSlotData::new(u32::MAX));
        let mut m = StackMemory::default();
        assert_eq!(
            m.push_frame(&slots).unwrap_err(),
            Outcome::Trapped(kiln::ir::TrapCode::StackOverflow)
        );
    }
}
