//! Tests of the generator: validity, round trips, termination without memory faults,
//! determinism, coverage of every opcode and type, the knobs, and agreement of the
//! compiled engines with the interpreter.
//!
//! Byte streams come from a fixed xorshift sequence (`KILN_SEED` shifts the seeds to
//! explore; `KILN_GEN_CASES` scales the case counts).

use super::*;
use crate::engine::{fresh_heaps, EngineKind, EngineSettings};
use crate::filetest::TestFile;
use crate::interp::{Heap, Interpreter, DEFAULT_FUEL};
use crate::outcome::Outcome;
use kiln::ir::text::{parse_functions, write_functions};
use kiln::ir::{verify_function, InstructionData};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// The byte stream of case `i`: xorshift64* seeded from `i` (and `KILN_SEED`), of a
/// length below 4 KiB (or `KILN_GEN_BYTES`).
fn bytes_for(i: u64) -> Vec<u8> {
    let mut s = (i + 1 + env_u64("KILN_SEED", 0).wrapping_mul(0x1000_0000))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        | 1;
    let mut next = || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let len = (next() % env_u64("KILN_GEN_BYTES", 4096).max(1)) as usize;
    (0..len).map(|_| (next() >> 32) as u8).collect()
}

fn cases(default: u64) -> u64 {
    env_u64("KILN_GEN_CASES", default)
}

fn gen(bytes: &[u8], cfg: &GenConfig) -> GeneratedCase {
    let mut u = Unstructured::new(bytes);
    let (case, errors) = generate_with_errors(&mut u, cfg);
    assert!(errors.is_empty(), "builder errors: {errors:?}");
    case
}

fn heaps_of(case: &GeneratedCase) -> Vec<Heap> {
    case.heap
        .iter()
        .map(|h| Heap {
            base: HeapDecl::base(0),
            bytes: h.initial_bytes(),
        })
        .collect()
}

