//! Translating one Wasm function body to one Kiln IR function.
//!
//! The translator reads operators once, validating each with the function's
//! `FuncValidator` right before translating it (so it never re-validates, and relies on
//! validation for every structural fact: stack heights, types, index ranges).
//!
//! The IR function is named `u0:<function index>` (namespace 0 = the module's function
//! index space) and takes the vmctx (`i64`) first, then the Wasm parameters (see
//! [`super::vmctx`]). Direct calls to defined functions are `call`s of `u0:<index>` (the
//! linker turns them into relative calls); calls to imported functions, `call_indirect`,
//! and every runtime operation go through the vmctx. Every instruction carries the byte
//! offset of its Wasm operator as source location, so trap sites map back to Wasm offsets.
//!
//! Translation scheme:
//! - locals are builder variables (SSA is constructed by the [`FunctionBuilder`]); a
//!   construct's exit and a loop's header are declared passthroughs from the block the
//!   construct starts in for every local the construct never writes ([`writes`]), so
//!   reading those locals there makes no block parameter;
//! - the operand stack is a `Vec<Value>`; every control frame records the stack height at
//!   its entry, its branch target (a loop's header, any other frame's exit block) and the
//!   arity of that target; block results and loop parameters are IR block parameters;
//! - after an unconditional transfer the code up to the end of the enclosing frame is
//!   unreachable and is skipped (still validated), tracking nested frames by count;
//! - linear-memory accesses are explicitly bounds-checked against the current size:
//!   `zext(index) + offset + size > size_in_bytes` traps `heap_oob` (33-bit arithmetic in
//!   `i64`, so nothing wraps). What is known about the memory ([`HeapCache`]) saves loads
//!   and checks: the memory's base and size are loaded once and reused until a call (the
//!   memory only grows, and may move, in a call); an index value already checked for an
//!   end at least as far is not checked again, even after a call, since memory never
//!   shrinks (only its address, `base + index`, is computed again from the new base). A
//!   constant index (`i32.const`) folds into the access's offset, and its check compares
//!   a constant end with the size: one check covers every constant access that ends no
//!   farther. Every call the translator emits goes through [`State::emit_call`]. The
//!   knowledge holds wherever the point it was gathered at dominates: a block whose only
//!   predecessor is the block before (a `br_if`'s fallthrough, an `if`'s arms, the exit
//!   of a construct nothing else reaches) continues it; a construct's exit where branches
//!   merge gets what held where the construct started (the base and size only when
//!   nothing was called in between); a loop header gets the checks made before the loop,
//!   and the base and size only when the pre-scan ([`writes`]) found no operator in the
//!   loop that makes a call (else a call in the loop may come back around through a back
//!   edge; the loop's `end` checks that the translator indeed emitted no call in it, and
//!   fails the compile as an internal error otherwise). The values it
//!   names (base, size, an index's zero-extension and address) are reused across blocks
//!   only with [`TranslateOptions::heap_values_across_blocks`]; without it each block
//!   makes its own, and only the checks are saved.
//!
//! Invariants: for a body that validates, translation never fails and the produced
//! function verifies; nothing here panics on any input.

use super::info::{FunctionInput, ModuleInfo};
use super::vmctx::{self, Builtin, VmOffsets};
use super::{WasmError, WasmType};
use crate::ir::{
    Block, FloatCC, FuncRef, Function, FunctionBuilder, FunctionBuilderContext, Inst, IntCC,
    MemFlags, SigRef, Signature, SourceLoc, TrapCode, Type, UserExternalName, UserFuncName, Value,
    Variable,
};
use crate::machinst::RegallocAlgorithm;
use crate::settings::Settings;
use std::collections::HashMap;
use wasmparser::{BlockType, FuncValidatorAllocations, MemArg, Operator};

mod simd;
mod writes;

use writes::ConstructWrites;

/// The IR signature of a Wasm function type: vmctx first.
pub fn ir_signature(ty: &super::info::FuncType) -> Signature {
    let mut params = Vec::with_capacity(ty.params.len() + 1);
    params.push(Type::I64);
    params.extend(ty.params.iter().map(|t| t.ir_type()));
    Signature {
        params,
        returns: ty.results.iter().map(|t| t.ir_type()).collect(),
    }
}

/// The IR name of function `f` of a module.
pub fn func_name(f: u32) -> UserExternalName {
    UserExternalName::new(0, f)
}

/// Choices that trade the size of the translated code against work for the backend.
/// None changes what a function computes; the translation memo's key covers them through
/// the settings they are derived from ([`TranslateOptions::for_settings`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TranslateOptions {
    /// Reuse the values the memory knowledge names (the memory's base and size, an
    /// index's zero-extension and address) in the blocks it reaches, not only in the block
    /// that made them (see the module docs; the knowledge itself, which checks passed,
    /// always reaches them). Fewer loads, but longer-lived values: right for an allocator
    /// that keeps values in registers across blocks; the single-pass allocator spills
    /// every value live into another block, and its code grows (3 % on the testdata
    /// modules) instead.
    pub heap_values_across_blocks: bool,
}

impl Default for TranslateOptions {
    /// The options for the default settings (the backtracking allocator).
    fn default() -> Self {
        TranslateOptions {
            heap_values_across_blocks: true,
        }
    }
}

impl TranslateOptions {
    /// The options that suit a compiler with these settings.
    pub fn for_settings(settings: &Settings) -> Self {
        TranslateOptions {
            heap_values_across_blocks: settings.shared().regalloc()
                == RegallocAlgorithm::Backtracking,
        }
    }
}

/// Reusable state for translating many functions (one per thread).
#[derive(Default)]
pub struct FuncTranslator {
    options: TranslateOptions,
    builder_ctx: FunctionBuilderContext,
    allocs: Option<FuncValidatorAllocations>,
    stack: Vec<Value>,
    frames: Vec<Frame>,
    locals: Vec<Variable>,
    heap: HeapCache,
    writes: ConstructWrites,
    /// A function handed back by [`FuncTranslator::recycle`]: the next translation
    /// [`Function::reset`]s it and builds into its tables.
    spare: Option<Function>,
}

impl FuncTranslator {
    /// A translator with the default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Use `options` for the functions translated from now on.
    pub fn set_options(&mut self, options: TranslateOptions) {
        self.options = options;
    }

    /// Hand back a function this translator made, once it is compiled: the next
    /// translation reuses its tables' allocations instead of growing new ones. Optional;
    /// what is translated does not depend on it.
    pub fn recycle(&mut self, func: Function) {
        self.spare = Some(func);
    }
}

