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
//! - the summary counts every checked case in exactly one class.

use super::materialize::{case_hash, save_case, Provenance};
use super::source::{generate, GenConfig};
use super::{check_case, Case, CaseResult, Class, DiffOptions, Variation};
use arbitrary::Unstructured;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// SplitMix64: the next value of the stream `state`.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of case `index` of a campaign with `seed`.
pub fn case_seed(seed: u64, index: u64) -> u64 {
    let mut s = seed;
    let a = splitmix64(&mut s);
    let mut t = a ^ index.wrapping_mul(0xd6e8_feb8_6659_fd93);
    splitmix64(&mut t)
}

/// The generator input of a case seed: 256 to 4095 bytes of a SplitMix64 stream.
pub fn case_bytes(case_seed: u64) -> Vec<u8> {
    let mut s = case_seed;
    let len = 256 + (splitmix64(&mut s) % 3840) as usize;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&splitmix64(&mut s).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Case `index` of `seed`: the generated case (or why the generator refused the bytes)
/// and its variation.
pub fn make_case(seed: u64, index: u64, gen: &GenConfig) -> (Result<Case, String>, Variation) {
    let cs = case_seed(seed, index);
    let bytes = case_bytes(cs);
    let variation = Variation::from_seed(cs);
    let case = generate(&mut Unstructured::new(&bytes), gen)
        .map(Case::from)
        .map_err(|e| e.to_string());
    (case, variation)
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
    /// Generator configuration.
    pub gen: GenConfig,
    /// Fuel.
    pub diff: DiffOptions,
    /// Where failures are saved (`None`: not saved).
    pub corpus_dir: Option<PathBuf>,
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
            gen: GenConfig::default(),
            diff: DiffOptions::default(),
            corpus_dir: None,
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
}

/// What a campaign did.
#[derive(Clone, Debug)]
pub struct CampaignSummary {
    /// Cases checked per class ([`Class::index`]).
    pub counts: [u64; 8],
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
fn progress_line(counts: &[AtomicU64; 8], start: Instant) -> String {
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
    let counts: [AtomicU64; 8] = Default::default();
    let generator_errors = AtomicU64::new(0);
    let next = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let failures: Mutex<Vec<Failure>> = Mutex::new(Vec::new());
    let hashes: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
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
        let (case, variation) = make_case(opts.seed, index, &opts.gen);
        let case = match case {
            Ok(c) => c,
            Err(_) => {
                generator_errors.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        let result = check_case(&case, &variation, &opts.diff);
        counts[result.verdict.class.index()].fetch_add(1, Ordering::Relaxed);
        let hash = case_hash(&case, &variation);
        if opts.record_hashes {
            if let Ok(mut h) = hashes.lock() {
                h.push((index, hash.clone()));
            }
        }
        if result.verdict.class.is_failure() {
            let failure = record_failure(opts, index, &case, &variation, &result, hash);
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
    })
}

fn record_failure(
    opts: &CampaignOptions,
    index: u64,
    case: &Case,
    variation: &Variation,
    result: &CaseResult,
    hash: String,
) -> Failure {
    let saved = match &opts.corpus_dir {
        Some(dir) => save_case(
            dir,
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
    Failure {
        index,
        hash,
        class: result.verdict.class,
        detail: result.verdict.detail.clone(),
        saved,
    }
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
