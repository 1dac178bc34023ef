//! Generation of one function body (see the module docs of [`super`] for the invariants).
//!
//! The body is built through [`FunctionBuilder`] as nested *regions*: a region is a
//! sequence of statements (a value-producing operation, a variable assignment, an
//! `if`/`else` diamond, a bounded loop or a `br_table` switch) whose nested regions are the
//! arms and loop bodies. Values are kept in a *pool* per type; a nested region's values are
//! dropped from the pool when the region ends, so every pool value dominates the current
//! point. Values that cross control-flow joins travel through builder variables (SSA block
//! parameters) or explicit block parameters.
//!
//! The shapes that need their own bookkeeping live in submodules: heap pointers derived
//! in several steps ([`pointers`]), large straight-line regions for long branches
//! ([`bulk`]), and operands drawn as edge-value pairs, constants on the left and register
//! pressure ([`edges`]).

mod bulk;
mod edges;
mod pointers;

pub(super) use bulk::BulkPlan;
use pointers::Ptr;

use super::values::{below, chance, scalar_bits, vector_bytes};
use super::Rules;
use arbitrary::Unstructured;
use kiln::entity::EntityRef;
use kiln::ir::{
    Block, FloatCC, FuncRef, Function, FunctionBuilder, IntCC, LibCall, MemFlags, Opcode, SigRef,
    SourceLoc, StackSlot, StackSlotData, TrapCode, Type, UserExternalName, Value, Variable,
};

/// Upper bound of the worst-case dynamic instruction count of one function (callees
/// included), so that every run stays far below the interpreter's default fuel.
pub(super) const DYN_BUDGET: u64 = 200_000;
/// Maximum nesting of `if`, loops and `br_table`.
const MAX_DEPTH: usize = 3;
/// Maximum product of the trip counts of nested loops.
const MAX_MULT: u64 = 64;

/// What callers need to know about a generated function.
#[derive(Clone, Debug)]
pub(super) struct FnInfo {
    /// Its index (its name is `u0:<index>`).
    pub index: usize,
    /// Its signature.
    pub sig: kiln::ir::Signature,
    /// Per return value: may it be a NaN produced by arithmetic (payload unspecified)?
    pub ret_tainted: Vec<bool>,
    /// Worst-case dynamic instruction count (callees included).
    pub cost: u64,
}

/// A builder variable.
#[derive(Copy, Clone, Debug)]
struct Var {
    var: Variable,
    ty: Type,
    /// May hold an arithmetic NaN; uses are tainted.
    taintable: bool,
}

/// State of one function being generated.
pub(super) struct FnGen<'r, 'b, 'u, 'd> {
    u: &'u mut Unstructured<'d>,
    r: &'r Rules,
    b: FunctionBuilder<'b>,
    callees: &'r [FnInfo],
    heap: Option<(Value, u64)>,
    slots: Vec<(StackSlot, u32)>,
    pool: [Vec<Value>; 12],
    tainted: Vec<bool>,
    vars: Vec<Var>,
    /// One variable per return value (indices into `vars`).
    accs: Vec<usize>,
    fn_refs: Vec<(usize, FuncRef, SigRef)>,
    libcalls: Vec<(LibCall, FuncRef)>,
    mult: u64,
    cost: u64,
    steps: usize,
    /// Heap pointers usable at the current point (scoped like `pool`); `ptrs[0]` is the
    /// heap base itself.
    ptrs: Vec<Ptr>,
    /// Straight-line chunks still to place (see [`bulk`]).
    bulk: bulk::BulkState,
}

/// What a function gets beyond its signature.
pub(super) struct Extras {
    /// `Some` when parameter 0 is the heap's base address.
    pub heap_size: Option<u64>,
    /// The chunks of a big function.
    pub bulk: Option<BulkPlan>,
}

/// How far the pools extended when a nested region started (see [`FnGen::restore`]).
#[derive(Copy, Clone)]
struct Mark {
    pool: [usize; 12],
    ptrs: usize,
}

fn tix(t: Type) -> usize {
    t as usize
}

const INTS: [Type; 4] = [Type::I8, Type::I16, Type::I32, Type::I64];
const FLOATS: [Type; 2] = [Type::F32, Type::F64];
const IVECS: [Type; 4] = [Type::I8X16, Type::I16X8, Type::I32X4, Type::I64X2];
const FVECS: [Type; 2] = [Type::F32X4, Type::F64X2];

impl<'r, 'b, 'u, 'd> FnGen<'r, 'b, 'u, 'd> {
    /// Generate the body of `func` (empty, with name and signature set), with what
    /// `extras` adds. Returns the function's info, or
    /// the builder's error (a generator bug).
    pub(super) fn build(
        u: &'u mut Unstructured<'d>,
        r: &'r Rules,
        func: &'b mut Function,
        ctx: &'b mut kiln::ir::FunctionBuilderContext,
        index: usize,
        callees: &'r [FnInfo],
        extras: Extras,
    ) -> Result<FnInfo, String> {
        let Extras { heap_size, bulk } = extras;
        let sig = func.signature.clone();
        let b = FunctionBuilder::new(func, ctx);
        let mut g = FnGen {
            u,
            r,
            b,
            callees,
            heap: None,
            slots: Vec::new(),
            pool: Default::default(),
            tainted: Vec::new(),
            vars: Vec::new(),
            accs: Vec::new(),
            fn_refs: Vec::new(),
            libcalls: Vec::new(),
            mult: 1,
            cost: 0,
            steps: 0,
            ptrs: Vec::new(),
            bulk: bulk::BulkState::new(bulk),
        };
        let entry = g.b.create_block();
        g.b.append_block_params_for_function_params(entry);
        g.b.switch_to_block(entry);
        g.b.seal_block(entry);
        let params = g.b.block_params(entry).to_vec();
        for (i, &p) in params.iter().enumerate() {
            match heap_size {
                Some(size) if i == 0 => {
                    g.heap = Some((p, size));
                    g.ptrs.push(Ptr::base(p));
                }
                _ => g.push(p, false),
            }
        }
        g.make_slots();
        // Accumulators: one variable per return value, initialized here (so the builder
        // never materializes a zero for a read before definition).
        for &ty in &sig.returns {
            let taintable = ty.is_float();
            let init = if taintable {
                g.pick(ty)
            } else {
                g.pick_clean(ty)
            };
            let Some(init) = init else {
                return Err(format!("no initial value of type {ty} for a return value"));
            };
            let var = g.b.declare_var(ty);
            g.b.def_var(var, init).map_err(|e| e.to_string())?;
            g.vars.push(Var { var, ty, taintable });
            g.accs.push(g.vars.len() - 1);
        }
        for _ in 0..below(g.u, 4) {
            let ty = g.any_ty();
            let taintable = ty.is_float() && chance(g.u, 1, 2);
            let init = if taintable {
                g.pick(ty)
            } else {
                g.pick_clean(ty)
            };
            if let Some(init) = init {
                let var = g.b.declare_var(ty);
                g.b.def_var(var, init).map_err(|e| e.to_string())?;
                g.vars.push(Var { var, ty, taintable });
            }
        }
        g.place_bulk();
        g.region(0, true);
        if !g.b.is_filled() {
            if index == 0 {
                g.fold_heap();
            }
            g.fold_tail();
            let rets = g.acc_values();
            g.b.ins().return_(&rets);
        }
        let ret_tainted = g.accs.iter().map(|&a| g.vars[a].taintable).collect();
        let cost = g.cost + g.bulk.cost + g.b.func.dfg.insts.len() as u64;
        g.b.finalize().map_err(|e| e.to_string())?;
        Ok(FnInfo {
            index,
            sig,
            ret_tainted,
            cost,
        })
    }

    // ---- small helpers -----------------------------------------------------------------

    fn ok(&self, op: Opcode) -> bool {
        self.r.ok(op)
    }

    fn insts(&self) -> usize {
        self.b.func.dfg.insts.len()
    }

    fn ty_of(&self, v: Value) -> Type {
        self.b.func.dfg.value_type(v).unwrap_or(Type::I8)
    }

    fn is_tainted(&self, v: Value) -> bool {
        self.tainted.get(v.index()).copied().unwrap_or(false)
    }

    fn set_taint(&mut self, v: Value, t: bool) {
        let i = v.index();
        if i >= self.tainted.len() {
            self.tainted.resize(i + 1, false);
        }
        self.tainted[i] = t;
    }

    /// Add `v` to the pool with the given taint.
    fn push(&mut self, v: Value, taint: bool) {
        self.set_taint(v, taint);
        let t = tix(self.ty_of(v));
        self.pool[t].push(v);
    }

    fn mark(&self) -> Mark {
        let mut pool = [0; 12];
        for (i, p) in self.pool.iter().enumerate() {
            pool[i] = p.len();
        }
        Mark {
            pool,
            ptrs: self.ptrs.len(),
        }
    }

    /// Drop the values (and pointers) defined since `m`, which no longer dominate.
    fn restore(&mut self, m: Mark) {
        for (p, n) in self.pool.iter_mut().zip(m.pool) {
            p.truncate(n);
        }
        self.ptrs.truncate(m.ptrs);
    }

    fn choose<T: Copy>(&mut self, xs: &[T]) -> Option<T> {
        if xs.is_empty() {
            return None;
        }
        Some(xs[below(self.u, xs.len())])
    }

    fn int_ty(&mut self) -> Type {
        INTS[below(self.u, 4)]
    }

    fn float_ty(&mut self) -> Type {
        FLOATS[below(self.u, 2)]
    }

    fn vectors(&self) -> bool {
        self.r.vectors
    }

    fn any_ty(&mut self) -> Type {
        let n = if self.vectors() { 12 } else { 6 };
        Type::ALL[below(self.u, n)]
    }

