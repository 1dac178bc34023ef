//! Criterion suite `cache`: what the compilation cache saves. For each target, on a set of
//! 300 synthetic functions (`kiln_benches::synthetic_function`, sizes 20 to 400
//! instructions, distinct seeds):
//!
//! - `fresh`: compile every function without a cache (the baseline);
//! - `cold`: compile every function through an empty `MemoryStore` (all misses: key,
//!   compile, encode, insert);
//! - `warm`: every function again through a full store (all hits: key, lookup, decode,
//!   finalize);
//! - `one_changed`: a full store and one function whose stencil changed (one miss);
//! - `key`: compute every function's cache key, nothing else;
//! - `layout_walk`: walk every function's layout reading each instruction's opcode and its
//!   results' types, nothing else — a floor for any key that covers them (the walk's loads
//!   through the layout, instruction, result-list and value tables, without encoding or
//!   hashing).
//!
//! After the criterion groups it prints a summary with its own timing (best of several
//! rounds): the warm/cold and key/cold ratios, which the cache aims to keep at or below
//! 5 % and 1 %, and writes them to `target/criterion/kiln/cache.json` for `kiln report`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kiln::cache::{CacheStore, MemoryStore};
use kiln::ir::{Function, InstructionData};
use kiln::{Arch, Compiler, CompilerBuilder};
use kiln_benches::synthetic_function;
use kiln_harness::report::data::{
    criterion_dir, write_suite, KeyCostRecord, KeyCostSuite, RunInfo,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Number of functions in the set.
const COUNT: usize = 300;
/// Their approximate sizes, cycled.
const SIZES: [usize; 5] = [20, 50, 100, 200, 400];

fn functions() -> Vec<Function> {
    (0..COUNT)
        .map(|i| synthetic_function(SIZES[i % SIZES.len()], 1000 + i as u64))
        .collect()
}

/// `f` with its first integer immediate changed: another stencil, another key.
fn changed(f: &Function) -> Function {
    let mut g = f.clone();
    let insts: Vec<_> = g
        .layout
        .blocks()
        .flat_map(|b| g.layout.block_insts(b).collect::<Vec<_>>())
        .collect();
    for i in insts {
        if let InstructionData::UnaryImm { imm, .. } = &mut g.dfg.insts[i] {
            *imm += 1;
            break;
        }
    }
    g
}

/// The `layout_walk` floor: every instruction's opcode and result types, folded into a
/// number so that nothing is optimised away.
fn layout_walk(f: &Function) -> u64 {
    let mut acc = 0u64;
    for block in f.layout.blocks() {
        for inst in f.layout.block_insts(block) {
            acc = acc
                .wrapping_mul(31)
                .wrapping_add(f.dfg.insts[inst].opcode() as u64);
            for &v in f.dfg.inst_results(inst) {
                acc ^= f.dfg.values[v].ty as u64;
            }
        }
    }
    acc
}

fn compiler(arch: Arch) -> Option<Box<dyn Compiler>> {
    match CompilerBuilder::for_target(arch.name()).and_then(|b| b.build()) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("cache/{arch}: skipped: {e}");
            None
        }
    }
}

fn compile_all(c: &dyn Compiler, fs: &[Function], store: &dyn CacheStore) -> usize {
    let mut hits = 0;
    for f in fs {
        let r = c.compile_function_cached(f, store).expect("compiles");
        hits += usize::from(r.hit);
        black_box(r);
    }
    hits
}

fn full_store(c: &dyn Compiler, fs: &[Function]) -> MemoryStore {
    let store = MemoryStore::new();
    compile_all(c, fs, &store);
    store
}

