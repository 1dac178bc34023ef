//! Module compilation on real and hand-made modules: every module of
//! `../shared/testdata/wasm/` on x86_64 (baseline and x86_64-v3) and AArch64 with both
//! register allocators and the regalloc checker; byte-identical output for 1 and 2
//! threads; no relocation left for calls inside a module; ELF objects that llvm-objdump
//! and readelf read back byte for byte; bad input as named errors.

use kiln::module::elf::write_elf;
use kiln::module::{compile_module, CompiledModule, ModuleError, ModuleOptions, TextRelocTarget};
use kiln::wasm::WasmError;
use kiln::{Compiler, CompilerBuilder};
use std::path::PathBuf;
use std::process::Command;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/wasm")
}

fn modules() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(testdata())
        .expect("../shared/testdata/wasm is present")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    assert!(v.len() >= 13, "testdata modules missing");
    v
}

/// A compiler with SIMD on wherever the CPU allows it.
fn compiler(target: &str, cpu: Option<&str>, regalloc: &str) -> Box<dyn Compiler> {
    let mut b = CompilerBuilder::for_target(target).unwrap();
    if let Some(c) = cpu {
        b.preset(c).unwrap();
    }
    b.set("regalloc", regalloc).unwrap();
    b.set("regalloc_checker", "true").unwrap();
    let simd = b.settings().isa().check_simd().is_ok();
    b.set("enable_simd", if simd { "true" } else { "false" })
        .unwrap();
    b.build().unwrap()
}

fn compile(c: &dyn Compiler, wasm: &[u8], jobs: usize) -> Result<CompiledModule, ModuleError> {
    compile_module(
        c,
        wasm,
        &ModuleOptions {
            jobs: Some(jobs),
            progress: None,
        },
    )
}

/// The SIMD module: refused with a named error where the CPU cannot run vector code
/// (baseline x86_64), compiled everywhere else.
fn is_simd(name: &str) -> bool {
    name.contains("simd")
}

#[test]
fn every_testdata_module_compiles_on_every_target_and_allocator() {
    let configs = [
        ("x86_64", Some("x86_64"), "backtracking"),
        ("x86_64", Some("x86_64"), "single_pass"),
        ("x86_64", Some("x86_64-v3"), "backtracking"),
        ("x86_64", Some("x86_64-v3"), "single_pass"),
        ("aarch64", None, "backtracking"),
        ("aarch64", None, "single_pass"),
    ];
    let mut compiled = 0;
    for (target, cpu, ra) in configs {
        let c = compiler(target, cpu, ra);
        for (name, wasm) in modules() {
            let r = compile(&*c, &wasm, 2);
            if is_simd(&name) && cpu == Some("x86_64") {
                let e = r.expect_err("SIMD needs SSSE3 and SSE4.1");
                let msg = e.to_string();
                assert!(msg.contains("SIMD") && msg.contains("function"), "{msg}");
                continue;
            }
            let m = r.unwrap_or_else(|e| panic!("{name} on {target} {cpu:?} {ra}: {e}"));
            assert_eq!(m.stats.functions as u32, m.info.num_defined_funcs());
            assert!(
                !m.text
                    .relocs
                    .iter()
                    .any(|r| matches!(r.target, TextRelocTarget::Function(_))),
                "{name}: a call inside the module was left for the loader"
            );
            assert!(m.stats.code_bytes > 0);
            compiled += 1;
        }
    }
    // 14 modules; the SIMD one is refused on the two baseline x86_64 configurations.
    assert_eq!(compiled, 6 * 14 - 2);
}

#[test]
fn output_is_identical_with_one_and_two_threads() {
    for (target, cpu) in [("x86_64", Some("x86_64-v3")), ("aarch64", None)] {
        let c = compiler(target, cpu, "backtracking");
        for (name, wasm) in modules() {
            let one = compile(&*c, &wasm, 1).unwrap();
            let two = compile(&*c, &wasm, 2).unwrap();
            assert_eq!(one.text, two.text, "{name} on {target}");
            assert_eq!(one.functions, two.functions, "{name} on {target}");
            assert_eq!(one.traps, two.traps, "{name} on {target}");
        }
    }
}

