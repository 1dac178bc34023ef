//! [`Store`]: any number of Wasm instances on one engine, linked to each other — the
//! runtime behind `kiln wast` and every module test. One implementation for all engines:
//! the interpreter runs the translated IR, x86_64 and AArch64 run Kiln's machine code under
//! emulation; instance state lives in [`Heap`]s at the same addresses on every engine, and
//! the runtime builtins ([`Runtime`], a [`HostCalls`]) work on those heaps.
//!
//! # Address space
//!
//! Every instance's vmctx lives in one heap, the *vmctx arena* at [`ARENA_BASE`] (one heap
//! for all of them keeps the per-call work of the engines independent of how many
//! instances a script creates). Instance `k`'s memory and tables live in its own region
//! `ARENA_BASE + (k + 1) * REGION_STRIDE`:
//!
//! | offset in the region | what |
//! |---|---|
//! | [`MEMORY_OFFSET`]` + s * `[`MEMORY_SLOT_STRIDE`] | its defined linear memory, in slot `s` (current size) |
//! | [`TABLE_OFFSET`]` + t * `[`TABLE_STRIDE`]` + s * `[`TABLE_SLOT_STRIDE`] | its defined table `t` (8 bytes per element), in slot `s` |
//!
//! A memory starts in slot 0 and moves to the next of [`MEMORY_SLOTS`] slots (round
//! robin) on every `memory.grow` that changes its size, as in a runtime that reserves no
//! address space beyond a memory's current size: code that keeps using a memory base it
//! loaded before a call that may grow memory then reads unmapped bytes (a fault) on every
//! engine, instead of the same bytes as in a runtime that grows memories in place. Tables
//! move the same way on every `table.grow` that changes their size ([`TABLE_SLOTS`]).
//!
//! Code: the interpreter's functions are numbered in the order modules were instantiated
//! (IR names are moved to namespace `k + 1` so that module-local calls stay module-local);
//! the emulated engines link every module's text section into one image, each module on
//! its own pages.
//!
//! # Linking
//!
//! Imports resolve against the registered names ([`Store::register`]; every store provides
//! `spectest`, instantiated when a module first imports from it). Functions are shared by copying the exporter's `FuncRef`;
//! memories, tables and globals by pointing the importer's vmctx at the exporter's
//! definition, so growth and writes are seen by every instance. Import types are checked
//! as the spec says (function types equal; table and memory limits by subtyping with the
//! exporter's current size; global types and mutability equal), otherwise
//! [`InstanceError::Unlinkable`].
//!
//! Instantiation follows Wasm 2.0: globals, then active element segments, then active
//! data segments, in order, each checked as a whole before it is written; the first one
//! out of bounds traps and the writes before it stay (a failed instance's functions stay
//! callable through tables it wrote to); then the start function.
//!
//! Invariants: `heaps` holds every instance's vmctx, defined memory and defined tables;
//! each memory's and table's size in its definition equals its heap's length, and its
//! base in its definition equals its heap's base; a `FuncRef`
//! code address always names a function of the store; nothing here panics on any module.

use super::Limits;
use crate::engine::{EngineKind, EngineSettings};
use crate::exec::{CodeImage, Executor, FunctionSymbol, TextSegment, CODE_BASE};
use crate::heap::Heap;
use crate::host::HostCalls;
use crate::interp::{Interpreter, FUNC_ADDR_BASE};
use crate::outcome::Outcome;
use crate::value::DataValue;
use kiln::ir::{Function, Signature, TrapCode, UserExternalName, UserFuncName};
use kiln::module::{compile_module, translate_module, ModuleOptions, TextReloc, TextRelocTarget};
use kiln::wasm::info::{ConstExpr, ElemMode, EntityIndex, FuncType, ModuleInfo};
use kiln::wasm::vmctx::{self, Builtin, VmOffsets, WASM_PAGE_SIZE};
use kiln::wasm::WasmType;
use kiln::Compiler;
use std::collections::HashMap;

/// The vmctx arena (and the start of the region space).
pub const ARENA_BASE: u64 = 0x20_0000_0000;
/// Distance between instance regions.
pub const REGION_STRIDE: u64 = 0x10_0000_0000;
/// Offset of the defined memory's first slot in a region.
pub const MEMORY_OFFSET: u64 = 0x1_0000_0000;
/// Distance between a memory's slots: room for [`MAX_MEMORY_PAGES`] pages and the
/// emulator's guard page.
pub const MEMORY_SLOT_STRIDE: u64 = 0x2000_0000;
/// How many slots a memory moves through (they end below [`TABLE_OFFSET`]).
pub const MEMORY_SLOTS: u64 = (TABLE_OFFSET - MEMORY_OFFSET) / MEMORY_SLOT_STRIDE;
const _: () = assert!(
    MAX_MEMORY_PAGES as u64 * WASM_PAGE_SIZE + 0x1_0000 <= MEMORY_SLOT_STRIDE && MEMORY_SLOTS > 1
);
const _: () =
    assert!(MAX_TABLE_ELEMS as u64 * 8 + 0x1_0000 <= TABLE_SLOT_STRIDE && TABLE_SLOTS > 1);
/// Offset of table 0 in a region.
pub const TABLE_OFFSET: u64 = 0x2_0000_0000;
/// Distance between tables.
pub const TABLE_STRIDE: u64 = 0x1000_0000;
/// Distance between a table's slots: room for [`MAX_TABLE_ELEMS`] elements and the
/// emulator's guard page.
pub const TABLE_SLOT_STRIDE: u64 = 0x200_0000;
/// How many slots a table moves through (they end before the next table's).
pub const TABLE_SLOTS: u64 = TABLE_STRIDE / TABLE_SLOT_STRIDE;
/// Most instances a store holds (the regions must stay below the emulator's stack).
pub const MAX_INSTANCES: usize = 1500;
/// Largest memory (pages) an instance may grow to: 256 MiB, since every call copies the
/// heaps in and out of the emulator.
pub const MAX_MEMORY_PAGES: u32 = 4096;
/// Largest table (elements).
pub const MAX_TABLE_ELEMS: u32 = 1 << 20;
/// The default (and largest) growth caps.
pub const DEFAULT_LIMITS: Limits = Limits {
    memory_pages: MAX_MEMORY_PAGES,
    table_elements: MAX_TABLE_ELEMS,
};
/// Default instruction budget per invocation.
pub const DEFAULT_FUEL: u64 = 1_000_000_000;