    /// A float scalar or (when allowed, a quarter of the time) a float vector type.
    fn float_or_fvec_ty(&mut self) -> Type {
        if self.vectors() && chance(self.u, 1, 4) {
            FVECS[below(self.u, 2)]
        } else {
            self.float_ty()
        }
    }

    /// Should this operation take its vector form (vectors allowed, a quarter of the time)?
    fn vector_form(&mut self) -> bool {
        self.vectors() && chance(self.u, 1, 4)
    }

    /// A vector type among `types`, when vectors are allowed.
    fn vector_among(&mut self, types: &[Type]) -> Option<Type> {
        if !self.vectors() {
            return None;
        }
        Some(types[below(self.u, types.len())])
    }

    /// An integer scalar or (when allowed, a quarter of the time) an integer vector type.
    fn int_or_ivec_ty(&mut self) -> Type {
        if self.vectors() && chance(self.u, 1, 4) {
            IVECS[below(self.u, 4)]
        } else {
            self.int_ty()
        }
    }

    fn trap_code(&mut self) -> TrapCode {
        if chance(self.u, 1, 4) {
            TrapCode::User(self.u.arbitrary::<u16>().unwrap_or(0))
        } else {
            TrapCode::BUILTIN[below(self.u, TrapCode::BUILTIN.len())]
        }
    }

    // ---- values ------------------------------------------------------------------------

    /// An exact integer constant (clean), if `iconst` is allowed.
    fn iconst(&mut self, ty: Type, imm: i64) -> Option<Value> {
        if !self.ok(Opcode::Iconst) || !ty.is_int_scalar() {
            return None;
        }
        let v = self.b.ins().iconst(ty, imm);
        self.set_taint(v, false);
        Some(v)
    }

    /// An exact float constant (clean), if `fconst` is allowed.
    fn fconst(&mut self, ty: Type, bits: u64) -> Option<Value> {
        if !self.ok(Opcode::Fconst) || !ty.is_float_scalar() {
            return None;
        }
        let v = self.b.ins().fconst(ty, bits);
        self.set_taint(v, false);
        Some(v)
    }

    /// A fresh edge-biased constant of `ty` (clean), if the constant opcode is allowed.
    fn konst(&mut self, ty: Type) -> Option<Value> {
        if ty.is_vector() {
            if !self.ok(Opcode::Vconst) || !self.vectors() {
                return None;
            }
            let bytes = vector_bytes(self.u, ty);
            let v = self.b.ins().vconst(ty, bytes);
            self.set_taint(v, false);
            return Some(v);
        }
        let bits = scalar_bits(self.u, ty);
        if ty.is_float() {
            self.fconst(ty, bits)
        } else {
            self.iconst(ty, bits as i64)
        }
    }

    /// Read a variable of type `ty`, if there is one.
    fn var_value(&mut self, ty: Type) -> Option<Value> {
        let cands: Vec<Var> = self.vars.iter().copied().filter(|v| v.ty == ty).collect();
        let v = self.choose(&cands)?;
        let val = self.b.use_var(v.var).ok()?;
        self.push(val, v.taint_of());
        Some(val)
    }

    /// A value of type `ty` usable at the current point: from the pool, a variable, or a
    /// fresh constant.
    fn pick(&mut self, ty: Type) -> Option<Value> {
        let t = tix(ty);
        match below(self.u, 10) {
            0 => {
                if let Some(v) = self.konst(ty) {
                    self.push(v, false);
                    return Some(v);
                }
            }
            1 => {
                if let Some(v) = self.var_value(ty) {
                    return Some(v);
                }
            }
            _ => {}
        }
        let n = self.pool[t].len();
        if n > 0 {
            let i = if chance(self.u, 1, 2) {
                n - 1 - below(self.u, n.min(4))
            } else {
                below(self.u, n)
            };
            return self.pool[t].get(i).copied();
        }
        if let Some(v) = self.konst(ty) {
            self.push(v, false);
            return Some(v);
        }
        if let Some(v) = self.var_value(ty) {
            return Some(v);
        }
        if ty.is_vector() && self.ok(Opcode::Splat) && self.vectors() {
            let lane = ty.lane_type();
            if !self.pool[tix(lane)].is_empty() || self.konst_ok(lane) {
                let x = self.pick(lane)?;
                let v = self.b.ins().splat(ty, x);
                let taint = self.is_tainted(x);
                self.push(v, taint);
                return Some(v);
            }
        }
        None
    }

    fn konst_ok(&self, ty: Type) -> bool {
        if ty.is_vector() {
            self.ok(Opcode::Vconst) && self.vectors()
        } else if ty.is_float() {
            self.ok(Opcode::Fconst)
        } else {
            self.ok(Opcode::Iconst)
        }
    }

    /// Like [`Self::pick`] but never an arithmetic NaN (safe to expose as bits).
    fn pick_clean(&mut self, ty: Type) -> Option<Value> {
        for _ in 0..3 {
            let v = self.pick(ty)?;
            if !self.is_tainted(v) {
                return Some(v);
            }
        }
        if let Some(v) = self.konst(ty) {
            self.push(v, false);
            return Some(v);
        }
        let t = tix(ty);
        let clean: Vec<Value> = self.pool[t]
            .iter()
            .copied()
            .filter(|&v| !self.is_tainted(v))
            .collect();
        self.choose(&clean)
    }

    /// A value of `ty` for a block argument whose parameter type was chosen among the
    /// types present in the pool at the construct's start (so this always succeeds).
    fn arg(&mut self, ty: Type) -> Value {
        if let Some(v) = self.pick(ty) {
            return v;
        }
        // Unreachable: the type was chosen because the pool had a value of it, and the
        // pool is never truncated below the construct's start. A wrong value here would be
        // reported by the verifier, never a panic.
        self.pool[tix(ty)]
            .first()
            .copied()
            .unwrap_or_else(|| Value::new(0))
    }

    /// The current values of the accumulators (the return values).
    fn acc_values(&mut self) -> Vec<Value> {
        let mut out = Vec::with_capacity(self.accs.len());
        for i in 0..self.accs.len() {
            let var = self.vars[self.accs[i]].var;
            if let Ok(v) = self.b.use_var(var) {
                out.push(v);
            }
        }
        out
    }

    // ---- folding results into the accumulators ----------------------------------------

    /// Make `v` observable: combine it into an accumulator of its type, or into the `i64`
    /// accumulator through a bit-exact (canonicalized if needed) conversion.
    fn fold(&mut self, v: Value) {
        if self.accs.is_empty() {
            return;
        }
        let ty = self.ty_of(v);
        let same: Vec<usize> = self
            .accs
            .iter()
            .copied()
            .filter(|&a| self.vars[a].ty == ty)
            .collect();
        if !same.is_empty() && chance(self.u, 2, 3) {
            if let Some(a) = self.choose(&same) {
                self.combine(a, v);
                return;
            }
        }
        let main = self.accs[0];
        if self.vars[main].ty != Type::I64 {
            if let Some(a) = self.choose(&same) {
                self.combine(a, v);
            }
            return;
        }
        if let Some(x) = self.as_i64_bits(v) {
            self.combine(main, x);
        }
    }

    /// `acc = acc <op> v` for a same-typed accumulator.
    fn combine(&mut self, acc: usize, v: Value) {
        let Var { var, ty, taintable } = self.vars[acc];
        if !taintable && self.is_tainted(v) {
            return;
        }
        let Ok(mut a) = self.b.use_var(var) else {
            return;
        };
        let new = if ty.is_int_scalar() || (ty.is_vector() && !ty.is_float()) {
            if ty.is_int_scalar() && self.ok(Opcode::Rotl) && chance(self.u, 1, 2) {
                let amount = 1 + below(self.u, 7) as i64;
                if let Some(k) = self.iconst(ty, amount) {
                    a = self.b.ins().rotl(a, k);
                }
            }
            let ops: Vec<Opcode> = [Opcode::Bxor, Opcode::Iadd, Opcode::Isub]
                .into_iter()
                .filter(|&o| self.ok(o))
                .collect();
            let Some(op) = self.choose(&ops) else { return };
            self.bin(op, a, v)
        } else if ty.is_float_scalar() {
            let ops: Vec<Opcode> = [Opcode::Fadd, Opcode::Fsub, Opcode::Fmax, Opcode::Fmin]
                .into_iter()
                .filter(|&o| self.ok(o))
                .collect();
            match self.choose(&ops) {
                Some(op) if !chance(self.u, 1, 3) => self.bin(op, a, v),
                _ => v,
            }
        } else {
            // Float vector: replace, or move one lane over.
            let lanes = ty.lane_count() as usize;
            if self.ok(Opcode::Extractlane) && self.ok(Opcode::Insertlane) && chance(self.u, 2, 3) {
                let i = below(self.u, lanes) as u8;
                let j = below(self.u, lanes) as u8;
                let x = self.b.ins().extractlane(v, i);
                self.b.ins().insertlane(a, x, j)
            } else {
                v
            }
        };
        let _ = self.b.def_var(var, new);
    }

