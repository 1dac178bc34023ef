//! `kiln diff` and `kiln reduce`.

use anyhow::{bail, Context, Result};
use kiln_harness::diff::campaign::{
    reduce_saved_kir, run_campaign, stderr_is_terminal, CampaignOptions, Generator, Limit,
};
use kiln_harness::diff::materialize::{load_wasm_case, save_wasm_case, wasm_sidecar};
use kiln_harness::diff::reduce::{kir_verdict, reduce_wasm_finding};
use kiln_harness::diff::wasm::{check_wasm_case, WasmDiffOptions};
use kiln_harness::diff::DiffOptions;
use kiln_harness::filetest::TestFile;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The options of `kiln diff`.
pub struct DiffArgs {
    pub generator: String,
    pub seconds: Option<f64>,
    pub cases: Option<u64>,
    pub seed: u64,
    pub jobs: Option<usize>,
    pub max_insts: Option<usize>,
    pub big_one_in: Option<usize>,
    pub corpus: PathBuf,
    /// Reduction budget per finding, in seconds (`None`: `--no-reduce`).
    pub reduce: Option<f64>,
    /// Most findings reduced.
    pub max_reductions: u64,
}

/// A positive, finite number of seconds.
fn seconds_arg(flag: &str, s: f64) -> Result<Duration> {
    if s.is_finite() && s > 0.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        bail!("{flag} must be a positive number of seconds, got {s}")
    }
}

/// `kiln diff`.
pub fn diff(a: DiffArgs) -> Result<ExitCode> {
    let generator = Generator::parse(&a.generator).map_err(anyhow::Error::msg)?;
    let limit = match (a.cases, a.seconds) {
        (Some(n), _) => Limit::Cases(n),
        (None, Some(s)) => Limit::Time(seconds_arg("--seconds", s)?),
        (None, None) => Limit::Time(Duration::from_secs(60)),
    };
    let reduce = a
        .reduce
        .map(|s| seconds_arg("--reduce-seconds", s))
        .transpose()?;
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let mut gen = kiln_harness::gen::GenConfig::default();
    if let Some(n) = a.max_insts {
        gen.max_insts = n.max(1);
    }
    if let Some(n) = a.big_one_in {
        gen.bulk_one_in = n;
    }
    let opts = CampaignOptions {
        seed: a.seed,
        limit,
        jobs,
        generator,
        gen,
        corpus_dir: Some(a.corpus),
        reduce,
        max_reductions: a.max_reductions,
        progress: stderr_is_terminal(),
        ..CampaignOptions::default()
    };
    kiln_harness::diff::install_quiet_panic_hook();
    let summary = run_campaign(&opts).map_err(anyhow::Error::msg)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    write!(out, "{}", summary.table())?;
    for f in &summary.failures {
        writeln!(
            out,
            "{} (case {}, found after {:.1} s): {}",
            f.class,
            f.index,
            f.found_after.as_secs_f64(),
            f.detail
        )?;
        match &f.saved {
            Ok(p) => writeln!(out, "  saved: kiln replay {}", p.display())?,
            Err(e) => writeln!(out, "  {e}")?,
        }
        match &f.reduced {
            Some(Ok((p, sizes))) => {
                writeln!(out, "  reduced ({sizes}): kiln replay {}", p.display())?
            }
            Some(Err(e)) => writeln!(out, "  not reduced: {e}")?,
            None if opts.reduce.is_some() => writeln!(
                out,
                "  not reduced (--max-reductions {} reached): kiln reduce <saved case>",
                opts.max_reductions
            )?,
            None => {}
        }
    }
    Ok(if summary.any_failure() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `kiln reduce <case>`.
pub fn reduce(case: &Path, seconds: f64, output: Option<PathBuf>) -> Result<ExitCode> {
    let deadline = Instant::now() + seconds_arg("--seconds", seconds)?;
    kiln_harness::diff::install_quiet_panic_hook();
    match case.extension().and_then(|e| e.to_str()) {
        Some("kir") => reduce_kir(case, deadline, output),
        Some("wasm") => reduce_wasm(case, deadline, output),
        _ => bail!(
            "{}: not a saved case (expected a .kir file, or a .wasm file with its .json sidecar)",
            case.display()
        ),
    }
}

fn reduce_kir(case: &Path, deadline: Instant, output: Option<PathBuf>) -> Result<ExitCode> {
    let src = std::fs::read_to_string(case).with_context(|| format!("{}", case.display()))?;
    let file = TestFile::parse(case, &src).map_err(|e| anyhow::anyhow!("{e}"))?;
    let opts = DiffOptions::default();
    let Some(found) = kir_verdict(&file, &opts) else {
        bail!(
            "{}: every engine agrees on every call; nothing to reduce",
            case.display()
        );
    };
    println!("{}: {} ({})", case.display(), found.class, found.detail);
    let (path, sizes) =
        reduce_saved_kir(case, &found, &opts, deadline).map_err(anyhow::Error::msg)?;
    let path = match output {
        Some(o) => {
            std::fs::rename(&path, &o).with_context(|| format!("{}", o.display()))?;
            o
        }
        None => path,
    };
    println!("reduced: {sizes}\n  kiln replay {}", path.display());
    Ok(ExitCode::SUCCESS)
}

fn reduce_wasm(case: &Path, deadline: Instant, output: Option<PathBuf>) -> Result<ExitCode> {
    let (wasm_case, sidecar) = load_wasm_case(case).map_err(anyhow::Error::msg)?;
    let settings = kiln_harness::filetest::parse_engine_settings(&sidecar.engine_settings)
        .map_err(|e| anyhow::anyhow!("{}: {e}", case.with_extension("json").display()))?;
    let opts = WasmDiffOptions::default();
    let result = check_wasm_case(&wasm_case, &settings, &opts, sidecar.cache_check);
    if !result.verdict.class.is_failure() {
        bail!(
            "{}: {}; nothing to reduce",
            case.display(),
            result.verdict.detail
        );
    }
    println!(
        "{}: {}: {}",
        case.display(),
        result.verdict.class,
        result.verdict.detail
    );
    let (red, red_result) = reduce_wasm_finding(
        &wasm_case,
        &settings,
        sidecar.cache_check,
        &result.verdict,
        &opts,
        Some(deadline),
    );
    let sizes = format!("{} -> {}", red.before, red.after);
    let mut side = wasm_sidecar(
        &red.case,
        &sidecar.engine_settings,
        sidecar.cache_check,
        &red_result,
        &sidecar.found_by,
    );
    side.note = sidecar.note.clone();
    side.reduced_from = Some(format!(
        "{} ({sizes})",
        case.file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned())
    ));
    let path = match output {
        Some(o) => {
            let dir = o
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let saved = save_wasm_case(dir, &red.case, &side)?;
            std::fs::rename(&saved, &o)?;
            std::fs::rename(saved.with_extension("json"), o.with_extension("json"))?;
            o
        }
        None => save_wasm_case(case.parent().unwrap_or(Path::new(".")), &red.case, &side)?,
    };
    println!(
        "reduced: {sizes} ({} checks)\n  kiln replay {}",
        red.checks,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
