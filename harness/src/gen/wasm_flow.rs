//! Kiln's own generator of Wasm modules for the differential loop, aimed at what
//! wasm-smith's modules rarely make observable: **locals written inside nested `block`s,
//! `loop`s and `if`s and read after them**, values crossing construct boundaries on the
//! stack (block and loop parameters and results), and branches out of constructs
//! (`br`, `br_if`, `br_table`), including code after an unconditional branch.
//!
//! Why: wasm-smith picks each instruction at random, so a `local.set` inside a construct
//! seldom reaches a function's result. With a bug planted in the translator's per-construct
//! write scan (it ignored `local.tee`), 30 s of wasm-smith cases found nothing. Here every
//! function ends by folding **every** local into its `i64` result, so a wrong value in any
//! local at the end is a wrong result.
//!
//! A module: one to four functions (`f0`, `f1`, … exported; integer and float parameters —
//! and `v128` in half the modules, whose locals and block types then hold vectors too; an
//! `i64` result, sometimes followed by more results), one exported 1-page memory `mem`,
//! one exported mutable `i64` global `g`. A body is a random tree of statements:
//! - `local.set` of an expression (constants, `local.get`, `local.tee`, integer
//!   arithmetic and comparisons, conversions, `select`, float bit moves, loads, `if` and
//!   `block` expressions);
//! - `block`, `if`/`else` and `loop` with no type, one result, or parameters and results
//!   (a multi-value function type); parameters are stored into locals on entry, results
//!   after the construct;
//! - branches to enclosing `block`/`if` labels with their values, `br_table` among labels
//!   of one type, and *counted continues* to loops;
//! - `global.set`, stores, calls of lower-numbered functions (never recursion; extra
//!   results are stored into locals), and `return` from inside constructs (with the same
//!   fold of every local as the end of the body).
//!
//! Invariants (every case is deterministic on every engine, and ends):
//! - no traps: memory addresses are masked into the page (`& 0xfff0` plus an offset of at
//!   most 8, for accesses of at most 8 bytes); there is no division, no float arithmetic
//!   (floats are only moved, selected, compared, loaded and reinterpreted, so NaN bits are
//!   never produced by an operation — every engine moves bits unchanged); vectors only use
//!   integer lane operations;
//! - every loop ends: a loop at nesting depth `d` owns counter local `c_d` (no other
//!   statement writes counters), set to 1–3 on entry; a branch back decrements it and is
//!   taken only while the new value is positive, so each entry iterates at most 3 times;
//!   calls only go to lower-numbered functions, so work is bounded by a product of small
//!   numbers, far below every engine's fuel;
//! - every module validates under [`kiln::wasm::info::features`] (tested).

use super::wasm::{invocations, WasmCase};
use arbitrary::{Result, Unstructured};
use std::borrow::Cow;
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, ExportKind, ExportSection, Function, FunctionSection,
    GlobalSection, GlobalType, Ieee32, Ieee64, Instruction as I, MemArg, MemArgTarget,
    MemorySection, MemoryType, Module, TypeSection, ValType,
};

/// Most functions in a module.
const MAX_FUNCS: u32 = 4;
/// Deepest construct nesting.
const MAX_DEPTH: usize = 6;
/// Deepest loop nesting (one counter local per level).
const MAX_LOOP_DEPTH: usize = 3;
/// Statements one function may generate (counting nested ones).
const MAX_STATEMENTS: u32 = 120;
/// Deepest expression nesting.
const MAX_EXPR_DEPTH: u32 = 4;

/// The value types of locals and stack values; a module without `v128` uses all but the
/// last. Every function has a local of each.
const TYPES: [ValType; 5] = [
    ValType::I32,
    ValType::I64,
    ValType::F32,
    ValType::F64,
    ValType::V128,
];
/// The same, weighted for random parameters, results and block types: integers twice as
/// often (they carry the arithmetic); `v128` last, as in [`TYPES`].
const WEIGHTED: [ValType; 7] = [
    ValType::I32,
    ValType::I64,
    ValType::I32,
    ValType::I64,
    ValType::F32,
    ValType::F64,
    ValType::V128,
];

/// The value types of one module.
#[derive(Clone, Copy)]
struct TypeSet {
    /// Every type, once.
    all: &'static [ValType],
    /// Weighted for random draws.
    weighted: &'static [ValType],
}

