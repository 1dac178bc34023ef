//! `kiln diff`: generate cases, check them in parallel, count the classes, save failures.
//!
//! Invariants:
//! - case `i` of seed `s` is a pure function of `(s, i)`: its generator bytes and its
//!   compiler variation both derive from [`case_seed`]`(s, i)`, so `--cases N --seed S`
//!   checks the same N cases whatever `--jobs` is (and the same failures are saved);
//! - workers take case indices from one atomic counter; with a case limit every index
//!   below it is checked exactly once, with a time limit the workers stop taking new
//!   indices at the deadline;
//! - each worker thread keeps its own engines (see [`super::check_case`]); nothing
//!   `!Send` crosses threads;
//! - the summary counts every checked case in exactly one class;
//! - `--generator all` alternates: even case indices are IR cases, odd ones Wasm cases;
//! - a finding is saved before it is reduced, and its reduction (bounded by
//!   [`CampaignOptions::reduce`]) is saved beside it as a second case; a reduction never
//!   replaces the original.

use super::materialize::{
    case_hash, save_case, save_wasm_case, wasm_case_hash, wasm_sidecar, Provenance,
};
use super::source::{generate, GenConfig};
use super::variation::settings_directive;
use super::wasm::{
    check_wasm_case, Inconclusive, PhaseTimes, WasmCase, WasmCaseResult, WasmDiffOptions,
};
use super::{check_case, Case, CaseResult, Class, DiffOptions, Variation};
use crate::hashing::splitmix64;
use arbitrary::Unstructured;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The seed of case `index` of a campaign with `seed`.
pub fn case_seed(seed: u64, index: u64) -> u64 {
    let mut s = seed;
    let a = splitmix64(&mut s);
    let mut t = a ^ index.wrapping_mul(0xd6e8_feb8_6659_fd93);
    splitmix64(&mut t)
}

/// The generator input of a case seed: 256 to 4095 bytes of a SplitMix64 stream.
pub fn case_bytes(case_seed: u64) -> Vec<u8> {
    seed_bytes(case_seed, 256, 4096)
}

pub use crate::hashing::seed_bytes;

/// Case `index` of `seed`: the generated case (or why the generator refused the bytes)
/// and its variation.
pub fn make_case(seed: u64, index: u64, gen: &GenConfig) -> (Result<Case, String>, Variation) {
    let cs = case_seed(seed, index);
    let bytes = case_bytes(cs);
    let case = generate(&mut Unstructured::new(&bytes), gen)
        .map(Case::from)
        .map_err(|e| e.to_string());
    let variation = match &case {
        Ok(c) => Variation::from_seed(cs).fitted_to(&c.functions),
        Err(_) => Variation::from_seed(cs),
    };
    (case, variation)
}

/// One case in this many Wasm cases also checks compiles through a cache store.
pub const WASM_CACHE_CHECK_EVERY: u64 = 16;

/// Wasm case `index` of `seed`, made by `source` (wasm-smith or [`crate::gen::wasm_flow`]):
/// the module and invocations (or why the generator refused the bytes), the variation,
/// and whether it also runs the cache check.
pub fn make_wasm_case(
    seed: u64,
    index: u64,
    source: WasmSource,
) -> (Result<WasmCase, String>, Variation, bool) {
    let cs = case_seed(seed, index);
    let bytes = seed_bytes(cs, 512, 16384);
    let variation = Variation::from_seed(cs).unpadded();
    let case = source
        .case(&mut Unstructured::new(&bytes))
        .map_err(|e| e.to_string());
    let variation = match &case {
        Ok(c) => variation.fitted_to_module(&c.wasm),
        Err(_) => variation,
    };
    (case, variation, cs.is_multiple_of(WASM_CACHE_CHECK_EVERY))
}

