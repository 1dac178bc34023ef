//! The counters of a cache directory accumulated across processes (`kiln cache stats`, as
//! `ccache -s` shows them): every [`DiskStore`](super::DiskStore) adds what it counted to
//! `<dir>/stats.kcs` when it persists its statistics (when dropped, or explicitly).
//!
//! Format: text, one `name value` line per counter between a `kiln-cache-stats 1` header
//! and an `end` line.
//!
//! Invariants:
//! - updates are serialized by an exclusive lock (`flock`) on `<dir>/stats.lock`, held
//!   while the file is read, added to and replaced; the replacement is a complete
//!   temporary file renamed over the old one. Concurrent processes never lose counts, and
//!   a reader (which takes no lock) never sees a partial file;
//! - a store adds only what it counted since it last persisted (a delta), so persisting
//!   twice never counts anything twice;
//! - a file that does not parse is an error naming it when read; an update replaces it
//!   with fresh counts (its counts are lost, never misread) and says so.

use super::stats::CacheStatsSnapshot;
use super::StoreError;
use core::fmt;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The totals file, in the cache directory.
pub const TOTALS_FILE: &str = "stats.kcs";
/// The lock file that serializes updates of [`TOTALS_FILE`].
pub const TOTALS_LOCK: &str = "stats.lock";
const HEADER: &str = "kiln-cache-stats 1";

/// Counters summed over every process that used a cache directory since it was created or
/// last cleared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheTotals {
    /// When counting started (seconds since the Unix epoch).
    pub since: u64,
    /// Keys looked up.
    pub lookups: u64,
    /// Lookups that found a valid entry.
    pub hits: u64,
    /// Lookups that did not (rejected entries included).
    pub misses: u64,
    /// Entries found but refused (corrupt, truncated, foreign, another version).
    pub rejected: u64,
    /// Entries written.
    pub inserts: u64,
    /// Entries that could not be written.
    pub insert_errors: u64,
    /// Entries evicted by a size cap.
    pub evictions: u64,
    /// Entry bytes read.
    pub bytes_loaded: u64,
    /// Entry bytes written.
    pub bytes_stored: u64,
}

/// The counter fields, by name, in file order.
macro_rules! counters {
    ($m:ident, $t:expr) => {
        $m!(
            $t,
            lookups,
            hits,
            misses,
            rejected,
            inserts,
            insert_errors,
            evictions,
            bytes_loaded,
            bytes_stored
        )
    };
}

impl CacheTotals {
    /// `self + (now - before)`: what a store counted between two snapshots, added.
    pub fn add_delta(&mut self, now: &CacheStatsSnapshot, before: &CacheStatsSnapshot) {
        macro_rules! add {
            ($t:expr, $($f:ident),*) => {
                $( $t.$f = $t.$f.saturating_add(now.$f.saturating_sub(before.$f)); )*
            };
        }
        counters!(add, self);
    }

    /// The file's text.
    fn encode(&self) -> String {
        let mut s = format!("{HEADER}\nsince {}\n", self.since);
        macro_rules! put {
            ($t:expr, $($f:ident),*) => {
                $( s.push_str(&format!("{} {}\n", stringify!($f), $t.$f)); )*
            };
        }
        counters!(put, self);
        s.push_str("end\n");
        s
    }

    /// Parse the file's text; `None` unless it is exactly what [`Self::encode`] writes.
    fn decode(text: &str) -> Option<CacheTotals> {
        let mut lines = text.lines();
        if lines.next()? != HEADER {
            return None;
        }
        let mut value = |name: &str| -> Option<u64> {
            let (n, v) = lines.next()?.split_once(' ')?;
            if n != name {
                return None;
            }
            v.parse().ok()
        };
        let mut t = CacheTotals {
            since: value("since")?,
            ..CacheTotals::default()
        };
        macro_rules! get {
            ($t:expr, $($f:ident),*) => {
                $( $t.$f = value(stringify!($f))?; )*
            };
        }
        counters!(get, t);
        (lines.next()? == "end" && lines.next().is_none()).then_some(t)
    }

