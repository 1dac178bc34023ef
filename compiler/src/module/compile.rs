//! Compiling a whole Wasm module: parse and validate it, translate and compile every
//! defined function in parallel, and link them into one text section.
//!
//! [`compile_module`] is the entry point. Functions are translated and compiled
//! independently (rayon; each worker reuses one translator), each through the compiler's
//! cache store when it has one, then linked in function order with [`link_text`], which
//! turns every call between the module's functions into a relative call (`call rel32` /
//! `bl`, through a far-call veneer when out of range). With a cache store, a function
//! whose body and module environment were compiled before is taken from its translation
//! memo without being validated or translated again ([`crate::cache::memo`]).
//!
//! ```
//! use kiln::module::{compile_module, elf::write_elf, ModuleOptions};
//! use kiln::wasm::info::EntityIndex;
//!
//! let wasm = wat::parse_str(r#"
//!     (module
//!       (memory 1)
//!       (func $sq (param i32) (result i32) local.get 0 local.get 0 i32.mul)
//!       (func (export "sum_sq") (param i32 i32) (result i32)
//!         local.get 0 call $sq local.get 1 call $sq i32.add))
//! "#).unwrap();
//! let mut config = kiln::Config::new();
//! config.target("aarch64").set("regalloc", "backtracking");
//! let compiler = config.build().unwrap();
//! let module = compile_module(&*compiler, &wasm, &ModuleOptions::default()).unwrap();
//! assert_eq!(module.functions.len(), 2);
//! assert_eq!(module.stats.relative_calls, 2); // both calls to $sq are `bl`s
//! let export = &module.info.exports[0];
//! assert_eq!((export.name.as_str(), export.index), ("sum_sq", EntityIndex::Func(1)));
//! let f = module.defined(1).unwrap(); // where it is in `module.text`, and its signature
//! assert_eq!(f.signature.params.len(), 3); // vmctx, then the two i32s
//! let object: Vec<u8> = write_elf(&module).unwrap(); // a relocatable ELF64 object
//! assert_eq!(&object[..4], b"\x7fELF");
//! ```
//!
//! Invariants: the output depends only on the module bytes and the compiler's settings,
//! never on the number of threads (results are collected in function order before
//! linking); the text section has no relocation for a call between the module's own
//! functions; every error names the function index and, for Wasm errors, the byte offset.

use super::{link_text, LinkError, LinkInput, TextRelocTarget, TextSection};
use crate::cache::memo;
use crate::compiler::Compiler;
use crate::ir::{Function, Signature, SourceLoc, TrapCode, UserFuncName};
use crate::isa::Arch;
use crate::machinst::compiled::FinalRelocTarget;
use crate::machinst::{take_phase_times, CodegenError, CompiledCode, PhaseTimes};
use crate::pool::Pool;
use crate::wasm::translate::{ir_signature, translate_function, FuncTranslator, TranslateOptions};
use crate::wasm::{parse_module, FunctionInput, ModuleInfo, WasmError};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Why a module could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The module is malformed, invalid or uses an unsupported feature.
    #[error(transparent)]
    Wasm(#[from] WasmError),
    /// The backend refused a function.
    #[error("function {func} ({name}): {error}")]
    Codegen {
        /// Function index.
        func: u32,
        /// Its display name.
        name: String,
        /// The backend's error.
        error: CodegenError,
    },
    /// Linking failed.
    #[error("linking: {0}")]
    Link(#[from] LinkError),
    /// The worker pool could not be created.
    #[error("could not start {jobs} worker threads: {message}")]
    Threads {
        /// Requested thread count.
        jobs: usize,
        /// The reason.
        message: String,
    },
}

/// A defined function in a [`CompiledModule`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleFunction {
    /// Index in the module's function space.
    pub index: u32,
    /// Name-section name, or `wasm_function_<index>`.
    pub name: String,
    /// The IR signature (vmctx first).
    pub signature: Signature,
    /// Offset of its first instruction in the text section.
    pub offset: u32,
    /// Its code size in bytes (without the island after it).
    pub len: u32,
    /// Byte ranges of its code that are data (constants, inline jump tables), relative
    /// to `offset`: sorted, disjoint, within `len`.
    pub data_ranges: Vec<std::ops::Range<u32>>,
}

