//! Criterion suite `compile_wasm`: whole-module compilation of every module in
//! `../shared/testdata/wasm/` (SIMD modules are skipped and named until SIMD lands), for
//! x86_64 and AArch64 with each register allocator (backtracking, single_pass), with 1 and
//! 2 worker threads. Throughput is reported in wasm bytes per second; after the groups a
//! summary prints, per module, target and allocator, functions/s for 1 and 2 threads (best
//! of several rounds, the scaling ratio) and where the 1-thread CPU time went: translating
//! Wasm to IR, verify + lower, register allocation, emission (`ModuleStats::phases`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kiln::module::{compile_module, ModuleOptions};
use kiln::{Compiler, CompilerBuilder};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn modules() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/wasm");
    let mut v: Vec<(String, Vec<u8>)> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .filter_map(|p| {
                let name = p.file_stem()?.to_string_lossy().into_owned();
                Some((name, std::fs::read(&p).ok()?))
            })
            .collect(),
        Err(e) => {
            eprintln!(
                "compile_wasm: {} not readable ({e}); nothing to measure",
                dir.display()
            );
            Vec::new()
        }
    };
    v.sort();
    v
}

fn compiler(target: &str, regalloc: &str) -> Box<dyn Compiler> {
    let mut b = CompilerBuilder::for_target(target).expect("known target");
    b.set("regalloc", regalloc).expect("known setting");
    b.build().expect("default settings build")
}

fn opts(jobs: usize) -> ModuleOptions<'static> {
    ModuleOptions {
        jobs: Some(jobs),
        progress: None,
    }
}

fn bench(c: &mut Criterion) {
    let mods = modules();
    let mut summary = Vec::new();
    for (target, regalloc) in [
        ("x86_64", "backtracking"),
        ("x86_64", "single_pass"),
        ("aarch64", "backtracking"),
        ("aarch64", "single_pass"),
    ] {
        let comp = compiler(target, regalloc);
        for (name, wasm) in &mods {
            if let Err(e) = compile_module(&*comp, wasm, &opts(1)) {
                eprintln!("compile_wasm/{target}/{regalloc}/{name}: skipped: {e}");
                continue;
            }
            let mut g = c.benchmark_group(format!("compile_wasm/{target}/{regalloc}/{name}"));
            g.sample_size(10);
            g.measurement_time(Duration::from_secs(3));
            g.throughput(Throughput::Bytes(wasm.len() as u64));
            for jobs in [1, 2] {
                g.bench_function(format!("{jobs}_threads"), |b| {
                    b.iter(|| black_box(compile_module(&*comp, wasm, &opts(jobs)).unwrap()))
                });
            }
            g.finish();
            // Own timing for the summary: best of 3 per thread count.
            let best = |jobs| {
                (0..3)
                    .map(|_| {
                        let t = Instant::now();
                        let m = compile_module(&*comp, wasm, &opts(jobs)).unwrap();
                        (t.elapsed(), m.stats)
                    })
                    .min_by_key(|(d, _)| *d)
                    .unwrap()
            };
            let (t1, s1) = best(1);
            let (t2, _) = best(2);
            let cpu = (s1.translate_time + s1.codegen_time)
                .as_secs_f64()
                .max(1e-12);
            let pct = |d: Duration| 100.0 * d.as_secs_f64() / cpu;
            let p = &s1.phases;
            summary.push(format!(
                "{target:8} {regalloc:12} {name:60} {:6} funcs {:9.0} funcs/s (1 thread) {:9.0} funcs/s (2) scaling {:.2}x  {:6.2} MB/s  translate {:4.1} %  verify+lower {:4.1} %  regalloc {:4.1} %  emit {:4.1} %",
                s1.functions,
                s1.functions as f64 / t1.as_secs_f64(),
                s1.functions as f64 / t2.as_secs_f64(),
                t1.as_secs_f64() / t2.as_secs_f64(),
                wasm.len() as f64 / 1e6 / t1.as_secs_f64(),
                pct(s1.translate_time),
                pct(p.verify + p.lower),
                pct(p.regalloc),
                pct(p.emit)
            ));
        }
    }
    eprintln!("\ncompile_wasm summary (best of 3; shares of the 1-thread CPU time):");
    for l in summary {
        eprintln!("{l}");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