/// Translate and validate one defined function.
pub fn translate_function(
    info: &ModuleInfo,
    input: FunctionInput<'_>,
    tr: &mut FuncTranslator,
) -> Result<Function, WasmError> {
    let index = input.index;
    let e = |err: wasmparser::BinaryReaderError| WasmError::from_reader(err, Some(index));
    let ty = info.func_type(index).ok_or_else(|| WasmError::Invalid {
        func: Some(index),
        offset: input.body.range().start as usize,
        message: "function without a type".into(),
    })?;
    let mut validator = input
        .validator
        .into_validator(tr.allocs.take().unwrap_or_default());
    // A recycled function or an empty one; either way `reset` makes it the function
    // `Function::with_name_signature` would build.
    let mut func = tr.spare.take().unwrap_or_default();
    func.reset(UserFuncName::User(func_name(index)), ir_signature(ty));
    let mut ctx = core::mem::take(&mut tr.builder_ctx);
    let result = (|| {
        let mut b = FunctionBuilder::new(&mut func, &mut ctx);
        let mut state = State {
            info,
            wasm: input.wasm,
            offsets: info.vm_offsets(),
            func_index: index,
            stack: core::mem::take(&mut tr.stack),
            frames: core::mem::take(&mut tr.frames),
            locals: core::mem::take(&mut tr.locals),
            reachable: true,
            dead_depth: 0,
            vmctx: Value::from_u32(0),
            sigs: HashMap::new(),
            callees: HashMap::new(),
            builtin_sigs: HashMap::new(),
            heap: core::mem::take(&mut tr.heap),
            calls: 0,
            writes: core::mem::take(&mut tr.writes),
            constructs_seen: 0,
        };
        state.heap.forget();
        state.heap.values_across_blocks = tr.options.heap_values_across_blocks;
        state.writes.clear();
        state.stack.clear();
        state.frames.clear();
        state.locals.clear();
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        state.vmctx = b.block_params(entry)[0];
        b.set_srcloc(SourceLoc::new(input.body.range().start as u32));
        for (i, t) in ty.params.iter().enumerate() {
            let var = b.declare_var(t.ir_type());
            let p = b.block_params(entry)[i + 1];
            def(&mut b, var, p, index)?;
            state.locals.push(var);
        }
        let mut locals = input.body.get_locals_reader().map_err(e)?;
        for _ in 0..locals.get_count() {
            let offset = locals.original_position();
            let (count, vt) = locals.read().map_err(e)?;
            validator.define_locals(offset, count, vt).map_err(e)?;
            let t = WasmType::from(vt);
            for _ in 0..count {
                let var = b.declare_var(t.ir_type());
                let zero = zero_value(&mut b, t);
                def(&mut b, var, zero, index)?;
                state.locals.push(var);
            }
        }
        // The function body is a block whose exit returns.
        let exit = b.create_block();
        for t in &ty.results {
            b.append_block_param(exit, t.ir_type());
        }
        state.frames.push(Frame {
            kind: FrameKind::Block,
            height: 0,
            num_params: 0,
            num_results: ty.results.len(),
            target: exit,
            exit,
            exit_reached: false,
            else_block: None,
            params_at_entry: Vec::new(),
            heap_at_start: None,
            calls_at_start: 0,
            loop_call_free: false,
        });
        let mut ops = input.body.get_operators_reader().map_err(e)?;
        while !ops.eof() {
            let offset = ops.original_position() as usize;
            let op = ops.read().map_err(e)?;
            validator.op(offset as u64, &op).map_err(e)?;
            if let Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } = op {
                if !state.writes.scanned() {
                    state.writes.scan(ops.clone());
                }
            }
            b.set_srcloc(SourceLoc::new(offset as u32));
            state.translate(&mut b, &op, offset)?;
        }
        ops.finish().map_err(e)?;
        b.finalize().map_err(|err| WasmError::Invalid {
            func: Some(index),
            offset: input.body.range().start as usize,
            message: format!("internal error: the translated function is malformed: {err}"),
        })?;
        tr.stack = state.stack;
        tr.frames = state.frames;
        tr.locals = state.locals;
        tr.heap = state.heap;
        tr.writes = state.writes;
        Ok(())
    })();
    tr.builder_ctx = ctx;
    tr.allocs = Some(validator.into_allocations());
    result.map(|()| func)
}

fn def(b: &mut FunctionBuilder<'_>, var: Variable, v: Value, f: u32) -> Result<(), WasmError> {
    b.def_var(var, v).map_err(|err| WasmError::Invalid {
        func: Some(f),
        offset: 0,
        message: format!("internal error: {err}"),
    })
}

fn zero_value(b: &mut FunctionBuilder<'_>, t: WasmType) -> Value {
    match t {
        WasmType::I32 => b.ins().iconst(Type::I32, 0),
        WasmType::I64 | WasmType::FuncRef | WasmType::ExternRef => b.ins().iconst(Type::I64, 0),
        WasmType::F32 => b.ins().fconst(Type::F32, 0),
        WasmType::F64 => b.ins().fconst(Type::F64, 0),
        WasmType::V128 => b.ins().vconst(Type::I8X16, [0; 16]),
    }
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum FrameKind {
    Block,
    Loop,
    If,
}

/// One control frame.
struct Frame {
    kind: FrameKind,
    /// Operand-stack height below the frame's parameters.
    height: usize,
    num_params: usize,
    num_results: usize,
    /// Where a branch to this frame goes (the loop header, or the exit block).
    target: Block,
    /// The block after `end` (its parameters are the results).
    exit: Block,
    /// Has any branch or fallthrough to `exit` been emitted?
    exit_reached: bool,
    /// An `if`'s else block, until `else` or `end` uses it.
    else_block: Option<Block>,
    /// An `if`'s parameters, for its else arm.
    params_at_entry: Vec<Value>,
    /// What was known about the memory where a `block` or `if` started (see
    /// [`HeapCache::snapshot`]): it holds in an `if`'s else arm and at the exit.
    heap_at_start: Option<HeapCache>,
    /// [`State::calls`] where the construct started: when it is still the same at the
    /// exit, the memory's base and size loaded before the construct still hold there.
    calls_at_start: u32,
    /// A loop whose header kept the memory's base and size because the pre-scan found no
    /// call in it: its `end` checks that none was emitted.
    loop_call_free: bool,
}

impl Frame {
    fn branch_arity(&self) -> usize {
        if self.kind == FrameKind::Loop {
            self.num_params
        } else {
            self.num_results
        }
    }
}

struct State<'m> {
    info: &'m ModuleInfo,
    /// The module's bytes.
    wasm: &'m [u8],
    offsets: VmOffsets,
    func_index: u32,
    stack: Vec<Value>,
    frames: Vec<Frame>,
    locals: Vec<Variable>,
    /// Is the current position reachable?
    reachable: bool,
    /// While unreachable: how many frames opened in dead code are still open.
    dead_depth: u32,
    vmctx: Value,
    sigs: HashMap<u32, SigRef>,
    callees: HashMap<u32, FuncRef>,
    builtin_sigs: HashMap<Builtin, SigRef>,
    heap: HeapCache,
    /// Calls emitted so far ([`State::emit_call`]).
    calls: u32,
    /// The locals each construct may write.
    writes: ConstructWrites,
    /// Constructs (`block`, `loop`, `if`) started so far, reachable or not: the number of
    /// the next one in `writes`.
    constructs_seen: usize,
}

/// What the current block already knows about the linear memory (see the module docs).
/// Valid only in `block`: every value here is defined earlier in `block` or at a point
/// that dominates it, and every check recorded passed there. `base_size` and the
/// addresses computed from it hold only until the next call ([`HeapCache::called`]).
#[derive(Default, Clone)]
struct HeapCache {
    /// [`TranslateOptions::heap_values_across_blocks`]; [`HeapCache::forget`] keeps it.
    values_across_blocks: bool,
    block: Option<Block>,
    /// The memory's base address and size in bytes, once loaded.
    base_size: Option<(Value, Value)>,
    /// Index values already bounds-checked (at most [`HeapCache::MAX_CHECKS`]).
    checks: Vec<CheckedIndex>,
    /// The farthest end checked for a constant index (0: none; every end is at least 1).
    const_checked_end: u64,
}

/// An index value checked where this knowledge holds, with the end offset (`offset +
/// size`) the check covered, and the values computed from it that can be reused: its
/// zero-extension and `base + idx` for the memory base `base` (`None` once the block they
/// were made in is left without [`TranslateOptions::heap_values_across_blocks`]).
#[derive(Copy, Clone)]
struct CheckedIndex {
    index: Value,
    checked_end: u64,
    idx: Option<Value>,
    /// `(base, base + idx)`.
    addr: Option<(Value, Value)>,
}

impl HeapCache {
    /// Index values remembered at a time: a short linear search; later ones are checked
    /// as usual.
    const MAX_CHECKS: usize = 16;

    /// Forget everything unless still in `block`; then remember that block.
    fn enter(&mut self, block: Option<Block>) {
        if self.block != block {
            self.forget();
            self.block = block;
        }
    }

