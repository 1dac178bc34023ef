//! Random Kiln IR test cases from `arbitrary` bytes: [`generate`] builds a small module of
//! functions (an entry function and acyclic callees), the heap they use and the entry's
//! arguments; [`generate_args`] draws edge-biased arguments for any signature.
//!
//! # What a case looks like
//!
//! - `functions[0]` is the entry, named `u0:0`; callees are `u0:1`, `u0:2`, ... Function
//!   `i` only calls functions `j > i` (directly, or through `func_addr` + `call_indirect`),
//!   so calls are acyclic. Functions may also call libcalls (`floor_f32`, ...).
//! - With a heap (`h0`, a power of two between 64 and 1024 bytes), **parameter 0 of every
//!   function** is the heap's base address (`i64`); callers pass their own parameter 0
//!   through, and `args[0]` is [`HeapDecl::base`]`(0)`.
//! - Every function returns its *accumulators*: the first return value is an `i64` into
//!   which most intermediate results are folded (xor/add/sub after a rotate, through
//!   bit-exact conversions), followed by further values of mixed types (floats and
//!   vectors included), each also accumulating results of its type.
//! - Bodies are nested regions: straight-line operations, builder variables, `if`/`else`
//!   diamonds and `br_table` switches whose arms join in blocks with explicit parameters,
//!   top- and bottom-tested loops whose trip count is bounded (below), register-pressure
//!   groups, and heap pointers derived in several steps.
//! - Some operands are drawn together rather than independently: edge-value pairs for
//!   divisions, shift amounts at or beyond the width, conversion inputs at exact bounds,
//!   comparisons with the constant on the left (`func::edges`).
//! - One case in [`BULK_ONE_IN`] has a *big function*: long straight-line chunks inside
//!   branches, so that branches span more than 32 KiB (and, rarely, 1 MiB) of machine code
//!   and islands and veneers appear inside functions (`func::bulk`).
//!
//! # Invariants (checked by the tests in `tests.rs`)
//!
//! - **Valid**: every function passes `verify_function`, and print → parse → print is
//!   the identity on it. [`generate`] never panics and always returns `Ok`, whatever the
//!   bytes (when they run out, choices default to the first option and generation stops,
//!   leaving a small valid function).
//! - **Deterministic**: the same bytes and [`GenConfig`] give the same case.
//! - **Terminating**: every loop counts a counter block parameter down from at most 8;
//!   nested trip counts multiply to at most 64, and the worst-case dynamic instruction
//!   count of a function (callees included) stays below 200 000 IR instructions, plus at
//!   most 8 runs of a big function's chunks (under 2 million), below the interpreter's
//!   default fuel.
//! - **No memory faults**: heap accesses are `base + (index & mask) + offset` with
//!   `mask ≤ size/2 - 1` and `offset ≤ size/2 - bytes`, or go through a derived pointer
//!   whose displacement range, index range and offset keep every byte inside the heap
//!   (`func::pointers`); stack-slot accesses (direct or via `stack_addr`) have
//!   `0 ≤ offset ≤ size - bytes`. Every stack slot is fully zeroed at function entry
//!   (compiled code's stack is not zeroed, the interpreter's is).
//! - **Observable**: accumulators are only ever combined with new values, never
//!   overwritten, so what was folded into them stays live.
//! - **Engine-independent observations**: results never depend on unspecified behaviour.
//!   In particular *the generator never makes an arithmetic NaN's payload or sign
//!   observable*: a float produced by arithmetic (`fadd`…`fmax`, `sqrt`, rounding,
//!   `fpromote`/`fdemote`, libcalls) is *tainted*, taint flows through `fneg`, `fabs`,
//!   `fcopysign` (first operand), `select`, `splat`, `insertlane`, `extractlane`, block
//!   parameters, variables and calls, and a tainted value is never `bitcast`, stored to
//!   memory, passed as a call argument, or used as the sign source of `fcopysign`. To fold
//!   a tainted float into an integer, it is first canonicalized (`fcmp uno` + `select` with
//!   the canonical NaN). Tainted floats are otherwise only compared as floats (the
//!   differential checker compares NaNs NaN-agnostically). Addresses from `stack_addr` and
//!   `func_addr` differ between engines and are only used as addresses / callees.
//! - **Traps are possible but rare**: most `sdiv/udiv/srem/urem` are guarded (divisor made
//!   non-zero, `sdiv`'s dividend kept from `MIN`), most `fcvt_to_sint/uint` are guarded by
//!   a range check; one in eight divisions and one in six conversions are not, and one in
//!   eight divisions draws a possibly trapping edge pair (`MIN / -1`, `x / 0`). `trapz` /
//!   `trapnz` mostly use conditions that are never or rarely true; `trap` ends an arm only
//!   where the join has another predecessor. With `allow_traps == false` nothing traps.
//!
//! # Knobs ([`GenConfig`])
//!
//! `opcodes` restricts every instruction the generator emits (its helpers included —
//! guards, folds, address arithmetic simply adapt or are skipped) except the control
//! flow in [`CONTROL_FLOW`], which is always allowed. The `allow_*` flags remove whole
//! feature groups: `allow_vectors` all vector types, `allow_memory` the heap, stack slots
//! and all loads/stores, `allow_calls` the callees, libcalls, `call`, `call_indirect` and
//! `func_addr`, `allow_traps` `trap`/`trapz`/`trapnz` and every unguarded operation.

