//! A Wasm module instantiated on any engine: the interpreter (running the translated IR)
//! or Kiln's x86_64 / AArch64 code under emulation — one implementation of the runtime for
//! all of them.
//!
//! [`Instance::new`] compiles (or translates) the module, lays out the instance's memory
//! regions as heaps at fixed addresses, fills the vmctx (`docs/vmcontext.md`), initializes
//! globals, tables, active element and data segments, and runs the start function.
//! [`Instance::invoke`] calls an export. The runtime builtins are a [`HostCalls`]
//! implementation ([`Runtime`]) that works on the same heaps for every engine.
//!
//! Address space of an instance (the same on every engine):
//!
//! | region | address |
//! |---|---|
//! | vmctx | [`VMCTX_BASE`] |
//! | linear memory (current size; grows in place) | [`MEMORY_BASE`] |
//! | table `i` (8 bytes per element; grows in place) | [`TABLE_BASE`]` + i * `[`TABLE_STRIDE`] |
//!
//! Limits (what this first runtime supports, each refused with a named error): no imports
//! (an instance is self-contained); memories up to [`MAX_MEMORY_PAGES`] pages (growing
//! beyond fails like a full machine: `memory.grow` returns -1).
//!
//! Invariants: `heaps[0]` is the vmctx, then the memory (if any), then one heap per table,
//! in table order; the vmctx's `memory_size` and table lengths always equal the heaps'
//! lengths; nothing here panics on any module.

use crate::engine::{EngineKind, EngineSettings};
use crate::exec::{CodeImage, Executor};
use crate::host::HostCalls;
use crate::interp::{Heap, Interpreter, FUNC_ADDR_BASE};
use crate::outcome::Outcome;
use crate::value::DataValue;
use kiln::ir::{Function, Signature, TrapCode};
use kiln::module::{compile_module, translate_module, CompiledModule, ModuleOptions};
use kiln::wasm::info::{ConstExpr, ElemMode, EntityIndex, ModuleInfo};
use kiln::wasm::vmctx::{self, Builtin, VmOffsets, WASM_PAGE_SIZE};
use kiln::Arch;

/// Where the vmctx lives.
pub const VMCTX_BASE: u64 = 0x10_0000_0000;
/// Where linear memory lives.
pub const MEMORY_BASE: u64 = 0x11_0000_0000;
/// Where table 0 lives.
pub const TABLE_BASE: u64 = 0x12_0000_0000;
/// Distance between tables.
pub const TABLE_STRIDE: u64 = 0x1000_0000;
/// Largest memory an instance may have (pages): 256 MiB.
pub const MAX_MEMORY_PAGES: u32 = 4096;
/// Largest table (elements).
pub const MAX_TABLE_ELEMS: u32 = (TABLE_STRIDE / 8) as u32 - 512;
/// Default instruction budget per invocation.
pub const DEFAULT_FUEL: u64 = 1_000_000_000;

/// Why an instance could not be created.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// Compilation or translation failed.
    #[error(transparent)]
    Module(#[from] kiln::module::ModuleError),
    /// The engine's compiler could not be built or the code not loaded.
    #[error("{0}")]
    Engine(String),
    /// The module needs something this runtime does not provide.
    #[error("cannot instantiate: {0}")]
    Unsupported(String),
    /// Instantiation trapped (a segment out of bounds, or the start function).
    #[error("instantiation trapped: {0}")]
    Trap(Outcome),
}

enum Code {
    Interp(Vec<Function>),
    Native {
        executor: Box<Executor>,
        image: CodeImage,
    },
}

/// The runtime builtins and the segment state behind them.
pub struct Runtime {
    offsets: VmOffsets,
    has_memory: bool,
    memory_max: u32,
    table_max: Vec<u32>,
    datas: Vec<Option<Vec<u8>>>,
    elems: Vec<Option<Vec<u64>>>,
    signatures: Vec<Signature>,
}

/// A module instantiated on one engine.
pub struct Instance {
    info: ModuleInfo,
    code: Code,
    heaps: Vec<Heap>,
    runtime: Runtime,
    fuel: u64,
}

fn rd_u64(h: &Heap, off: u64) -> u64 {
    let o = off as usize;
    h.bytes
        .get(o..o + 8)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
}

fn wr(h: &mut Heap, off: u64, bytes: &[u8]) {
    let o = off as usize;
    if let Some(d) = h.bytes.get_mut(o..o + bytes.len()) {
        d.copy_from_slice(bytes);
    }
}

