//! The compilers the Wasm suites time, behind one interface: Kiln with each register
//! allocator, and — with the `peers` feature — Wasmtime 48's Cranelift (at `opt_level`
//! `speed`, Wasmtime's default, and `none`) and Winch, its baseline compiler.
//!
//! What one compile includes, in both: the module's bytes in, validation, translation of
//! every function, code generation, and linking into one image. Kiln ends with its linked
//! text section ([`kiln::module::CompiledModule`]); Wasmtime with the serialized ELF
//! artifact of `Engine::precompile_module` (which also holds Wasmtime's metadata). Neither
//! loads or runs the code. Wasmtime runs with its default settings otherwise: its code
//! relies on guard pages for memory bounds, while Kiln's code checks bounds explicitly.
//!
//! Invariant: a compiler's thread count is fixed when it is made, so a record's `threads`
//! is what the compile really used (Kiln: its own pool of that size; Wasmtime: serial, or
//! parallel on rayon's global pool, which has one thread per core).

use kiln::module::{compile_module, ModuleOptions};
use kiln::{Compiler, CompilerBuilder};
use kiln_harness::engine_settings::EngineSettings;
use kiln_harness::report::data::PhaseSeconds;

/// What a compile produced.
pub struct Output {
    /// Bytes of machine code.
    pub code_bytes: u64,
    /// Where Kiln's time went (`None` for peers).
    pub phases: Option<PhaseSeconds>,
}

/// A compiler of whole Wasm modules.
pub trait WasmCompiler {
    /// `kiln/backtracking`, `cranelift/speed`, ….
    fn name(&self) -> &str;
    /// Compiles `wasm` to machine code.
    fn compile(&self, wasm: &[u8]) -> anyhow::Result<Output>;

    /// The code size of each defined function, as `(index in the function space, bytes)`.
    /// `Ok(None)` where the compiler cannot tell (Wasmtime for a target other than the
    /// host's: it only lists the functions of a module it can load).
    fn function_sizes(&self, wasm: &[u8]) -> anyhow::Result<Option<Vec<(u32, u64)>>>;
}

