//! Criterion suite `ir`: throughput of the IR front half on the hand-written filetests —
//! parsing, verifying and printing `.kir` text (IR instructions per second) — and the
//! interpreter's speed on a hot loop (interpreted instructions per second), which bounds
//! how many differential cases per second the harness can run.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kiln::ir::{text, verify_function, Function};
use kiln_harness::interp::Interpreter;
use kiln_harness::value::DataValue;
use std::hint::black_box;
use std::path::PathBuf;

fn filetest_sources() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../harness/tests/filetests");
    let files = kiln_harness::filetest_runner::collect_kir_files(&[root]).expect("filetests");
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable filetest"))
        .collect()
}

fn inst_count(funcs: &[Function]) -> u64 {
    funcs.iter().map(|f| f.inst_count() as u64).sum()
}

fn text_and_verifier(c: &mut Criterion) {
    let sources = filetest_sources();
    let parsed: Vec<Vec<Function>> = sources
        .iter()
        .map(|s| text::parse_functions(s).expect("filetests parse"))
        .collect();
    let insts: u64 = parsed.iter().map(|f| inst_count(f)).sum();
    let mut g = c.benchmark_group("ir");
    g.throughput(Throughput::Elements(insts));
    g.bench_function("parse_filetests", |b| {
        b.iter(|| {
            for s in &sources {
                black_box(text::parse_functions(black_box(s)).ok());
            }
        })
    });
    g.bench_function("verify_filetests", |b| {
        b.iter(|| {
            for f in parsed.iter().flatten() {
                black_box(verify_function(black_box(f)).is_ok());
            }
        })
    });
    g.bench_function("print_filetests", |b| {
        b.iter(|| {
            for f in parsed.iter().flatten() {
                black_box(f.to_string());
            }
        })
    });
    g.finish();
}

const SUM_LOOP: &str = "
function %sum(i64) -> i64 {
block0(v0: i64):
    v1 = iconst.i64 0
    jump block1(v0, v1)
block1(v2: i64, v3: i64):
    v4 = iadd v3, v2
    v5 = iconst.i64 1
    v6 = isub v2, v5
    brif v6, block1(v6, v4), block2(v4)
block2(v7: i64):
    return v7
}
";

fn interpreter(c: &mut Criterion) {
    let funcs = text::parse_functions(SUM_LOOP).expect("benchmark function parses");
    const N: i64 = 100_000;
    let mut g = c.benchmark_group("interp");
    // 4 instructions per iteration: iadd, iconst, isub, brif.
    g.throughput(Throughput::Elements(4 * N as u64));
    g.bench_function("sum_loop_100k", |b| {
        b.iter(|| {
            let out = Interpreter::new(&funcs).call(0, &[DataValue::I64(N)], &mut []);
            black_box(out)
        })
    });
    g.finish();
}

criterion_group!(benches, text_and_verifier, interpreter);
criterion_main!(benches);