impl Runtime {
    fn memory_heap(&self) -> Option<usize> {
        self.has_memory.then_some(1)
    }

    fn table_heap(&self, t: u32) -> usize {
        1 + usize::from(self.has_memory) + t as usize
    }

    fn table_len(&self, heaps: &[Heap], t: u32) -> u64 {
        rd_u64(&heaps[0], self.offsets.table_def(t) + 8)
    }

    fn set_table_len(&self, heaps: &mut [Heap], t: u32, len: u64) {
        let off = self.offsets.table_def(t) + 8;
        wr(&mut heaps[0], off, &len.to_le_bytes());
    }

    /// `memory_grow`: old pages or -1.
    fn memory_grow(&self, heaps: &mut [Heap], delta: u32) -> i32 {
        let Some(m) = self.memory_heap() else {
            return -1;
        };
        let old = (heaps[m].bytes.len() as u64 / WASM_PAGE_SIZE) as u32;
        let new = u64::from(old) + u64::from(delta);
        if new > u64::from(self.memory_max) {
            return -1;
        }
        heaps[m].bytes.resize((new * WASM_PAGE_SIZE) as usize, 0);
        wr(
            &mut heaps[0],
            u64::from(vmctx::MEMORY_SIZE),
            &(new * WASM_PAGE_SIZE).to_le_bytes(),
        );
        old as i32
    }

    fn table_grow(&self, heaps: &mut [Heap], t: u32, init: u64, delta: u32) -> i32 {
        let h = self.table_heap(t);
        let old = self.table_len(heaps, t);
        let new = old + u64::from(delta);
        let max = self.table_max.get(t as usize).copied().unwrap_or(0);
        if new > u64::from(max) {
            return -1;
        }
        for _ in old..new {
            heaps[h].bytes.extend_from_slice(&init.to_le_bytes());
        }
        self.set_table_len(heaps, t, new);
        old as i32
    }

    /// Copy `len` elements `items[src..]` into table `t` at `dst`; false when out of bounds.
    fn table_write(&self, heaps: &mut [Heap], t: u32, dst: u32, items: &[u64]) -> bool {
        let len = self.table_len(heaps, t);
        if u64::from(dst) + items.len() as u64 > len {
            return false;
        }
        let h = self.table_heap(t);
        for (i, v) in items.iter().enumerate() {
            wr(
                &mut heaps[h],
                8 * (u64::from(dst) + i as u64),
                &v.to_le_bytes(),
            );
        }
        true
    }

    fn table_read(&self, heaps: &[Heap], t: u32, src: u32, len: u32) -> Option<Vec<u64>> {
        let tl = self.table_len(heaps, t);
        if u64::from(src) + u64::from(len) > tl {
            return None;
        }
        let h = self.table_heap(t);
        Some(
            (0..u64::from(len))
                .map(|i| rd_u64(&heaps[h], 8 * (u64::from(src) + i)))
                .collect(),
        )
    }

