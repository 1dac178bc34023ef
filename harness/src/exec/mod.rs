//! Running Kiln's machine code under emulation (unicorn), for x86_64 and AArch64.
//!
//! Owns: the interface between a linker and the emulator ([`CodeImage`]: code bytes, function
//! symbols, trap sites, relocations still to resolve), the emulated address space, the
//! caller side of Kiln's calling convention (`docs/abi.md`) for both ISAs, libcalls
//! implemented in Rust behind hooks, host functions ([`crate::host`]) behind hooks, trap
//! mapping, and the instruction budget. The [`Executor`] is the only entry point:
//! `new(arch)` → `load(&image)` → `call(..)` / `call_with_host(..)` any number of times.
//!
//! # Address space
//!
//! Every executor maps exactly these regions; nothing else is mapped, so any other access
//! is reported as [`Outcome::MemoryFault`](crate::outcome::Outcome) with its address.
//!
//! | region | address | permissions |
//! |---|---|---|
//! | runtime code: libcall stubs at `+0`, host stubs at [`HOST_STUB_BASE`] = `+0x100` ([`MAX_HOST_FUNCTIONS`] × 16 bytes), the return sentinel at `+0x800` | [`RUNTIME_CODE_BASE`] = `0x3fe0_0000` (one page) | r-x |
//! | runtime data: the stack-limit value | [`RUNTIME_DATA_BASE`] = `0x3ff0_0000` (one page) | r-- |
//! | code image | [`CODE_BASE`] = `0x4000_0000` + each segment, rounded out to pages; reserved up to `CODE_BASE + MAX_CODE_SIZE` = `0x1_4000_0000` | r-x |
//! | heaps | each [`Heap::base`](crate::heap::Heap) (from `0x10_0000_0000`, 4 GiB apart) rounded down to a page, up to the end rounded up (a host call may move the end) | rw- |
//! | stack | [`STACK_LOW`] = `0x7ff0_0000_0000` .. [`STACK_TOP`] (1 MiB, mapped on demand); below it an unmapped guard | rw- |
//!
//! A code image is *sparse* ([`CodeImage::segments`], from the linker's
//! [`TextSection`]): each segment is mapped on its own pages and
//! the virtual padding between segments stays **unmapped** — never allocated, copied or
//! zeroed (unicorn only allocates what is mapped) — so an image of several GiB with a few
//! KiB of code costs a few pages, and a jump into the padding is a fetch `MemoryFault`
//! (stricter than trapping pad bytes). Segments must not share a page (the linker starts
//! each padded segment on a 4 KiB boundary). The whole image, up to [`MAX_CODE_SIZE`]
//! (4 GiB: enough for a >2 GiB x86_64 image and a >128 MiB AArch64 one, the far-call
//! veneer tests), lies below the heaps.
//!
//! Heap bytes that are mapped only because of page rounding (before `base`, after
//! `base + len`; a heap ending on a page boundary gets one whole extra page) are *guard
//! bytes*: an access touching one is a `MemoryFault` at the access's own address and size,
//! like in the interpreter — also for an access straddling the heap's end, which unicorn
//! alone would report at the first unmapped byte. Guard bytes are implemented with a memory
//! hook, installed only while a call has heaps; it sends every load and store of such a call
//! through unicorn's slow path (fine for test-sized code). After a guard fault the emulator
//! still runs to the end of the current translation block — a few straight-line
//! instructions — before it stops, so heap contents after a fault are unspecified; the
//! outcome is always the first fault.
//!
//! # Calls
//!
//! [`Executor::call`] follows `docs/abi.md`: integer-class arguments in `rdi rsi rdx rcx r8 r9`
//! / `x0`–`x7`, float and vector arguments in `xmm0`–`xmm7` / `v0`–`v7`, the rest on the stack
//! in 8-byte (vectors: 16-byte, 16-aligned) slots from the stack pointer at the call; the
//! return-area pointer (when some result does not fit `rax rdx`/`x0 x1` and
//! `xmm0 xmm1`/`v0 v1`) in `rdi` (shifting the others) / `x8`. The return area sits at the
//! top of the stack, the stack arguments below it. The return address is
//! [`RETURN_SENTINEL`]; the run is a normal return only if the PC reached it.
//!
//! Determinism: before each call every CPU register is restored from one fixed snapshot
//! in which general registers and vector registers hold a fixed **non-zero pattern**, and
//! the whole stack is zero: the top [`STACK_CHUNK`] is cleared before the call, and deeper
//! chunks are mapped (zero-filled) by the fault hook when first touched and unmapped again
//! after the call — clearing all 1 MiB per call would cost ~40 µs, four times the rest. Arguments narrower than their register or stack slot are
//! written with the pattern left in the bits above them, so code that relies on "undefined"
//! upper bits produces wrong results deterministically. Results are read from the low bits
//! only. After a normal return the callee-saved registers (`rbx rbp r12`–`r15` and `rsp`;
//! `x19`–`x29`, `sp` and `d8`–`d15`) must still hold their entry values, otherwise the
//! outcome is an [`Outcome::Error`](crate::outcome::Outcome) naming the register.
//!
//! # Host functions
//!
//! [`Executor::call_with_host`] makes a [`HostCalls`](crate::host::HostCalls) reachable:
//! host function `n` is the stub at [`host_function_address`]`(n)`, a `ret` whose code hook
//! runs first. The hook reads the arguments where [`HostCalls::signature`](crate::host::HostCalls::signature)`(n)`
//! puts them under the calling convention (the stub is entered by a call: stack arguments
//! start at `rsp + 8` / `sp`), copies every heap's current emulator contents into the
//! caller's [`Heap`](crate::heap::Heap)s, calls the host, then writes the heaps back —
//! mapping or unmapping pages at a heap's end when the host changed its length, remapping
//! a heap the host moved, and moving its guard bytes (see below) — and writes the results
//! zero-extended into the result registers or the caller's return area; the `ret` then
//! returns to the code. A missing function, results that do not match the signature, or a
//! heap grown or moved into another heap's page stop the run with an `Error`; `Err(outcome)` from the host stops it
//! with `outcome` (the heaps as the host left them are read back either way); a panic of
//! the host stops it and propagates out of `call_with_host` once the executor has cleaned
//! up. The hook reaches the host and the heaps through raw pointers that exist only while
//! `call_with_host` runs the emulator (see `HostLink` in `executor.rs` for the safety
//! argument). [`Executor::call`] uses [`NoHost`](crate::host::NoHost): every stub is an
//! `Error` there.
//!
//! # Traps, faults, budget
//!
//! - An invalid-instruction exception (x86 `ud2`, AArch64 `udf`, also `int3`/`brk`) at a PC
//!   that is a trap site of the image gives `Trapped(code)`; anywhere else it is an `Error`
//!   naming the PC and the instruction bytes there.
//! - Unmapped or protection-violating reads, writes and fetches give `MemoryFault` with the
//!   faulting address (for a fetch, the size unicorn reports). Hitting the stack guard is a
//!   fault too; code compiled by Kiln traps `stk_ovf` first, against [`STACK_LIMIT`].
//! - `fuel` is an instruction count; when it runs out the outcome is `OutOfFuel`.
//!   (`hlt`, which Kiln never emits, is indistinguishable from that and reported the same.)
//!
//! # Relocations
//!
//! An image carries the linker's leftover relocations (`kiln::module::TextReloc`, applied
//! with `kiln::module::apply_reloc`). The executor provides their targets: each function
//! of the image, each libcall's stub (a `ret` whose code hook computes the result first)
//! and the stack-limit value (an 8-byte word at [`STACK_LIMIT_ADDR`], read-only to the
//! code).
//!
//! Invariants: an [`Executor`] belongs to one thread (unicorn is `!Send`); after
//! [`Executor::load`] returns `Ok` the mapped code is exactly the relocated segments, each
//! surrounded by zero bytes to its page boundaries, the padding unmapped, and no stale
//! translation of an earlier image can run; nothing in this module panics (a host
//! function's panic propagates); `HostLink` in `executor.rs` and its one use in the
//! host-stub hook are the only `unsafe` code.