/// Which Wasm generator makes a Wasm case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WasmSource {
    /// wasm-smith ([`crate::gen::wasm::diff_case`]).
    Smith,
    /// Kiln's locals-and-control-flow generator ([`crate::gen::wasm_flow::flow_case`]).
    Flow,
}

impl WasmSource {
    /// A differential case (module and invocations) from `u`.
    pub fn case(self, u: &mut Unstructured<'_>) -> arbitrary::Result<WasmCase> {
        match self {
            WasmSource::Smith => crate::gen::wasm::diff_case(u),
            WasmSource::Flow => crate::gen::wasm_flow::flow_case(u),
        }
    }
}

/// Which generator makes the cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generator {
    /// Random Kiln IR (`kir`): interpreter vs x86_64 vs AArch64.
    Kir,
    /// wasm-smith modules (`wasm`): wasmi vs Kiln's interpreter, x86_64 and AArch64.
    Wasm,
    /// Kiln's own modules of locals written inside nested constructs (`wasm-flow`,
    /// [`crate::gen::wasm_flow`]), on the same engines as `wasm`.
    WasmFlow,
    /// All three in turn (`all`): IR at indices `3k`, wasm-smith at `3k + 1`, `wasm-flow`
    /// at `3k + 2`.
    All,
}

impl Generator {
    /// Every generator name, for help and errors.
    pub const NAMES: &'static str = "kir, wasm, wasm-flow, all";

    /// Parse a generator name.
    pub fn parse(name: &str) -> Result<Generator, String> {
        match name {
            "kir" => Ok(Generator::Kir),
            "wasm" => Ok(Generator::Wasm),
            "wasm-flow" => Ok(Generator::WasmFlow),
            "all" => Ok(Generator::All),
            _ => Err(format!(
                "unknown generator `{name}` (expected one of: {})",
                Generator::NAMES
            )),
        }
    }

    /// The name.
    pub fn name(self) -> &'static str {
        match self {
            Generator::Kir => "kir",
            Generator::Wasm => "wasm",
            Generator::WasmFlow => "wasm-flow",
            Generator::All => "all",
        }
    }

    /// The Wasm generator of case `index`, or `None` for an IR case.
    pub fn wasm_source(self, index: u64) -> Option<WasmSource> {
        match self {
            Generator::Kir => None,
            Generator::Wasm => Some(WasmSource::Smith),
            Generator::WasmFlow => Some(WasmSource::Flow),
            Generator::All => match index % 3 {
                0 => None,
                1 => Some(WasmSource::Smith),
                _ => Some(WasmSource::Flow),
            },
        }
    }
}

/// When to stop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Limit {
    /// After exactly this many cases.
    Cases(u64),
    /// When this much time has passed (cases in flight finish).
    Time(Duration),
}

/// A campaign's settings.
#[derive(Clone, Debug)]
pub struct CampaignOptions {
    /// The campaign seed.
    pub seed: u64,
    /// When to stop.
    pub limit: Limit,
    /// Worker threads.
    pub jobs: usize,
    /// Which generator.
    pub generator: Generator,
    /// IR generator configuration.
    pub gen: GenConfig,
    /// Fuel of IR cases.
    pub diff: DiffOptions,
    /// Fuel and caps of Wasm cases.
    pub wasm: WasmDiffOptions,
    /// Where failures are saved (`None`: not saved): IR cases in `<dir>/fuzzgen`, Wasm
    /// cases in `<dir>/wasm`.
    pub corpus_dir: Option<PathBuf>,
    /// Reduce each finding for at most this long and save the reduced case too (`None`:
    /// no reduction).
    pub reduce: Option<Duration>,
    /// Reduce at most this many findings per campaign (later ones are saved unreduced):
    /// when a bug is frequent, its first reductions say everything.
    pub max_reductions: u64,
    /// Draw a live progress line on stderr.
    pub progress: bool,
    /// Record every case's hash (for determinism checks).
    pub record_hashes: bool,
}