    /// The current block (`from`) ends in a branch to `to`, a fresh block whose only
    /// predecessor is `from`: `from` dominates `to`, so what holds at the branch holds at
    /// the start of `to`. Keep it, unless it was about another block.
    fn follow(&mut self, from: Option<Block>, to: Block) {
        if self.block != from {
            self.forget();
        }
        self.enter_dominated(to);
    }

    /// What holds at the current point of block `at`, for a block entered later that this
    /// point dominates ([`HeapCache::restore`]); `None` when it is about another block.
    fn snapshot(&self, at: Option<Block>) -> Option<HeapCache> {
        (self.block == at).then(|| self.clone())
    }

    /// Enter block `to`, dominated by the point `snapshot` was taken at; with
    /// `memory_unchanged`, no call came in between, so the base and size still hold.
    fn restore(&mut self, snapshot: &HeapCache, to: Block, memory_unchanged: bool) {
        self.clone_from(snapshot);
        if !memory_unchanged {
            self.base_size = None;
        }
        self.enter_dominated(to);
    }

    /// The current block `from` jumps to loop header `to`, which it dominates: the checks
    /// still hold there, but a call in the loop may reach the header again through a back
    /// edge, so the base and size only when the loop makes no call (`call_free`).
    fn enter_loop(&mut self, from: Option<Block>, to: Block, call_free: bool) {
        self.follow(from, to);
        if !call_free {
            self.base_size = None;
        }
    }

    /// Move what holds into block `to`, which the point it holds at dominates: the
    /// knowledge always; the values it names only with
    /// [`TranslateOptions::heap_values_across_blocks`] (else `to` makes its own).
    fn enter_dominated(&mut self, to: Block) {
        if !self.values_across_blocks {
            self.base_size = None;
            for c in &mut self.checks {
                c.idx = None;
                c.addr = None;
            }
        }
        self.block = Some(to);
    }

    /// A call was emitted: the memory may have grown and moved, so its base and size must
    /// be loaded again, but it never shrinks, so every check that passed still holds (the
    /// addresses computed from the old base are recomputed as they are used).
    fn called(&mut self) {
        self.base_size = None;
    }

    fn forget(&mut self) {
        self.block = None;
        self.base_size = None;
        self.checks.clear();
        self.const_checked_end = 0;
    }
}

/// What a call calls: a function of the module, or code through a signature.
#[derive(Copy, Clone)]
enum Callee {
    Direct(FuncRef),
    Indirect(SigRef, Value),
}

/// vmctx loads: the vmctx is always mapped and aligned.
const VM: MemFlags = MemFlags::trusted();
/// Linear memory and table accesses: bounds-checked explicitly, possibly unaligned.
const HEAP: MemFlags = MemFlags::new().with_notrap();