mod func;
mod values;
pub mod wasm;
pub mod wasm_flow;

#[cfg(test)]
mod tests;

pub use values::data_value;

use crate::filetest::HeapDecl;
use crate::value::DataValue;
use arbitrary::Unstructured;
use func::{BulkPlan, Extras, FnGen, FnInfo};
use kiln::ir::{
    Function, FunctionBuilder, FunctionBuilderContext, InstructionFormat, Opcode, Signature, Type,
    UserExternalName, UserFuncName,
};
use values::{below, chance};

/// The opcodes that are always allowed, whatever [`GenConfig::opcodes`] says.
pub const CONTROL_FLOW: &[Opcode] = &[Opcode::Jump, Opcode::Brif, Opcode::BrTable, Opcode::Return];

/// Generator knobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenConfig {
    /// Approximate number of instructions per function (default 64).
    pub max_insts: usize,
    /// Generated functions per case, callees included (default 3; at least 1).
    pub max_functions: usize,
    /// Allowed opcodes (`None`: all). [`CONTROL_FLOW`] is always allowed.
    pub opcodes: Option<Vec<Opcode>>,
    /// Trapping operations: `trap`, `trapz`, `trapnz`, unguarded divisions and
    /// float-to-int conversions (default true).
    pub allow_traps: bool,
    /// Vector types (default true).
    pub allow_vectors: bool,
    /// Heap and stack-slot loads and stores (default true).
    pub allow_memory: bool,
    /// Calls between generated functions and libcalls (default true).
    pub allow_calls: bool,
    /// Big functions: one case in `bulk_one_in` gives the entry function long straight-line
    /// chunks inside branches, so that branches span more than 32 KiB of machine code
    /// (one such case in [`HUGE_ONE_IN`] more than 1 MiB). `0` disables them (default
    /// [`BULK_ONE_IN`]).
    pub bulk_one_in: usize,
}

/// One case in this many has a big function by default (see [`GenConfig::bulk_one_in`]).
pub const BULK_ONE_IN: usize = 400;
/// One big function in this many is huge (its branches span more than 1 MiB).
pub const HUGE_ONE_IN: usize = 50;
/// Constant/operation pairs per chunk of a big function: 1,700 to 2,200 (34 to 44 KiB of
/// AArch64, 22 to 29 KiB of x86_64, whose branches have no 32 KiB limit), 2 or 3 chunks.
const BULK_PAIRS: (usize, usize) = (1700, 2200);
/// Pairs of each of the two chunks of a huge function (about 0.7 MiB of x86_64 and
/// 1.1 MiB of AArch64 each; together, and whatever the block order, some branch of the
/// construct holding them spans more than 1 MiB on AArch64).
const HUGE_PAIRS: usize = 55_000;

