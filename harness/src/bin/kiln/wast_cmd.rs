//! `kiln wast <file-or-dir>...`: run WebAssembly spec-test scripts on the chosen engines.
//!
//! Files run in parallel (each engine of a file in a store of its own, created on the
//! worker thread); results are printed in file order as soon as they are known: one line
//! per file, then its failures (and with `--verbose` its skips). Then the skips grouped
//! by reason, and as the last line exactly `N passed, M failed, K skipped`.

use anyhow::{bail, Result};
use kiln_harness::diff::campaign::stderr_is_terminal;
use kiln_harness::wast::{collect_wast_files, run_script, ScriptReport, WastOptions};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Results so far; printing happens under its lock, in file order.
#[derive(Default)]
struct State {
    /// The next file (index) to print.
    next: usize,
    /// Finished files not printed yet.
    pending: HashMap<usize, ScriptReport>,
    files_done: usize,
    passed: u64,
    failed: u64,
    skipped: u64,
    /// Skip count per reason.
    reasons: BTreeMap<String, u64>,
    /// Is a progress line drawn on stderr (to be erased before printing)?
    progress_drawn: bool,
}

impl State {
    fn progress_line(&self, total_files: usize, start: Instant) -> String {
        format!(
            "\r\x1b[K[{}/{} files] {} passed, {} failed, {} skipped  [{:.0} s]",
            self.files_done,
            total_files,
            self.passed,
            self.failed,
            self.skipped,
            start.elapsed().as_secs_f64()
        )
    }

    fn erase_progress(&mut self) {
        if self.progress_drawn {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\x1b[K");
            let _ = e.flush();
            self.progress_drawn = false;
        }
    }

    /// Record file `i`'s report and print every file that is next in order.
    fn deliver(&mut self, i: usize, report: ScriptReport, verbose: bool) {
        self.files_done += 1;
        self.passed += report.passed();
        self.failed += report.failed();
        self.skipped += report.skipped();
        for s in report.skips() {
            *self.reasons.entry(s.reason.clone()).or_default() += 1;
        }
        self.pending.insert(i, report);
        while let Some(r) = self.pending.remove(&self.next) {
            self.erase_progress();
            print_report(&r, verbose);
            self.next += 1;
        }
    }
}

fn print_report(r: &ScriptReport, verbose: bool) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut line = format!("{}: {}", r.path.display(), r.counts_line());
    if r.failed() > 0 && r.engines.len() > 1 {
        let per: Vec<String> = r
            .engines
            .iter()
            .map(|e| format!("{} {}", e.engine, e.failures.len()))
            .collect();
        line.push_str(&format!(" (failed: {})", per.join(", ")));
    }
    let _ = writeln!(out, "{line}");
    for f in r.failures() {
        let _ = writeln!(out, "  {f}");
    }
    if verbose {
        for s in r.skips() {
            let _ = writeln!(out, "  {s}");
        }
    }
    let _ = out.flush();
}

/// Run the scripts under `paths` on `opts.engines`; the exit code says whether anything
/// failed.
pub fn run_wast(paths: &[PathBuf], opts: &WastOptions, verbose: bool) -> Result<ExitCode> {
    let files = collect_wast_files(paths).map_err(anyhow::Error::msg)?;
    if files.is_empty() {
        bail!("no .wast files found in the given paths");
    }
    let start = Instant::now();
    let progress = stderr_is_terminal();
    let state = Mutex::new(State::default());
    let finished = AtomicBool::new(false);
    let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
    std::thread::scope(|scope| {
        if progress {
            scope.spawn(|| {
                while !finished.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(250));
                    let mut st = lock();
                    if finished.load(Ordering::Relaxed) {
                        break;
                    }
                    let line = st.progress_line(files.len(), start);
                    let mut e = std::io::stderr().lock();
                    let _ = write!(e, "{line}");
                    let _ = e.flush();
                    st.progress_drawn = true;
                }
            });
        }
        files.par_iter().enumerate().for_each(|(i, f)| {
            let report = run_script(f, opts);
            lock().deliver(i, report, verbose);
        });
        finished.store(true, Ordering::Relaxed);
    });
    let mut st = state.into_inner().unwrap_or_else(|p| p.into_inner());
    st.erase_progress();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if !st.reasons.is_empty() {
        writeln!(out, "skipped, by reason:")?;
        let mut reasons: Vec<_> = st.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (reason, n) in reasons {
            writeln!(out, "  {n:>7}  {reason}")?;
        }
        if !verbose {
            writeln!(out, "  (--verbose lists every skipped directive)")?;
        }
    }
    let names: Vec<_> = opts.engines.iter().map(|e| e.name()).collect();
    writeln!(
        out,
        "{} file(s), engines: {}, {:.1} s",
        files.len(),
        names.join(", "),
        start.elapsed().as_secs_f64()
    )?;
    writeln!(
        out,
        "{} passed, {} failed, {} skipped",
        st.passed, st.failed, st.skipped
    )?;
    Ok(if st.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