    fn memory_range(heaps: &[Heap], m: usize, at: u32, len: u32) -> Option<std::ops::Range<usize>> {
        let end = u64::from(at) + u64::from(len);
        (end <= heaps[m].bytes.len() as u64).then_some(at as usize..end as usize)
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

    fn call(
        &mut self,
        n: u32,
        args: &[DataValue],
        heaps: &mut [Heap],
    ) -> Result<Vec<DataValue>, Outcome> {
        let b = *Builtin::ALL
            .get(n as usize)
            .ok_or_else(|| Outcome::Error(format!("no builtin number {n}")))?;
        // args[0] is the caller's vmctx (one instance: always ours).
        let a = |i: usize| i32_arg(args, i + 1);
        let status = |ok: bool| Ok(vec![DataValue::I32(i32::from(!ok))]);
        match b {
            Builtin::MemoryGrow => Ok(vec![DataValue::I32(self.memory_grow(heaps, a(0)))]),
            Builtin::MemoryFill => {
                let m = self
                    .memory_heap()
                    .ok_or_else(|| Outcome::Error("no memory".into()))?;
                match Self::memory_range(heaps, m, a(0), a(2)) {
                    Some(r) => {
                        heaps[m].bytes[r].fill(a(1) as u8);
                        status(true)
                    }
                    None => status(false),
                }
            }
            Builtin::MemoryCopy => {
                let m = self
                    .memory_heap()
                    .ok_or_else(|| Outcome::Error("no memory".into()))?;
                match (
                    Self::memory_range(heaps, m, a(0), a(2)),
                    Self::memory_range(heaps, m, a(1), a(2)),
                ) {
                    (Some(d), Some(s)) => {
                        heaps[m].bytes.copy_within(s, d.start);
                        status(true)
                    }
                    _ => status(false),
                }
            }
            Builtin::MemoryInit => {
                let m = self
                    .memory_heap()
                    .ok_or_else(|| Outcome::Error("no memory".into()))?;
                let seg = self
                    .datas
                    .get(a(0) as usize)
                    .and_then(|d| d.as_deref())
                    .unwrap_or(&[]);
                let (dst, src, len) = (a(1), a(2), a(3));
                let s_end = u64::from(src) + u64::from(len);
                match Self::memory_range(heaps, m, dst, len) {
                    Some(d) if s_end <= seg.len() as u64 => {
                        heaps[m].bytes[d].copy_from_slice(&seg[src as usize..s_end as usize]);
                        status(true)
                    }
                    _ => status(false),
                }
            }
            Builtin::DataDrop => {
                if let Some(d) = self.datas.get_mut(a(0) as usize) {
                    *d = None;
                }
                Ok(vec![])
            }
            Builtin::TableGrow => Ok(vec![DataValue::I32(self.table_grow(
                heaps,
                a(0),
                i64_arg(args, 2),
                i32_arg(args, 3),
            ))]),
            Builtin::TableFill => {
                let (t, dst, val, len) = (a(0), a(1), i64_arg(args, 3), i32_arg(args, 4));
                let items = vec![val; len as usize];
                status(self.table_write(heaps, t, dst, &items))
            }
            Builtin::TableCopy => {
                let (dt, st, dst, src, len) = (a(0), a(1), a(2), a(3), a(4));
                let ok = self
                    .table_read(heaps, st, src, len)
                    .is_some_and(|items| self.table_write(heaps, dt, dst, &items));
                status(ok)
            }
            Builtin::TableInit => {
                let (t, e, dst, src, len) = (a(0), a(1), a(2), a(3), a(4));
                let seg = self
                    .elems
                    .get(e as usize)
                    .and_then(|s| s.as_deref())
                    .unwrap_or(&[]);
                let s_end = u64::from(src) + u64::from(len);
                let ok = s_end <= seg.len() as u64 && {
                    let items = seg[src as usize..s_end as usize].to_vec();
                    self.table_write(heaps, t, dst, &items)
                };
                status(ok)
            }
            Builtin::ElemDrop => {
                if let Some(s) = self.elems.get_mut(a(0) as usize) {
                    *s = None;
                }
                Ok(vec![])
            }
        }
    }
}

/// The canonical signature id of each type: structurally equal types share an id.
fn sig_ids(info: &ModuleInfo) -> Vec<u32> {
    info.types
        .iter()
        .map(|t| info.types.iter().position(|u| u == t).unwrap_or(0) as u32 + 1)
        .collect()
}

impl Instance {
    /// Compile `wasm` for `engine` (the interpreter runs the translated IR) and instantiate it.
    pub fn new(
        wasm: &[u8],
        engine: EngineKind,
        settings: &EngineSettings,
    ) -> Result<Instance, InstanceError> {
        let (info, code, func_addrs) = match engine.arch() {
            None => {
                let (info, funcs) = translate_module(wasm, Some(1))?;
                let addrs = (0..funcs.len() as u64)
                    .map(|i| FUNC_ADDR_BASE + 16 * i)
                    .collect();
                (info, Code::Interp(funcs), addrs)
            }
            Some(arch) => {
                let compiler = settings
                    .builder(arch)
                    .and_then(|b| b.build().map_err(|e| e.to_string()))
                    .map_err(InstanceError::Engine)?;
                let m = compile_module(&*compiler, wasm, &ModuleOptions::default())?;
                Self::native(arch, m)?
            }
        };
        Self::instantiate(info, code, func_addrs)
    }

    fn native(
        arch: Arch,
        m: CompiledModule,
    ) -> Result<(ModuleInfo, Code, Vec<u64>), InstanceError> {
        let addrs = m
            .functions
            .iter()
            .map(|f| crate::exec::CODE_BASE + u64::from(f.offset))
            .collect();
        let symbols = m
            .functions
            .iter()
            .map(|f| (f.name.clone(), f.signature.clone()))
            .collect();
        let image = CodeImage::from_text(arch, m.text, symbols);
        let mut executor = Executor::new(arch).map_err(|e| InstanceError::Engine(e.to_string()))?;
        executor
            .load(&image)
            .map_err(|e| InstanceError::Engine(e.to_string()))?;
        Ok((
            m.info,
            Code::Native {
                executor: Box::new(executor),
                image,
            },
            addrs,
        ))
    }