impl TypeSet {
    fn new(simd: bool) -> TypeSet {
        let without_v128 = usize::from(!simd);
        TypeSet {
            all: &TYPES[..TYPES.len() - without_v128],
            weighted: &WEIGHTED[..WEIGHTED.len() - without_v128],
        }
    }

    fn any(self, u: &mut Unstructured<'_>) -> Result<ValType> {
        Ok(*u.choose(self.weighted)?)
    }

    fn list(self, u: &mut Unstructured<'_>, most: usize) -> Result<Vec<ValType>> {
        (0..u.int_in_range(0..=most)?)
            .map(|_| self.any(u))
            .collect()
    }
}

/// A function another may call: its index, parameters and results after the first `i64`.
#[derive(Clone)]
struct Callee {
    index: u32,
    params: Vec<ValType>,
    extra_results: Vec<ValType>,
}

/// A differential case: a module from this generator and invocations of its exports.
pub fn flow_case(u: &mut Unstructured<'_>) -> Result<WasmCase> {
    let wasm = flow_module(u)?;
    let calls = invocations(u, &wasm)?;
    Ok(WasmCase { wasm, calls })
}

/// A module from this generator (see the module docs).
pub fn flow_module(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let count = u.int_in_range(1..=MAX_FUNCS)?;
    let set = TypeSet::new(u.arbitrary()?);
    let mut types = Types::default();
    let mut funcs = Vec::new();
    let mut sigs = Vec::new();
    for index in 0..count {
        let params = set.list(u, 4)?;
        let extra_results = if u.ratio(1, 4)? {
            set.list(u, 2)?
        } else {
            Vec::new()
        };
        let results: Vec<ValType> = [ValType::I64]
            .into_iter()
            .chain(extra_results.iter().copied())
            .collect();
        sigs.push(types.index(&params, &results));
        funcs.push(Callee {
            index,
            params,
            extra_results,
        });
    }
    let mut bodies = Vec::new();
    for (i, f) in funcs.iter().enumerate() {
        let g = FuncGen::new(u, &mut types, set, f, funcs[..i].to_vec())?;
        bodies.push(g.body()?);
    }

    let mut module = Module::new();
    let mut type_section = TypeSection::new();
    for (params, results) in &types.list {
        type_section
            .ty()
            .function(params.iter().copied(), results.iter().copied());
    }
    module.section(&type_section);
    let mut functions = FunctionSection::new();
    for &sig in &sigs {
        functions.function(sig);
    }
    module.section(&functions);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: Some(1),
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    module.section(&memories);
    let mut globals = GlobalSection::new();
    globals.global(
        GlobalType {
            val_type: ValType::I64,
            mutable: true,
            shared: false,
        },
        &ConstExpr::i64_const(u.arbitrary()?),
    );
    module.section(&globals);
    let mut exports = ExportSection::new();
    for i in 0..count {
        exports.export(&format!("f{i}"), ExportKind::Func, i);
    }
    exports.export("mem", ExportKind::Memory, 0);
    exports.export("g", ExportKind::Global, 0);
    module.section(&exports);
    let mut code = CodeSection::new();
    for body in &bodies {
        code.function(body);
    }
    module.section(&code);
    Ok(module.finish())
}

/// The module's function types, deduplicated.
#[derive(Default)]
struct Types {
    list: Vec<(Vec<ValType>, Vec<ValType>)>,
}

impl Types {
    fn index(&mut self, params: &[ValType], results: &[ValType]) -> u32 {
        let key = (params.to_vec(), results.to_vec());
        match self.list.iter().position(|t| *t == key) {
            Some(i) => i as u32,
            None => {
                self.list.push(key);
                self.list.len() as u32 - 1
            }
        }
    }
}

/// An enclosing construct, as a branch sees it.
struct Label {
    /// The types a branch to it carries: a loop's parameters, else the results.
    branch: Vec<ValType>,
    /// For a loop, its counter local.
    counter: Option<u32>,
}

/// One function body being generated.
struct FuncGen<'a, 'u> {
    u: &'a mut Unstructured<'u>,
    types: &'a mut Types,
    set: TypeSet,
    /// The function's results after the first `i64`.
    extra_results: Vec<ValType>,
    /// Every value local (parameters first), by index.
    locals: Vec<ValType>,
    /// Counter locals, one per loop nesting level (after the value locals).
    counters: Vec<u32>,
    /// Lower-numbered functions.
    callees: Vec<Callee>,
    /// Enclosing constructs, innermost last.
    labels: Vec<Label>,
    loop_depth: usize,
    statements: u32,
    /// The body being emitted (locals declared).
    code: Function,
}