/// A trap site of the text section with the Wasm byte offset it came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TrapSite {
    /// Offset of the trapping instruction in the text section.
    pub text_offset: u32,
    /// The trap.
    pub code: TrapCode,
    /// Byte offset of the Wasm operator in the module (`None`: no location, e.g. the
    /// prologue's stack check).
    pub wasm_offset: Option<u32>,
}

/// Counts and timings of one module compilation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModuleStats {
    /// Defined functions compiled.
    pub functions: usize,
    /// Size of the module in bytes.
    pub wasm_bytes: usize,
    /// Size of the text section (materialized bytes).
    pub code_bytes: u64,
    /// Calls between the module's own functions resolved to relative calls.
    pub relative_calls: usize,
    /// Relocations left for the loader (libcalls, the stack limit).
    pub relocs_left: usize,
    /// Far-call veneers inserted.
    pub veneers: usize,
    /// Cache hits and misses (both 0 without a cache store).
    pub cache_hits: usize,
    /// Cache misses.
    pub cache_misses: usize,
    /// Of the hits, functions served from a translation memo: neither validated nor
    /// translated again ([`crate::cache::memo`]).
    pub memo_hits: usize,
    /// Parsing and module-level validation (wall time).
    pub parse_time: Duration,
    /// Translation to IR, summed over all functions (CPU time across threads).
    pub translate_time: Duration,
    /// Backend compilation (including cache lookups), summed over all functions, plus
    /// loading and storing the module's translation memo.
    pub codegen_time: Duration,
    /// `codegen_time` split by backend phase, summed over all functions (cache hits run
    /// none; the rest of `codegen_time` is cache work and function set-up).
    pub phases: PhaseTimes,
    /// Linking (wall time).
    pub link_time: Duration,
    /// The whole compilation (wall time).
    pub total_time: Duration,
}

/// A compiled module: linked code plus everything a runtime needs to instantiate it.
#[derive(Clone, Debug)]
pub struct CompiledModule {
    /// The target.
    pub arch: Arch,
    /// Module-level facts (types, imports, exports, memory, tables, globals, segments).
    pub info: ModuleInfo,
    /// The linked code; `text.functions[i]` is where defined function `i` starts.
    pub text: TextSection,
    /// Each defined function, in order.
    pub functions: Vec<ModuleFunction>,
    /// Trap sites with Wasm offsets, sorted by text offset.
    pub traps: Vec<TrapSite>,
    /// Counts and timings.
    pub stats: ModuleStats,
}

impl CompiledModule {
    /// The defined function with function index `f`, if `f` is defined (not imported).
    pub fn defined(&self, f: u32) -> Option<&ModuleFunction> {
        let i = f.checked_sub(self.info.num_imported_funcs)?;
        self.functions.get(i as usize)
    }
}

/// Options of [`compile_module`].
#[derive(Copy, Clone, Debug, Default)]
pub struct ModuleOptions<'a> {
    /// Worker threads (`None`: rayon's global pool, one per core).
    pub jobs: Option<usize>,
    /// Incremented once per function compiled (for a progress display).
    pub progress: Option<&'a AtomicUsize>,
}