    /// `v` as a clean `i64` (all its bits, or a deterministic digest of them).
    fn as_i64_bits(&mut self, v: Value) -> Option<Value> {
        let ty = self.ty_of(v);
        match ty {
            Type::I64 => Some(v),
            Type::I8 | Type::I16 | Type::I32 => {
                let op = if chance(self.u, 1, 2) {
                    Opcode::Uextend
                } else {
                    Opcode::Sextend
                };
                let op = if self.ok(op) {
                    op
                } else if self.ok(Opcode::Uextend) {
                    Opcode::Uextend
                } else if self.ok(Opcode::Sextend) {
                    Opcode::Sextend
                } else {
                    return None;
                };
                Some(self.conv(op, Type::I64, v))
            }
            Type::F32 | Type::F64 => {
                let c = self.canonical(v);
                match c {
                    Some(c) if self.ok(Opcode::Bitcast) => {
                        let ity = ty.as_int();
                        let x = self.b.ins().bitcast(ity, c);
                        self.set_taint(x, false);
                        self.as_i64_bits(x)
                    }
                    _ if self.ok(Opcode::FcvtToSintSat) => {
                        Some(self.conv(Opcode::FcvtToSintSat, Type::I64, v))
                    }
                    _ => None,
                }
            }
            _ => {
                if !self.ok(Opcode::Extractlane) {
                    return None;
                }
                if self.is_tainted(v) {
                    let i = below(self.u, ty.lane_count() as usize) as u8;
                    let x = self.b.ins().extractlane(v, i);
                    self.set_taint(x, true);
                    return self.as_i64_bits(x);
                }
                let w = if ty == Type::I64X2 {
                    v
                } else if self.ok(Opcode::Bitcast) {
                    self.b.ins().bitcast(Type::I64X2, v)
                } else {
                    let i = below(self.u, ty.lane_count() as usize) as u8;
                    let x = self.b.ins().extractlane(v, i);
                    self.set_taint(x, false);
                    return self.as_i64_bits(x);
                };
                let l0 = self.b.ins().extractlane(w, 0);
                let l1 = self.b.ins().extractlane(w, 1);
                if self.ok(Opcode::Bxor) {
                    Some(self.b.ins().bxor(l0, l1))
                } else {
                    Some(l1)
                }
            }
        }
    }

    /// A float whose bits are deterministic: `v` itself when clean, otherwise every NaN
    /// replaced by the canonical quiet NaN (`fcmp uno` + `select`).
    fn canonical(&mut self, v: Value) -> Option<Value> {
        if !self.is_tainted(v) {
            return Some(v);
        }
        if !(self.ok(Opcode::Fcmp) && self.ok(Opcode::Select) && self.ok(Opcode::Fconst)) {
            return None;
        }
        let ty = self.ty_of(v);
        let nan = if ty == Type::F32 {
            0x7fc0_0000
        } else {
            0x7ff8_0000_0000_0000
        };
        let c = self.b.ins().fcmp(FloatCC::Unordered, v, v);
        let k = self.fconst(ty, nan)?;
        let s = self.b.ins().select(c, k, v);
        self.set_taint(s, false);
        Some(s)
    }

    /// Before the final return: fold the newest values of a few types, which are the
    /// likeliest not to have been folded yet.
    fn fold_tail(&mut self) {
        for _ in 0..3 {
            let avail: Vec<usize> = (0..12).filter(|&t| !self.pool[t].is_empty()).collect();
            let Some(t) = self.choose(&avail) else { return };
            if let Some(&v) = self.pool[t].last() {
                self.fold(v);
            }
        }
    }

    /// At the end of the entry function: load a few heap words into the accumulator, so
    /// stores to the heap are observable.
    fn fold_heap(&mut self) {
        let Some((base, size)) = self.heap else {
            return;
        };
        if !self.ok(Opcode::Load) {
            return;
        }
        for _ in 0..2 {
            let off = below(self.u, (size / 8) as usize) as i32 * 8;
            let v = self.b.ins().load(Type::I64, MemFlags::trusted(), base, off);
            self.set_taint(v, false);
            self.fold(v);
        }
    }

    // ---- instruction emission ----------------------------------------------------------

    fn bin(&mut self, op: Opcode, a: Value, b: Value) -> Value {
        let i = self.b.ins();
        match op {
            Opcode::Iadd => i.iadd(a, b),
            Opcode::Isub => i.isub(a, b),
            Opcode::Imul => i.imul(a, b),
            Opcode::Umulhi => i.umulhi(a, b),
            Opcode::Smulhi => i.smulhi(a, b),
            Opcode::Sdiv => i.sdiv(a, b),
            Opcode::Udiv => i.udiv(a, b),
            Opcode::Srem => i.srem(a, b),
            Opcode::Urem => i.urem(a, b),
            Opcode::Band => i.band(a, b),
            Opcode::Bor => i.bor(a, b),
            Opcode::Bxor => i.bxor(a, b),
            Opcode::BandNot => i.band_not(a, b),
            Opcode::Ishl => i.ishl(a, b),
            Opcode::Ushr => i.ushr(a, b),
            Opcode::Sshr => i.sshr(a, b),
            Opcode::Rotl => i.rotl(a, b),
            Opcode::Rotr => i.rotr(a, b),
            Opcode::Fadd => i.fadd(a, b),
            Opcode::Fsub => i.fsub(a, b),
            Opcode::Fmul => i.fmul(a, b),
            Opcode::Fdiv => i.fdiv(a, b),
            Opcode::Fmin => i.fmin(a, b),
            Opcode::Fmax => i.fmax(a, b),
            Opcode::SaddSat => i.sadd_sat(a, b),
            Opcode::UaddSat => i.uadd_sat(a, b),
            Opcode::SsubSat => i.ssub_sat(a, b),
            Opcode::UsubSat => i.usub_sat(a, b),
            Opcode::Smin => i.smin(a, b),
            Opcode::Umin => i.umin(a, b),
            Opcode::Smax => i.smax(a, b),
            Opcode::Umax => i.umax(a, b),
            Opcode::AvgRound => i.avg_round(a, b),
            Opcode::FminPseudo => i.fmin_pseudo(a, b),
            Opcode::FmaxPseudo => i.fmax_pseudo(a, b),
            Opcode::Swizzle => i.swizzle(a, b),
            Opcode::Sdot => i.sdot(a, b),
            Opcode::SqmulRoundSat => i.sqmul_round_sat(a, b),
            _ => i.fcopysign(a, b),
        }
    }

    fn un(&mut self, op: Opcode, a: Value) -> Value {
        let i = self.b.ins();
        match op {
            Opcode::Bnot => i.bnot(a),
            Opcode::Ineg => i.ineg(a),
            Opcode::Clz => i.clz(a),
            Opcode::Ctz => i.ctz(a),
            Opcode::Popcnt => i.popcnt(a),
            Opcode::Iabs => i.iabs(a),
            Opcode::VanyTrue => i.vany_true(a),
            Opcode::VallTrue => i.vall_true(a),
            Opcode::VhighBits => i.vhigh_bits(a),
            Opcode::Fneg => i.fneg(a),
            Opcode::Fabs => i.fabs(a),
            Opcode::Sqrt => i.sqrt(a),
            Opcode::Ceil => i.ceil(a),
            Opcode::Floor => i.floor(a),
            Opcode::Trunc => i.trunc(a),
            _ => i.nearest(a),
        }
    }

    fn conv(&mut self, op: Opcode, ty: Type, a: Value) -> Value {
        let i = self.b.ins();
        let v = match op {
            Opcode::Uextend => i.uextend(ty, a),
            Opcode::Sextend => i.sextend(ty, a),
            Opcode::Ireduce => i.ireduce(ty, a),
            Opcode::FcvtToSint => i.fcvt_to_sint(ty, a),
            Opcode::FcvtToUint => i.fcvt_to_uint(ty, a),
            Opcode::FcvtToSintSat => i.fcvt_to_sint_sat(ty, a),
            Opcode::FcvtToUintSat => i.fcvt_to_uint_sat(ty, a),
            Opcode::FcvtFromSint => i.fcvt_from_sint(ty, a),
            Opcode::FcvtFromUint => i.fcvt_from_uint(ty, a),
            Opcode::Fpromote => i.fpromote(ty, a),
            Opcode::Fdemote => i.fdemote(ty, a),
            Opcode::Bitcast => i.bitcast(ty, a),
            Opcode::SwidenLow => i.swiden_low(ty, a),
            Opcode::SwidenHigh => i.swiden_high(ty, a),
            Opcode::UwidenLow => i.uwiden_low(ty, a),
            Opcode::UwidenHigh => i.uwiden_high(ty, a),
            Opcode::SwidenAddPairwise => i.swiden_add_pairwise(ty, a),
            Opcode::UwidenAddPairwise => i.uwiden_add_pairwise(ty, a),
            _ => i.splat(ty, a),
        };
        self.set_taint(v, false);
        v
    }