impl<'a, 'u> FuncGen<'a, 'u> {
    fn new(
        u: &'a mut Unstructured<'u>,
        types: &'a mut Types,
        set: TypeSet,
        func: &Callee,
        callees: Vec<Callee>,
    ) -> Result<Self> {
        let n = func.params.len();
        let mut locals = func.params.clone();
        // At least one local of each type, so every expression type has a local to read.
        locals.extend(set.all);
        locals.extend(set.list(u, 6)?);
        let first_counter = locals.len() as u32;
        let declared = locals[n..]
            .iter()
            .map(|&t| (1, t))
            .chain((0..MAX_LOOP_DEPTH).map(|_| (1, ValType::I32)))
            .collect::<Vec<_>>();
        Ok(FuncGen {
            u,
            types,
            set,
            extra_results: func.extra_results.clone(),
            counters: (first_counter..first_counter + MAX_LOOP_DEPTH as u32).collect(),
            locals,
            callees,
            labels: Vec::new(),
            loop_depth: 0,
            statements: 0,
            code: Function::new(declared),
        })
    }

    /// The finished body: statements, then the results ([`FuncGen::results`]).
    fn body(mut self) -> Result<Function> {
        self.statements_list()?;
        self.results()?;
        self.code.instruction(&I::End);
        Ok(self.code)
    }

    /// Push the function's results: every local (counters included) folded into the first,
    /// an `i64`, then expressions for the others.
    fn results(&mut self) -> Result<()> {
        self.code.instruction(&I::I64Const(0));
        let all = self.locals.len() as u32 + self.counters.len() as u32;
        for l in 0..all {
            self.code.instruction(&I::I64Const(7));
            self.code.instruction(&I::I64Rotl);
            self.local_as_i64(l);
            self.code.instruction(&I::I64Xor);
        }
        let extra = self.extra_results.clone();
        self.exprs(&extra)
    }

    /// Push local `l`'s bits as an `i64` (a vector's two halves combined so that equal
    /// halves do not cancel).
    fn local_as_i64(&mut self, l: u32) {
        let ty = self.locals.get(l as usize).copied().unwrap_or(ValType::I32);
        self.code.instruction(&I::LocalGet(l));
        match ty {
            ValType::I32 => {
                self.code.instruction(&I::I64ExtendI32U);
            }
            ValType::F32 => {
                self.code.instruction(&I::I32ReinterpretF32);
                self.code.instruction(&I::I64ExtendI32U);
            }
            ValType::F64 => {
                self.code.instruction(&I::I64ReinterpretF64);
            }
            ValType::V128 => {
                self.code.instruction(&I::I64x2ExtractLane(0));
                self.code.instruction(&I::LocalGet(l));
                self.code.instruction(&I::I64x2ExtractLane(1));
                self.code.instruction(&I::I64Const(29));
                self.code.instruction(&I::I64Rotl);
                self.code.instruction(&I::I64Add);
            }
            _ => {}
        }
    }

    /// A random value local of type `ty` (each type has at least one).
    fn local_of(&mut self, ty: ValType) -> Result<u32> {
        let candidates: Vec<u32> = (0..self.locals.len() as u32)
            .filter(|&l| self.locals[l as usize] == ty)
            .collect();
        Ok(*self.u.choose(&candidates)?)
    }

    /// Statements until the budget, the input or a random stop ends the list. After an
    /// unconditional branch the list usually ends; sometimes dead code follows.
    fn statements_list(&mut self) -> Result<()> {
        let n = self.u.int_in_range(1..=8)?;
        for _ in 0..n {
            if self.statements >= MAX_STATEMENTS || self.u.is_empty() {
                break;
            }
            self.statements += 1;
            if self.statement()? && !self.u.ratio(1, 4)? {
                break;
            }
        }
        Ok(())
    }