    fn instantiate(
        info: ModuleInfo,
        code: Code,
        func_addrs: Vec<u64>,
    ) -> Result<Instance, InstanceError> {
        if let Some(imp) = info.imports.first() {
            return Err(InstanceError::Unsupported(format!(
                "the module imports {}.{} (imports are not supported by this runtime yet)",
                imp.module, imp.name
            )));
        }
        let o = info.vm_offsets();
        let mut heaps = vec![Heap::zeroed(VMCTX_BASE, o.size() as usize)];
        let has_memory = info.memory.is_some();
        let memory_max = info.memory.as_ref().map_or(0, |m| {
            m.max.unwrap_or(MAX_MEMORY_PAGES).min(MAX_MEMORY_PAGES)
        });
        if let Some(m) = &info.memory {
            if m.min > MAX_MEMORY_PAGES {
                return Err(InstanceError::Unsupported(format!(
                    "a memory of {} pages (this runtime allows {MAX_MEMORY_PAGES})",
                    m.min
                )));
            }
            let size = u64::from(m.min) * WASM_PAGE_SIZE;
            heaps.push(Heap::zeroed(MEMORY_BASE, size as usize));
            wr(
                &mut heaps[0],
                u64::from(vmctx::MEMORY_BASE),
                &MEMORY_BASE.to_le_bytes(),
            );
            wr(
                &mut heaps[0],
                u64::from(vmctx::MEMORY_SIZE),
                &size.to_le_bytes(),
            );
        }
        wr(
            &mut heaps[0],
            u64::from(vmctx::MEMORY_DEFINITION),
            &VMCTX_BASE.to_le_bytes(),
        );
        for b in Builtin::ALL {
            let addr = match &code {
                Code::Interp(_) => crate::interp::host_function_address(b.index() as u32),
                Code::Native { .. } => crate::exec::host_function_address(b.index() as u32),
            };
            wr(&mut heaps[0], o.builtin(b), &addr.to_le_bytes());
        }
        let ids = sig_ids(&info);
        for (t, id) in ids.iter().enumerate() {
            wr(&mut heaps[0], o.sig_id(t as u32), &id.to_le_bytes());
        }
        for (i, &addr) in func_addrs.iter().enumerate() {
            let f = info.num_imported_funcs + i as u32;
            let off = o.func_ref(f);
            let sig = ids
                .get(info.funcs[f as usize] as usize)
                .copied()
                .unwrap_or(0);
            wr(&mut heaps[0], off, &addr.to_le_bytes());
            wr(&mut heaps[0], off + 8, &VMCTX_BASE.to_le_bytes());
            wr(&mut heaps[0], off + 16, &sig.to_le_bytes());
        }
        for (t, decl) in info.tables.iter().enumerate() {
            if decl.min > MAX_TABLE_ELEMS {
                return Err(InstanceError::Unsupported(format!(
                    "a table of {} elements (this runtime allows {MAX_TABLE_ELEMS})",
                    decl.min
                )));
            }
            let base = TABLE_BASE + TABLE_STRIDE * t as u64;
            heaps.push(Heap::zeroed(base, 8 * decl.min as usize));
            let def = o.table_def(t as u32);
            wr(
                &mut heaps[0],
                o.table(t as u32),
                &(VMCTX_BASE + def).to_le_bytes(),
            );
            wr(&mut heaps[0], def, &base.to_le_bytes());
            wr(&mut heaps[0], def + 8, &u64::from(decl.min).to_le_bytes());
        }
        let eval = |heaps: &[Heap], c: &ConstExpr| -> u64 {
            match *c {
                ConstExpr::I32(v) => v as u32 as u64,
                ConstExpr::I64(v) => v as u64,
                ConstExpr::F32(b) => u64::from(b),
                ConstExpr::F64(b) => b,
                ConstExpr::RefNull => 0,
                ConstExpr::RefFunc(f) => VMCTX_BASE + o.func_ref(f),
                ConstExpr::GlobalGet(g) => rd_u64(&heaps[0], o.global(g)),
            }
        };
        for (g, decl) in info.globals.iter().enumerate() {
            if let Some(init) = &decl.init {
                let v = eval(&heaps, init);
                wr(&mut heaps[0], o.global(g as u32), &v.to_le_bytes());
            }
        }
        let mut runtime = Runtime {
            offsets: o,
            has_memory,
            memory_max,
            table_max: info
                .tables
                .iter()
                .map(|t| t.max.unwrap_or(MAX_TABLE_ELEMS).min(MAX_TABLE_ELEMS))
                .collect(),
            datas: info.datas.iter().map(|d| Some(d.bytes.clone())).collect(),
            elems: Vec::new(),
            signatures: Builtin::ALL.iter().map(|b| b.signature()).collect(),
        };
        runtime.elems = info
            .elems
            .iter()
            .map(|e| Some(e.items.iter().map(|c| eval(&heaps, c)).collect()))
            .collect();
        // Active element segments, then active data segments, in order; the first out of
        // bounds traps (earlier ones keep their effect), as Wasm 2.0 specifies.
        for (i, e) in info.elems.iter().enumerate() {
            match &e.mode {
                ElemMode::Active { table, offset } => {
                    let at = eval(&heaps, offset) as u32;
                    let items = runtime.elems[i].take().unwrap_or_default();
                    if !runtime.table_write(&mut heaps, *table, at, &items) {
                        return Err(InstanceError::Trap(Outcome::Trapped(
                            TrapCode::TableOutOfBounds,
                        )));
                    }
                }
                ElemMode::Declared => runtime.elems[i] = None,
                ElemMode::Passive => {}
            }
        }
        for (i, d) in info.datas.iter().enumerate() {
            if let Some(offset) = &d.offset {
                let at = eval(&heaps, offset) as u32;
                let bytes = runtime.datas[i].take().unwrap_or_default();
                let m = runtime.memory_heap();
                match m.and_then(|m| Runtime::memory_range(&heaps, m, at, bytes.len() as u32)) {
                    Some(r) => heaps[1].bytes[r].copy_from_slice(&bytes),
                    None => {
                        return Err(InstanceError::Trap(Outcome::Trapped(
                            TrapCode::HeapOutOfBounds,
                        )))
                    }
                }
            }
        }
        let mut inst = Instance {
            info,
            code,
            heaps,
            runtime,
            fuel: DEFAULT_FUEL,
        };
        if let Some(f) = inst.info.start {
            match inst.call_function(f, &[]) {
                Outcome::Returned(_) => {}
                other => return Err(InstanceError::Trap(other)),
            }
        }
        Ok(inst)
    }

