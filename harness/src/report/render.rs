//! The reports `kiln report` writes: `compile.md` (from the `compile_wasm` records) and
//! `cache.md` (from the `cache_wasm` and `cache` records), each with SVG charts beside it
//! and an appendix of criterion's own estimates for the suite's benchmarks.
//!
//! Invariants: a report is written when any of its data exists, a chart only when it has
//! something to draw, and a missing suite is said to be "not run" rather than left out;
//! every number goes through one formatter ([`num`] and the helpers built on it), and a
//! ratio with nothing to divide by prints as `–`, so bad records never panic; the output
//! is a function of the input files alone, apart from the line giving the report's date.

use super::criterion::{read_benchmarks, CriterionBench, Throughput};
use super::data::{
    read_suite, CacheSuite, ChangedRecord, CompileRecord, CompileSuite, FunctionSizeRecord,
    KeyCostSuite, PhaseSeconds, RunInfo, Skipped,
};
use anyhow::{anyhow, bail, Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

/// Compilers in the order tables list them; any other follows in order of appearance.
const COMPILERS: [&str; 5] = [
    "kiln/backtracking",
    "kiln/single_pass",
    "cranelift/speed",
    "cranelift/none",
    "winch",
];
/// Speed-ratio columns: Kiln's configuration, its peer, the column's title.
const PAIRS: [(&str, &str, &str); 2] = [
    (
        "kiln/backtracking",
        "cranelift/speed",
        "Kiln backtracking / Cranelift speed",
    ),
    ("kiln/single_pass", "winch", "Kiln single_pass / Winch"),
];
/// Targets in the order the report lists them.
const TARGETS: [&str; 2] = ["x86_64", "aarch64"];

/// Writes `compile.md`, `cache.md` and their charts into `out_dir` from the data under
/// `criterion_dir`; returns the files written.
pub fn write_reports(criterion_dir: &Path, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    write_reports_at(criterion_dir, out_dir, now)
}

/// [`write_reports`] dated `now` (seconds since the Unix epoch).
fn write_reports_at(dir: &Path, out_dir: &Path, now: u64) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        bail!("criterion directory {} does not exist", dir.display());
    }
    let compile: Option<CompileSuite> = read_suite(dir, "compile_wasm")?;
    let cache: Option<CacheSuite> = read_suite(dir, "cache_wasm")?;
    let keys: Option<KeyCostSuite> = read_suite(dir, "cache")?;
    let benches = read_benchmarks(dir)?;
    let of = |prefix: &str| -> Vec<&CriterionBench> {
        benches
            .iter()
            .filter(|b| b.full_id.starts_with(prefix))
            .collect()
    };
    let (compile_benches, cache_benches) = (of("compile_wasm"), of("cache"));
    let want_compile = compile.is_some() || !compile_benches.is_empty();
    let want_cache = cache.is_some() || keys.is_some() || !cache_benches.is_empty();
    if !want_compile && !want_cache {
        bail!(
            "no benchmark data in {}: run `cargo bench -p kiln-benches` first",
            dir.display()
        );
    }
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mut written = Vec::new();
    if want_compile {
        let mut r = Report::new(out_dir, "Kiln compile throughput", now);
        compile_report(&mut r, compile.as_ref())?;
        r.criterion_appendix(&compile_benches);
        written.extend(r.finish("compile.md")?);
    }
    if want_cache {
        let mut r = Report::new(out_dir, "Kiln compilation cache", now);
        cache_report(&mut r, cache.as_ref(), keys.as_ref())?;
        r.criterion_appendix(&cache_benches);
        written.extend(r.finish("cache.md")?);
    }
    Ok(written)
}

// ---- numbers ----

/// `x` with `decimals` decimals and `unit`, or `–` when `x` is not a number (a ratio with
/// nothing to divide by).
fn num(x: f64, decimals: usize, unit: &str) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}{unit}")
    } else {
        "–".into()
    }
}

fn count(x: f64) -> String {
    num(x, 0, "")
}

fn kb(x: f64) -> String {
    num(x, 1, "")
}

fn ratio(x: f64) -> String {
    num(x, 2, "×")
}

fn ms(seconds: f64) -> String {
    num(seconds * 1e3, 2, "")
}

/// `part` as a percentage of `whole`, without the sign (column titles carry it).
fn pct(part: f64, whole: f64) -> String {
    num(100.0 * part / whole, 1, "")
}

/// A criterion time (nanoseconds) in the unit that keeps it between 1 and 1000.
fn time_ns(ns: f64) -> String {
    let (scale, unit) = match ns.abs() {
        x if x < 1e3 => (1.0, " ns"),
        x if x < 1e6 => (1e3, " µs"),
        x if x < 1e9 => (1e6, " ms"),
        _ => (1e9, " s"),
    };
    num(ns / scale, 2, unit)
}

