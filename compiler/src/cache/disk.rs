//! [`DiskStore`]: one file per entry in a directory, shareable by threads and processes.
//!
//! Layout: `<dir>/<64 hex digits of the key>.kce`, plus the counters accumulated across
//! processes in `<dir>/stats.kcs` and its lock `<dir>/stats.lock` ([`super::totals`]).
//! Other files in the directory are left alone (never listed, evicted or cleared), except
//! this store's own temporary files (`<dir>/.tmp-*`).
//!
//! Invariants:
//! - an entry file is only ever created by renaming a completely written temporary file
//!   from the same directory, and rename is atomic: a reader sees the old file, the new
//!   file, or none — never a partial one — even with several processes writing the same
//!   key at once (the last rename wins; both wrote a valid entry). A crash can leave a
//!   temporary file behind (removed by [`DiskStore::clear`] and by eviction once it is an
//!   hour old) and, after a power loss, a torn entry, which the entry checksum refuses;
//! - with a size cap, inserting keeps the directory's entries near the cap: when the
//!   store's running estimate of the total exceeds it, the least recently used entries
//!   (oldest modification time: a hit refreshes it) are deleted until the total is at most
//!   90 % of the cap. With several processes sharing a directory the estimate is per
//!   process, so the cap is approximate (each eviction rescans the directory);
//! - every I/O error names the path involved; [`CacheStore::get`] reports none (a file
//!   that cannot be read is a miss) but records it in the statistics;
//! - what a store counted is added to the directory's totals when it is dropped (or by
//!   [`DiskStore::persist_stats`]), each count exactly once.

use super::atomic_file::write_then_rename;
use super::totals::CacheTotals;
use super::{CacheKey, CacheStats, CacheStatsSnapshot, CacheStore, StoreError};
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// File extension of entries.
pub const ENTRY_EXTENSION: &str = "kce";
/// Prefix of temporary files.
const TMP_PREFIX: &str = ".tmp-";
/// Larger files under an entry name are not read (they are refused as entries).
const MAX_ENTRY_BYTES: u64 = 1 << 30;
/// Temporary files older than this are assumed abandoned by a crashed writer.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// An on-disk cache store. See the module docs.
#[derive(Debug)]
pub struct DiskStore {
    dir: PathBuf,
    max_bytes: Option<u64>,
    verify: bool,
    stats: CacheStats,
    approx_bytes: AtomicU64,
    evicting: AtomicBool,
    tmp_counter: AtomicU64,
    /// The statistics already added to the directory's totals.
    persisted: Mutex<CacheStatsSnapshot>,
}

/// One entry file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskEntry {
    /// Its path.
    pub path: PathBuf,
    /// The key its name says.
    pub key: CacheKey,
    /// Its size in bytes.
    pub len: u64,
    /// Last modification (a hit refreshes it when the store has a size cap).
    pub modified: SystemTime,
}

/// What a cache directory holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Entry files.
    pub entries: u64,
    /// Their total size.
    pub bytes: u64,
    /// Temporary files (writes in progress, or left by a crash).
    pub temp_files: u64,
}