mod abi;
mod executor;
mod libcall;
#[cfg(test)]
mod tests;

pub use executor::Executor;

use crate::host::MAX_HOST_FUNCTIONS;
use kiln::ir::{LibCall, Signature, TrapCode};
pub use kiln::isa::Arch;
pub use kiln::machinst::buffer::RelocKind;
pub use kiln::module::TextSegment;
use kiln::module::{TextReloc, TextRelocTarget, TextSection};

/// Page granularity of every mapping.
pub const PAGE_SIZE: u64 = 0x1000;
/// Where the code image is mapped.
pub const CODE_BASE: u64 = 0x4000_0000;
/// Largest (virtual) code image [`Executor::load`] accepts: every section offset is a `u32`.
pub const MAX_CODE_SIZE: u64 = kiln::module::MAX_TEXT_SIZE;
/// The runtime code page: libcall stubs ([`LIBCALL_STUB_STRIDE`] bytes apart, in
/// [`LibCall::ALL`] order) and the return sentinel. 2 MiB below the code, so that
/// `X86PcRel4` and `Arm64Call26` reach it from the first 126 MiB of an image. (Kiln's
/// x86_64 backend calls libcalls through `Abs8` addresses, which reach it from anywhere;
/// the AArch64 backend calls them with `bl` and an `Arm64Call` relocation, so a function
/// more than 126 MiB into an image cannot be loaded here: the loader has no veneers for
/// libcalls.)
pub const RUNTIME_CODE_BASE: u64 = CODE_BASE - 0x20_0000;
/// Distance between libcall stubs.
pub const LIBCALL_STUB_STRIDE: u64 = 16;
/// The first host-function stub ([`HOST_STUB_STRIDE`] bytes apart, one per host function
/// `n <` [`MAX_HOST_FUNCTIONS`]), after the libcall stubs.
pub const HOST_STUB_BASE: u64 = RUNTIME_CODE_BASE + 0x100;
/// Distance between host-function stubs.
pub const HOST_STUB_STRIDE: u64 = 16;
/// The return address of every call: emulation stops when the PC gets here.
pub const RETURN_SENTINEL: u64 = RUNTIME_CODE_BASE + 0x800;
/// The runtime data page (read-only to the code).
pub const RUNTIME_DATA_BASE: u64 = CODE_BASE - 0x10_0000;
/// Address of the 8-byte stack-limit value ([`TextRelocTarget::StackLimit`]).
pub const STACK_LIMIT_ADDR: u64 = RUNTIME_DATA_BASE;
/// Lowest stack address; the page below it is never mapped (stack guard).
pub const STACK_LOW: u64 = 0x7ff0_0000_0000;
/// Stack size.
pub const STACK_SIZE: u64 = 1 << 20;
/// The stack is mapped on demand from the top in chunks of this size; only the top chunk
/// stays mapped between calls and is zeroed before each.
pub const STACK_CHUNK: u64 = 64 << 10;
/// One past the highest stack address.
pub const STACK_TOP: u64 = STACK_LOW + STACK_SIZE;
/// The stack limit stored at [`STACK_LIMIT_ADDR`]: the stack bottom plus 64 KiB headroom.
pub const STACK_LIMIT: u64 = STACK_LOW + (64 << 10);