fn cache(crit: &mut Criterion) {
    let fs = functions();
    let mut with_change = fs.clone();
    with_change[COUNT / 2] = changed(&fs[COUNT / 2]);
    for arch in Arch::ALL {
        let Some(c) = compiler(arch) else { continue };
        let c = &*c;
        let changed_key = c.cache_key(&with_change[COUNT / 2].stencil);
        let mut g = crit.benchmark_group(format!("cache/{arch}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(COUNT as u64));
        g.bench_function("fresh", |b| {
            b.iter(|| {
                for f in &fs {
                    black_box(c.compile_function(f).expect("compiles"));
                }
            })
        });
        g.bench_function("cold", |b| {
            b.iter(|| compile_all(c, &fs, &MemoryStore::new()))
        });
        let store = full_store(c, &fs);
        g.bench_function("warm", |b| {
            b.iter(|| assert_eq!(compile_all(c, &fs, &store), COUNT))
        });
        g.bench_function("one_changed", |b| {
            b.iter(|| {
                assert_eq!(compile_all(c, &with_change, &store), COUNT - 1);
                store.remove(&changed_key);
            })
        });
        g.bench_function("key", |b| {
            b.iter(|| {
                for f in &fs {
                    black_box(c.cache_key(&f.stencil));
                }
            })
        });
        g.bench_function("layout_walk", |b| {
            b.iter(|| fs.iter().map(layout_walk).fold(0, u64::wrapping_add))
        });
        g.finish();
    }
    summary(&fs, &with_change);
}

/// Best time of `rounds` runs of `f`.
fn best(rounds: usize, mut f: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn summary(fs: &[Function], with_change: &[Function]) {
    let mut records = Vec::new();
    println!(
        "\ncache summary ({COUNT} functions, sizes {SIZES:?}; best of 5 rounds, of 50 for the \
         key and the layout walk):"
    );
    println!(
        "  {:<8} {:>10} {:>10} {:>10} {:>12} {:>10} {:>10} {:>9} {:>14} {:>8}",
        "target",
        "fresh ms",
        "cold ms",
        "warm ms",
        "1-changed ms",
        "key ms",
        "warm/cold",
        "key/cold",
        "warm µs/func",
        "walk ms"
    );
    for arch in Arch::ALL {
        let Some(c) = compiler(arch) else { continue };
        let c = &*c;
        let changed_key = c.cache_key(&with_change[COUNT / 2].stencil);
        let fresh = best(5, || {
            for f in fs {
                black_box(c.compile_function(f).expect("compiles"));
            }
        });
        let cold = best(5, || {
            compile_all(c, fs, &MemoryStore::new());
        });
        let store = full_store(c, fs);
        let warm = best(5, || {
            compile_all(c, fs, &store);
        });
        let one = best(5, || {
            compile_all(c, with_change, &store);
            store.remove(&changed_key);
        });
        // The key and the walk take about a millisecond: more rounds for a stable best.
        let key = best(50, || {
            for f in fs {
                black_box(c.cache_key(&f.stencil));
            }
        });
        let walk = best(50, || {
            black_box(fs.iter().map(layout_walk).fold(0, u64::wrapping_add));
        });
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "  {:<8} {:>10.2} {:>10.2} {:>10.3} {:>12.2} {:>10.3} {:>9.2}% {:>8.2}% {:>14.2} {:>8.3}",
            arch.name(),
            ms(fresh),
            ms(cold),
            ms(warm),
            ms(one),
            ms(key),
            100.0 * warm.as_secs_f64() / cold.as_secs_f64(),
            100.0 * key.as_secs_f64() / cold.as_secs_f64(),
            warm.as_secs_f64() * 1e6 / COUNT as f64,
            ms(walk)
        );
        records.push(KeyCostRecord {
            target: arch.name().to_string(),
            key_seconds: key.as_secs_f64(),
            fresh_seconds: fresh.as_secs_f64(),
            cold_seconds: cold.as_secs_f64(),
            warm_seconds: warm.as_secs_f64(),
        });
    }
    let suite = KeyCostSuite {
        run: RunInfo::current(5),
        records,
    };
    match write_suite(&criterion_dir(), "cache", &suite) {
        Ok(p) => println!("records written to {}", p.display()),
        Err(e) => eprintln!("cache: {e:#}"),
    }
}

criterion_group!(benches, cache);
criterion_main!(benches);