    /// One value-producing (or side-effecting) operation with opcode `op`. Returns the
    /// result to pool and fold, if any.
    fn emit(&mut self, op: Opcode) -> Option<Value> {
        use Opcode::*;
        match op {
            Iconst => {
                let ty = self.int_ty();
                self.konst(ty)
            }
            Fconst => {
                let ty = self.float_ty();
                self.konst(ty)
            }
            Vconst => {
                if !self.vectors() {
                    return None;
                }
                let ty = Type::ALL[6 + below(self.u, 6)];
                self.konst(ty)
            }
            Iadd | Isub | Imul | Band | Bor | Bxor | BandNot => {
                let ty = self.int_or_ivec_ty();
                if chance(self.u, 1, 6) {
                    if let Some(v) = self.fused_left(op, ty) {
                        return Some(v);
                    }
                }
                let a = self.pick(ty)?;
                let b = self.pick(ty)?;
                Some(self.bin(op, a, b))
            }
            Umulhi | Smulhi => {
                let ty = self.int_ty();
                let a = self.pick(ty)?;
                let b = self.pick(ty)?;
                Some(self.bin(op, a, b))
            }
            Ishl | Ushr | Sshr if self.vector_form() => {
                // A vector shifted by an i32 amount (taken modulo the lane width).
                let ty = IVECS[below(self.u, 4)];
                let a = self.pick(ty)?;
                let b = if chance(self.u, 1, 4) {
                    self.edge_shift_amount(Type::I32)?
                } else {
                    self.pick(Type::I32)?
                };
                Some(self.bin(op, a, b))
            }
            Ishl | Ushr | Sshr | Rotl | Rotr => {
                let ty = self.int_ty();
                let a = self.pick(ty)?;
                let b = if chance(self.u, 1, 4) {
                    self.edge_shift_amount(ty)?
                } else {
                    self.pick(ty)?
                };
                Some(self.bin(op, a, b))
            }
            Sdiv | Udiv | Srem | Urem => self.div(op),
            Bnot | Ineg => {
                let ty = self.int_or_ivec_ty();
                let a = self.pick(ty)?;
                Some(self.un(op, a))
            }
            Popcnt if self.vector_form() => {
                let a = self.pick(Type::I8X16)?;
                Some(self.un(op, a))
            }
            Clz | Ctz | Popcnt => {
                let ty = self.int_ty();
                let a = self.pick(ty)?;
                Some(self.un(op, a))
            }
            Icmp => {
                let ty = self.int_or_ivec_ty();
                let (a, b) = self.cmp_operands(ty)?;
                let cc = IntCC::ALL[below(self.u, IntCC::ALL.len())];
                Some(self.b.ins().icmp(cc, a, b))
            }
            Fcmp => {
                let ty = self.float_or_fvec_ty();
                let (a, b) = self.cmp_operands(ty)?;
                let cc = FloatCC::ALL[below(self.u, FloatCC::ALL.len())];
                let v = self.b.ins().fcmp(cc, a, b);
                self.set_taint(v, false);
                Some(v)
            }
            Select => {
                let ty = self.any_ty();
                let c = match self.fresh_compare() {
                    Some(c) if chance(self.u, 1, 2) => c,
                    _ => {
                        let cty = self.int_ty();
                        self.pick(cty)?
                    }
                };
                let a = self.pick(ty)?;
                let b = self.pick(ty)?;
                let taint = self.is_tainted(a) || self.is_tainted(b);
                let v = self.b.ins().select(c, a, b);
                self.set_taint(v, taint);
                Some(v)
            }
            Uextend | Sextend => {
                let from = INTS[below(self.u, 3)];
                let to = INTS[from as usize + 1 + below(self.u, 3 - from as usize)];
                let a = self.pick(from)?;
                Some(self.conv(op, to, a))
            }
            Ireduce => {
                let from = INTS[1 + below(self.u, 3)];
                let to = INTS[below(self.u, from as usize)];
                let a = self.pick(from)?;
                Some(self.conv(op, to, a))
            }
            Fadd | Fsub | Fmul | Fdiv | Fmin | Fmax => {
                let ty = self.float_or_fvec_ty();
                let a = self.pick(ty)?;
                let b = self.pick(ty)?;
                let v = self.bin(op, a, b);
                self.set_taint(v, true);
                Some(v)
            }
            Fcopysign => {
                // The sign source must be clean: the sign of an arithmetic NaN differs
                // between engines and would show in a non-NaN result.
                let ty = self.float_ty();
                let a = self.pick(ty)?;
                let b = self.pick_clean(ty)?;
                let taint = self.is_tainted(a);
                let v = self.bin(op, a, b);
                self.set_taint(v, taint);
                Some(v)
            }
            Fneg | Fabs => {
                let ty = self.float_or_fvec_ty();
                let a = self.pick(ty)?;
                let taint = self.is_tainted(a);
                let v = self.un(op, a);
                self.set_taint(v, taint);
                Some(v)
            }
            Sqrt | Ceil | Floor | Trunc | Nearest => {
                let ty = self.float_or_fvec_ty();
                let a = self.pick(ty)?;
                let v = self.un(op, a);
                self.set_taint(v, true);
                Some(v)
            }
            FcvtToSint | FcvtToUint => self.fcvt_trapping(op),
            FcvtToSintSat | FcvtToUintSat if self.vector_form() => {
                // NaN lanes convert to 0: the result is clean whatever the input.
                let fty = FVECS[below(self.u, 2)];
                let a = self.pick(fty)?;
                Some(self.conv(op, Type::I32X4, a))
            }
            FcvtFromSint | FcvtFromUint if self.vector_form() => {
                let fty = FVECS[below(self.u, 2)];
                let a = self.pick(Type::I32X4)?;
                Some(self.conv(op, fty, a))
            }
            Fpromote | Fdemote if self.vector_form() => {
                let (from, to) = if op == Fpromote {
                    (Type::F32X4, Type::F64X2)
                } else {
                    (Type::F64X2, Type::F32X4)
                };
                let a = self.pick(from)?;
                let v = self.conv(op, to, a);
                self.set_taint(v, true);
                Some(v)
            }
            FcvtToSintSat | FcvtToUintSat => {
                let fty = self.float_ty();
                let ity = [Type::I32, Type::I64][below(self.u, 2)];
                let a = self.conversion_input(fty)?;
                Some(self.conv(op, ity, a))
            }
            FcvtFromSint | FcvtFromUint => {
                let ity = [Type::I32, Type::I64][below(self.u, 2)];
                let fty = self.float_ty();
                let a = self.conversion_input(ity)?;
                Some(self.conv(op, fty, a))
            }
            Fpromote => {
                let a = self.pick(Type::F32)?;
                let v = self.conv(op, Type::F64, a);
                self.set_taint(v, true);
                Some(v)
            }
            Fdemote => {
                let a = self.pick(Type::F64)?;
                let v = self.conv(op, Type::F32, a);
                self.set_taint(v, true);
                Some(v)
            }
            Bitcast => self.bitcast(),
            Load | Uload8 | Sload8 | Uload16 | Sload16 | Uload32 | Sload32 => self.load(op, false),
            Store | Istore8 | Istore16 | Istore32 => {
                self.store(op, false);
                None
            }
            StackLoad => self.stack_load(),
            StackStore => {
                self.stack_store();
                None
            }
            StackAddr => {
                if self.ok(Load) && chance(self.u, 1, 2) {
                    self.load(Load, true)
                } else if self.ok(Store) {
                    self.store(Store, true);
                    None
                } else {
                    let (slot, size) = self.choose(&self.slots.clone())?;
                    // The address itself differs between engines: never pooled.
                    let off = below(self.u, size as usize + 1) as i32;
                    self.b.ins().stack_addr(slot, off);
                    None
                }
            }
            Trapz | Trapnz => {
                self.cond_trap(op);
                None
            }
            Call => {
                self.call(false);
                None
            }
            CallIndirect | FuncAddr => {
                self.call(true);
                None
            }
            Splat => {
                if !self.vectors() {
                    return None;
                }
                let ty = Type::ALL[6 + below(self.u, 6)];
                let x = self.pick(ty.lane_type())?;
                let taint = self.is_tainted(x);
                let v = self.conv(op, ty, x);
                self.set_taint(v, taint);
                Some(v)
            }
            Extractlane => {
                if !self.vectors() {
                    return None;
                }
                let ty = Type::ALL[6 + below(self.u, 6)];
                let v = self.pick(ty)?;
                let lane = below(self.u, ty.lane_count() as usize) as u8;
                let taint = self.is_tainted(v);
                let x = self.b.ins().extractlane(v, lane);
                self.set_taint(x, taint);
                Some(x)
            }
            Insertlane => {
                if !self.vectors() {
                    return None;
                }
                let ty = Type::ALL[6 + below(self.u, 6)];
                let v = self.pick(ty)?;
                let x = self.pick(ty.lane_type())?;
                let lane = below(self.u, ty.lane_count() as usize) as u8;
                let taint = self.is_tainted(v) || self.is_tainted(x);
                let r = self.b.ins().insertlane(v, x, lane);
                self.set_taint(r, taint);
                Some(r)
            }
            Jump | Brif | BrTable | Return | Trap => None,
            // The integer vector families: integer vectors are never tainted.
            SaddSat | UaddSat | SsubSat | UsubSat | AvgRound => {
                let ty = self.vector_among(&[Type::I8X16, Type::I16X8])?;
                let (a, b) = (self.pick(ty)?, self.pick(ty)?);
                Some(self.bin(op, a, b))
            }
            Smin | Umin | Smax | Umax => {
                let ty = self.vector_among(&[Type::I8X16, Type::I16X8, Type::I32X4])?;
                let (a, b) = (self.pick(ty)?, self.pick(ty)?);
                Some(self.bin(op, a, b))
            }
            Swizzle => {
                let ty = self.vector_among(&[Type::I8X16])?;
                let (a, b) = (self.pick(ty)?, self.pick(ty)?);
                Some(self.bin(op, a, b))
            }
            Iabs | VallTrue | VhighBits => {
                let ty = self.vector_among(&IVECS)?;
                let a = self.pick(ty)?;
                Some(self.un(op, a))
            }
            VanyTrue => {
                // Float vectors only when clean, so no NaN payload is ever read as bits.
                let ty = self.vector_among(&Type::ALL[6..])?;
                let a = self.pick_clean(ty)?;
                Some(self.un(op, a))
            }
            FminPseudo | FmaxPseudo => {
                // Returns one operand bit for bit: tainted when either is.
                if !self.vectors() {
                    return None;
                }
                let ty = FVECS[below(self.u, 2)];
                let (a, b) = (self.pick(ty)?, self.pick(ty)?);
                let taint = self.is_tainted(a) || self.is_tainted(b);
                let v = self.bin(op, a, b);
                self.set_taint(v, taint);
                Some(v)
            }
            Bitselect => {
                // Mixing bits of an arithmetic NaN would expose its payload: clean only.
                if !self.vectors() {
                    return None;
                }
                let ty = Type::ALL[6 + below(self.u, 6)];
                let c = self.pick_clean(ty)?;
                let a = self.pick_clean(ty)?;
                let b = self.pick_clean(ty)?;
                Some(self.b.ins().bitselect(c, a, b))
            }
            Shuffle => {
                let ty = self.vector_among(&[Type::I8X16])?;
                let (a, b) = (self.pick(ty)?, self.pick(ty)?);
                let mut mask = [0u8; 16];
                for m in &mut mask {
                    *m = below(self.u, 32) as u8;
                }
                Some(self.b.ins().shuffle(a, b, mask))
            }
            Snarrow | Unarrow => {
                let from = self.vector_among(&[Type::I16X8, Type::I32X4])?;
                let to = if from == Type::I16X8 {
                    Type::I8X16
                } else {
                    Type::I16X8
                };
                let (a, b) = (self.pick(from)?, self.pick(from)?);
                Some(if op == Snarrow {
                    self.b.ins().snarrow(to, a, b)
                } else {
                    self.b.ins().unarrow(to, a, b)
                })
            }
            SwidenLow | SwidenHigh | UwidenLow | UwidenHigh | SwidenAddPairwise
            | UwidenAddPairwise => {
                if !self.vectors() {
                    return None;
                }
                let pairwise = matches!(op, SwidenAddPairwise | UwidenAddPairwise);
                let k = below(self.u, if pairwise { 2 } else { 3 });
                let (from, to) = (IVECS[k], IVECS[k + 1]);
                let a = self.pick(from)?;
                Some(self.conv(op, to, a))
            }
            SwidenMulLow | SwidenMulHigh | UwidenMulLow | UwidenMulHigh => {
                if !self.vectors() {
                    return None;
                }
                let k = below(self.u, 3);
                let (from, to) = (IVECS[k], IVECS[k + 1]);
                let (a, b) = (self.pick(from)?, self.pick(from)?);
                Some(self.b.ins().widen_mul(op, to, a, b))
            }
            Sdot | SqmulRoundSat => {
                let ty = self.vector_among(&[Type::I16X8])?;
                let (a, b) = (self.pick(ty)?, self.pick(ty)?);
                Some(self.bin(op, a, b))
            }
            LoadSplat | SloadWiden | UloadWiden | LoadZero => {
                if !self.vectors() {
                    return None;
                }
                self.load(op, false)
            }
            LoadLane => {
                // The loaded lane is clean (memory only holds clean values); the others
                // keep the vector's taint.
                let ty = self.vector_among(&Type::ALL[6..])?;
                let v = self.pick(ty)?;
                let taint = self.is_tainted(v);
                let (addr, off, aligned) = self.mem_target(op.access_bytes(ty), false)?;
                let flags = self.mem_flags(aligned);
                let lane = below(self.u, ty.lane_count() as usize) as u8;
                let r = self.b.ins().load_lane(flags, v, addr, off, lane);
                self.set_taint(r, taint);
                Some(r)
            }
            StoreLane => {
                let ty = self.vector_among(&Type::ALL[6..])?;
                let v = self.pick_clean(ty)?;
                let (addr, off, aligned) = self.mem_target(op.access_bytes(ty), false)?;
                let flags = self.mem_flags(aligned);
                let lane = below(self.u, ty.lane_count() as usize) as u8;
                self.b.ins().store_lane(flags, v, addr, off, lane);
                None
            }
        }
    }