/// Upper bound of the dynamic IR instruction count of a case's entry call: the body
/// budget, plus the chunks of a big function (at most 2 × [`HUGE_PAIRS`] pairs of under
/// 3 instructions each, with vector folds) run at most 8 times. Differential runs give the
/// interpreter at least this much fuel.
pub const MAX_DYNAMIC_INSTS: u64 = func::DYN_BUDGET + 8 * 2 * 3 * HUGE_PAIRS as u64;

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            max_insts: 64,
            max_functions: 3,
            opcodes: None,
            allow_traps: true,
            allow_vectors: true,
            allow_memory: true,
            allow_calls: true,
            bulk_one_in: BULK_ONE_IN,
        }
    }
}

/// One generated test case.
#[derive(Clone, Debug)]
pub struct GeneratedCase {
    /// `functions[0]` is the entry (`u0:0`); `functions[i]` is named `u0:i` and calls only
    /// functions with a larger index.
    pub functions: Vec<Function>,
    /// Arguments for `functions[0]` (`args[0]` is the heap address when there is a heap).
    pub args: Vec<DataValue>,
    /// The heap `h0`, if the case uses one; its base address is [`HeapDecl::base`]`(0)`.
    pub heap: Option<HeapDecl>,
}

/// The knobs resolved into what one case may emit.
pub(crate) struct Rules {
    allowed: Vec<bool>,
    /// Allowed opcodes that are not control flow (what statements draw from).
    value_ops: Vec<Opcode>,
    vectors: bool,
    memory: bool,
    traps: bool,
    max_insts: usize,
}

impl Rules {
    fn new(cfg: &GenConfig) -> Rules {
        let mut allowed = vec![false; Opcode::ALL.len()];
        for &op in Opcode::ALL {
            let listed = cfg.opcodes.as_ref().is_none_or(|l| l.contains(&op));
            let feature = match op {
                Opcode::Trap | Opcode::Trapz | Opcode::Trapnz => cfg.allow_traps,
                Opcode::Call | Opcode::CallIndirect | Opcode::FuncAddr => cfg.allow_calls,
                Opcode::Vconst | Opcode::Splat | Opcode::Extractlane | Opcode::Insertlane => {
                    cfg.allow_vectors
                }
                o if o.can_load() || o.can_store() || o == Opcode::StackAddr => cfg.allow_memory,
                _ => true,
            };
            allowed[op as usize] = CONTROL_FLOW.contains(&op) || (listed && feature);
        }
        let value_ops = Opcode::ALL
            .iter()
            .copied()
            .filter(|&o| allowed[o as usize] && !o.is_terminator())
            .collect();
        Rules {
            allowed,
            value_ops,
            vectors: cfg.allow_vectors,
            memory: cfg.allow_memory,
            traps: cfg.allow_traps,
            max_insts: cfg.max_insts.max(1),
        }
    }

    /// May the generator emit `op`?
    pub(crate) fn ok(&self, op: Opcode) -> bool {
        self.allowed.get(op as usize).copied().unwrap_or(false)
    }

    fn types(&self) -> &'static [Type] {
        if self.vectors {
            &Type::ALL
        } else {
            &Type::ALL[..6]
        }
    }

    /// Can a constant of `ty` be materialized?
    fn konst_ok(&self, ty: Type) -> bool {
        if ty.is_vector() {
            self.vectors && self.ok(Opcode::Vconst)
        } else if ty.is_float() {
            self.ok(Opcode::Fconst)
        } else {
            self.ok(Opcode::Iconst)
        }
    }
}