/// `unix` seconds as `YYYY-MM-DD HH:MM` (UTC; the proleptic Gregorian calendar).
fn utc(unix: u64) -> String {
    let (days, secs) = ((unix / 86_400) as i64, unix % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// The distinct items of `seen`, those in `known` first in its order, the others after
/// them in order of appearance.
fn ordered<'a>(known: &[&str], seen: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for s in seen {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.sort_by_key(|s| known.iter().position(|k| k == s).unwrap_or(known.len()));
    out
}

/// The phases of a [`PhaseSeconds`], in pipeline order.
fn phases(p: &PhaseSeconds) -> [(&'static str, f64); 8] {
    [
        ("parse", p.parse),
        ("translate", p.translate),
        ("verify", p.verify),
        ("lower", p.lower),
        ("regalloc", p.regalloc),
        ("emit", p.emit),
        ("cache", p.cache),
        ("link", p.link),
    ]
}

// ---- documents ----

/// One markdown file being written, and the charts written beside it.
struct Report {
    dir: PathBuf,
    md: String,
    charts: Vec<PathBuf>,
}

/// A module's (numerator, denominator) in a [`Col`]; `None` when not measured.
type Cell<'a> = Box<dyn Fn(&str) -> Option<(f64, f64)> + 'a>;

/// A numeric column of a per-module table.
struct Col<'a> {
    head: String,
    /// The module's (numerator, denominator): the cell shows their quotient; `None` when
    /// not measured.
    cell: Cell<'a>,
    /// The totals row sums the cells (counts, sizes) instead of dividing the sums (rates).
    sum: bool,
    show: fn(f64) -> String,
}

impl Report {
    fn new(dir: &Path, title: &str, now: u64) -> Report {
        let mut r = Report {
            dir: dir.to_path_buf(),
            md: String::new(),
            charts: Vec::new(),
        };
        r.line(format!("# {title}\n\nReport written {} UTC.\n", utc(now)));
        r
    }

    fn line(&mut self, text: impl AsRef<str>) {
        self.md.push_str(text.as_ref());
        self.md.push('\n');
    }

    /// A paragraph stating when, where and how a suite's run measured.
    fn run(&mut self, suite: &str, run: &RunInfo, note: &str) {
        self.line(format!(
            "`{suite}` ran {} UTC at commit `{}` on {} ({} cores); times are the best of {} \
             rounds{note}.\n",
            utc(run.unix_time),
            run.commit,
            run.cpu_model,
            run.cores,
            run.rounds
        ));
    }

    /// A table; the first `left` columns are text (left-aligned), the others numbers.
    fn table<S: AsRef<str>>(&mut self, head: &[S], left: usize, rows: &[Vec<String>]) {
        let row = |cells: Vec<&str>| format!("| {} |", cells.join(" | ").replace('\n', " "));
        self.line(row(head.iter().map(|h| h.as_ref()).collect()));
        let align: Vec<&str> = (0..head.len())
            .map(|i| if i < left { ":---" } else { "---:" })
            .collect();
        self.line(format!("|{}|", align.join("|")));
        for r in rows {
            let escaped: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
            self.line(row(escaped.iter().map(String::as_str).collect()));
        }
        self.line("");
    }

    /// A table with a row per module and a totals row.
    fn module_table(&mut self, modules: &[&str], cols: &[Col]) {
        let head: Vec<&str> = ["module"]
            .into_iter()
            .chain(cols.iter().map(|c| c.head.as_str()))
            .collect();
        let mut rows: Vec<Vec<String>> = modules
            .iter()
            .map(|&m| {
                let cells = cols.iter().map(|c| match (c.cell)(m) {
                    Some((n, d)) => (c.show)(n / d),
                    None => "–".into(),
                });
                [m.to_string()].into_iter().chain(cells).collect()
            })
            .collect();
        let totals = cols.iter().map(|c| {
            let cells: Vec<(f64, f64)> = modules.iter().filter_map(|&m| (c.cell)(m)).collect();
            let total = if c.sum {
                cells.iter().map(|(n, d)| n / d).sum()
            } else {
                cells.iter().map(|c| c.0).sum::<f64>() / cells.iter().map(|c| c.1).sum::<f64>()
            };
            if cells.is_empty() {
                "–".into()
            } else {
                (c.show)(total)
            }
        });
        rows.push(
            ["**total**".to_string()]
                .into_iter()
                .chain(totals)
                .collect(),
        );
        self.table(&head, 1, &rows);
    }

    fn skipped(&mut self, skipped: &[Skipped]) {
        if skipped.is_empty() {
            self.line("Nothing was skipped.");
        }
        for s in skipped {
            self.line(format!("- {}: {}", s.what, s.reason));
        }
        self.line("");
    }

    /// Draws `bars` into `file` beside the report and embeds it, when it has data.
    fn chart(&mut self, file: &str, bars: &Bars) -> Result<()> {
        if bars.values().next().is_none() {
            return Ok(());
        }
        let path = self.dir.join(file);
        draw_bars(&path, bars).with_context(|| format!("cannot draw {}", path.display()))?;
        self.line(format!("![{}]({file})\n", bars.title));
        self.charts.push(path);
        Ok(())
    }

    fn criterion_appendix(&mut self, benches: &[&CriterionBench]) {
        self.line("## Appendix: criterion estimates\n");
        if benches.is_empty() {
            self.line("No criterion benchmarks of this suite found.\n");
            return;
        }
        let rows: Vec<Vec<String>> = benches
            .iter()
            .map(|b| {
                let throughput = match b.throughput {
                    Some(Throughput::Bytes(n)) => num(n as f64 * 1e3 / b.mean_ns, 1, " MB/s"),
                    Some(Throughput::Elements(n)) => {
                        num(n as f64 * 1e9 / b.mean_ns, 0, " elements/s")
                    }
                    None => "–".into(),
                };
                vec![
                    b.full_id.clone(),
                    time_ns(b.mean_ns),
                    format!("{} – {}", time_ns(b.ci_low_ns), time_ns(b.ci_high_ns)),
                    throughput,
                ]
            })
            .collect();
        self.table(&["benchmark", "mean", "95 % CI", "throughput"], 1, &rows);
        self.line("MB are 10^6 bytes; throughput is at the mean time.\n");
    }

    /// Writes the markdown; returns it and the charts.
    fn finish(self, name: &str) -> Result<Vec<PathBuf>> {
        let path = self.dir.join(name);
        std::fs::write(&path, &self.md)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok([path].into_iter().chain(self.charts).collect())
    }
}

// ---- compile.md ----

fn compile_report(r: &mut Report, suite: Option<&CompileSuite>) -> Result<()> {
    let Some(suite) = suite else {
        r.line("The `compile_wasm` suite: not run.\n");
        return Ok(());
    };
    r.run(
        "compile_wasm",
        &suite.run,
        &format!(
            "; 2-thread times on a shared {}-core machine are noisy",
            suite.run.cores
        ),
    );
    let peers = if suite.peers.is_empty() {
        "none".into()
    } else {
        suite.peers.join(", ")
    };
    r.line(format!("Peer compilers: {peers}.\n"));
    r.line(
        "One compile is the module's bytes to linked machine code: validation, translation, \
         code generation and linking. Kiln ends with its linked text section; Wasmtime with \
         the serialized artifact of `Engine::precompile_module`. Nothing is loaded or run. \
         Wasmtime keeps its defaults otherwise (guard pages bound its memory accesses; \
         Kiln's code checks bounds explicitly). Kiln also runs its IR verifier on every \
         function (setting `enable_verifier`, on by default; the `verify` column of the \
         phase split), which Wasmtime leaves off for Cranelift by default.\n",
    );
    for target in ordered(&TARGETS, suite.records.iter().map(|c| c.target.as_str())) {
        let recs: Vec<&CompileRecord> = suite
            .records
            .iter()
            .filter(|c| c.target == target)
            .collect();
        compile_target(r, target, &recs)?;
    }
    function_sizes(r, &suite.function_sizes);
    r.line("## Skipped\n");
    r.skipped(&suite.skipped);
    Ok(())
}

/// The code-quality proxy: bytes of code per exported function, per compiler.
fn function_sizes(r: &mut Report, recs: &[FunctionSizeRecord]) {
    if recs.is_empty() {
        return;
    }
    r.line("## Code size per function (code-quality proxy)\n");
    r.line(
        "Bytes of machine code for each exported function of the module, per compiler. \
         Executing the peers' code under emulation would need Wasmtime's runtime layout, so \
         size stands in for speed. `+bounds-checks` is the peer with memory reserved \
         without guard pages, so that its code checks bounds explicitly as Kiln's does \
         (the like-for-like comparison); Wasmtime lists the functions only of modules it \
         can load, so its columns are for the host's target.\n",
    );
    for target in ordered(&TARGETS, recs.iter().map(|c| c.target.as_str())) {
        let here: Vec<&FunctionSizeRecord> = recs.iter().filter(|c| c.target == target).collect();
        let compilers = ordered(&COMPILERS, here.iter().map(|c| c.compiler.as_str()));
        let functions = ordered(&[], here.iter().map(|c| c.function.as_str()));
        for module in ordered(&[], here.iter().map(|c| c.module.as_str())) {
            r.line(format!("### `{module}`, {target}\n"));
            let head: Vec<&str> = ["function"]
                .into_iter()
                .chain(compilers.iter().copied())
                .collect();
            let mut rows: Vec<Vec<String>> = Vec::new();
            let mut totals = vec![0.0; compilers.len()];
            for f in &functions {
                let mut row = vec![format!("`{f}`")];
                for (i, c) in compilers.iter().enumerate() {
                    let bytes = here
                        .iter()
                        .find(|x| x.module == module && x.function == *f && x.compiler == *c)
                        .map(|x| x.bytes as f64);
                    totals[i] += bytes.unwrap_or(0.0);
                    row.push(bytes.map_or("–".into(), count));
                }
                rows.push(row);
            }
            rows.push(
                ["**total**".to_string()]
                    .into_iter()
                    .chain(totals.into_iter().map(count))
                    .collect(),
            );
            r.table(&head, 1, &rows);
        }
    }
}

fn compile_target(r: &mut Report, target: &str, recs: &[&CompileRecord]) -> Result<()> {
    let modules = ordered(&[], recs.iter().map(|c| c.module.as_str()));
    let compilers = ordered(&COMPILERS, recs.iter().map(|c| c.compiler.as_str()));
    let find = &|m: &str, compiler: &str, threads: usize| {
        recs.iter()
            .find(|c| c.module == m && c.compiler == compiler && c.threads == threads)
            .copied()
    };
    let any = &|m: &str| recs.iter().find(|c| c.module == m).copied();
    let seconds = move |m: &str, c: &str, t| find(m, c, t).map(|x| x.seconds);
    let code = move |m: &str, c: &str| find(m, c, 1).map(|x| x.code_bytes as f64);

    r.line(format!(
        "## {target}\n\n### Throughput (functions/s, 1 thread)\n"
    ));
    r.line("Ratios are peer seconds / Kiln seconds: above 1 means Kiln is faster.\n");
    let mut cols = vec![
        Col {
            head: "functions".into(),
            cell: Box::new(move |m| any(m).map(|x| (x.functions as f64, 1.0))),
            sum: true,
            show: count,
        },
        Col {
            head: "wasm KB".into(),
            cell: Box::new(move |m| any(m).map(|x| (x.wasm_bytes as f64 / 1024.0, 1.0))),
            sum: true,
            show: kb,
        },
    ];
    cols.extend(compilers.iter().map(|&c| Col {
        head: c.to_string(),
        cell: Box::new(move |m| find(m, c, 1).map(|x| (x.functions as f64, x.seconds))),
        sum: false,
        show: count,
    }));
    for (kiln, peer, head) in PAIRS {
        if compilers.contains(&kiln) && compilers.contains(&peer) {
            cols.push(Col {
                head: head.into(),
                cell: Box::new(move |m| Some((seconds(m, peer, 1)?, seconds(m, kiln, 1)?))),
                sum: false,
                show: ratio,
            });
        }
    }
    r.module_table(&modules, &cols);
    let series = compilers
        .iter()
        .map(|&c| {
            let rates = modules
                .iter()
                .map(|m| find(m, c, 1).map(|x| x.functions as f64 / x.seconds));
            (c.to_string(), rates.collect())
        })
        .collect();
    let bars = Bars {
        title: format!("Compile throughput, {target}, 1 thread"),
        axis: "functions/s".into(),
        categories: modules.iter().map(|m| m.to_string()).collect(),
        series,
        scale: Scale::Rate,
    };
    r.chart(
        &format!("compile-throughput-{}.svg", file_safe(target)),
        &bars,
    )?;

    if recs.iter().any(|c| c.threads == 2) {
        r.line("### Scaling from 1 to 2 threads (1-thread seconds / 2-thread seconds)\n");
        let two = |c: &str| recs.iter().any(|x| x.compiler == c && x.threads == 2);
        let cols: Vec<Col> = compilers
            .iter()
            .filter(|&&c| two(c))
            .map(|&c| Col {
                head: c.to_string(),
                cell: Box::new(move |m| Some((seconds(m, c, 1)?, seconds(m, c, 2)?))),
                sum: false,
                show: ratio,
            })
            .collect();
        r.module_table(&modules, &cols);
    }

    r.line("### Code size (KB of machine code)\n");
    r.line(
        "Kiln: its linked text section. Wasmtime: the `.text` section of its artifact, which \
         also holds its trampolines and ends padded to a page, so small modules compare \
         poorly; the per-function table below is exact.\n",
    );
    let mut cols: Vec<Col> = compilers
        .iter()
        .map(|&c| Col {
            head: c.to_string(),
            cell: Box::new(move |m| Some((code(m, c)? / 1024.0, 1.0))),
            sum: true,
            show: kb,
        })
        .collect();
    let base = "cranelift/speed";
    if compilers.contains(&base) {
        cols.extend(compilers.iter().filter(|&&c| c != base).map(|&c| Col {
            head: format!("{c} / {base}"),
            cell: Box::new(move |m| Some((code(m, c)?, code(m, base)?))),
            sum: false,
            show: ratio,
        }));
    }
    r.module_table(&modules, &cols);

    let split: Vec<Vec<String>> = modules
        .iter()
        .flat_map(|&m| PAIRS.iter().map(move |&(kiln, _, _)| (m, kiln)))
        .filter_map(|(m, c)| {
            let p = phases(find(m, c, 1)?.phases.as_ref()?);
            let p: Vec<f64> = p
                .iter()
                .filter(|(n, _)| *n != "cache")
                .map(|x| x.1)
                .collect();
            let total: f64 = p.iter().sum();
            let shares = p.iter().map(|&x| pct(x, total));
            Some(
                [m.to_string(), c.to_string(), ms(total)]
                    .into_iter()
                    .chain(shares)
                    .collect(),
            )
        })
        .collect();
    if !split.is_empty() {
        r.line("### Kiln phase split (1 thread; % of the phases' sum)\n");
        let head = [
            "module",
            "compiler",
            "phases ms",
            "parse %",
            "translate %",
            "verify %",
            "lower %",
            "regalloc %",
            "emit %",
            "link %",
        ];
        r.table(&head, 2, &split);
    }
    Ok(())
}

/// `s` with anything but ASCII letters, digits, `-` and `_` replaced, for a file name.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

// ---- cache.md ----

fn cache_report(
    r: &mut Report,
    cache: Option<&CacheSuite>,
    keys: Option<&KeyCostSuite>,
) -> Result<()> {
    match cache {
        Some(c) => {
            r.run("cache_wasm", &c.run, "");
            r.line(format!("Configuration: {}.\n", c.config));
        }
        None => r.line("The `cache_wasm` suite (scenarios 1 to 3): not run.\n"),
    }
    if let Some(k) = keys {
        r.run("cache", &k.run, "");
    }

    r.line("## Scenario 1: duplicate functions within a module\n");
    let rows: Option<Vec<Vec<String>>> = cache.map(|c| {
        c.duplicates
            .iter()
            .map(|d| {
                vec![
                    d.module.clone(),
                    d.functions.to_string(),
                    pct(d.hits as f64, d.functions as f64),
                    ms(d.no_store_seconds),
                    ms(d.store_seconds),
                    ratio(d.no_store_seconds / d.store_seconds),
                    pct(d.key_seconds, d.store_seconds),
                ]
            })
            .collect()
    });
    let head = [
        "module",
        "functions",
        "hit %",
        "no store ms",
        "store ms",
        "speed-up",
        "key % of store compile",
    ];
    section(r, &head, 1, rows);

    r.line("## Scenario 2: modules of a group sharing one store\n");
    let rows = cache.map(|c| {
        c.sharing
            .iter()
            .map(|s| {
                vec![
                    s.group.clone(),
                    s.module.clone(),
                    s.position.to_string(),
                    s.functions.to_string(),
                    pct(s.hits as f64, s.functions as f64),
                ]
            })
            .collect()
    });
    section(
        r,
        &["group", "module", "position", "functions", "hit %"],
        2,
        rows,
    );
    if let Some(c) = cache {
        let mut categories: Vec<String> = Vec::new();
        for m in c
            .duplicates
            .iter()
            .map(|d| &d.module)
            .chain(c.sharing.iter().map(|s| &s.module))
        {
            if !categories.contains(m) {
                categories.push(m.clone());
            }
        }
        // A module in several groups shows its first one.
        let hit = |pairs: Vec<(&String, u64, u64)>| -> Vec<Option<f64>> {
            let rate = |m: &String| {
                pairs
                    .iter()
                    .find(|p| p.0 == m)
                    .map(|p| 100.0 * p.1 as f64 / p.2 as f64)
            };
            categories.iter().map(rate).collect()
        };
        let dup = hit(c
            .duplicates
            .iter()
            .map(|d| (&d.module, d.hits, d.functions))
            .collect());
        let shared = hit(c
            .sharing
            .iter()
            .map(|s| (&s.module, s.hits, s.functions))
            .collect());
        let bars = Bars {
            title: "Cache hit rates".into(),
            axis: "hit %".into(),
            categories,
            series: vec![
                ("scenario 1: duplicates within the module".into(), dup),
                (
                    "scenario 2: shared with the group's earlier modules".into(),
                    shared,
                ),
            ],
            scale: Scale::Percent { full: 100.0 },
        };
        r.chart("cache-hit-rates.svg", &bars)?;
    }

    r.line("## Scenario 3: one function changed, recompiled through a warm store\n");
    let rows = cache.map(|c| {
        c.changed
            .iter()
            .map(|x| {
                let head = [
                    x.module.clone(),
                    ms(x.cold_seconds),
                    pct(x.warm_seconds, x.cold_seconds),
                    pct(x.changed_seconds, x.cold_seconds),
                    x.hits.to_string(),
                    x.misses.to_string(),
                ];
                head.into_iter()
                    .chain(phases(&x.phases).iter().map(|p| ms(p.1)))
                    .collect()
            })
            .collect()
    });
    let head = [
        "module",
        "cold ms",
        "warm % of cold",
        "changed % of cold",
        "hits",
        "misses",
    ];
    let phase_heads = phases(&PhaseSeconds::default()).map(|p| format!("{} ms", p.0));
    let head: Vec<String> = head
        .iter()
        .map(|h| h.to_string())
        .chain(phase_heads)
        .collect();
    section(r, &head, 1, rows);
    if let Some(c) = cache {
        let of_cold = |f: fn(&ChangedRecord) -> f64| -> Vec<Option<f64>> {
            c.changed
                .iter()
                .map(|x| Some(100.0 * f(x) / x.cold_seconds))
                .collect()
        };
        let bars = Bars {
            title: "Warm and changed recompiles, % of the cold compile".into(),
            axis: "% of cold".into(),
            categories: c.changed.iter().map(|x| x.module.clone()).collect(),
            series: vec![
                ("warm (unchanged)".into(), of_cold(|x| x.warm_seconds)),
                (
                    "one function changed".into(),
                    of_cold(|x| x.changed_seconds),
                ),
            ],
            scale: Scale::Percent { full: 0.0 },
        };
        r.chart("cache-warm-changed.svg", &bars)?;
    }

    r.line("## Cache key cost (synthetic functions)\n");
    let rows = keys.map(|k| {
        k.records
            .iter()
            .map(|x| {
                vec![
                    x.target.clone(),
                    ms(x.key_seconds),
                    ms(x.fresh_seconds),
                    pct(x.key_seconds, x.fresh_seconds),
                    pct(x.cold_seconds, x.fresh_seconds),
                    pct(x.warm_seconds, x.fresh_seconds),
                ]
            })
            .collect()
    });
    let head = [
        "target",
        "key ms",
        "fresh ms",
        "key % of fresh",
        "cold (all misses) % of fresh",
        "warm % of fresh",
    ];
    section(r, &head, 1, rows);

    if let Some(c) = cache {
        r.line("## Skipped\n");
        r.skipped(&c.skipped);
    }
    Ok(())
}

/// A table, or why there is none: its suite did not run (`None`) or measured nothing.
fn section<S: AsRef<str>>(r: &mut Report, head: &[S], left: usize, rows: Option<Vec<Vec<String>>>) {
    match rows {
        None => r.line("Not run.\n"),
        Some(rows) if rows.is_empty() => r.line("No measurements.\n"),
        Some(rows) => r.table(head, left, &rows),
    }
}

// ---- charts ----

/// Grouped horizontal bars: a row of bars per category, one bar per series.
struct Bars {
    title: String,
    /// The value axis's title.
    axis: String,
    categories: Vec<String>,
    /// Name and one value per category (`None`: not measured).
    series: Vec<(String, Vec<Option<f64>>)>,
    scale: Scale,
}

/// How a chart's value axis is scaled.
#[derive(Clone, Copy)]
enum Scale {
    /// Rates: linear from 0, or log10 when the values span more than 30×.
    Rate,
    /// Percentages: linear from 0 up to at least `full`.
    Percent { full: f64 },
}

impl Bars {
    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.series
            .iter()
            .flat_map(|s| s.1.iter().flatten().copied())
            .filter(|v| v.is_finite())
    }
}

