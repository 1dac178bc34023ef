//! [`Heap`]: a memory region the code under test may access besides its own stack — a
//! test file's heaps, a Wasm instance's vmctx, linear memory and tables. Every engine
//! (interpreter, emulator) and every host function works on the same `Heap`s.
//!
//! Invariant: a heap is `bytes.len()` bytes at `base`; engines map exactly those bytes.

/// A caller-provided memory region: `bytes.len()` bytes starting at address `base`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heap {
    /// Address of `bytes[0]`.
    pub base: u64,
    /// Contents.
    pub bytes: Vec<u8>,
}

impl Heap {
    /// A zero-filled heap of `size` bytes at `base`.
    pub fn zeroed(base: u64, size: usize) -> Self {
        Heap {
            base,
            bytes: vec![0; size],
        }
    }
}
