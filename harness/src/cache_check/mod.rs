//! Cache checks: a cached compile must equal a fresh one, and code from the cache must run
//! exactly like fresh code.
//!
//! For one function on one compiler, [`check_function`] checks, with a fresh
//! [`MemoryStore`]:
//! - the first cached compile is a miss and the second a hit, both equal to a fresh
//!   compile (bytes, relocations, traps, source locations, call sites, frame size); a
//!   compile error is the same error through the cache and is never cached;
//! - every [`mutate::parameter_variants`] (own name, callee names, base source location)
//!   has the same key, hits, and equals a fresh compile of the variant;
//! - every [`mutate::stencil_mutations`] (opcode, immediate, condition/trap code, operand,
//!   value type, block order, signature, callee signature, external function, constant,
//!   jump table, stack slot, relative source location) has another key and misses
//!   (optionally also: its cached compile equals its fresh compile);
//! - every [`mutate::corruptions`] of the entry (bit flips, truncations, an appended byte,
//!   a foreign entry, wrong versions) is a miss that recompiles, equals the fresh code, is
//!   counted as rejected, and is overwritten (the next compile hits).
//!
//! [`check_execution`] compiles a set of functions both ways (the cached ones from hits),
//! links both images, runs the same calls on both under emulation and compares outcomes
//! and memory. [`check_test_file`] does all of it for a `.kir` file (its run directives
//! give the calls); `cargo test` runs it over every filetest on both ISAs, and the `icache`
//! fuzz target ([`crate::fuzz::icache`]) per input.
//!
//! Every check returns `Err` with a message naming the ISA, the function and what differed;
//! it never panics on its own (the fuzz entry point turns errors into panics).

pub mod mutate;

use crate::engine::{fresh_heaps, EngineSettings};
use crate::exec::{CodeImage, Executor};
use crate::filetest::TestFile;
use crate::interp::Heap;
use crate::value::DataValue;
use kiln::cache::{encode_entry, CacheStore, MemoryStore};
use kiln::ir::{text, Function};
use kiln::isa::Arch;
use kiln::machinst::CompiledCode;
use kiln::module::{link_text, LinkInput};
use kiln::Compiler;
use std::path::{Path, PathBuf};

/// Instruction budget of one emulated call in the checks.
pub const CHECK_FUEL: u64 = 10_000_000;

/// A small function used as the "foreign" entry when a file has only one function.
const FOREIGN_SRC: &str = "function %foreign(i64) -> i64 {
block0(v0: i64):
    v1 = iconst.i64 99
    v2 = imul v0, v1
    return v2
}
";

/// What to check besides the basics.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// Also compile every stencil mutation through the cache and compare with a fresh
    /// compile (slower).
    pub compile_mutations: bool,
    /// Run the corruption checks.
    pub corruptions: bool,
    /// Extra bytes choosing corruption positions (see [`mutate::corruptions`]).
    pub pick: Vec<u8>,
}

/// Counts of what was checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckStats {
    /// Functions checked.
    pub functions: usize,
    /// Functions that do not compile (the same error came through the cache).
    pub compile_errors: usize,
    /// Hits equal to fresh compiles.
    pub hits: usize,
    /// Parameter-only variants that hit.
    pub parameter_hits: usize,
    /// Stencil mutations that missed.
    pub stencil_misses: usize,
    /// Corrupt entries refused and overwritten.
    pub corruptions: usize,
    /// Calls executed on both the fresh and the cached image with equal outcomes.
    pub runs: usize,
}

impl CheckStats {
    /// Add `other`'s counts.
    pub fn merge(&mut self, other: &CheckStats) {
        self.functions += other.functions;
        self.compile_errors += other.compile_errors;
        self.hits += other.hits;
        self.parameter_hits += other.parameter_hits;
        self.stencil_misses += other.stencil_misses;
        self.corruptions += other.corruptions;
        self.runs += other.runs;
    }
}

impl std::fmt::Display for CheckStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} functions ({} not compilable), {} hits equal to fresh, {} parameter-only changes hit, {} stencil changes missed, {} corrupt entries refused, {} runs agreed",
            self.functions,
            self.compile_errors,
            self.hits,
            self.parameter_hits,
            self.stencil_misses,
            self.corruptions,
            self.runs
        )
    }
}