/// The standard `spectest` module every store provides (instantiated on first import).
const SPECTEST: &str = r#"(module
  (global (export "global_i32") i32 (i32.const 666))
  (global (export "global_i64") i64 (i64.const 666))
  (global (export "global_f32") f32 (f32.const 666.6))
  (global (export "global_f64") f64 (f64.const 666.6))
  (table (export "table") 10 20 funcref)
  (memory (export "memory") 1 2)
  (func (export "print"))
  (func (export "print_i32") (param i32))
  (func (export "print_i64") (param i64))
  (func (export "print_f32") (param f32))
  (func (export "print_f64") (param f64))
  (func (export "print_i32_f32") (param i32 f32))
  (func (export "print_f64_f64") (param f64 f64)))"#;

/// Why an instance could not be created.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// Decoding, validation or compilation failed.
    #[error(transparent)]
    Module(#[from] kiln::module::ModuleError),
    /// The engine itself failed (a harness problem).
    #[error("engine: {0}")]
    Engine(String),
    /// Something this runtime does not provide.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An import is unknown or has an incompatible type.
    #[error("unlinkable: {0}")]
    Unlinkable(String),
    /// Instantiation trapped (segment out of bounds, or the start function).
    #[error("instantiation trapped: {0}")]
    Trap(Outcome),
}

/// An instance of a [`Store`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct InstanceId(pub usize);

/// A memory as an instance sees it.
#[derive(Copy, Clone, Debug)]
struct MemoryLoc {
    /// The heap holding the bytes.
    heap: usize,
    /// The heap holding the `{base, size}` definition, and the definition's offset in it.
    def_heap: usize,
    def_off: u64,
    /// Maximum pages.
    max: u32,
    /// Declared maximum, for import checks.
    declared_max: Option<u32>,
    /// Address of the memory's slot 0 (it moves through [`MEMORY_SLOTS`] slots).
    slot0: u64,
}

/// A table as an instance sees it.
#[derive(Copy, Clone, Debug)]
struct TableLoc {
    heap: usize,
    def_heap: usize,
    def_off: u64,
    max: u32,
    declared_max: Option<u32>,
    elem: WasmType,
    /// Address of the table's slot 0 (it moves through [`TABLE_SLOTS`] slots).
    slot0: u64,
}

struct InstanceData {
    info: ModuleInfo,
    offsets: VmOffsets,
    vmctx: u64,
    memory: Option<MemoryLoc>,
    tables: Vec<TableLoc>,
    /// Address of each global's value (imported ones: the exporter's).
    globals: Vec<u64>,
    datas: Vec<Option<Vec<u8>>>,
    elems: Vec<Option<Vec<u64>>>,
}

/// The runtime builtins, and the instance facts they need.
pub struct Runtime {
    instances: Vec<InstanceData>,
    signatures: Vec<Signature>,
}

enum Code {
    Interp(Vec<Function>),
    Native {
        compiler: Box<dyn Compiler>,
        executor: PooledExecutor,
        image: CodeImage,
        loaded: bool,
    },
}

