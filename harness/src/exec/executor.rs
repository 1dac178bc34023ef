//! The [`Executor`]: one unicorn instance, reused for every image and call.
//!
//! Invariants (beyond those in the module docs of `exec`):
//! - `code_mapped` lists the mappings of the code image (`(address, length)`, one per
//!   segment, page-rounded; empty: none) and the hook state's `code_extent` the image's
//!   reserved extent from [`CODE_BASE`] (page-rounded virtual size; heaps may not overlap
//!   it); `loaded` is `Some` only while those mappings hold exactly `loaded.image`
//!   relocated;
//! - the hook state's `heaps_mapped` lists exactly the heap mappings that exist (as
//!   `(start, length)` ranges; after a host call resized a heap, one range may consist of
//!   several adjacent unicorn regions; a length of 0 is a heap whose move failed halfway,
//!   mapped nowhere) and `guards` the guard bytes inside them;
//!   `guard_hook` is installed iff `guards` is non-empty, watching exactly
//!   [`guard_hook_range`]`(guards)`. unicorn's generated code depends only on whether some
//!   memory hook exists (then every load and store takes the slow path, which checks hook
//!   ranges and reads `guards` at run time): outside emulation the translation cache is
//!   flushed after each change of the guards or the hook; inside a host call (heaps exist,
//!   so guards exist before and after) the new hook is added before the old one is removed
//!   and nothing is flushed;
//! - the hook state's `host` is `Some` only inside the `emu_start` of a call (see
//!   [`HostLink`] for why that is sound);
//! - `pristine` is the register snapshot every call starts from.

use super::abi::{self, Loc, Plan};
use super::{
    libcall, Arch, CodeImage, ExecError, TextSegment, CODE_BASE, HOST_STUB_BASE, HOST_STUB_STRIDE,
    LIBCALL_STUB_STRIDE, MAX_CODE_SIZE, PAGE_SIZE, RETURN_SENTINEL, RUNTIME_CODE_BASE,
    RUNTIME_DATA_BASE, STACK_CHUNK, STACK_LIMIT, STACK_LIMIT_ADDR, STACK_LOW, STACK_SIZE,
    STACK_TOP,
};
use crate::heap::Heap;
use crate::host::{HostCalls, NoHost, MAX_HOST_FUNCTIONS};
use crate::outcome::Outcome;
use crate::value::DataValue;
use kiln::ir::{LibCall, Type};
use kiln::module::{PatchError, TextReloc};
use std::any::Any;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use unicorn_engine::unicorn_const::{Arch as UcArch, HookType, MemType, Mode, Prot};
use unicorn_engine::{uc_error, Context, RegisterARM64, RegisterX86, UcHookId, Unicorn};

/// State shared with the hooks (unicorn's per-instance data).
#[derive(Default)]
struct HookState {
    /// The first memory fault of the current run.
    fault: Option<Fault>,
    /// Something a hook could not do (reported as `Outcome::Error`).
    hook_error: Option<String>,
    /// The `Err(outcome)` a host function ended the current run with.
    host_outcome: Option<Outcome>,
    /// A host function's panic, resumed once the emulator has stopped and cleaned up.
    host_panic: Option<Box<dyn Any + Send>>,
    /// The host and heaps of the running call; `None` outside its `emu_start`.
    host: Option<HostLink>,
    /// Guard bytes `[start, end)` of the current heaps.
    guards: Vec<(u64, u64)>,
    /// The heap mappings that exist, `(start, length)`, page-aligned.
    heaps_mapped: Vec<(u64, u64)>,
    /// The heap guard hook, if installed.
    guard_hook: Option<GuardHook>,
    /// The loaded image's reserved extent from [`CODE_BASE`] (0: none loaded).
    code_extent: u64,
    /// The lowest mapped stack address (the stack is mapped on demand, from the top, in
    /// [`STACK_CHUNK`]s).
    stack_low: u64,
}

/// The installed heap guard hook and the addresses it watches (inclusive).
#[derive(Copy, Clone, Debug)]
struct GuardHook {
    id: UcHookId,
    range: (u64, u64),
}

/// The host and the heaps of the running [`Executor::call_with_host`], for the host-stub
/// hook, as raw pointers (the hook state is `'static`, the borrows are not).
///
/// Safety argument: `call_inner` makes a link from its `host: &mut dyn HostCalls` and
/// `heaps: &mut [Heap]` immediately before `emu_start` and removes it from the hook state
/// immediately after, using neither borrow in between; nothing in between can return early
/// or unwind (`emu_start` returns a `Result`; a panic cannot unwind out of a hook through
/// unicorn's C frames, and [`host_hook`] catches the host's). Hooks run only inside
/// `emu_start`, so every dereference happens while both borrows are live and used by no
/// one else. Only [`host_hook`] dereferences the link, once per host call, and it is not
/// re-entered meanwhile (the host has no access to the emulator, and the hook's own
/// emulator calls — register and memory accesses, mapping changes, adding and removing a
/// memory hook — run no guest code). The `'static` bound of the stored trait object is
/// never relied on: the pointer does not outlive the call.
#[derive(Copy, Clone)]
struct HostLink {
    host: NonNull<dyn HostCalls>,
    heaps: NonNull<[Heap]>,
}

impl HostLink {
    fn new(host: &mut dyn HostCalls, heaps: &mut [Heap]) -> Self {
        let host: NonNull<dyn HostCalls + '_> = NonNull::from(host);
        // SAFETY: only the trait object's lifetime bound changes (same pointer, same
        // vtable); see the type's docs for why the pointer is never used after the borrow
        // it came from ends.
        let host = unsafe {
            std::mem::transmute::<NonNull<dyn HostCalls + '_>, NonNull<dyn HostCalls + 'static>>(
                host,
            )
        };
        HostLink {
            host,
            heaps: NonNull::from(heaps),
        }
    }

    /// The host and the heaps.
    ///
    /// # Safety
    /// Only inside the `emu_start` this link was made for, and only while no other
    /// reference obtained from it is live (see the type's docs).
    unsafe fn get<'a>(self) -> (&'a mut dyn HostCalls, &'a mut [Heap]) {
        // SAFETY: the caller's contract; both pointers come from live exclusive borrows.
        unsafe { (&mut *self.host.as_ptr(), &mut *self.heaps.as_ptr()) }
    }
}

#[derive(Copy, Clone, Debug)]
struct Fault {
    addr: u64,
    size: u32,
    write: bool,
}