/// The case as a `.kir` file with its heap and run directive (for reports).
fn to_kir(case: &GeneratedCase, expect: &Outcome) -> String {
    let mut s = String::new();
    if let Some(h) = &case.heap {
        let _ = write!(s, "; heap: h0 size={}", h.size);
        if !h.data.is_empty() {
            s.push_str(" data=");
            for b in &h.data {
                let _ = write!(s, "{b:02x}");
            }
        }
        s.push('\n');
    }
    let args: Vec<String> = case
        .args
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 && case.heap.is_some() {
                "h0".to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    let _ = writeln!(s, "; run: u0:0({})  ; interp: {expect}", args.join(", "));
    let _ = write_functions(&mut s, &case.functions);
    s
}

fn check_valid(case: &GeneratedCase, ctx: &str) {
    for f in &case.functions {
        if let Err(e) = verify_function(f) {
            panic!("{ctx}: {} fails verification:\n{e}\n{f}", f.params.name);
        }
        let printed = f.to_string();
        let parsed = parse_functions(&printed)
            .unwrap_or_else(|e| panic!("{ctx}: does not re-parse: {e}\n{printed}"));
        assert_eq!(parsed.len(), 1, "{ctx}");
        assert_eq!(
            parsed[0].to_string(),
            printed,
            "{ctx}: print → parse → print"
        );
    }
    let sig = &case.functions[0].signature;
    assert_eq!(case.args.len(), sig.params.len(), "{ctx}");
    for (a, t) in case.args.iter().zip(&sig.params) {
        assert_eq!(a.ty(), *t, "{ctx}");
    }
}

fn interp(case: &GeneratedCase) -> (Outcome, u64) {
    let mut heaps = heaps_of(case);
    let mut i = Interpreter::new(&case.functions);
    let out = i.call(0, &case.args, &mut heaps);
    (out, i.fuel_used())
}

#[test]
fn cases_verify_round_trip_and_run_to_an_outcome() {
    let n = cases(1500);
    let cfg = GenConfig::default();
    let (mut returned, mut trapped, mut max_fuel, mut insts) = (0u64, 0u64, 0u64, 0usize);
    let mut traps: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..n {
        let bytes = bytes_for(i);
        let case = gen(&bytes, &cfg);
        let ctx = format!("case {i}");
        check_valid(&case, &ctx);
        insts += case.functions.iter().map(|f| f.inst_count()).sum::<usize>();
        let (out, fuel) = interp(&case);
        max_fuel = max_fuel.max(fuel);
        match &out {
            Outcome::Returned(_) => returned += 1,
            Outcome::Trapped(c) => {
                trapped += 1;
                let name = match c {
                    kiln::ir::TrapCode::User(_) => "user*".to_string(),
                    c => c.to_string(),
                };
                *traps.entry(name).or_default() += 1;
            }
            o => panic!("{ctx}: interpreter outcome {o}\n{}", to_kir(&case, &out)),
        }
    }
    eprintln!(
        "{n} cases: {returned} returned, {trapped} trapped {traps:?}; \
         {} instructions per case on average; max fuel used {max_fuel}",
        insts as u64 / n.max(1)
    );
    assert!(
        trapped * 2 < n,
        "traps dominate: {trapped} of {n} cases trapped"
    );
}

#[test]
fn same_bytes_same_case_and_short_inputs_are_valid() {
    let cfg = GenConfig::default();
    for i in 0..50 {
        let bytes = bytes_for(i);
        let a = gen(&bytes, &cfg);
        let b = gen(&bytes, &cfg);
        let (mut ta, mut tb) = (String::new(), String::new());
        write_functions(&mut ta, &a.functions).unwrap();
        write_functions(&mut tb, &b.functions).unwrap();
        assert_eq!(ta, tb);
        assert_eq!(a.args, b.args);
        assert_eq!(a.heap, b.heap);
    }
    for len in 0..64usize {
        for fill in [0u8, 0xff, 0x55] {
            let bytes = vec![fill; len];
            let case = gen(&bytes, &cfg);
            check_valid(&case, &format!("{len} bytes of {fill:#x}"));
            let (out, _) = interp(&case);
            assert!(
                matches!(out, Outcome::Returned(_) | Outcome::Trapped(_)),
                "{out}"
            );
        }
    }
    // A degenerate configuration still works.
    let tiny = GenConfig {
        max_insts: 0,
        max_functions: 0,
        ..GenConfig::default()
    };
    let case = gen(&bytes_for(7), &tiny);
    check_valid(&case, "tiny");
}

/// Count every opcode and type appearing in `f` (result and operand types alike).
fn count(f: &Function, ops: &mut BTreeMap<Opcode, u64>, tys: &mut BTreeMap<Type, u64>) {
    for b in f.layout.blocks() {
        for &p in f.dfg.block_params(b) {
            if let Some(t) = f.dfg.value_type(p) {
                *tys.entry(t).or_default() += 1;
            }
        }
        for inst in f.layout.block_insts(b) {
            let data: &InstructionData = &f.dfg.insts[inst];
            *ops.entry(data.opcode()).or_default() += 1;
            for &v in f.dfg.inst_results(inst).iter().chain(f.dfg.inst_args(inst)) {
                if let Some(t) = f.dfg.value_type(v) {
                    *tys.entry(t).or_default() += 1;
                }
            }
        }
    }
}

#[test]
fn every_opcode_and_type_is_covered() {
    let n = cases(1000);
    let cfg = GenConfig::default();
    let mut ops = BTreeMap::new();
    let mut tys = BTreeMap::new();
    for i in 0..n {
        let case = gen(&bytes_for(i), &cfg);
        for f in &case.functions {
            count(f, &mut ops, &mut tys);
        }
    }
    let report: Vec<String> = Opcode::ALL
        .iter()
        .map(|o| format!("{o}={}", ops.get(o).copied().unwrap_or(0)))
        .collect();
    eprintln!("opcodes over {n} cases: {}", report.join(" "));
    let report: Vec<String> = Type::ALL
        .iter()
        .map(|t| format!("{t}={}", tys.get(t).copied().unwrap_or(0)))
        .collect();
    eprintln!("types over {n} cases: {}", report.join(" "));
    let missing: Vec<&Opcode> = Opcode::ALL
        .iter()
        .filter(|o| !ops.contains_key(o))
        .collect();
    assert!(missing.is_empty(), "opcodes never generated: {missing:?}");
    let missing: Vec<&Type> = Type::ALL.iter().filter(|t| !tys.contains_key(t)).collect();
    assert!(missing.is_empty(), "types never generated: {missing:?}");
}

#[test]
fn knobs_are_respected() {
    let n = cases(300) / 2;
    let restricted = [Opcode::Iadd, Opcode::Imul, Opcode::Icmp, Opcode::Select];
    let configs: Vec<(&str, GenConfig)> = vec![
        (
            "opcodes",
            GenConfig {
                opcodes: Some(restricted.to_vec()),
                ..GenConfig::default()
            },
        ),
        (
            "no vectors",
            GenConfig {
                allow_vectors: false,
                ..GenConfig::default()
            },
        ),
        (
            "no memory",
            GenConfig {
                allow_memory: false,
                ..GenConfig::default()
            },
        ),
        (
            "no calls",
            GenConfig {
                allow_calls: false,
                ..GenConfig::default()
            },
        ),
        (
            "no traps",
            GenConfig {
                allow_traps: false,
                ..GenConfig::default()
            },
        ),
        (
            "big",
            GenConfig {
                max_insts: 400,
                max_functions: 5,
                ..GenConfig::default()
            },
        ),
    ];
    for (name, cfg) in &configs {
        let mut total_insts = 0;
        for i in 0..n {
            let case = gen(&bytes_for(i), cfg);
            let ctx = format!("{name} case {i}");
            check_valid(&case, &ctx);
            let mut ops = BTreeMap::new();
            let mut tys = BTreeMap::new();
            for f in &case.functions {
                count(f, &mut ops, &mut tys);
                total_insts += f.inst_count();
            }
            let has = |o: Opcode| ops.contains_key(&o);
            match *name {
                "opcodes" => {
                    for o in ops.keys() {
                        assert!(
                            restricted.contains(o) || CONTROL_FLOW.contains(o),
                            "{ctx}: {o} generated"
                        );
                    }
                }
                "no vectors" => {
                    assert!(tys.keys().all(|t| !t.is_vector()), "{ctx}: {tys:?}");
                }
                "no memory" => {
                    assert!(case.heap.is_none(), "{ctx}");
                    assert!(
                        ops.keys()
                            .all(|o| !o.can_load() && !o.can_store() && *o != Opcode::StackAddr),
                        "{ctx}: {ops:?}"
                    );
                    assert!(case.functions.iter().all(|f| f.stack_slots.is_empty()));
                }
                "no calls" => {
                    assert_eq!(case.functions.len(), 1, "{ctx}");
                    assert!(
                        !has(Opcode::Call) && !has(Opcode::CallIndirect) && !has(Opcode::FuncAddr)
                    );
                }
                "no traps" => {
                    assert!(!has(Opcode::Trap) && !has(Opcode::Trapz) && !has(Opcode::Trapnz));
                    let (out, _) = interp(&case);
                    assert!(out.is_returned(), "{ctx}: {out}\n{}", to_kir(&case, &out));
                }
                _ => {
                    assert!(case.functions.len() <= 5);
                    let (out, _) = interp(&case);
                    assert!(
                        matches!(out, Outcome::Returned(_) | Outcome::Trapped(_)),
                        "{ctx}: {out}"
                    );
                }
            }
        }
        assert!(total_insts > 0, "{name}: nothing generated");
    }
}

#[test]
fn random_opcode_subsets_and_flags_stay_valid() {
    let n = cases(300);
    for i in 0..n {
        let bytes = bytes_for(i + 100_000);
        let mut u = Unstructured::new(&bytes);
        let ops: Vec<Opcode> = Opcode::ALL
            .iter()
            .copied()
            .filter(|_| u.ratio(1, 3).unwrap_or(false))
            .collect();
        let cfg = GenConfig {
            max_insts: 1 + (i as usize % 100),
            max_functions: 1 + (i as usize % 4),
            opcodes: Some(ops.clone()),
            allow_traps: i % 2 == 0,
            allow_vectors: i % 3 != 0,
            allow_memory: i % 5 != 0,
            allow_calls: i % 7 != 0,
            bulk_one_in: if i % 11 == 0 { 0 } else { BULK_ONE_IN },
        };
        let rest = u.take_rest();
        let case = gen(rest, &cfg);
        let ctx = format!("subset case {i}");
        check_valid(&case, &ctx);
        let (mut seen, mut tys) = (BTreeMap::new(), BTreeMap::new());
        for f in &case.functions {
            count(f, &mut seen, &mut tys);
        }
        for o in seen.keys() {
            assert!(
                ops.contains(o) || CONTROL_FLOW.contains(o),
                "{ctx}: {o} not allowed"
            );
        }
        let (out, _) = interp(&case);
        match out {
            Outcome::Returned(_) => {}
            Outcome::Trapped(_) if cfg.allow_traps => {}
            o => panic!("{ctx}: {o}\n{}", to_kir(&case, &o)),
        }
    }
}

/// Run `case` on one engine (fresh heaps).
fn run_on(engine: &mut dyn crate::engine::Engine, file: &TestFile, args: &[DataValue]) -> Outcome {
    match engine.prepare(file) {
        Ok(()) => {
            let mut heaps = fresh_heaps(file);
            engine.run(file, 0, args, &mut heaps)
        }
        Err(e) => Outcome::Error(format!("prepare: {e}")),
    }
}

#[test]
fn compiled_engines_agree_with_the_interpreter() {
    let n = cases(200);
    let cfg = GenConfig {
        max_insts: env_u64("KILN_GEN_INSTS", 64) as usize,
        ..GenConfig::default()
    };
    // Exploration: `KILN_GEN_SET=regalloc=single_pass,...` and `KILN_GEN_CPU=<preset>`.
    let mut settings = EngineSettings {
        cpu: std::env::var("KILN_GEN_CPU").ok(),
        ..EngineSettings::default()
    };
    if let Ok(list) = std::env::var("KILN_GEN_SET") {
        for a in list.split(',').filter(|a| !a.trim().is_empty()) {
            settings
                .settings
                .push(EngineSettings::parse_assignment(a).expect("KILN_GEN_SET"));
        }
    }
    let mut engines: Vec<(EngineKind, Box<dyn crate::engine::Engine>)> =
        [EngineKind::X86_64, EngineKind::Aarch64]
            .into_iter()
            .map(|k| (k, k.create_with(DEFAULT_FUEL, &settings)))
            .collect();
    let mut failures = Vec::new();
    let mut agreed = 0;
    for i in 0..n {
        let case = gen(&bytes_for(i), &cfg);
        let file = TestFile {
            path: PathBuf::from(format!("gen-{i}.kir")),
            functions: case.functions.clone(),
            heaps: case.heap.iter().cloned().collect(),
            runs: Vec::new(),
            engine_settings: None,
        };
        let (expect, _) = interp(&case);
        for (kind, engine) in engines.iter_mut() {
            let got = run_on(engine.as_mut(), &file, &case.args);
            if got.eq_nan_agnostic(&expect) {
                agreed += 1;
            } else {
                failures.push(format!(
                    "case {i} on {kind}: expected {expect}, got {got}\n{}",
                    to_kir(&case, &expect)
                ));
            }
        }
    }
    eprintln!("{agreed} engine runs agreed, {} disagreed", failures.len());
    if let Ok(dir) = std::env::var("KILN_GEN_DUMP") {
        for (k, f) in failures.iter().enumerate() {
            let _ = std::fs::write(format!("{dir}/fail-{k}.kir"), f);
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements; first:\n{}",
        failures.len(),
        failures.first().map(String::as_str).unwrap_or("")
    );
}

#[test]
#[ignore]
fn print_sample() {
    let i = env_u64("KILN_GEN_SAMPLE", 3);
    let bytes = bytes_for(i);
    let case = gen(&bytes, &GenConfig::default());
    let (out, _) = interp(&case);
    println!("; {} bytes", bytes.len());
    println!("{}", to_kir(&case, &out));
}

/// The IR shapes of issue-15's generator work found in `f`, by name (see
/// [`new_shapes_are_reached`]). `heap`: parameter 0 is the heap base.
fn ir_shapes(f: &Function, heap: bool, found: &mut BTreeMap<&'static str, u64>) {
    use kiln::ir::{Block, Inst, Value};
    use std::collections::{HashMap, HashSet};
    let mut def: HashMap<Value, Inst> = HashMap::new();
    let mut order: HashMap<Block, usize> = HashMap::new();
    for (k, b) in f.layout.blocks().enumerate() {
        order.insert(b, k);
        for inst in f.layout.block_insts(b) {
            for &r in f.dfg.inst_results(inst) {
                def.insert(r, inst);
            }
        }
    }
    // The constant a value is at run time when it is `k` or an opaque `k + (x & 0)`.
    let konst = |v: Value| -> Option<i64> {
        let d = &f.dfg.insts[*def.get(&v)?];
        match *d {
            InstructionData::UnaryImm { imm, .. } => Some(imm),
            InstructionData::UnaryIeee { bits, .. } => Some(bits as i64),
            InstructionData::Binary {
                opcode: Opcode::Iadd,
                args: [k, z],
            } => {
                let kd = &f.dfg.insts[*def.get(&k)?];
                let zd = &f.dfg.insts[*def.get(&z)?];
                match (kd, zd) {
                    (
                        InstructionData::UnaryImm { imm, .. },
                        InstructionData::Binary {
                            opcode: Opcode::Band,
                            ..
                        },
                    ) => Some(*imm),
                    _ => None,
                }
            }
            _ => None,
        }
    };
    let is_const_def = |v: Value| {
        def.get(&v).is_some_and(|&i| {
            matches!(
                f.dfg.insts[i].opcode(),
                Opcode::Iconst | Opcode::Fconst | Opcode::Vconst
            )
        })
    };
    let mut hit = |name: &'static str| *found.entry(name).or_default() += 1;
    // Heap pointers: the base and what iadd/isub/select/block parameters make of it.
    let mut ptr: HashSet<Value> = HashSet::new();
    if heap {
        if let Some(b0) = f.layout.entry_block() {
            ptr.insert(f.dfg.block_params(b0)[0]);
        }
    }
    for b in f.layout.blocks() {
        for inst in f.layout.block_insts(b) {
            let d = &f.dfg.insts[inst];
            let args = f.dfg.inst_args(inst);
            let res = f.dfg.inst_results(inst);
            match d.opcode() {
                Opcode::Iadd | Opcode::Isub if args.iter().any(|a| ptr.contains(a)) => {
                    ptr.insert(res[0]);
                    let other = if ptr.contains(&args[0]) {
                        args[1]
                    } else {
                        args[0]
                    };
                    if konst(other).is_some_and(|k| k.unsigned_abs() >= 1 << 32) {
                        hit("pointer stepped by >= 2^32");
                    }
                }
                Opcode::Select if args[1..].iter().any(|a| ptr.contains(a)) => {
                    ptr.insert(res[0]);
                    hit("pointer through select");
                }
                Opcode::StackStore if ptr.contains(&args[0]) => hit("pointer through a stack slot"),
                Opcode::Icmp | Opcode::Fcmp if is_const_def(args[0]) && !is_const_def(args[1]) => {
                    hit("comparison with the constant on the left")
                }
                Opcode::Sdiv | Opcode::Srem => {
                    let ty = f.dfg.value_type(args[0]).unwrap_or(Type::I64);
                    let min = 1i64.wrapping_shl(ty.bits() - 1);
                    let min = (min << (64 - ty.bits())) >> (64 - ty.bits());
                    if konst(args[0]) == Some(min) && konst(args[1]) == Some(-1) {
                        hit(if d.opcode() == Opcode::Sdiv {
                            "sdiv MIN / -1"
                        } else {
                            "srem MIN % -1"
                        });
                    }
                }
                Opcode::Ishl | Opcode::Ushr | Opcode::Sshr | Opcode::Rotl | Opcode::Rotr => {
                    let bits = i64::from(f.dfg.value_type(args[0]).map_or(64, |t| t.bits()));
                    if konst(args[1]).is_some_and(|k| k < 0 || k >= bits) {
                        hit("shift by >= width or negative");
                    }
                }
                Opcode::FcvtToSint | Opcode::FcvtToUint | Opcode::FcvtToSintSat => {
                    let k = konst(args[0]);
                    let exact = [2147483648.0f64, 4294967296.0, 9223372036854775808.0];
                    let is_bound = exact.iter().any(|&x| {
                        k == Some(x.to_bits() as i64) || k == Some((x as f32).to_bits() as i64)
                    });
                    if is_bound {
                        hit("float-to-int conversion at an exact bound");
                    }
                }
                Opcode::Jump | Opcode::Brif => {
                    let calls: Vec<_> = match d {
                        InstructionData::Jump { destination, .. } => vec![*destination],
                        InstructionData::Brif { blocks, .. } => blocks.to_vec(),
                        _ => Vec::new(),
                    };
                    for c in calls {
                        let cargs = f.dfg.value_lists.get(c.args);
                        for (k, a) in cargs.iter().enumerate() {
                            if ptr.contains(a) {
                                ptr.insert(f.dfg.block_params(c.block)[k]);
                                hit("pointer through a block parameter");
                            }
                        }
                        if d.opcode() == Opcode::Brif && order[&c.block] <= order[&b] {
                            hit("backward conditional branch");
                        }
                    }
                }
                op if (op.can_load() || op.can_store())
                    && !matches!(op, Opcode::StackLoad | Opcode::StackStore) =>
                {
                    let (addr, offset) = match *d {
                        InstructionData::Load { arg, offset, .. } => (arg, offset),
                        InstructionData::Store { args, offset, .. }
                        | InstructionData::MemLane { args, offset, .. } => (args[1], offset),
                        _ => continue,
                    };
                    if offset < 0 {
                        hit("heap access with a negative offset");
                    }
                    if let Some(&ai) = def.get(&addr) {
                        let a = f.dfg.inst_args(ai);
                        if f.dfg.insts[ai].opcode() == Opcode::Iadd
                            && ptr.contains(&a[1])
                            && !ptr.contains(&a[0])
                        {
                            hit("address iadd with the pointer second");
                        }
                        if ptr.contains(&addr) && f.dfg.insts[ai].opcode() == Opcode::Iadd {
                            let idx = if ptr.contains(&a[0]) { a[1] } else { a[0] };
                            if let Some(&ii) = def.get(&idx) {
                                match f.dfg.insts[ii].opcode() {
                                    Opcode::Ishl => hit("index scaled by a shift"),
                                    Opcode::Sextend => hit("sign-extended 32-bit index"),
                                    _ => {}
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Every shape the generator was extended to make (big functions aside, see below)
/// appears in the first cases of the default configuration.
#[test]
fn new_shapes_are_reached() {
    let n = cases(1000);
    let cfg = GenConfig::default();
    let mut found = BTreeMap::new();
    for i in 0..n {
        let case = gen(&bytes_for(i), &cfg);
        for f in &case.functions {
            ir_shapes(f, case.heap.is_some(), &mut found);
        }
    }
    eprintln!("shapes over {n} cases: {found:?}");
    let expected = [
        "address iadd with the pointer second",
        "backward conditional branch",
        "comparison with the constant on the left",
        "float-to-int conversion at an exact bound",
        "heap access with a negative offset",
        "index scaled by a shift",
        "pointer stepped by >= 2^32",
        "pointer through a block parameter",
        "pointer through a stack slot",
        "pointer through select",
        "sdiv MIN / -1",
        "shift by >= width or negative",
        "sign-extended 32-bit index",
        "srem MIN % -1",
    ];
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|s| !found.contains_key(s))
        .collect();
    assert!(missing.is_empty(), "shapes never generated: {missing:?}");
}

/// An AArch64 conditional branch at byte `at` of `code`: its kind and target offset.
fn a64_cond_branch(code: &[u8], at: usize) -> Option<(&'static str, i64)> {
    let w = u32::from_le_bytes(code.get(at..at + 4)?.try_into().ok()?);
    let sext = |v: u32, bits: u32| (i64::from(v) << (64 - bits)) >> (64 - bits);
    let (kind, rel) = if w & 0x7e00_0000 == 0x3600_0000 {
        ("tbz/tbnz", sext((w >> 5) & 0x3fff, 14) * 4)
    } else if w & 0x7e00_0000 == 0x3400_0000 {
        ("cbz/cbnz", sext((w >> 5) & 0x7_ffff, 19) * 4)
    } else if w & 0xff00_0010 == 0x5400_0000 {
        ("b.cond", sext((w >> 5) & 0x7_ffff, 19) * 4)
    } else {
        return None;
    };
    Some((kind, at as i64 + rel))
}

/// Where a branch to `target` finally lands, following veneers (`b` chains).
fn a64_through_veneers(code: &[u8], mut target: i64) -> i64 {
    for _ in 0..4 {
        let Some(w) = code
            .get(target as usize..target as usize + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
        else {
            break;
        };
        if w & 0xfc00_0000 != 0x1400_0000 {
            break;
        }
        target += ((i64::from(w & 0x03ff_ffff) << 38) >> 38) * 4;
    }
    target
}

/// Big functions make conditional branches of each AArch64 kind (`tbz`/`tbnz` ±32 KiB,
/// `cbz`/`cbnz` and `b.cond` ±1 MiB) whose destination lies more than 32 KiB away, both
/// forward and backward, and one more than 1 MiB away, within the first cases that have
/// one. Destinations are followed through `b` instructions: veneers, and the edge blocks
/// through which Kiln's conditional branches reach a loop start (the branch itself then
/// jumps forward to the edge block, whose `b` goes backward). (Vectors are off so that
/// no constant-pool data in the code reads as a branch.)
#[test]
fn big_functions_branch_across_32_kib_and_1_mib() {
    use kiln::Config;
    let cfg = GenConfig {
        bulk_one_in: 1,
        allow_vectors: false,
        ..GenConfig::default()
    };
    let compiler = {
        let mut c = Config::new();
        c.target("aarch64");
        c.build().expect("aarch64 compiler")
    };
    let kinds = ["tbz/tbnz", "cbz/cbnz", "b.cond"];
    let mut need: Vec<String> = Vec::new();
    for k in kinds {
        for dir in ["forward", "backward"] {
            need.push(format!("{k} {dir} > 32 KiB"));
        }
    }
    need.push("a branch > 1 MiB".to_string());
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut i = 0;
    while i < cases(400) && need.iter().any(|s| !seen.contains_key(s)) {
        let case = gen(&bytes_for(i + 7_000), &cfg);
        i += 1;
        for f in case.functions.iter().filter(|f| f.inst_count() > 4000) {
            let code = compiler.compile_function(f).expect("compiles").code;
            for at in (0..code.len()).step_by(4) {
                let Some((kind, target)) = a64_cond_branch(&code, at) else {
                    continue;
                };
                let dest = a64_through_veneers(&code, target);
                let dist = dest - at as i64;
                let dir = if dist >= 0 { "forward" } else { "backward" };
                if dist.unsigned_abs() > 32 * 1024 {
                    *seen.entry(format!("{kind} {dir} > 32 KiB")).or_default() += 1;
                }
                if dist.unsigned_abs() > 1024 * 1024 {
                    *seen.entry("a branch > 1 MiB".to_string()).or_default() += 1;
                }
            }
        }
    }
    eprintln!("long branches over {i} big-function cases: {seen:?}");
    let missing: Vec<&String> = need.iter().filter(|s| !seen.contains_key(*s)).collect();
    assert!(missing.is_empty(), "never generated: {missing:?}");
}