thread_local! {
    /// Emulators of stores dropped on this thread, for the next stores to reuse (creating
    /// a unicorn instance costs more than compiling a small module). Emulators are `!Send`.
    static SPARE_EXECUTORS: std::cell::RefCell<Vec<Executor>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Most spare emulators kept per thread.
const MAX_SPARE_EXECUTORS: usize = 4;

/// An emulator taken from this thread's spares (or new), returned to them on drop. A reused
/// emulator is in the state its last call left (`Executor::load` and every call reset what
/// a call depends on: the code image, stale translations, heap mappings, registers).
struct PooledExecutor(Option<Box<Executor>>);

impl PooledExecutor {
    fn take(arch: kiln::Arch) -> Result<PooledExecutor, crate::exec::ExecError> {
        let spare = SPARE_EXECUTORS.with(|s| {
            let mut s = s.borrow_mut();
            let i = s.iter().position(|e| e.arch() == arch)?;
            Some(s.swap_remove(i))
        });
        match spare {
            Some(e) => Ok(PooledExecutor(Some(Box::new(e)))),
            None => Ok(PooledExecutor(Some(Box::new(Executor::new(arch)?)))),
        }
    }
}

impl std::ops::Deref for PooledExecutor {
    type Target = Executor;
    fn deref(&self) -> &Executor {
        self.0
            .as_deref()
            .expect("a PooledExecutor holds its executor until dropped")
    }
}

impl std::ops::DerefMut for PooledExecutor {
    fn deref_mut(&mut self) -> &mut Executor {
        self.0
            .as_deref_mut()
            .expect("a PooledExecutor holds its executor until dropped")
    }
}

impl Drop for PooledExecutor {
    fn drop(&mut self) {
        if let Some(e) = self.0.take() {
            // During thread teardown the pool may be gone; the emulator is then dropped.
            let _ = SPARE_EXECUTORS.try_with(|s| {
                let mut s = s.borrow_mut();
                if s.len() < MAX_SPARE_EXECUTORS {
                    s.push(*e);
                }
            });
        }
    }
}

/// Instances on one engine. See the module docs.
pub struct Store {
    code: Code,
    heaps: Vec<Heap>,
    rt: Runtime,
    registry: HashMap<String, InstanceId>,
    /// Code address → store function index.
    by_addr: HashMap<u64, usize>,
    /// Canonical function types (a type's id is its index + 1).
    types: Vec<FuncType>,
    fuel: u64,
    limits: Limits,
    /// `spectest` is registered on first use ([`Store::ensure_spectest`]).
    spectest_pending: bool,
}

fn heap_u64(h: &Heap, off: u64) -> u64 {
    let o = off as usize;
    h.bytes
        .get(o..o + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

fn heap_write(h: &mut Heap, off: u64, bytes: &[u8]) {
    let o = off as usize;
    if let Some(d) = h.bytes.get_mut(o..o + bytes.len()) {
        d.copy_from_slice(bytes);
    }
}

/// The heap holding `addr` and the offset in it.
fn locate(heaps: &[Heap], addr: u64) -> Option<(usize, u64)> {
    heaps.iter().enumerate().find_map(|(i, h)| {
        let off = addr.checked_sub(h.base)?;
        (off < h.bytes.len() as u64).then_some((i, off))
    })
}

fn read_addr(heaps: &[Heap], addr: u64) -> u64 {
    locate(heaps, addr).map_or(0, |(i, o)| heap_u64(&heaps[i], o))
}

fn write_addr(heaps: &mut [Heap], addr: u64, bytes: &[u8]) {
    if let Some((i, o)) = locate(heaps, addr) {
        heap_write(&mut heaps[i], o, bytes);
    }
}

/// Where a memory or table at `base` moves on a grow (see the module docs): the next of
/// its `slots` slots, `stride` apart from `slot0`, round robin.
fn next_slot(base: u64, slot0: u64, stride: u64, slots: u64) -> u64 {
    slot0 + ((base - slot0) / stride + 1) % slots * stride
}

/// A value of type `ty` from its raw little-endian bits.
fn value_of(ty: WasmType, bits: u64) -> DataValue {
    match ty {
        WasmType::I32 => DataValue::I32(bits as u32 as i32),
        WasmType::F32 => DataValue::F32(bits as u32),
        WasmType::F64 => DataValue::F64(bits),
        _ => DataValue::I64(bits as i64),
    }
}

impl Runtime {
    /// The index of the instance whose vmctx is at `vmctx` (vmctxs are allocated in
    /// increasing order).
    fn index_of(&self, vmctx: u64) -> Option<usize> {
        self.instances
            .binary_search_by_key(&vmctx, |d| d.vmctx)
            .ok()
    }

    fn memory_grow(heaps: &mut [Heap], m: MemoryLoc, delta: u32) -> i32 {
        let old = (heaps[m.heap].bytes.len() as u64 / WASM_PAGE_SIZE) as u32;
        let new = u64::from(old) + u64::from(delta);
        if new > u64::from(m.max) {
            return -1;
        }
        if delta == 0 {
            return old as i32;
        }
        let h = &mut heaps[m.heap];
        h.bytes.resize((new * WASM_PAGE_SIZE) as usize, 0);
        h.base = next_slot(h.base, m.slot0, MEMORY_SLOT_STRIDE, MEMORY_SLOTS);
        let base = h.base;
        let def = &mut heaps[m.def_heap];
        heap_write(
            def,
            m.def_off + u64::from(vmctx::MEMORY_BASE),
            &base.to_le_bytes(),
        );
        heap_write(
            def,
            m.def_off + u64::from(vmctx::MEMORY_SIZE),
            &(new * WASM_PAGE_SIZE).to_le_bytes(),
        );
        old as i32
    }

    fn table_len(heaps: &[Heap], t: &TableLoc) -> u64 {
        heap_u64(&heaps[t.def_heap], t.def_off + 8)
    }

    fn table_grow(heaps: &mut [Heap], t: &TableLoc, init: u64, delta: u32) -> i32 {
        let old = Self::table_len(heaps, t);
        let new = old + u64::from(delta);
        if new > u64::from(t.max) {
            return -1;
        }
        if delta == 0 {
            return old as i32;
        }
        let h = &mut heaps[t.heap];
        for _ in old..new {
            h.bytes.extend_from_slice(&init.to_le_bytes());
        }
        h.base = next_slot(h.base, t.slot0, TABLE_SLOT_STRIDE, TABLE_SLOTS);
        let base = h.base;
        heap_write(&mut heaps[t.def_heap], t.def_off, &base.to_le_bytes());
        heap_write(&mut heaps[t.def_heap], t.def_off + 8, &new.to_le_bytes());
        old as i32
    }

    /// Write `items` into table `t` at `dst`; false (nothing written) when out of bounds.
    fn table_write(heaps: &mut [Heap], t: &TableLoc, dst: u32, items: &[u64]) -> bool {
        if u64::from(dst) + items.len() as u64 > Self::table_len(heaps, t) {
            return false;
        }
        for (i, v) in items.iter().enumerate() {
            heap_write(
                &mut heaps[t.heap],
                8 * (u64::from(dst) + i as u64),
                &v.to_le_bytes(),
            );
        }
        true
    }

    fn table_read(heaps: &[Heap], t: &TableLoc, src: u32, len: u32) -> Option<Vec<u64>> {
        if u64::from(src) + u64::from(len) > Self::table_len(heaps, t) {
            return None;
        }
        Some(
            (0..u64::from(len))
                .map(|i| heap_u64(&heaps[t.heap], 8 * (u64::from(src) + i)))
                .collect(),
        )
    }

    fn memory_range(
        heaps: &[Heap],
        m: &MemoryLoc,
        at: u32,
        len: u32,
    ) -> Option<std::ops::Range<usize>> {
        let end = u64::from(at) + u64::from(len);
        (end <= heaps[m.heap].bytes.len() as u64).then_some(at as usize..end as usize)
    }
}

fn i32_arg(args: &[DataValue], i: usize) -> u32 {
    match args.get(i) {
        Some(DataValue::I32(v)) => *v as u32,
        _ => 0,
    }
}

fn i64_arg(args: &[DataValue], i: usize) -> u64 {
    match args.get(i) {
        Some(DataValue::I64(v)) => *v as u64,
        _ => 0,
    }
}

impl HostCalls for Runtime {
    fn signature(&self, n: u32) -> Option<&Signature> {
        self.signatures.get(n as usize)
    }

    /// `data.drop` and `elem.drop` only change the runtime's segment lists.
    fn uses_heaps(&self, n: u32) -> bool {
        !matches!(
            Builtin::ALL.get(n as usize),
            Some(Builtin::DataDrop | Builtin::ElemDrop)
        )
    }

    fn call(
        &mut self,
        n: u32,
        args: &[DataValue],
        heaps: &mut [Heap],
    ) -> Result<Vec<DataValue>, Outcome> {
        let b = *Builtin::ALL
            .get(n as usize)
            .ok_or_else(|| Outcome::Error(format!("no builtin number {n}")))?;
        let vmctx = i64_arg(args, 0);
        let k = self
            .index_of(vmctx)
            .ok_or_else(|| Outcome::Error(format!("builtin called with vmctx {vmctx:#x}")))?;
        let inst = &self.instances[k];
        let a = |i: usize| i32_arg(args, i + 1);
        let status = |ok: bool| Ok(vec![DataValue::I32(i32::from(!ok))]);
        let memory = || {
            inst.memory
                .ok_or_else(|| Outcome::Error(format!("{} without a memory", b.name())))
        };
        let table = |t: u32| {
            inst.tables
                .get(t as usize)
                .copied()
                .ok_or_else(|| Outcome::Error(format!("{}: no table {t}", b.name())))
        };
        match b {
            Builtin::MemoryGrow => Ok(vec![DataValue::I32(Self::memory_grow(
                heaps,
                memory()?,
                a(0),
            ))]),
            Builtin::MemoryFill => {
                let m = memory()?;
                match Self::memory_range(heaps, &m, a(0), a(2)) {
                    Some(r) => {
                        heaps[m.heap].bytes[r].fill(a(1) as u8);
                        status(true)
                    }
                    None => status(false),
                }
            }
            Builtin::MemoryCopy => {
                let m = memory()?;
                match (
                    Self::memory_range(heaps, &m, a(0), a(2)),
                    Self::memory_range(heaps, &m, a(1), a(2)),
                ) {
                    (Some(d), Some(s)) => {
                        heaps[m.heap].bytes.copy_within(s, d.start);
                        status(true)
                    }
                    _ => status(false),
                }
            }
            Builtin::MemoryInit => {
                let m = memory()?;
                let seg = inst
                    .datas
                    .get(a(0) as usize)
                    .and_then(|d| d.as_deref())
                    .unwrap_or(&[]);
                let (dst, src, len) = (a(1), a(2), a(3));
                let s_end = u64::from(src) + u64::from(len);
                match Self::memory_range(heaps, &m, dst, len) {
                    Some(d) if s_end <= seg.len() as u64 => {
                        heaps[m.heap].bytes[d].copy_from_slice(&seg[src as usize..s_end as usize]);
                        status(true)
                    }
                    _ => status(false),
                }
            }
            Builtin::DataDrop => {
                if let Some(d) = self.instances[k].datas.get_mut(a(0) as usize) {
                    *d = None;
                }
                Ok(vec![])
            }
            Builtin::TableGrow => {
                let t = table(a(0))?;
                Ok(vec![DataValue::I32(Self::table_grow(
                    heaps,
                    &t,
                    i64_arg(args, 2),
                    i32_arg(args, 3),
                ))])
            }
            Builtin::TableFill => {
                let t = table(a(0))?;
                let items = vec![i64_arg(args, 3); i32_arg(args, 4) as usize];
                status(Self::table_write(heaps, &t, a(1), &items))
            }
            Builtin::TableCopy => {
                let (dt, st) = (table(a(0))?, table(a(1))?);
                let ok = Self::table_read(heaps, &st, a(3), a(4))
                    .is_some_and(|items| Self::table_write(heaps, &dt, a(2), &items));
                status(ok)
            }
            Builtin::TableInit => {
                let t = table(a(0))?;
                let seg = inst
                    .elems
                    .get(a(1) as usize)
                    .and_then(|s| s.as_deref())
                    .unwrap_or(&[]);
                let (dst, src, len) = (a(2), a(3), a(4));
                let s_end = u64::from(src) + u64::from(len);
                let ok = s_end <= seg.len() as u64 && {
                    let items = seg[src as usize..s_end as usize].to_vec();
                    Self::table_write(heaps, &t, dst, &items)
                };
                status(ok)
            }
            Builtin::ElemDrop => {
                if let Some(s) = self.instances[k].elems.get_mut(a(0) as usize) {
                    *s = None;
                }
                Ok(vec![])
            }
        }
    }
}

/// What an import resolved to.
enum Resolved {
    /// The exporter's `FuncRef` (address) and the function's type.
    Func(u64, FuncType),
    Table(TableLoc),
    Memory(MemoryLoc),
    /// The value's address, type and mutability.
    Global(u64, WasmType, bool),
}

/// Do limits `(cur, max)` of an export satisfy an import's `(min, max)`?
fn limits_match(cur: u64, max: Option<u32>, imin: u32, imax: Option<u32>) -> bool {
    cur >= u64::from(imin)
        && match imax {
            None => true,
            Some(im) => max.is_some_and(|m| m <= im),
        }
}

impl Store {
    /// An empty store for `engine` (`spectest` is instantiated when first imported from).
    pub fn new(engine: EngineKind, settings: &EngineSettings) -> Result<Store, InstanceError> {
        let code = match engine.arch() {
            None => Code::Interp(Vec::new()),
            Some(arch) => {
                let compiler = settings
                    .builder(arch)
                    .and_then(|b| b.build().map_err(|e| e.to_string()))
                    .map_err(InstanceError::Engine)?;
                let executor =
                    PooledExecutor::take(arch).map_err(|e| InstanceError::Engine(e.to_string()))?;
                Code::Native {
                    compiler,
                    executor,
                    image: CodeImage {
                        arch,
                        segments: Vec::new(),
                        size: 0,
                        functions: Vec::new(),
                        traps: Vec::new(),
                        relocs: Vec::new(),
                    },
                    loaded: false,
                }
            }
        };
        let store = Store {
            code,
            heaps: vec![Heap {
                base: ARENA_BASE,
                bytes: Vec::new(),
            }],
            rt: Runtime {
                instances: Vec::new(),
                signatures: Builtin::ALL.iter().map(|b| b.signature()).collect(),
            },
            registry: HashMap::new(),
            by_addr: HashMap::new(),
            types: Vec::new(),
            fuel: DEFAULT_FUEL,
            limits: DEFAULT_LIMITS,
            spectest_pending: true,
        };
        Ok(store)
    }

    /// Instantiate and register the `spectest` module, once, when the first module that
    /// imports from it is instantiated (most stores never need it; compiling it for every
    /// store cost the Wasm differential loop an eighth of its time).
    fn ensure_spectest(&mut self) -> Result<(), InstanceError> {
        if !self.spectest_pending {
            return Ok(());
        }
        self.spectest_pending = false;
        static SPECTEST_WASM: std::sync::OnceLock<Result<Vec<u8>, String>> =
            std::sync::OnceLock::new();
        let spectest = SPECTEST_WASM
            .get_or_init(|| wat::parse_str(SPECTEST).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| InstanceError::Engine(e.clone()))?;
        let id = self.instantiate(spectest)?;
        self.registry.insert("spectest".to_string(), id);
        Ok(())
    }

    /// Set the instruction budget of each invocation.
    pub fn set_fuel(&mut self, fuel: u64) {
        self.fuel = fuel;
    }

    /// Cap memory and table sizes of instances created from now on (at most
    /// [`DEFAULT_LIMITS`]: every call copies the heaps in and out of the emulator).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = Limits {
            memory_pages: limits.memory_pages.min(MAX_MEMORY_PAGES),
            table_elements: limits.table_elements.min(MAX_TABLE_ELEMS),
        };
    }

    /// Make `inst`'s exports importable as module `name`.
    pub fn register(&mut self, name: &str, inst: InstanceId) {
        if name == "spectest" {
            // A module registered under this name replaces the built-in one.
            self.spectest_pending = false;
        }
        self.registry.insert(name.to_string(), inst);
    }

    /// The module facts of `inst`.
    pub fn info(&self, inst: InstanceId) -> Option<&ModuleInfo> {
        self.rt.instances.get(inst.0).map(|d| &d.info)
    }

    fn sig_id(&mut self, t: &FuncType) -> u32 {
        match self.types.iter().position(|u| u == t) {
            Some(i) => i as u32 + 1,
            None => {
                self.types.push(t.clone());
                self.types.len() as u32
            }
        }
    }

    fn export_of(&self, inst: InstanceId, name: &str) -> Option<EntityIndex> {
        let d = self.rt.instances.get(inst.0)?;
        d.info
            .exports
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.index)
    }

    /// Resolve one import against the registry.
    fn resolve(&self, module: &str, name: &str) -> Result<Resolved, InstanceError> {
        let unknown = || InstanceError::Unlinkable(format!("unknown import {module}.{name}"));
        let inst = *self.registry.get(module).ok_or_else(unknown)?;
        let idx = self.export_of(inst, name).ok_or_else(unknown)?;
        let d = &self.rt.instances[inst.0];
        Ok(match idx {
            EntityIndex::Func(f) => Resolved::Func(
                d.vmctx + d.offsets.func_ref(f),
                d.info.func_type(f).cloned().unwrap_or(FuncType {
                    params: vec![],
                    results: vec![],
                }),
            ),
            EntityIndex::Table(t) => Resolved::Table(d.tables[t as usize]),
            EntityIndex::Memory(_) => Resolved::Memory(d.memory.ok_or_else(unknown)?),
            EntityIndex::Global(g) => {
                let decl = &d.info.globals[g as usize];
                Resolved::Global(d.globals[g as usize], decl.ty, decl.mutable)
            }
        })
    }

    /// Compile `wasm` for this store's engine and instantiate it (see the module docs).
    pub fn instantiate(&mut self, wasm: &[u8]) -> Result<InstanceId, InstanceError> {
        if self.rt.instances.len() >= MAX_INSTANCES {
            return Err(InstanceError::Unsupported(format!(
                "more than {MAX_INSTANCES} instances in one store"
            )));
        }
        // Compile first: nothing changes on a compile error.
        let (info, compiled) = match &self.code {
            Code::Interp(_) => {
                let (info, funcs) = translate_module(wasm, Some(1))?;
                (info, Compiled::Interp(funcs))
            }
            Code::Native { compiler, .. } => {
                let opts = ModuleOptions {
                    jobs: Some(1),
                    progress: None,
                };
                let m = compile_module(&**compiler, wasm, &opts)?;
                (m.info.clone(), Compiled::Native(Box::new(m)))
            }
        };
        if info.imports.iter().any(|i| i.module == "spectest") {
            self.ensure_spectest()?;
        }
        let k = self.rt.instances.len();
        if k >= MAX_INSTANCES {
            return Err(InstanceError::Unsupported(format!(
                "more than {MAX_INSTANCES} instances in one store"
            )));
        }
        // Resolve and check every import before changing anything.
        let mut imports = Vec::with_capacity(info.imports.len());
        for imp in &info.imports {
            let r = self.resolve(&imp.module, &imp.name)?;
            let bad = || {
                InstanceError::Unlinkable(format!(
                    "incompatible import type for {}.{}",
                    imp.module, imp.name
                ))
            };
            match (&imp.index, &r) {
                (EntityIndex::Func(f), Resolved::Func(_, ty)) => {
                    if info.func_type(*f) != Some(ty) {
                        return Err(bad());
                    }
                }
                (EntityIndex::Table(t), Resolved::Table(loc)) => {
                    let decl = &info.tables[*t as usize];
                    let cur = Runtime::table_len(&self.heaps, loc);
                    if decl.elem != loc.elem
                        || !limits_match(cur, loc.declared_max, decl.min, decl.max)
                    {
                        return Err(bad());
                    }
                }
                (EntityIndex::Memory(_), Resolved::Memory(loc)) => {
                    let Some(decl) = &info.memory else {
                        return Err(bad());
                    };
                    let cur = self.heaps[loc.heap].bytes.len() as u64 / WASM_PAGE_SIZE;
                    if !limits_match(cur, loc.declared_max, decl.min, decl.max) {
                        return Err(bad());
                    }
                }
                (EntityIndex::Global(g), Resolved::Global(_, ty, mutable)) => {
                    let decl = &info.globals[*g as usize];
                    if decl.ty != *ty || decl.mutable != *mutable {
                        return Err(bad());
                    }
                }
                _ => return Err(bad()),
            }
            imports.push(r);
        }
        let region = ARENA_BASE + (k as u64 + 1) * REGION_STRIDE;
        let first = self.add_code(k, compiled);
        self.allocate(k, region, info, imports, first)?;
        self.initialize(k)?;
        Ok(InstanceId(k))
    }

    /// Add a module's code; returns the store index of its first defined function.
    fn add_code(&mut self, k: usize, compiled: Compiled) -> usize {
        match (&mut self.code, compiled) {
            (Code::Interp(funcs), Compiled::Interp(mut new)) => {
                let first = funcs.len();
                let ns = k as u32 + 1;
                for f in &mut new {
                    if let UserFuncName::User(n) = f.params.name {
                        f.params.name = UserFuncName::User(UserExternalName::new(ns, n.index));
                    }
                    let refs: Vec<_> = f
                        .params
                        .user_named_funcs()
                        .iter()
                        .map(|(r, n)| (r, *n))
                        .collect();
                    for (r, n) in refs {
                        f.params
                            .rename_user_name(r, UserExternalName::new(ns, n.index));
                    }
                }
                for i in 0..new.len() {
                    self.by_addr
                        .insert(FUNC_ADDR_BASE + 16 * (first + i) as u64, first + i);
                }
                funcs.extend(new);
                first
            }
            (Code::Native { image, loaded, .. }, Compiled::Native(m)) => {
                // One dense segment: each module's text follows the previous one at a
                // function-aligned offset (the pad bytes trap), so loading costs one mapping.
                let first = image.functions.len();
                let base = image
                    .size
                    .next_multiple_of(u64::from(kiln::module::FUNCTION_ALIGN));
                let b32 = base as u32;
                if image.segments.is_empty() {
                    image.segments.push(TextSegment::default());
                }
                let seg = &mut image.segments[0];
                for s in &m.text.segments {
                    seg.bytes
                        .resize((base + u64::from(s.offset)) as usize, image.arch.pad_byte());
                    seg.bytes.extend_from_slice(&s.bytes);
                }
                seg.bytes
                    .resize((base + m.text.len) as usize, image.arch.pad_byte());
                for f in &m.functions {
                    let offset = b32 + f.offset;
                    self.by_addr
                        .insert(CODE_BASE + u64::from(offset), image.functions.len());
                    image.functions.push(FunctionSymbol {
                        name: format!("{}#{k}", f.name),
                        offset,
                        signature: f.signature.clone(),
                    });
                }
                image
                    .traps
                    .extend(m.text.traps.iter().map(|&(o, c)| (b32 + o, c)));
                image.relocs.extend(m.text.relocs.iter().map(|r| TextReloc {
                    offset: b32 + r.offset,
                    target: match r.target {
                        TextRelocTarget::Function(i) => TextRelocTarget::Function(first as u32 + i),
                        t => t,
                    },
                    ..*r
                }));
                image.size = base + m.text.len;
                *loaded = false;
                first
            }
            // A store compiles with its own engine only.
            _ => 0,
        }
    }

    /// The code address of store function `i`.
    fn code_addr(&self, i: usize) -> u64 {
        match &self.code {
            Code::Interp(_) => FUNC_ADDR_BASE + 16 * i as u64,
            Code::Native { image, .. } => {
                CODE_BASE + image.functions.get(i).map_or(0, |f| u64::from(f.offset))
            }
        }
    }

    /// Create instance `k`'s heaps and fill its vmctx.
    fn allocate(
        &mut self,
        k: usize,
        region: u64,
        info: ModuleInfo,
        imports: Vec<Resolved>,
        first: usize,
    ) -> Result<(), InstanceError> {
        let o = info.vm_offsets();
        // The vmctx: appended to the arena (heap 0), 16-byte aligned.
        let vmctx_heap = 0;
        let vbase = (self.heaps[0].bytes.len() as u64).next_multiple_of(16);
        self.heaps[0].bytes.resize((vbase + o.size()) as usize, 0);
        let vmctx = ARENA_BASE + vbase;
        let mut memory = None;
        let mut tables = Vec::new();
        let mut globals = Vec::new();
        let mut func_refs: Vec<(u64, Option<u64>)> = Vec::new(); // (f, imported FuncRef addr)
        for r in imports {
            match r {
                Resolved::Func(addr, _) => func_refs.push((func_refs.len() as u64, Some(addr))),
                Resolved::Table(t) => tables.push(t),
                Resolved::Memory(m) => memory = Some(m),
                Resolved::Global(addr, _, _) => globals.push(addr),
            }
        }
        if let Some(m) = &info.memory {
            if !m.imported {
                let max_pages = self.limits.memory_pages;
                if m.min > max_pages {
                    return Err(InstanceError::Unsupported(format!(
                        "a memory of {} pages (this runtime allows {max_pages})",
                        m.min
                    )));
                }
                let heap = self.heaps.len();
                let size = u64::from(m.min) * WASM_PAGE_SIZE;
                self.heaps
                    .push(Heap::zeroed(region + MEMORY_OFFSET, size as usize));
                let vh = &mut self.heaps[vmctx_heap];
                heap_write(
                    vh,
                    vbase + u64::from(vmctx::MEMORY_BASE),
                    &(region + MEMORY_OFFSET).to_le_bytes(),
                );
                heap_write(
                    vh,
                    vbase + u64::from(vmctx::MEMORY_SIZE),
                    &size.to_le_bytes(),
                );
                memory = Some(MemoryLoc {
                    heap,
                    def_heap: vmctx_heap,
                    def_off: vbase,
                    max: m.max.unwrap_or(max_pages).min(max_pages),
                    declared_max: m.max,
                    slot0: region + MEMORY_OFFSET,
                });
            }
        }
        if let Some(m) = &memory {
            let def_addr = self.heaps[m.def_heap].base + m.def_off;
            heap_write(
                &mut self.heaps[vmctx_heap],
                vbase + u64::from(vmctx::MEMORY_DEFINITION),
                &def_addr.to_le_bytes(),
            );
        }
        for (t, decl) in info.tables.iter().enumerate().skip(tables.len()) {
            let max_elems = self.limits.table_elements;
            if decl.min > max_elems {
                return Err(InstanceError::Unsupported(format!(
                    "a table of {} elements (this runtime allows {max_elems})",
                    decl.min
                )));
            }
            let base = region + TABLE_OFFSET + TABLE_STRIDE * t as u64;
            let heap = self.heaps.len();
            self.heaps.push(Heap::zeroed(base, 8 * decl.min as usize));
            let def = o.table_def(t as u32);
            let vh = &mut self.heaps[vmctx_heap];
            heap_write(vh, vbase + def, &base.to_le_bytes());
            heap_write(vh, vbase + def + 8, &u64::from(decl.min).to_le_bytes());
            tables.push(TableLoc {
                heap,
                def_heap: vmctx_heap,
                def_off: vbase + def,
                max: decl.max.unwrap_or(max_elems).min(max_elems),
                declared_max: decl.max,
                elem: decl.elem,
                slot0: base,
            });
        }
        for (t, loc) in tables.iter().enumerate() {
            let def_addr = self.heaps[loc.def_heap].base + loc.def_off;
            heap_write(
                &mut self.heaps[vmctx_heap],
                vbase + o.table(t as u32),
                &def_addr.to_le_bytes(),
            );
        }
        for g in globals.len()..info.globals.len() {
            globals.push(vmctx + o.global(g as u32));
        }
        for (g, &addr) in globals
            .iter()
            .enumerate()
            .take(info.num_imported_globals as usize)
        {
            heap_write(
                &mut self.heaps[vmctx_heap],
                vbase + o.global(g as u32),
                &addr.to_le_bytes(),
            );
        }
        for b in Builtin::ALL {
            let addr = match &self.code {
                Code::Interp(_) => crate::interp::host_function_address(b.index() as u32),
                Code::Native { .. } => crate::exec::host_function_address(b.index() as u32),
            };
            heap_write(
                &mut self.heaps[vmctx_heap],
                vbase + o.builtin(b),
                &addr.to_le_bytes(),
            );
        }
        let ids: Vec<u32> = info.types.clone().iter().map(|t| self.sig_id(t)).collect();
        for (t, id) in ids.iter().enumerate() {
            heap_write(
                &mut self.heaps[vmctx_heap],
                vbase + o.sig_id(t as u32),
                &id.to_le_bytes(),
            );
        }
        // FuncRefs: imported ones copied from the exporter, defined ones filled in.
        for f in 0..info.funcs.len() as u32 {
            let off = o.func_ref(f);
            let mut rec = [0u8; 24];
            if let Some(&(_, Some(src))) = func_refs.get(f as usize) {
                for (i, chunk) in rec.chunks_mut(8).enumerate() {
                    chunk
                        .copy_from_slice(&read_addr(&self.heaps, src + 8 * i as u64).to_le_bytes());
                }
            } else {
                let i = first + (f - info.num_imported_funcs) as usize;
                rec[..8].copy_from_slice(&self.code_addr(i).to_le_bytes());
                rec[8..16].copy_from_slice(&vmctx.to_le_bytes());
                let sig = ids
                    .get(info.funcs[f as usize] as usize)
                    .copied()
                    .unwrap_or(0);
                rec[16..20].copy_from_slice(&sig.to_le_bytes());
            }
            heap_write(&mut self.heaps[vmctx_heap], vbase + off, &rec);
        }
        self.rt.instances.push(InstanceData {
            datas: info.datas.iter().map(|d| Some(d.bytes.clone())).collect(),
            elems: Vec::new(),
            info,
            offsets: o,
            vmctx,
            memory,
            tables,
            globals,
        });
        debug_assert_eq!(self.rt.instances.len(), k + 1);
        Ok(())
    }

    /// The value of a constant expression as the 16 little-endian bytes of a global slot.
    fn eval(&self, k: usize, c: &ConstExpr) -> u128 {
        let d = &self.rt.instances[k];
        match *c {
            ConstExpr::I32(v) => u128::from(v as u32),
            ConstExpr::I64(v) => u128::from(v as u64),
            ConstExpr::F32(b) => u128::from(b),
            ConstExpr::F64(b) => u128::from(b),
            ConstExpr::V128(b) => b,
            ConstExpr::RefNull => 0,
            ConstExpr::RefFunc(f) => u128::from(d.vmctx + d.offsets.func_ref(f)),
            ConstExpr::GlobalGet(g) => {
                let addr = d.globals[g as usize];
                let lo = u128::from(read_addr(&self.heaps, addr));
                match d.info.globals[g as usize].ty {
                    WasmType::I32 | WasmType::F32 => lo & 0xffff_ffff,
                    WasmType::V128 => lo | u128::from(read_addr(&self.heaps, addr + 8)) << 64,
                    _ => lo,
                }
            }
        }
    }

    /// Globals, segments and the start function of instance `k`.
    fn initialize(&mut self, k: usize) -> Result<(), InstanceError> {
        let info = self.rt.instances[k].info.clone();
        for (g, decl) in info.globals.iter().enumerate() {
            if let Some(init) = &decl.init {
                let v = self.eval(k, init);
                let addr = self.rt.instances[k].globals[g];
                write_addr(&mut self.heaps, addr, &v.to_le_bytes());
            }
        }
        let elems: Vec<Option<Vec<u64>>> = info
            .elems
            .iter()
            .map(|e| Some(e.items.iter().map(|c| self.eval(k, c) as u64).collect()))
            .collect();
        self.rt.instances[k].elems = elems;
        for (i, e) in info.elems.iter().enumerate() {
            match &e.mode {
                ElemMode::Active { table, offset } => {
                    let at = self.eval(k, offset) as u32;
                    let items = self.rt.instances[k].elems[i].take().unwrap_or_default();
                    let t = self.rt.instances[k].tables[*table as usize];
                    if !Runtime::table_write(&mut self.heaps, &t, at, &items) {
                        return Err(InstanceError::Trap(Outcome::Trapped(
                            TrapCode::TableOutOfBounds,
                        )));
                    }
                }
                ElemMode::Declared => self.rt.instances[k].elems[i] = None,
                ElemMode::Passive => {}
            }
        }
        for (i, d) in info.datas.iter().enumerate() {
            if let Some(offset) = &d.offset {
                let at = self.eval(k, offset) as u32;
                let bytes = self.rt.instances[k].datas[i].take().unwrap_or_default();
                let m = self.rt.instances[k].memory;
                let r = m.and_then(|m| {
                    Runtime::memory_range(&self.heaps, &m, at, bytes.len() as u32).map(|r| (m, r))
                });
                match r {
                    Some((m, r)) => self.heaps[m.heap].bytes[r].copy_from_slice(&bytes),
                    None => {
                        return Err(InstanceError::Trap(Outcome::Trapped(
                            TrapCode::HeapOutOfBounds,
                        )))
                    }
                }
            }
        }
        if let Some(f) = info.start {
            match self.call_function(InstanceId(k), f, &[]) {
                Outcome::Returned(_) => {}
                other => return Err(InstanceError::Trap(other)),
            }
        }
        Ok(())
    }

    /// Call the exported function `name` of `inst`.
    pub fn invoke(&mut self, inst: InstanceId, name: &str, args: &[DataValue]) -> Outcome {
        match self.export_of(inst, name) {
            Some(EntityIndex::Func(f)) => self.call_function(inst, f, args),
            _ => Outcome::Error(format!("no exported function `{name}`")),
        }
    }

    /// The current value of the exported global `name` of `inst`.
    pub fn global(&self, inst: InstanceId, name: &str) -> Option<DataValue> {
        let Some(EntityIndex::Global(g)) = self.export_of(inst, name) else {
            return None;
        };
        let d = &self.rt.instances[inst.0];
        let addr = d.globals[g as usize];
        let bits = read_addr(&self.heaps, addr);
        let ty = d.info.globals[g as usize].ty;
        if ty == WasmType::V128 {
            let hi = read_addr(&self.heaps, addr + 8);
            let bytes = (u128::from(bits) | u128::from(hi) << 64).to_le_bytes();
            return Some(DataValue::V128(kiln::ir::Type::I8X16, bytes));
        }
        Some(value_of(ty, bits))
    }

    /// Set the exported mutable global `name` of `inst` to `value` (of the global's type).
    /// Returns whether it did.
    pub fn set_global(&mut self, inst: InstanceId, name: &str, value: &DataValue) -> bool {
        let Some(EntityIndex::Global(g)) = self.export_of(inst, name) else {
            return false;
        };
        let d = &self.rt.instances[inst.0];
        let decl = &d.info.globals[g as usize];
        if !decl.mutable || value.ty() != decl.ty.ir_type() {
            return false;
        }
        let addr = d.globals[g as usize];
        write_addr(&mut self.heaps, addr, &value.to_le_bytes());
        true
    }

    /// The bytes of `inst`'s memory (empty without one).
    pub fn memory(&self, inst: InstanceId) -> &[u8] {
        match self.rt.instances.get(inst.0).and_then(|d| d.memory) {
            Some(m) => &self.heaps[m.heap].bytes,
            None => &[],
        }
    }

    /// Call function `f` (index in `inst`'s function space) through its `FuncRef`.
    pub fn call_function(&mut self, inst: InstanceId, f: u32, args: &[DataValue]) -> Outcome {
        let Some(d) = self.rt.instances.get(inst.0) else {
            return Outcome::Error(format!("no instance {}", inst.0));
        };
        let rec = d.vmctx + d.offsets.func_ref(f);
        let code = read_addr(&self.heaps, rec);
        let vmctx = read_addr(&self.heaps, rec + 8);
        let Some(&i) = self.by_addr.get(&code) else {
            return Outcome::Error(format!("function {f} has no code ({code:#x})"));
        };
        let mut full = Vec::with_capacity(args.len() + 1);
        full.push(DataValue::I64(vmctx as i64));
        full.extend_from_slice(args);
        match &mut self.code {
            Code::Interp(funcs) => {
                let mut interp = Interpreter::new(funcs).with_fuel(self.fuel);
                interp.call_with_host(i, &full, &mut self.heaps, &mut self.rt)
            }
            Code::Native {
                executor,
                image,
                loaded,
                ..
            } => {
                if !*loaded {
                    if let Err(e) = executor.load(image) {
                        return Outcome::Error(e.to_string());
                    }
                    *loaded = true;
                }
                executor.call_with_host(i, &full, &mut self.heaps, self.fuel, &mut self.rt)
            }
        }
    }
}