    /// `sdiv`/`udiv`/`srem`/`urem`. Most divisions are guarded so that they cannot trap
    /// (divisor forced non-zero, and for `sdiv` the dividend kept away from `MIN`); when
    /// traps are allowed, one in eight is left unguarded.
    fn div(&mut self, op: Opcode) -> Option<Value> {
        let ty = self.int_ty();
        if chance(self.u, 1, 4) {
            // Both operands from one edge pair (MIN and -1, x and 0, ...).
            let may_trap = self.r.traps && chance(self.u, 1, 2);
            if let Some((n, d)) = self.div_edge_pair(op, ty, may_trap) {
                return Some(self.bin(op, n, d));
            }
        }
        let mut n = self.pick(ty)?;
        let mut d = self.pick(ty)?;
        let unguarded = self.r.traps && chance(self.u, 1, 8);
        if !unguarded {
            let can_or = self.ok(Opcode::Bor) && self.ok(Opcode::Iconst);
            let can_sel =
                self.ok(Opcode::Icmp) && self.ok(Opcode::Select) && self.ok(Opcode::Iconst);
            let min = 1i64.wrapping_shl(ty.bits() - 1);
            if can_sel && (!can_or || chance(self.u, 1, 2)) {
                let zero = self.iconst(ty, 0)?;
                let one = self.iconst(ty, 1)?;
                let c = self.b.ins().icmp(IntCC::Equal, d, zero);
                d = self.b.ins().select(c, one, d);
                if op == Opcode::Sdiv {
                    let m = self.iconst(ty, min)?;
                    let c = self.b.ins().icmp(IntCC::Equal, n, m);
                    n = self.b.ins().select(c, one, n);
                }
            } else if can_or {
                let one = self.iconst(ty, 1)?;
                d = self.b.ins().bor(d, one);
                if op == Opcode::Sdiv {
                    // MIN has a zero low bit, so `n | 1` is never MIN.
                    n = self.b.ins().bor(n, one);
                }
            } else if !self.r.traps {
                return None;
            }
        }
        Some(self.bin(op, n, d))
    }

    /// `fcvt_to_sint`/`fcvt_to_uint`: usually guarded by a range check (`fcmp` + `band` +
    /// `select`) that replaces NaN and out-of-range inputs with `0.0`.
    fn fcvt_trapping(&mut self, op: Opcode) -> Option<Value> {
        let fty = self.float_ty();
        let ity = [Type::I32, Type::I64][below(self.u, 2)];
        let mut x = self.conversion_input(fty)?;
        let unguarded = self.r.traps && chance(self.u, 1, 6);
        let can_guard = self.ok(Opcode::Fcmp)
            && self.ok(Opcode::Band)
            && self.ok(Opcode::Select)
            && self.ok(Opcode::Fconst);
        if !unguarded {
            if !can_guard {
                if !self.r.traps {
                    return None;
                }
            } else {
                let signed = op == Opcode::FcvtToSint;
                // (lower condition, lower bound, upper bound (exclusive)).
                let (lo_cc, lo, hi): (FloatCC, f64, f64) = match (signed, ity, fty) {
                    (true, Type::I32, Type::F64) => {
                        (FloatCC::GreaterThan, -2147483649.0, 2147483648.0)
                    }
                    (true, Type::I32, _) => {
                        (FloatCC::GreaterThanOrEqual, -2147483648.0, 2147483648.0)
                    }
                    (true, _, _) => (
                        FloatCC::GreaterThanOrEqual,
                        -9223372036854775808.0,
                        9223372036854775808.0,
                    ),
                    (false, Type::I32, _) => (FloatCC::GreaterThan, -1.0, 4294967296.0),
                    (false, _, _) => (FloatCC::GreaterThan, -1.0, 18446744073709551616.0),
                };
                let bits = |v: f64| {
                    if fty == Type::F32 {
                        u64::from((v as f32).to_bits())
                    } else {
                        v.to_bits()
                    }
                };
                let lo = self.fconst(fty, bits(lo))?;
                let hi = self.fconst(fty, bits(hi))?;
                let c1 = self.b.ins().fcmp(lo_cc, x, lo);
                let c2 = self.b.ins().fcmp(FloatCC::LessThan, x, hi);
                let c = self.b.ins().band(c1, c2);
                let safe_value = f64::from(below(self.u, 3) as u8);
                let safe = self.fconst(fty, bits(safe_value))?;
                x = self.b.ins().select(c, x, safe);
            }
        }
        Some(self.conv(op, ity, x))
    }

    /// A `bitcast` of a clean value (never an arithmetic NaN).
    fn bitcast(&mut self) -> Option<Value> {
        let (from, to) = if self.vectors() && chance(self.u, 1, 3) {
            let from = Type::ALL[6 + below(self.u, 6)];
            let mut to = Type::ALL[6 + below(self.u, 5)];
            if to == from {
                to = Type::F64X2;
            }
            (from, to)
        } else {
            [
                (Type::I32, Type::F32),
                (Type::F32, Type::I32),
                (Type::I64, Type::F64),
                (Type::F64, Type::I64),
            ][below(self.u, 4)]
        };
        let a = self.pick_clean(from)?;
        Some(self.conv(Opcode::Bitcast, to, a))
    }

    /// Stack slots (when memory is allowed and they can be zero-initialized): 1 to 3
    /// slots of 16 to 64 bytes, every byte written at function entry, because compiled
    /// code's stack is not zeroed (the interpreter's is).
    fn make_slots(&mut self) {
        if !self.r.memory || !self.ok(Opcode::StackStore) {
            return;
        }
        let use_v = self.vectors() && self.ok(Opcode::Vconst);
        if !use_v && !self.ok(Opcode::Iconst) {
            return;
        }
        let uses = [Opcode::StackLoad, Opcode::StackStore, Opcode::StackAddr];
        if !uses.iter().any(|&o| self.ok(o)) || chance(self.u, 1, 4) {
            return;
        }
        let zero = if use_v {
            self.b.ins().vconst(Type::I64X2, [0; 16])
        } else {
            self.b.ins().iconst(Type::I64, 0)
        };
        let step = if use_v { 16 } else { 8 };
        for _ in 0..1 + below(self.u, 3) {
            let size = 16 * (1 + below(self.u, 4) as u32);
            let align_shift = below(self.u, 5) as u8;
            let slot = self
                .b
                .create_stack_slot(StackSlotData { size, align_shift });
            let mut off = 0;
            while off < size {
                self.b.ins().stack_store(zero, slot, off as i32);
                off += step;
            }
            self.slots.push((slot, size));
        }
    }

