//! Shared inputs for Kiln's criterion suites (see `benches/benches/`): [`testdata`] the
//! real modules, [`compilers`] Kiln and its peers behind one interface, and
//! [`synthetic_function`].
//!
//! [`synthetic_function`] builds a deterministic IR function of about `n` instructions that
//! looks like compiled Wasm: several live integer and float variables, straight-line
//! arithmetic, if/else diamonds (merging variables through block parameters) and counted
//! loops, so that lowering, register allocation (with real pressure and spilling at the
//! larger sizes) and emission all do representative work. The same `(n, seed)` always
//! gives the same function.

pub mod compilers;
pub mod testdata;

use kiln::ir::{
    Function, FunctionBuilder, FunctionBuilderContext, IntCC, Signature, Type, UserFuncName,
    Variable,
};

/// Functions a module defines (its code section entries); 0 if it does not parse.
pub fn defined_functions(wasm: &[u8]) -> u64 {
    wasmparser::Parser::new(0)
        .parse_all(wasm)
        .filter_map(Result::ok)
        .find_map(|p| match p {
            wasmparser::Payload::CodeSectionStart { count, .. } => Some(u64::from(count)),
            _ => None,
        })
        .unwrap_or(0)
}

/// Exported function names by function index (the first export of each).
pub fn export_names(wasm: &[u8]) -> std::collections::BTreeMap<u32, String> {
    let mut names = std::collections::BTreeMap::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm).flatten() {
        if let wasmparser::Payload::ExportSection(s) = payload {
            for e in s.into_iter().flatten() {
                if e.kind == wasmparser::ExternalKind::Func {
                    names.entry(e.index).or_insert_with(|| e.name.to_string());
                }
            }
        }
    }
    names
}