    /// One statement; `true` when it ends in an unconditional branch.
    fn statement(&mut self) -> Result<bool> {
        let nest = self.labels.len() < MAX_DEPTH;
        let branchable = !self.labels.is_empty();
        let choice = self.u.int_in_range(0..=99u32)?;
        match choice {
            0..=29 => self.set_local()?,
            30..=39 if nest => self.block_or_if(false)?,
            40..=49 if nest => self.block_or_if(true)?,
            50..=57 if nest && self.loop_depth < MAX_LOOP_DEPTH => self.loop_()?,
            58..=69 if branchable => return self.branch(),
            70..=77 if self.labels.iter().any(|l| l.counter.is_some()) => self.continue_()?,
            78..=81 => {
                self.expr(ValType::I64, 0)?;
                self.code.instruction(&I::GlobalSet(0));
            }
            82..=86 => {
                self.address()?;
                if self.set.all.contains(&ValType::V128) && self.u.ratio(1, 3)? {
                    self.expr(ValType::V128, 0)?;
                    self.code.instruction(&I::V128Store(mem_arg(0, 4)));
                } else {
                    self.expr(ValType::I64, 0)?;
                    let offset = self.u.int_in_range(0..=8)?;
                    self.code.instruction(&I::I64Store(mem_arg(offset, 3)));
                }
            }
            87..=91 if !self.callees.is_empty() => {
                self.call()?;
                let l = self.local_of(ValType::I64)?;
                self.code.instruction(&I::LocalSet(l));
            }
            92..=94 if branchable => {
                self.results()?;
                self.code.instruction(&I::Return);
                return Ok(true);
            }
            _ => self.set_local()?,
        }
        Ok(false)
    }

    fn set_local(&mut self) -> Result<()> {
        let ty = *self.u.choose(self.set.all)?;
        self.expr(ty, 0)?;
        let l = self.local_of(ty)?;
        self.code.instruction(&I::LocalSet(l));
        Ok(())
    }

    /// A block type: none, one result, or parameters and results through a function type.
    /// Returns the type and its parameter and result lists.
    fn block_type(&mut self) -> Result<(BlockType, Vec<ValType>, Vec<ValType>)> {
        Ok(match self.u.int_in_range(0..=3u8)? {
            0 => (BlockType::Empty, vec![], vec![]),
            1 => {
                let t = self.set.any(self.u)?;
                (BlockType::Result(t), vec![], vec![t])
            }
            _ => {
                let params = self.set.list(self.u, 2)?;
                let results = self.set.list(self.u, 2)?;
                let idx = self.types.index(&params, &results);
                (BlockType::FunctionType(idx), params, results)
            }
        })
    }

    /// Push expressions of `types`, in order.
    fn exprs(&mut self, types: &[ValType]) -> Result<()> {
        for &t in types {
            self.expr(t, 0)?;
        }
        Ok(())
    }

    /// Pop values of `types` (the last on top) into random locals, or drop some.
    fn consume(&mut self, types: &[ValType]) -> Result<()> {
        for &t in types.iter().rev() {
            if self.u.ratio(1, 5)? {
                self.code.instruction(&I::Drop);
            } else {
                let l = self.local_of(t)?;
                self.code.instruction(&I::LocalSet(l));
            }
        }
        Ok(())
    }

    /// The body of a construct whose parameters are on the stack: store them, run
    /// statements, push the results.
    fn construct_body(&mut self, params: &[ValType], results: &[ValType]) -> Result<()> {
        self.consume(params)?;
        self.statements_list()?;
        self.exprs(results)
    }

    /// A `block`, or an `if` with or without an `else`.
    fn block_or_if(&mut self, is_if: bool) -> Result<()> {
        let (bt, params, results) = self.block_type()?;
        self.exprs(&params)?;
        if is_if {
            self.expr(ValType::I32, 0)?;
            self.code.instruction(&I::If(bt));
        } else {
            self.code.instruction(&I::Block(bt));
        }
        self.labels.push(Label {
            branch: results.clone(),
            counter: None,
        });
        self.construct_body(&params, &results)?;
        // An `if` with results or parameters needs its `else` to type-check.
        if is_if && (!results.is_empty() || !params.is_empty() || self.u.ratio(2, 3)?) {
            self.code.instruction(&I::Else);
            self.construct_body(&params, &results)?;
        }
        self.labels.pop();
        self.code.instruction(&I::End);
        self.consume(&results)
    }