type Emu = Unicorn<'static, HookState>;

/// The image currently mapped, with each function's argument/result placement.
struct Loaded {
    image: CodeImage,
    plans: Vec<Plan>,
}

/// Runs code images under unicorn. One per thread; reuse it (creating one costs ~0.5 ms,
/// a call on a reused one ~10 µs plus the emulated work).
pub struct Executor {
    emu: Emu,
    arch: Arch,
    pristine: Context,
    loaded: Option<Loaded>,
    code_mapped: Vec<(u64, u64)>,
    /// `STACK_CHUNK` zero bytes, for clearing the stack and code tails.
    zeros: Vec<u8>,
}

/// The fixed pattern of general register `n` in the pristine snapshot. Its upper 32 bits
/// are also left above narrow integer arguments.
const fn gpr_pattern(n: u64) -> u64 {
    0xdead_beef_0bad_f000 | n
}

/// The fixed pattern of vector register `n` in the pristine snapshot; also fills the bytes
/// above narrow float arguments.
const fn vec_pattern(n: u8) -> [u8; 16] {
    [0xe0 | (n & 0x1f); 16]
}

/// x86_64 general registers given a pattern (everything but `rsp`).
const X86_GPRS: [RegisterX86; 15] = [
    RegisterX86::RAX,
    RegisterX86::RBX,
    RegisterX86::RCX,
    RegisterX86::RDX,
    RegisterX86::RSI,
    RegisterX86::RDI,
    RegisterX86::RBP,
    RegisterX86::R8,
    RegisterX86::R9,
    RegisterX86::R10,
    RegisterX86::R11,
    RegisterX86::R12,
    RegisterX86::R13,
    RegisterX86::R14,
    RegisterX86::R15,
];
/// x86_64 integer argument registers, in order.
const X86_INT_ARGS: [RegisterX86; 6] = [
    RegisterX86::RDI,
    RegisterX86::RSI,
    RegisterX86::RDX,
    RegisterX86::RCX,
    RegisterX86::R8,
    RegisterX86::R9,
];
/// x86_64 callee-saved registers checked after a return (`rsp` separately).
const X86_CALLEE_SAVED: [RegisterX86; 6] = [
    RegisterX86::RBX,
    RegisterX86::RBP,
    RegisterX86::R12,
    RegisterX86::R13,
    RegisterX86::R14,
    RegisterX86::R15,
];

/// unicorn register id of AArch64 `x{n}` (`n` ≤ 30).
fn a64_x(n: u8) -> i32 {
    match n {
        29 => RegisterARM64::X29.into(),
        30 => RegisterARM64::X30.into(),
        n => i32::from(RegisterARM64::X0) + i32::from(n),
    }
}

/// unicorn register id of a vector register (`xmm{n}` / `q{n}`).
fn vec_reg(arch: Arch, n: u8) -> i32 {
    match arch {
        Arch::X86_64 => i32::from(RegisterX86::XMM0) + i32::from(n),
        Arch::Aarch64 => i32::from(RegisterARM64::Q0) + i32::from(n),
    }
}

/// unicorn register id of the `n`th integer argument register.
fn int_arg_reg(arch: Arch, n: u8) -> i32 {
    match arch {
        // `n` < 6 by the plan's construction; an impossible `n` names no register.
        Arch::X86_64 => X86_INT_ARGS
            .get(usize::from(n))
            .map_or(i32::from(RegisterX86::INVALID), |&r| r.into()),
        Arch::Aarch64 => a64_x(n),
    }
}

/// unicorn register id of the `n`th integer result register (`rax rdx` / `x0 x1`).
fn int_ret_reg(arch: Arch, n: u8) -> i32 {
    match (arch, n) {
        (Arch::X86_64, 0) => RegisterX86::RAX.into(),
        (Arch::X86_64, _) => RegisterX86::RDX.into(),
        (Arch::Aarch64, n) => a64_x(n),
    }
}

/// The pattern a register holds in the pristine snapshot (general registers only).
fn pattern_of(arch: Arch, reg: i32) -> u64 {
    match arch {
        Arch::X86_64 => X86_GPRS
            .iter()
            .position(|&r| i32::from(r) == reg)
            .map_or(0, |i| gpr_pattern(i as u64)),
        Arch::Aarch64 => (0..=30u8)
            .find(|&n| a64_x(n) == reg)
            .map_or(0, |n| gpr_pattern(u64::from(n))),
    }
}

fn uc(what: &'static str) -> impl Fn(uc_error) -> ExecError {
    move |err| ExecError::Unicorn { what, err }
}

fn page_up(x: u64) -> Option<u64> {
    x.checked_next_multiple_of(PAGE_SIZE)
}

/// The runtime code page: trap filler, a `ret` per libcall stub and per host stub.
fn runtime_code_page(arch: Arch) -> Vec<u8> {
    let mut page = vec![0u8; PAGE_SIZE as usize];
    let stubs = (0..LibCall::ALL.len() as u64)
        .map(|i| i * LIBCALL_STUB_STRIDE)
        .chain(
            (0..u64::from(MAX_HOST_FUNCTIONS))
                .map(|n| HOST_STUB_BASE - RUNTIME_CODE_BASE + n * HOST_STUB_STRIDE),
        );
    match arch {
        Arch::X86_64 => {
            page.fill(0xcc); // int3
            for o in stubs {
                page[o as usize] = 0xc3; // ret
            }
        }
        Arch::Aarch64 => {
            for w in page.chunks_exact_mut(4) {
                w.copy_from_slice(&0xd420_0000u32.to_le_bytes()); // brk #0
            }
            for o in stubs {
                let o = o as usize;
                page[o..o + 4].copy_from_slice(&0xd65f_03c0u32.to_le_bytes()); // ret
            }
        }
    }
    page
}