    /// Set the instruction budget of each invocation.
    pub fn set_fuel(&mut self, fuel: u64) {
        self.fuel = fuel;
    }

    /// The module's facts.
    pub fn info(&self) -> &ModuleInfo {
        &self.info
    }

    /// Call the exported function `name` with `args`.
    pub fn invoke(&mut self, name: &str, args: &[DataValue]) -> Outcome {
        let f = self.info.exports.iter().find_map(|e| match e.index {
            EntityIndex::Func(f) if e.name == name => Some(f),
            _ => None,
        });
        match f {
            Some(f) => self.call_function(f, args),
            None => Outcome::Error(format!("no exported function `{name}`")),
        }
    }

    /// Call function `f` (index in the module's function space).
    pub fn call_function(&mut self, f: u32, args: &[DataValue]) -> Outcome {
        let Some(i) = f.checked_sub(self.info.num_imported_funcs) else {
            return Outcome::Error(format!("function {f} is imported"));
        };
        let mut full = Vec::with_capacity(args.len() + 1);
        full.push(DataValue::I64(VMCTX_BASE as i64));
        full.extend_from_slice(args);
        match &mut self.code {
            Code::Interp(funcs) => {
                let mut interp = Interpreter::new(funcs).with_fuel(self.fuel);
                interp.call_with_host(i as usize, &full, &mut self.heaps, &mut self.runtime)
            }
            Code::Native { executor, image } => {
                if let Err(e) = executor.load(image) {
                    return Outcome::Error(e.to_string());
                }
                executor.call_with_host(
                    i as usize,
                    &full,
                    &mut self.heaps,
                    self.fuel,
                    &mut self.runtime,
                )
            }
        }
    }

    /// The linear memory's current bytes (empty without a memory).
    pub fn memory(&self) -> &[u8] {
        match self.runtime.memory_heap() {
            Some(m) => &self.heaps[m].bytes,
            None => &[],
        }
    }

    /// The current value of global `g` (raw little-endian bits, low 8 bytes).
    pub fn global_bits(&self, g: u32) -> u64 {
        let off = self.runtime.offsets.global(g);
        if self.info.global_is_imported(g) {
            return 0;
        }
        rd_u64(&self.heaps[0], off)
    }
}
