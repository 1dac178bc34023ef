//! Criterion suite `cache_wasm`: the compilation cache on real modules
//! (`../shared/testdata/wasm/`, x86_64 with `kiln compile`'s default CPU, backtracking
//! allocator, 1 thread), in the three
//! scenarios the cache was designed for. The summary after the groups prints:
//!
//! 1. **Duplicate functions inside one module**: compiled through an empty in-memory store
//!    vs with no store — the hit rate inside the module (functions whose stencil another
//!    function of the module already produced) and the speed-up.
//! 2. **Modules sharing code**, compiled one after another through one store: each
//!    module's hit rate (e.g. the tree-sitter grammars; `webp_dec` then `webp_enc`;
//!    `webp_enc` then its SIMD build `webp_enc_simd`;
//!    `sql.js` then `web-tree-sitter`, which share libc code).
//! 3. **One function changed**: one `i32.const` in one function body patched (same
//!    length, still valid), the module recompiled through the store warm from the
//!    original: time relative to a cold compile (no store), and the warm (nothing changed)
//!    ratio; where the remaining time goes (parse, translate, key, load, link).
//!
//! Times are the best of several rounds, so they are not inflated by the other core's
//! load; criterion's group times scenario 3's warm recompile of one module.

use criterion::{criterion_group, criterion_main, Criterion};
use kiln::cache::{CacheStore, MemoryStore};
use kiln::module::{compile_module, CompiledModule, ModuleOptions};
use kiln::Compiler;
use kiln_benches::compilers::kiln_builder;
use kiln_benches::testdata::{testdata_module as module, testdata_modules};
use kiln_harness::report::data::{
    criterion_dir, write_suite, CacheSuite, ChangedRecord, DuplicateRecord, PhaseSeconds, RunInfo,
    SharingRecord, Skipped,
};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn compiler(store: Option<Arc<dyn CacheStore>>) -> Box<dyn Compiler> {
    let mut b = kiln_builder("x86_64").expect("known target");
    b.set("regalloc", "backtracking").expect("known setting");
    b.cache_store(store);
    b.build().expect("default settings build")
}

fn compile(c: &dyn Compiler, wasm: &[u8]) -> Option<CompiledModule> {
    let opts = ModuleOptions {
        jobs: Some(1),
        progress: None,
    };
    compile_module(c, wasm, &opts).ok()
}

/// The best time of `rounds` runs of `f` (each may set up state first, untimed).
fn best<T>(rounds: usize, mut f: impl FnMut() -> (Duration, T)) -> (Duration, T) {
    (0..rounds)
        .map(|_| f())
        .min_by_key(|(d, _)| *d)
        .expect("at least one round")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `wasm` with one `i32.const` immediate of a function in the middle of the code section
/// changed (a single-byte LEB128 value 0..=62 becomes one more): the same length, still
/// valid, exactly one function's body differs. `None` if no such constant exists.
fn patch_one_function(wasm: &[u8]) -> Option<(Vec<u8>, usize)> {
    use wasmparser::{Operator, Parser, Payload};
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Ok(Payload::CodeSectionEntry(body)) = payload {
            bodies.push(body);
        }
    }
    let n = bodies.len();
    for k in 0..n {
        let i = (n / 2 + k) % n;
        let mut ops = bodies[i].get_operators_reader().ok()?;
        while let Ok((op, off)) = ops.read_with_offset() {
            if let Operator::I32Const { value } = op {
                let off = off as usize;
                if (0..63).contains(&value)
                    && wasm.get(off) == Some(&0x41)
                    && wasm.get(off + 1) == Some(&(value as u8))
                {
                    let mut out = wasm.to_vec();
                    out[off + 1] = value as u8 + 1;
                    return Some((out, i));
                }
            }
            if ops.eof() {
                break;
            }
        }
    }
    None
}