/// Runs before each libcall stub's `ret`: compute the result from `xmm0`/`v0` into the
/// same register.
fn libcall_hook(emu: &mut Unicorn<'_, HookState>, arch: Arch, addr: u64) {
    let off = addr.wrapping_sub(RUNTIME_CODE_BASE);
    if !off.is_multiple_of(LIBCALL_STUB_STRIDE) {
        return;
    }
    let Some(&lc) = LibCall::ALL.get((off / LIBCALL_STUB_STRIDE) as usize) else {
        return;
    };
    let reg = vec_reg(arch, 0);
    let mut v = [0u8; 16];
    match emu.reg_read_long(reg) {
        Ok(b) if b.len() == 16 => v.copy_from_slice(&b),
        _ => {
            emu.get_data_mut().hook_error = Some(format!(
                "libcall {}: could not read the argument register",
                lc.name()
            ));
            let _ = emu.emu_stop();
            return;
        }
    }
    let width = match lc {
        LibCall::CeilF32 | LibCall::FloorF32 | LibCall::TruncF32 | LibCall::NearestF32 => 4,
        LibCall::CeilF64 | LibCall::FloorF64 | LibCall::TruncF64 | LibCall::NearestF64 => 8,
    };
    let mut arg = [0u8; 8];
    arg[..width].copy_from_slice(&v[..width]);
    let r = libcall::eval(lc, u64::from_le_bytes(arg));
    v[..width].copy_from_slice(&r.to_le_bytes()[..width]);
    if emu.reg_write_long(reg, &v).is_err() {
        emu.get_data_mut().hook_error = Some(format!(
            "libcall {}: could not write the result register",
            lc.name()
        ));
        let _ = emu.emu_stop();
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::new();
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl Executor {
    /// A fresh executor for `arch` with the runtime pages, the stack and the hooks mapped.
    pub fn new(arch: Arch) -> Result<Self, ExecError> {
        let (ua, mode) = match arch {
            Arch::X86_64 => (UcArch::X86, Mode::MODE_64),
            Arch::Aarch64 => (UcArch::ARM64, Mode::LITTLE_ENDIAN),
        };
        let mut emu: Emu = Unicorn::new_with_data(ua, mode, HookState::default())
            .map_err(uc("create the emulator"))?;
        emu.mem_map(RUNTIME_CODE_BASE, PAGE_SIZE, Prot::READ | Prot::EXEC)
            .map_err(uc("map the runtime code page"))?;
        emu.mem_write(RUNTIME_CODE_BASE, &runtime_code_page(arch))
            .map_err(uc("write the runtime code page"))?;
        emu.mem_map(RUNTIME_DATA_BASE, PAGE_SIZE, Prot::READ)
            .map_err(uc("map the runtime data page"))?;
        emu.mem_write(STACK_LIMIT_ADDR, &STACK_LIMIT.to_le_bytes())
            .map_err(uc("write the stack limit"))?;
        emu.mem_map(
            STACK_TOP - STACK_CHUNK,
            STACK_CHUNK,
            Prot::READ | Prot::WRITE,
        )
        .map_err(uc("map the stack"))?;
        emu.get_data_mut().stack_low = STACK_TOP - STACK_CHUNK;

        let invalid = HookType::MEM_READ_UNMAPPED
            | HookType::MEM_WRITE_UNMAPPED
            | HookType::MEM_FETCH_UNMAPPED
            | HookType::MEM_READ_PROT
            | HookType::MEM_WRITE_PROT
            | HookType::MEM_FETCH_PROT;
        emu.add_mem_hook(invalid, 1, 0, |emu, ty, addr, size, _| {
            let write = matches!(ty, MemType::WRITE_UNMAPPED | MemType::WRITE_PROT);
            if grow_stack(emu, ty, addr) {
                return true;
            }
            let st = emu.get_data_mut();
            st.fault.get_or_insert(Fault {
                addr,
                size: size as u32,
                write,
            });
            false
        })
        .map_err(uc("add the memory-fault hook"))?;
        let stubs_end = RUNTIME_CODE_BASE + LibCall::ALL.len() as u64 * LIBCALL_STUB_STRIDE - 1;
        emu.add_code_hook(RUNTIME_CODE_BASE, stubs_end, move |emu, addr, _| {
            libcall_hook(emu, arch, addr)
        })
        .map_err(uc("add the libcall hook"))?;
        let host_stubs_end = HOST_STUB_BASE + u64::from(MAX_HOST_FUNCTIONS) * HOST_STUB_STRIDE - 1;
        emu.add_code_hook(HOST_STUB_BASE, host_stubs_end, move |emu, addr, _| {
            host_hook(emu, arch, addr)
        })
        .map_err(uc("add the host-function hook"))?;

        // The pristine register state.
        match arch {
            Arch::X86_64 => {
                for (i, &r) in X86_GPRS.iter().enumerate() {
                    emu.reg_write(r, gpr_pattern(i as u64))
                        .map_err(uc("initialize a general register"))?;
                }
            }
            Arch::Aarch64 => {
                for n in 0..=30u8 {
                    emu.reg_write(a64_x(n), gpr_pattern(u64::from(n)))
                        .map_err(uc("initialize a general register"))?;
                }
            }
        }
        let nvec = match arch {
            Arch::X86_64 => 16,
            Arch::Aarch64 => 32,
        };
        for n in 0..nvec {
            emu.reg_write_long(vec_reg(arch, n), &vec_pattern(n))
                .map_err(uc("initialize a vector register"))?;
        }
        let mut pristine = emu
            .context_alloc()
            .map_err(uc("allocate a register snapshot"))?;
        emu.context_save(&mut pristine)
            .map_err(uc("save the register snapshot"))?;
        Ok(Executor {
            emu,
            arch,
            pristine,
            loaded: None,
            code_mapped: Vec::new(),
            zeros: vec![0; STACK_CHUNK as usize],
        })
    }

    /// The instruction set this executor emulates.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// Map `image` at [`CODE_BASE`] (replacing the previous image) and resolve its
    /// relocations: each segment on its own pages, the padding between them unmapped.
    /// Loading the image that is already loaded does nothing. On error no image is loaded.
    pub fn load(&mut self, image: &CodeImage) -> Result<(), ExecError> {
        if image.arch != self.arch {
            return Err(ExecError::WrongArch {
                image: image.arch,
                executor: self.arch,
            });
        }
        if self.loaded.as_ref().is_some_and(|l| l.image == *image) {
            return Ok(());
        }
        self.loaded = None;
        let regions = check_segments(image)?;
        for f in &image.functions {
            if !image.segments.iter().any(|s| s.contains(f.offset)) {
                return Err(ExecError::FunctionOutOfBounds {
                    name: f.name.clone(),
                    offset: f.offset,
                    code_len: image.size,
                });
            }
        }
        if let Some(w) = image.traps.windows(2).find(|w| w[0].0 > w[1].0) {
            return Err(ExecError::TrapsUnsorted { offset: w[1].0 });
        }
        let mut segments = image.segments.clone();
        for r in &image.relocs {
            apply_reloc(&mut segments, image, r)?;
        }
        if regions != self.code_mapped {
            for &(a, l) in &self.code_mapped {
                self.emu
                    .mem_unmap(a, l)
                    .map_err(uc("unmap the previous code image"))?;
            }
            self.code_mapped.clear();
            for &(a, l) in &regions {
                self.emu
                    .mem_map(a, l, Prot::READ | Prot::EXEC)
                    .map_err(uc("map a code segment"))?;
                self.code_mapped.push((a, l));
            }
        }
        self.emu.get_data_mut().code_extent = page_up(image.size).unwrap_or(MAX_CODE_SIZE);
        for (seg, &(a, l)) in segments.iter().zip(&regions) {
            let start = CODE_BASE + u64::from(seg.offset);
            let end = start + seg.bytes.len() as u64;
            // Zero the page bytes around the segment (at most a page on each side).
            let head = (start - a) as usize;
            let tail = (a + l - end) as usize;
            self.emu
                .mem_write(a, &self.zeros[..head])
                .map_err(uc("clear a code segment's first page"))?;
            self.emu
                .mem_write(start, &seg.bytes)
                .map_err(uc("write a code segment"))?;
            self.emu
                .mem_write(end, &self.zeros[..tail])
                .map_err(uc("clear a code segment's last page"))?;
            // Translations of the previous image at the same addresses must not run again.
            self.emu
                .ctl_remove_cache(a, a + l)
                .map_err(uc("drop stale translations"))?;
        }
        let plans = image
            .functions
            .iter()
            .map(|f| abi::plan(self.arch, &f.signature))
            .collect();
        self.loaded = Some(Loaded {
            image: image.clone(),
            plans,
        });
        Ok(())
    }

    /// Call function `index` of the loaded image with `args`, the `heaps` mapped at their
    /// bases (their contents are copied in before and back after the call, whatever the
    /// outcome), running at most `fuel` instructions. No host functions ([`NoHost`]).
    pub fn call(
        &mut self,
        index: usize,
        args: &[DataValue],
        heaps: &mut [Heap],
        fuel: u64,
    ) -> Outcome {
        self.call_with_host(index, args, heaps, fuel, &mut NoHost)
    }

    /// [`Self::call`] with `host`'s functions at their stubs
    /// ([`super::host_function_address`]). The heaps are read back at the lengths the
    /// host left them. A panic of the host propagates out of this call (after the
    /// executor has cleaned up, so it stays usable).
    pub fn call_with_host(
        &mut self,
        index: usize,
        args: &[DataValue],
        heaps: &mut [Heap],
        fuel: u64,
        host: &mut dyn HostCalls,
    ) -> Outcome {
        let out = match self.call_inner(index, args, heaps, fuel, host) {
            Ok(o) => o,
            Err(e) => Outcome::Error(e),
        };
        let st = self.emu.get_data_mut();
        st.host = None;
        if let Some(p) = st.host_panic.take() {
            std::panic::resume_unwind(p);
        }
        out
    }

    fn call_inner(
        &mut self,
        index: usize,
        args: &[DataValue],
        heaps: &mut [Heap],
        fuel: u64,
        host: &mut dyn HostCalls,
    ) -> Result<Outcome, String> {
        let arch = self.arch;
        let loaded = self.loaded.as_ref().ok_or("no code image is loaded")?;
        let (func, plan) = match (loaded.image.functions.get(index), loaded.plans.get(index)) {
            (Some(f), Some(p)) => (f, p),
            _ => {
                return Err(format!(
                    "function index {index} out of range (the image has {})",
                    loaded.image.functions.len()
                ))
            }
        };
        let sig = &func.signature;
        if args.len() != sig.params.len() {
            return Err(format!(
                "`{}` takes {} arguments, {} given",
                func.name,
                sig.params.len(),
                args.len()
            ));
        }
        for (i, (a, &t)) in args.iter().zip(&sig.params).enumerate() {
            if a.ty() != t {
                return Err(format!(
                    "argument {i} of `{}` is {a} of type {}, expected {t}",
                    func.name,
                    a.ty()
                ));
            }
        }
        let entry = CODE_BASE + u64::from(func.offset);
        let code_len = loaded.image.size;
        let rets = &sig.returns;

        map_heaps(&mut self.emu, heaps, false)?;
        // (Normally done at the end of the previous call, unless that one failed midway.)
        shrink_stack(&mut self.emu)?;
        let emu = &mut self.emu;
        emu.context_restore(&self.pristine)
            .map_err(|e| format!("could not restore the register snapshot: {e:?}"))?;
        emu.mem_write(STACK_TOP - STACK_CHUNK, &self.zeros)
            .map_err(|e| format!("could not clear the stack: {e:?}"))?;

        // Stack: [return area][stack arguments] from the top down.
        let ret_area = STACK_TOP - u64::from(plan.ret_area_bytes);
        let sp_call = ret_area - u64::from(plan.stack_bytes);
        // They are written before the call, so they must fit the chunk that is mapped.
        if STACK_TOP - sp_call + 16 > STACK_CHUNK {
            return Err(format!(
                "{} bytes of stack arguments and return area do not fit the first {STACK_CHUNK} bytes of the stack",
                plan.stack_bytes + plan.ret_area_bytes
            ));
        }
        let w = |r: Result<(), uc_error>, what: &str| {
            r.map_err(|e| format!("could not write {what}: {e:?}"))
        };
        for (i, (a, loc)) in args.iter().zip(&plan.args).enumerate() {
            let bytes = a.to_le_bytes();
            match *loc {
                Loc::Int(n) => {
                    let reg = int_arg_reg(arch, n);
                    let bits = a.scalar_bits().unwrap_or(0);
                    let v = bits | (gpr_pattern(0) & !a.ty().int_mask());
                    w(emu.reg_write(reg, v), "an argument register")?;
                }
                Loc::Vec(n) => {
                    let mut v = vec_pattern(n);
                    v[..bytes.len()].copy_from_slice(&bytes);
                    w(
                        emu.reg_write_long(vec_reg(arch, n), &v),
                        "a vector argument register",
                    )?;
                }
                Loc::Mem(off) => {
                    let mut v = [0u8; 16];
                    let slot = if a.ty().is_vector() { 16 } else { 8 };
                    v[..8].copy_from_slice(&gpr_pattern(i as u64).to_le_bytes());
                    v[..bytes.len()].copy_from_slice(&bytes);
                    w(
                        emu.mem_write(sp_call + u64::from(off), &v[..slot]),
                        "a stack argument",
                    )?;
                }
            }
        }
        if plan.has_ret_area() {
            let reg = match arch {
                Arch::X86_64 => RegisterX86::RDI.into(),
                Arch::Aarch64 => a64_x(8),
            };
            w(emu.reg_write(reg, ret_area), "the return-area pointer")?;
        }
        let sp_entry = match arch {
            Arch::X86_64 => {
                let sp = sp_call - 8;
                w(
                    emu.mem_write(sp, &RETURN_SENTINEL.to_le_bytes()),
                    "the return address",
                )?;
                w(emu.reg_write(RegisterX86::RSP, sp), "rsp")?;
                sp
            }
            Arch::Aarch64 => {
                w(emu.reg_write(RegisterARM64::SP, sp_call), "sp")?;
                w(emu.reg_write(a64_x(30), RETURN_SENTINEL), "x30")?;
                sp_call
            }
        };
        {
            let st = emu.get_data_mut();
            st.fault = None;
            st.hook_error = None;
            st.host_outcome = None;
            st.host_panic = None;
        }

        let outcome = if fuel == 0 {
            Outcome::OutOfFuel
        } else {
            let count = usize::try_from(fuel).unwrap_or(usize::MAX);
            // `host` and `heaps` are not used until the link is gone again (see `HostLink`).
            emu.get_data_mut().host = Some(HostLink::new(host, heaps));
            let res = emu.emu_start(entry, RETURN_SENTINEL, 0, count);
            emu.get_data_mut().host = None;
            let pc = emu
                .pc_read()
                .map_err(|e| format!("could not read the PC: {e:?}"))?;
            let st = emu.get_data_mut();
            if let Some(f) = st.fault.take() {
                Outcome::MemoryFault {
                    addr: f.addr,
                    size: f.size,
                    write: f.write,
                }
            } else if let Some(e) = st.hook_error.take() {
                Outcome::Error(e)
            } else if let Some(o) = st.host_outcome.take() {
                o
            } else if st.host_panic.is_some() {
                Outcome::Error("a host function panicked".to_string())
            } else {
                match res {
                    Ok(()) if pc == RETURN_SENTINEL => {
                        match check_callee_saved(emu, arch, sp_entry) {
                            Some(e) => Outcome::Error(format!("`{}`: {e}", func.name)),
                            None => read_results(emu, arch, plan, rets, ret_area)?,
                        }
                    }
                    Ok(()) => Outcome::OutOfFuel,
                    Err(e @ (uc_error::INSN_INVALID | uc_error::EXCEPTION)) => {
                        let trap = pc
                            .checked_sub(CODE_BASE)
                            .filter(|&o| o < code_len)
                            .and_then(|o| loaded.image.trap_at(u32::try_from(o).ok()?));
                        match trap {
                            Some(code) => Outcome::Trapped(code),
                            None => {
                                let mut b = [0u8; 16];
                                let n = match arch {
                                    Arch::X86_64 => 16,
                                    Arch::Aarch64 => 4,
                                };
                                let bytes = match emu.mem_read(pc, &mut b[..n]) {
                                    Ok(()) => hex(&b[..n]),
                                    Err(_) => "unreadable".to_string(),
                                };
                                Outcome::Error(format!(
                                    "{} at pc {pc:#x}, which is not a trap site (bytes: {bytes})",
                                    if e == uc_error::INSN_INVALID {
                                        "invalid instruction"
                                    } else {
                                        "CPU exception"
                                    }
                                ))
                            }
                        }
                    }
                    Err(e) => Outcome::Error(format!("emulation failed at pc {pc:#x}: {e:?}")),
                }
            }
        };

        shrink_stack(&mut self.emu)?;
        // At the lengths the host functions left them (mapped accordingly, unless mapping
        // them failed: then the outcome is already that error, which is kept).
        for h in heaps.iter_mut() {
            if !h.bytes.is_empty() {
                let r = self.emu.mem_read(h.base, &mut h.bytes);
                if let (Err(e), false) = (r, matches!(outcome, Outcome::Error(_))) {
                    return Err(format!(
                        "could not read back the heap at {:#x}: {e:?}",
                        h.base
                    ));
                }
            }
        }
        Ok(outcome)
    }
}

/// The fault hook's first step: an unmapped access to the part of the stack not mapped
/// yet maps the chunks down to it (zero-filled) and lets the access retry.
fn grow_stack(emu: &mut Unicorn<'_, HookState>, ty: MemType, addr: u64) -> bool {
    let low = emu.get_data().stack_low;
    if !matches!(ty, MemType::READ_UNMAPPED | MemType::WRITE_UNMAPPED)
        || !(STACK_LOW..low).contains(&addr)
    {
        return false;
    }
    let new_low = addr - (addr - STACK_LOW) % STACK_CHUNK;
    if emu
        .mem_map(new_low, low - new_low, Prot::READ | Prot::WRITE)
        .is_err()
    {
        return false;
    }
    emu.get_data_mut().stack_low = new_low;
    true
}

/// After a call: unmap the stack chunks mapped on demand, so that the next call again
/// starts with one zeroed chunk.
fn shrink_stack(emu: &mut Emu) -> Result<(), String> {
    let low = emu.get_data().stack_low;
    let keep = STACK_TOP - STACK_CHUNK;
    if low < keep {
        emu.mem_unmap(low, keep - low)
            .map_err(|e| format!("could not unmap the grown stack: {e:?}"))?;
        emu.get_data_mut().stack_low = keep;
    }
    Ok(())
}

/// After a return: is every callee-saved register and the stack pointer intact? `Some`
/// names the first that is not.
fn check_callee_saved(emu: &Emu, arch: Arch, sp_entry: u64) -> Option<String> {
    let read = |r: i32| emu.reg_read(r).ok();
    match arch {
        Arch::X86_64 => {
            for &r in &X86_CALLEE_SAVED {
                let want = pattern_of(arch, r.into());
                let got = read(r.into())?;
                if got != want {
                    return Some(format!(
                        "callee-saved register {r:?} changed from {want:#x} to {got:#x}"
                    ));
                }
            }
            let sp = read(RegisterX86::RSP.into())?;
            (sp != sp_entry + 8).then(|| {
                format!(
                    "rsp is {sp:#x} after the return, expected {:#x}",
                    sp_entry + 8
                )
            })
        }
        Arch::Aarch64 => {
            for n in 19..=29u8 {
                let want = gpr_pattern(u64::from(n));
                let got = read(a64_x(n))?;
                if got != want {
                    return Some(format!(
                        "callee-saved register x{n} changed from {want:#x} to {got:#x}"
                    ));
                }
            }
            for n in 8..=15u8 {
                let want = u64::from_le_bytes(vec_pattern(n)[..8].try_into().ok()?);
                let got = read(i32::from(RegisterARM64::D0) + i32::from(n))?;
                if got != want {
                    return Some(format!(
                        "callee-saved register d{n} changed from {want:#x} to {got:#x}"
                    ));
                }
            }
            let sp = read(RegisterARM64::SP.into())?;
            (sp != sp_entry)
                .then(|| format!("sp is {sp:#x} after the return, expected {sp_entry:#x}"))
        }
    }
}

/// Read the results of a returned call.
fn read_results(
    emu: &Emu,
    arch: Arch,
    plan: &Plan,
    rets: &[Type],
    ret_area: u64,
) -> Result<Outcome, String> {
    let mut out = Vec::with_capacity(rets.len());
    for (&ty, loc) in rets.iter().zip(&plan.rets) {
        let v = read_loc(emu, arch, ty, *loc, int_ret_reg, ret_area);
        out.push(v.ok_or_else(|| format!("could not read a result of type {ty} from {loc:?}"))?);
    }
    Ok(Outcome::Returned(out))
}

/// The value of type `ty` at `loc`: integer register `n` is `int_reg(arch, n)`, memory
/// slots are at `mem_base + offset`.
fn read_loc(
    emu: &Unicorn<'_, HookState>,
    arch: Arch,
    ty: Type,
    loc: Loc,
    int_reg: fn(Arch, u8) -> i32,
    mem_base: u64,
) -> Option<DataValue> {
    let n = ty.bytes() as usize;
    match loc {
        Loc::Int(r) => emu
            .reg_read(int_reg(arch, r))
            .ok()
            .and_then(|bits| DataValue::from_int(ty, bits)),
        Loc::Vec(r) => emu
            .reg_read_long(vec_reg(arch, r))
            .ok()
            .and_then(|b| DataValue::from_le_bytes(ty, b.get(..n)?)),
        Loc::Mem(off) => {
            let mut b = [0u8; 16];
            emu.mem_read(mem_base.wrapping_add(u64::from(off)), &mut b[..n])
                .ok()
                .and_then(|()| DataValue::from_le_bytes(ty, &b[..n]))
        }
    }
}

/// Check the image's size and segments; their page-rounded mappings `(address, length)`.
fn check_segments(image: &CodeImage) -> Result<Vec<(u64, u64)>, ExecError> {
    if image.size == 0 || image.size > MAX_CODE_SIZE {
        return Err(ExecError::CodeSize { size: image.size });
    }
    let mut regions: Vec<(u64, u64)> = Vec::with_capacity(image.segments.len());
    let bad = |offset, problem| Err(ExecError::Segment { offset, problem });
    for s in &image.segments {
        if s.bytes.is_empty() {
            return bad(s.offset, "empty segment");
        }
        if s.end() > image.size {
            return bad(s.offset, "the segment ends beyond the image size");
        }
        let start = CODE_BASE + u64::from(s.offset);
        let a = start - start % PAGE_SIZE;
        let Some(e) = page_up(CODE_BASE + s.end()) else {
            return bad(s.offset, "the segment ends beyond the address space");
        };
        if let Some(&(pa, pl)) = regions.last() {
            if a < pa + pl {
                return bad(
                    s.offset,
                    "segments must be sorted and must not share a page",
                );
            }
        }
        regions.push((a, e - a));
    }
    if regions.is_empty() {
        return Err(ExecError::CodeSize { size: 0 });
    }
    Ok(regions)
}

/// Patch one relocation into the segment holding its field (mapped at [`CODE_BASE`]).
fn apply_reloc(
    segments: &mut [TextSegment],
    image: &CodeImage,
    r: &TextReloc,
) -> Result<(), ExecError> {
    let err = |problem: String| ExecError::Reloc {
        offset: r.offset,
        kind: r.kind,
        target: r.target,
        problem,
    };
    let s = image
        .target_address(r.target)
        .ok_or_else(|| err("the target does not exist in this image".to_string()))?;
    let p = CODE_BASE + u64::from(r.offset);
    let seg = segments
        .iter_mut()
        .find(|seg| seg.contains(r.offset))
        .ok_or_else(|| err("the field is not inside a code segment".to_string()))?;
    let local = r.offset - seg.offset;
    kiln::module::apply_reloc(image.arch, &mut seg.bytes, local, r.kind, p, s, r.addend).map_err(
        |e| {
            err(match e {
                PatchError::OutOfRange(v) => format!("value {v:#x} does not fit"),
                PatchError::Malformed => format!(
                    "the field does not fit its {}-byte segment or the kind is not for {}",
                    seg.bytes.len(),
                    image.arch
                ),
            })
        },
    )
}

/// The addresses (inclusive) the guard hook must watch for `guards`: accesses are at most
/// 16 bytes, so one starting 15 bytes before a guard can still touch it.
fn guard_hook_range(guards: &[(u64, u64)]) -> Option<(u64, u64)> {
    let lo = guards.iter().map(|g| g.0).min()?;
    let hi = guards.iter().map(|g| g.1).max()?;
    Some((lo.saturating_sub(15), hi - 1))
}

fn add_guard_hook(
    emu: &mut Unicorn<'_, HookState>,
    range: (u64, u64),
) -> Result<GuardHook, String> {
    let id = emu
        .add_mem_hook(
            HookType::MEM_READ | HookType::MEM_WRITE,
            range.0,
            range.1,
            guard_hook_fn,
        )
        .map_err(|e| format!("could not add the heap guard hook: {e:?}"))?;
    Ok(GuardHook { id, range })
}

/// Map `heaps` (reusing the mappings when the layout is unchanged), copy their bytes in,
/// and install the guard hook for bytes mapped only because of page rounding.
///
/// `in_hook`: called from the host-stub hook after a host call, with the same number of
/// heaps as the `map_heaps` before the run: a heap whose length changed gets pages mapped
/// or unmapped at its end, a heap the host moved is unmapped and mapped at its new base,
/// and the guard hook is replaced without flushing anything (see the invariants in the
/// module docs).
fn map_heaps(
    emu: &mut Unicorn<'_, HookState>,
    heaps: &[Heap],
    in_hook: bool,
) -> Result<(), String> {
    let code_extent = emu.get_data().code_extent;
    let mut want = Vec::with_capacity(heaps.len());
    let mut guards = Vec::new();
    for h in heaps {
        let len = h.bytes.len() as u64;
        let end = h
            .base
            .checked_add(len)
            .ok_or_else(|| format!("heap at {:#x} wraps around the address space", h.base))?;
        let start = h.base - h.base % PAGE_SIZE;
        // A heap ending on a page boundary gets one more page of guard bytes, so that an
        // access straddling its end is reported at its own address (unicorn reports an
        // unmapped access at its first unmapped byte).
        let mend = end
            .checked_add(1)
            .and_then(page_up)
            .ok_or_else(|| format!("heap at {:#x} wraps around the address space", h.base))?;
        if start < h.base {
            guards.push((start, h.base));
        }
        if end < mend {
            guards.push((end, mend));
        }
        want.push((start, mend - start));
    }
    // Heaps must not overlap each other or the executor's own regions.
    let fixed = [
        ("the runtime code page", RUNTIME_CODE_BASE, PAGE_SIZE),
        ("the runtime data page", RUNTIME_DATA_BASE, PAGE_SIZE),
        ("the code image", CODE_BASE, code_extent.max(PAGE_SIZE)),
        ("the stack", STACK_LOW - PAGE_SIZE, STACK_SIZE + PAGE_SIZE),
    ];
    for (i, &(s, l)) in want.iter().enumerate() {
        for &(name, fs, fl) in &fixed {
            if s < fs + fl && fs < s + l {
                return Err(format!(
                    "the heap mapped at {s:#x}..{:#x} overlaps {name}",
                    s + l
                ));
            }
        }
        for &(s2, l2) in &want[..i] {
            if s < s2 + l2 && s2 < s + l {
                return Err(format!(
                    "heaps mapped at {s:#x} and {s2:#x} share a page (heaps must be page-separated)"
                ));
            }
        }
    }
    if emu.get_data().heaps_mapped != want {
        if in_hook {
            resize_heap_mappings(emu, &want)?;
        } else {
            while let Some(&(s, l)) = emu.get_data().heaps_mapped.last() {
                if l > 0 {
                    emu.mem_unmap(s, l)
                        .map_err(|e| format!("could not unmap the heap at {s:#x}: {e:?}"))?;
                }
                emu.get_data_mut().heaps_mapped.pop();
            }
            for &(s, l) in &want {
                emu.mem_map(s, l, Prot::READ | Prot::WRITE)
                    .map_err(|e| format!("could not map a heap at {s:#x} ({l} bytes): {e:?}"))?;
                emu.get_data_mut().heaps_mapped.push((s, l));
            }
        }
    }
    for h in heaps {
        if !h.bytes.is_empty() {
            emu.mem_write(h.base, &h.bytes)
                .map_err(|e| format!("could not write the heap at {:#x}: {e:?}", h.base))?;
        }
    }
    if emu.get_data().guards != guards {
        let range = guard_hook_range(&guards);
        let installed = emu.get_data().guard_hook;
        if installed.map(|g| g.range) != range {
            if in_hook {
                // A memory hook must exist throughout: code translated with unicorn's slow
                // path for loads and stores then stays valid. (A hook removed inside a hook
                // is only marked deleted until the emulation ends.)
                let (Some(range), Some(old)) = (range, installed) else {
                    return Err("a host call cannot add or remove every heap".to_string());
                };
                let new = add_guard_hook(emu, range)?;
                emu.get_data_mut().guard_hook = Some(new);
                emu.remove_hook(old.id)
                    .map_err(|e| format!("could not remove the heap guard hook: {e:?}"))?;
            } else {
                if let Some(old) = emu.get_data_mut().guard_hook.take() {
                    emu.remove_hook(old.id)
                        .map_err(|e| format!("could not remove the heap guard hook: {e:?}"))?;
                }
                if let Some(range) = range {
                    let new = add_guard_hook(emu, range)?;
                    emu.get_data_mut().guard_hook = Some(new);
                }
            }
        }
        emu.get_data_mut().guards = guards;
        if !in_hook {
            // Memory hooks change the generated code: drop every translation and TLB entry.
            emu.ctl_flush_tb()
                .map_err(|e| format!("could not flush translations: {e:?}"))?;
            emu.ctl_flush_tlb()
                .map_err(|e| format!("could not flush the TLB: {e:?}"))?;
        }
    }
    Ok(())
}

/// In a host call: make each heap mapping `want[i]` by mapping or unmapping pages at the
/// end of the existing one, or, for a heap the host moved, by unmapping the old range and
/// mapping the new one (a host never adds or removes heaps; [`map_heaps`] has checked
/// that the new ranges do not overlap). Old ranges are all unmapped before any new one is
/// mapped, so heaps may move into each other's old places.
fn resize_heap_mappings(
    emu: &mut Unicorn<'_, HookState>,
    want: &[(u64, u64)],
) -> Result<(), String> {
    if emu.get_data().heaps_mapped.len() != want.len() {
        return Err("the number of heaps changed during a host call".to_string());
    }
    for (i, &(s, _)) in want.iter().enumerate() {
        let (s1, l1) = emu.get_data().heaps_mapped[i];
        if s1 != s {
            emu.mem_unmap(s1, l1)
                .map_err(|e| format!("could not unmap the moved heap at {s1:#x}: {e:?}"))?;
            emu.get_data_mut().heaps_mapped[i].1 = 0;
        }
    }
    for (i, &(s, l2)) in want.iter().enumerate() {
        let (s1, l1) = emu.get_data().heaps_mapped[i];
        if s1 != s {
            emu.mem_map(s, l2, Prot::READ | Prot::WRITE).map_err(|e| {
                format!("could not map the heap moved from {s1:#x} to {s:#x} ({l2} bytes): {e:?}")
            })?;
            emu.get_data_mut().heaps_mapped[i] = (s, l2);
            continue;
        }
        if l2 > l1 {
            emu.mem_map(s + l1, l2 - l1, Prot::READ | Prot::WRITE)
                .map_err(|e| {
                    format!(
                        "could not grow the heap at {s:#x} from {l1} to {l2} mapped bytes: {e:?}"
                    )
                })?;
        } else if l2 < l1 {
            emu.mem_unmap(s + l2, l1 - l2).map_err(|e| {
                format!("could not shrink the heap at {s:#x} from {l1} to {l2} mapped bytes: {e:?}")
            })?;
        }
        emu.get_data_mut().heaps_mapped[i].1 = l2;
    }
    Ok(())
}

/// Runs before each host stub's `ret`: call host function `n` (see the module docs of
/// `exec`). Whatever stops the run is recorded in the hook state.
fn host_hook(emu: &mut Unicorn<'_, HookState>, arch: Arch, addr: u64) {
    let off = addr.wrapping_sub(HOST_STUB_BASE);
    if !off.is_multiple_of(HOST_STUB_STRIDE)
        || off / HOST_STUB_STRIDE >= u64::from(MAX_HOST_FUNCTIONS)
    {
        return;
    }
    let n = (off / HOST_STUB_STRIDE) as u32;
    if let Err(stop) = host_call(emu, arch, n) {
        let st = emu.get_data_mut();
        match stop {
            HostStop::Error(e) => st.hook_error = Some(format!("host function {n}: {e}")),
            HostStop::Outcome(o) => st.host_outcome = Some(o),
            HostStop::Panic(p) => st.host_panic = Some(p),
        }
        let _ = emu.emu_stop();
    }
}

/// Why a host call ends the run.
enum HostStop {
    /// The call could not be made or its results not delivered.
    Error(String),
    /// The host returned `Err(outcome)`.
    Outcome(Outcome),
    /// The host panicked (resumed after the run).
    Panic(Box<dyn Any + Send>),
}

impl From<String> for HostStop {
    fn from(e: String) -> Self {
        HostStop::Error(e)
    }
}

/// The body of [`host_hook`].
fn host_call(emu: &mut Unicorn<'_, HookState>, arch: Arch, n: u32) -> Result<(), HostStop> {
    let Some(link) = emu.get_data().host else {
        return Err("called outside a run".to_string().into());
    };
    // SAFETY: a hook runs inside the `emu_start` the link was made for, and this is the
    // only use of the link during this hook (see `HostLink`).
    let (host, heaps) = unsafe { link.get() };
    let sig = host
        .signature(n)
        .cloned()
        .ok_or_else(|| "there is no such host function".to_string())?;
    let plan = abi::plan(arch, &sig);

    // The arguments, as the calling convention placed them for the stub.
    let sp = match arch {
        Arch::X86_64 => emu.reg_read(RegisterX86::RSP),
        Arch::Aarch64 => emu.reg_read(RegisterARM64::SP),
    }
    .map_err(|e| format!("could not read the stack pointer: {e:?}"))?;
    // On x86_64 the call pushed the return address.
    let stack_args = match arch {
        Arch::X86_64 => sp.wrapping_add(8),
        Arch::Aarch64 => sp,
    };
    let mut args = Vec::with_capacity(sig.params.len());
    for (&ty, loc) in sig.params.iter().zip(&plan.args) {
        let v = read_loc(emu, arch, ty, *loc, int_arg_reg, stack_args);
        args.push(
            v.ok_or_else(|| format!("could not read an argument of type {ty} from {loc:?}"))?,
        );
    }
    let ret_area = if plan.has_ret_area() {
        let reg = match arch {
            Arch::X86_64 => RegisterX86::RDI.into(),
            Arch::Aarch64 => a64_x(8),
        };
        emu.reg_read(reg)
            .map_err(|e| format!("could not read the return-area pointer: {e:?}"))?
    } else {
        0
    };

    let result = if host.uses_heaps(n) {
        // The heaps as the code left them.
        for h in heaps.iter_mut() {
            if !h.bytes.is_empty() {
                emu.mem_read(h.base, &mut h.bytes)
                    .map_err(|e| format!("could not read the heap at {:#x}: {e:?}", h.base))?;
            }
        }
        let result = match catch_unwind(AssertUnwindSafe(|| host.call(n, &args, heaps))) {
            Ok(r) => r,
            Err(p) => return Err(HostStop::Panic(p)),
        };
        // The heaps as the host left them (at their new bases when it moved one), also
        // when it ends the run: they are read back after it.
        map_heaps(emu, heaps, true)?;
        result
    } else {
        // The host does not look at the heaps (`HostCalls::uses_heaps`): it gets none, and
        // the emulator's copies stay authoritative.
        match catch_unwind(AssertUnwindSafe(|| host.call(n, &args, &mut []))) {
            Ok(r) => r,
            Err(p) => return Err(HostStop::Panic(p)),
        }
    };
    let results = result.map_err(HostStop::Outcome)?;

    if results.len() != sig.returns.len()
        || results.iter().zip(&sig.returns).any(|(v, t)| v.ty() != *t)
    {
        return Err(format!(
            "returned ({}), which does not match {sig}",
            results
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into());
    }
    for (v, loc) in results.iter().zip(&plan.rets) {
        let bytes = v.to_le_bytes();
        let mut b = [0u8; 16];
        b[..bytes.len()].copy_from_slice(&bytes);
        let r = match *loc {
            Loc::Int(r) => emu.reg_write(int_ret_reg(arch, r), v.scalar_bits().unwrap_or(0)),
            Loc::Vec(r) => emu.reg_write_long(vec_reg(arch, r), &b),
            Loc::Mem(off) => {
                let slot = if v.ty().is_vector() { 16 } else { 8 };
                let at = ret_area.wrapping_add(u64::from(off));
                // The caller's frame may lie in a stack chunk not mapped yet.
                grow_stack(emu, MemType::WRITE_UNMAPPED, at);
                emu.mem_write(at, &b[..slot])
            }
        };
        r.map_err(|e| format!("could not write the result {v} to {loc:?}: {e:?}"))?;
    }
    Ok(())
}

/// Reports an access that touches a heap's guard bytes.
fn guard_hook_fn(
    emu: &mut Unicorn<'_, HookState>,
    ty: MemType,
    addr: u64,
    size: usize,
    _value: i64,
) -> bool {
    let end = addr.saturating_add(size as u64);
    let st = emu.get_data_mut();
    if st.guards.iter().any(|&(s, e)| addr < e && s < end) {
        st.fault.get_or_insert(Fault {
            addr,
            size: size as u32,
            write: ty == MemType::WRITE,
        });
        let _ = emu.emu_stop();
    }
    true
}