// The runtime code page: libcall stubs, then host stubs, then the return sentinel.
const _: () =
    assert!(RUNTIME_CODE_BASE + LibCall::ALL.len() as u64 * LIBCALL_STUB_STRIDE <= HOST_STUB_BASE);
const _: () =
    assert!(HOST_STUB_BASE + MAX_HOST_FUNCTIONS as u64 * HOST_STUB_STRIDE <= RETURN_SENTINEL);
const _: () = assert!(RETURN_SENTINEL < RUNTIME_CODE_BASE + PAGE_SIZE);
// The address map's order: runtime pages, the whole code image, heaps, stack.
const _: () = assert!(RUNTIME_DATA_BASE + PAGE_SIZE <= CODE_BASE);
const _: () = assert!(CODE_BASE + MAX_CODE_SIZE <= crate::filetest::HEAP_BASE);
// (Room for 256 heaps of `HEAP_STRIDE` below the stack guard.)
const _: () = assert!(STACK_LOW - PAGE_SIZE > crate::filetest::HEAP_BASE + (1 << 40));

/// The emulator's address of host function `n` ([`crate::host`]): its stub in the runtime
/// code page (callable when `n <` [`MAX_HOST_FUNCTIONS`]).
pub fn host_function_address(n: u32) -> u64 {
    HOST_STUB_BASE + HOST_STUB_STRIDE * u64::from(n)
}

/// A function in a [`CodeImage`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FunctionSymbol {
    /// Name, for messages.
    pub name: String,
    /// Image offset of its first instruction (inside a segment).
    pub offset: u32,
    /// Its signature (Kiln's calling convention).
    pub signature: Signature,
}