    /// An address and immediate offset for a `bytes`-byte access that provably stays
    /// inside the heap or a stack slot, and whether it is aligned to `bytes`.
    ///
    /// Heap: `base + (index & mask) + offset` with `mask ≤ size/2 - 1` and
    /// `offset ≤ size/2 - bytes`, so the access ends at most at `size - 1`. Stack:
    /// `stack_addr ss+o1` then offset `o2` with `0 ≤ o1 + o2 ≤ size - bytes`.
    fn mem_target(&mut self, bytes: u32, stack: bool) -> Option<(Value, i32, bool)> {
        let use_stack = stack
            || self.heap.is_none()
            || (!self.slots.is_empty() && self.ok(Opcode::StackAddr) && chance(self.u, 1, 4));
        if use_stack {
            if !self.ok(Opcode::StackAddr) {
                return None;
            }
            let (slot, size) = self.choose(&self.slots.clone())?;
            if bytes > size {
                return None;
            }
            let o1 = below(self.u, size as usize + 1) as i32;
            let t = below(self.u, (size - bytes) as usize + 1) as i32;
            let a = self.b.ins().stack_addr(slot, o1);
            return Some((a, t - o1, false));
        }
        let (base, size) = self.heap?;
        if (self.ptrs.len() > 1 || chance(self.u, 1, 4)) && chance(self.u, 1, 2) {
            if let Some((addr, off)) = self.ptr_target(bytes) {
                return Some((addr, off, false));
            }
        }
        let half = (size / 2) as u32;
        if bytes > half {
            return None;
        }
        let aligned = chance(self.u, 1, 2);
        let off = if aligned {
            below(self.u, ((half - bytes) / bytes) as usize + 1) as u32 * bytes
        } else {
            below(self.u, (half - bytes) as usize + 1) as u32
        };
        let dynamic = self.ok(Opcode::Band)
            && self.ok(Opcode::Iadd)
            && self.ok(Opcode::Iconst)
            && chance(self.u, 2, 3);
        let mut addr = base;
        if dynamic {
            let ity = self.int_ty();
            if let Some(idx) = self.pick(ity) {
                let idx = if ity == Type::I64 {
                    Some(idx)
                } else if self.ok(Opcode::Uextend) {
                    Some(self.conv(Opcode::Uextend, Type::I64, idx))
                } else {
                    None
                };
                if let Some(idx) = idx {
                    let align_mask = if aligned { u64::from(bytes - 1) } else { 0 };
                    let mask = (u64::from(half) - 1) & !align_mask;
                    let m = self.iconst(Type::I64, mask as i64)?;
                    let masked = self.b.ins().band(idx, m);
                    addr = self.b.ins().iadd(base, masked);
                }
            }
        }
        Some((addr, off as i32, aligned))
    }

    fn mem_flags(&mut self, aligned: bool) -> MemFlags {
        let mut f = MemFlags::new();
        if chance(self.u, 1, 2) {
            f = f.with_notrap();
        }
        if aligned && chance(self.u, 2, 3) {
            f = f.with_aligned();
        }
        f
    }

    fn load(&mut self, op: Opcode, stack: bool) -> Option<Value> {
        use Opcode::*;
        let ty = match op {
            Uload8 | Sload8 => [Type::I16, Type::I32, Type::I64][below(self.u, 3)],
            Uload16 | Sload16 => [Type::I32, Type::I64][below(self.u, 2)],
            Uload32 | Sload32 => Type::I64,
            LoadSplat => Type::ALL[6 + below(self.u, 6)],
            SloadWiden | UloadWiden => IVECS[1 + below(self.u, 3)],
            LoadZero => [Type::I32X4, Type::I64X2][below(self.u, 2)],
            _ => self.any_ty(),
        };
        let (addr, off, aligned) = self.mem_target(op.access_bytes(ty), stack)?;
        let flags = self.mem_flags(aligned);
        let i = self.b.ins();
        let v = match op {
            Uload8 => i.uload8(ty, flags, addr, off),
            Sload8 => i.sload8(ty, flags, addr, off),
            Uload16 => i.uload16(ty, flags, addr, off),
            Sload16 => i.sload16(ty, flags, addr, off),
            Uload32 => i.uload32(ty, flags, addr, off),
            Sload32 => i.sload32(ty, flags, addr, off),
            LoadSplat => i.load_splat(ty, flags, addr, off),
            SloadWiden => i.sload_widen(ty, flags, addr, off),
            UloadWiden => i.uload_widen(ty, flags, addr, off),
            LoadZero => i.load_zero(ty, flags, addr, off),
            _ => i.load(ty, flags, addr, off),
        };
        self.set_taint(v, false);
        Some(v)
    }

    fn store(&mut self, op: Opcode, stack: bool) {
        use Opcode::*;
        let ty = match op {
            Istore8 => [Type::I16, Type::I32, Type::I64][below(self.u, 3)],
            Istore16 => [Type::I32, Type::I64][below(self.u, 2)],
            Istore32 => Type::I64,
            _ => self.any_ty(),
        };
        // Only clean values reach memory: memory is read back with any type.
        let Some(v) = self.pick_clean(ty) else { return };
        let Some((addr, off, aligned)) = self.mem_target(op.access_bytes(ty), stack) else {
            return;
        };
        let flags = self.mem_flags(aligned);
        let i = self.b.ins();
        match op {
            Istore8 => i.istore8(flags, v, addr, off),
            Istore16 => i.istore16(flags, v, addr, off),
            Istore32 => i.istore32(flags, v, addr, off),
            _ => i.store(flags, v, addr, off),
        };
    }

    fn stack_load(&mut self) -> Option<Value> {
        let (slot, size) = self.choose(&self.slots.clone())?;
        let ty = self.any_ty();
        let off = below(self.u, (size - ty.bytes()) as usize + 1) as i32;
        let v = self.b.ins().stack_load(ty, slot, off);
        self.set_taint(v, false);
        Some(v)
    }

    fn stack_store(&mut self) {
        let Some((slot, size)) = self.choose(&self.slots.clone()) else {
            return;
        };
        let ty = self.any_ty();
        let Some(v) = self.pick_clean(ty) else { return };
        let off = below(self.u, (size - ty.bytes()) as usize + 1) as i32;
        self.b.ins().stack_store(v, slot, off);
    }

    /// `trapz`/`trapnz`: half the time in a form that never traps, otherwise on an
    /// equality with an edge constant or (rarely) directly on a value.
    fn cond_trap(&mut self, op: Opcode) {
        let ty = self.int_ty();
        let Some(x) = self.pick(ty) else { return };
        let code = self.trap_code();
        let z = op == Opcode::Trapz;
        let c = match below(self.u, 8) {
            0..=3 => {
                // trapz (x | 1) / trapnz (x & 0): never traps.
                let (bop, k) = if z {
                    (Opcode::Bor, 1)
                } else {
                    (Opcode::Band, 0)
                };
                if !self.ok(bop) {
                    return;
                }
                let Some(k) = self.iconst(ty, k) else { return };
                self.bin(bop, x, k)
            }
            7 if self.ok(Opcode::Fcmp) && self.ok(Opcode::Fconst) => {
                // A float compare only this trap uses (fused into it), never true:
                // `x == NaN` for trapnz, `x != NaN` (unordered: true) for trapz.
                let fty = self.float_ty();
                let Some(x) = self.pick(fty) else { return };
                let nan = if fty == Type::F32 {
                    0x7fc0_0000
                } else {
                    0x7ff8_0000_0000_0000
                };
                let Some(k) = self.fconst(fty, nan) else {
                    return;
                };
                let cc = if z { FloatCC::NotEqual } else { FloatCC::Equal };
                self.b.ins().fcmp(cc, x, k)
            }
            4..=6 => {
                if !self.ok(Opcode::Icmp) {
                    return;
                }
                let Some(k) = self.konst(ty) else { return };
                let cc = if z { IntCC::NotEqual } else { IntCC::Equal };
                self.b.ins().icmp(cc, x, k)
            }
            _ => x,
        };
        if z {
            self.b.ins().trapz(c, code);
        } else {
            self.b.ins().trapnz(c, code);
        }
    }