/// Run `f` on a pool of `jobs` threads (or the global pool). Pools are built once per
/// calling thread and size, and kept: a pool per call would start threads per module.
fn in_pool<T: Send>(jobs: Option<usize>, f: impl FnOnce() -> T + Send) -> Result<T, ModuleError> {
    thread_local! {
        static POOLS: std::cell::RefCell<Vec<(usize, std::rc::Rc<rayon::ThreadPool>)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    let Some(n) = jobs.map(|n| n.max(1)) else {
        return Ok(f());
    };
    let cached = POOLS.with(|p| {
        p.borrow()
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, p)| p.clone())
    });
    let pool = match cached {
        Some(p) => p,
        None => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| ModuleError::Threads {
                    jobs: n,
                    message: e.to_string(),
                })?;
            let pool = std::rc::Rc::new(pool);
            POOLS.with(|p| p.borrow_mut().push((n, pool.clone())));
            pool
        }
    };
    Ok(pool.install(f))
}

/// Translate every defined function of `wasm` to IR (validating the whole module), in
/// parallel. Function `i` of the result is defined function `i`, named `u0:<index>`.
pub fn translate_module(
    wasm: &[u8],
    jobs: Option<usize>,
) -> Result<(ModuleInfo, Vec<Function>), ModuleError> {
    let (info, inputs) = parse_module(wasm)?;
    let info_ref = &info;
    // One translator per worker, reused: `map_init` would make one per piece of work, and
    // with one function per piece that is a fresh one for every function.
    let translators = Pool::<FuncTranslator>::default();
    let translators = &translators;
    let funcs: Result<Vec<Function>, WasmError> = in_pool(jobs, move || {
        inputs
            .into_par_iter()
            .with_max_len(1)
            .map(|input| translators.with(|tr| translate_function(info_ref, input, tr)))
            .collect()
    })?;
    let funcs = funcs?;
    Ok((info, funcs))
}

struct Compiled {
    code: CompiledCode,
    hit: Option<bool>,
    /// Served from the module's translation memo.
    memo_hit: bool,
    /// The function's entry for the module's next memo (compiled through a store, not in
    /// verify mode).
    memo: Option<memo::FunctionMemo>,
    translate: Duration,
    codegen: Duration,
    phases: PhaseTimes,
}

/// Compile one function. With `memos` (the module's memo from its last compile, empty if
/// none; `None` without a store or in verify mode, which skips memos), the memo is tried
/// first, so that a function seen before is neither validated nor translated again
/// ([`crate::cache::memo`]).
fn compile_one(
    compiler: &dyn Compiler,
    info: &ModuleInfo,
    input: FunctionInput<'_>,
    memos: Option<&memo::ModuleMemo>,
    tr: &mut FuncTranslator,
) -> Result<Compiled, ModuleError> {
    let index = input.index;
    let start = Instant::now();
    // Phases left on this thread by anything before (not this function's).
    let _ = take_phase_times();
    let body_start = input.body.range().start as u32;
    let mut pending_memo = None;
    if let (Some(memos), Some(store)) = (memos, compiler.cache_store()) {
        let body = memo::body_digest(input.body.as_bytes());
        store.0.stats().record_key(start.elapsed());
        let found = memos.function(index, &body);
        if let Some((code, m)) = found.and_then(|f| memo::lookup(&*store.0, f, body_start)) {
            return Ok(Compiled {
                code,
                hit: Some(true),
                memo_hit: true,
                memo: Some(m),
                translate: Duration::ZERO,
                codegen: start.elapsed(),
                phases: PhaseTimes::default(),
            });
        }
        pending_memo = Some(body);
    }
    // The memo's digest and lookup: cache work, counted with the code generation after
    // translation (where the cache's time is accounted), not as translation.
    let before_translate = start.elapsed();
    let t0 = Instant::now();
    tr.set_options(TranslateOptions::for_settings(compiler.settings()));
    let func = translate_function(info, input, tr)?;
    let t1 = Instant::now();
    let codegen_err = |error| ModuleError::Codegen {
        func: index,
        name: info.func_display_name(index),
        error,
    };
    let (code, hit, memo) = match compiler.cache_store() {
        Some(store) => {
            let c = compiler
                .compile_function_cached(&func, &*store.0)
                .map_err(codegen_err)?;
            let memo = pending_memo.map(|body| memo::FunctionMemo {
                index,
                body,
                stencil_key: c.key,
                params: func.params.clone(),
                body_start,
            });
            (c.code, Some(c.hit), memo)
        }
        None => (
            compiler.compile_function(&func).map_err(codegen_err)?,
            None,
            None,
        ),
    };
    tr.recycle(func);
    Ok(Compiled {
        code,
        hit,
        memo_hit: false,
        memo,
        translate: t1 - t0,
        codegen: before_translate + t1.elapsed(),
        phases: take_phase_times(),
    })
}