/// A linked image ready to run.
///
/// Invariants checked by [`Executor::load`]: `segments` are non-empty, sorted, inside
/// `size` and share no page; functions and relocated fields lie inside segments; `traps`
/// is sorted by offset.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CodeImage {
    /// The instruction set.
    pub arch: Arch,
    /// The code: bytes at image offsets; the image is mapped at [`CODE_BASE`] and the
    /// padding between segments is left unmapped.
    pub segments: Vec<TextSegment>,
    /// The virtual size of the image (at least the end of the last segment).
    pub size: u64,
    /// Where each function starts; [`Executor::call`] takes an index into this.
    pub functions: Vec<FunctionSymbol>,
    /// Trap sites: `(offset of the trapping instruction, code)`, sorted by offset.
    pub traps: Vec<(u32, TrapCode)>,
    /// Relocations to resolve when loading (the linker's leftovers: absolute addresses,
    /// libcalls, the stack limit).
    pub relocs: Vec<TextReloc>,
}

impl CodeImage {
    /// A dense image: `code` as one segment at offset 0, no functions, traps or
    /// relocations yet.
    pub fn dense(arch: Arch, code: Vec<u8>) -> Self {
        CodeImage {
            arch,
            size: code.len() as u64,
            segments: vec![TextSegment {
                offset: 0,
                bytes: code,
            }],
            functions: Vec::new(),
            traps: Vec::new(),
            relocs: Vec::new(),
        }
    }

    /// The trap code of the instruction at `offset`, if it is a trap site.
    pub fn trap_at(&self, offset: u32) -> Option<TrapCode> {
        self.traps
            .binary_search_by_key(&offset, |t| t.0)
            .ok()
            .map(|i| self.traps[i].1)
    }
}

impl CodeImage {
    /// An image of a linked text section; `symbols` gives each function's name and
    /// signature, in the section's function order.
    pub fn from_text(arch: Arch, text: TextSection, symbols: Vec<(String, Signature)>) -> Self {
        let functions = symbols
            .into_iter()
            .zip(&text.functions)
            .map(|((name, signature), &offset)| FunctionSymbol {
                name,
                offset,
                signature,
            })
            .collect();
        CodeImage {
            arch,
            segments: text.segments,
            size: text.len,
            functions,
            traps: text.traps,
            relocs: text.relocs,
        }
    }

    /// The address of a relocation target in every executor's address space (`None` for a
    /// function index the image does not have).
    pub fn target_address(&self, target: TextRelocTarget) -> Option<u64> {
        Some(match target {
            TextRelocTarget::Function(i) => {
                CODE_BASE + u64::from(self.functions.get(i as usize)?.offset)
            }
            TextRelocTarget::LibCall(l) => {
                let i = LibCall::ALL.iter().position(|&x| x == l)?;
                RUNTIME_CODE_BASE + i as u64 * LIBCALL_STUB_STRIDE
            }
            TextRelocTarget::StackLimit => STACK_LIMIT_ADDR,
        })
    }
}

/// Why an executor could not be created or an image not loaded.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// A unicorn call failed.
    #[error("unicorn failed to {what}: {err:?}")]
    Unicorn {
        /// What the executor was doing.
        what: &'static str,
        /// unicorn's error code.
        err: unicorn_engine::uc_error,
    },
    /// The image is for another instruction set.
    #[error("the image is for {image} but the executor emulates {executor}")]
    WrongArch {
        /// The image's.
        image: Arch,
        /// The executor's.
        executor: Arch,
    },
    /// The image is empty or larger than [`MAX_CODE_SIZE`].
    #[error("code image of {size} bytes (must be 1 to {MAX_CODE_SIZE} bytes)")]
    CodeSize {
        /// Its size.
        size: u64,
    },
    /// The segments are empty, unsorted, overlap, share a page, or lie outside the image.
    #[error("bad code segment at offset {offset}: {problem}")]
    Segment {
        /// The segment's offset.
        offset: u32,
        /// What is wrong.
        problem: &'static str,
    },
    /// A function starts outside every segment.
    #[error("function `{name}` starts at offset {offset}, outside the code of the {code_len}-byte image")]
    FunctionOutOfBounds {
        /// Its name.
        name: String,
        /// Its offset.
        offset: u32,
        /// The image size.
        code_len: u64,
    },
    /// The trap table is not sorted by offset.
    #[error("trap records are not sorted by offset (at offset {offset})")]
    TrapsUnsorted {
        /// The first out-of-order offset.
        offset: u32,
    },
    /// A relocation cannot be applied: its field lies outside the code, its kind belongs
    /// to the other instruction set, its target does not exist, or the value does not fit.
    #[error("{kind:?} relocation at offset {offset} to {target:?}: {problem}")]
    Reloc {
        /// The relocation's offset.
        offset: u32,
        /// Its kind.
        kind: RelocKind,
        /// Its target.
        target: TextRelocTarget,
        /// What is wrong.
        problem: String,
    },
}