/// Generate one case. Always `Ok` (the `Result` is for `arbitrary` conventions); the same
/// bytes and configuration always give the same case.
pub fn generate(u: &mut Unstructured<'_>, cfg: &GenConfig) -> arbitrary::Result<GeneratedCase> {
    Ok(generate_with_errors(u, cfg).0)
}

/// [`generate`], also returning the builder errors (generator bugs) of functions that
/// were replaced by a trivial fallback body. Empty in a correct generator.
pub(crate) fn generate_with_errors(
    u: &mut Unstructured<'_>,
    cfg: &GenConfig,
) -> (GeneratedCase, Vec<String>) {
    let rules = Rules::new(cfg);
    let uses_calls = rules.ok(Opcode::Call) || rules.ok(Opcode::CallIndirect);
    let nfuncs = if uses_calls {
        1 + below(u, cfg.max_functions.max(1))
    } else {
        1
    };
    // Heap accesses: every load or store but the stack-slot ones.
    let heap_op = |o: Opcode| {
        (o.can_load() || o.can_store())
            && o.format() != InstructionFormat::StackLoad
            && o.format() != InstructionFormat::StackStore
    };
    let heap_size = if rules.memory
        && Opcode::ALL.iter().any(|&o| heap_op(o) && rules.ok(o))
        && !chance(u, 1, 4)
    {
        Some(64u64 << below(u, 5))
    } else {
        None
    };
    let bulk = if rules.ok(Opcode::Iconst) && chance(u, 1, cfg.bulk_one_in) {
        let chunks = if chance(u, 1, HUGE_ONE_IN) {
            vec![HUGE_PAIRS; 2]
        } else {
            let (lo, hi) = BULK_PAIRS;
            (0..2 + below(u, 2))
                .map(|_| lo + below(u, hi - lo + 1))
                .collect()
        };
        let seed = u.arbitrary::<u64>().unwrap_or(0);
        // In the entry, which always runs (a callee this big exceeds callers' budgets).
        Some((0, BulkPlan { chunks, seed }))
    } else {
        None
    };
    let sigs: Vec<Signature> = (0..nfuncs)
        .map(|i| gen_signature(u, &rules, i == 0, heap_size.is_some()))
        .collect();
    let mut ctx = FunctionBuilderContext::new();
    let mut infos: Vec<FnInfo> = Vec::new();
    let mut functions: Vec<Function> = Vec::with_capacity(nfuncs);
    let mut errors = Vec::new();
    // Each function draws from its own share of the remaining bytes (the entry from two
    // shares, args and heap from the rest), so that short inputs do not leave the entry
    // empty while the callees, built first, use everything.
    let share = u.len() / (nfuncs + 2);
    for i in (0..nfuncs).rev() {
        let name = UserFuncName::User(UserExternalName::new(0, i as u32));
        let mut f = Function::with_name_signature(name.clone(), sigs[i].clone());
        let take = if i == 0 { 2 * share } else { share };
        let chunk = u.bytes(take).unwrap_or(&[]);
        let mut fu = Unstructured::new(chunk);
        // `infos` holds the functions after `i`, in increasing index order.
        let plan = match &bulk {
            Some((j, plan)) if *j == i => Some(plan.clone()),
            _ => None,
        };
        let extras = Extras {
            heap_size,
            bulk: plan,
        };
        let info = match FnGen::build(&mut fu, &rules, &mut f, &mut ctx, i, &infos, extras) {
            Ok(info) => info,
            Err(e) => {
                errors.push(format!("u0:{i}: {e}"));
                f = fallback_function(name, sigs[i].clone(), &mut ctx);
                FnInfo {
                    index: i,
                    sig: sigs[i].clone(),
                    ret_tainted: vec![true; sigs[i].returns.len()],
                    cost: 16,
                }
            }
        };
        infos.insert(0, info);
        functions.push(f);
    }
    functions.reverse();
    let heap = heap_size.map(|size| {
        let mut data = Vec::new();
        if chance(u, 1, 2) {
            for _ in 0..below(u, size as usize + 1) {
                data.push(u.arbitrary::<u8>().unwrap_or(0));
            }
        }
        HeapDecl { size, data }
    });
    let base = heap.as_ref().map(|_| HeapDecl::base(0));
    let args = generate_args(u, &sigs[0], base).unwrap_or_default();
    (
        GeneratedCase {
            functions,
            args,
            heap,
        },
        errors,
    )
}