    /// A loop that runs its body one to three times: the counter is set on entry, and the
    /// body ends with a counted continue (others may come earlier).
    fn loop_(&mut self) -> Result<()> {
        let (bt, params, results) = self.block_type()?;
        let counter = self.counters[self.loop_depth];
        let times = self.u.int_in_range(1..=3)?;
        self.code.instruction(&I::I32Const(times));
        self.code.instruction(&I::LocalSet(counter));
        self.exprs(&params)?;
        self.code.instruction(&I::Loop(bt));
        self.labels.push(Label {
            branch: params.clone(),
            counter: Some(counter),
        });
        self.loop_depth += 1;
        self.consume(&params)?;
        self.statements_list()?;
        self.counted_continue(0)?;
        self.exprs(&results)?;
        self.loop_depth -= 1;
        self.labels.pop();
        self.code.instruction(&I::End);
        self.consume(&results)
    }

    /// Continue the loop `depth` labels out: push its parameters, then branch back when its
    /// decremented counter is still positive (else store or drop the parameters).
    fn counted_continue(&mut self, depth: u32) -> Result<()> {
        let label = self.label(depth);
        let counter = label.counter.expect("a loop label");
        let params = label.branch.clone();
        self.exprs(&params)?;
        self.code.instruction(&I::LocalGet(counter));
        self.code.instruction(&I::I32Const(1));
        self.code.instruction(&I::I32Sub);
        self.code.instruction(&I::LocalTee(counter));
        self.code.instruction(&I::I32Const(0));
        self.code.instruction(&I::I32GtS);
        self.code.instruction(&I::BrIf(depth));
        self.consume(&params)
    }

    /// The enclosing label `depth` labels out (0: the innermost).
    fn label(&self, depth: u32) -> &Label {
        &self.labels[self.labels.len() - 1 - depth as usize]
    }

    /// The depths of the enclosing loops (`loops`), or of the enclosing `block`s and `if`s.
    fn label_depths(&self, loops: bool) -> Vec<u32> {
        (0..self.labels.len() as u32)
            .filter(|&d| self.label(d).counter.is_some() == loops)
            .collect()
    }

    /// A counted continue to a random enclosing loop.
    fn continue_(&mut self) -> Result<()> {
        let loops = self.label_depths(true);
        let depth = *self.u.choose(&loops)?;
        self.counted_continue(depth)
    }

    /// A branch to an enclosing `block` or `if`: `br` (unconditional: returns `true`),
    /// `br_if` (the values left on a fall-through are stored or dropped) or `br_table`
    /// among labels with the same types.
    fn branch(&mut self) -> Result<bool> {
        let targets = self.label_depths(false);
        if targets.is_empty() {
            self.set_local()?;
            return Ok(false);
        }
        let depth = *self.u.choose(&targets)?;
        let types = self.label(depth).branch.clone();
        self.exprs(&types)?;
        match self.u.int_in_range(0..=2u8)? {
            0 => {
                self.code.instruction(&I::Br(depth));
                Ok(true)
            }
            1 => {
                self.expr(ValType::I32, 0)?;
                self.code.instruction(&I::BrIf(depth));
                self.consume(&types)?;
                Ok(false)
            }
            _ => {
                let same: Vec<u32> = targets
                    .iter()
                    .copied()
                    .filter(|&d| self.label(d).branch == types)
                    .collect();
                let table = (0..self.u.int_in_range(0..=4)?)
                    .map(|_| self.u.choose(&same).copied())
                    .collect::<Result<Vec<_>>>()?;
                self.expr(ValType::I32, 0)?;
                self.code.instruction(&I::BrTable(Cow::Owned(table), depth));
                Ok(true)
            }
        }
    }

    /// A call of a lower-numbered function; leaves its first result, an `i64` (the others
    /// are stored into locals or dropped).
    fn call(&mut self) -> Result<()> {
        let f = self.u.choose(&self.callees)?.clone();
        self.exprs(&f.params)?;
        self.code.instruction(&I::Call(f.index));
        self.consume(&f.extra_results)
    }

    /// An in-bounds address for an access of at most 8 bytes at offset at most 8, or of 16
    /// bytes at offset 0.
    fn address(&mut self) -> Result<()> {
        self.expr(ValType::I32, 1)?;
        self.code.instruction(&I::I32Const(0xfff0));
        self.code.instruction(&I::I32And);
        Ok(())
    }