impl Default for CampaignOptions {
    fn default() -> Self {
        CampaignOptions {
            seed: 0,
            limit: Limit::Cases(100),
            jobs: 1,
            generator: Generator::Kir,
            gen: GenConfig::default(),
            diff: DiffOptions::default(),
            wasm: WasmDiffOptions::default(),
            corpus_dir: None,
            reduce: None,
            max_reductions: 3,
            progress: false,
            record_hashes: false,
        }
    }
}

/// One disagreement found by a campaign.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Case index.
    pub index: u64,
    /// The case's hash (its file name stem).
    pub hash: String,
    /// The classification.
    pub class: Class,
    /// The verdict's detail line.
    pub detail: String,
    /// Where it was saved (or why it could not be).
    pub saved: Result<PathBuf, String>,
    /// The reduced case: where it was saved and the sizes before and after.
    pub reduced: Option<Result<(PathBuf, String), String>>,
    /// Time from the campaign's start until the case was checked (and, unless
    /// `--no-reduce`, reduced).
    pub found_after: Duration,
}

/// How much the Wasm cases really tested.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WasmStats {
    /// Wasm cases checked.
    pub cases: u64,
    /// Cases whose module wasmi instantiated.
    pub instantiated: u64,
    /// Cases in which at least one invocation ran to a normal return.
    pub ran_export: u64,
    /// Invocations made (on the reference).
    pub calls: u64,
    /// Invocations that returned normally.
    pub completed_calls: u64,
    /// Wasm instructions executed by wasmi (its fuel), summed.
    pub executed: u64,
    /// Cases ended by fuel exhaustion (inconclusive).
    pub out_of_fuel: u64,
    /// Cases ended by stack exhaustion (inconclusive).
    pub stack_exhausted: u64,
    /// Cases that also checked compiles through a cache store.
    pub cache_checked: u64,
    /// Reference traps by trap code name (instantiation and calls).
    pub traps: std::collections::BTreeMap<String, u64>,
    /// Inconclusive cases by the engine that ran out first.
    pub exhausted_on: std::collections::BTreeMap<String, u64>,
    /// Time generating modules (wasm-smith) and invocations.
    pub generate_time: Duration,
    /// Time per phase and engine.
    pub time: PhaseTimes,
    /// Time reducing findings.
    pub reduce_time: Duration,
}

impl WasmStats {
    fn add(&mut self, r: &WasmCaseResult, calls: usize, cache_checked: bool) {
        self.cases += 1;
        self.instantiated += u64::from(r.instantiated);
        self.ran_export += u64::from(r.completed_calls > 0);
        self.calls += calls as u64;
        self.completed_calls += r.completed_calls as u64;
        self.executed += r.executed;
        self.out_of_fuel += u64::from(r.inconclusive == Some(Inconclusive::Fuel));
        self.stack_exhausted += u64::from(r.inconclusive == Some(Inconclusive::Stack));
        self.cache_checked += u64::from(cache_checked);
        for t in &r.reference_traps {
            *self.traps.entry(t.to_string()).or_default() += 1;
        }
        if let Some(e) = &r.exhausted_on {
            *self.exhausted_on.entry(e.clone()).or_default() += 1;
        }
        self.time.add(&r.time);
    }