    /// Read the totals of the cache directory `dir` (`None` when nothing was counted yet).
    pub fn read(dir: &Path) -> Result<Option<CacheTotals>, StoreError> {
        let path = dir.join(TOTALS_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => Self::decode(&text).map(Some).ok_or_else(|| corrupt(&path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("read the cache statistics", &path, e)),
        }
    }

    /// Add `now - before` to the totals of `dir` under the lock. Returns the new totals
    /// and, when the old file was unreadable, the error that says so (it was replaced).
    pub fn update(
        dir: &Path,
        now: &CacheStatsSnapshot,
        before: &CacheStatsSnapshot,
    ) -> Result<(CacheTotals, Option<StoreError>), StoreError> {
        Self::locked(dir, |old| {
            let (mut t, problem) = match old {
                Ok(Some(t)) => (t, None),
                Ok(None) => (Self::fresh(), None),
                Err(e) => (Self::fresh(), Some(e)),
            };
            t.add_delta(now, before);
            Ok((Some(t), (t, problem)))
        })
    }

    /// Delete the totals of `dir` (counting starts again), under the lock.
    pub fn clear(dir: &Path) -> Result<(), StoreError> {
        Self::locked(dir, |_| Ok((None, ())))
    }

    fn fresh() -> CacheTotals {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        CacheTotals {
            since,
            ..CacheTotals::default()
        }
    }

    /// Run `f` on the current totals with the lock held; write what it returns (`None`:
    /// delete the file).
    fn locked<R>(
        dir: &Path,
        f: impl FnOnce(
            Result<Option<CacheTotals>, StoreError>,
        ) -> Result<(Option<CacheTotals>, R), StoreError>,
    ) -> Result<R, StoreError> {
        let lock_path = dir.join(TOTALS_LOCK);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::io("open the statistics lock", &lock_path, e))?;
        lock.lock()
            .map_err(|e| StoreError::io("lock the statistics", &lock_path, e))?;
        let path = dir.join(TOTALS_FILE);
        let (new, r) = f(Self::read(dir))?;
        match new {
            Some(t) => write_replacing(&path, t.encode().as_bytes())?,
            None => match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("remove", &path, e)),
            },
        }
        // The lock is released when `lock` is closed.
        drop(lock);
        Ok(r)
    }

    /// Hits as a percentage of lookups.
    pub fn hit_rate(&self) -> f64 {
        if self.lookups == 0 {
            0.0
        } else {
            100.0 * self.hits as f64 / self.lookups as f64
        }
    }
}

fn corrupt(path: &Path) -> StoreError {
    StoreError::io(
        "read the cache statistics",
        path,
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a kiln cache statistics file (it is replaced by fresh counts at the next update)",
        ),
    )
}

/// Write `bytes` to a temporary file beside `path` and rename it over `path`.
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp: PathBuf = path.with_extension(format!("tmp-{}", std::process::id()));
    super::atomic_file::write_then_rename(&tmp, path, bytes)
        .map_err(|e| StoreError::io("write the cache statistics", path, e))
}

impl fmt::Display for CacheTotals {
    /// `lookups 10, hits 8 (80.0 %), misses 2 (1 rejected), inserts 2, ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "lookups {}, hits {} ({:.1} %), misses {} ({} rejected), inserts {}",
            self.lookups,
            self.hits,
            self.hit_rate(),
            self.misses,
            self.rejected,
            self.inserts
        )?;
        if self.insert_errors > 0 {
            write!(f, " ({} failed)", self.insert_errors)?;
        }
        write!(
            f,
            ", evictions {}; bytes loaded {}, stored {}",
            self.evictions, self.bytes_loaded, self.bytes_stored
        )
    }
}
