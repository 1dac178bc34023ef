//! `kiln`: the command-line front end of the Kiln harness.
//!
//! Subcommands:
//! - `kiln compile <file.kir> [--target TRIPLE] [--cpu PRESET] [--set K=V]... [--enable K]...
//!   [--regalloc A] [--disasm]`: build a compiler with `kiln::CompilerBuilder` (preset, then
//!   `--regalloc`, then each `--set`, then each `--enable`, in that order), compile every
//!   function and print its machine code (hex, or a disassembly through llvm-mc), with its
//!   relocations and trap sites.
//! - `kiln run <file-or-dir>... [--engine LIST] [--fuel N] [--cpu PRESET] [--set K=V]...
//!   [--enable K]... [--link-padding BYTES] [--verbose]`: run every `; run:` directive in
//!   `.kir` files on the chosen engines (the preset and settings apply to the compiled
//!   engines; `--link-padding` is test-only: virtual padding between linked functions, so
//!   that calls between them go through far-call veneers); ends with
//!   `N passed, M failed` (and `, K skipped` when an engine cannot compile a file yet) and
//!   exits non-zero when anything failed.
//! - `kiln settings [--target TRIPLE]`: list every setting of the target with its values,
//!   default and documentation, and the CPU presets.
//! - `kiln compile ... --cache DIR [--cache-verify] [--cache-max-size BYTES|unlimited]`:
//!   compile through the on-disk compilation cache in `DIR` (each function line says
//!   `cache hit` or `cache miss`; a summary line gives the size cap and the cache
//!   statistics). `--cache-verify` also compiles every hit afresh and fails on a
//!   difference. Without `--cache-max-size` the cap is 5G (least recently used entries
//!   are evicted beyond it).
//! - `kiln cache stats DIR`: entries, bytes, how many entries are valid for this build of
//!   the compiler, and the lookups, hits, misses and rejected entries every process counted
//!   since the cache was created or cleared; `kiln cache clear DIR`: delete every entry and
//!   reset the counters (other files are kept).
//! - `kiln diff --generator kir|wasm|wasm-flow|all [--seconds N | --cases N] [--seed S]
//!   [--jobs J] [--max-insts N] [--corpus DIR] [--no-reduce] [--reduce-seconds S]
//!   [--cache DIR]`: differential testing of generated IR (interpreter vs x86_64 vs
//!   AArch64) or of wasm-smith or Kiln-generated modules (wasmi vs Kiln's interpreter,
//!   x86_64 and AArch64), a compiler variation per case; a progress line on a terminal, a
//!   summary table and the throughput (for Wasm also the execution rate); each
//!   disagreement saved (`.kir`, or `.wasm` + `.json`) with its replay command, then
//!   reduced and saved again; exits non-zero when any case disagreed or ran away
//!   (timeouts do not count).
//! - `kiln reduce <case> [--seconds S] [-o OUT]`: reduce a saved finding while the same
//!   engine disagrees in the same class; prints the sizes before and after.
//!   With `--cache DIR` every compiled engine compiles through that on-disk compilation
//!   cache (`--cache-verify` also recompiles every hit), so campaigns exercise the cached
//!   path; the cache statistics go to stderr at the end.
//! - `kiln wast <file-or-dir>... [--engine LIST] [--fuel N] [--cpu PRESET] [--set K=V]...
//!   [--enable K]... [--verbose]`: run WebAssembly spec-test scripts (`.wast`; directories
//!   are searched for `*.wast`) on the chosen engines, files in parallel; one line per
//!   file, every failure with file:line, engine, expected and actual, the skips grouped by
//!   reason (`--verbose` lists each); ends with `N passed, M failed, K skipped` and exits
//!   non-zero when anything failed.
//! - `kiln replay <file-or-dir>...`: re-run saved cases (`.kir`, `.wasm`) on every engine
//!   under their recorded variation; prints each engine's result, the IR and the
//!   disassembly of the disagreeing engines (for Wasm also the module as WAT); exits
//!   non-zero when any still disagrees.
//! - `kiln report [--criterion DIR] [-o OUT]`: turn the benchmark data under `DIR`
//!   (default `target/criterion`: criterion's estimates and the suites' records in `kiln/`)
//!   into `compile.md`, `cache.md` and SVG charts in `OUT` (default `reports`); prints each
//!   file written.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use kiln::cache::{CacheStore, DiskStore};
use kiln::ir::text;
use kiln::settings::{all_settings, isa::PresetFlags, presets, SettingKind};
use kiln::CompilerBuilder;
use kiln_harness::diff::{replay, DiffOptions};
use kiln_harness::engine::{EngineKind, EngineSettings};
use kiln_harness::filetest_runner::{collect_kir_files, run_files, RunOptions, DEFAULT_FUEL};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[path = "kiln/compile_wasm.rs"]
mod compile_wasm;
#[path = "kiln/diff_cmd.rs"]
mod diff_cmd;
#[path = "kiln/report_cmd.rs"]
mod report_cmd;
#[path = "kiln/timings.rs"]
mod timings;
#[path = "kiln/wast_cmd.rs"]
mod wast_cmd;