impl DiskStore {
    /// Open (creating it if needed) the cache directory `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        match fs::metadata(&dir) {
            Ok(m) if !m.is_dir() => return Err(StoreError::NotADirectory(dir)),
            Ok(_) => {}
            Err(_) => fs::create_dir_all(&dir)
                .map_err(|e| StoreError::io("create the cache directory", &dir, e))?,
        }
        Self::with_dir(dir)
    }

    /// Open the existing cache directory `dir` (an error if it does not exist).
    pub fn open_existing(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        match fs::metadata(&dir) {
            Ok(m) if m.is_dir() => Self::with_dir(dir),
            Ok(_) => Err(StoreError::NotADirectory(dir)),
            Err(e) => Err(StoreError::io("open the cache directory", &dir, e)),
        }
    }

    fn with_dir(dir: PathBuf) -> Result<Self, StoreError> {
        let store = DiskStore {
            dir,
            max_bytes: None,
            verify: false,
            stats: CacheStats::new(),
            approx_bytes: AtomicU64::new(0),
            evicting: AtomicBool::new(false),
            tmp_counter: AtomicU64::new(0),
            persisted: Mutex::new(CacheStatsSnapshot::default()),
        };
        let usage = store.usage()?;
        store.approx_bytes.store(usage.bytes, Ordering::Relaxed);
        Ok(store)
    }

    /// Cap the entries' total size at `max_bytes` (`None`: unbounded, the default).
    pub fn with_max_bytes(mut self, max_bytes: Option<u64>) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Verify mode: every hit is also compiled fresh and compared.
    pub fn with_verify(mut self, verify: bool) -> Self {
        self.verify = verify;
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The size cap, if any.
    pub fn max_bytes(&self) -> Option<u64> {
        self.max_bytes
    }

    /// Where the entry for `key` lives.
    pub fn entry_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{key}.{ENTRY_EXTENSION}"))
    }

    fn read_dir(&self) -> Result<Vec<(PathBuf, String, fs::Metadata)>, StoreError> {
        let rd = fs::read_dir(&self.dir)
            .map_err(|e| StoreError::io("list the cache directory", &self.dir, e))?;
        let mut out = Vec::new();
        for item in rd {
            let item =
                item.map_err(|e| StoreError::io("list the cache directory", &self.dir, e))?;
            let path = item.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            // A file removed meanwhile (another process evicting) is skipped.
            let Ok(meta) = item.metadata() else {
                continue;
            };
            if meta.is_file() {
                out.push((path, name, meta));
            }
        }
        Ok(out)
    }

    fn key_of(name: &str) -> Option<CacheKey> {
        let stem = name.strip_suffix(ENTRY_EXTENSION)?.strip_suffix('.')?;
        CacheKey::from_hex(stem)
    }

    /// Every entry file, sorted by path.
    pub fn entries(&self) -> Result<Vec<DiskEntry>, StoreError> {
        let mut out: Vec<DiskEntry> = self
            .read_dir()?
            .into_iter()
            .filter_map(|(path, name, meta)| {
                Some(DiskEntry {
                    key: Self::key_of(&name)?,
                    path,
                    len: meta.len(),
                    modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                })
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Count entries, their bytes, and temporary files.
    pub fn usage(&self) -> Result<DiskUsage, StoreError> {
        let mut u = DiskUsage::default();
        for (_, name, meta) in self.read_dir()? {
            if Self::key_of(&name).is_some() {
                u.entries += 1;
                u.bytes += meta.len();
            } else if name.starts_with(TMP_PREFIX) {
                u.temp_files += 1;
            }
        }
        Ok(u)
    }

    /// Add what this store counted since it last persisted to the directory's totals
    /// (done when the store is dropped, too); returns the new totals. Nothing is written
    /// when nothing was counted. An unreadable totals file is replaced by fresh counts and
    /// recorded as a problem in the statistics.
    pub fn persist_stats(&self) -> Result<Option<CacheTotals>, StoreError> {
        let mut persisted = self.persisted.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.stats.snapshot();
        let mut delta = CacheTotals::default();
        delta.add_delta(&now, &persisted);
        if delta == CacheTotals::default() {
            return Ok(None);
        }
        let (totals, problem) = CacheTotals::update(&self.dir, &now, &persisted)?;
        if let Some(p) = problem {
            self.stats.record_problem(p.to_string());
        }
        *persisted = now;
        Ok(Some(totals))
    }

    /// The counters accumulated in this directory by every process (`None`: nothing
    /// counted since it was created or cleared).
    pub fn totals(&self) -> Result<Option<CacheTotals>, StoreError> {
        CacheTotals::read(&self.dir)
    }

    /// Delete every entry and temporary file, and the accumulated counters; returns how
    /// many files were removed. Other files are left alone.
    pub fn clear(&self) -> Result<u64, StoreError> {
        CacheTotals::clear(&self.dir)?;
        *self.persisted.lock().unwrap_or_else(|p| p.into_inner()) = self.stats.snapshot();
        let mut n = 0;
        for (path, name, _) in self.read_dir()? {
            if Self::key_of(&name).is_some() || name.starts_with(TMP_PREFIX) {
                match fs::remove_file(&path) {
                    Ok(()) => n += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::io("remove", &path, e)),
                }
            }
        }
        self.approx_bytes.store(0, Ordering::Relaxed);
        Ok(n)
    }

    /// Delete least recently used entries until their total is at most `target` bytes,
    /// and temporary files older than an hour; returns the number of entries deleted.
    pub fn evict_to(&self, target: u64) -> Result<u64, StoreError> {
        let now = SystemTime::now();
        let mut entries = Vec::new();
        for (path, name, meta) in self.read_dir()? {
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if Self::key_of(&name).is_some() {
                entries.push((modified, path, meta.len()));
            } else if name.starts_with(TMP_PREFIX)
                && now.duration_since(modified).unwrap_or_default() > STALE_TMP
            {
                let _ = fs::remove_file(&path);
            }
        }
        entries.sort();
        let mut total: u64 = entries.iter().map(|e| e.2).sum();
        let mut removed = 0;
        for (_, path, len) in &entries {
            if total <= target {
                break;
            }
            match fs::remove_file(path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("evict", path, e)),
            }
            total = total.saturating_sub(*len);
        }
        self.approx_bytes.store(total, Ordering::Relaxed);
        self.stats.record_evictions(removed);
        Ok(removed)
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tmp = self.dir.join(format!(
            "{TMP_PREFIX}{}-{}-{nanos}",
            std::process::id(),
            self.tmp_counter.fetch_add(1, Ordering::Relaxed)
        ));
        write_then_rename(&tmp, path, bytes)
            .map_err(|e| StoreError::io("write the cache entry", path, e))
    }
}