    /// An expression of type `ty`.
    fn expr(&mut self, ty: ValType, depth: u32) -> Result<()> {
        let leaf = depth >= MAX_EXPR_DEPTH || self.u.is_empty();
        let choice = if leaf {
            self.u.int_in_range(0..=1u8)?
        } else {
            self.u.int_in_range(0..=9u8)?
        };
        match choice {
            0 => {
                let l = self.local_of(ty)?;
                self.code.instruction(&I::LocalGet(l));
            }
            1 => self.constant(ty)?,
            2 => {
                self.expr(ty, depth + 1)?;
                let l = self.local_of(ty)?;
                self.code.instruction(&I::LocalTee(l));
            }
            3 => {
                self.expr(ty, depth + 1)?;
                self.expr(ty, depth + 1)?;
                self.expr(ValType::I32, depth + 1)?;
                self.code.instruction(&I::Select);
            }
            4 if self.labels.len() < MAX_DEPTH && self.statements < MAX_STATEMENTS => {
                // A `block` or `if` producing the value, with statements inside.
                self.statements += 1;
                let is_if = self.u.arbitrary()?;
                if is_if {
                    self.expr(ValType::I32, depth + 1)?;
                    self.code.instruction(&I::If(BlockType::Result(ty)));
                } else {
                    self.code.instruction(&I::Block(BlockType::Result(ty)));
                }
                self.labels.push(Label {
                    branch: vec![ty],
                    counter: None,
                });
                self.statements_list()?;
                self.expr(ty, depth + 1)?;
                if is_if {
                    self.code.instruction(&I::Else);
                    self.statements_list()?;
                    self.expr(ty, depth + 1)?;
                }
                self.labels.pop();
                self.code.instruction(&I::End);
            }
            5 => {
                self.address()?;
                let offset = self.u.int_in_range(0..=8)?;
                self.code.instruction(&match ty {
                    ValType::I32 => I::I32Load(mem_arg(offset, 2)),
                    ValType::I64 => I::I64Load(mem_arg(offset, 3)),
                    ValType::F32 => I::F32Load(mem_arg(offset, 2)),
                    ValType::F64 => I::F64Load(mem_arg(offset, 3)),
                    _ => I::V128Load(mem_arg(0, 4)),
                });
            }
            6 if ty == ValType::I64 && !self.callees.is_empty() => self.call()?,
            6 if ty == ValType::I64 => {
                self.code.instruction(&I::GlobalGet(0));
            }
            _ => self.operation(ty, depth)?,
        }
        Ok(())
    }

    fn constant(&mut self, ty: ValType) -> Result<()> {
        // Small numbers most of the time: they meet each other in comparisons and shifts.
        let small = self.u.ratio(2, 3)?;
        self.code.instruction(&match ty {
            ValType::I32 if small => I::I32Const(self.u.int_in_range(-4..=16)?),
            ValType::I32 => I::I32Const(self.u.arbitrary()?),
            ValType::I64 if small => I::I64Const(self.u.int_in_range(-4..=16)?),
            ValType::I64 => I::I64Const(self.u.arbitrary()?),
            ValType::F32 => I::F32Const(Ieee32::new(self.u.arbitrary()?)),
            ValType::F64 => I::F64Const(Ieee64::new(self.u.arbitrary()?)),
            _ => I::V128Const(self.u.arbitrary()?),
        });
        Ok(())
    }

    /// An operation producing `ty`: integer arithmetic and comparisons, conversions, for
    /// floats only bit moves (reinterpretation), for vectors integer lane operations.
    fn operation(&mut self, ty: ValType, depth: u32) -> Result<()> {
        use ValType::{F32, F64, I32, I64, V128};
        let d = depth + 1;
        if self.set.all.contains(&V128) && ty != V128 && self.u.ratio(1, 8)? {
            // A vector's lane, as an integer or float of the lane's width.
            let lanes = match ty {
                I32 => [I::I32x4ExtractLane(0), I::I32x4ExtractLane(2)],
                I64 => [I::I64x2ExtractLane(0), I::I64x2ExtractLane(1)],
                F32 => [I::F32x4ExtractLane(2), I::F32x4ExtractLane(3)],
                _ => [I::F64x2ExtractLane(0), I::F64x2ExtractLane(1)],
            };
            return self.apply(d, &[V128], &lanes);
        }
        match ty {
            I32 => match self.u.int_in_range(0..=5u8)? {
                0 => self.apply(d, &[I32, I32], &I32_BINARY),
                1 => self.apply(d, &[I64, I64], &I64_COMPARE),
                2 => self.apply(d, &[I32], &[I::I32Eqz]),
                3 => self.apply(d, &[I64], &[I::I32WrapI64]),
                4 => self.apply(d, &[F32], &[I::I32ReinterpretF32]),
                _ => self.apply(d, &[F64, F64], &F64_COMPARE),
            },
            I64 => match self.u.int_in_range(0..=3u8)? {
                0 | 1 => self.apply(d, &[I64, I64], &I64_BINARY),
                2 => self.apply(d, &[I32], &[I::I64ExtendI32U, I::I64ExtendI32S]),
                _ => self.apply(d, &[F64], &[I::I64ReinterpretF64]),
            },
            F32 => self.apply(d, &[I32], &[I::F32ReinterpretI32]),
            F64 => self.apply(d, &[I64], &[I::F64ReinterpretI64]),
            _ => match self.u.int_in_range(0..=3u8)? {
                0 => self.apply(d, &[I32], &[I::I32x4Splat]),
                1 => self.apply(d, &[I64], &[I::I64x2Splat]),
                2 => self.apply(
                    d,
                    &[V128, I64],
                    &[I::I64x2ReplaceLane(0), I::I64x2ReplaceLane(1)],
                ),
                _ => self.apply(d, &[V128, V128], &V128_BINARY),
            },
        }
    }