/// A compiler per architecture.
pub type ArchCompilers = Vec<(Arch, Box<dyn Compiler>)>;

/// The compilers the checks use: the engines' defaults (SIMD and the regalloc checker on)
/// for each architecture.
pub fn check_compilers() -> Result<ArchCompilers, String> {
    Arch::ALL
        .iter()
        .map(|&a| {
            let c = EngineSettings::default()
                .builder(a)?
                .build()
                .map_err(|e| e.to_string())?;
            Ok((a, c))
        })
        .collect()
}

/// Where the filetests are.
pub fn filetest_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filetests")
}

/// Every filetest, loaded.
pub fn load_filetests() -> Result<Vec<TestFile>, String> {
    let files = crate::filetest_runner::collect_kir_files(&[filetest_dir()])?;
    files
        .iter()
        .map(|p| TestFile::load(p).map_err(|e| e.to_string()))
        .collect()
}

/// How two finalized codes differ, if they do: the differing parts, and both codes in
/// full unless only the bytes differ.
pub fn code_difference(a: &CompiledCode, b: &CompiledCode) -> Option<String> {
    let differ = a.differences(b);
    match differ.as_slice() {
        [] => None,
        [only] if only.starts_with("code") => Some(only.clone()),
        _ => Some(format!("{} differ:\n  {a:?}\n  {b:?}", differ.join(", "))),
    }
}

/// Run the per-function checks (module docs) on `f`. `foreign` supplies the foreign entry
/// for the corruption checks.
pub fn check_function(
    c: &dyn Compiler,
    f: &Function,
    foreign: Option<&Function>,
    opts: &CheckOptions,
    stats: &mut CheckStats,
) -> Result<(), String> {
    let arch = c.arch();
    let name = f.params.name.to_string();
    let err = |msg: String| format!("[{arch}] {name}: {msg}");
    stats.functions += 1;
    let store = MemoryStore::new();
    let key = c.cache_key(&f.stencil);
    let fresh = c.compile_function(f);
    let first = c.compile_function_cached(f, &store);
    let fresh = match (fresh, first) {
        (Err(a), Err(b)) => {
            if a.to_string() != b.to_string() {
                return Err(err(format!("fresh error `{a}`, cached error `{b}`")));
            }
            if !store.is_empty() {
                return Err(err("a compile error left an entry in the store".into()));
            }
            stats.compile_errors += 1;
            return Ok(());
        }
        (Ok(fresh), Ok(first)) => {
            if first.hit {
                return Err(err("hit in an empty store".into()));
            }
            if first.key != key {
                return Err(err("the cached compile used another key".into()));
            }
            if let Some(d) = code_difference(&fresh, &first.code) {
                return Err(err(format!("miss differs from the fresh compile: {d}")));
            }
            fresh
        }
        (a, b) => {
            return Err(err(format!(
                "fresh compile {:?} but cached compile {:?}",
                a.map(|_| "succeeded"),
                b.map(|_| "succeeded")
            )))
        }
    };
    let second = c
        .compile_function_cached(f, &store)
        .map_err(|e| err(format!("hit failed: {e}")))?;
    if !second.hit {
        return Err(err(format!(
            "second compile missed ({:?})",
            store.stats().snapshot().last_problem
        )));
    }
    if let Some(d) = code_difference(&fresh, &second.code) {
        return Err(err(format!("hit differs from the fresh compile: {d}")));
    }
    stats.hits += 1;

    for (what, g) in mutate::parameter_variants(f) {
        if c.cache_key(&g.stencil) != key {
            return Err(err(format!("changing the {what} changed the key")));
        }
        let r = c
            .compile_function_cached(&g, &store)
            .map_err(|e| err(format!("{what} changed: cached compile failed: {e}")))?;
        if !r.hit {
            return Err(err(format!("changing only the {what} missed")));
        }
        let fresh_g = c
            .compile_function(&g)
            .map_err(|e| err(format!("{what} changed: fresh compile failed: {e}")))?;
        if let Some(d) = code_difference(&fresh_g, &r.code) {
            return Err(err(format!(
                "{what} changed: hit differs from a fresh compile: {d}"
            )));
        }
        stats.parameter_hits += 1;
    }

    for (what, g) in mutate::stencil_mutations(f) {
        let k = c.cache_key(&g.stencil);
        if k == key {
            return Err(err(format!(
                "changing the {what} kept the key:\n{f}\n--- mutated ---\n{g}"
            )));
        }
        if store.get(&k).is_some() {
            return Err(err(format!("changing the {what} found an entry")));
        }
        if opts.compile_mutations {
            let fresh_g = c.compile_function(&g);
            let cached_g = c.compile_function_cached(&g, &store);
            match (fresh_g, cached_g) {
                (Ok(a), Ok(b)) if !b.hit => {
                    if let Some(d) = code_difference(&a, &b.code) {
                        return Err(err(format!("{what} changed: cached differs: {d}")));
                    }
                }
                (Ok(_), Ok(_)) => return Err(err(format!("{what} changed: hit"))),
                (Err(a), Err(b)) if a.to_string() == b.to_string() => {}
                (a, b) => {
                    return Err(err(format!(
                        "{what} changed: fresh {:?} vs cached {:?}",
                        a.map(|_| ()),
                        b.map(|_| ())
                    )))
                }
            }
        }
        stats.stencil_misses += 1;
    }

    if opts.corruptions {
        let entry = store
            .get(&key)
            .ok_or_else(|| err("the entry vanished".into()))?;
        let foreign = foreign.and_then(|g| {
            let code = c.compile_function_stencil(g).ok()?;
            let k = c.cache_key(&g.stencil);
            Some((k, encode_entry(&k, &code)))
        });
        let cases = mutate::corruptions(
            &entry,
            &key,
            foreign.as_ref().map(|(k, e)| (k, e.as_slice())),
            &opts.pick,
        );
        for (what, bad) in cases {
            if bad == entry {
                continue;
            }
            let before = store.stats().snapshot().rejected;
            store
                .insert(&key, bad)
                .map_err(|e| err(format!("{what}: {e}")))?;
            let r = c
                .compile_function_cached(f, &store)
                .map_err(|e| err(format!("{what}: compile failed: {e}")))?;
            if r.hit {
                return Err(err(format!("{what}: accepted as a hit")));
            }
            if let Some(d) = code_difference(&fresh, &r.code) {
                return Err(err(format!("{what}: recompiled code differs: {d}")));
            }
            if store.stats().snapshot().rejected != before + 1 {
                return Err(err(format!("{what}: not counted as rejected")));
            }
            let again = c
                .compile_function_cached(f, &store)
                .map_err(|e| err(format!("{what}: compile failed: {e}")))?;
            if !again.hit || code_difference(&fresh, &again.code).is_some() {
                return Err(err(format!("{what}: the entry was not overwritten")));
            }
            stats.corruptions += 1;
        }
    }
    let s = store.stats().snapshot();
    if s.lookups != s.hits + s.misses {
        return Err(err(format!("inconsistent statistics: {s}")));
    }
    Ok(())
}

