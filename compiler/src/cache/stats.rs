//! Cache statistics: lock-free counters shared by every thread using one store.
//!
//! Invariants: counters only grow (until [`CacheStats::reset`]); every lookup is counted as
//! exactly one hit or one miss (`lookups == hits + misses`), and a rejected entry (corrupt,
//! truncated, foreign, wrong version) is also a miss. Times are summed over threads, so
//! with parallel compiles they can exceed wall-clock time.

use core::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Counters of one cache store. All methods take `&self`.
#[derive(Debug, Default)]
pub struct CacheStats {
    lookups: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    inserts: AtomicU64,
    insert_errors: AtomicU64,
    rejected: AtomicU64,
    verified: AtomicU64,
    evictions: AtomicU64,
    bytes_loaded: AtomicU64,
    bytes_stored: AtomicU64,
    key_nanos: AtomicU64,
    load_nanos: AtomicU64,
    store_nanos: AtomicU64,
    last_problem: Mutex<Option<String>>,
}

/// A point-in-time copy of [`CacheStats`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheStatsSnapshot {
    /// Keys looked up.
    pub lookups: u64,
    /// Lookups that found a valid entry.
    pub hits: u64,
    /// Lookups that did not (including rejected entries).
    pub misses: u64,
    /// Entries written.
    pub inserts: u64,
    /// Entries that could not be written (the compile still succeeded).
    pub insert_errors: u64,
    /// Entries found but refused: corrupt, truncated, foreign or of another version.
    pub rejected: u64,
    /// Hits re-checked against a fresh compile (verify mode).
    pub verified: u64,
    /// Entries removed to respect a size cap.
    pub evictions: u64,
    /// Entry bytes read.
    pub bytes_loaded: u64,
    /// Entry bytes written.
    pub bytes_stored: u64,
    /// Time computing keys.
    pub key_time: Duration,
    /// Time loading entries: the store's `get`, decoding, and finalizing a hit, and
    /// looking for translation memos.
    pub load_time: Duration,
    /// Time storing entries: encoding and the store's `insert`, of code entries and of
    /// translation memos.
    pub store_time: Duration,
    /// The last rejected entry or failed insert, described (for diagnostics).
    pub last_problem: Option<String>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl CacheStats {
    /// All zero.
    pub fn new() -> Self {
        Self::default()
    }

    fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// A key was computed in `d`.
    pub fn record_key(&self, d: Duration) {
        Self::add(&self.key_nanos, nanos(d));
    }

    /// A lookup found a valid entry of `bytes` bytes, loaded in `d`.
    pub fn record_hit(&self, bytes: usize, d: Duration) {
        Self::add(&self.lookups, 1);
        Self::add(&self.hits, 1);
        Self::add(&self.bytes_loaded, bytes as u64);
        Self::add(&self.load_nanos, nanos(d));
    }

    /// A lookup found nothing usable (`rejected`: an entry of `bytes` bytes was refused
    /// because of `why`), after `d`.
    pub fn record_miss(&self, rejected: Option<(usize, String)>, d: Duration) {
        Self::add(&self.lookups, 1);
        Self::add(&self.misses, 1);
        Self::add(&self.load_nanos, nanos(d));
        if let Some((bytes, why)) = rejected {
            Self::add(&self.rejected, 1);
            Self::add(&self.bytes_loaded, bytes as u64);
            self.record_problem(why);
        }
    }

    /// An entry of `bytes` bytes was stored in `d` (`Err`: it could not be, because of
    /// the message).
    pub fn record_insert(&self, result: Result<usize, String>, d: Duration) {
        Self::add(&self.store_nanos, nanos(d));
        match result {
            Ok(bytes) => {
                Self::add(&self.inserts, 1);
                Self::add(&self.bytes_stored, bytes as u64);
            }
            Err(why) => {
                Self::add(&self.insert_errors, 1);
                self.record_problem(why);
            }
        }
    }

    /// Time spent loading a module's translation memo (no lookup is counted: the functions
    /// it serves are counted as hits, the others as the stencil lookups that follow).
    pub fn record_memo_load(&self, d: Duration) {
        Self::add(&self.load_nanos, nanos(d));
    }

    /// Time spent writing a module's translation memo (no insert is counted: `inserts`
    /// counts code entries, one per miss).
    pub fn record_memo_store(&self, d: Duration) {
        Self::add(&self.store_nanos, nanos(d));
    }

    /// A hit was verified against a fresh compile.
    pub fn record_verified(&self) {
        Self::add(&self.verified, 1);
    }

    /// `n` entries were evicted.
    pub fn record_evictions(&self, n: u64) {
        Self::add(&self.evictions, n);
    }

    /// Remember `why` as the last problem (a refused entry, a failed read or write).
    pub fn record_problem(&self, why: String) {
        let mut g = self.last_problem.lock().unwrap_or_else(|p| p.into_inner());
        *g = Some(why);
    }

    /// The current values.
    pub fn snapshot(&self) -> CacheStatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStatsSnapshot {
            lookups: get(&self.lookups),
            hits: get(&self.hits),
            misses: get(&self.misses),
            inserts: get(&self.inserts),
            insert_errors: get(&self.insert_errors),
            rejected: get(&self.rejected),
            verified: get(&self.verified),
            evictions: get(&self.evictions),
            bytes_loaded: get(&self.bytes_loaded),
            bytes_stored: get(&self.bytes_stored),
            key_time: Duration::from_nanos(get(&self.key_nanos)),
            load_time: Duration::from_nanos(get(&self.load_nanos)),
            store_time: Duration::from_nanos(get(&self.store_nanos)),
            last_problem: self
                .last_problem
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    /// Set every counter back to zero.
    pub fn reset(&self) {
        for c in [
            &self.lookups,
            &self.hits,
            &self.misses,
            &self.inserts,
            &self.insert_errors,
            &self.rejected,
            &self.verified,
            &self.evictions,
            &self.bytes_loaded,
            &self.bytes_stored,
            &self.key_nanos,
            &self.load_nanos,
            &self.store_nanos,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        *self.last_problem.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl fmt::Display for CacheStatsSnapshot {
    /// One line: `lookups 10, hits 8 (80.0%), misses 2, ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = if self.lookups == 0 {
            0.0
        } else {
            100.0 * self.hits as f64 / self.lookups as f64
        };
        write!(
            f,
            "lookups {}, hits {} ({pct:.1}%), misses {}, inserts {}, rejected {}",
            self.lookups, self.hits, self.misses, self.inserts, self.rejected
        )?;
        if self.insert_errors > 0 {
            write!(f, ", insert errors {}", self.insert_errors)?;
        }
        if self.verified > 0 {
            write!(f, ", verified {}", self.verified)?;
        }
        if self.evictions > 0 {
            write!(f, ", evictions {}", self.evictions)?;
        }
        write!(
            f,
            "; bytes loaded {}, stored {}; time: key {:.3} ms, load {:.3} ms, store {:.3} ms",
            self.bytes_loaded,
            self.bytes_stored,
            self.key_time.as_secs_f64() * 1e3,
            self.load_time.as_secs_f64() * 1e3,
            self.store_time.as_secs_f64() * 1e3
        )
    }
}