impl State<'_> {
    fn internal(&self, offset: usize, what: &str) -> WasmError {
        WasmError::Invalid {
            func: Some(self.func_index),
            offset,
            message: format!("internal error: {what}"),
        }
    }

    fn pop(&mut self, offset: usize) -> Result<Value, WasmError> {
        self.stack
            .pop()
            .ok_or_else(|| self.internal(offset, "operand stack underflow"))
    }

    fn pop2(&mut self, offset: usize) -> Result<(Value, Value), WasmError> {
        let b = self.pop(offset)?;
        let a = self.pop(offset)?;
        Ok((a, b))
    }

    fn popn(&mut self, n: usize, offset: usize) -> Result<Vec<Value>, WasmError> {
        if n > self.stack.len() {
            return Err(self.internal(offset, "operand stack underflow"));
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn peekn(&self, n: usize, offset: usize) -> Result<&[Value], WasmError> {
        if n > self.stack.len() {
            return Err(self.internal(offset, "operand stack underflow"));
        }
        Ok(&self.stack[self.stack.len() - n..])
    }

    fn block_type(&self, bt: BlockType) -> (Vec<WasmType>, Vec<WasmType>) {
        match bt {
            BlockType::Empty => (Vec::new(), Vec::new()),
            BlockType::Type(t) => (Vec::new(), vec![WasmType::from(t)]),
            BlockType::FuncType(i) => match self.info.types.get(i as usize) {
                Some(ft) => (ft.params.clone(), ft.results.clone()),
                None => (Vec::new(), Vec::new()),
            },
        }
    }

    fn sig_ref(&mut self, b: &mut FunctionBuilder<'_>, type_index: u32) -> SigRef {
        if let Some(&s) = self.sigs.get(&type_index) {
            return s;
        }
        let sig = self
            .info
            .types
            .get(type_index as usize)
            .map(ir_signature)
            .unwrap_or_default();
        let s = b.import_signature(sig);
        self.sigs.insert(type_index, s);
        s
    }

    fn vm_load(&mut self, b: &mut FunctionBuilder<'_>, ty: Type, base: Value, off: u64) -> Value {
        let (base, off) = self.fold_offset(b, base, off);
        b.ins().load(ty, VM, base, off)
    }

    /// `base + off` as an address and an `i32` immediate.
    fn fold_offset(&mut self, b: &mut FunctionBuilder<'_>, base: Value, off: u64) -> (Value, i32) {
        match i32::try_from(off) {
            Ok(o) => (base, o),
            Err(_) => {
                let k = b.ins().iconst(Type::I64, off as i64);
                (b.ins().iadd(base, k), 0)
            }
        }
    }

    fn iconst(b: &mut FunctionBuilder<'_>, ty: Type, v: i64) -> Value {
        b.ins().iconst(ty, v)
    }

    fn bool_to_i32(b: &mut FunctionBuilder<'_>, c: Value) -> Value {
        b.ins().uextend(Type::I32, c)
    }

    /// Call a builtin; returns its `i32` result if it has one. A status result traps.
    fn call_builtin(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        builtin: Builtin,
        operands: &[Value],
    ) -> Option<Value> {
        let sig = match self.builtin_sigs.get(&builtin) {
            Some(&s) => s,
            None => {
                let s = b.import_signature(builtin.signature());
                self.builtin_sigs.insert(builtin, s);
                s
            }
        };
        let vmctx = self.vmctx;
        let off = self.offsets.builtin(builtin);
        let callee = self.vm_load(b, Type::I64, vmctx, off);
        let mut args = Vec::with_capacity(operands.len() + 1);
        args.push(vmctx);
        args.extend_from_slice(operands);
        let inst = self.emit_call(b, Callee::Indirect(sig, callee), &args);
        let r = b.inst_results(inst).first().copied();
        if builtin.returns_status() {
            let code = if matches!(
                builtin,
                Builtin::MemoryFill | Builtin::MemoryCopy | Builtin::MemoryInit
            ) {
                TrapCode::HeapOutOfBounds
            } else {
                TrapCode::TableOutOfBounds
            };
            if let Some(r) = r {
                b.ins().trapnz(r, code);
            }
            return None;
        }
        r
    }

    /// The `(base, size_in_bytes)` of the module's memory, from the [`HeapCache`] when
    /// this block loaded them since the last call.
    fn memory(&mut self, b: &mut FunctionBuilder<'_>) -> (Value, Value) {
        self.heap.enter(b.current_block());
        if let Some(p) = self.heap.base_size {
            return p;
        }
        let p = self.load_memory(b);
        self.heap.base_size = Some(p);
        p
    }

    /// Load the memory's base and size from the vmctx (or the imported definition).
    fn load_memory(&mut self, b: &mut FunctionBuilder<'_>) -> (Value, Value) {
        let vmctx = self.vmctx;
        let imported = self.info.memory.as_ref().is_some_and(|m| m.imported);
        if imported {
            let def = self.vm_load(b, Type::I64, vmctx, u64::from(vmctx::MEMORY_DEFINITION));
            let base = b.ins().load(Type::I64, VM, def, 0);
            let size = b.ins().load(Type::I64, VM, def, 8);
            (base, size)
        } else {
            let base = self.vm_load(b, Type::I64, vmctx, u64::from(vmctx::MEMORY_BASE));
            let size = self.vm_load(b, Type::I64, vmctx, u64::from(vmctx::MEMORY_SIZE));
            (base, size)
        }
    }

    /// Bounds-check an access of `size` bytes at `index + memarg.offset` and return the
    /// address and immediate offset to use.
    fn heap_addr(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        index: Value,
        memarg: &MemArg,
        size: u32,
    ) -> (Value, i32) {
        let (base, mem_size) = self.memory(b);
        // offset < 2^32 and size <= 16: the end fits easily in 64 bits.
        let end_off = memarg.offset + u64::from(size);
        if let Some(addr) = Self::const_index(b, index) {
            let addr = u64::from(addr);
            let end = addr + end_off;
            if end > self.heap.const_checked_end {
                self.heap.const_checked_end = end;
                let k = b.ins().iconst(Type::I64, end as i64);
                Self::trap_past(b, k, mem_size);
            }
            return self.fold_offset(b, base, addr + memarg.offset);
        }
        if let Some(c) = self.heap.checks.iter_mut().find(|c| c.index == index) {
            let idx = *c
                .idx
                .get_or_insert_with(|| b.ins().uextend(Type::I64, index));
            if end_off > c.checked_end {
                c.checked_end = end_off;
                Self::bounds_check(b, idx, end_off, mem_size);
            }
            let addr = match c.addr {
                Some((made_with, addr)) if made_with == base => addr,
                // Made in another block, or before a call (the memory may have moved).
                _ => {
                    let addr = b.ins().iadd(base, idx);
                    c.addr = Some((base, addr));
                    addr
                }
            };
            return self.fold_offset(b, addr, memarg.offset);
        }
        let idx = b.ins().uextend(Type::I64, index);
        Self::bounds_check(b, idx, end_off, mem_size);
        let addr = b.ins().iadd(base, idx);
        if self.heap.checks.len() < HeapCache::MAX_CHECKS {
            self.heap.checks.push(CheckedIndex {
                index,
                checked_end: end_off,
                idx: Some(idx),
                addr: Some((base, addr)),
            });
        }
        self.fold_offset(b, addr, memarg.offset)
    }

    /// The address `index` holds when it is an `iconst` (zero-extended, as Wasm reads it).
    fn const_index(b: &FunctionBuilder<'_>, index: Value) -> Option<u32> {
        b.func.dfg.iconst_value(index).map(|imm| imm as u32)
    }

    /// Trap `heap_oob` unless `idx + end_off <= mem_size`.
    fn bounds_check(b: &mut FunctionBuilder<'_>, idx: Value, end_off: u64, mem_size: Value) {
        let k = b.ins().iconst(Type::I64, end_off as i64);
        let end = b.ins().iadd(idx, k);
        Self::trap_past(b, end, mem_size);
    }

    /// Trap `heap_oob` when the access's end (a byte offset) is beyond `mem_size`.
    fn trap_past(b: &mut FunctionBuilder<'_>, end: Value, mem_size: Value) {
        let oob = b.ins().icmp(IntCC::UnsignedGreaterThan, end, mem_size);
        b.ins().trapnz(oob, TrapCode::HeapOutOfBounds);
    }

    /// Emit a call (`call` of `callee`, or `call_indirect` through `sig`); the memory may
    /// grow and move in it ([`HeapCache::called`]). Every call goes through here.
    fn emit_call(&mut self, b: &mut FunctionBuilder<'_>, callee: Callee, args: &[Value]) -> Inst {
        self.heap.called();
        self.calls += 1;
        match callee {
            Callee::Direct(fref) => b.ins().call(fref, args),
            Callee::Indirect(sig, code) => b.ins().call_indirect(sig, code, args),
        }
    }

    fn load(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        ty: Type,
        kind: LoadKind,
        offset: usize,
    ) -> Result<(), WasmError> {
        let index = self.pop(offset)?;
        let size = match kind {
            LoadKind::Full => ty.bytes(),
            LoadKind::U8 | LoadKind::S8 => 1,
            LoadKind::U16 | LoadKind::S16 => 2,
            LoadKind::U32 | LoadKind::S32 => 4,
        };
        let (addr, off) = self.heap_addr(b, index, memarg, size);
        let v = match kind {
            LoadKind::Full => b.ins().load(ty, HEAP, addr, off),
            LoadKind::U8 => b.ins().uload8(ty, HEAP, addr, off),
            LoadKind::S8 => b.ins().sload8(ty, HEAP, addr, off),
            LoadKind::U16 => b.ins().uload16(ty, HEAP, addr, off),
            LoadKind::S16 => b.ins().sload16(ty, HEAP, addr, off),
            LoadKind::U32 => b.ins().uload32(ty, HEAP, addr, off),
            LoadKind::S32 => b.ins().sload32(ty, HEAP, addr, off),
        };
        self.stack.push(v);
        Ok(())
    }

    fn store(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        bytes: u32,
        offset: usize,
    ) -> Result<(), WasmError> {
        let (index, v) = self.pop2(offset)?;
        let full = b.func.dfg.value_type(v).map_or(0, |t| t.bytes());
        let (addr, off) = self.heap_addr(b, index, memarg, bytes);
        match (bytes, full) {
            (1, _) => b.ins().istore8(HEAP, v, addr, off),
            (2, _) => b.ins().istore16(HEAP, v, addr, off),
            (4, 8) => b.ins().istore32(HEAP, v, addr, off),
            _ => b.ins().store(HEAP, v, addr, off),
        };
        Ok(())
    }

    /// `(base, len)` of table `t` (`len` in elements, `i64`).
    fn table(&mut self, b: &mut FunctionBuilder<'_>, t: u32) -> (Value, Value) {
        let vmctx = self.vmctx;
        let def = self.vm_load(b, Type::I64, vmctx, self.offsets.table(t));
        let base = b.ins().load(Type::I64, VM, def, 0);
        let len = b.ins().load(Type::I64, VM, def, 8);
        (base, len)
    }

    /// Address of element `index` of table `t`, trapping `table_oob` when out of bounds.
    fn table_elem_addr(&mut self, b: &mut FunctionBuilder<'_>, t: u32, index: Value) -> Value {
        let (base, len) = self.table(b, t);
        let idx = b.ins().uextend(Type::I64, index);
        let oob = b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, idx, len);
        b.ins().trapnz(oob, TrapCode::TableOutOfBounds);
        let three = b.ins().iconst(Type::I64, 3);
        let scaled = b.ins().ishl(idx, three);
        b.ins().iadd(base, scaled)
    }

    /// The address of global `g`'s value.
    fn global_addr(&mut self, b: &mut FunctionBuilder<'_>, g: u32) -> (Value, i32) {
        let vmctx = self.vmctx;
        let off = self.offsets.global(g);
        if self.info.global_is_imported(g) {
            let p = self.vm_load(b, Type::I64, vmctx, off);
            (p, 0)
        } else {
            self.fold_offset(b, vmctx, off)
        }
    }

    /// Emit a branch to frame `depth` (0 = innermost) carrying its arity's top values.
    fn br(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        depth: u32,
        offset: usize,
    ) -> Result<(), WasmError> {
        let i = self
            .frames
            .len()
            .checked_sub(1 + depth as usize)
            .ok_or_else(|| self.internal(offset, "branch depth"))?;
        let arity = self.frames[i].branch_arity();
        let target = self.frames[i].target;
        let args = self.peekn(arity, offset)?.to_vec();
        b.ins().jump(target, &args);
        if self.frames[i].kind != FrameKind::Loop {
            self.frames[i].exit_reached = true;
        }
        Ok(())
    }

    fn frame_at(&mut self, depth: u32, offset: usize) -> Result<usize, WasmError> {
        self.frames
            .len()
            .checked_sub(1 + depth as usize)
            .ok_or_else(|| self.internal(offset, "branch depth"))
    }

    fn set_unreachable(&mut self) {
        self.reachable = false;
        self.dead_depth = 0;
    }

    fn translate(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
        offset: usize,
    ) -> Result<(), WasmError> {
        if !self.reachable {
            return self.translate_unreachable(b, op, offset);
        }
        use Operator as O;
        match *op {
            // ---- control -----------------------------------------------------------
            O::Unreachable => {
                b.ins().trap(TrapCode::Unreachable);
                self.set_unreachable();
            }
            O::Nop => {}
            O::Block { blockty } => {
                let (params, results) = self.block_type(blockty);
                let exit = b.create_block();
                for t in &results {
                    b.append_block_param(exit, t.ir_type());
                }
                let height = self.stack.len() - params.len().min(self.stack.len());
                self.pass_through_construct(b, exit);
                let heap_at_start = self.heap.snapshot(b.current_block());
                self.frames.push(Frame {
                    kind: FrameKind::Block,
                    height,
                    num_params: params.len(),
                    num_results: results.len(),
                    target: exit,
                    exit,
                    exit_reached: false,
                    else_block: None,
                    params_at_entry: Vec::new(),
                    heap_at_start,
                    calls_at_start: self.calls,
                    loop_call_free: false,
                });
            }
            O::Loop { blockty } => {
                let (params, results) = self.block_type(blockty);
                let header = b.create_block();
                for t in &params {
                    b.append_block_param(header, t.ir_type());
                }
                let exit = b.create_block();
                for t in &results {
                    b.append_block_param(exit, t.ir_type());
                }
                let args = self.popn(params.len(), offset)?;
                b.ins().jump(header, &args);
                let call_free = self.writes.calls_nothing(self.constructs_seen);
                self.pass_through_construct(b, header);
                self.heap.enter_loop(b.current_block(), header, call_free);
                b.switch_to_block(header);
                let height = self.stack.len();
                self.stack.extend_from_slice(b.block_params(header));
                self.frames.push(Frame {
                    kind: FrameKind::Loop,
                    height,
                    num_params: params.len(),
                    num_results: results.len(),
                    target: header,
                    exit,
                    exit_reached: false,
                    else_block: None,
                    params_at_entry: Vec::new(),
                    heap_at_start: None,
                    calls_at_start: self.calls,
                    loop_call_free: call_free,
                });
            }
            O::If { blockty } => {
                let cond = self.pop(offset)?;
                let (params, results) = self.block_type(blockty);
                let then_block = b.create_block();
                let else_block = b.create_block();
                let exit = b.create_block();
                for t in &results {
                    b.append_block_param(exit, t.ir_type());
                }
                b.ins().brif(cond, then_block, &[], else_block, &[]);
                self.pass_through_construct(b, exit);
                b.seal_block(then_block);
                b.seal_block(else_block);
                let heap_at_start = self.heap.snapshot(b.current_block());
                self.heap.follow(b.current_block(), then_block);
                b.switch_to_block(then_block);
                let params_at_entry = self.peekn(params.len(), offset)?.to_vec();
                let height = self.stack.len() - params.len();
                self.frames.push(Frame {
                    kind: FrameKind::If,
                    height,
                    num_params: params.len(),
                    num_results: results.len(),
                    target: exit,
                    exit,
                    exit_reached: false,
                    else_block: Some(else_block),
                    params_at_entry,
                    heap_at_start,
                    calls_at_start: self.calls,
                    loop_call_free: false,
                });
            }
            O::Else => {
                // The then arm falls through to the exit.
                let i = self.frame_at(0, offset)?;
                let n = self.frames[i].num_results;
                let args = self.popn(n, offset)?;
                let exit = self.frames[i].exit;
                b.ins().jump(exit, &args);
                self.frames[i].exit_reached = true;
                self.enter_else(b, i);
            }
            O::End => {
                let i = self.frame_at(0, offset)?;
                let n = self.frames[i].num_results;
                let args = self.popn(n, offset)?;
                let exit = self.frames[i].exit;
                b.ins().jump(exit, &args);
                // Nothing else reached the exit (and no else arm will): this jump is its
                // only predecessor.
                let only_predecessor =
                    !self.frames[i].exit_reached && self.frames[i].else_block.is_none();
                self.frames[i].exit_reached = true;
                if only_predecessor {
                    self.heap.follow(b.current_block(), exit);
                }
                self.end_frame(b, offset)?;
            }
            O::Br { relative_depth } => {
                self.br(b, relative_depth, offset)?;
                self.set_unreachable();
            }
            O::BrIf { relative_depth } => {
                let cond = self.pop(offset)?;
                let i = self.frame_at(relative_depth, offset)?;
                let arity = self.frames[i].branch_arity();
                let target = self.frames[i].target;
                if self.frames[i].kind != FrameKind::Loop {
                    self.frames[i].exit_reached = true;
                }
                let args = self.peekn(arity, offset)?.to_vec();
                let cont = b.create_block();
                b.ins().brif(cond, target, &args, cont, &[]);
                b.seal_block(cont);
                self.heap.follow(b.current_block(), cont);
                b.switch_to_block(cont);
            }
            O::BrTable { ref targets } => {
                let index = self.pop(offset)?;
                let default_depth = targets.default();
                let mut depths = Vec::with_capacity(targets.len() as usize);
                for t in targets.targets() {
                    depths.push(t.map_err(|e| WasmError::from_reader(e, Some(self.func_index)))?);
                }
                let di = self.frame_at(default_depth, offset)?;
                let arity = self.frames[di].branch_arity();
                let args = self.peekn(arity, offset)?.to_vec();
                let mut entries: Vec<Block> = Vec::with_capacity(depths.len());
                for &d in &depths {
                    let i = self.frame_at(d, offset)?;
                    entries.push(self.frames[i].target);
                    if self.frames[i].kind != FrameKind::Loop {
                        self.frames[i].exit_reached = true;
                    }
                }
                if self.frames[di].kind != FrameKind::Loop {
                    self.frames[di].exit_reached = true;
                }
                let default = self.frames[di].target;
                let table: Vec<(Block, &[Value])> =
                    entries.iter().map(|&blk| (blk, args.as_slice())).collect();
                b.ins().br_table(index, (default, &args), &table);
                self.set_unreachable();
            }
            O::Return => {
                self.br(b, self.frames.len() as u32 - 1, offset)?;
                self.set_unreachable();
            }
            O::Call { function_index } => self.call(b, function_index, offset)?,
            O::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(b, type_index, table_index, offset)?,
            O::Drop => {
                self.pop(offset)?;
            }
            O::Select | O::TypedSelect { .. } => {
                let c = self.pop(offset)?;
                let (x, y) = self.pop2(offset)?;
                let v = b.ins().select(c, x, y);
                self.stack.push(v);
            }

            // ---- variables ---------------------------------------------------------
            O::LocalGet { local_index } => {
                let var = self.local(local_index, offset)?;
                let v = b
                    .use_var(var)
                    .map_err(|err| self.internal(offset, &err.to_string()))?;
                self.stack.push(v);
            }
            O::LocalSet { local_index } => {
                let var = self.local(local_index, offset)?;
                let v = self.pop(offset)?;
                def(b, var, v, self.func_index)?;
            }
            O::LocalTee { local_index } => {
                let var = self.local(local_index, offset)?;
                let v = *self
                    .stack
                    .last()
                    .ok_or_else(|| self.internal(offset, "operand stack underflow"))?;
                def(b, var, v, self.func_index)?;
            }
            O::GlobalGet { global_index } => {
                let ty = self.global_type(global_index, offset)?;
                let (addr, off) = self.global_addr(b, global_index);
                let v = b.ins().load(ty, VM, addr, off);
                self.stack.push(v);
            }
            O::GlobalSet { global_index } => {
                let v = self.pop(offset)?;
                let (addr, off) = self.global_addr(b, global_index);
                b.ins().store(VM, v, addr, off);
            }

            // ---- memory ------------------------------------------------------------
            O::I32Load { ref memarg } => self.load(b, memarg, Type::I32, LoadKind::Full, offset)?,
            O::I64Load { ref memarg } => self.load(b, memarg, Type::I64, LoadKind::Full, offset)?,
            O::F32Load { ref memarg } => self.load(b, memarg, Type::F32, LoadKind::Full, offset)?,
            O::F64Load { ref memarg } => self.load(b, memarg, Type::F64, LoadKind::Full, offset)?,
            O::I32Load8S { ref memarg } => self.load(b, memarg, Type::I32, LoadKind::S8, offset)?,
            O::I32Load8U { ref memarg } => self.load(b, memarg, Type::I32, LoadKind::U8, offset)?,
            O::I32Load16S { ref memarg } => {
                self.load(b, memarg, Type::I32, LoadKind::S16, offset)?
            }
            O::I32Load16U { ref memarg } => {
                self.load(b, memarg, Type::I32, LoadKind::U16, offset)?
            }
            O::I64Load8S { ref memarg } => self.load(b, memarg, Type::I64, LoadKind::S8, offset)?,
            O::I64Load8U { ref memarg } => self.load(b, memarg, Type::I64, LoadKind::U8, offset)?,
            O::I64Load16S { ref memarg } => {
                self.load(b, memarg, Type::I64, LoadKind::S16, offset)?
            }
            O::I64Load16U { ref memarg } => {
                self.load(b, memarg, Type::I64, LoadKind::U16, offset)?
            }
            O::I64Load32S { ref memarg } => {
                self.load(b, memarg, Type::I64, LoadKind::S32, offset)?
            }
            O::I64Load32U { ref memarg } => {
                self.load(b, memarg, Type::I64, LoadKind::U32, offset)?
            }
            O::I32Store { ref memarg } | O::F32Store { ref memarg } => {
                self.store(b, memarg, 4, offset)?
            }
            O::I64Store { ref memarg } | O::F64Store { ref memarg } => {
                self.store(b, memarg, 8, offset)?
            }
            O::I32Store8 { ref memarg } | O::I64Store8 { ref memarg } => {
                self.store(b, memarg, 1, offset)?
            }
            O::I32Store16 { ref memarg } | O::I64Store16 { ref memarg } => {
                self.store(b, memarg, 2, offset)?
            }
            O::I64Store32 { ref memarg } => self.store(b, memarg, 4, offset)?,
            O::MemorySize { .. } | O::MemoryGrow { .. }
                if self.wasm.get(offset + 1) != Some(&0) =>
            {
                // Without multi-memory the memory index is one reserved zero byte, which
                // wasmparser reads as a LEB128 (accepting `80 00`).
                return Err(WasmError::Invalid {
                    func: Some(self.func_index),
                    offset: offset + 1,
                    message: "zero byte expected".into(),
                });
            }
            O::MemorySize { .. } => {
                let (_, size) = self.memory(b);
                let sixteen = b.ins().iconst(Type::I64, 16);
                let pages = b.ins().ushr(size, sixteen);
                let v = b.ins().ireduce(Type::I32, pages);
                self.stack.push(v);
            }
            O::MemoryGrow { .. } => {
                let delta = self.pop(offset)?;
                let r = self.builtin_value(b, Builtin::MemoryGrow, &[delta], offset)?;
                self.stack.push(r);
            }
            O::MemoryFill { .. } => {
                let args = self.popn(3, offset)?;
                self.call_builtin(b, Builtin::MemoryFill, &args);
            }
            O::MemoryCopy { .. } => {
                let args = self.popn(3, offset)?;
                self.call_builtin(b, Builtin::MemoryCopy, &args);
            }
            O::MemoryInit { data_index, .. } => {
                let mut args = vec![Self::iconst(b, Type::I32, data_index as i64)];
                args.extend(self.popn(3, offset)?);
                self.call_builtin(b, Builtin::MemoryInit, &args);
            }
            O::DataDrop { data_index } => {
                let seg = Self::iconst(b, Type::I32, data_index as i64);
                self.call_builtin(b, Builtin::DataDrop, &[seg]);
            }

            // ---- constants ---------------------------------------------------------
            O::I32Const { value } => {
                let v = b.ins().iconst(Type::I32, value as i64);
                self.stack.push(v);
            }
            O::I64Const { value } => {
                let v = b.ins().iconst(Type::I64, value);
                self.stack.push(v);
            }
            O::F32Const { value } => {
                let v = b.ins().fconst(Type::F32, u64::from(value.bits()));
                self.stack.push(v);
            }
            O::F64Const { value } => {
                let v = b.ins().fconst(Type::F64, value.bits());
                self.stack.push(v);
            }

            // ---- references and tables -------------------------------------------
            O::RefNull { .. } => {
                let v = b.ins().iconst(Type::I64, 0);
                self.stack.push(v);
            }
            O::RefIsNull => {
                let r = self.pop(offset)?;
                let zero = b.ins().iconst(Type::I64, 0);
                let c = b.ins().icmp(IntCC::Equal, r, zero);
                let v = Self::bool_to_i32(b, c);
                self.stack.push(v);
            }
            O::RefFunc { function_index } => {
                let vmctx = self.vmctx;
                let off = self.offsets.func_ref(function_index);
                let k = b.ins().iconst(Type::I64, off as i64);
                let v = b.ins().iadd(vmctx, k);
                self.stack.push(v);
            }
            O::TableGet { table } => {
                let index = self.pop(offset)?;
                let addr = self.table_elem_addr(b, table, index);
                let v = b.ins().load(Type::I64, HEAP, addr, 0);
                self.stack.push(v);
            }
            O::TableSet { table } => {
                let (index, v) = self.pop2(offset)?;
                let addr = self.table_elem_addr(b, table, index);
                b.ins().store(HEAP, v, addr, 0);
            }
            O::TableSize { table } => {
                let (_, len) = self.table(b, table);
                let v = b.ins().ireduce(Type::I32, len);
                self.stack.push(v);
            }
            O::TableGrow { table } => {
                let (init, delta) = self.pop2(offset)?;
                let t = Self::iconst(b, Type::I32, table as i64);
                let r = self.builtin_value(b, Builtin::TableGrow, &[t, init, delta], offset)?;
                self.stack.push(r);
            }
            O::TableFill { table } => {
                let args = self.popn(3, offset)?;
                let t = Self::iconst(b, Type::I32, table as i64);
                self.call_builtin(b, Builtin::TableFill, &[t, args[0], args[1], args[2]]);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let args = self.popn(3, offset)?;
                let d = Self::iconst(b, Type::I32, dst_table as i64);
                let s = Self::iconst(b, Type::I32, src_table as i64);
                self.call_builtin(b, Builtin::TableCopy, &[d, s, args[0], args[1], args[2]]);
            }
            O::TableInit { elem_index, table } => {
                let args = self.popn(3, offset)?;
                let t = Self::iconst(b, Type::I32, table as i64);
                let e = Self::iconst(b, Type::I32, elem_index as i64);
                self.call_builtin(b, Builtin::TableInit, &[t, e, args[0], args[1], args[2]]);
            }
            O::ElemDrop { elem_index } => {
                let e = Self::iconst(b, Type::I32, elem_index as i64);
                self.call_builtin(b, Builtin::ElemDrop, &[e]);
            }

            // ---- numeric -----------------------------------------------------------
            _ => return self.translate_numeric(b, op, offset),
        }
        Ok(())
    }

    fn builtin_value(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        builtin: Builtin,
        operands: &[Value],
        offset: usize,
    ) -> Result<Value, WasmError> {
        self.call_builtin(b, builtin, operands)
            .ok_or_else(|| self.internal(offset, "builtin without a result"))
    }

    /// Count the construct starting here and, when its writes are known, tell the builder
    /// that the locals it never writes hold their values from the end of the current block
    /// (the one the construct starts in; a loop's jump to its header or an `if`'s branch
    /// ends it but leaves it current) in `join` (the exit, or a loop's header).
    fn pass_through_construct(&mut self, b: &mut FunctionBuilder<'_>, join: Block) {
        let n = self.constructs_seen;
        self.constructs_seen += 1;
        let (Some(start), Some(written)) = (b.current_block(), self.writes.written(n)) else {
            return;
        };
        // Variable `i` is local `i` (declared in order); an out-of-range index is invalid
        // and validation reports it where it is, so it can be left out.
        let locals = &self.locals;
        b.set_passthrough(
            join,
            start,
            written
                .iter()
                .filter_map(|&l| locals.get(l as usize).copied()),
        );
    }

    fn local(&self, i: u32, offset: usize) -> Result<Variable, WasmError> {
        self.locals
            .get(i as usize)
            .copied()
            .ok_or_else(|| self.internal(offset, "local index"))
    }

    fn global_type(&self, g: u32, offset: usize) -> Result<Type, WasmError> {
        self.info
            .globals
            .get(g as usize)
            .map(|d| d.ty.ir_type())
            .ok_or_else(|| self.internal(offset, "global index"))
    }

    /// Switch to an `if` frame's else arm (its parameters restored).
    fn enter_else(&mut self, b: &mut FunctionBuilder<'_>, i: usize) {
        let else_block = self.frames[i].else_block.take();
        let height = self.frames[i].height;
        self.stack.truncate(height);
        let params = core::mem::take(&mut self.frames[i].params_at_entry);
        self.stack.extend_from_slice(&params);
        if let Some(eb) = else_block {
            b.switch_to_block(eb);
            if let Some(heap) = &self.frames[i].heap_at_start {
                // The else block's only predecessor is the block of the `if`.
                self.heap.restore(heap, eb, true);
            }
        }
        self.reachable = true;
    }

    /// Close the innermost frame at `end` (its fallthrough, if any, already emitted).
    fn end_frame(&mut self, b: &mut FunctionBuilder<'_>, offset: usize) -> Result<(), WasmError> {
        let mut frame = self
            .frames
            .pop()
            .ok_or_else(|| self.internal(offset, "end without a frame"))?;
        if let Some(eb) = frame.else_block.take() {
            // An `if` without `else`: the else arm passes the parameters through.
            b.switch_to_block(eb);
            b.ins().jump(frame.exit, &frame.params_at_entry);
            if !frame.exit_reached {
                // ... and is the exit's only predecessor, after the block of the `if`.
                if let Some(heap) = &frame.heap_at_start {
                    self.heap.restore(heap, frame.exit, true);
                }
            }
            frame.exit_reached = true;
        }
        if frame.kind == FrameKind::Loop {
            b.seal_block(frame.target);
            if frame.loop_call_free && self.calls != frame.calls_at_start {
                return Err(self.internal(offset, "a loop the pre-scan found call-free calls"));
            }
        }
        self.stack.truncate(frame.height);
        b.seal_block(frame.exit);
        if frame.exit_reached {
            if self.heap.block != Some(frame.exit) {
                // A merge: what held where the construct started holds here, since that
                // point dominates the exit; the base and size only if nothing was called.
                if let Some(heap) = &frame.heap_at_start {
                    let unchanged = self.calls == frame.calls_at_start;
                    self.heap.restore(heap, frame.exit, unchanged);
                }
            }
            b.switch_to_block(frame.exit);
            self.stack.extend_from_slice(b.block_params(frame.exit));
            self.reachable = true;
            if self.frames.is_empty() {
                let rets = b.block_params(frame.exit).to_vec();
                b.ins().return_(&rets);
                self.reachable = false;
            }
        } else {
            self.set_unreachable();
            if self.frames.is_empty() {
                // Nothing reaches the function's end; the exit block is never placed.
                self.reachable = false;
            }
        }
        Ok(())
    }

    /// Operators while the current position is unreachable: only frame structure matters.
    fn translate_unreachable(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
        offset: usize,
    ) -> Result<(), WasmError> {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                self.constructs_seen += 1;
                self.dead_depth += 1;
            }
            Operator::Else if self.dead_depth == 0 => {
                let i = self.frame_at(0, offset)?;
                if self.frames[i].else_block.is_some() {
                    self.enter_else(b, i);
                }
            }
            Operator::End if self.dead_depth > 0 => self.dead_depth -= 1,
            Operator::End => {
                if self.frames.is_empty() {
                    return Ok(());
                }
                self.end_frame(b, offset)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn call(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        f: u32,
        offset: usize,
    ) -> Result<(), WasmError> {
        let type_index = *self
            .info
            .funcs
            .get(f as usize)
            .ok_or_else(|| self.internal(offset, "function index"))?;
        let nparams = self.info.types[type_index as usize].params.len();
        let wasm_args = self.popn(nparams, offset)?;
        let sig = self.sig_ref(b, type_index);
        let vmctx = self.vmctx;
        let inst = if f < self.info.num_imported_funcs {
            // Through the import's FuncRef: its code and its own vmctx.
            let off = self.offsets.func_ref(f);
            let code = self.vm_load(b, Type::I64, vmctx, off + u64::from(vmctx::FUNC_REF_CODE));
            let callee_vmctx =
                self.vm_load(b, Type::I64, vmctx, off + u64::from(vmctx::FUNC_REF_VMCTX));
            let mut args = Vec::with_capacity(nparams + 1);
            args.push(callee_vmctx);
            args.extend_from_slice(&wasm_args);
            self.emit_call(b, Callee::Indirect(sig, code), &args)
        } else {
            let fref = match self.callees.get(&f) {
                Some(&r) => r,
                None => {
                    let r = b.import_user_function(func_name(f), sig);
                    self.callees.insert(f, r);
                    r
                }
            };
            let mut args = Vec::with_capacity(nparams + 1);
            args.push(vmctx);
            args.extend_from_slice(&wasm_args);
            self.emit_call(b, Callee::Direct(fref), &args)
        };
        self.stack.extend_from_slice(b.inst_results(inst));
        Ok(())
    }

    fn call_indirect(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        type_index: u32,
        table: u32,
        offset: usize,
    ) -> Result<(), WasmError> {
        let index = self.pop(offset)?;
        let nparams = self
            .info
            .types
            .get(type_index as usize)
            .ok_or_else(|| self.internal(offset, "type index"))?
            .params
            .len();
        let wasm_args = self.popn(nparams, offset)?;
        let addr = self.table_elem_addr(b, table, index);
        let fref = b.ins().load(Type::I64, HEAP, addr, 0);
        b.ins().trapz(fref, TrapCode::IndirectCallToNull);
        let actual = b
            .ins()
            .load(Type::I32, VM, fref, vmctx::FUNC_REF_SIG_ID as i32);
        let vmctx = self.vmctx;
        let sig_off = self.offsets.sig_id(type_index);
        let expected = self.vm_load(b, Type::I32, vmctx, sig_off);
        let mismatch = b.ins().icmp(IntCC::NotEqual, actual, expected);
        b.ins().trapnz(mismatch, TrapCode::BadSignature);
        let code = b
            .ins()
            .load(Type::I64, VM, fref, vmctx::FUNC_REF_CODE as i32);
        let callee_vmctx = b
            .ins()
            .load(Type::I64, VM, fref, vmctx::FUNC_REF_VMCTX as i32);
        let sig = self.sig_ref(b, type_index);
        let mut args = Vec::with_capacity(nparams + 1);
        args.push(callee_vmctx);
        args.extend_from_slice(&wasm_args);
        let inst = self.emit_call(b, Callee::Indirect(sig, code), &args);
        self.stack.extend_from_slice(b.inst_results(inst));
        Ok(())
    }

    fn unop(&mut self, offset: usize, f: impl FnOnce(Value) -> Value) -> Result<(), WasmError> {
        let a = self.pop(offset)?;
        let v = f(a);
        self.stack.push(v);
        Ok(())
    }

    fn binop(
        &mut self,
        offset: usize,
        f: impl FnOnce(Value, Value) -> Value,
    ) -> Result<(), WasmError> {
        let (a, c) = self.pop2(offset)?;
        let v = f(a, c);
        self.stack.push(v);
        Ok(())
    }

    fn translate_numeric(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
        offset: usize,
    ) -> Result<(), WasmError> {
        use Operator as O;
        use Type::{F32, F64, I16, I32, I64, I8};
        macro_rules! bin {
            ($m:ident) => {
                self.binop(offset, |x, y| b.ins().$m(x, y))?
            };
        }
        macro_rules! un {
            ($m:ident) => {
                self.unop(offset, |x| b.ins().$m(x))?
            };
        }
        macro_rules! cvt {
            ($m:ident, $t:expr) => {
                self.unop(offset, |x| b.ins().$m($t, x))?
            };
        }
        // Comparisons produce an `i8`; Wasm wants an `i32`.
        macro_rules! cmp {
            ($m:ident, $cc:expr) => {
                self.binop(offset, |x, y| {
                    let c = b.ins().$m($cc, x, y);
                    b.ins().uextend(I32, c)
                })?
            };
        }
        macro_rules! eqz {
            ($t:expr) => {
                self.unop(offset, |x| {
                    let zero = b.ins().iconst($t, 0);
                    let c = b.ins().icmp(IntCC::Equal, x, zero);
                    b.ins().uextend(I32, c)
                })?
            };
        }
        // `extendN_s`: sign-extend the low bits of type `$from` within `$t`.
        macro_rules! extend_s {
            ($t:expr, $from:expr) => {
                self.unop(offset, |x| {
                    let n = b.ins().ireduce($from, x);
                    b.ins().sextend($t, n)
                })?
            };
        }
        match *op {
            O::I32Eqz => eqz!(I32),
            O::I64Eqz => eqz!(I64),
            O::I32Eq | O::I64Eq => cmp!(icmp, IntCC::Equal),
            O::I32Ne | O::I64Ne => cmp!(icmp, IntCC::NotEqual),
            O::I32LtS | O::I64LtS => cmp!(icmp, IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => cmp!(icmp, IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => cmp!(icmp, IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => cmp!(icmp, IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => cmp!(icmp, IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => cmp!(icmp, IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => cmp!(icmp, IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => cmp!(icmp, IntCC::UnsignedGreaterThanOrEqual),
            O::F32Eq | O::F64Eq => cmp!(fcmp, FloatCC::Equal),
            O::F32Ne | O::F64Ne => cmp!(fcmp, FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => cmp!(fcmp, FloatCC::LessThan),
            O::F32Gt | O::F64Gt => cmp!(fcmp, FloatCC::GreaterThan),
            O::F32Le | O::F64Le => cmp!(fcmp, FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => cmp!(fcmp, FloatCC::GreaterThanOrEqual),

            O::I32Clz | O::I64Clz => un!(clz),
            O::I32Ctz | O::I64Ctz => un!(ctz),
            O::I32Popcnt | O::I64Popcnt => un!(popcnt),
            O::I32Add | O::I64Add => bin!(iadd),
            O::I32Sub | O::I64Sub => bin!(isub),
            O::I32Mul | O::I64Mul => bin!(imul),
            O::I32DivS | O::I64DivS => bin!(sdiv),
            O::I32DivU | O::I64DivU => bin!(udiv),
            O::I32RemS | O::I64RemS => bin!(srem),
            O::I32RemU | O::I64RemU => bin!(urem),
            O::I32And | O::I64And => bin!(band),
            O::I32Or | O::I64Or => bin!(bor),
            O::I32Xor | O::I64Xor => bin!(bxor),
            O::I32Shl | O::I64Shl => bin!(ishl),
            O::I32ShrS | O::I64ShrS => bin!(sshr),
            O::I32ShrU | O::I64ShrU => bin!(ushr),
            O::I32Rotl | O::I64Rotl => bin!(rotl),
            O::I32Rotr | O::I64Rotr => bin!(rotr),

            O::F32Abs | O::F64Abs => un!(fabs),
            O::F32Neg | O::F64Neg => un!(fneg),
            O::F32Ceil | O::F64Ceil => un!(ceil),
            O::F32Floor | O::F64Floor => un!(floor),
            O::F32Trunc | O::F64Trunc => un!(trunc),
            O::F32Nearest | O::F64Nearest => un!(nearest),
            O::F32Sqrt | O::F64Sqrt => un!(sqrt),
            O::F32Add | O::F64Add => bin!(fadd),
            O::F32Sub | O::F64Sub => bin!(fsub),
            O::F32Mul | O::F64Mul => bin!(fmul),
            O::F32Div | O::F64Div => bin!(fdiv),
            O::F32Min | O::F64Min => bin!(fmin),
            O::F32Max | O::F64Max => bin!(fmax),
            O::F32Copysign | O::F64Copysign => bin!(fcopysign),

            O::I32WrapI64 => cvt!(ireduce, I32),
            O::I64ExtendI32S => cvt!(sextend, I64),
            O::I64ExtendI32U => cvt!(uextend, I64),
            O::I32TruncF32S | O::I32TruncF64S => cvt!(fcvt_to_sint, I32),
            O::I32TruncF32U | O::I32TruncF64U => cvt!(fcvt_to_uint, I32),
            O::I64TruncF32S | O::I64TruncF64S => cvt!(fcvt_to_sint, I64),
            O::I64TruncF32U | O::I64TruncF64U => cvt!(fcvt_to_uint, I64),
            O::I32TruncSatF32S | O::I32TruncSatF64S => cvt!(fcvt_to_sint_sat, I32),
            O::I32TruncSatF32U | O::I32TruncSatF64U => cvt!(fcvt_to_uint_sat, I32),
            O::I64TruncSatF32S | O::I64TruncSatF64S => cvt!(fcvt_to_sint_sat, I64),
            O::I64TruncSatF32U | O::I64TruncSatF64U => cvt!(fcvt_to_uint_sat, I64),
            O::F32ConvertI32S | O::F32ConvertI64S => cvt!(fcvt_from_sint, F32),
            O::F32ConvertI32U | O::F32ConvertI64U => cvt!(fcvt_from_uint, F32),
            O::F64ConvertI32S | O::F64ConvertI64S => cvt!(fcvt_from_sint, F64),
            O::F64ConvertI32U | O::F64ConvertI64U => cvt!(fcvt_from_uint, F64),
            O::F32DemoteF64 => cvt!(fdemote, F32),
            O::F64PromoteF32 => cvt!(fpromote, F64),
            O::I32ReinterpretF32 => cvt!(bitcast, I32),
            O::I64ReinterpretF64 => cvt!(bitcast, I64),
            O::F32ReinterpretI32 => cvt!(bitcast, F32),
            O::F64ReinterpretI64 => cvt!(bitcast, F64),
            O::I32Extend8S => extend_s!(I32, I8),
            O::I32Extend16S => extend_s!(I32, I16),
            O::I64Extend8S => extend_s!(I64, I8),
            O::I64Extend16S => extend_s!(I64, I16),
            O::I64Extend32S => extend_s!(I64, I32),
            ref other => {
                if self.translate_simd(b, other, offset)? {
                    return Ok(());
                }
                // Validation admits only Wasm 2.0, all handled above.
                return Err(WasmError::Unsupported {
                    func: Some(self.func_index),
                    offset,
                    message: format!("operator {other:?}"),
                });
            }
        }
        Ok(())
    }
}

#[derive(Copy, Clone)]
enum LoadKind {
    Full,
    U8,
    S8,
    U16,
    S16,
    U32,
    S32,
}
