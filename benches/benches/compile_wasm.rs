//! Criterion suite `compile_wasm`: whole-module compilation of real modules — every module
//! in `../shared/testdata/wasm/` and the large ones from `fetch-large.sh` when present —
//! for x86_64 and AArch64, by Kiln with each register allocator (backtracking,
//! single_pass) and, with `--features peers`, by Wasmtime 48's Cranelift (`speed`, `none`)
//! and Winch, each with 1 and 2 threads. What one compile includes is stated in
//! `kiln_benches::compilers`.
//!
//! Two kinds of measurement:
//! - criterion groups `compile_wasm/<target>/<regalloc>/<module>` time Kiln alone on the
//!   testdata modules (throughput in wasm bytes/s), for criterion's statistics;
//! - the comparison: rounds (`$KILN_BENCH_ROUNDS`, default 3; 1 for the large modules) in
//!   which every compiler compiles the module once, interleaved, so that load on the
//!   shared machine falls on all of them alike; the best time of each is kept. These
//!   records (functions/s, code size, Kiln's phase split, 1→2 thread scaling) are written
//!   to `target/criterion/kiln/compile_wasm.json` for `kiln report` and summarized on
//!   stdout. A module a compiler rejects is listed as skipped.
//! - the code-quality proxy: the code size of each exported function of `bench.wasm` per
//!   compiler, the peers also with explicit bounds checks as Kiln's code has (not timed).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kiln_benches::compilers::{peers, peers_with_bounds_checks, Kiln, WasmCompiler, PEERS_ENABLED};
use kiln_benches::testdata::{large_modules, testdata_modules, Module};
use kiln_benches::{defined_functions, export_names, rounds};
use kiln_harness::report::data::{
    criterion_dir, write_suite, CompileRecord, CompileSuite, FunctionSizeRecord, RunInfo, Skipped,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

const TARGETS: [&str; 2] = ["x86_64", "aarch64"];
const REGALLOCS: [&str; 2] = ["backtracking", "single_pass"];

/// Every compiler for `target` on `threads` threads: Kiln's, then the peers.
fn compilers(
    target: &str,
    threads: usize,
    skipped: &mut Vec<Skipped>,
) -> Vec<Box<dyn WasmCompiler>> {
    let mut v: Vec<Box<dyn WasmCompiler>> = Vec::new();
    for regalloc in REGALLOCS {
        match Kiln::new(target, regalloc, threads) {
            Ok(k) => v.push(Box::new(k)),
            Err(e) => skipped.push(Skipped {
                what: format!("kiln/{regalloc} {target}"),
                reason: e.to_string(),
            }),
        }
    }
    match peers(target, threads) {
        Ok(p) => v.extend(p),
        Err(e) => skipped.push(Skipped {
            what: format!("peers {target}"),
            reason: format!("{e:#}"),
        }),
    }
    v
}

/// Interleaved best-of rounds of every compiler on one module.
fn compare(
    target: &str,
    threads: usize,
    comps: &[Box<dyn WasmCompiler>],
    m: &Module,
    records: &mut Vec<CompileRecord>,
    skipped: &mut Vec<Skipped>,
) {
    let n = if m.large { 1 } else { rounds(3) };
    let mut best: Vec<Option<(Duration, kiln_benches::compilers::Output)>> =
        comps.iter().map(|_| None).collect();
    let mut failed = vec![false; comps.len()];
    for _ in 0..n {
        for (i, c) in comps.iter().enumerate() {
            if failed[i] {
                continue;
            }
            let t = Instant::now();
            match c.compile(&m.wasm) {
                Ok(out) => {
                    let d = t.elapsed();
                    if best[i].as_ref().is_none_or(|(b, _)| d < *b) {
                        best[i] = Some((d, out));
                    }
                }
                Err(e) => {
                    failed[i] = true;
                    if threads == 1 {
                        skipped.push(Skipped {
                            what: format!("{} {} {target}", m.name, c.name()),
                            reason: format!("{e:#}"),
                        });
                    }
                }
            }
        }
    }
    let functions = defined_functions(&m.wasm);
    for (c, b) in comps.iter().zip(best) {
        if let Some((d, out)) = b {
            records.push(CompileRecord {
                module: m.name.clone(),
                wasm_bytes: m.wasm.len() as u64,
                functions,
                target: target.to_string(),
                compiler: c.name().to_string(),
                threads,
                seconds: d.as_secs_f64(),
                code_bytes: out.code_bytes,
                phases: out.phases,
            });
        }
    }
}

/// The code-quality proxy: the size of each exported function of `bench.wasm` as every
/// compiler that can list its functions made it (x86_64 only for the peers: Wasmtime lists
/// functions only of modules it can load on this host). Executing the peers' code under
/// emulation would need Wasmtime's runtime layout, so size stands in for speed.
fn function_sizes(mods: &[Module], skipped: &mut Vec<Skipped>) -> Vec<FunctionSizeRecord> {
    let mut out = Vec::new();
    let Some(m) = mods.iter().find(|m| m.name == "bench") else {
        return out;
    };
    let names = export_names(&m.wasm);
    for target in TARGETS {
        let mut comps = compilers(target, 1, skipped);
        match peers_with_bounds_checks(target) {
            Ok(p) => comps.extend(p),
            Err(e) => skipped.push(Skipped {
                what: format!("peers with bounds checks {target}"),
                reason: format!("{e:#}"),
            }),
        }
        for c in &comps {
            match c.function_sizes(&m.wasm) {
                Ok(Some(sizes)) => {
                    for (index, bytes) in sizes {
                        if let Some(name) = names.get(&index) {
                            out.push(FunctionSizeRecord {
                                module: m.name.clone(),
                                target: target.to_string(),
                                compiler: c.name().to_string(),
                                function: name.clone(),
                                bytes,
                            });
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => skipped.push(Skipped {
                    what: format!("bench function sizes {} {target}", c.name()),
                    reason: format!("{e:#}"),
                }),
            }
        }
    }
    out
}

/// Criterion's statistics for Kiln alone on the testdata modules.
fn criterion_groups(c: &mut Criterion, mods: &[Module]) {
    for target in TARGETS {
        for regalloc in REGALLOCS {
            for m in mods.iter().filter(|m| !m.large) {
                let kilns: Vec<Kiln> = [1, 2]
                    .iter()
                    .filter_map(|&t| Kiln::new(target, regalloc, t).ok())
                    .collect();
                if kilns.iter().any(|k| k.compile(&m.wasm).is_err()) {
                    continue;
                }
                let mut g =
                    c.benchmark_group(format!("compile_wasm/{target}/{regalloc}/{}", m.name));
                g.sample_size(10);
                g.warm_up_time(Duration::from_secs(1));
                g.measurement_time(Duration::from_secs(2));
                g.throughput(Throughput::Bytes(m.wasm.len() as u64));
                for (threads, k) in [1, 2].iter().zip(&kilns) {
                    g.bench_function(format!("{threads}_threads"), |b| {
                        b.iter(|| black_box(k.compile(&m.wasm).unwrap()))
                    });
                }
                g.finish();
            }
        }
    }
}

fn print_summary(suite: &CompileSuite) {
    let names: Vec<&str> = {
        let mut v: Vec<&str> = Vec::new();
        for r in &suite.records {
            if !v.contains(&r.compiler.as_str()) {
                v.push(&r.compiler);
            }
        }
        v
    };
    let find = |target: &str, module: &str, comp: &str, threads: usize| {
        suite.records.iter().find(|r| {
            r.target == target && r.module == module && r.compiler == comp && r.threads == threads
        })
    };
    println!(
        "\ncompile_wasm: functions/s, 1 thread (best of {} rounds, 1 for large modules); 2-thread scaling in parentheses",
        suite.run.rounds
    );
    for target in TARGETS {
        println!("\n{target}");
        print!("  {:<52} {:>6}", "module", "funcs");
        for n in &names {
            print!(" {n:>22}");
        }
        println!();
        let mut modules: Vec<&str> = Vec::new();
        for r in suite.records.iter().filter(|r| r.target == target) {
            if !modules.contains(&r.module.as_str()) {
                modules.push(&r.module);
            }
        }
        for module in modules {
            let funcs = find(target, module, names[0], 1).map_or(0, |r| r.functions);
            print!("  {module:<52} {funcs:>6}");
            for n in &names {
                match (find(target, module, n, 1), find(target, module, n, 2)) {
                    (Some(a), Some(b)) => print!(
                        " {:>14.0} ({:>4.2}x)",
                        a.functions as f64 / a.seconds,
                        a.seconds / b.seconds
                    ),
                    (Some(a), None) => print!(" {:>22.0}", a.functions as f64 / a.seconds),
                    _ => print!(" {:>22}", "-"),
                }
            }
            println!();
        }
    }
    for s in &suite.skipped {
        println!("skipped: {}: {}", s.what, s.reason);
    }
}

fn bench(c: &mut Criterion) {
    let mut mods = testdata_modules();
    let (large, mut skipped) = large_modules();
    mods.extend(large);
    let mut records = Vec::new();
    let mut peer_names = Vec::new();
    for target in TARGETS {
        for threads in [1, 2] {
            let comps = compilers(target, threads, &mut skipped);
            for comp in comps.iter().filter(|c| !c.name().starts_with("kiln/")) {
                if !peer_names.iter().any(|n: &String| n == comp.name()) {
                    peer_names.push(comp.name().to_string());
                }
            }
            for m in &mods {
                eprintln!("compile_wasm: {target}, {threads} thread(s): {}", m.name);
                compare(target, threads, &comps, m, &mut records, &mut skipped);
            }
        }
    }
    if !PEERS_ENABLED {
        skipped.push(Skipped {
            what: "Cranelift, Winch".into(),
            reason: "peers not compiled in (cargo bench -p kiln-benches --features peers)".into(),
        });
    }
    let function_sizes = function_sizes(&mods, &mut skipped);
    let suite = CompileSuite {
        run: RunInfo::current(rounds(3)),
        peers: peer_names,
        records,
        function_sizes,
        skipped,
    };
    print_summary(&suite);
    match write_suite(&criterion_dir(), "compile_wasm", &suite) {
        Ok(p) => println!("\nrecords written to {}", p.display()),
        Err(e) => eprintln!("compile_wasm: {e:#}"),
    }
    criterion_groups(c, &mods);
}

criterion_group!(benches, bench);
criterion_main!(benches);