/// Best-of rounds for the suites' own timings: `$KILN_BENCH_ROUNDS`, else `default`.
pub fn rounds(default: usize) -> usize {
    std::env::var("KILN_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// A small deterministic generator (64-bit LCG; quality is irrelevant here).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Number of integer variables the synthetic function keeps live.
const INT_VARS: usize = 12;
/// Number of float variables.
const FLOAT_VARS: usize = 4;

/// A function `(i64, i64) -> i64` with roughly `n` instructions (between 0.9 n and 2 n + 40;
/// benchmarks report throughput from the real [`Function::inst_count`]).
pub fn synthetic_function(n: usize, seed: u64) -> Function {
    let mut func = Function::with_name_signature(
        UserFuncName::testcase(format!("synthetic_{n}")),
        Signature::new(&[Type::I64, Type::I64], &[Type::I64]),
    );
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut ctx);
    let mut rng = Lcg(seed ^ 0x9e37_79b9_7f4a_7c15);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let (p0, p1) = (b.block_params(entry)[0], b.block_params(entry)[1]);
    let ints: Vec<Variable> = (0..INT_VARS).map(|_| b.declare_var(Type::I64)).collect();
    let floats: Vec<Variable> = (0..FLOAT_VARS).map(|_| b.declare_var(Type::F64)).collect();
    for (i, &v) in ints.iter().enumerate() {
        let init = match i {
            0 => p0,
            1 => p1,
            _ => b.ins().iconst(Type::I64, i as i64 * 7919),
        };
        b.def_var(v, init).expect("declared");
    }
    for (i, &v) in floats.iter().enumerate() {
        let c = b.ins().f64const(1.0 + i as f64);
        b.def_var(v, c).expect("declared");
    }
    let mut emitted = 0usize;
    while emitted < n {
        match rng.below(40) {
            // An if/else diamond that updates a variable on each side.
            0 => {
                let (a, c) = (
                    ints[rng.below(INT_VARS as u64) as usize],
                    ints[rng.below(INT_VARS as u64) as usize],
                );
                let (then_b, else_b, join) = (b.create_block(), b.create_block(), b.create_block());
                let x = b.use_var(a).expect("defined");
                let y = b.use_var(c).expect("defined");
                let cond = b.ins().icmp(IntCC::SignedLessThan, x, y);
                b.ins().brif(cond, then_b, &[], else_b, &[]);
                b.seal_block(then_b);
                b.seal_block(else_b);
                b.switch_to_block(then_b);
                let t = b.ins().iadd(x, y);
                b.def_var(a, t).expect("declared");
                b.ins().jump(join, &[]);
                b.switch_to_block(else_b);
                let e = b.ins().isub(y, x);
                b.def_var(c, e).expect("declared");
                b.ins().jump(join, &[]);
                b.seal_block(join);
                b.switch_to_block(join);
                emitted += 7;
            }
            // A counted loop (8 iterations) accumulating into a variable.
            1 => {
                let acc = ints[rng.below(INT_VARS as u64) as usize];
                let counter = b.declare_var(Type::I64);
                let eight = b.ins().iconst(Type::I64, 8);
                b.def_var(counter, eight).expect("declared");
                let (header, exit) = (b.create_block(), b.create_block());
                b.ins().jump(header, &[]);
                b.switch_to_block(header);
                let i = b.use_var(counter).expect("defined");
                let s = b.use_var(acc).expect("defined");
                let s2 = b.ins().iadd(s, i);
                b.def_var(acc, s2).expect("declared");
                let one = b.ins().iconst(Type::I64, 1);
                let i2 = b.ins().isub(i, one);
                b.def_var(counter, i2).expect("declared");
                b.ins().brif(i2, header, &[], exit, &[]);
                b.seal_block(header);
                b.seal_block(exit);
                b.switch_to_block(exit);
                emitted += 8;
            }
            // Float arithmetic.
            2..=7 => {
                let (a, c) = (
                    floats[rng.below(FLOAT_VARS as u64) as usize],
                    floats[rng.below(FLOAT_VARS as u64) as usize],
                );
                let x = b.use_var(a).expect("defined");
                let y = b.use_var(c).expect("defined");
                let r = match rng.below(4) {
                    0 => b.ins().fadd(x, y),
                    1 => b.ins().fsub(x, y),
                    2 => b.ins().fmul(x, y),
                    _ => b.ins().fmax(x, y),
                };
                b.def_var(a, r).expect("declared");
                emitted += 1;
            }
            // Integer arithmetic, sometimes with an immediate.
            _ => {
                let (a, c) = (
                    ints[rng.below(INT_VARS as u64) as usize],
                    ints[rng.below(INT_VARS as u64) as usize],
                );
                let x = b.use_var(a).expect("defined");
                let y = if rng.below(3) == 0 {
                    emitted += 1;
                    b.ins().iconst(Type::I64, rng.below(1000) as i64)
                } else {
                    b.use_var(c).expect("defined")
                };
                let r = match rng.below(7) {
                    0 => b.ins().iadd(x, y),
                    1 => b.ins().isub(x, y),
                    2 => b.ins().imul(x, y),
                    3 => b.ins().band(x, y),
                    4 => b.ins().bor(x, y),
                    5 => b.ins().bxor(x, y),
                    _ => b.ins().ishl(x, y),
                };
                b.def_var(a, r).expect("declared");
                emitted += 1;
            }
        }
    }
    // Combine everything so that no variable is dead.
    let mut acc = b.use_var(ints[0]).expect("defined");
    for &v in &ints[1..] {
        let x = b.use_var(v).expect("defined");
        acc = b.ins().bxor(acc, x);
    }
    for &v in &floats {
        let x = b.use_var(v).expect("defined");
        let bits = b.ins().bitcast(Type::I64, x);
        acc = b.ins().iadd(acc, bits);
    }
    b.ins().return_(&[acc]);
    b.finalize().expect("the synthetic function is complete");
    func
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_functions_verify_and_are_deterministic() {
        for n in [10, 100, 1000] {
            let f = synthetic_function(n, 1);
            kiln::ir::verify_function(&f).expect("verifies");
            let size = f.inst_count();
            assert!(
                size >= n * 9 / 10 && size <= n * 2 + 40,
                "{size} instructions for n = {n}"
            );
            assert_eq!(f.to_string(), synthetic_function(n, 1).to_string());
        }
    }
}