    /// Expressions of `operands` at depth `depth`, then one of `ops` (drawn after the
    /// operands; a single choice draws nothing).
    fn apply(&mut self, depth: u32, operands: &[ValType], ops: &[I<'static>]) -> Result<()> {
        for &t in operands {
            self.expr(t, depth)?;
        }
        let op = self.u.choose(ops)?.clone();
        self.code.instruction(&op);
        Ok(())
    }
}

fn mem_arg(offset: u64, align: u32) -> MemArg {
    MemArg {
        offset,
        align,
        target: MemArgTarget::Memory(0),
        ordering: None,
    }
}

const I32_BINARY: [I<'static>; 10] = [
    I::I32Add,
    I::I32Sub,
    I::I32Mul,
    I::I32And,
    I::I32Or,
    I::I32Xor,
    I::I32Shl,
    I::I32ShrS,
    I::I32ShrU,
    I::I32Rotl,
];
const I64_BINARY: [I<'static>; 10] = [
    I::I64Add,
    I::I64Sub,
    I::I64Mul,
    I::I64And,
    I::I64Or,
    I::I64Xor,
    I::I64Shl,
    I::I64ShrS,
    I::I64ShrU,
    I::I64Rotr,
];
const I64_COMPARE: [I<'static>; 6] = [
    I::I64Eq,
    I::I64Ne,
    I::I64LtS,
    I::I64LtU,
    I::I64GtS,
    I::I64GeU,
];
const F64_COMPARE: [I<'static>; 4] = [I::F64Eq, I::F64Ne, I::F64Lt, I::F64Ge];
const V128_BINARY: [I<'static>; 5] = [
    I::I8x16Add,
    I::I16x8Mul,
    I::I32x4Add,
    I::I64x2Sub,
    I::V128Xor,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::wasm::validate;

    fn input(seed: u64, words: usize) -> Vec<u8> {
        let mut state = seed;
        (0..words)
            .flat_map(|_| crate::hashing::splitmix64(&mut state).to_le_bytes())
            .collect()
    }

    #[test]
    fn generated_modules_validate_and_write_locals_inside_constructs() {
        let mut modules = 0;
        let mut with = [0usize; 5];
        let features = ["loop", "br_table", "v128", "return", "(result i64 "];
        for seed in 0..60 {
            let bytes = input(seed, 1024);
            let case = flow_case(&mut Unstructured::new(&bytes)).expect("generates");
            validate(&case.wasm).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert!(!case.calls.is_empty(), "seed {seed}: no invocations");
            let text = wasmprinter::print_bytes(&case.wasm).unwrap();
            modules += 1;
            for (n, f) in with.iter_mut().zip(features) {
                *n += usize::from(text.contains(f));
            }
        }
        // Loops in most modules; the rarer features in at least one module in six.
        assert!(
            with[0] * 2 >= modules && with.iter().all(|&n| n * 6 >= modules),
            "{modules} modules; with {features:?}: {with:?}"
        );
    }

    #[test]
    fn a_short_input_still_makes_a_valid_module() {
        for len in [0, 1, 7, 64] {
            let bytes = input(len as u64, len);
            let case = flow_case(&mut Unstructured::new(&bytes[..len])).expect("generates");
            validate(&case.wasm).unwrap_or_else(|e| panic!("{len} bytes: {e}"));
        }
    }
}
