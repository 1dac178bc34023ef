//! Property tests of the IR core: random programs built through `FunctionBuilder`.
//!
//! Laws checked:
//! 1. the verifier accepts everything the builder produces from well-typed input;
//! 2. print → parse → print is the identity on those functions.
//!
//! Programs are generated as a small structured AST (variables of random types, nested
//! if/else with optional same-target `brif` and explicit merge parameters, bounded loops,
//! `br_table` switches with repeated targets, early returns and traps, stack slots, direct,
//! indirect and libcalls, every non-control opcode with correctly typed operands) and then
//! lowered through the builder. Runs are deterministic: a fixed ChaCha seed, overridable
//! with the `KILN_SEED` environment variable (a `u64`), and no failure persistence files.
//! On failure proptest shrinks the AST and the panic message shows the minimal program, the
//! seed and the IR.

use kiln::ir::text::parse_functions;
use kiln::ir::{
    verify_function, FloatCC, FuncRef, Function, FunctionBuilder, FunctionBuilderContext, IntCC,
    LibCall, MemFlags, SigRef, Signature, SourceLoc, StackSlot, StackSlotData, TrapCode, Type,
    UserExternalName, UserFuncName, Value, Variable,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

const DEFAULT_SEED: u64 = 0x4b49_4c4e_5345_4544;

fn seed() -> u64 {
    std::env::var("KILN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

fn runner(cases: u32) -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed().to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

// ---- the program AST ------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Stmt {
    /// One instruction (family `op`), operand picks `a b c`, immediate, destination pick.
    Op {
        op: u8,
        ty: u8,
        a: u8,
        b: u8,
        c: u8,
        imm: i64,
        dst: u8,
    },
    If {
        cond: u8,
        same_target: bool,
        merge_param: bool,
        then_: Vec<Stmt>,
        else_: Vec<Stmt>,
    },
    Loop {
        trips: u8,
        body: Vec<Stmt>,
    },
    Switch {
        idx: u8,
        arms: Vec<Vec<Stmt>>,
        table: Vec<u8>,
    },
    /// `return` (or `trap` when `trap`), then continue in a fresh unreachable block.
    Exit {
        trap: bool,
        pick: u8,
    },
}

#[derive(Debug, Clone)]
struct Program {
    params: Vec<u8>,
    returns: Vec<u8>,
    vars: Vec<u8>,
    slots: Vec<(u8, u8)>,
    callees: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<Stmt>,
}

const N_OPS: u8 = 27;

fn op_stmt() -> impl Strategy<Value = Stmt> {
    (
        0..N_OPS,
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<i64>(),
        any::<u8>(),
    )
        .prop_map(|(op, ty, a, b, c, imm, dst)| Stmt::Op {
            op,
            ty,
            a,
            b,
            c,
            imm,
            dst,
        })
}

fn stmt() -> impl Strategy<Value = Stmt> {
    let leaf = prop_oneof![
        12 => op_stmt(),
        1 => (any::<bool>(), any::<u8>()).prop_map(|(trap, pick)| Stmt::Exit { trap, pick }),
    ];
    leaf.prop_recursive(4, 96, 6, |inner| {
        prop_oneof![
            6 => op_stmt(),
            2 => (any::<u8>(), any::<bool>(), any::<bool>(), vec(inner.clone(), 0..6), vec(inner.clone(), 0..6))
                .prop_map(|(cond, s, m, t, e)| Stmt::If { cond, same_target: s, merge_param: m, then_: t, else_: e }),
            1 => (1u8..4, vec(inner.clone(), 0..6)).prop_map(|(trips, body)| Stmt::Loop { trips, body }),
            1 => (any::<u8>(), vec(vec(inner.clone(), 0..3), 1..4), vec(any::<u8>(), 0..5))
                .prop_map(|(idx, arms, table)| Stmt::Switch { idx, arms, table }),
        ]
    })
}

fn program() -> impl Strategy<Value = Program> {
    let types = || vec(0u8..12, 0..4);
    (
        types(),
        vec(0u8..12, 0..3),
        vec(0u8..12, 1..8),
        vec((0u8..4, 0u8..5), 0..3),
        vec((types(), vec(0u8..12, 0..3)), 0..3),
        vec(stmt(), 4..30),
    )
        .prop_map(|(params, returns, vars, slots, callees, body)| Program {
            params,
            returns,
            vars,
            slots,
            callees,
            body,
        })
}

// ---- lowering through the builder -----------------------------------------------------

fn ty(n: u8) -> Type {
    Type::ALL[n as usize % Type::ALL.len()]
}

const INTS: [Type; 4] = [Type::I8, Type::I16, Type::I32, Type::I64];
const FLOATS: [Type; 2] = [Type::F32, Type::F64];
const IVECS: [Type; 4] = [Type::I8X16, Type::I16X8, Type::I32X4, Type::I64X2];
const VECS: [Type; 6] = [
    Type::I8X16,
    Type::I16X8,
    Type::I32X4,
    Type::I64X2,
    Type::F32X4,
    Type::F64X2,
];

fn pick<T: Copy>(xs: &[T], n: u8) -> T {
    xs[n as usize % xs.len()]
}

struct Lower<'a, 'b> {
    b: &'b mut FunctionBuilder<'a>,
    vars: Vec<(Variable, Type)>,
    slots: Vec<(StackSlot, u32)>,
    callees: Vec<(FuncRef, SigRef, Signature)>,
    libcalls: Vec<(FuncRef, Type)>,
    returns: Vec<Type>,
    counter: u64,
}

impl Lower<'_, '_> {
    fn next(&mut self) -> u64 {
        self.counter = self
            .counter
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.counter >> 11
    }

    fn konst(&mut self, t: Type, seed: u64) -> Value {
        let bits = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ self.next();
        if t.is_vector() {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&bits.to_le_bytes());
            bytes[8..].copy_from_slice(&(!bits).to_le_bytes());
            self.b.ins().vconst(t, bytes)
        } else if t.is_float() {
            self.b.ins().fconst(t, bits)
        } else {
            // Mostly small numbers, sometimes anything.
            let v = if bits & 3 == 0 {
                bits as i64
            } else {
                (bits % 17) as i64 - 8
            };
            self.b.ins().iconst(t, v)
        }
    }

    /// An operand of type `t`: a variable of that type, or a constant.
    fn get(&mut self, t: Type, p: u8) -> Value {
        let n = self.vars.iter().filter(|(_, vt)| *vt == t).count();
        if n > 0 && !p.is_multiple_of(4) {
            let k = p as usize % n;
            let var = self
                .vars
                .iter()
                .filter(|(_, vt)| *vt == t)
                .nth(k)
                .unwrap()
                .0;
            self.b.use_var(var).unwrap()
        } else {
            self.konst(t, u64::from(p))
        }
    }

    fn put(&mut self, v: Value, dst: u8) {
        let t = self.b.func.dfg.value_type(v).unwrap();
        let n = self.vars.iter().filter(|(_, vt)| *vt == t).count();
        if n > 0 {
            let var = self
                .vars
                .iter()
                .filter(|(_, vt)| *vt == t)
                .nth(dst as usize % n)
                .unwrap()
                .0;
            self.b.def_var(var, v).unwrap();
        }
    }

    fn address(&mut self, access: u32, p: u8) -> Option<(Value, i32)> {
        if self.slots.is_empty() {
            return None;
        }
        let (ss, size) = pick(&self.slots, p);
        let room = size.checked_sub(access)?;
        let off = u32::from(p) % (room + 1);
        let base = self.b.ins().stack_addr(ss, 0);
        Some((base, off as i32))
    }

    fn fresh_unreachable_block(&mut self) {
        let blk = self.b.create_block();
        self.b.switch_to_block(blk);
        self.b.seal_block(blk);
    }

    fn stmts(&mut self, stmts: &[Stmt]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Op {
                op,
                ty: t,
                a,
                b,
                c,
                imm,
                dst,
            } => {
                if *imm % 5 == 0 {
                    self.b.set_srcloc(SourceLoc::new((*imm as u32) & 0xffff));
                }
                if let Some(v) = self.op(*op, *t, *a, *b, *c, *imm) {
                    self.put(v, *dst);
                }
                self.b.set_srcloc(SourceLoc::default());
            }
            Stmt::If {
                cond,
                same_target,
                merge_param,
                then_,
                else_,
            } => {
                let ct = pick(&INTS, *cond);
                let c = self.get(ct, cond.wrapping_mul(7));
                let merge = self.b.create_block();
                let mp = if *merge_param {
                    Some(self.b.append_block_param(merge, Type::I32))
                } else {
                    None
                };
                let arms: Vec<&Vec<Stmt>> = if *same_target {
                    vec![then_]
                } else {
                    vec![then_, else_]
                };
                let blocks: Vec<_> = arms.iter().map(|_| self.b.create_block()).collect();
                let (t, e) = (blocks[0], *blocks.last().unwrap());
                self.b.ins().brif(c, t, &[], e, &[]);
                for (&blk, body) in blocks.iter().zip(arms) {
                    self.b.seal_block(blk);
                    self.b.switch_to_block(blk);
                    self.stmts(body);
                    let args: Vec<Value> = mp.iter().map(|_| self.get(Type::I32, *cond)).collect();
                    self.b.ins().jump(merge, &args);
                }
                self.b.seal_block(merge);
                self.b.switch_to_block(merge);
                if let Some(p) = mp {
                    self.put(p, *cond);
                }
            }
            Stmt::Loop { trips, body } => {
                let counter = self.b.declare_var(Type::I32);
                let zero = self.b.ins().iconst(Type::I32, 0);
                self.b.def_var(counter, zero).unwrap();
                let (header, blk, exit) = (
                    self.b.create_block(),
                    self.b.create_block(),
                    self.b.create_block(),
                );
                self.b.ins().jump(header, &[]);
                self.b.switch_to_block(header);
                let n = self.b.use_var(counter).unwrap();
                let lim = self.b.ins().iconst(Type::I32, i64::from(*trips));
                let c = self.b.ins().icmp(IntCC::UnsignedLessThan, n, lim);
                self.b.ins().brif(c, blk, &[], exit, &[]);
                self.b.seal_block(blk);
                self.b.switch_to_block(blk);
                self.stmts(body);
                let n = self.b.use_var(counter).unwrap();
                let one = self.b.ins().iconst(Type::I32, 1);
                let n2 = self.b.ins().iadd(n, one);
                self.b.def_var(counter, n2).unwrap();
                self.b.ins().jump(header, &[]);
                self.b.seal_block(header);
                self.b.seal_block(exit);
                self.b.switch_to_block(exit);
            }
            Stmt::Switch { idx, arms, table } => {
                let i = self.get(Type::I32, *idx);
                let blocks: Vec<_> = arms.iter().map(|_| self.b.create_block()).collect();
                let merge = self.b.create_block();
                let entries: Vec<(kiln::ir::Block, &[Value])> =
                    table.iter().map(|&t| (pick(&blocks, t), &[][..])).collect();
                self.b.ins().br_table(i, (blocks[0], &[]), &entries);
                for (&blk, body) in blocks.iter().zip(arms) {
                    self.b.seal_block(blk);
                    self.b.switch_to_block(blk);
                    self.stmts(body);
                    self.b.ins().jump(merge, &[]);
                }
                self.b.seal_block(merge);
                self.b.switch_to_block(merge);
            }
            Stmt::Exit { trap, pick: p } => {
                if *trap {
                    self.b.ins().trap(TrapCode::User(u16::from(*p)));
                } else {
                    self.ret(*p);
                }
                self.fresh_unreachable_block();
            }
        }
    }

    fn ret(&mut self, p: u8) {
        let rets = self.returns.clone();
        let vals: Vec<Value> = rets
            .iter()
            .enumerate()
            .map(|(i, &t)| self.get(t, p.wrapping_add(i as u8)))
            .collect();
        self.b.ins().return_(&vals);
    }

    fn op(&mut self, op: u8, t: u8, a: u8, b: u8, c: u8, imm: i64) -> Option<Value> {
        let k = imm.unsigned_abs() as usize;
        let v = match op {
            0 => self.konst(pick(&INTS, t), imm as u64),
            1 => self.konst(pick(&FLOATS, t), imm as u64),
            2 => self.konst(pick(&VECS, t), imm as u64),
            3 => {
                let ty = if t.is_multiple_of(3) {
                    pick(&IVECS, t / 3)
                } else {
                    pick(&INTS, t)
                };
                let (x, y) = (self.get(ty, a), self.get(ty, b));
                let ins = self.b.ins();
                match k % 7 {
                    0 => ins.iadd(x, y),
                    1 => ins.isub(x, y),
                    2 => ins.imul(x, y),
                    3 => ins.band(x, y),
                    4 => ins.bor(x, y),
                    5 => ins.bxor(x, y),
                    _ => ins.band_not(x, y),
                }
            }
            4 => {
                let ty = pick(&INTS, t);
                let (x, y) = (self.get(ty, a), self.get(ty, b));
                let ins = self.b.ins();
                match k % 11 {
                    0 => ins.umulhi(x, y),
                    1 => ins.smulhi(x, y),
                    2 => ins.sdiv(x, y),
                    3 => ins.udiv(x, y),
                    4 => ins.srem(x, y),
                    5 => ins.urem(x, y),
                    6 => ins.ishl(x, y),
                    7 => ins.ushr(x, y),
                    8 => ins.sshr(x, y),
                    9 => ins.rotl(x, y),
                    _ => ins.rotr(x, y),
                }
            }
            5 => {
                let ty = if k % 4 == 3 && t.is_multiple_of(2) {
                    pick(&IVECS, t)
                } else {
                    pick(&INTS, t)
                };
                let x = self.get(ty, a);
                let ins = self.b.ins();
                match (k % 4, ty.is_vector()) {
                    (0, false) => ins.clz(x),
                    (1, false) => ins.ctz(x),
                    (2, false) => ins.popcnt(x),
                    _ => ins.bnot(x),
                }
            }
            6 => {
                let ty = if t.is_multiple_of(3) {
                    pick(&IVECS, t / 3)
                } else {
                    pick(&INTS, t)
                };
                let (x, y) = (self.get(ty, a), self.get(ty, b));
                self.b.ins().icmp(pick(IntCC::ALL, c), x, y)
            }
            7 => {
                let ty = pick(&FLOATS, t);
                let (x, y) = (self.get(ty, a), self.get(ty, b));
                self.b.ins().fcmp(pick(FloatCC::ALL, c), x, y)
            }
            8 => {
                let cond = self.get(pick(&INTS, c), c);
                let ty = ty(t);
                let (x, y) = (self.get(ty, a), self.get(ty, b));
                self.b.ins().select(cond, x, y)
            }
            9 | 10 => {
                let (mut lo, mut hi) = (pick(&INTS, t), pick(&INTS, a));
                if lo == hi {
                    return None;
                }
                if lo.bits() > hi.bits() {
                    core::mem::swap(&mut lo, &mut hi);
                }
                if op == 9 {
                    let x = self.get(lo, b);
                    if k.is_multiple_of(2) {
                        self.b.ins().uextend(hi, x)
                    } else {
                        self.b.ins().sextend(hi, x)
                    }
                } else {
                    let x = self.get(hi, b);
                    self.b.ins().ireduce(lo, x)
                }
            }
            11 => {
                let ty = pick(&FLOATS, t);
                let (x, y) = (self.get(ty, a), self.get(ty, b));
                let ins = self.b.ins();
                match k % 7 {
                    0 => ins.fadd(x, y),
                    1 => ins.fsub(x, y),
                    2 => ins.fmul(x, y),
                    3 => ins.fdiv(x, y),
                    4 => ins.fmin(x, y),
                    5 => ins.fmax(x, y),
                    _ => ins.fcopysign(x, y),
                }
            }
            12 => {
                let x = self.get(pick(&FLOATS, t), a);
                let ins = self.b.ins();
                match k % 7 {
                    0 => ins.fneg(x),
                    1 => ins.fabs(x),
                    2 => ins.sqrt(x),
                    3 => ins.ceil(x),
                    4 => ins.floor(x),
                    5 => ins.trunc(x),
                    _ => ins.nearest(x),
                }
            }
            13 => {
                let x = self.get(pick(&FLOATS, t), a);
                let rt = pick(&[Type::I32, Type::I64], b);
                let ins = self.b.ins();
                match k % 4 {
                    0 => ins.fcvt_to_sint(rt, x),
                    1 => ins.fcvt_to_uint(rt, x),
                    2 => ins.fcvt_to_sint_sat(rt, x),
                    _ => ins.fcvt_to_uint_sat(rt, x),
                }
            }
            14 => {
                let x = self.get(pick(&[Type::I32, Type::I64], t), a);
                let rt = pick(&FLOATS, b);
                if k.is_multiple_of(2) {
                    self.b.ins().fcvt_from_sint(rt, x)
                } else {
                    self.b.ins().fcvt_from_uint(rt, x)
                }
            }
            15 => {
                if t.is_multiple_of(2) {
                    let x = self.get(Type::F32, a);
                    self.b.ins().fpromote(Type::F64, x)
                } else {
                    let x = self.get(Type::F64, a);
                    self.b.ins().fdemote(Type::F32, x)
                }
            }
            16 => {
                let pairs = [
                    (Type::I32, Type::F32),
                    (Type::F32, Type::I32),
                    (Type::I64, Type::F64),
                    (Type::F64, Type::I64),
                ];
                let (from, to) = if t.is_multiple_of(3) {
                    let f = pick(&VECS, a);
                    let mut g = pick(&VECS, b);
                    if f == g {
                        g = pick(&VECS, b.wrapping_add(1));
                    }
                    (f, g)
                } else {
                    pick(&pairs, t)
                };
                let x = self.get(from, c);
                self.b.ins().bitcast(to, x)
            }
            17 => {
                let forms: [(u8, &[Type]); 4] = [
                    (0, &Type::ALL),
                    (1, &[Type::I16, Type::I32, Type::I64]),
                    (2, &[Type::I32, Type::I64]),
                    (4, &[Type::I64]),
                ];
                let (bytes, tys) = pick(&forms, t);
                let rt = pick(tys, a);
                let access = if bytes == 0 {
                    rt.bytes()
                } else {
                    u32::from(bytes)
                };
                let (addr, off) = self.address(access, b)?;
                let flags = MemFlags::from_bits(c & 7).unwrap();
                let signed = k.is_multiple_of(2);
                let ins = self.b.ins();
                match (bytes, signed) {
                    (0, _) => ins.load(rt, flags, addr, off),
                    (1, false) => ins.uload8(rt, flags, addr, off),
                    (1, true) => ins.sload8(rt, flags, addr, off),
                    (2, false) => ins.uload16(rt, flags, addr, off),
                    (2, true) => ins.sload16(rt, flags, addr, off),
                    (_, false) => ins.uload32(rt, flags, addr, off),
                    (_, true) => ins.sload32(rt, flags, addr, off),
                }
            }
            18 => {
                let forms: [(u8, &[Type]); 4] = [
                    (0, &Type::ALL),
                    (1, &[Type::I16, Type::I32, Type::I64]),
                    (2, &[Type::I32, Type::I64]),
                    (4, &[Type::I64]),
                ];
                let (bytes, tys) = pick(&forms, t);
                let vt = pick(tys, a);
                let access = if bytes == 0 {
                    vt.bytes()
                } else {
                    u32::from(bytes)
                };
                let x = self.get(vt, c);
                let (addr, off) = self.address(access, b)?;
                let flags = MemFlags::from_bits(c & 7).unwrap();
                let ins = self.b.ins();
                match bytes {
                    0 => ins.store(flags, x, addr, off),
                    1 => ins.istore8(flags, x, addr, off),
                    2 => ins.istore16(flags, x, addr, off),
                    _ => ins.istore32(flags, x, addr, off),
                };
                return None;
            }
            19 => {
                if self.slots.is_empty() {
                    return None;
                }
                let (ss, size) = pick(&self.slots, b);
                let vt = ty(t);
                let room = size.checked_sub(vt.bytes())?;
                let off = (k as u32 % (room + 1)) as i32;
                match c % 3 {
                    0 => self.b.ins().stack_load(vt, ss, off),
                    1 => {
                        let x = self.get(vt, a);
                        self.b.ins().stack_store(x, ss, off);
                        return None;
                    }
                    _ => self.b.ins().stack_addr(ss, (k as u32 % (size + 1)) as i32),
                }
            }
            20 => {
                let vt = pick(&VECS, t);
                let x = self.get(vt.lane_type(), a);
                self.b.ins().splat(vt, x)
            }
            21 => {
                let vt = pick(&VECS, t);
                let x = self.get(vt, a);
                self.b
                    .ins()
                    .extractlane(x, (u32::from(b) % vt.lane_count()) as u8)
            }
            22 => {
                let vt = pick(&VECS, t);
                let x = self.get(vt, a);
                let y = self.get(vt.lane_type(), c);
                self.b
                    .ins()
                    .insertlane(x, y, (u32::from(b) % vt.lane_count()) as u8)
            }
            23 | 24 => {
                if self.callees.is_empty() {
                    return None;
                }
                let (fr, sr, sig) = self.callees[t as usize % self.callees.len()].clone();
                let args: Vec<Value> = sig
                    .params
                    .iter()
                    .enumerate()
                    .map(|(i, &pt)| self.get(pt, a.wrapping_add(i as u8)))
                    .collect();
                let inst = if op == 23 {
                    self.b.ins().call(fr, &args)
                } else {
                    let callee = self.b.ins().func_addr(fr);
                    self.b.ins().call_indirect(sr, callee, &args)
                };
                let results: Vec<Value> = self.b.inst_results(inst).to_vec();
                for (i, r) in results.into_iter().enumerate() {
                    self.put(r, b.wrapping_add(i as u8));
                }
                return None;
            }
            25 => {
                let x = self.get(pick(&INTS, t), a);
                let code = if k.is_multiple_of(2) {
                    TrapCode::HeapOutOfBounds
                } else {
                    TrapCode::User(7)
                };
                if c.is_multiple_of(2) {
                    self.b.ins().trapz(x, code);
                } else {
                    self.b.ins().trapnz(x, code);
                }
                return None;
            }
            _ => {
                let (fr, lt) = pick(&self.libcalls, t);
                let x = self.get(lt, a);
                let inst = self.b.ins().call(fr, &[x]);
                self.b.inst_results(inst)[0]
            }
        };
        Some(v)
    }
}