/// Link `codes` (one per function) and load them into a fresh executor.
fn load(
    c: &dyn Compiler,
    functions: &[Function],
    codes: &[CompiledCode],
) -> Result<Executor, String> {
    let inputs: Vec<LinkInput<'_>> = functions
        .iter()
        .zip(codes)
        .map(|(f, code)| LinkInput {
            name: &f.params.name,
            code,
        })
        .collect();
    let text = link_text(c.arch(), &inputs, &c.link_options()).map_err(|e| e.to_string())?;
    let symbols = functions
        .iter()
        .map(|f| (f.params.name.to_string(), f.signature.clone()))
        .collect();
    let image = CodeImage::from_text(c.arch(), text, symbols);
    let mut ex = Executor::new(c.arch()).map_err(|e| e.to_string())?;
    ex.load(&image).map_err(|e| e.to_string())?;
    Ok(ex)
}

/// Compile `functions` fresh and through a cache (the cached codes come from hits), link
/// and load both, run every call `(function index, arguments)` on both with copies of
/// `heaps`, and compare outcomes and final memory. Returns the number of calls run, or 0
/// when some function does not compile (nothing to run).
pub fn check_execution(
    c: &dyn Compiler,
    functions: &[Function],
    calls: &[(usize, Vec<DataValue>)],
    heaps: &[Heap],
    fuel: u64,
) -> Result<usize, String> {
    let arch = c.arch();
    let Ok(fresh) = functions
        .iter()
        .map(|f| c.compile_function(f))
        .collect::<Result<Vec<_>, _>>()
    else {
        return Ok(0);
    };
    let store = MemoryStore::new();
    for f in functions {
        c.compile_function_cached(f, &store)
            .map_err(|e| format!("[{arch}] {}: {e}", f.params.name))?;
    }
    let mut cached = Vec::with_capacity(functions.len());
    for f in functions {
        let r = c
            .compile_function_cached(f, &store)
            .map_err(|e| format!("[{arch}] {}: {e}", f.params.name))?;
        if !r.hit {
            return Err(format!("[{arch}] {}: warm compile missed", f.params.name));
        }
        cached.push(r.code);
    }
    let mut ex_fresh = load(c, functions, &fresh).map_err(|e| format!("[{arch}] fresh: {e}"))?;
    let mut ex_cached = load(c, functions, &cached).map_err(|e| format!("[{arch}] cached: {e}"))?;
    for (index, args) in calls {
        let mut h1 = heaps.to_vec();
        let mut h2 = heaps.to_vec();
        let o1 = ex_fresh.call(*index, args, &mut h1, fuel);
        let o2 = ex_cached.call(*index, args, &mut h2, fuel);
        let name = functions.get(*index).map(|f| f.params.name.to_string());
        if o1 != o2 {
            return Err(format!(
                "[{arch}] {name:?}{args:?}: fresh code gave {o1}, cached code gave {o2}"
            ));
        }
        if h1 != h2 {
            return Err(format!(
                "[{arch}] {name:?}{args:?}: memory differs after fresh and cached runs"
            ));
        }
    }
    Ok(calls.len())
}