/// A signature: the heap address first (when there is a heap), then random parameters;
/// returns start with an `i64` (the main accumulator) when it can be produced, then more
/// values (2 to 5 in the entry, 0 to 2 in callees), all of types the body can produce
/// (a parameter of that type, or an allowed constant opcode).
fn gen_signature(u: &mut Unstructured<'_>, r: &Rules, entry: bool, heap: bool) -> Signature {
    let types = r.types();
    let mut params = Vec::new();
    if heap {
        params.push(Type::I64);
    }
    let first = params.len();
    if chance(u, 1, 8) {
        // Many parameters: past the argument registers (8 integer and 8 float/vector on
        // AArch64, 6 and 8 on x86_64), so some go on the stack; often all of one class.
        let class: &[Type] = match below(u, 3) {
            0 => &types[..4],
            1 if types.len() > 6 => &types[4..],
            _ => types,
        };
        for _ in 0..8 + below(u, 6) {
            params.push(class[below(u, class.len())]);
        }
    } else {
        for _ in 0..below(u, if entry { 7 } else { 5 }) {
            params.push(types[below(u, types.len())]);
        }
    }
    let avail: Vec<Type> = types
        .iter()
        .copied()
        .filter(|&t| r.konst_ok(t) || params[first..].contains(&t))
        .collect();
    let mut returns = Vec::new();
    if avail.contains(&Type::I64) {
        returns.push(Type::I64);
    }
    if !avail.is_empty() {
        let fv: Vec<Type> = avail
            .iter()
            .copied()
            .filter(|t| t.is_float() || t.is_vector())
            .collect();
        if !entry && !fv.is_empty() && chance(u, 1, 6) {
            // More float/vector results than x86_64's two return registers.
            for _ in 0..3 + below(u, 2) {
                returns.push(fv[below(u, fv.len())]);
            }
        } else {
            let extra = if entry { 2 + below(u, 4) } else { below(u, 3) };
            for _ in 0..extra {
                returns.push(avail[below(u, avail.len())]);
            }
        }
    }
    Signature { params, returns }
}

/// A body that returns parameters or zeros (used only if the builder reports an error,
/// which would be a generator bug; see [`generate_with_errors`]).
fn fallback_function(
    name: UserFuncName,
    sig: Signature,
    ctx: &mut FunctionBuilderContext,
) -> Function {
    let mut f = Function::with_name_signature(name, sig.clone());
    let mut b = FunctionBuilder::new(&mut f, ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let params = b.block_params(entry).to_vec();
    let mut rets = Vec::new();
    for &t in &sig.returns {
        let v = match sig.params.iter().position(|&p| p == t) {
            Some(i) => params[i],
            None if t.is_vector() => b.ins().vconst(t, [0; 16]),
            None if t.is_float() => b.ins().fconst(t, 0),
            None => b.ins().iconst(t, 0),
        };
        rets.push(v);
    }
    b.ins().return_(&rets);
    let _ = b.finalize();
    f
}

/// Edge-biased arguments for `sig`. With `heap_base`, a first `i64` parameter receives
/// that address (the generator's convention: parameter 0 is the heap). Always `Ok`.
pub fn generate_args(
    u: &mut Unstructured<'_>,
    sig: &Signature,
    heap_base: Option<u64>,
) -> arbitrary::Result<Vec<DataValue>> {
    Ok(sig
        .params
        .iter()
        .enumerate()
        .map(|(i, &t)| match heap_base {
            Some(base) if i == 0 && t == Type::I64 => DataValue::I64(base as i64),
            _ => data_value(u, t),
        })
        .collect())
}