fn build(p: &Program, ctx: &mut FunctionBuilderContext) -> Function {
    let params: Vec<Type> = p.params.iter().map(|&t| ty(t)).collect();
    let returns: Vec<Type> = p.returns.iter().map(|&t| ty(t)).collect();
    let mut func = Function::with_name_signature(
        UserFuncName::testcase("prop"),
        Signature::new(&params, &returns),
    );
    let mut b = FunctionBuilder::new(&mut func, ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);

    let slots: Vec<(StackSlot, u32)> = p
        .slots
        .iter()
        .map(|&(s, a)| {
            let size = 16 + 8 * u32::from(s);
            (
                b.create_stack_slot(StackSlotData {
                    size,
                    align_shift: a,
                }),
                size,
            )
        })
        .collect();
    let callees: Vec<(FuncRef, SigRef, Signature)> = p
        .callees
        .iter()
        .enumerate()
        .map(|(i, (ps, rs))| {
            let ps: Vec<Type> = ps.iter().map(|&t| ty(t)).collect();
            let rs: Vec<Type> = rs.iter().map(|&t| ty(t)).collect();
            let sig = Signature::new(&ps, &rs);
            let sr = b.import_signature(sig.clone());
            let fr = b.import_user_function(UserExternalName::new(0, i as u32 + 1), sr);
            (fr, sr, sig)
        })
        .collect();
    let libcalls = vec![
        (b.import_libcall(LibCall::FloorF32), Type::F32),
        (b.import_libcall(LibCall::NearestF64), Type::F64),
    ];
    let vars: Vec<(Variable, Type)> = p
        .vars
        .iter()
        .map(|&t| (b.declare_var(ty(t)), ty(t)))
        .collect();

    let mut l = Lower {
        b: &mut b,
        vars,
        slots,
        callees,
        libcalls,
        returns,
        counter: 1,
    };
    // Parameters initialize the variables of their type; the rest start as constants, except
    // the last variable, left undefined on purpose (reads as zero).
    let entry_params: Vec<Value> = l.b.block_params(entry).to_vec();
    for i in 0..l.vars.len().saturating_sub(1) {
        let (var, t) = l.vars[i];
        let v = match entry_params
            .iter()
            .find(|&&pv| l.b.func.dfg.value_type(pv) == Some(t))
        {
            Some(&pv) if i.is_multiple_of(2) => pv,
            _ => l.konst(t, i as u64),
        };
        l.b.def_var(var, v).unwrap();
    }
    l.stmts(&p.body);
    l.ret(7);
    b.finalize().expect("builder misuse in the generator");
    func
}

