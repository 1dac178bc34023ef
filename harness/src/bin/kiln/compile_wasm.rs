//! `kiln compile <module.wasm>`: compile a module in parallel, print a summary, optionally
//! a disassembly and an ELF object.

use anyhow::{Context, Result};
use kiln::cache::{CacheStore, DiskStore};
use kiln::module::{compile_module, elf::write_elf, CompiledModule, ModuleOptions};
use kiln_harness::diff::campaign::stderr_is_terminal;
use kiln_harness::engine::EngineSettings;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the command line asked for.
pub struct WasmCompileArgs<'a> {
    pub path: &'a Path,
    pub wasm: &'a [u8],
    pub target: &'a str,
    pub settings: &'a EngineSettings,
    /// `Some("")`: every function; `Some(name)`: one function.
    pub disasm: Option<&'a str>,
    pub output: Option<&'a Path>,
    pub jobs: Option<usize>,
    pub cache: Option<Arc<DiskStore>>,
    /// Print where the time went (`--timings`).
    pub timings: bool,
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

pub fn compile_wasm(a: &WasmCompileArgs<'_>) -> Result<ExitCode> {
    let mut builder = a
        .settings
        .cli_builder(a.target)
        .map_err(anyhow::Error::msg)?;
    if let Some(store) = &a.cache {
        builder.cache_store(Some(store.clone() as Arc<dyn CacheStore>));
    }
    let compiler = builder.build().context("cannot build the compiler")?;
    let done = AtomicUsize::new(0);
    let finished = AtomicBool::new(false);
    let module = std::thread::scope(|s| {
        if stderr_is_terminal() {
            s.spawn(|| {
                // Only modules that take more than a moment get a progress line.
                std::thread::sleep(Duration::from_millis(300));
                let mut shown = false;
                while !finished.load(Ordering::Relaxed) {
                    eprint!(
                        "\rcompiling {}: {} functions",
                        a.path.display(),
                        done.load(Ordering::Relaxed)
                    );
                    shown = true;
                    std::thread::sleep(Duration::from_millis(100));
                }
                if shown {
                    eprint!("\r\x1b[K");
                }
            });
        }
        let opts = ModuleOptions {
            jobs: a.jobs,
            progress: Some(&done),
        };
        let r = compile_module(&*compiler, a.wasm, &opts);
        finished.store(true, Ordering::Relaxed);
        r
    })
    .with_context(|| format!("{}", a.path.display()))?;

    let out = std::io::stdout();
    let mut out = out.lock();
    print_summary(&mut out, a, &module, compiler.triple().to_string())?;
    if let Some(which) = a.disasm {
        disassemble(&mut out, &module, which)?;
    }
    if let Some(path) = a.output {
        let bytes = write_elf(&module).with_context(|| format!("{}", a.path.display()))?;
        std::fs::write(path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(
            out,
            "wrote {} ({} bytes, ELF64 relocatable)",
            path.display(),
            bytes.len()
        )?;
    }
    if let Some(store) = &a.cache {
        writeln!(out, "{}", super::cache_summary(store))?;
    }
    if a.timings {
        let s = &module.stats;
        let snapshot = a.cache.as_ref().map(|c| c.stats().snapshot());
        super::timings::write_timings(
            &mut out,
            &[("parse", s.parse_time), ("translate", s.translate_time)],
            &s.phases,
            snapshot.as_ref(),
            s.codegen_time,
            &[("link", s.link_time)],
            s.total_time,
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(
    out: &mut impl Write,
    a: &WasmCompileArgs<'_>,
    m: &CompiledModule,
    triple: String,
) -> Result<()> {
    let s = &m.stats;
    let secs = s.total_time.as_secs_f64().max(1e-9);
    writeln!(out, "module {} ({triple})", a.path.display())?;
    writeln!(
        out,
        "  functions      {} defined, {} imported",
        s.functions, m.info.num_imported_funcs
    )?;
    writeln!(out, "  wasm bytes     {}", s.wasm_bytes)?;
    writeln!(out, "  code bytes     {}", s.code_bytes)?;
    writeln!(
        out,
        "  relocations    {} left for the loader; {} calls inside the module resolved as relative calls",
        s.relocs_left, s.relative_calls
    )?;
    writeln!(out, "  veneers        {}", s.veneers)?;
    if a.cache.is_some() {
        writeln!(
            out,
            "  cache          {} hits ({} from translation memos: not translated again), {} misses",
            s.cache_hits, s.memo_hits, s.cache_misses
        )?;
    }
    writeln!(
        out,
        "  time           {} wall (parse {}, link {}; translate {} and codegen {} summed over threads)",
        ms(s.total_time),
        ms(s.parse_time),
        ms(s.link_time),
        ms(s.translate_time),
        ms(s.codegen_time)
    )?;
    writeln!(
        out,
        "  throughput     {:.2} wasm MB/s, {:.0} functions/s",
        s.wasm_bytes as f64 / 1e6 / secs,
        s.functions as f64 / secs
    )?;
    Ok(())
}

fn disassemble(out: &mut impl Write, m: &CompiledModule, which: &str) -> Result<()> {
    let exported = |f: u32| {
        m.info
            .exports
            .iter()
            .any(|e| e.name == which && e.index == kiln::wasm::info::EntityIndex::Func(f))
    };
    let wanted: Vec<_> = m
        .functions
        .iter()
        .filter(|f| {
            which.is_empty()
                || f.name == which
                || exported(f.index)
                || which.parse::<u32>() == Ok(f.index)
                || which == format!("wasm_function_{}", f.index)
        })
        .collect();
    if wanted.is_empty() {
        anyhow::bail!("--disasm {which}: no defined function has that name, export name or index");
    }
    for f in wanted {
        let bytes = m
            .text
            .bytes_at(f.offset, f.len as usize)
            .context("function bytes outside the text section")?;
        writeln!(
            out,
            "function {} (index {}, {} bytes at text offset {:#x}):",
            f.name, f.index, f.len, f.offset
        )?;
        let lines = kiln_harness::disasm::disassemble_with_data(m.arch, bytes, &f.data_ranges)?;
        write!(out, "{}", kiln_harness::disasm::format_listing(&lines))?;
    }
    Ok(())
}