/// The function used for foreign entries when a file has only one function.
pub fn foreign_function() -> Function {
    text::parse_functions(FOREIGN_SRC)
        .ok()
        .and_then(|mut v| v.pop())
        .unwrap_or_default()
}

/// Every check on every function of `file`, then [`check_execution`] with its run
/// directives.
pub fn check_test_file(
    c: &dyn Compiler,
    file: &TestFile,
    opts: &CheckOptions,
    stats: &mut CheckStats,
) -> Result<(), String> {
    let extra = foreign_function();
    let n = file.functions.len();
    for (i, f) in file.functions.iter().enumerate() {
        let foreign = if n > 1 {
            file.functions.get((i + 1) % n)
        } else {
            Some(&extra)
        };
        check_function(c, f, foreign, opts, stats)
            .map_err(|e| format!("{}: {e}", file.path.display()))?;
    }
    let calls: Vec<(usize, Vec<DataValue>)> = file
        .runs
        .iter()
        .map(|r| (r.func_index, r.args.iter().map(|a| a.resolve()).collect()))
        .collect();
    stats.runs += check_execution(c, &file.functions, &calls, &fresh_heaps(file), CHECK_FUEL)
        .map_err(|e| format!("{}: {e}", file.path.display()))?;
    Ok(())
}

/// Every check on every function of a generated case (`crate::gen`), then
/// [`check_execution`] of its entry function with its arguments and heap.
pub fn check_generated(
    c: &dyn Compiler,
    case: &crate::gen::GeneratedCase,
    opts: &CheckOptions,
    stats: &mut CheckStats,
) -> Result<(), String> {
    let extra = foreign_function();
    let n = case.functions.len();
    for (i, f) in case.functions.iter().enumerate() {
        let foreign = if n > 1 {
            case.functions.get((i + 1) % n)
        } else {
            Some(&extra)
        };
        check_function(c, f, foreign, opts, stats)
            .map_err(|e| format!("generated case: {e}\n{}", print_all(&case.functions)))?;
    }
    let heaps: Vec<Heap> = case
        .heap
        .iter()
        .map(|h| Heap {
            base: crate::filetest::HeapDecl::base(0),
            bytes: h.initial_bytes(),
        })
        .collect();
    stats.runs += check_execution(
        c,
        &case.functions,
        &[(0, case.args.clone())],
        &heaps,
        CHECK_FUEL,
    )
    .map_err(|e| format!("generated case: {e}\n{}", print_all(&case.functions)))?;
    Ok(())
}

fn print_all(functions: &[Function]) -> String {
    functions.iter().map(|f| f.to_string()).collect()
}

#[cfg(test)]
mod tests;
