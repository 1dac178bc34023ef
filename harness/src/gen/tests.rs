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