    fn merge(&mut self, o: &WasmStats) {
        self.cases += o.cases;
        self.instantiated += o.instantiated;
        self.ran_export += o.ran_export;
        self.calls += o.calls;
        self.completed_calls += o.completed_calls;
        self.executed += o.executed;
        self.out_of_fuel += o.out_of_fuel;
        self.stack_exhausted += o.stack_exhausted;
        self.cache_checked += o.cache_checked;
        for (k, v) in &o.traps {
            *self.traps.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.exhausted_on {
            *self.exhausted_on.entry(k.clone()).or_default() += v;
        }
        self.generate_time += o.generate_time;
        self.time.add(&o.time);
        self.reduce_time += o.reduce_time;
    }

    /// Where the time went: each phase's share of the time spent on Wasm cases.
    pub fn time_line(&self) -> String {
        let t = &self.time;
        let engines = ["wasmi", "interp", "x86_64", "aarch64"];
        let total = self.generate_time
            + t.instantiate.iter().sum::<Duration>()
            + t.run.iter().sum::<Duration>()
            + t.cache_check
            + self.reduce_time;
        let pct = |d: Duration| 100.0 * d.as_secs_f64() / total.as_secs_f64().max(1e-9);
        let mut parts = vec![format!("generate {:.0} %", pct(self.generate_time))];
        for (i, e) in engines.iter().enumerate() {
            parts.push(format!(
                "{e} compile+instantiate {:.0} % run {:.0} %",
                pct(t.instantiate[i]),
                pct(t.run[i])
            ));
        }
        parts.push(format!("cache check {:.0} %", pct(t.cache_check)));
        if !self.reduce_time.is_zero() {
            parts.push(format!("reduce {:.0} %", pct(self.reduce_time)));
        }
        format!("wasm time: {}\n", parts.join(", "))
    }

    /// Share of cases that ran at least one export to completion (the execution rate).
    pub fn execution_rate(&self) -> f64 {
        self.ran_export as f64 / self.cases.max(1) as f64
    }

    /// The report lines.
    pub fn lines(&self) -> String {
        let pct = |n: u64| 100.0 * n as f64 / self.cases.max(1) as f64;
        let list = |m: &std::collections::BTreeMap<String, u64>| {
            let v: Vec<String> = m.iter().map(|(k, n)| format!("{k} {n}")).collect();
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        format!(
            "wasm modules: {} checked, {:.1} % instantiated, {:.1} % ran an export to completion (execution rate)\n\
             wasm calls: {} made, {} returned ({:.1} per module); {:.0} Wasm instructions executed per module (wasmi fuel)\n\
             wasm traps (wasmi, expected by all engines): {}\n\
             wasm inconclusive: {} out of fuel, {} stack exhausted (first on: {}); {} module(s) also checked through a cache store\n",
            self.cases,
            pct(self.instantiated),
            pct(self.ran_export),
            self.calls,
            self.completed_calls,
            self.completed_calls as f64 / self.cases.max(1) as f64,
            self.executed as f64 / self.cases.max(1) as f64,
            list(&self.traps),
            self.out_of_fuel,
            self.stack_exhausted,
            list(&self.exhausted_on),
            self.cache_checked
        )
    }
}

/// What a campaign did.
#[derive(Clone, Debug)]
pub struct CampaignSummary {
    /// Cases checked per class ([`Class::index`]).
    pub counts: [u64; Class::COUNT],
    /// Cases whose generator bytes were refused (not checked).
    pub generator_errors: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Worker threads.
    pub jobs: usize,
    /// Every disagreement, by case index.
    pub failures: Vec<Failure>,
    /// `(index, hash)` of every checked case when recording, by index.
    pub hashes: Vec<(u64, String)>,
    /// What the Wasm cases tested (all zero without Wasm cases).
    pub wasm: WasmStats,
}

impl CampaignSummary {
    /// Cases checked.
    pub fn cases(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Did any case disagree?
    pub fn any_failure(&self) -> bool {
        Class::ALL
            .iter()
            .any(|c| c.is_failure() && self.counts[c.index()] > 0)
    }

    /// Throughput: cases per second per worker thread.
    pub fn cases_per_second_per_core(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        self.cases() as f64 / secs / self.jobs.max(1) as f64
    }

    /// The summary table: one row per class, then totals and throughput.
    pub fn table(&self) -> String {
        let mut s = String::from("outcome            cases\n");
        for c in Class::ALL {
            s.push_str(&format!("{:<18} {:>6}\n", c.name(), self.counts[c.index()]));
        }
        s.push_str(&format!("{:<18} {:>6}\n", "total", self.cases()));
        if self.generator_errors > 0 {
            s.push_str(&format!(
                "(generator refused {} input(s); not counted)\n",
                self.generator_errors
            ));
        }
        if self.wasm.cases > 0 {
            s.push_str(&self.wasm.lines());
            s.push_str(&self.wasm.time_line());
        }
        s.push_str(&format!(
            "{} cases in {:.1} s on {} thread(s): {:.1} cases/s/core ({:.1} cases/s)\n",
            self.cases(),
            self.elapsed.as_secs_f64(),
            self.jobs,
            self.cases_per_second_per_core(),
            self.cases() as f64 / self.elapsed.as_secs_f64().max(1e-9)
        ));
        s
    }
}

/// The progress line.
fn progress_line(counts: &[AtomicU64; Class::COUNT], start: Instant) -> String {
    let n: Vec<u64> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let total: u64 = n.iter().sum();
    let failures: u64 = Class::ALL
        .iter()
        .filter(|c| c.is_failure())
        .map(|c| n[c.index()])
        .sum();
    let secs = start.elapsed().as_secs_f64();
    format!(
        "\r{total} cases ({:.0}/s): {} agree, {} timeout, {failures} disagree  [{:.0} s] ",
        total as f64 / secs.max(1e-9),
        n[Class::Agree.index()],
        n[Class::Timeout.index()],
        secs
    )
}

/// Run a campaign. Errors only when the thread pool cannot be built.
pub fn run_campaign(opts: &CampaignOptions) -> Result<CampaignSummary, String> {
    let jobs = opts.jobs.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("kiln-diff-{i}"))
        .build()
        .map_err(|e| format!("cannot start {jobs} worker threads: {e}"))?;
    let counts: [AtomicU64; Class::COUNT] = Default::default();
    let generator_errors = AtomicU64::new(0);
    let next = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let failures: Mutex<Vec<Failure>> = Mutex::new(Vec::new());
    let hashes: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
    let wasm_stats: Mutex<WasmStats> = Mutex::new(WasmStats::default());
    let reductions = AtomicU64::new(0);
    let start = Instant::now();
    let deadline = match opts.limit {
        Limit::Time(d) => Some(start + d),
        Limit::Cases(_) => None,
    };
    let max_cases = match opts.limit {
        Limit::Cases(n) => n,
        Limit::Time(_) => u64::MAX,
    };
    let worker = || loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let index = next.fetch_add(1, Ordering::Relaxed);
        if index >= max_cases {
            break;
        }
        let checked = if let Some(source) = opts.generator.wasm_source(index) {
            check_wasm_index(opts, index, source, &reductions).map(
                |(class, hash, failure, stats)| {
                    if let Ok(mut w) = wasm_stats.lock() {
                        w.merge(&stats);
                    }
                    (class, hash, failure)
                },
            )
        } else {
            check_kir_index(opts, index, &reductions)
        };
        let Some((class, hash, failure)) = checked else {
            generator_errors.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        counts[class.index()].fetch_add(1, Ordering::Relaxed);
        if opts.record_hashes {
            if let Ok(mut h) = hashes.lock() {
                h.push((index, hash));
            }
        }
        if let Some(mut failure) = failure {
            failure.found_after = start.elapsed();
            if let Ok(mut f) = failures.lock() {
                f.push(failure);
            }
        }
    };
    std::thread::scope(|scope| {
        if opts.progress {
            scope.spawn(|| {
                let mut stderr = std::io::stderr();
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(250));
                    let _ = write!(stderr, "{}", progress_line(&counts, start));
                    let _ = stderr.flush();
                }
                let _ = writeln!(stderr, "{}", progress_line(&counts, start));
            });
        }
        pool.broadcast(|_| worker());
        done.store(true, Ordering::Relaxed);
    });
    let elapsed = start.elapsed();
    let mut failures = failures.into_inner().unwrap_or_default();
    failures.sort_by_key(|f| f.index);
    let mut hashes = hashes.into_inner().unwrap_or_default();
    hashes.sort();
    Ok(CampaignSummary {
        counts: counts.map(|c| c.into_inner()),
        generator_errors: generator_errors.into_inner(),
        elapsed,
        jobs,
        failures,
        hashes,
        wasm: wasm_stats.into_inner().unwrap_or_default(),
    })
}