    /// A direct or indirect call of a generated callee, or a direct libcall. Results go
    /// to the pool (tainted as the callee's returns are) and are folded.
    fn call(&mut self, indirect: bool) {
        if !self.ok(Opcode::Call) && !self.ok(Opcode::CallIndirect) {
            return;
        }
        let direct_ok = !indirect && self.ok(Opcode::Call);
        let indirect_ok = indirect && self.ok(Opcode::FuncAddr) && self.ok(Opcode::CallIndirect);
        if (direct_ok || indirect_ok) && chance(self.u, 1, 4) {
            let lc = LibCall::ALL[below(self.u, LibCall::ALL.len())];
            let ty = lc.signature().params[0];
            let Some(x) = self.pick(ty) else { return };
            let fref = match self.libcalls.iter().find(|(l, _)| *l == lc) {
                Some(&(_, f)) => f,
                None => {
                    let f = self.b.import_libcall(lc);
                    self.libcalls.push((lc, f));
                    f
                }
            };
            let inst = if indirect && self.ok(Opcode::FuncAddr) && self.ok(Opcode::CallIndirect) {
                // The libcall's address (differs between engines) only as the callee.
                let sig = self.b.func.dfg.ext_funcs[fref].signature;
                let fa = self.b.ins().func_addr(fref);
                self.b.ins().call_indirect(sig, fa, &[x])
            } else {
                self.b.ins().call(fref, &[x])
            };
            let res = self.b.inst_results(inst).to_vec();
            self.cost += 8 * self.mult;
            for v in res {
                self.push(v, true);
                self.fold(v);
            }
            return;
        }
        if self.callees.is_empty() {
            return;
        }
        let info = &self.callees[below(self.u, self.callees.len())];
        if self.cost + self.mult * info.cost > DYN_BUDGET {
            return;
        }
        let mut args = Vec::with_capacity(info.sig.params.len());
        for (i, &ty) in info.sig.params.iter().enumerate() {
            match self.heap {
                Some((base, _)) if i == 0 => args.push(base),
                // Callees treat their parameters as clean.
                _ => match self.pick_clean(ty) {
                    Some(v) => args.push(v),
                    None => return,
                },
            }
        }
        let (fref, sig) = match self.fn_refs.iter().find(|(j, _, _)| *j == info.index) {
            Some(&(_, f, s)) => (f, s),
            None => {
                let s = self.b.import_signature(info.sig.clone());
                let f = self
                    .b
                    .import_user_function(UserExternalName::new(0, info.index as u32), s);
                self.fn_refs.push((info.index, f, s));
                (f, s)
            }
        };
        // Float and vector values defined before the call and folded after it: live
        // across the call, in registers the callee may clobber.
        let live = self.live_across_call();
        let inst = if indirect && self.ok(Opcode::FuncAddr) && self.ok(Opcode::CallIndirect) {
            // The address differs between engines: used only as the callee.
            let fa = self.b.ins().func_addr(fref);
            self.b.ins().call_indirect(sig, fa, &args)
        } else if self.ok(Opcode::Call) {
            self.b.ins().call(fref, &args)
        } else {
            return;
        };
        self.cost += self.mult * info.cost;
        let res = self.b.inst_results(inst).to_vec();
        let taints = info.ret_tainted.clone();
        for (k, v) in res.into_iter().enumerate() {
            self.push(v, taints.get(k).copied().unwrap_or(true));
            if chance(self.u, 3, 4) {
                self.fold(v);
            }
        }
        for v in live {
            self.fold(v);
        }
    }

    // ---- control flow ------------------------------------------------------------------

    /// Should generation stop (budget spent or input exhausted)?
    fn done(&self) -> bool {
        self.insts() - self.bulk.insts >= self.r.max_insts
            || self.u.is_empty()
            || self.steps >= self.r.max_insts.saturating_mul(4).saturating_add(16)
            || self.cost + 64 * self.mult > DYN_BUDGET
    }

    /// A sequence of statements. Nested regions (`top == false`) also stop at random.
    fn region(&mut self, depth: usize, top: bool) {
        loop {
            if self.done() || self.b.is_filled() {
                return;
            }
            self.steps += 1;
            if !top && chance(self.u, 1, 5) {
                return;
            }
            // Source locations on a third of the statements (branches included): the
            // buffer's and the compiled code's location tables.
            let loc = if chance(self.u, 1, 3) {
                SourceLoc::new(below(self.u, 1 << 16) as u32)
            } else {
                SourceLoc::default()
            };
            self.b.set_srcloc(loc);
            let before = self.insts();
            let nested = depth < MAX_DEPTH;
            match below(self.u, 100) {
                72..=77 if nested => self.if_else(depth),
                78..=81 if nested => self.loop_(depth),
                82..=83 if nested => self.do_while(depth),
                84..=87 if nested => self.switch(depth),
                88..=90 if self.heap.is_some() => {
                    self.derive_ptr();
                    self.cost += (self.insts() - before) as u64 * self.mult;
                }
                91 => {
                    self.pressure();
                    self.cost += (self.insts() - before) as u64 * self.mult;
                }
                92..=95 => self.var_stmt(),
                96..=99 => {
                    let indirect = chance(self.u, 1, 3);
                    self.call(indirect);
                    self.cost += (self.insts() - before) as u64 * self.mult;
                }
                _ => {
                    let op = self.choose(&self.r.value_ops.clone());
                    if let Some(op) = op {
                        if let Some(v) = self.emit(op) {
                            let taint = self.is_tainted(v);
                            self.push(v, taint);
                            if chance(self.u, 4, 5) {
                                self.fold(v);
                            }
                        }
                    }
                    self.cost += (self.insts() - before) as u64 * self.mult;
                }
            }
        }
    }

    /// Assign a variable from the pool (combine, for an accumulator), or read one into
    /// the pool.
    fn var_stmt(&mut self) {
        if self.vars.is_empty() {
            return;
        }
        let i = below(self.u, self.vars.len());
        let Var { var, ty, taintable } = self.vars[i];
        if chance(self.u, 1, 2) {
            let v = if taintable {
                self.pick(ty)
            } else {
                self.pick_clean(ty)
            };
            // Accumulators only ever combine: overwriting one would make everything
            // folded into it so far dead code.
            if let Some(v) = v {
                if self.accs.contains(&i) {
                    self.combine(i, v);
                } else {
                    let _ = self.b.def_var(var, v);
                }
            }
        } else if let Ok(v) = self.b.use_var(var) {
            self.push(v, taintable);
        }
    }

    /// Up to `max` parameter types drawn from the types present in the pool.
    fn param_types(&mut self, max: usize) -> Vec<Type> {
        let avail: Vec<Type> = Type::ALL
            .into_iter()
            .filter(|&t| !self.pool[tix(t)].is_empty())
            .collect();
        let n = below(self.u, max + 1);
        (0..n).filter_map(|_| self.choose(&avail)).collect()
    }

    /// A branch condition: a pool integer or a fresh comparison.
    fn cond(&mut self) -> Option<Value> {
        if self.bulk.shaped_conditions() {
            if let Some(c) = self.shaped_cond() {
                return Some(c);
            }
        }
        if self.ok(Opcode::Icmp) && chance(self.u, 1, 3) {
            let ty = self.int_ty();
            let (a, b) = self.cmp_operands(ty)?;
            let cc = IntCC::ALL[below(self.u, IntCC::ALL.len())];
            return Some(self.b.ins().icmp(cc, a, b));
        }
        if self.ok(Opcode::Fcmp) && chance(self.u, 1, 4) {
            let ty = self.float_ty();
            let (a, b) = self.cmp_operands(ty)?;
            let cc = FloatCC::ALL[below(self.u, FloatCC::ALL.len())];
            return Some(self.b.ins().fcmp(cc, a, b));
        }
        let ty = self.int_ty();
        self.pick(ty)
    }

    /// End an arm early with `trap` or `return` (only in arms whose join block has
    /// another predecessor, so no block becomes unreachable).
    fn maybe_terminate(&mut self) -> bool {
        if !chance(self.u, 1, 6) {
            return false;
        }
        if self.r.traps && self.ok(Opcode::Trap) && chance(self.u, 1, 2) {
            let code = self.trap_code();
            self.b.ins().trap(code);
        } else {
            let rets = self.acc_values();
            self.b.ins().return_(&rets);
        }
        true
    }

    fn new_block_with_params(&mut self, tys: &[Type]) -> (Block, Vec<Value>) {
        let blk = self.b.create_block();
        let ps = tys
            .iter()
            .map(|&t| self.b.append_block_param(blk, t))
            .collect();
        (blk, ps)
    }

    /// Arguments for a jump to a join block with parameters `tys` (and, with `ptr`, a
    /// trailing heap-pointer parameter), recording in `taint` which may be tainted.
    fn join_args(&mut self, tys: &[Type], taint: &mut [bool], ptr: bool) -> Vec<Value> {
        let mut args: Vec<Value> = tys.iter().map(|&t| self.arg(t)).collect();
        for (k, &a) in args.iter().enumerate() {
            taint[k] |= self.is_tainted(a);
        }
        if ptr {
            if let Some(p) = self.near_ptr() {
                args.push(p);
            }
        }
        args
    }

    /// `brif c, then, else` (or `brif c, then, merge`), each arm a nested region, joined
    /// in a merge block with explicit parameters (sometimes a heap pointer among them).
    fn if_else(&mut self, depth: usize) {
        let Some(c) = self.cond() else { return };
        let merge_tys = self.param_types(2);
        let then_tys = self.param_types(1);
        let (merge, merge_ps) = self.new_block_with_params(&merge_tys);
        let merge_ptr = self.ptr_param(merge);
        let ptr = merge_ptr.is_some();
        let (then_b, then_ps) = self.new_block_with_params(&then_tys);
        let mut merge_taint = vec![false; merge_tys.len()];
        let then_args: Vec<Value> = then_tys.iter().map(|&t| self.arg(t)).collect();
        let one_armed = chance(self.u, 1, 3);
        let else_b = if one_armed {
            let args = self.join_args(&merge_tys, &mut merge_taint, ptr);
            self.b.ins().brif(c, then_b, &then_args, merge, &args);
            None
        } else {
            let e = self.b.create_block();
            self.b.ins().brif(c, then_b, &then_args, e, &[]);
            Some(e)
        };
        self.b.seal_block(then_b);
        // Then arm.
        let m = self.mark();
        self.b.switch_to_block(then_b);
        for (&p, &a) in then_ps.iter().zip(&then_args) {
            let t = self.is_tainted(a);
            self.push(p, t);
        }
        self.bulk_here();
        self.region(depth + 1, false);
        if !self.b.is_filled() && !self.maybe_terminate() {
            let args = self.join_args(&merge_tys, &mut merge_taint, ptr);
            self.b.ins().jump(merge, &args);
        }
        self.restore(m);
        // Else arm.
        if let Some(e) = else_b {
            self.b.seal_block(e);
            self.b.switch_to_block(e);
            self.bulk_here();
            self.region(depth + 1, false);
            if !self.b.is_filled() {
                let args = self.join_args(&merge_tys, &mut merge_taint, ptr);
                self.b.ins().jump(merge, &args);
            }
            self.restore(m);
        }
        self.b.seal_block(merge);
        self.b.switch_to_block(merge);
        for (&p, &t) in merge_ps.iter().zip(&merge_taint) {
            self.push(p, t);
        }
        if let Some(p) = merge_ptr {
            self.push_near_ptr(p);
        }
    }

