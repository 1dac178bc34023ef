//! Criterion suite `compile`: compile time of IR functions of growing size (10 to 10,000
//! instructions) for each target and each register allocator, reported as throughput in
//! IR instructions per second. Inputs come from `kiln_benches::synthetic_function`, so every
//! run measures the same functions. Targets whose backend is not available are reported
//! and skipped.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kiln::{Arch, CompilerBuilder};
use kiln_benches::synthetic_function;
use std::hint::black_box;

const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];
/// Values of the `regalloc` setting.
const ALGORITHMS: [&str; 2] = ["backtracking", "single_pass"];

fn compile(c: &mut Criterion) {
    let inputs: Vec<_> = SIZES.iter().map(|&n| synthetic_function(n, 42)).collect();
    for arch in Arch::ALL {
        for algo_name in ALGORITHMS {
            let built = CompilerBuilder::for_target(arch.name()).and_then(|mut b| {
                b.set("regalloc", algo_name)?;
                b.build()
            });
            let compiler = match built {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("compile/{arch}/{algo_name}: skipped: {e}");
                    continue;
                }
            };
            let mut g = c.benchmark_group(format!("compile/{arch}/{algo_name}"));
            g.sample_size(20);
            for (f, n) in inputs.iter().zip(SIZES) {
                g.throughput(Throughput::Elements(f.inst_count() as u64));
                g.bench_with_input(BenchmarkId::from_parameter(n), f, |b, f| {
                    b.iter(|| black_box(compiler.compile_function_stencil(black_box(f))).is_ok())
                });
            }
            g.finish();
        }
    }
}

criterion_group!(benches, compile);
criterion_main!(benches);
