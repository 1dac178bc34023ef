//! The compilation cache: content-addressed stencil-form machine code.
//!
//! The cached unit is what the backend makes of a [`FunctionStencil`](crate::ir::FunctionStencil):
//! [`CompiledCodeStencil`]. A function's parameters (its name, callee names, base source
//! location) never enter the key; a hit is decoded and finalized with them
//! ([`CompiledCodeStencil::apply_params`]), so renaming callees or moving a function within
//! its module still hits.
//!
//! - [`key`]: [`CacheKey`] = SHA-256 over a canonical encoding of the key-format version,
//!   the compiler version, the target triple, the settings fingerprint and the stencil.
//! - [`entry`]: the versioned, checksummed binary format of an entry.
//! - [`memo`]: translation memos, which let a warm Wasm recompile skip translating the
//!   functions it has seen (keyed by body bytes and module environment).
//! - [`CacheStore`]: where entries live — [`MemoryStore`], [`DiskStore`] — and their
//!   [`CacheStats`].
//! - [`compile_cached`] (reached through
//!   [`Compiler::compile_function_cached`](crate::Compiler::compile_function_cached)):
//!   key → lookup → decode → finalize, or compile → encode → insert.
//!
//! Invariants:
//! - a cached compile returns exactly what a fresh compile returns (bytes, relocations,
//!   traps, source locations, call sites, frame size). Compile *errors* are never cached;
//! - an entry that is corrupt, truncated, of another format or compiler version, or
//!   written for another key is a *miss*: the function is compiled afresh, the entry
//!   overwritten, and the rejection counted ([`CacheStatsSnapshot::rejected`]). Never a
//!   panic, never wrong code;
//! - a store that cannot be written to never fails a compile (counted as an insert error);
//! - in verify mode ([`CacheStore::verify`]) every hit is also compiled fresh and a
//!   difference is [`CodegenError::CacheMismatch`], which prints both;
//! - `lookups == hits + misses` in the statistics of every store used only through here.

mod atomic_file;
pub mod disk;
pub mod entry;
pub mod key;
pub mod memo;
pub mod memory;
pub mod stats;
pub mod totals;

pub use disk::DiskStore;
pub use entry::{decode_entry, encode_entry, EntryError};
pub use key::{compute_key, CacheKey, KeyPrefix, COMPILER_VERSION, KEY_FORMAT_VERSION};
pub use memory::MemoryStore;
pub use stats::{CacheStats, CacheStatsSnapshot};
pub use totals::CacheTotals;

use crate::ir::Function;
use crate::machinst::{CodegenError, CompiledCode, CompiledCodeStencil};
use core::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Where cache entries live. Shareable across threads: parallel compiles may call every
/// method at once.
pub trait CacheStore: Send + Sync {
    /// The entry stored under `key`, if any. Stores return bytes as stored and never
    /// validate them; a store that cannot read an entry returns `None`.
    fn get(&self, key: &CacheKey) -> Option<Vec<u8>>;

    /// Store `entry` under `key`, replacing any previous entry.
    fn insert(&self, key: &CacheKey, entry: Vec<u8>) -> Result<(), StoreError>;

    /// This store's statistics.
    fn stats(&self) -> &CacheStats;

    /// Verify mode: should every hit also be compiled fresh and compared?
    fn verify(&self) -> bool {
        false
    }

    /// A short description for messages and `Debug` output.
    fn describe(&self) -> String {
        "cache store".to_string()
    }
}

/// Why a store could not do something. Every variant names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O operation failed.
    #[error("{}: cannot {action}: {error}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error (in the message, deliberately not a `source()`, so that
        /// error chains print it once).
        error: std::io::Error,
    },
    /// The cache directory exists but is not a directory.
    #[error("{}: not a directory", .0.display())]
    NotADirectory(PathBuf),
}

impl StoreError {
    /// An I/O error while doing `action` on `path`.
    pub fn io(action: &'static str, path: &Path, error: std::io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.to_path_buf(),
            error,
        }
    }
}

/// A shared handle to a store, as recorded by [`crate::Config::cache_store`]. Two handles
/// are equal when they point to the *same* store ([`Arc::ptr_eq`]), so recording the same
/// store twice is idempotent and two distinct stores are never confused.
#[derive(Clone)]
pub struct CacheStoreRef(pub Arc<dyn CacheStore>);

impl PartialEq for CacheStoreRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CacheStoreRef {}