/// Check IR case `index`: its class, hash and failure record (`None`: the generator
/// refused its bytes).
fn check_kir_index(
    opts: &CampaignOptions,
    index: u64,
    reductions: &AtomicU64,
) -> Option<(Class, String, Option<Failure>)> {
    let (case, variation) = make_case(opts.seed, index, &opts.gen);
    let case = case.ok()?;
    let result = check_case(&case, &variation, &opts.diff);
    let hash = case_hash(&case, &variation);
    let failure = result.verdict.class.is_failure().then(|| {
        record_failure(
            opts,
            index,
            &case,
            &variation,
            &result,
            hash.clone(),
            reductions,
        )
    });
    Some((result.verdict.class, hash, failure))
}

/// Check Wasm case `index`: its class, hash, failure record and statistics (`None`:
/// wasm-smith refused its bytes).
fn check_wasm_index(
    opts: &CampaignOptions,
    index: u64,
    source: WasmSource,
    reductions: &AtomicU64,
) -> Option<(Class, String, Option<Failure>, WasmStats)> {
    let t = Instant::now();
    let (case, variation, cache_check) = make_wasm_case(opts.seed, index, source);
    let generate_time = t.elapsed();
    let case = case.ok()?;
    let settings = variation.engine_settings();
    let result = check_wasm_case(&case, &settings, &opts.wasm, cache_check);
    let mut stats = WasmStats {
        generate_time,
        ..WasmStats::default()
    };
    stats.add(&result, case.calls.len(), cache_check);
    let directive = settings_directive(&settings);
    let hash = wasm_case_hash(&case, &directive);
    let class = result.verdict.class;
    let failure = class.is_failure().then(|| {
        let found_by = format!(
            "kiln diff --generator {} --seed {} (case {index})",
            opts.generator.name(),
            opts.seed
        );
        let sidecar = wasm_sidecar(&case, &directive, cache_check, &result, &found_by);
        let dir = opts.corpus_dir.as_ref().map(|d| d.join("wasm"));
        let saved = match &dir {
            Some(dir) => save_wasm_case(dir, &case, &sidecar).map_err(|e| e.to_string()),
            None => Err("not saved (no corpus directory)".to_string()),
        };
        let reduce = opts.reduce.filter(|_| take_reduction(opts, reductions));
        let reduced = match (&dir, reduce, &saved) {
            (Some(dir), Some(budget), Ok(original)) => {
                let t = Instant::now();
                let (red, red_result) = super::reduce::reduce_wasm_finding(
                    &case,
                    &settings,
                    cache_check,
                    &result.verdict,
                    &opts.wasm,
                    Some(Instant::now() + budget),
                );
                stats.reduce_time += t.elapsed();
                let sizes = format!("{} -> {}", red.before, red.after);
                let mut side =
                    wasm_sidecar(&red.case, &directive, cache_check, &red_result, &found_by);
                side.reduced_from = Some(format!(
                    "{} ({sizes})",
                    original
                        .file_name()
                        .map_or(String::new(), |n| n.to_string_lossy().into_owned())
                ));
                Some(
                    save_wasm_case(dir, &red.case, &side)
                        .map(|p| (p, sizes))
                        .map_err(|e| e.to_string()),
                )
            }
            _ => None,
        };
        Failure {
            index,
            hash: hash.clone(),
            class,
            detail: result.verdict.detail.clone(),
            saved,
            reduced,
            found_after: Duration::ZERO,
        }
    });
    Some((class, hash, failure, stats))
}