#[derive(Parser)]
#[command(
    name = "kiln",
    version,
    about = "Kiln: a WebAssembly compiler and the harness that keeps it honest"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a Wasm module (binary `.wasm`) or the functions of a `.kir` file (decided by
    /// content, not extension). A module is compiled in parallel and linked; a summary is
    /// printed, `-o` writes an ELF object.
    Compile {
        /// The .wasm module or .kir file.
        file: PathBuf,
        /// Wasm only: write a relocatable ELF object here.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Wasm only: worker threads (default: one per core).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
        jobs: Option<u32>,
        /// Target triple (e.g. x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu, or just
        /// x86_64, aarch64).
        #[arg(long, default_value = "x86_64")]
        target: String,
        /// Register allocator: backtracking or single_pass (same as --set regalloc=A).
        #[arg(long)]
        regalloc: Option<String>,
        #[command(flatten)]
        settings: SettingArgs,
        /// Print a disassembly (through llvm-mc). For a .kir file, of every function
        /// (instead of hex bytes); for a module, of the function named FUNC (name-section
        /// name, export name, `wasm_function_N`, or index N), or of every function without FUNC.
        #[arg(long, value_name = "FUNC", num_args = 0..=1, default_missing_value = "")]
        disasm: Option<String>,
        /// Print where the compile time went: parse and translate, each backend phase
        /// (verify, lower, regalloc, emit), cache key/load/store, link.
        #[arg(long)]
        timings: bool,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Inspect or clear an on-disk compilation cache.
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Run the `; run:` directives of .kir files (directories are searched recursively).
    Run {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Engines, comma separated: `interp`, `x86_64`, `aarch64`, or `all`.
        #[arg(long, default_value = "all")]
        engine: String,
        /// Instruction budget per run; running out is reported as `out of fuel`.
        #[arg(long, default_value_t = DEFAULT_FUEL)]
        fuel: u64,
        #[command(flatten)]
        settings: SettingArgs,
        /// Test-only: link the compiled engines' functions with this much virtual padding
        /// between them (bytes, or with a K, M or G suffix: 200M, 2560M), so that calls
        /// between functions need far-call veneers. The padding is never mapped.
        #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
        link_padding: Option<u64>,
        /// Print every check, not only failures.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Run WebAssembly spec-test scripts (.wast) on the engines (directories are searched
    /// recursively for *.wast).
    Wast {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Engines, comma separated: `interp`, `x86_64`, `aarch64`, or `all`.
        #[arg(long, default_value = "all")]
        engine: String,
        /// Instruction budget per invocation; running out is a failure (`out of fuel`).
        #[arg(long, default_value_t = kiln_harness::instance::DEFAULT_FUEL)]
        fuel: u64,
        #[command(flatten)]
        settings: SettingArgs,
        /// Also list every skipped directive.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Differential testing: generated cases on the interpreter, x86_64 and AArch64.
    Diff {
        /// Case generator: `kir` (random Kiln IR: interpreter vs x86_64 vs AArch64), `wasm`
        /// (wasm-smith modules: wasmi vs Kiln's interpreter, x86_64 and AArch64),
        /// `wasm-flow` (Kiln's modules of locals written inside nested blocks, loops and
        /// ifs, on the same engines) or `all` (the three in turn).
        #[arg(long, default_value = "kir")]
        generator: String,
        /// Run for this many seconds (the default is 60 when --cases is not given).
        #[arg(long, conflicts_with = "cases")]
        seconds: Option<f64>,
        /// Run exactly this many cases (deterministic for a seed, whatever --jobs is).
        #[arg(long)]
        cases: Option<u64>,
        /// Campaign seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Worker threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Approximate instructions per generated function.
        #[arg(long)]
        max_insts: Option<usize>,
        /// One IR case in N has a big function whose branches span more than 32 KiB of
        /// machine code (1 in 50 of those more than 1 MiB); 0: none. They cost about 50
        /// ordinary cases each (default: 400).
        #[arg(long, value_name = "N")]
        big_one_in: Option<usize>,
        /// Where disagreements are saved: IR cases in DIR/fuzzgen, Wasm cases in DIR/wasm.
        #[arg(long, default_value = "corpora")]
        corpus: PathBuf,
        /// Do not reduce findings (by default each is reduced and saved twice: as found and
        /// reduced).
        #[arg(long)]
        no_reduce: bool,
        /// Time budget per finding's reduction.
        #[arg(long, default_value_t = 60.0)]
        reduce_seconds: f64,
        /// Reduce at most this many findings (later ones are saved unreduced; reduce them
        /// with `kiln reduce`).
        #[arg(long, default_value_t = 3)]
        max_reductions: u64,
        /// Compile through an on-disk compilation cache (exercises the cached path).
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Reduce a saved finding (`.kir` or `.wasm` with its `.json` sidecar) while the same
    /// engine still disagrees in the same class; writes the reduced case beside it.
    Reduce {
        /// The case.
        case: PathBuf,
        /// Time budget.
        #[arg(long, default_value_t = 120.0)]
        seconds: f64,
        /// Where to write the reduced case (default: beside the case, `-reduced` for
        /// `.kir`, by hash for `.wasm`).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Re-run saved cases on every engine and report (directories are searched).
    Replay {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Write the benchmark reports (`compile.md`, `cache.md`, SVG charts) from criterion's
    /// data and the records the suites keep beside it.
    Report {
        /// Criterion's output directory.
        #[arg(long, value_name = "DIR", default_value = "target/criterion")]
        criterion: PathBuf,
        /// Where to write the reports.
        #[arg(
            short = 'o',
            long = "out",
            value_name = "DIR",
            default_value = "reports"
        )]
        out: PathBuf,
    },
    /// List every setting of a target (values, default, documentation) and its CPU presets.
    Settings {
        /// Target triple (e.g. x86_64-unknown-linux-gnu, aarch64).
        #[arg(long, default_value = "x86_64")]
        target: String,
    },
}

/// The on-disk compilation cache options.
#[derive(clap::Args)]
struct CacheArgs {
    /// Compile through the on-disk compilation cache in this directory (created if needed).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Verify mode: also compile every cache hit afresh; a difference is an error.
    #[arg(long, requires = "cache")]
    cache_verify: bool,
    /// Cap the cache's size (bytes, or with a K, M or G suffix; `unlimited` for no cap);
    /// least recently used entries are evicted. Default: 5G, as ccache.
    #[arg(long, value_name = "BYTES", value_parser = parse_cache_cap, requires = "cache")]
    cache_max_size: Option<CacheCap>,
}

/// The size cap of a cache directory opened without `--cache-max-size`, like ccache's: a
/// `kiln diff --cache` campaign stores about 3 GB in ten minutes, and an unbounded cache
/// would fill the disk.
const DEFAULT_CACHE_MAX_SIZE: u64 = 5 << 30;

/// What `--cache-max-size` says.
#[derive(Copy, Clone, Debug)]
enum CacheCap {
    Bytes(u64),
    Unlimited,
}

fn parse_cache_cap(text: &str) -> Result<CacheCap, String> {
    if text.trim() == "unlimited" {
        return Ok(CacheCap::Unlimited);
    }
    parse_bytes(text)
        .map(CacheCap::Bytes)
        .map_err(|e| format!("{e}, or `unlimited`"))
}

impl CacheArgs {
    /// The store, when `--cache` was given.
    fn open(&self) -> Result<Option<DiskStore>> {
        let Some(dir) = &self.cache else {
            return Ok(None);
        };
        let max_bytes = match self.cache_max_size {
            None => Some(DEFAULT_CACHE_MAX_SIZE),
            Some(CacheCap::Bytes(n)) => Some(n),
            Some(CacheCap::Unlimited) => None,
        };
        let store = DiskStore::open(dir)
            .context("cannot open the cache")?
            .with_verify(self.cache_verify)
            .with_max_bytes(max_bytes);
        Ok(Some(store))
    }
}

/// `store`'s summary line: its directory, its size cap and what it counted.
fn cache_summary(store: &DiskStore) -> String {
    let cap = match store.max_bytes() {
        Some(n) => format!("size cap {}", show_bytes(n)),
        None => "no size cap".to_string(),
    };
    format!(
        "cache {} ({cap}): {}",
        store.dir().display(),
        store.stats().snapshot()
    )
}

/// A byte count as `parse_bytes` reads it: with the largest suffix that divides it.
fn show_bytes(n: u64) -> String {
    match n {
        0 => "0".to_string(),
        n if n % (1 << 30) == 0 => format!("{}G", n >> 30),
        n if n % (1 << 20) == 0 => format!("{}M", n >> 20),
        n if n % (1 << 10) == 0 => format!("{}K", n >> 10),
        n => n.to_string(),
    }
}

#[derive(Subcommand)]
enum CacheAction {
    /// Count the entries of a cache directory and check each one; show the hits, misses
    /// and rejected entries every process counted since the cache was created or cleared.
    Stats {
        /// The cache directory.
        dir: PathBuf,
    },
    /// Delete every entry of a cache directory and reset its counters.
    Clear {
        /// The cache directory.
        dir: PathBuf,
    },
}

/// Compiler settings given on the command line.
#[derive(clap::Args)]
struct SettingArgs {
    /// CPU preset: x86_64, x86_64-v2, x86_64-v3, native; aarch64: generic, native.
    #[arg(long)]
    cpu: Option<String>,
    /// A setting, `name=value` (repeatable; see `kiln settings`).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Set a bool setting to true (repeatable).
    #[arg(long = "enable", value_name = "NAME")]
    enable: Vec<String>,
}

impl SettingArgs {
    /// As engine settings: the preset, then every `--set`, then every `--enable`.
    fn engine_settings(&self, regalloc: Option<&str>) -> Result<EngineSettings> {
        let mut settings = Vec::new();
        if let Some(r) = regalloc {
            settings.push(("regalloc".to_string(), r.to_string()));
        }
        for a in &self.set {
            settings.push(EngineSettings::parse_assignment(a).map_err(anyhow::Error::msg)?);
        }
        for n in &self.enable {
            settings.push((n.clone(), "true".to_string()));
        }
        Ok(EngineSettings {
            cpu: self.cpu.clone(),
            settings,
            link_padding: 0,
        })
    }
}

/// A byte count: digits with an optional `K`, `M` or `G` suffix (powers of 1024).
fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 10),
        Some((i, 'M' | 'm')) => (&t[..i], 20),
        Some((i, 'G' | 'g')) => (&t[..i], 30),
        _ => (t, 0),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("bad byte count `{text}` (expected e.g. 4096, 200M, 2G)"))
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Compile {
            file,
            output,
            jobs,
            target,
            regalloc,
            settings,
            disasm,
            timings,
            cache,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let settings = settings.engine_settings(regalloc.as_deref())?;
            let store = cache.open()?;
            if bytes.starts_with(b"\0asm") {
                let opts = compile_wasm::WasmCompileArgs {
                    path: &file,
                    wasm: &bytes,
                    target: &target,
                    settings: &settings,
                    disasm: disasm.as_deref(),
                    output: output.as_deref(),
                    jobs: jobs.map(|j| j as usize),
                    cache: store.map(Arc::new),
                    timings,
                };
                return compile_wasm::compile_wasm(&opts);
            }
            if output.is_some() || jobs.is_some() {
                bail!(
                    "{}: -o and --jobs apply to Wasm modules only (this file has no \\0asm header)",
                    file.display()
                );
            }
            let src = String::from_utf8(bytes).map_err(|_| {
                anyhow::anyhow!(
                    "{} is neither a Wasm module (no \\0asm header) nor UTF-8 .kir text",
                    file.display()
                )
            })?;
            compile(
                &file,
                &src,
                &target,
                &settings,
                disasm.is_some(),
                timings,
                store.as_ref(),
            )
        }
        Command::Cache { action } => match action {
            CacheAction::Stats { dir } => cache_stats(&dir),
            CacheAction::Clear { dir } => {
                let store = DiskStore::open_existing(&dir)?;
                let n = store.clear()?;
                println!("removed {n} file(s) from {}", dir.display());
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::Settings { target } => list_settings(&target),
        Command::Report { criterion, out } => {
            report_cmd::run(&criterion, &out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff {
            generator,
            seconds,
            cases,
            seed,
            jobs,
            max_insts,
            big_one_in,
            corpus,
            no_reduce,
            reduce_seconds,
            max_reductions,
            cache,
        } => {
            // Every compiled engine of the campaign compiles through the cache.
            let store = cache.open()?.map(Arc::new);
            kiln_harness::engine::set_engine_cache(store.clone().map(|s| s as Arc<dyn CacheStore>));
            let reduce = (!no_reduce).then_some(reduce_seconds);
            let result = diff_cmd::diff(diff_cmd::DiffArgs {
                generator,
                seconds,
                cases,
                seed,
                jobs,
                max_insts,
                big_one_in,
                corpus,
                reduce,
                max_reductions,
            });
            if let Some(s) = &store {
                eprintln!("{}", cache_summary(s));
                // The engines keep a handle to the store, so it is not dropped here: add
                // this run's counts to the directory's totals now.
                if let Err(e) = s.persist_stats() {
                    eprintln!("cache {}: {e}", s.dir().display());
                }
            }
            result
        }
        Command::Reduce {
            case,
            seconds,
            output,
        } => diff_cmd::reduce(&case, seconds, output),
        Command::Replay { paths } => {
            let files = kiln_harness::files::collect_files_of(&paths, &["kir", "wasm"])
                .map_err(anyhow::Error::msg)?;
            if files.is_empty() {
                bail!("no .kir or .wasm cases found in the given paths");
            }
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            kiln_harness::diff::install_quiet_panic_hook();
            let s = replay::replay_files(&files, &DiffOptions::default(), &mut out);
            writeln!(
                out,
                "{} file(s) replayed: {} still disagree, {} call(s) timed out",
                s.files, s.failed, s.timeouts
            )?;
            Ok(if s.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Wast {
            paths,
            engine,
            fuel,
            settings,
            verbose,
        } => {
            let engines = EngineKind::parse_list(&engine)
                .map_err(anyhow::Error::msg)
                .context("bad --engine")?;
            let settings = settings.engine_settings(None)?;
            settings
                .validate(&engines)
                .map_err(anyhow::Error::msg)
                .context("bad compiler settings")?;
            if fuel == 0 {
                bail!("--fuel must be at least 1");
            }
            let opts = kiln_harness::wast::WastOptions {
                engines,
                settings,
                fuel,
            };
            wast_cmd::run_wast(&paths, &opts, verbose)
        }
        Command::Run {
            paths,
            engine,
            fuel,
            settings,
            link_padding,
            verbose,
        } => {
            let engines = EngineKind::parse_list(&engine)
                .map_err(anyhow::Error::msg)
                .context("bad --engine")?;
            let mut settings = settings.engine_settings(None)?;
            settings.link_padding = link_padding.unwrap_or(0);
            settings
                .validate(&engines)
                .map_err(anyhow::Error::msg)
                .context("bad compiler settings")?;
            if fuel == 0 {
                bail!("--fuel must be at least 1");
            }
            let files = collect_kir_files(&paths).map_err(anyhow::Error::msg)?;
            if files.is_empty() {
                bail!("no .kir files found in the given paths");
            }
            let opts = RunOptions {
                engines,
                fuel,
                verbose,
                settings,
            };
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let summary = run_files(&files, &opts, &mut out);
            for p in &summary.files_without_runs {
                writeln!(out, "note: {} has no run directives", p.display())?;
            }
            let names: Vec<_> = opts.engines.iter().map(|e| e.name()).collect();
            writeln!(
                out,
                "{} file(s), engines: {}",
                summary.files,
                names.join(", ")
            )?;
            writeln!(out, "{}", summary.closing_line())?;
            Ok(if summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn compile(
    path: &Path,
    src: &str,
    target: &str,
    settings: &EngineSettings,
    disasm: bool,
    timings: bool,
    cache: Option<&DiskStore>,
) -> Result<ExitCode> {
    let builder = settings.cli_builder(target).map_err(anyhow::Error::msg)?;
    let compiler = builder.build().context("cannot build the compiler")?;
    let arch = compiler.arch();
    let t_start = std::time::Instant::now();
    let funcs =
        text::parse_functions(src).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
    let parse_time = t_start.elapsed();
    let _ = kiln::machinst::take_phase_times();
    let mut phases = kiln::machinst::PhaseTimes::default();
    let mut backend_time = std::time::Duration::ZERO;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let fp: String = compiler.settings().fingerprint()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let isa_flags: Vec<_> = compiler.settings().isa().enabled().collect();
    writeln!(
        out,
        "target {}, ISA flags [{}], settings fingerprint {fp}",
        compiler.triple(),
        isa_flags.join(" ")
    )?;
    let mut failed = 0;
    for f in &funcs {
        let name = &f.params.name;
        let t = std::time::Instant::now();
        let result = match cache {
            Some(store) => compiler
                .compile_function_cached(f, store)
                .map(|r| (r.code, if r.hit { ", cache hit" } else { ", cache miss" })),
            None => compiler.compile_function(f).map(|c| (c, "")),
        };
        backend_time += t.elapsed();
        phases += kiln::machinst::take_phase_times();
        let (code, how) = match result {
            Ok(c) => c,
            Err(e) => {
                writeln!(out, "function {name}: error: {e}")?;
                failed += 1;
                continue;
            }
        };
        writeln!(
            out,
            "function {name} ({arch}): {} bytes, frame {} bytes, {} relocation(s), {} trap site(s){how}",
            code.code.len(),
            code.frame_size,
            code.relocs.len(),
            code.traps.len()
        )?;
        if disasm {
            let lines =
                kiln_harness::disasm::disassemble_with_data(arch, &code.code, &code.data_ranges)?;
            write!(out, "{}", kiln_harness::disasm::format_listing(&lines))?;
        } else {
            for (i, chunk) in code.code.chunks(16).enumerate() {
                let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
                writeln!(out, "  {:6x}:  {}", i * 16, hex.join(" "))?;
            }
        }
        for r in &code.relocs {
            writeln!(
                out,
                "  reloc at {:#x}: {:?} -> {:?} {:+}",
                r.offset, r.kind, r.target, r.addend
            )?;
        }
        for t in &code.traps {
            writeln!(out, "  trap at {:#x}: {}", t.offset, t.code)?;
        }
    }
    if let Some(store) = cache {
        writeln!(out, "{}", cache_summary(store))?;
    }
    if timings {
        let wall = t_start.elapsed();
        let snapshot = cache.map(|s| s.stats().snapshot());
        timings::write_timings(
            &mut out,
            &[("parse", parse_time)],
            &phases,
            snapshot.as_ref(),
            backend_time,
            &[],
            wall,
        )?;
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `kiln cache stats DIR`.
fn cache_stats(dir: &Path) -> Result<ExitCode> {
    let store = DiskStore::open_existing(dir)?;
    let entries = store.entries()?;
    let usage = store.usage()?;
    let mut valid = 0u64;
    let mut problems: std::collections::BTreeMap<String, u64> = Default::default();
    let mut code_bytes = 0u64;
    for e in &entries {
        let reason = match std::fs::read(&e.path) {
            Err(err) => format!("unreadable: {err}"),
            Ok(bytes) => match kiln::cache::inspect_stored(&bytes) {
                Ok(info) if info.key == e.key => {
                    valid += 1;
                    code_bytes += info.code_len as u64;
                    continue;
                }
                Ok(_) => "stored under another key's name".to_string(),
                Err(kiln::cache::EntryError::CompilerVersion { .. }) => {
                    "written by another compiler build".to_string()
                }
                Err(err) => format!("invalid: {err}"),
            },
        };
        *problems.entry(reason).or_default() += 1;
    }
    let now = std::time::SystemTime::now();
    let age = |t: std::time::SystemTime| now.duration_since(t).unwrap_or_default().as_secs();
    println!("cache {}", dir.display());
    println!("  compiler version {}", kiln::cache::COMPILER_VERSION);
    println!(
        "  {} entries, {} bytes ({} bytes of machine code in valid entries)",
        usage.entries, usage.bytes, code_bytes
    );
    println!("  {valid} valid for this compiler");
    for (why, n) in &problems {
        println!("  {n} unusable: {why}");
    }
    if usage.temp_files > 0 {
        println!("  {} temporary file(s)", usage.temp_files);
    }
    if let (Some(old), Some(new)) = (
        entries.iter().map(|e| e.modified).min(),
        entries.iter().map(|e| e.modified).max(),
    ) {
        println!(
            "  least recently used {} s ago, most recently {} s ago",
            age(old),
            age(new)
        );
    }
    // What every process that used the directory counted (like `ccache -s`).
    match store.totals() {
        Ok(Some(t)) => {
            let since = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.since);
            println!(
                "  counted by every process since the cache was created or cleared ({} s ago):",
                age(since)
            );
            println!("    {t}");
        }
        Ok(None) => println!("  no lookups counted since the cache was created or cleared"),
        Err(e) => println!("  accumulated counters unusable: {e}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn list_settings(target: &str) -> Result<ExitCode> {
    let builder = CompilerBuilder::for_target(target).context("bad --target")?;
    let arch = builder.settings().arch();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "Settings for {} ({arch}):", builder.triple())?;
    for info in all_settings(arch) {
        let kind = match info.kind {
            SettingKind::Bool => "bool".to_string(),
            SettingKind::Enum(v) => v.join(" | "),
        };
        let scope = match info.scope {
            kiln::settings::SettingScope::Shared => "shared".to_string(),
            kiln::settings::SettingScope::Isa(a) => a.to_string(),
        };
        writeln!(
            out,
            "\n  {} ({scope}; {kind}; default {})",
            info.name, info.default
        )?;
        for line in wrap(info.docs, 84) {
            writeln!(out, "      {line}")?;
        }
    }
    writeln!(out, "\nCPU presets (--cpu):")?;
    for p in presets(arch) {
        let flags = match p.flags {
            PresetFlags::Fixed([]) => "no ISA flags".to_string(),
            PresetFlags::Fixed(names) => names.join(" "),
            PresetFlags::Native => "detected on the host".to_string(),
        };
        writeln!(out, "  {:<10} {} [{flags}]", p.name, p.docs)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Split `text` into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