/// Compile a Wasm module with `compiler` (see the module docs).
pub fn compile_module(
    compiler: &dyn Compiler,
    wasm: &[u8],
    options: &ModuleOptions<'_>,
) -> Result<CompiledModule, ModuleError> {
    let start = Instant::now();
    let (info, inputs) = parse_module(wasm)?;
    let parse_time = start.elapsed();
    // The module's translation memo (not in verify mode, which compiles every function).
    let t_memo = Instant::now();
    let memo_store = compiler
        .cache_store()
        .filter(|s| !s.0.verify())
        .map(|store| {
            let environment = memo::module_environment_digest(wasm, &info.environment_sections);
            let key = compiler.memo_key(&environment);
            store.0.stats().record_key(t_memo.elapsed());
            let loaded = memo::load(&*store.0, &key).unwrap_or_default();
            (store, key, loaded)
        });
    let mut memo_time = t_memo.elapsed();
    let memos = memo_store.as_ref().map(|(_, _, loaded)| loaded);
    let info_ref = &info;
    let progress = options.progress;
    // Largest bodies first: the workers take functions in this order, so a huge function
    // starts at once instead of last, when it would leave the other workers idle. Every
    // function is its own piece of work (`with_max_len(1)`): with rayon's default
    // splitting, a worker that finished its share found nothing left to steal while the
    // other worked through a long run of functions alone (brotli compiled 1.26x faster on
    // 2 threads than on 1; with single-function pieces, 1.9x).
    let mut order: Vec<(usize, FunctionInput<'_>)> = inputs.into_iter().enumerate().collect();
    order.sort_by_key(|(i, input)| {
        let r = input.body.range();
        (core::cmp::Reverse(r.end - r.start), *i)
    });
    let failed = AtomicBool::new(false);
    let failed = &failed;
    // One translator per worker, reused (see `translate_module`).
    let translators = Pool::<FuncTranslator>::default();
    let translators = &translators;
    let mut results: Vec<(usize, Option<Result<Compiled, ModuleError>>)> =
        in_pool(options.jobs, move || {
            order
                .into_par_iter()
                .with_max_len(1)
                .map(|(i, input)| {
                    // After a failure the rest is skipped; the error reported is the one of
                    // the lowest function index among those compiled.
                    if failed.load(Ordering::Relaxed) {
                        return (i, None);
                    }
                    let r =
                        translators.with(|tr| compile_one(compiler, info_ref, input, memos, tr));
                    if r.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    if let Some(p) = progress {
                        p.fetch_add(1, Ordering::Relaxed);
                    }
                    (i, Some(r))
                })
                .collect()
        })?;
    results.sort_by_key(|(i, _)| *i);
    let mut compiled = Vec::with_capacity(results.len());
    let mut skipped = false;
    for (_, r) in results {
        match r {
            Some(Ok(c)) => compiled.push(c),
            Some(Err(e)) => return Err(e),
            None => skipped = true,
        }
    }
    debug_assert!(!skipped, "functions are only skipped after a failure");
    // Remember this compile's functions unless the memo already says exactly that.
    if let Some((store, key, loaded)) = &memo_store {
        let t = Instant::now();
        let functions: Vec<memo::FunctionMemo> =
            compiled.iter().filter_map(|c| c.memo.clone()).collect();
        if loaded.functions != functions {
            memo::store(&*store.0, key, &memo::ModuleMemo { functions });
        }
        memo_time += t.elapsed();
    }

    let t_link = Instant::now();
    let first = info.num_imported_funcs;
    let names: Vec<UserFuncName> = (0..compiled.len() as u32)
        .map(|i| UserFuncName::User(crate::wasm::translate::func_name(first + i)))
        .collect();
    let inputs: Vec<LinkInput<'_>> = compiled
        .iter()
        .zip(&names)
        .map(|(c, name)| LinkInput {
            name,
            code: &c.code,
        })
        .collect();
    let text = link_text(compiler.arch(), &inputs, &compiler.link_options())?;
    let link_time = t_link.elapsed();

    let mut stats = ModuleStats {
        functions: compiled.len(),
        wasm_bytes: wasm.len(),
        code_bytes: text.segments.iter().map(|s| s.bytes.len() as u64).sum(),
        relocs_left: text.relocs.len(),
        veneers: text.veneers.len(),
        parse_time,
        link_time,
        // The module memo's load and store are cache work, as each function's is.
        codegen_time: memo_time,
        ..ModuleStats::default()
    };
    let mut functions = Vec::with_capacity(compiled.len());
    let mut traps = Vec::new();
    for (i, c) in compiled.iter().enumerate() {
        let index = first + i as u32;
        stats.translate_time += c.translate;
        stats.codegen_time += c.codegen;
        stats.phases += c.phases;
        match c.hit {
            Some(true) => {
                stats.cache_hits += 1;
                stats.memo_hits += usize::from(c.memo_hit);
            }
            Some(false) => stats.cache_misses += 1,
            None => {}
        }
        stats.relative_calls += c
            .code
            .relocs
            .iter()
            .filter(|r| matches!(r.target, FinalRelocTarget::User(_)))
            .count();
        let offset = text.functions[i];
        let type_index = info.funcs[index as usize];
        functions.push(ModuleFunction {
            index,
            name: info.func_display_name(index),
            signature: ir_signature(&info.types[type_index as usize]),
            offset,
            len: c.code.code.len() as u32,
            data_ranges: c.code.data_ranges.clone(),
        });
        let sorted = srclocs_sorted(&c.code);
        for t in &c.code.traps {
            traps.push(TrapSite {
                text_offset: offset + t.offset as u32,
                code: t.code,
                wasm_offset: wasm_offset_at(&c.code, t.offset as u32, sorted),
            });
        }
    }
    // User relocations left would be calls the linker could not resolve inside the module.
    debug_assert!(!text
        .relocs
        .iter()
        .any(|r| matches!(r.target, TextRelocTarget::Function(_))));
    traps.sort_by_key(|t| t.text_offset);
    stats.total_time = start.elapsed();
    Ok(CompiledModule {
        arch: compiler.arch(),
        info,
        text,
        functions,
        traps,
        stats,
    })
}

/// Are the source ranges of `code` in code order, without overlaps?
fn srclocs_sorted(code: &CompiledCode) -> bool {
    code.srclocs.windows(2).all(|w| w[0].end <= w[1].start)
}

/// The source location of the code at `offset` of a function. Source ranges come out of
/// emission in code order and do not overlap, so this is a binary search; ranges in any
/// other order (never produced) fall back to a linear scan rather than a wrong answer.
/// `sorted` is [`srclocs_sorted`] of `code`, computed once per function.
fn wasm_offset_at(code: &CompiledCode, offset: u32, sorted: bool) -> Option<u32> {
    let ranges = &code.srclocs;
    let found = if sorted {
        let i = ranges.partition_point(|s| s.end <= offset);
        ranges.get(i).filter(|s| s.start <= offset)
    } else {
        ranges.iter().find(|s| s.start <= offset && offset < s.end)
    };
    found
        .map(|s| s.loc)
        .filter(|l: &SourceLoc| !l.is_default())
        .map(|l| l.bits())
}