/// May this finding be reduced? (Counts it against [`CampaignOptions::max_reductions`].)
fn take_reduction(opts: &CampaignOptions, reductions: &AtomicU64) -> bool {
    reductions.fetch_add(1, Ordering::Relaxed) < opts.max_reductions
}

fn record_failure(
    opts: &CampaignOptions,
    index: u64,
    case: &Case,
    variation: &Variation,
    result: &CaseResult,
    hash: String,
    reductions: &AtomicU64,
) -> Failure {
    let saved = match &opts.corpus_dir {
        Some(dir) => save_case(
            &dir.join("fuzzgen"),
            case,
            variation,
            result,
            &Provenance::Campaign {
                seed: opts.seed,
                index,
            },
        )
        .map_err(|e| e.to_string()),
        None => Err("not saved (no corpus directory)".to_string()),
    };
    let reduce = opts.reduce.filter(|_| take_reduction(opts, reductions));
    let reduced = match (reduce, &saved) {
        (Some(budget), Ok(path)) => Some(reduce_saved_kir(
            path,
            &result.verdict,
            &opts.diff,
            Instant::now() + budget,
        )),
        _ => None,
    };
    Failure {
        index,
        hash,
        class: result.verdict.class,
        detail: result.verdict.detail.clone(),
        saved,
        reduced,
        found_after: Duration::ZERO,
    }
}