    /// The counter of a bounded loop: an integer in `lo..=lo + mask` (`init`), as a
    /// masked pool value or a constant. `None` if the opcodes are not allowed.
    fn loop_counter(&mut self, cty: Type, mask: u64, lo: i64) -> Option<Value> {
        if self.ok(Opcode::Band) && chance(self.u, 1, 2) && (lo == 0 || self.ok(Opcode::Iadd)) {
            let x = self.pick(cty)?;
            let k = self.iconst(cty, mask as i64)?;
            let v = self.b.ins().band(x, k);
            if lo == 0 {
                return Some(v);
            }
            let l = self.iconst(cty, lo)?;
            return Some(self.b.ins().iadd(v, l));
        }
        let k = lo + below(self.u, mask as usize + 1) as i64;
        self.iconst(cty, k)
    }

    /// The loop-continue test on a counter `n` that counts down: `n` itself, `n != 0`,
    /// `n >u 0` or `n >s 0` (all true while `n > 0`), or `n >=s 0` (true once more, at
    /// `n == 0`; callers count that trip). These lower to each branch kind (cbz/cbnz,
    /// b.cond, tbz/tbnz); `shaped` takes the next shape in the rotation of
    /// [`bulk`](self::bulk) instead of a random one.
    fn counter_test(&mut self, n: Value, cty: Type, shaped: bool) -> Option<Value> {
        let form = if shaped {
            let s = self.bulk.next_shape();
            [0, 1, 3, 4][s % 4]
        } else {
            below(self.u, 5)
        };
        if form == 0 || !self.ok(Opcode::Icmp) {
            return Some(n);
        }
        let zero = self.iconst(cty, 0)?;
        let cc = match form {
            1 => IntCC::NotEqual,
            2 => IntCC::UnsignedGreaterThan,
            3 => IntCC::SignedGreaterThan,
            _ => IntCC::SignedGreaterThanOrEqual,
        };
        Some(self.b.ins().icmp(cc, n, zero))
    }

    /// A loop with a bounded trip count: an integer counter block parameter of the header,
    /// initialized to a value in `0..=mask` (`mask` ∈ {1, 3, 7}), tested at the top and
    /// decremented by one at the end of the body. The header sometimes also carries a heap
    /// pointer.
    fn loop_(&mut self, depth: usize) {
        let dec_op = if self.ok(Opcode::Isub) {
            Opcode::Isub
        } else if self.ok(Opcode::Iadd) {
            Opcode::Iadd
        } else {
            return;
        };
        if !self.ok(Opcode::Iconst) {
            return;
        }
        // Up to `mask + 1` trips (the `n >=s 0` test runs the body at `n == 0` too).
        let masks: Vec<u64> = [1u64, 3, 7]
            .into_iter()
            .filter(|m| self.mult * (m + 1) <= MAX_MULT)
            .collect();
        let Some(mask) = self.choose(&masks) else {
            return;
        };
        let shaped = self.bulk.shaped_conditions();
        let cty = self.int_ty();
        let Some(init) = self.loop_counter(cty, mask, 0) else {
            return;
        };
        let (header, ps) = self.new_block_with_params(&[cty]);
        let Some(&n) = ps.first() else { return };
        let header_ptr = self.ptr_param(header);
        let body = self.b.create_block();
        let exit = self.b.create_block();
        let mut init_args = vec![init];
        if header_ptr.is_some() {
            init_args.extend(self.near_ptr());
        }
        self.b.ins().jump(header, &init_args);
        self.b.switch_to_block(header);
        let Some(c) = self.counter_test(n, cty, shaped) else {
            return;
        };
        self.b.ins().brif(c, body, &[], exit, &[]);
        self.b.seal_block(body);
        self.b.seal_block(exit);
        self.push(n, false);
        if let Some(p) = header_ptr {
            self.push_near_ptr(p);
        }
        let m = self.mark();
        self.b.switch_to_block(body);
        let outer = self.mult;
        self.mult *= mask + 1;
        self.bulk_here();
        self.region(depth + 1, false);
        self.mult = outer;
        if !self.b.is_filled() {
            let dec = if dec_op == Opcode::Isub { 1 } else { -1 };
            if let Some(k) = self.iconst(cty, dec) {
                let n1 = self.bin(dec_op, n, k);
                let mut args = vec![n1];
                if header_ptr.is_some() {
                    args.extend(self.near_ptr());
                }
                self.b.ins().jump(header, &args);
            } else {
                self.b.ins().jump(exit, &[]);
            }
        }
        self.b.seal_block(header);
        self.restore(m);
        self.b.switch_to_block(exit);
    }

    /// A bottom-tested loop (`do { body } while (--n > 0)`): the backward edge is a
    /// conditional branch. The counter starts in `1..=mask + 1`; with the `>=s 0` test
    /// the body runs once more.
    fn do_while(&mut self, depth: usize) {
        if !self.ok(Opcode::Iconst) || !(self.ok(Opcode::Isub) || self.ok(Opcode::Iadd)) {
            return;
        }
        let masks: Vec<u64> = [1u64, 3, 7]
            .into_iter()
            .filter(|m| self.mult * (m + 2) <= MAX_MULT)
            .collect();
        let Some(mask) = self.choose(&masks) else {
            return;
        };
        let shaped = self.bulk.shaped_conditions();
        let cty = self.int_ty();
        let Some(init) = self.loop_counter(cty, mask, 1) else {
            return;
        };
        let (body, ps) = self.new_block_with_params(&[cty]);
        let Some(&n) = ps.first() else { return };
        let exit = self.b.create_block();
        self.b.ins().jump(body, &[init]);
        self.b.switch_to_block(body);
        let m = self.mark();
        self.push(n, false);
        let outer = self.mult;
        self.mult *= mask + 2;
        self.bulk_here();
        self.region(depth + 1, false);
        self.mult = outer;
        if !self.b.is_filled() {
            let n1 = if self.ok(Opcode::Isub) {
                let one = self.iconst(cty, 1);
                one.map(|k| self.b.ins().isub(n, k))
            } else {
                let minus_one = self.iconst(cty, -1);
                minus_one.map(|k| self.b.ins().iadd(n, k))
            };
            match n1.and_then(|n1| self.counter_test(n1, cty, shaped).map(|c| (n1, c))) {
                Some((n1, c)) => {
                    self.b.ins().brif(c, body, &[n1], exit, &[]);
                }
                None => {
                    self.b.ins().jump(exit, &[]);
                }
            }
        }
        self.b.seal_block(body);
        self.b.seal_block(exit);
        self.restore(m);
        self.b.switch_to_block(exit);
    }

    /// `br_table` over 2 to 4 arms (every arm reachable; arm 0 is the default), the index
    /// often masked to a small range, arms with optional parameters, joined in a merge
    /// block.
    fn switch(&mut self, depth: usize) {
        let Some(mut idx) = self.pick(Type::I32) else {
            return;
        };
        if self.ok(Opcode::Band) && chance(self.u, 2, 3) {
            let k = [1i64, 3, 7][below(self.u, 3)];
            if let Some(k) = self.iconst(Type::I32, k) {
                idx = self.b.ins().band(idx, k);
            }
        }
        let narms = 2 + below(self.u, 3);
        let merge_tys = self.param_types(2);
        let (merge, merge_ps) = self.new_block_with_params(&merge_tys);
        let mut merge_taint = vec![false; merge_tys.len()];
        let mut arms = Vec::with_capacity(narms);
        for _ in 0..narms {
            let tys = self.param_types(1);
            let (blk, ps) = self.new_block_with_params(&tys);
            let taints = vec![false; ps.len()];
            arms.push((blk, tys, ps, taints));
        }
        // Table: every arm but the default at least once, plus a few repeats, shuffled.
        let mut entries: Vec<usize> = (1..narms).collect();
        for _ in 0..below(self.u, 4) {
            entries.push(below(self.u, narms));
        }
        for i in (1..entries.len()).rev() {
            let j = below(self.u, i + 1);
            entries.swap(i, j);
        }
        let mut calls: Vec<(Block, Vec<Value>)> = Vec::with_capacity(entries.len() + 1);
        for &a in std::iter::once(&0).chain(entries.iter()) {
            let tys = arms[a].1.clone();
            let args: Vec<Value> = tys.iter().map(|&t| self.arg(t)).collect();
            for (k, &v) in args.iter().enumerate() {
                arms[a].3[k] |= self.is_tainted(v);
            }
            calls.push((arms[a].0, args));
        }
        let table: Vec<(Block, &[Value])> =
            calls[1..].iter().map(|(b, a)| (*b, a.as_slice())).collect();
        self.b
            .ins()
            .br_table(idx, (calls[0].0, calls[0].1.as_slice()), &table);
        for (blk, ..) in &arms {
            self.b.seal_block(*blk);
        }
        let m = self.mark();
        for (i, (blk, _, ps, taints)) in arms.iter().enumerate() {
            self.b.switch_to_block(*blk);
            for (&p, &t) in ps.iter().zip(taints) {
                self.push(p, t);
            }
            self.region(depth + 1, false);
            let ended = self.b.is_filled() || (i > 0 && self.maybe_terminate());
            if !ended {
                let args = self.join_args(&merge_tys, &mut merge_taint, false);
                self.b.ins().jump(merge, &args);
            }
            self.restore(m);
        }
        self.b.seal_block(merge);
        self.b.switch_to_block(merge);
        for (&p, &t) in merge_ps.iter().zip(&merge_taint) {
            self.push(p, t);
        }
    }
}

impl Var {
    fn taint_of(&self) -> bool {
        self.taintable
    }
}