impl fmt::Debug for CacheStoreRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CacheStoreRef({} @ {:p})",
            self.0.describe(),
            Arc::as_ptr(&self.0) as *const ()
        )
    }
}

/// The result of a cached compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedCode {
    /// The finalized code (identical to a fresh compile's).
    pub code: CompiledCode,
    /// Did it come from the cache?
    pub hit: bool,
    /// The function's key.
    pub key: CacheKey,
}

/// Compile `func` through `store`; see the module docs. `key` computes the function's
/// cache key and `compile` compiles it afresh (a compiler passes its own methods, so that
/// this module needs no compiler).
pub fn compile_cached(
    func: &Function,
    store: &dyn CacheStore,
    key: impl FnOnce() -> CacheKey,
    compile: impl Fn() -> Result<CompiledCodeStencil, CodegenError>,
) -> Result<CachedCode, CodegenError> {
    let stats = store.stats();
    let t = Instant::now();
    let key = key();
    stats.record_key(t.elapsed());

    let t = Instant::now();
    let mut rejected = None;
    if let Some(bytes) = store.get(&key) {
        match decode_entry(&key, &bytes) {
            Ok(cached) => {
                let code = cached.apply_params(&func.params);
                stats.record_hit(bytes.len(), t.elapsed());
                let code = code?;
                if store.verify() {
                    let fresh = compile()?;
                    stats.record_verified();
                    if fresh != cached {
                        return Err(CodegenError::CacheMismatch {
                            key: key.to_string(),
                            report: mismatch_report(&cached, &fresh),
                        });
                    }
                }
                return Ok(CachedCode {
                    code,
                    hit: true,
                    key,
                });
            }
            Err(e) => rejected = Some((bytes.len(), format!("entry {key}: {e}"))),
        }
    }
    stats.record_miss(rejected, t.elapsed());

    let fresh = compile()?;
    let t = Instant::now();
    let bytes = encode_entry(&key, &fresh);
    let len = bytes.len();
    let result = store.insert(&key, bytes).map(|()| len);
    stats.record_insert(result.map_err(|e| e.to_string()), t.elapsed());
    Ok(CachedCode {
        code: fresh.apply_params(&func.params)?,
        hit: false,
        key,
    })
}

/// Check a whole stored file — a code entry or a translation memo — without knowing its
/// key; returns the key it was written for (`code_len` is 0 for a memo).
pub fn inspect_stored(bytes: &[u8]) -> Result<entry::EntryInfo, EntryError> {
    if bytes.starts_with(&memo::MEMO_MAGIC) {
        memo::inspect_memo(bytes)
    } else {
        entry::inspect_entry(bytes)
    }
}

/// Both codes in full, and which fields differ (for verify mode).
pub fn mismatch_report(cached: &CompiledCodeStencil, fresh: &CompiledCodeStencil) -> String {
    let mut out = String::new();
    let differ = cached.differences(fresh);
    let _ = writeln!(out, "differing: {}", differ.join(", "));
    for (title, c) in [("cached", cached), ("fresh", fresh)] {
        let _ = writeln!(out, "--- {title} ---");
        let _ = write!(out, "{}", describe_code(c));
    }
    out
}

/// A readable dump of stencil-form code: hex bytes, then every table.
pub fn describe_code(c: &CompiledCodeStencil) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} bytes, alignment {}, frame {} bytes",
        c.code.len(),
        c.alignment,
        c.frame_size
    );
    for (i, chunk) in c.code.chunks(16).enumerate() {
        let _ = write!(out, "  {:6x}:", i * 16);
        for b in chunk {
            let _ = write!(out, " {b:02x}");
        }
        out.push('\n');
    }
    for r in &c.relocs {
        let _ = writeln!(
            out,
            "  reloc at {:#x}: {:?} -> {:?} {:+}",
            r.offset, r.kind, r.target, r.addend
        );
    }
    for t in &c.traps {
        let _ = writeln!(out, "  trap at {:#x}: {}", t.offset, t.code);
    }
    for s in &c.srclocs {
        let _ = writeln!(
            out,
            "  srcloc {:#x}..{:#x}: {:?}",
            s.start,
            s.end,
            s.loc.offset()
        );
    }
    for cs in &c.call_sites {
        let _ = writeln!(out, "  call site returning to {:#x}", cs.ret_offset);
    }
    for d in &c.data_ranges {
        let _ = writeln!(out, "  data {:#x}..{:#x}", d.start, d.end);
    }
    out
}

#[cfg(test)]
mod tests;