/// The compiler builder `kiln compile` starts from for `target`: its default CPU and
/// settings ([`EngineSettings::cli_builder`]).
pub fn kiln_builder(target: &str) -> anyhow::Result<CompilerBuilder> {
    EngineSettings::default()
        .cli_builder(target)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Kiln for `target` with `regalloc`, on `threads` worker threads.
pub struct Kiln {
    name: String,
    compiler: Box<dyn Compiler>,
    threads: usize,
}

impl Kiln {
    /// A Kiln compiler configured as `kiln compile` configures it (on x86_64 the baseline
    /// plus SSSE3 and SSE4.1, with SIMD on) but with `regalloc`.
    pub fn new(target: &str, regalloc: &str, threads: usize) -> anyhow::Result<Kiln> {
        let mut b = kiln_builder(target)?;
        b.set("regalloc", regalloc)?;
        Ok(Kiln {
            name: format!("kiln/{regalloc}"),
            compiler: b.build()?,
            threads,
        })
    }
}

impl WasmCompiler for Kiln {
    fn name(&self) -> &str {
        &self.name
    }

    fn compile(&self, wasm: &[u8]) -> anyhow::Result<Output> {
        let opts = ModuleOptions {
            jobs: Some(self.threads),
            progress: None,
        };
        let m = compile_module(&*self.compiler, wasm, &opts)?;
        let s = &m.stats;
        let cache = s.codegen_time.saturating_sub(s.phases.total());
        Ok(Output {
            code_bytes: s.code_bytes,
            phases: Some(PhaseSeconds::from_stats(s, cache)),
        })
    }

    fn function_sizes(&self, wasm: &[u8]) -> anyhow::Result<Option<Vec<(u32, u64)>>> {
        let opts = ModuleOptions {
            jobs: Some(self.threads),
            progress: None,
        };
        let m = compile_module(&*self.compiler, wasm, &opts)?;
        Ok(Some(
            m.functions
                .iter()
                .map(|f| (f.index, u64::from(f.len)))
                .collect(),
        ))
    }
}

/// Whether the Wasmtime peers are compiled in (the `peers` feature).
pub const PEERS_ENABLED: bool = cfg!(feature = "peers");

/// The peers for `target` on `threads` threads (none without the `peers` feature).
pub fn peers(target: &str, threads: usize) -> anyhow::Result<Vec<Box<dyn WasmCompiler>>> {
    #[cfg(feature = "peers")]
    {
        wasmtime_peers::all(target, threads, false)
    }
    #[cfg(not(feature = "peers"))]
    {
        let _ = (target, threads);
        Ok(Vec::new())
    }
}

/// The peers for `target` configured for a like-for-like code-size comparison: linear
/// memory without guard-page reservations, so that Cranelift and Winch check bounds
/// explicitly, as Kiln does (names end in `+bounds-checks`). Not timed.
pub fn peers_with_bounds_checks(target: &str) -> anyhow::Result<Vec<Box<dyn WasmCompiler>>> {
    #[cfg(feature = "peers")]
    {
        wasmtime_peers::all(target, 1, true)
    }
    #[cfg(not(feature = "peers"))]
    {
        let _ = target;
        Ok(Vec::new())
    }
}

#[cfg(feature = "peers")]
mod wasmtime_peers {
    use super::{Output, WasmCompiler};
    use anyhow::Context;
    use object::{Object, ObjectSection};

    /// Wasmtime's own error type as an `anyhow` error (its `{:#}` form keeps the chain).
    fn wt<T>(r: wasmtime::Result<T>) -> anyhow::Result<T> {
        r.map_err(|e| anyhow::anyhow!("{e:#}"))
    }
    use wasmtime::{Config, Engine, OptLevel, Strategy};

    /// Wasmtime with one strategy and optimization level.
    pub struct Wasmtime {
        name: &'static str,
        target: String,
        engine: Engine,
    }

    fn triple(target: &str) -> anyhow::Result<&'static str> {
        match target {
            "x86_64" => Ok("x86_64-unknown-linux-gnu"),
            "aarch64" => Ok("aarch64-unknown-linux-gnu"),
            other => anyhow::bail!("no Wasmtime target for {other}"),
        }
    }

    pub fn all(
        target: &str,
        threads: usize,
        bounds_checks: bool,
    ) -> anyhow::Result<Vec<Box<dyn WasmCompiler>>> {
        let kinds: [(&'static str, &'static str, Strategy, OptLevel); 3] = [
            (
                "cranelift/speed",
                "cranelift/speed+bounds-checks",
                Strategy::Cranelift,
                OptLevel::Speed,
            ),
            (
                "cranelift/none",
                "cranelift/none+bounds-checks",
                Strategy::Cranelift,
                OptLevel::None,
            ),
            (
                "winch",
                "winch+bounds-checks",
                Strategy::Winch,
                OptLevel::Speed,
            ),
        ];
        let mut v: Vec<Box<dyn WasmCompiler>> = Vec::new();
        for (plain, checked, strategy, opt) in kinds {
            let name = if bounds_checks { checked } else { plain };
            let mut config = Config::new();
            wt(config.target(triple(target)?))?
                .strategy(strategy)
                .cranelift_opt_level(opt)
                .parallel_compilation(threads > 1);
            if bounds_checks {
                config
                    .memory_reservation(0)
                    .memory_guard_size(0)
                    .memory_reservation_for_growth(0);
            }
            let engine = wt(Engine::new(&config))
                .with_context(|| format!("Wasmtime {name} for {target}"))?;
            v.push(Box::new(Wasmtime {
                name,
                target: target.to_string(),
                engine,
            }));
        }
        Ok(v)
    }

    impl WasmCompiler for Wasmtime {
        fn name(&self) -> &str {
            self.name
        }

        fn compile(&self, wasm: &[u8]) -> anyhow::Result<Output> {
            let artifact = wt(self.engine.precompile_module(wasm))?;
            let elf = object::File::parse(&*artifact).context("Wasmtime's artifact")?;
            let code_bytes = elf.section_by_name(".text").map_or(0, |s| s.size());
            Ok(Output {
                code_bytes,
                phases: None,
            })
        }

        fn function_sizes(&self, wasm: &[u8]) -> anyhow::Result<Option<Vec<(u32, u64)>>> {
            if self.target != std::env::consts::ARCH {
                return Ok(None);
            }
            let module = wt(wasmtime::Module::new(&self.engine, wasm))?;
            Ok(Some(
                module
                    .functions()
                    .map(|f| (f.index.as_u32(), f.len as u64))
                    .collect(),
            ))
        }
    }
}