/// llvm-objdump's disassembly of each function symbol covers exactly Kiln's bytes.
#[test]
fn elf_objects_read_back_with_llvm_objdump_and_readelf() {
    let wasm =
        std::fs::read(testdata().join("tree-sitter-wasms-0.1.13--tree-sitter-lua.wasm")).unwrap();
    for target in ["x86_64", "aarch64"] {
        let c = compiler(target, None, "backtracking");
        let m = compile(&*c, &wasm, 2).unwrap();
        let obj = write_elf(&m).unwrap();
        let dir = std::env::temp_dir().join(format!("kiln-elf-{}-{target}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.o");
        std::fs::write(&path, &obj).unwrap();

        let syms = Command::new("readelf").arg("-sW").arg(&path).output();
        let syms = String::from_utf8_lossy(&syms.expect("readelf runs").stdout).into_owned();
        for f in &m.functions {
            let line = syms
                .lines()
                .find(|l| l.split_whitespace().last() == Some(f.name.as_str()))
                .unwrap_or_else(|| panic!("{target}: no symbol {} in\n{syms}", f.name));
            let cols: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(
                u64::from_str_radix(cols[1], 16).unwrap(),
                u64::from(f.offset)
            );
            assert_eq!(cols[2].parse::<u32>().unwrap(), f.len);
            assert_eq!(cols[3], "FUNC");
        }

        // -z: show blocks of zeros too (literal pools), instead of "...".
        let dump = Command::new("llvm-objdump")
            .args(["-d", "-z"])
            .arg(&path)
            .output()
            .expect("llvm-objdump runs");
        assert!(dump.status.success(), "llvm-objdump failed");
        let dump = String::from_utf8_lossy(&dump.stdout).into_owned();
        // Collect the bytes objdump shows per function, and compare with the text section.
        let mut current: Option<usize> = None;
        let mut bytes: Vec<Vec<u8>> = vec![Vec::new(); m.functions.len()];
        let mut words = 0;
        for line in dump.lines() {
            if let Some(name) = line.strip_suffix(">:").and_then(|l| l.split('<').nth(1)) {
                // AArch64 mapping symbols (`$x`, `$d`) label code and data inside a function.
                if !name.starts_with('$') {
                    current = m.functions.iter().position(|f| f.name == name);
                }
                continue;
            }
            words += usize::from(line.contains("\t.word\t"));
            let (Some(i), Some((_, rest))) = (current, line.split_once(':')) else {
                continue;
            };
            // "  addr: aa bb cc dd \tmnemonic" — hex byte groups up to the tab (data lines
            // start with a tab: "  addr:\taa bb cc dd\t.word ...").
            let hex = rest
                .trim_start_matches('\t')
                .split('\t')
                .next()
                .unwrap_or("");
            for tok in hex.split_whitespace() {
                if tok.len() % 2 == 0 && tok.chars().all(|c| c.is_ascii_hexdigit()) {
                    // AArch64 objdump prints one 32-bit word in byte order as 4 pairs.
                    for k in (0..tok.len()).step_by(2) {
                        bytes[i].push(u8::from_str_radix(&tok[k..k + 2], 16).unwrap());
                    }
                }
            }
        }
        for (f, got) in m.functions.iter().zip(&bytes) {
            let want = m.text.bytes_at(f.offset, f.len as usize).unwrap();
            assert!(
                got.len() >= want.len() && &got[..want.len()] == want,
                "{target} {}: objdump shows {} bytes that differ from Kiln's {}",
                f.name,
                got.len(),
                want.len()
            );
        }
        // On AArch64 the data ranges (jump tables, constants) are listed as data, and
        // nothing else is.
        let data_bytes: u32 = m
            .functions
            .iter()
            .flat_map(|f| &f.data_ranges)
            .map(|d| d.end - d.start)
            .sum();
        assert!(data_bytes > 0, "{target}: the module has jump tables");
        let want_words = if target == "aarch64" {
            data_bytes as usize / 4
        } else {
            0
        };
        assert_eq!(words, want_words, "{target}: .word lines");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn error_of(wasm: &[u8]) -> WasmError {
    let c = compiler("x86_64", None, "backtracking");
    match compile(&*c, wasm, 1) {
        Err(ModuleError::Wasm(e)) => e,
        Err(e) => panic!("expected a Wasm error, got {e}"),
        Ok(_) => panic!("expected an error"),
    }
}

#[test]
fn bad_modules_are_named_errors() {
    let good = wat::parse_str(
        r#"(module (func (export "f") (param i32) (result i32)
             local.get 0 i32.const 1 i32.add))"#,
    )
    .unwrap();
    // Truncated at every length: never a panic; a truncated header or a cut inside the
    // code section (the last section) is an error naming an offset.
    let code_start = good.len() - 9;
    for n in 0..good.len() {
        let c = compiler("x86_64", None, "backtracking");
        let r = compile(&*c, &good[..n], 1);
        if n < 8 || n > code_start {
            let e = r
                .err()
                .unwrap_or_else(|| panic!("prefix of {n} bytes accepted"));
            assert!(e.to_string().contains("offset"), "{e}");
        }
    }
    // Corrupt: every single-byte change is either still a valid module or a named error.
    for i in 8..good.len() {
        for x in [0x00u8, 0x7f, 0xff] {
            let mut m = good.clone();
            m[i] = x;
            let c = compiler("aarch64", None, "single_pass");
            if let Err(e) = compile(&*c, &m, 1) {
                assert!(!e.to_string().is_empty());
            }
        }
    }
    // Invalid: a type error inside function 1 names the function and the offset.
    let invalid = wat::parse_str(r#"(module (func) (func (result i32) i64.const 1))"#).unwrap();
    let e = error_of(&invalid);
    assert!(matches!(e, WasmError::Invalid { func: Some(1), .. }), "{e}");
    assert!(
        e.to_string().contains("function 1") && e.offset() > 0,
        "{e}"
    );
    // Unsupported proposal: tail calls, named by the validator's message.
    let tail = wat::parse_str(r#"(module (func $f return_call $f))"#).unwrap();
    let e = error_of(&tail);
    assert!(
        matches!(e, WasmError::Unsupported { func: Some(0), .. }),
        "{e}"
    );
    assert!(e.to_string().contains("tail call"), "{e}");
    // Multi-memory is refused at module level.
    let mm = wat::parse_str(r#"(module (memory 1) (memory 1))"#).unwrap();
    let e = error_of(&mm);
    assert!(e.to_string().contains("multiple memories"), "{e}");
    // Not Wasm at all.
    let e = error_of(b"\x00asm\x02\x00\x00\x00");
    assert!(e.to_string().contains("offset"), "{e}");
}

fn leb(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
}

/// A module of one `(func (param i32) (result i32))` whose body is `code` (no locals).
fn module_with_body(code: &[u8]) -> Vec<u8> {
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    m.extend_from_slice(&[1, 6, 1, 0x60, 1, 0x7f, 1, 0x7f]); // type section
    m.extend_from_slice(&[3, 2, 1, 0]); // function section
    let mut body = vec![0u8]; // no local declarations
    body.extend_from_slice(code);
    let mut entry = Vec::new();
    leb(body.len() as u64, &mut entry);
    entry.extend_from_slice(&body);
    let mut sec = vec![1u8]; // one body
    sec.extend_from_slice(&entry);
    m.push(10);
    leb(sec.len() as u64, &mut m);
    m.extend_from_slice(&sec);
    m
}

/// Size limits: a body larger than Wasm implementations accept (wasmparser's 7,654,321
/// bytes) is a named error; a big function below it (400,000 dependent additions, ~2 MB
/// of code) compiles on both ISAs — Kiln's own limits (2^30 values, 4 GiB of code) are far
/// beyond what a valid module can reach.
#[test]
fn function_size_limits() {
    let mut big = Vec::new();
    big.push(0x20); // local.get 0
    big.push(0);
    for _ in 0..400_000 {
        big.extend_from_slice(&[0x41, 0x03, 0x6a]); // i32.const 3; i32.add
    }
    big.push(0x0b);
    let wasm = module_with_body(&big);
    for target in ["x86_64", "aarch64"] {
        let c = compiler(target, None, "single_pass");
        let m = compile(&*c, &wasm, 2).unwrap_or_else(|e| panic!("{target}: {e}"));
        assert!(
            m.stats.code_bytes > 400_000,
            "{target}: {}",
            m.stats.code_bytes
        );
    }
    let mut huge = vec![0x20, 0];
    huge.resize(7_700_000, 0x01); // nop
    huge.push(0x0b);
    let e = error_of(&module_with_body(&huge));
    assert!(
        e.to_string().contains("function body") || e.to_string().contains("size"),
        "{e}"
    );
    assert!(e.offset() > 0, "{e}");
}

/// Module compilation goes through the compiler's cache store: recompiling a module after
/// one function changed recompiles only that function, and moving functions (a new
/// function in front shifts every index and byte offset) keeps every stencil — and so
/// every cache key — the same.
#[test]
fn module_compiles_through_the_cache_and_moves_keep_stencils() {
    use kiln::cache::{CacheStore, MemoryStore};
    use std::sync::Arc;
    let body = |k: i32| {
        format!(
            r#"(func $f{k} (export "f{k}") (param i32) (result i32)
                 local.get 0 i32.const {k} i32.mul local.get 0 i32.div_u call $g)"#
        )
    };
    let funcs: String = (1..=6).map(body).collect();
    let g = "(func $g (param i32) (result i32) local.get 0 i32.const 1 i32.add)";
    let original = wat::parse_str(format!("(module {funcs} {g})")).unwrap();
    let changed = wat::parse_str(format!(
        "(module {} {g})",
        funcs.replace("i32.const 3 i32.mul", "i32.const 3000 i32.mul")
    ))
    .unwrap();
    let moved = wat::parse_str(format!(
        "(module (func $new (export \"new\") (result i64) i64.const 7) {funcs} {g})"
    ))
    .unwrap();
    let store = Arc::new(MemoryStore::new());
    let mut b = CompilerBuilder::for_target("x86_64").unwrap();
    b.cache_store(Some(store.clone() as Arc<dyn CacheStore>));
    let c = b.build().unwrap();
    let fresh = CompilerBuilder::for_target("x86_64")
        .unwrap()
        .build()
        .unwrap();
    let same_as_fresh = |m: &CompiledModule, wasm: &[u8]| {
        let f = compile(&*fresh, wasm, 1).unwrap();
        assert_eq!(m.text, f.text, "cached code links like a fresh compile");
        assert_eq!(m.traps, f.traps);
    };
    let stats = |m: &CompiledModule| (m.stats.cache_hits, m.stats.cache_misses, m.stats.memo_hits);
    let cold = compile(&*c, &original, 2).unwrap();
    assert_eq!(stats(&cold), (0, 7, 0));
    // Warm: every function from its translation memo, nothing translated.
    let warm = compile(&*c, &original, 2).unwrap();
    assert_eq!(stats(&warm), (7, 0, 7));
    assert_eq!(warm.stats.translate_time, std::time::Duration::ZERO);
    same_as_fresh(&warm, &original);
    // One body changed, and one byte longer, so every later body moves: only it is
    // translated and compiled, and the later ones' trap sites keep their new Wasm offsets.
    let one = compile(&*c, &changed, 2).unwrap();
    assert_eq!(stats(&one), (6, 1, 6));
    same_as_fresh(&one, &changed);
    // A new function first: every index and the function section change, so no memo
    // applies, but every old stencil still hits.
    let shifted = compile(&*c, &moved, 2).unwrap();
    assert_eq!(stats(&shifted), (7, 1, 0));
    same_as_fresh(&shifted, &moved);
    // Another section changed (an export's name): memos miss, stencils hit.
    let renamed = wat::parse_str(format!(
        "(module {} {g})",
        funcs.replace("\"f2\"", "\"two\"")
    ))
    .unwrap();
    let r = compile(&*c, &renamed, 2).unwrap();
    assert_eq!(stats(&r), (7, 0, 0));
    same_as_fresh(&r, &renamed);
}

/// Three small functions, the third calling the other two (the memo tests' module).
fn three_function_module() -> Vec<u8> {
    wat::parse_str(
        r#"(module
             (func (export "a") (param i32) (result i32) local.get 0 i32.const 5 i32.add)
             (func (export "b") (param i32) (result i32) local.get 0 i32.const 6 i32.mul)
             (func (export "c") (param i32) (result i32) local.get 0 call 0 call 1))"#,
    )
    .unwrap()
}

/// A store that mangles every translation memo it is given (truncates it, or points it at
/// a missing stencil): compiles stay correct and fall back to translating.
#[test]
fn bad_translation_memos_fall_back_to_translation() {
    use kiln::cache::{CacheKey, CacheStats, CacheStore, MemoryStore, StoreError};
    use std::sync::Arc;
    struct Mangler(MemoryStore, std::sync::atomic::AtomicUsize);
    impl CacheStore for Mangler {
        fn get(&self, key: &CacheKey) -> Option<Vec<u8>> {
            self.0.get(key)
        }
        fn insert(&self, key: &CacheKey, mut entry: Vec<u8>) -> Result<(), StoreError> {
            if entry.starts_with(&kiln::cache::memo::MEMO_MAGIC) {
                match self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 3 {
                    0 => entry.truncate(entry.len() / 2),
                    1 => entry[8] ^= 1,
                    _ => return Ok(()),
                }
            }
            self.0.insert(key, entry)
        }
        fn stats(&self) -> &CacheStats {
            self.0.stats()
        }
    }
    let wasm = three_function_module();
    let store = Arc::new(Mangler(MemoryStore::new(), Default::default()));
    let mut b = CompilerBuilder::for_target("aarch64").unwrap();
    b.cache_store(Some(store as Arc<dyn CacheStore>));
    let c = b.build().unwrap();
    let cold = compile(&*c, &wasm, 1).unwrap();
    // Each compile finds the memo the one before left truncated, corrupt or missing.
    for _ in 0..3 {
        let warm = compile(&*c, &wasm, 1).unwrap();
        assert_eq!(
            (
                warm.stats.cache_hits,
                warm.stats.cache_misses,
                warm.stats.memo_hits
            ),
            (3, 0, 0)
        );
        assert_eq!(warm.text, cold.text);
    }
}

/// The time a store spends on translation memos is cache time: loading the module's memo
/// is load time, writing it is store time, and both are inside the module's
/// code-generation time (which `kiln compile --timings` splits into phases and cache
/// work). A store that sleeps on every memo access shows it: a lower bound, so the test
/// holds however slow the machine is.
#[test]
fn translation_memo_time_is_counted_as_cache_time() {
    use kiln::cache::{CacheKey, CacheStats, CacheStore, MemoryStore, StoreError};
    use std::sync::Arc;
    use std::time::Duration;
    const NAP: Duration = Duration::from_millis(3);
    /// Sleeps on every memo write, and on every get of a key it has never stored (the
    /// memo's and the stencils' lookups of a cold compile).
    struct Slow(MemoryStore);
    impl CacheStore for Slow {
        fn get(&self, key: &CacheKey) -> Option<Vec<u8>> {
            let found = self.0.get(key);
            if found.is_none() {
                std::thread::sleep(NAP);
            }
            found
        }
        fn insert(&self, key: &CacheKey, entry: Vec<u8>) -> Result<(), StoreError> {
            if entry.starts_with(&kiln::cache::memo::MEMO_MAGIC) {
                std::thread::sleep(NAP);
            }
            self.0.insert(key, entry)
        }
        fn stats(&self) -> &CacheStats {
            self.0.stats()
        }
    }
    let wasm = three_function_module();
    let store = Arc::new(Slow(MemoryStore::new()));
    let mut b = CompilerBuilder::for_target("x86_64").unwrap();
    b.cache_store(Some(store.clone() as Arc<dyn CacheStore>));
    let c = b.build().unwrap();
    let cold = compile(&*c, &wasm, 1).unwrap();
    let s = store.stats().snapshot();
    assert_eq!(
        (s.lookups, s.misses, s.inserts),
        (3, 3, 3),
        "memos are not lookups or inserts"
    );
    // The module memo and three stencil lookups missed; one memo was written.
    assert!(s.load_time >= 4 * NAP, "{:?}", s.load_time);
    assert!(s.store_time >= NAP, "{:?}", s.store_time);
    let cache = s.key_time + s.load_time + s.store_time;
    assert!(
        cold.stats.codegen_time >= cache,
        "code generation {:?} includes the cache's {cache:?}",
        cold.stats.codegen_time
    );
}

/// A translator that reuses each function it made for the next one
/// (`FuncTranslator::recycle`, as module compilation does) translates every function of
/// these modules exactly as a fresh translator does.
#[test]
fn a_recycled_function_translates_like_a_fresh_one() {
    use kiln::wasm::{parse_module, translate_function, FuncTranslator};
    for name in [
        "bench",
        "lz4-wasm-0.9.2--lz4_wasm_bg",
        "bokuweb-zstd-wasm-0.0.27--zstd",
    ] {
        let wasm = std::fs::read(testdata().join(format!("{name}.wasm"))).unwrap();
        let (info, inputs) = parse_module(&wasm).unwrap();
        let (_, fresh_inputs) = parse_module(&wasm).unwrap();
        let mut reused = FuncTranslator::new();
        for (input, fresh_input) in inputs.into_iter().zip(fresh_inputs) {
            let index = input.index;
            let f = translate_function(&info, input, &mut reused).unwrap();
            let fresh = translate_function(&info, fresh_input, &mut FuncTranslator::new()).unwrap();
            assert!(
                f == fresh,
                "{name}: function {index} differs when translated into a recycled function"
            );
            reused.recycle(f);
        }
    }
}

/// Each defined function of `wat` translated with the default options, as (bounds checks,
/// loads) counts: `trapnz` instructions (a bounds check is one) and `load`s (vmctx and
/// heap).
fn translated_counts(wat: &str) -> Vec<(usize, usize)> {
    translated_counts_with(wat, kiln::wasm::TranslateOptions::default())
}

fn translated_counts_with(wat: &str, options: kiln::wasm::TranslateOptions) -> Vec<(usize, usize)> {
    use kiln::ir::Opcode;
    use kiln::wasm::{parse_module, translate_function, FuncTranslator};
    let wasm = wat::parse_str(wat).unwrap();
    let (info, inputs) = parse_module(&wasm).unwrap();
    let mut tr = FuncTranslator::new();
    tr.set_options(options);
    inputs
        .into_iter()
        .map(|input| {
            let f = translate_function(&info, input, &mut tr).unwrap();
            let count = |op: Opcode| {
                f.layout
                    .blocks()
                    .flat_map(|b| f.layout.block_insts(b))
                    .filter(|&i| f.dfg.insts[i].opcode() == op)
                    .count()
            };
            (count(Opcode::Trapnz), count(Opcode::Load))
        })
        .collect()
}

/// The translator's bounds-check reuse (`HeapCache`) within a block: an index value is
/// checked once for the farthest end seen, base and size are loaded once until a call,
/// and a check survives the call (memory never shrinks). `harness/tests/wast/
/// bounds_check_reuse.wast` runs the same shapes; this pins the instruction counts.
#[test]
fn bounds_checks_are_reused_within_a_block() {
    let counts = translated_counts(
        r#"(module (memory 1)
          (func $callee)
          ;; offsets 4, 0, 8 from one index: checks for ends 8 and 12 only.
          (func (param $p i32) (result i32)
            (i32.add
              (i32.add (i32.load offset=4 (local.get $p)) (i32.load (local.get $p)))
              (i32.load offset=8 (local.get $p))))
          ;; two indexes: one check each.
          (func (param $p i32) (param $q i32) (result i32)
            (i32.add (i32.load (local.get $p)) (i32.load (local.get $q))))
          ;; a call between two uses: base and size again, not the check.
          (func (param $p i32) (result i32)
            (i32.load (local.get $p))
            call $callee
            (i32.load (local.get $p))
            i32.add)
          ;; an if between two uses: its exit is a merge, but the block before the if
          ;; dominates it, and nothing was called.
          (func (param $p i32) (param $c i32) (result i32)
            (i32.load (local.get $p))
            (if (local.get $c) (then nop))
            (i32.load (local.get $p))
            i32.add)
          ;; constant addresses, farthest end first (12): one check covers both.
          (func (result i32)
            (i32.add (i32.load (i32.const 8)) (i32.load offset=4 (i32.const 0)))))"#,
    );
    // (checks, loads): loads = 2 (base, size) per span between calls + one per access.
    assert_eq!(counts, vec![(0, 0), (2, 5), (2, 4), (1, 6), (1, 4), (1, 4)]);
}

/// The memory knowledge reaches the blocks its point dominates: a block whose only
/// predecessor is the block before continues that block's knowledge (the fallthrough of
/// a `br_if`, both arms of an `if`, the code after an `if` whose then arm left, and after
/// a block left only by falling through); a merge gets what held where its construct
/// started (base and size only if nothing was called in it); a loop header the checks,
/// not base and size. With `heap_values_across_blocks` (the default, and what the
/// backtracking allocator gets) the values are reused too; without it each block loads
/// base and size again, and no check is repeated.
/// `harness/tests/wast/bounds_check_reuse.wast` runs the same shapes.
#[test]
fn bounds_checks_carry_into_blocks_with_one_predecessor() {
    let wat = r#"(module (memory 1)
      ;; the fallthrough of a br_if.
      (func (param $p i32) (param $c i32) (result i32)
        (block (result i32)
          (i32.load offset=4 (local.get $p))
          (br_if 0 (local.get $c))
          drop
          (i32.load (local.get $p))))
      ;; both arms of an if.
      (func (param $p i32) (param $c i32) (result i32)
        (drop (i32.load (local.get $p)))
        (if (result i32) (local.get $c)
          (then (i32.load (local.get $p)))
          (else (i32.load (local.get $p)))))
      ;; after an if without else whose then arm branched away.
      (func (param $p i32) (param $c i32) (result i32)
        (block $out (result i32)
          (drop (i32.load (local.get $p)))
          (if (local.get $c) (then (br $out (i32.const -1))))
          (i32.load (local.get $p))))
      ;; after a block left only by falling through.
      (func (param $p i32) (result i32)
        (drop (i32.load (local.get $p)))
        (block (nop))
        (i32.load (local.get $p)))
      ;; after a block also left by a branch: a merge the block before dominates.
      (func (param $p i32) (param $c i32) (result i32)
        (drop (i32.load (local.get $p)))
        (block (br_if 0 (local.get $c)))
        (i32.load (local.get $p)))
      ;; after a loop that calls nothing: its header is a merge the block before
      ;; dominates, and no back edge can bring a grown memory: check, base and size hold.
      (func (param $p i32) (result i32)
        (drop (i32.load (local.get $p)))
        (loop (nop))
        (i32.load (local.get $p)))
      ;; after a loop that calls: the check holds, base and size are loaded again.
      (func $g (param $p i32) (result i32)
        (drop (i32.load (local.get $p)))
        (loop (drop (call $g (local.get $p))))
        (i32.load (local.get $p)))
      ;; a merge after a call in the construct: base and size again, not the check.
      (func $f (param $p i32) (param $c i32) (result i32)
        (drop (i32.load (local.get $p)))
        (block (br_if 0 (local.get $c)) (drop (call $f (local.get $p) (local.get $c))))
        (i32.load (local.get $p))))"#;
    use kiln::wasm::TranslateOptions;
    let across = translated_counts_with(
        wat,
        TranslateOptions {
            heap_values_across_blocks: true,
        },
    );
    let values_per_block = translated_counts_with(
        wat,
        TranslateOptions {
            heap_values_across_blocks: false,
        },
    );
    // (checks, loads); loads = 2 (base, size) per span + one per access.
    assert_eq!(
        across,
        vec![
            (1, 4),
            (1, 5),
            (1, 4),
            (1, 4),
            (1, 4),
            (1, 4),
            (1, 6),
            (1, 6)
        ]
    );
    assert_eq!(
        values_per_block,
        vec![
            (1, 6),
            (1, 9),
            (1, 6),
            (1, 6),
            (1, 6),
            (1, 6),
            (1, 6),
            (1, 6)
        ]
    );
    assert_eq!(
        TranslateOptions::default(),
        TranslateOptions {
            heap_values_across_blocks: true
        }
    );
}

/// The options follow the allocator: the single-pass allocator spills every value live
/// into another block, so it gets per-block knowledge.
#[test]
fn translate_options_follow_the_register_allocator() {
    use kiln::wasm::TranslateOptions;
    for (regalloc, across) in [("backtracking", true), ("single_pass", false)] {
        let c = compiler("x86_64", None, regalloc);
        assert_eq!(
            TranslateOptions::for_settings(c.settings()).heap_values_across_blocks,
            across,
            "{regalloc}"
        );
    }
}