#[test]
fn verifier_accepts_what_the_builder_produces() {
    let ctx = std::cell::RefCell::new(FunctionBuilderContext::new());
    let seed = seed();
    runner(400)
        .run(&program(), |p| {
            let f = build(&p, &mut ctx.borrow_mut());
            if let Err(e) = verify_function(&f) {
                return Err(TestCaseError::fail(format!(
                    "seed {seed}: verifier rejected:\n{e}\n{f}"
                )));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn print_parse_print_is_identity() {
    let ctx = std::cell::RefCell::new(FunctionBuilderContext::new());
    let seed = seed();
    runner(200)
        .run(&program(), |p| {
            let f = build(&p, &mut ctx.borrow_mut());
            let text = f.to_string();
            let parsed = parse_functions(&text).map_err(|e| {
                TestCaseError::fail(format!("seed {seed}: parse error: {e}\n{text}"))
            })?;
            prop_assert_eq!(parsed.len(), 1);
            let again = parsed[0].to_string();
            prop_assert_eq!(&text, &again, "seed {}", seed);
            if let Err(e) = verify_function(&parsed[0]) {
                return Err(TestCaseError::fail(format!(
                    "seed {seed}: parsed function rejected:\n{e}\n{text}"
                )));
            }
            Ok(())
        })
        .unwrap();
}