enum Compiled {
    Interp(Vec<Function>),
    Native(Box<kiln::module::CompiledModule>),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The base a memory's definition holds (what compiled code loads).
    fn defined_base(store: &Store, inst: InstanceId) -> u64 {
        let d = &store.rt.instances[inst.0];
        let m = d.memory.expect("a memory");
        heap_u64(
            &store.heaps[m.def_heap],
            m.def_off + u64::from(vmctx::MEMORY_BASE),
        )
    }

    #[test]
    fn memory_moves_to_the_next_slot_on_every_grow_that_changes_its_size() {
        let wasm = wat::parse_str(
            r#"(module (memory 1)
                 (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
                 (func (export "put") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
                 (func (export "get") (param i32) (result i32) (i32.load (local.get 0))))"#,
        )
        .expect("wat");
        let i32s = |v: &[i32]| v.iter().map(|&x| DataValue::I32(x)).collect::<Vec<_>>();
        for &engine in EngineKind::ALL {
            let mut store = Store::new(engine, &EngineSettings::default()).expect("store");
            let inst = store.instantiate(&wasm).expect("instance");
            let slot0 = store.rt.instances[inst.0].memory.expect("memory").slot0;
            assert_eq!(defined_base(&store, inst), slot0, "{engine:?}");
            store.invoke(inst, "put", &i32s(&[65532, 0x1234_5678]));
            let mut seen = vec![slot0];
            for pages in 1..=MEMORY_SLOTS as i32 + 1 {
                let o = store.invoke(inst, "grow", &i32s(&[1]));
                assert_eq!(o, Outcome::Returned(i32s(&[pages])), "{engine:?}");
                let base = defined_base(&store, inst);
                let slot = (pages as u64) % MEMORY_SLOTS;
                assert_eq!(base, slot0 + slot * MEMORY_SLOT_STRIDE, "{engine:?}");
                assert_eq!(
                    store.heaps[store.rt.instances[inst.0].memory.unwrap().heap].base,
                    base
                );
                seen.push(base);
                // The contents moved with it; the new page is zero and accessible.
                let get = |store: &mut Store, a: i32| store.invoke(inst, "get", &i32s(&[a]));
                assert_eq!(
                    get(&mut store, 65532),
                    Outcome::Returned(i32s(&[0x1234_5678]))
                );
                assert_eq!(
                    get(&mut store, pages * 65536 + 65532),
                    Outcome::Returned(i32s(&[0]))
                );
            }
            // A grow by nothing, or past the maximum, stays where it is.
            let base = defined_base(&store, inst);
            store.invoke(inst, "grow", &i32s(&[0]));
            store.invoke(inst, "grow", &i32s(&[1 << 16]));
            assert_eq!(defined_base(&store, inst), base, "{engine:?}");
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(
                seen.len() as u64,
                MEMORY_SLOTS,
                "{engine:?}: every slot used"
            );
        }
    }

    #[test]
    fn tables_move_to_the_next_slot_on_every_grow_that_changes_their_size() {
        let wasm = wat::parse_str(
            r#"(module
                 (type $r (func (result i32)))
                 (table $t 1 funcref)
                 (func $f (result i32) (i32.const 42))
                 (elem (i32.const 0) $f)
                 (func (export "grow") (param i32) (result i32)
                   (table.grow $t (ref.null func) (local.get 0)))
                 (func (export "call") (param i32) (result i32)
                   (call_indirect (type $r) (local.get 0))))"#,
        )
        .expect("wat");
        let i32s = |v: &[i32]| v.iter().map(|&x| DataValue::I32(x)).collect::<Vec<_>>();
        for &engine in EngineKind::ALL {
            let mut store = Store::new(engine, &EngineSettings::default()).expect("store");
            let inst = store.instantiate(&wasm).expect("instance");
            let t = store.rt.instances[inst.0].tables[0];
            let base = |store: &Store| heap_u64(&store.heaps[t.def_heap], t.def_off);
            assert_eq!(base(&store), t.slot0, "{engine:?}");
            for n in 1..=TABLE_SLOTS as i32 + 1 {
                let o = store.invoke(inst, "grow", &i32s(&[1]));
                assert_eq!(o, Outcome::Returned(i32s(&[n])), "{engine:?}");
                let slot = n as u64 % TABLE_SLOTS;
                assert_eq!(
                    base(&store),
                    t.slot0 + slot * TABLE_SLOT_STRIDE,
                    "{engine:?}"
                );
                assert_eq!(store.heaps[t.heap].base, base(&store));
                // The elements moved with it; the new one is null.
                let call = |store: &mut Store, i: i32| store.invoke(inst, "call", &i32s(&[i]));
                assert_eq!(call(&mut store, 0), Outcome::Returned(i32s(&[42])));
                assert_eq!(
                    call(&mut store, n),
                    Outcome::Trapped(TrapCode::IndirectCallToNull),
                    "{engine:?}"
                );
            }
            let before = base(&store);
            store.invoke(inst, "grow", &i32s(&[0]));
            assert_eq!(base(&store), before, "{engine:?}: a grow by nothing stays");
        }
    }
}