/// Reduce the saved `.kir` finding at `path` and write it beside it as
/// `<name>-reduced.kir`; returns that path and the sizes.
pub fn reduce_saved_kir(
    path: &std::path::Path,
    found: &super::Verdict,
    diff: &DiffOptions,
    deadline: Instant,
) -> Result<(PathBuf, String), String> {
    let src = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = crate::filetest::TestFile::parse(path, &src).map_err(|e| e.to_string())?;
    let r = super::reduce::reduce_kir_finding(&file, found, diff, Some(deadline));
    let sizes = format!(
        "{} -> {} instructions",
        r.instructions_before, r.instructions_after
    );
    let stem = path
        .file_stem()
        .map_or(String::new(), |s| s.to_string_lossy().into_owned());
    let out = path.with_file_name(format!("{stem}-reduced.kir"));
    let text = format!(
        "; reduced from {stem}.kir ({sizes}) by kiln reduce: {} on {}\n{}",
        found.class,
        found.engine.map_or("-".to_string(), |e| e.to_string()),
        crate::reduce::kir::render(&r.file)
    );
    std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok((out, sizes))
}

/// Is stderr a terminal (so a live progress line makes sense)?
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_inputs_depend_on_seed_and_index_only() {
        assert_eq!(case_seed(1, 5), case_seed(1, 5));
        assert_ne!(case_seed(1, 5), case_seed(1, 6));
        assert_ne!(case_seed(1, 5), case_seed(2, 5));
        let b = case_bytes(case_seed(3, 0));
        assert!((256..4096).contains(&b.len()));
        assert_eq!(b, case_bytes(case_seed(3, 0)));
    }

    #[test]
    fn same_seed_and_count_give_the_same_cases_whatever_the_jobs() {
        let run = |jobs| {
            run_campaign(&CampaignOptions {
                seed: 7,
                limit: Limit::Cases(40),
                jobs,
                record_hashes: true,
                ..CampaignOptions::default()
            })
            .unwrap()
        };
        let (a, b) = (run(1), run(4));
        assert_eq!(a.hashes.len() as u64 + a.generator_errors, 40);
        assert_eq!(a.hashes, b.hashes);
        assert_eq!(a.counts, b.counts);
        assert_eq!(b.jobs, 4);
        let c = run_campaign(&CampaignOptions {
            seed: 8,
            limit: Limit::Cases(40),
            record_hashes: true,
            ..CampaignOptions::default()
        })
        .unwrap();
        assert_ne!(a.hashes, c.hashes);
    }

    #[test]
    fn smoke_fifty_cases_agree_and_the_table_lists_every_class() {
        let s = run_campaign(&CampaignOptions {
            seed: 1,
            limit: Limit::Cases(50),
            jobs: 2,
            ..CampaignOptions::default()
        })
        .unwrap();
        assert_eq!(s.cases() + s.generator_errors, 50);
        assert!(!s.any_failure(), "{}\n{:#?}", s.table(), s.failures);
        let t = s.table();
        for c in Class::ALL {
            assert!(t.contains(c.name()), "{t}");
        }
        assert!(t.contains("cases/s/core"), "{t}");
    }

    #[test]
    fn wasm_cases_agree_and_are_the_same_whatever_the_jobs() {
        let run = |jobs, generator| {
            run_campaign(&CampaignOptions {
                seed: 4,
                limit: Limit::Cases(24),
                jobs,
                generator,
                record_hashes: true,
                ..CampaignOptions::default()
            })
            .unwrap()
        };
        let (a, b) = (run(1, Generator::Wasm), run(2, Generator::Wasm));
        assert!(!a.any_failure(), "{}\n{:#?}", a.table(), a.failures);
        assert_eq!(a.hashes, b.hashes);
        assert_eq!(a.counts, b.counts);
        assert_eq!(a.wasm.cases + a.generator_errors, 24);
        assert!(a.wasm.instantiated > 0 && a.wasm.ran_export > 0);
        let t = a.table();
        assert!(
            t.contains("execution rate") && t.contains("wasm time:"),
            "{t}"
        );
        let (f1, f2) = (run(1, Generator::WasmFlow), run(2, Generator::WasmFlow));
        assert!(!f1.any_failure(), "{}\n{:#?}", f1.table(), f1.failures);
        assert_eq!(f1.hashes, f2.hashes);
        // The flow generator never refuses bytes, never traps and always ends.
        assert_eq!(f1.wasm.cases, 24);
        assert_eq!(f1.counts[Class::Agree.index()], 24);
        assert_ne!(f1.hashes, a.hashes);
        // `all` takes turns: IR at indices 3k, wasm-smith at 3k + 1, wasm-flow at 3k + 2.
        let all = run(2, Generator::All);
        assert_eq!(all.wasm.cases + all.generator_errors, 16);
        assert_eq!(Generator::parse("wasm"), Ok(Generator::Wasm));
        assert_eq!(Generator::parse("wasm-flow"), Ok(Generator::WasmFlow));
        assert!(Generator::parse("wat")
            .unwrap_err()
            .contains("kir, wasm, wasm-flow, all"));
    }

    /// 150 fixed `wasm-flow` cases agree on every engine. With either of two translator
    /// bugs planted — the per-construct write scan ignoring `local.tee`, or constructs in
    /// dead code not counted — this test fails (the spec suite misses the second).
    #[test]
    fn wasm_flow_cases_agree() {
        let s = run_campaign(&CampaignOptions {
            seed: 1701,
            limit: Limit::Cases(150),
            jobs: 2,
            generator: Generator::WasmFlow,
            ..CampaignOptions::default()
        })
        .unwrap();
        assert!(
            !s.any_failure() && s.counts[Class::Timeout.index()] == 0,
            "{}\n{:#?}",
            s.table(),
            s.failures
        );
        assert_eq!(s.counts[Class::Agree.index()], 150);
    }

    #[test]
    fn a_time_limit_stops() {
        let s = run_campaign(&CampaignOptions {
            limit: Limit::Time(Duration::from_millis(300)),
            jobs: 2,
            ..CampaignOptions::default()
        })
        .unwrap();
        assert!(s.elapsed < Duration::from_secs(20));
        assert!(s.cases() > 0);
    }
}
