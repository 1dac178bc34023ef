//! `kiln`: the command-line front end of the Kiln harness.
//!
//! Subcommands:
//! - `kiln compile <file.kir> [--target T] [--regalloc A] [--disasm]`: compile every
//!   function and print its machine code (hex, or a disassembly through llvm-mc), with its
//!   relocations and trap sites.
//! - `kiln run <file-or-dir>... [--engine LIST] [--fuel N] [--verbose]`: run every `; run:`
//!   directive in `.kir` files on the chosen engines; ends with `N passed, M failed` (and
//!   `, K skipped` when an engine cannot compile a file yet) and exits non-zero when
//!   anything failed.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use kiln::ir::text;
use kiln::isa::{lookup, Arch};
use kiln::machinst::{CompileOptions, RegallocAlgorithm};
use kiln_harness::engine::EngineKind;
use kiln_harness::filetest::runner::{collect_kir_files, run_files, RunOptions, DEFAULT_FUEL};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    /// Compile the functions of a .kir file and print their machine code.
    Compile {
        /// The .kir file.
        file: PathBuf,
        /// Target architecture or triple: x86_64, aarch64 (e.g. x86_64-unknown-linux-gnu).
        #[arg(long, default_value = "x86_64")]
        target: String,
        /// Register allocator: backtracking or single_pass.
        #[arg(long, default_value = "backtracking")]
        regalloc: String,
        /// Print a disassembly (through llvm-mc) instead of hex bytes.
        #[arg(long)]
        disasm: bool,
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
        /// Print every check, not only failures.
        #[arg(long, short)]
        verbose: bool,
    },
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
            target,
            regalloc,
            disasm,
        } => compile(&file, &target, &regalloc, disasm),
        Command::Run {
            paths,
            engine,
            fuel,
            verbose,
        } => {
            let engines = EngineKind::parse_list(&engine)
                .map_err(anyhow::Error::msg)
                .context("bad --engine")?;
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

fn compile(path: &Path, target: &str, regalloc: &str, disasm: bool) -> Result<ExitCode> {
    let arch: Arch = target.parse().context("bad --target")?;
    let regalloc = match regalloc {
        "backtracking" => RegallocAlgorithm::Backtracking,
        "single_pass" => RegallocAlgorithm::SinglePass,
        other => bail!("bad --regalloc `{other}` (expected backtracking or single_pass)"),
    };
    let src =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let funcs =
        text::parse_functions(&src).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
    let isa = lookup(arch).map_err(|e| anyhow::anyhow!("{e}"))?;
    let options = CompileOptions {
        regalloc,
        verify: true,
        ..CompileOptions::default()
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = 0;
    for f in &funcs {
        let name = &f.params.name;
        let code = match isa.compile_function(f, &options) {
            Ok(c) => c,
            Err(e) => {
                writeln!(out, "function {name}: error: {e}")?;
                failed += 1;
                continue;
            }
        };
        writeln!(
            out,
            "function {name} ({arch}): {} bytes, frame {} bytes, {} relocation(s), {} trap site(s)",
            code.code.len(),
            code.frame_size,
            code.relocs.len(),
            code.traps.len()
        )?;
        if disasm {
            let lines = kiln_harness::disasm::disassemble(arch, &code.code)?;
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
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
