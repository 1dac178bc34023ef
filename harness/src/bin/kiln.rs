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

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use kiln::ir::text;
use kiln::settings::{all_settings, isa::PresetFlags, presets, SettingKind};
use kiln::CompilerBuilder;
use kiln_harness::engine::{EngineKind, EngineSettings};
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
        /// Target triple (e.g. x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu, or just
        /// x86_64, aarch64).
        #[arg(long, default_value = "x86_64")]
        target: String,
        /// Register allocator: backtracking or single_pass (same as --set regalloc=A).
        #[arg(long)]
        regalloc: Option<String>,
        #[command(flatten)]
        settings: SettingArgs,
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
    /// List every setting of a target (values, default, documentation) and its CPU presets.
    Settings {
        /// Target triple (e.g. x86_64-unknown-linux-gnu, aarch64).
        #[arg(long, default_value = "x86_64")]
        target: String,
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
            target,
            regalloc,
            settings,
            disasm,
        } => compile(
            &file,
            &target,
            &settings.engine_settings(regalloc.as_deref())?,
            disasm,
        ),
        Command::Settings { target } => list_settings(&target),
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

fn compile(path: &Path, target: &str, settings: &EngineSettings, disasm: bool) -> Result<ExitCode> {
    let mut builder = CompilerBuilder::for_target(target).context("bad --target")?;
    if let Some(cpu) = &settings.cpu {
        builder.preset(cpu).context("bad --cpu")?;
    }
    for (name, value) in &settings.settings {
        builder
            .set(name, value)
            .with_context(|| format!("bad setting {name}={value}"))?;
    }
    let compiler = builder.build().context("cannot build the compiler")?;
    let arch = compiler.arch();
    let src =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let funcs =
        text::parse_functions(&src).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
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
        let code = match compiler.compile_function(f) {
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