impl Drop for DiskStore {
    /// Persist what was counted (best effort: a drop cannot report an error).
    fn drop(&mut self) {
        let _ = self.persist_stats();
    }
}

impl CacheStore for DiskStore {
    fn get(&self, key: &CacheKey) -> Option<Vec<u8>> {
        let path = self.entry_path(key);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.stats
                    .record_problem(format!("{}: cannot open: {e}", path.display()));
                return None;
            }
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len > MAX_ENTRY_BYTES {
            // Far too large to be ours: hand back nothing readable so it is refused and
            // overwritten.
            return Some(Vec::new());
        }
        let mut buf = Vec::with_capacity(len as usize);
        if let Err(e) = file.read_to_end(&mut buf) {
            self.stats
                .record_problem(format!("{}: cannot read: {e}", path.display()));
            return None;
        }
        if self.max_bytes.is_some() {
            // Least-recently-used order: a hit makes the entry young again. Best effort.
            let _ = file.set_modified(SystemTime::now());
        }
        Some(buf)
    }

    fn insert(&self, key: &CacheKey, entry: Vec<u8>) -> Result<(), StoreError> {
        let path = self.entry_path(key);
        self.write_atomically(&path, &entry)?;
        if let Some(max) = self.max_bytes {
            let total = self
                .approx_bytes
                .fetch_add(entry.len() as u64, Ordering::Relaxed)
                + entry.len() as u64;
            if total > max && !self.evicting.swap(true, Ordering::Acquire) {
                let r = self.evict_to(max - max / 10);
                self.evicting.store(false, Ordering::Release);
                r?;
            }
        }
        Ok(())
    }

    fn stats(&self) -> &CacheStats {
        &self.stats
    }

    fn verify(&self) -> bool {
        self.verify
    }

    fn describe(&self) -> String {
        format!("disk store at {}", self.dir.display())
    }
}
