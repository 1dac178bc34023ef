//! The filetest runner: runs the directives of `.kir` files on engines and counts the
//! results.
//!
//! Layering: this is orchestration above [`crate::engine`], which in turn runs the test-file
//! data of [`crate::filetest`]; neither of those depends on this module. (It used to be
//! `filetest::runner`; it moved out so that `filetest` stays data and parsing only.)
//!
//! Every (directive, engine) pair is one check: it passes when the engine's [`Outcome`]
//! satisfies the directive's [`Expectation`]. A file that fails to load (parse, verify or
//! directive error) counts as one failed check, so a broken file can never pass silently.
//! A file without any run directive is counted in [`Summary::files_without_runs`] and
//! reported, never silently skipped. A file an engine cannot compile for lack of a feature
//! ([`PrepareError::Unsupported`]) has all its checks on that engine counted as *skipped*,
//! with one line saying why; any other preparation error fails them.
//!
//! A file with an `; engine-settings:` directive runs with exactly its recorded CPU preset
//! and settings (the runner's own preset and settings are set aside for that file; its
//! link padding stays), so a saved differential case replays under its recorded compiler
//! variation wherever it is run.

use crate::engine::{fresh_heaps, EngineKind, EngineSettings, PrepareError};
use crate::filetest::{Expectation, TestFile};
use crate::outcome::Outcome;
use std::io::Write;
use std::path::PathBuf;

/// Default fuel (instructions per run) for the interpreter.
pub const DEFAULT_FUEL: u64 = 10_000_000;

/// What to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Engines to run every directive on.
    pub engines: Vec<EngineKind>,
    /// Work bound per run.
    pub fuel: u64,
    /// Print every check, not only failures.
    pub verbose: bool,
    /// CPU preset and settings of the compiled engines.
    pub settings: EngineSettings,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            engines: EngineKind::ALL.to_vec(),
            fuel: DEFAULT_FUEL,
            verbose: false,
            settings: EngineSettings::default(),
        }
    }
}

/// Counts over a set of files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed (including files that failed to load).
    pub failed: usize,
    /// Checks not run because the engine cannot compile the file yet.
    pub skipped: usize,
    /// Files that loaded but contain no run directive.
    pub files_without_runs: Vec<PathBuf>,
}

impl Summary {
    /// The closing line: `N passed, M failed`, plus `, K skipped` when anything was skipped.
    pub fn closing_line(&self) -> String {
        let mut line = format!("{} passed, {} failed", self.passed, self.failed);
        if self.skipped > 0 {
            line.push_str(&format!(", {} skipped", self.skipped));
        }
        line
    }
}

/// Does an outcome satisfy an expectation?
pub fn outcome_matches(expect: &Expectation, outcome: &Outcome) -> bool {
    match (expect, outcome) {
        (Expectation::Returns(exp), Outcome::Returned(got)) => {
            exp.len() == got.len() && exp.iter().zip(got).all(|(e, g)| e.matches(g))
        }
        (Expectation::Traps(c), Outcome::Trapped(t)) => c == t,
        _ => false,
    }
}

/// Every `.kir` file named by `paths` (directories are searched recursively), sorted.
pub fn collect_kir_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    crate::files::collect_files(paths, "kir")
}

/// Run every directive of every file on every engine, writing one line per failure (and
/// per check when verbose) to `out`. Does not print the closing summary line.
pub fn run_files(files: &[PathBuf], opts: &RunOptions, out: &mut dyn Write) -> Summary {
    let mut summary = Summary::default();
    let mut engines: Vec<_> = opts
        .engines
        .iter()
        .map(|k| k.create_with(opts.fuel, &opts.settings))
        .collect();
    for path in files {
        summary.files += 1;
        let file = match TestFile::load(path) {
            Ok(f) => f,
            Err(e) => {
                let _ = writeln!(out, "FAIL {e}");
                summary.failed += 1;
                continue;
            }
        };
        if file.runs.is_empty() {
            summary.files_without_runs.push(path.clone());
        }
        let file_settings = file.engine_settings.as_ref().map(|s| EngineSettings {
            link_padding: opts.settings.link_padding,
            ..s.clone()
        });
        for engine in engines.iter_mut() {
            engine.reconfigure(file_settings.as_ref().unwrap_or(&opts.settings));
        }
        let mut ready = Vec::with_capacity(engines.len());
        for engine in engines.iter_mut() {
            if file.runs.is_empty() {
                ready.push(false);
                continue;
            }
            match engine.prepare(&file) {
                Ok(()) => ready.push(true),
                Err(e) => {
                    let (word, n) = match e {
                        PrepareError::Unsupported(_) => ("SKIP", &mut summary.skipped),
                        PrepareError::Failed(_) => ("FAIL", &mut summary.failed),
                    };
                    *n += file.runs.len();
                    let _ = writeln!(
                        out,
                        "{word} {} [{}] {} run(s): {e}",
                        path.display(),
                        engine.name(),
                        file.runs.len()
                    );
                    ready.push(false);
                }
            }
        }
        for run in &file.runs {
            let args: Vec<_> = run.args.iter().map(|a| a.resolve()).collect();
            for (engine, _) in engines.iter_mut().zip(&ready).filter(|(_, r)| **r) {
                let mut heaps = fresh_heaps(&file);
                let outcome = engine.run(&file, run.func_index, &args, &mut heaps);
                let ok = outcome_matches(&run.expect, &outcome);
                let loc = format!("{}:{}", path.display(), run.line);
                if ok {
                    summary.passed += 1;
                    if opts.verbose {
                        let _ = writeln!(out, "ok   {loc} [{}] {}", engine.name(), run.text);
                    }
                } else {
                    summary.failed += 1;
                    let _ = writeln!(
                        out,
                        "FAIL {loc} [{}] {}\n     expected {}, got {outcome}",
                        engine.name(),
                        run.text,
                        run.expect
                    );
                }
            }
        }
    }
    summary
}