fn bench(crit: &mut Criterion) {
    println!("\ncache_wasm (x86_64, backtracking, 1 thread; best of 3 rounds)");
    let mut suite = CacheSuite {
        run: RunInfo::current(3),
        config: "x86_64, backtracking, 1 thread".into(),
        duplicates: Vec::new(),
        sharing: Vec::new(),
        changed: Vec::new(),
        skipped: Vec::new(),
    };
    // 1. Duplicates inside one module.
    println!("\n1. duplicate functions inside one module: empty in-memory store vs no store");
    println!(
        "  {:<52} {:>6} {:>8} {:>10} {:>10} {:>8}",
        "module", "funcs", "hit %", "no store", "store", "speed-up"
    );
    for m in testdata_modules() {
        let (name, wasm) = (m.name, m.wasm);
        let plain = compiler(None);
        if compile(&*plain, &wasm).is_none() {
            println!("  {name:<52} skipped (Kiln refuses it)");
            suite.skipped.push(Skipped {
                what: name,
                reason: "Kiln refuses it".into(),
            });
            continue;
        }
        let (t_plain, _) = best(3, || {
            let t = Instant::now();
            let m = compile(&*plain, &wasm);
            (t.elapsed(), m)
        });
        let (t_store, (m, key)) = best(3, || {
            let store = Arc::new(MemoryStore::new());
            let c = compiler(Some(store.clone() as Arc<dyn CacheStore>));
            let t = Instant::now();
            let m = compile(&*c, &wasm).expect("compiles");
            (t.elapsed(), (m, store.stats().snapshot().key_time))
        });
        let s = &m.stats;
        println!(
            "  {name:<52} {:>6} {:>7.1}% {:>8.1}ms {:>8.1}ms {:>7.2}x",
            s.functions,
            100.0 * s.cache_hits as f64 / s.functions.max(1) as f64,
            ms(t_plain),
            ms(t_store),
            t_plain.as_secs_f64() / t_store.as_secs_f64()
        );
        suite.duplicates.push(DuplicateRecord {
            module: name,
            functions: s.functions as u64,
            hits: s.cache_hits as u64,
            no_store_seconds: t_plain.as_secs_f64(),
            store_seconds: t_store.as_secs_f64(),
            key_seconds: key.as_secs_f64(),
        });
    }

    // 2. Modules sharing code, one after another through one store.
    println!("\n2. modules compiled one after another through one store: hit rate of each");
    let groups: [(&str, &[&str]); 4] = [
        (
            "tree-sitter grammars",
            &[
                "tree-sitter-wasms-0.1.13--tree-sitter-json",
                "tree-sitter-wasms-0.1.13--tree-sitter-css",
                "tree-sitter-wasms-0.1.13--tree-sitter-lua",
            ],
        ),
        (
            "webp decoder and encoder",
            &[
                "jsquash-webp-1.5.0--webp_dec",
                "jsquash-webp-1.5.0--webp_enc",
            ],
        ),
        (
            "webp encoder, scalar then SIMD build",
            &[
                "jsquash-webp-1.5.0--webp_enc",
                "jsquash-webp-1.5.0--webp_enc_simd",
            ],
        ),
        (
            "libc users",
            &[
                "sql.js-1.16.0--sql-wasm",
                "web-tree-sitter-0.27.1--web-tree-sitter",
            ],
        ),
    ];
    for (group_name, group) in groups {
        let store: Arc<dyn CacheStore> = Arc::new(MemoryStore::new());
        let c = compiler(Some(store));
        for (position, name) in group.iter().enumerate() {
            let Some(wasm) = module(name) else {
                println!("  {name}: not in testdata");
                suite.skipped.push(Skipped {
                    what: name.to_string(),
                    reason: "not in testdata".into(),
                });
                continue;
            };
            match compile(&*c, &wasm) {
                Some(m) => {
                    println!(
                        "  {name:<52} {:>6} functions, {:>5.1}% hits",
                        m.stats.functions,
                        100.0 * m.stats.cache_hits as f64 / m.stats.functions.max(1) as f64
                    );
                    suite.sharing.push(SharingRecord {
                        group: group_name.to_string(),
                        position,
                        module: name.to_string(),
                        functions: m.stats.functions as u64,
                        hits: m.stats.cache_hits as u64,
                    });
                }
                None => println!("  {name}: does not compile yet"),
            }
        }
        println!();
    }

    // 3. One function changed, recompiled through a warm store.
    println!("3. one function changed, recompiled through the store warm from the original");
    println!(
        "  {:<52} {:>8} {:>8} {:>8} {:>8} {:>8}   changed compile: parse / translate / key / load / codegen / link ms",
        "module", "cold ms", "warm %", "chg %", "hits", "misses"
    );
    let mut crit_case = None;
    for m in testdata_modules() {
        let (name, wasm) = (m.name, m.wasm);
        let plain = compiler(None);
        if compile(&*plain, &wasm).is_none() {
            continue;
        }
        let Some((changed, _)) = patch_one_function(&wasm) else {
            println!("  {name:<52} no patchable i32.const");
            suite.skipped.push(Skipped {
                what: format!("{name} (one function changed)"),
                reason: "no patchable i32.const".into(),
            });
            continue;
        };
        let (t_cold, _) = best(3, || {
            let t = Instant::now();
            let m = compile(&*plain, &wasm);
            (t.elapsed(), m)
        });
        let warm_compiler = || {
            let store = Arc::new(MemoryStore::new());
            let c = compiler(Some(store.clone() as Arc<dyn CacheStore>));
            compile(&*c, &wasm).expect("compiles");
            (store, c)
        };
        let (t_warm, _) = best(3, || {
            let (_, c) = warm_compiler();
            let t = Instant::now();
            let m = compile(&*c, &wasm);
            (t.elapsed(), m)
        });
        let (t_changed, (m, key, load)) = best(3, || {
            let (store, c) = warm_compiler();
            let before = store.stats().snapshot();
            let t = Instant::now();
            let m = compile(&*c, &changed).expect("the patched module compiles");
            let d = t.elapsed();
            let after = store.stats().snapshot();
            (
                d,
                (
                    m,
                    after.key_time - before.key_time,
                    after.load_time - before.load_time,
                ),
            )
        });
        let s = &m.stats;
        println!(
            "  {name:<52} {:>8.1} {:>7.1}% {:>7.1}% {:>8} {:>8}   {:.1} / {:.1} / {:.1} / {:.1} / {:.1} / {:.1}",
            ms(t_cold),
            100.0 * t_warm.as_secs_f64() / t_cold.as_secs_f64(),
            100.0 * t_changed.as_secs_f64() / t_cold.as_secs_f64(),
            s.cache_hits,
            s.cache_misses,
            ms(s.parse_time),
            ms(s.translate_time),
            ms(key),
            ms(load),
            ms(s.codegen_time),
            ms(s.link_time)
        );
        suite.changed.push(ChangedRecord {
            module: name.clone(),
            cold_seconds: t_cold.as_secs_f64(),
            warm_seconds: t_warm.as_secs_f64(),
            changed_seconds: t_changed.as_secs_f64(),
            hits: s.cache_hits as u64,
            misses: s.cache_misses as u64,
            phases: PhaseSeconds::from_stats(s, key + load),
        });
        if name.contains("zstd") {
            crit_case = Some((name.clone(), wasm.clone()));
        }
    }
    match write_suite(&criterion_dir(), "cache_wasm", &suite) {
        Ok(p) => println!("\nrecords written to {}", p.display()),
        Err(e) => eprintln!("cache_wasm: {e:#}"),
    }

    // Criterion: a warm recompile of one module (scenario 3 without the change).
    if let Some((name, wasm)) = crit_case {
        let store = Arc::new(MemoryStore::new());
        let c = compiler(Some(store as Arc<dyn CacheStore>));
        compile(&*c, &wasm).expect("compiles");
        let mut g = crit.benchmark_group(format!("cache_wasm/x86_64/{name}"));
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(3));
        g.bench_function("warm", |b| b.iter(|| black_box(compile(&*c, &wasm))));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
