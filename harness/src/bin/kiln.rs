//! `kiln`: the command-line front end of the Kiln harness.
//!
//! Subcommands:
//! - `kiln run <file-or-dir>... [--engine LIST] [--fuel N] [--verbose]`: run every `; run:`
//!   directive in `.kir` files on the chosen engines; ends with `N passed, M failed` and
//!   exits non-zero when anything failed.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use kiln_harness::engine::EngineKind;
use kiln_harness::filetest::runner::{collect_kir_files, run_files, RunOptions, DEFAULT_FUEL};
use std::io::Write;
use std::path::PathBuf;
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
    /// Run the `; run:` directives of .kir files (directories are searched recursively).
    Run {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Engines, comma separated: `interp`, or `all`.
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
            writeln!(out, "{} passed, {} failed", summary.passed, summary.failed)?;
            Ok(if summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