const FONT: &str = "sans-serif";
/// Series colours (from Tableau 10), distinct from each other on white.
const PALETTE: [RGBColor; 6] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(176, 122, 161),
];
/// Pixels per character of 13-point text: a generous estimate, as SVG text is not measured.
const CHAR_PX: u32 = 7;

fn draw_bars(path: &Path, b: &Bars) -> Result<()> {
    let err = |e: DrawingAreaErrorKind<_>| anyhow!("{e}");
    let max = b.values().fold(0.0, f64::max);
    let min = b
        .values()
        .filter(|&v| v > 0.0)
        .fold(f64::INFINITY, f64::min);
    // Rates of different compilers differ by orders of magnitude: a log axis keeps the
    // slow ones visible. Bars are drawn in log10 space and the ticks labelled 10^k.
    let log = matches!(b.scale, Scale::Rate) && min.is_finite() && max / min > 30.0;
    let (x0, x1) = match b.scale {
        _ if log => (
            min.log10().floor(),
            max.log10().ceil().max(min.log10().floor() + 1.0),
        ),
        Scale::Rate => (0.0, max.max(1.0) * 1.15),
        Scale::Percent { full } => (0.0, max.max(full).max(1.0) * 1.1),
    };
    let at = |v: f64| if log { v.log10() } else { v };
    let decimals = if matches!(b.scale, Scale::Rate) { 0 } else { 1 };

    let (n, s) = (b.categories.len(), b.series.len().max(1));
    let width = 960u32;
    let label_px = b
        .categories
        .iter()
        .map(|c| c.chars().count() as u32)
        .max()
        .unwrap_or(0)
        * CHAR_PX
        + 16;
    let legend: Vec<(u32, u32)> = legend_layout(&b.series, width);
    let legend_h = legend.last().map_or(0, |l| l.1 + 24) + 10;
    let plot_h = n as u32 * (s as u32 * 16 + 14) + 110;
    let root = SVGBackend::new(path, (width, plot_h + legend_h)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (top, bottom) = root.split_vertically(plot_h);

    let mut chart = ChartBuilder::on(&top)
        .caption(&b.title, (FONT, 20))
        .margin(12)
        .margin_right(40)
        .x_label_area_size(40)
        .y_label_area_size(label_px)
        .build_cartesian_2d(x0..x1, -0.5..(n as f64 - 0.5))
        .map_err(err)?;
    let category = |y: &f64| {
        let i = n as f64 - 1.0 - y.round();
        let exact = (y - y.round()).abs() < 1e-6 && i >= 0.0;
        exact
            .then(|| b.categories.get(i as usize).cloned())
            .flatten()
            .unwrap_or_default()
    };
    let tick = |x: &f64| {
        if !log {
            count(*x)
        } else if (x - x.round()).abs() > 1e-6 {
            String::new()
        } else {
            si(10f64.powi(x.round() as i32))
        }
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_max_light_lines(0)
        .y_labels(n.max(1))
        .y_label_formatter(&category)
        .x_labels(if log { (x1 - x0) as usize + 1 } else { 11 })
        .x_label_formatter(&tick)
        .x_desc(&b.axis)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(err)?;

    let band = 0.8 / s as f64;
    for (j, (_, values)) in b.series.iter().enumerate() {
        let color = PALETTE[j % PALETTE.len()];
        for (i, v) in values.iter().take(n).enumerate() {
            let Some(v) = v.filter(|v| v.is_finite() && (!log || *v > 0.0)) else {
                continue;
            };
            let top_y = (n - 1 - i) as f64 + 0.4 - j as f64 * band;
            let (bar_top, bar_bottom) = (top_y - band * 0.05, top_y - band * 0.95);
            let end = at(v).max(x0);
            let bar = Rectangle::new([(x0, bar_bottom), (end, bar_top)], color.filled());
            let label = Text::new(
                format!(" {}", num(v, decimals, "")),
                (end, (bar_top + bar_bottom) / 2.0),
                (FONT, 11)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            );
            chart.draw_series([bar]).map_err(err)?;
            chart.draw_series([label]).map_err(err)?;
        }
    }

    for (j, ((name, _), &(x, y))) in b.series.iter().zip(&legend).enumerate() {
        let (x, y) = (x as i32, y as i32);
        bottom
            .draw(&Rectangle::new(
                [(x, y), (x + 12, y + 12)],
                PALETTE[j % PALETTE.len()].filled(),
            ))
            .map_err(err)?;
        bottom
            .draw(&Text::new(name.as_str(), (x + 18, y + 1), (FONT, 13)))
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Where each series' legend entry goes (pixels in the legend strip), wrapping at `width`.
fn legend_layout(series: &[(String, Vec<Option<f64>>)], width: u32) -> Vec<(u32, u32)> {
    let (mut x, mut y) = (20u32, 4u32);
    series
        .iter()
        .map(|(name, _)| {
            let w = 18 + name.chars().count() as u32 * CHAR_PX + 24;
            if x + w > width && x > 20 {
                (x, y) = (20, y + 24);
            }
            x += w;
            (x - w, y)
        })
        .collect()
}

/// A power of ten as `1`, `10`, `100`, `1k`, ... `100M`, `1G`.
fn si(v: f64) -> String {
    match v {
        v if v >= 1e9 => format!("{}G", v / 1e9),
        v if v >= 1e6 => format!("{}M", v / 1e6),
        v if v >= 1e3 => format!("{}k", v / 1e3),
        v => format!("{v}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::data::{write_suite, DuplicateRecord, KeyCostRecord, SharingRecord};
    use super::*;

    fn run() -> RunInfo {
        RunInfo {
            unix_time: 951_825_659,
            commit: "abc1234".into(),
            cpu_model: "Test CPU".into(),
            cores: 2,
            rounds: 5,
        }
    }

    fn rec(
        module: &str,
        target: &str,
        compiler: &str,
        threads: usize,
        seconds: f64,
    ) -> CompileRecord {
        let kiln = compiler.starts_with("kiln");
        CompileRecord {
            module: module.into(),
            wasm_bytes: if module == "a" { 10_240 } else { 40_960 },
            functions: if module == "a" { 100 } else { 400 },
            target: target.into(),
            compiler: compiler.into(),
            threads,
            seconds,
            code_bytes: if kiln { 30_000 } else { 20_000 },
            phases: kiln.then_some(PhaseSeconds {
                parse: 0.1,
                translate: 0.2,
                verify: 0.05,
                lower: 0.25,
                regalloc: 0.2,
                emit: 0.1,
                cache: 0.0,
                link: 0.1,
            }),
        }
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kiln-report-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn reports_show_the_records_numbers_and_draw_charts() {
        let (dir, out) = (tmp("render-in"), tmp("render-out"));
        let records = vec![
            rec("a", "x86_64", "kiln/backtracking", 1, 0.5),
            rec("a", "x86_64", "kiln/backtracking", 2, 0.3),
            rec("a", "x86_64", "cranelift/speed", 1, 1.5),
            rec("a", "x86_64", "winch", 1, 0.2),
            rec("a", "x86_64", "kiln/single_pass", 1, 0.25),
            rec("b", "x86_64", "kiln/backtracking", 1, 2.0),
            rec("b", "x86_64", "cranelift/speed", 1, 5.0),
            rec("a", "aarch64", "kiln/backtracking", 1, 0.4),
        ];
        let compile = CompileSuite {
            run: run(),
            peers: vec!["cranelift/speed".into(), "winch".into()],
            records,
            function_sizes: vec![
                FunctionSizeRecord {
                    module: "bench".into(),
                    target: "x86_64".into(),
                    compiler: "kiln/backtracking".into(),
                    function: "matmul".into(),
                    bytes: 1234,
                },
                FunctionSizeRecord {
                    module: "bench".into(),
                    target: "x86_64".into(),
                    compiler: "cranelift/speed+bounds-checks".into(),
                    function: "matmul".into(),
                    bytes: 1000,
                },
            ],
            skipped: vec![Skipped {
                what: "b winch x86_64".into(),
                reason: "rejected the module".into(),
            }],
        };
        write_suite(&dir, "compile_wasm", &compile).unwrap();
        let changed = ChangedRecord {
            module: "a".into(),
            cold_seconds: 0.8,
            warm_seconds: 0.1,
            changed_seconds: 0.12,
            hits: 99,
            misses: 1,
            phases: PhaseSeconds {
                cache: 0.004,
                ..PhaseSeconds::default()
            },
        };
        let cache = CacheSuite {
            run: run(),
            config: "x86_64, backtracking".into(),
            duplicates: vec![DuplicateRecord {
                module: "a".into(),
                functions: 100,
                hits: 37,
                no_store_seconds: 0.5,
                store_seconds: 0.4,
                key_seconds: 0.004,
            }],
            sharing: vec![SharingRecord {
                group: "g".into(),
                position: 1,
                module: "b".into(),
                functions: 400,
                hits: 300,
            }],
            changed: vec![changed],
            skipped: vec![],
        };
        write_suite(&dir, "cache_wasm", &cache).unwrap();
        let keys = KeyCostSuite {
            run: run(),
            records: vec![KeyCostRecord {
                target: "x86_64".into(),
                key_seconds: 0.001,
                fresh_seconds: 0.1,
                cold_seconds: 0.11,
                warm_seconds: 0.004,
            }],
        };
        write_suite(&dir, "cache", &keys).unwrap();

        let written = write_reports_at(&dir, &out, 0).unwrap();
        let names: Vec<_> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "compile.md",
                "compile-throughput-x86_64.svg",
                "compile-throughput-aarch64.svg",
                "cache.md",
                "cache-hit-rates.svg",
                "cache-warm-changed.svg"
            ]
        );
        let md = std::fs::read_to_string(out.join("compile.md")).unwrap();
        let want = [
            "Report written 1970-01-01 00:00 UTC".to_string(),
            "ran 2000-02-29 12:00 UTC at commit `abc1234` on Test CPU (2 cores)".into(),
            "best of 5 rounds; 2-thread times on a shared 2-core machine are noisy".into(),
            // Module a on x86_64: functions/s of each compiler, then the speed ratios.
            format!(
                "| a | 100 | 10.0 | {:.0} | {:.0} | {:.0} | {:.0} | {:.2}× | {:.2}× |",
                100.0 / 0.5,
                100.0 / 0.25,
                100.0 / 1.5,
                100.0 / 0.2,
                1.5 / 0.5,
                0.2 / 0.25
            ),
            // Totals: sum of functions / sum of seconds; ratios over modules with both.
            format!("| **total** | 500 | 50.0 | {:.0} |", 500.0 / 2.5),
            format!("| a | {:.2}× |", 0.5 / 0.3),
            format!(
                "| **total** | {:.1} | {:.1} | {:.1} |",
                60_000.0 / 1024.0,
                30_000.0 / 1024.0,
                40_000.0 / 1024.0
            ),
            format!(
                "| a | kiln/backtracking | {:.2} | {:.1} | {:.1} |",
                1000.0, 10.0, 20.0
            ),
            "- b winch x86_64: rejected the module".into(),
            "| function | kiln/backtracking | cranelift/speed+bounds-checks |".into(),
            "| `matmul` | 1234 | 1000 |".into(),
            "![Compile throughput, x86_64, 1 thread](compile-throughput-x86_64.svg)".into(),
        ];
        for w in &want {
            assert!(md.contains(w.as_str()), "want `{w}` in:\n{md}");
        }
        let md = std::fs::read_to_string(out.join("cache.md")).unwrap();
        let want = [
            format!(
                "| a | 100 | {:.1} | 500.00 | 400.00 | {:.2}× | {:.1} |",
                37.0,
                0.5 / 0.4,
                100.0 * 0.004 / 0.4
            ),
            format!("| g | b | 1 | 400 | {:.1} |", 75.0),
            format!("| a | 800.00 | {:.1} | {:.1} | 99 | 1 | 0.00 |", 12.5, 15.0),
            format!(
                "| x86_64 | 1.00 | 100.00 | {:.1} | {:.1} | {:.1} |",
                1.0, 110.0, 4.0
            ),
            "![Cache hit rates](cache-hit-rates.svg)".into(),
            "No criterion benchmarks of this suite found.".into(),
        ];
        for w in &want {
            assert!(md.contains(w.as_str()), "want `{w}` in:\n{md}");
        }
        for p in &written {
            let text = std::fs::read_to_string(p).unwrap();
            if p.extension().is_some_and(|e| e == "svg") {
                assert!(
                    text.contains("<svg") && text.contains("<text"),
                    "{}",
                    p.display()
                );
            }
        }
        let svg = std::fs::read_to_string(out.join("compile-throughput-x86_64.svg")).unwrap();
        assert!(
            svg.contains("kiln/backtracking") && svg.lines().any(|l| l.trim() == "a"),
            "{svg}"
        );

        // Deterministic: the same inputs and date give the same bytes.
        let again = tmp("render-again");
        write_reports_at(&dir, &again, 0).unwrap();
        for p in &written {
            let q = again.join(p.file_name().unwrap());
            assert_eq!(
                std::fs::read(p).unwrap(),
                std::fs::read(q).unwrap(),
                "{}",
                p.display()
            );
        }
        for d in [dir, out, again] {
            std::fs::remove_dir_all(d).unwrap();
        }
    }

    #[test]
    fn missing_or_empty_directories_are_clear_errors() {
        let dir = tmp("render-empty");
        let err = write_reports(&dir, &dir.join("out"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&dir.display().to_string()) && err.contains("does not exist"),
            "{err}"
        );
        std::fs::create_dir_all(&dir).unwrap();
        let err = write_reports(&dir, &dir.join("out"))
            .unwrap_err()
            .to_string();
        let want = format!(
            "no benchmark data in {}: run `cargo bench -p kiln-benches` first",
            dir.display()
        );
        assert_eq!(err, want);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dates_and_numbers() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(951_825_659), "2000-02-29 12:00");
        assert_eq!(utc(4_107_542_400), "2100-03-01 00:00");
        assert_eq!(num(f64::NAN, 2, ""), "–");
        assert_eq!(ratio(1.0 / 0.0), "–");
        assert_eq!(time_ns(1_506_554.4), "1.51 ms");
        assert_eq!(si(1e5), "100k");
    }
}
